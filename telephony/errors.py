"""Exceptions raised through the Telephony port.

The adapter classifies each carrier failure into exactly one of these, keeping the carrier's
error code, HTTP status and (scrubbed) message, so callers decide by type and never parse text::

    TelephonyError
    ├── TransientError          try again later (rate limits, 5xx, timeouts, network)
    ├── PermanentError          this request can never succeed as it is
    │   ├── OptOutError         the recipient opted out: record a suppression
    │   └── UnclassifiedError   rejected for a reason duecall does not classify
    └── ConfigurationError      duecall's credentials or account are wrong: stop and alert

Messages never carry the auth token or a full phone number (``store.privacy.mask_phone``);
they are safe to log.
"""

from __future__ import annotations

__all__ = [
    "INVALID_NUMBER_CODES",
    "ConfigurationError",
    "OptOutError",
    "PermanentError",
    "TelephonyError",
    "TransientError",
    "UnclassifiedError",
    "is_invalid_number",
]


#: Twilio's "this is not a number anyone can call" codes (21211 invalid 'To', 21214 cannot be
#: reached, 21217 not valid, 13224 no route): a streak of them means bad data, and pauses a
#: campaign (``dialer.control``).
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 13224})


def is_invalid_number(error: TelephonyError) -> bool:
    """Whether ``error`` says the number itself is unusable (never a passing fault)."""
    return isinstance(error, PermanentError) and error.code in INVALID_NUMBER_CODES


class TelephonyError(Exception):
    """Base class: a request to the carrier failed. Never raised itself.

    ``code`` is the carrier's error code (Twilio's 21211, 20429...) when it gave one, ``status``
    the HTTP status when a response arrived, ``more_info`` the carrier's documentation link.
    ``carrier_message`` is the carrier's own explanation with phone numbers masked.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        carrier_message: str | None = None,
        more_info: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.carrier_message = carrier_message
        self.more_info = more_info

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, status={self.status!r})"
        )


class TransientError(TelephonyError):
    """Raised when the failure may go away by itself: retry later, with backoff.

    Raised for Twilio 20429 (too many requests), 10004 (call concurrency limit), 22005 (call
    queue full for more than 24 hours), HTTP 429, any 5xx, timeouts and connection errors.

    ``outcome_unknown`` is true when the request may have reached Twilio and been executed (a
    read timeout, a dropped connection, a 5xx): before placing the same call again the caller must
    reconcile, for example with ``Telephony.list_calls``, or it may call a cardholder twice. When
    false, Twilio definitely did nothing (it answered with a refusal, or the connection never
    opened).

    ``retry_after`` is the wait in seconds the carrier asked for (its ``Retry-After`` header), or
    None when it gave none.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        carrier_message: str | None = None,
        more_info: str | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            status=status,
            carrier_message=carrier_message,
            more_info=more_info,
        )
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after


class PermanentError(TelephonyError):
    """Raised when the carrier rejected the request and repeating it can never succeed.

    Raised as this class for codes that say the destination is unusable: 21211 invalid 'To'
    number, 21214 'To' cannot be reached, 21217 number not valid, 21612 / 21614 / 21635 not
    reachable by or not capable of SMS (a landline), 13224 not a routable number, 30006 landline
    or unreachable carrier. The caller records the disposition (bad number, no SMS) and moves on.
    """


class OptOutError(PermanentError):
    """Raised when the recipient has opted out (Twilio 21610, they replied STOP).

    The caller must turn this into a suppression for the number and channel; sending again is
    both futile and, under TCPA, a violation.
    """


class UnclassifiedError(PermanentError):
    """Raised for a 4xx the adapter does not classify (a 404 for an unknown SID, 21205...).

    Permanent for this request (do not retry it unchanged), but unlike its parent it says
    nothing about the phone number: record a failed attempt and alert, never mark the number bad.
    """


class ConfigurationError(TelephonyError):
    """Raised when duecall's own setup is wrong: Twilio 20003 (authentication failed),
    20005 (account not active) or an HTTP 401.

    Every further request will fail the same way; stop dispatching and alert an operator.
    """
