"""The Telephony port: what the dialer, the IVR's caller and the desk ask of a carrier.

Everything that reaches Twilio's REST API goes through an object satisfying :class:`Telephony`.
The production implementation is :class:`telephony.twilio_adapter.TwilioAdapter`; the simulator is a
real HTTP peer reached through the same adapter (``DUECALL_TWILIO_API_URL``), not another class.

Conventions shared by every method:

- phone numbers are E.164 strings (``+14155550123``), converted at the edge where data enters;
- times are timezone-aware UTC ``datetime`` objects;
- attempt ids are the integer primary keys of the attempt rows, recorded and committed *before*
  the carrier is called (record, commit, then act);
- failures are raised as the exception tree in :mod:`telephony.errors`, never as SDK or ``requests``
  exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from store.privacy import mask_phone
from telephony.errors import (
    ConfigurationError,
    OptOutError,
    PermanentError,
    TelephonyError,
    TransientError,
    UnclassifiedError,
)

__all__ = [
    "AgentCall",
    "AmdSettings",
    "CallInfo",
    "CallStatus",
    "ConfigurationError",
    "MessageInfo",
    "MessageStatus",
    "OptOutError",
    "OutboundCall",
    "OutboundSms",
    "PermanentError",
    "QueueMemberInfo",
    "Telephony",
    "TelephonyError",
    "TransientError",
    "UnclassifiedError",
    "is_e164",
]

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

# Twilio accepts 1..600 seconds of ringing (Calls API, `Timeout`: "the maximum is 600 seconds").
MAX_RING_TIMEOUT_SECONDS = 600
# Twilio keeps an outgoing message queued at most 36,000 s (Messages API, `ValidityPeriod`).
MAX_SMS_VALIDITY_SECONDS = 36_000
# Messages API, `Body`: "Can be up to 1,600 characters in length."
MAX_SMS_BODY_CHARS = 1_600


class CallStatus(StrEnum):
    """Twilio's call statuses (``call_enum_status`` in Twilio's OpenAPI description).

    :attr:`CallInfo.status` is a plain ``str`` holding Twilio's value verbatim, so a status Twilio
    adds later is passed through rather than rejected; compare it with these members.
    """

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


class MessageStatus(StrEnum):
    """Twilio's message statuses (``message_enum_status``); see :class:`CallStatus` on typing."""

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    CANCELED = "canceled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    RECEIVING = "receiving"
    RECEIVED = "received"
    READ = "read"
    PARTIALLY_DELIVERED = "partially_delivered"


def is_e164(number: str) -> bool:
    """Return whether ``number`` is syntactically an E.164 number (``+`` and 2-15 digits)."""
    return bool(_E164.fullmatch(number))


def _require_e164(field: str, value: str) -> None:
    if not isinstance(value, str) or not is_e164(value):
        raise ValueError(f"{field} must be an E.164 phone number, got {mask_phone(str(value))!r}")


def _require_attempt_id(value: int) -> None:
    # bool is an int subclass; True as an attempt id is always a bug.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"attempt_id must be a positive integer, got {value!r}")


def _require_aware(field: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{field} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """Answering-machine-detection tuning sent with reminder calls; ``None`` keeps Twilio's default.

    Ranges are Twilio's (https://www.twilio.com/docs/voice/answering-machine-detection):
    ``timeout`` seconds 3-59 (default 30), ``speech_threshold`` ms 1000-6000 (2400),
    ``speech_end_threshold`` ms 500-5000 (1200), ``silence_timeout`` ms 2000-10000 (5000).
    """

    timeout: int | None = None
    speech_threshold: int | None = None
    speech_end_threshold: int | None = None
    silence_timeout: int | None = None

    def __post_init__(self) -> None:
        for name, low, high in (
            ("timeout", 3, 59),
            ("speech_threshold", 1000, 6000),
            ("speech_end_threshold", 500, 5000),
            ("silence_timeout", 2000, 10000),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"amd.{name} must be an integer in {low}..{high}, got {value!r}")


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A call to place.

    ``machine_detection`` asks for asynchronous answering-machine detection (``DetectMessageEnd``,
    so a voicemail greeting is over before the limited-content message plays); reminder calls set
    it. ``timeout`` is how long to let the phone ring, in seconds (1-600); ``None`` uses the
    adapter's configured ring timeout.
    """

    to: str
    attempt_id: int
    machine_detection: bool = True
    timeout: int | None = None

    def __post_init__(self) -> None:
        _require_e164("to", self.to)
        _require_attempt_id(self.attempt_id)
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int)
            or not 1 <= self.timeout <= MAX_RING_TIMEOUT_SECONDS
        ):
            raise ValueError(
                f"timeout must be 1..{MAX_RING_TIMEOUT_SECONDS} s, got {self.timeout!r}"
            )


@dataclass(frozen=True, slots=True)
class AgentCall:
    """A call to an agent's phone, offering them the queued caller ``entry_id``.

    Its routes are the desk's (``?entry=<id>&agent=<id>``); answering-machine detection runs
    asynchronously in ``Enable`` mode (a verdict as soon as possible: a machine is hung up on
    and never bridged). ``timeout`` is how long it rings.
    """

    to: str
    entry_id: int
    agent_id: int
    timeout: int
    #: ``listen``: a supervisor rung to listen in to the agent's call; ``warm``: to take it
    #: over from the agent (a warm transfer); None: an agent offered a caller.
    purpose: str | None = None

    def __post_init__(self) -> None:
        _require_e164("to", self.to)
        _require_attempt_id(self.entry_id)
        _require_attempt_id(self.agent_id)
        if self.purpose not in (None, "listen", "warm"):
            raise ValueError(f"purpose must be None, 'listen' or 'warm', got {self.purpose!r}")
        if not 5 <= self.timeout <= MAX_RING_TIMEOUT_SECONDS:
            raise ValueError(f"timeout must be 5..{MAX_RING_TIMEOUT_SECONDS} s")


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """An SMS to send.

    ``validity_period`` (seconds, 1-36000) makes Twilio drop the message instead of delivering it
    late; the dialer sets it so a message never waits in Twilio's queue past the calling window.
    """

    to: str
    body: str
    attempt_id: int
    validity_period: int | None = None

    def __post_init__(self) -> None:
        _require_e164("to", self.to)
        _require_attempt_id(self.attempt_id)
        if not self.body or not self.body.strip():
            raise ValueError("body must not be empty")
        if len(self.body) > MAX_SMS_BODY_CHARS:
            raise ValueError(f"body is {len(self.body)} characters; Twilio's limit is 1600")
        if self.validity_period is not None and (
            isinstance(self.validity_period, bool)
            or not isinstance(self.validity_period, int)
            or not 1 <= self.validity_period <= MAX_SMS_VALIDITY_SECONDS
        ):
            raise ValueError(
                f"validity_period must be 1..{MAX_SMS_VALIDITY_SECONDS} s, "
                f"got {self.validity_period!r}"
            )


@dataclass(frozen=True, slots=True)
class CallInfo:
    """A call as the carrier reports it.

    ``status`` is Twilio's value verbatim (see :class:`CallStatus`). ``start_time`` is ``None``
    until the call starts (a queued call has none); ``duration`` is whole seconds, known once the
    call ends. ``answered_by`` is the AMD verdict (``human``, ``machine_end_beep``, ``unknown``...)
    when detection ran and finished.
    """

    sid: str
    status: str
    to: str
    from_: str
    direction: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    parent_call_sid: str | None = None
    date_created: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start_time", "end_time", "date_created"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message as the carrier reports it.

    ``from_`` is ``None`` while a Messaging Service has not yet picked the sender.
    ``error_code`` is Twilio's error code for a failed or undelivered message (30003, 30006...).
    """

    sid: str
    status: str
    to: str
    from_: str | None = None
    messaging_service_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    num_segments: int | None = None
    date_created: datetime | None = None
    date_sent: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("date_created", "date_sent"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class QueueMemberInfo:
    """A caller waiting in a queue: 1-based ``position``, ``wait_time`` in seconds."""

    call_sid: str
    queue_sid: str
    position: int | None = None
    wait_time: int | None = None
    date_enqueued: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("date_enqueued", self.date_enqueued)


@runtime_checkable
class Telephony(Protocol):
    """The carrier as duecall uses it.

    Every method raises a :class:`TelephonyError` subclass on failure: :class:`TransientError`
    (try again later), :class:`PermanentError` (this request can never succeed; check
    :class:`OptOutError` first, it is a permanent error that must become a suppression) or
    :class:`ConfigurationError` (duecall's own credentials or settings are wrong: stop, alert).
    Arguments that break the conventions above raise ``ValueError`` before anything is sent.
    """

    def place_call(self, call: OutboundCall) -> CallInfo:
        """Place an outbound call; return it as Twilio accepted it (usually ``queued``)."""
        ...

    def place_agent_call(self, call: AgentCall) -> CallInfo:
        """Ring an agent's phone with an offer of a queued caller (the desk's routes)."""
        ...

    def send_sms(self, sms: OutboundSms) -> MessageInfo:
        """Send an SMS; return it as Twilio accepted it (usually ``queued`` or ``accepted``)."""
        ...

    def redirect_call(self, sid: str, url: str) -> CallInfo:
        """Make a live call fetch new TwiML from the absolute ``url`` (POST)."""
        ...

    def hangup_call(self, sid: str) -> CallInfo:
        """End a call: hang up if in progress, cancel if still queued or ringing."""
        ...

    def fetch_call(self, sid: str) -> CallInfo:
        """Return the call ``sid`` as it stands now."""
        ...

    def fetch_message(self, sid: str) -> MessageInfo:
        """Return the message ``sid`` as it stands now."""
        ...

    def list_calls(
        self,
        *,
        to: str,
        started_after: datetime,
        started_before: datetime | None = None,
    ) -> list[CallInfo]:
        """Return the calls to ``to`` that started in ``[started_after, started_before)``.

        Calls that have not started yet (queued) have no start time and are not returned.
        Ordered as Twilio returns them (most recent first).
        """
        ...

    def fetch_queue_member(self, queue_sid: str, call_sid: str) -> QueueMemberInfo:
        """Return the caller ``call_sid`` waiting in queue ``queue_sid``."""
        ...

    def update_queue_member(
        self, queue_sid: str, call_sid: str, url: str, method: str = "POST"
    ) -> QueueMemberInfo:
        """Dequeue the caller ``call_sid`` and make the call fetch TwiML from ``url``."""
        ...

    def keep_conference_after(self, conference_sid: str, call_sid: str) -> None:
        """Let participant ``call_sid`` leave the conference without ending it."""
        ...
