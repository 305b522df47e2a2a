"""The Twilio implementation of the Telephony port, over the official SDK's REST client.

This module is the only place in duecall's dialer that imports the Twilio SDK. It owns three
things the rest of the code must not care about:

- what each request carries (the fixed webhook routes of :mod:`telephony.routes` with
  ``?attempt=<id>``, status-callback events, asynchronous answering-machine detection);
- where requests go: ``api_url`` (``DUECALL_TWILIO_API_URL``) sends every REST request to another
  scheme, host and port with Twilio's paths kept, which is how duecall talks to the simulator;
- what failures mean: Twilio's error codes become the typed exceptions of :mod:`telephony.errors`.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from store.privacy import mask_phone
from telephony import routes
from telephony.errors import (
    ConfigurationError,
    OptOutError,
    PermanentError,
    TelephonyError,
    TransientError,
    UnclassifiedError,
)
from telephony.port import (
    MAX_RING_TIMEOUT_SECONDS,
    AgentCall,
    AmdSettings,
    CallInfo,
    MessageInfo,
    OutboundCall,
    OutboundSms,
    QueueMemberInfo,
    is_e164,
)

__all__ = ["RewritingHttpClient", "TwilioAdapter", "classify_twilio_error", "parse_retry_after"]

log = logging.getLogger(__name__)

# The fixed routes Twilio is given (telephony.routes).
VOICE_OUTBOUND_PATH = routes.VOICE_OUTBOUND
VOICE_STATUS_PATH = routes.VOICE_STATUS
VOICE_AMD_PATH = routes.VOICE_AMD
SMS_STATUS_PATH = routes.SMS_STATUS

# Every progress event, so the attempt's state machine sees ringing and answer times; Twilio
# sends only `completed` when none is given. Sent as repeated `StatusCallbackEvent` keys.
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")

# Reminder calls leave a limited-content voicemail, so detection must wait for the greeting's
# end (beep or silence), not just classify the answerer (Twilio AMD docs, "DetectMessageEnd").
MACHINE_DETECTION_MODE = "DetectMessageEnd"

# Reconciliation looks at one number's calls over hours, never more than this.
LIST_CALLS_LIMIT = 200

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_QUEUE_SID = re.compile(r"^QU[0-9a-fA-F]{32}$")
_CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
# Twilio lets the desk address the caller at the head of a queue as "Front" (Queue Member API).
_QUEUE_FRONT = "Front"
# Anything that looks like a phone number inside text Twilio sends back ("The 'To' number
# +15005550001 is not a valid phone number"): 6+ digits, optionally with a leading +.
_NUMBER_IN_TEXT = re.compile(r"\+?\d{6,15}")
_SDK_PREFIX = re.compile(r"^Unable to [a-z]+ record: ")

# Twilio error codes (https://www.twilio.com/docs/api/errors/<code>) by what the caller must do.
_CONFIGURATION_CODES = frozenset(
    {
        20003,  # Authentication failed: wrong account SID or auth token
        20005,  # Account not active (suspended or closed)
    }
)
_TRANSIENT_CODES = frozenset(
    {
        20429,  # Too many requests (REST API rate limit)
        10004,  # Call concurrency limit exceeded
        22005,  # Call rejected: the account's call queue would exceed 24 hours (CPS)
    }
)
_OPT_OUT_CODES = frozenset(
    {
        21610,  # Attempt to send to an unsubscribed recipient (they replied STOP)
    }
)
_PERMANENT_CODES = frozenset(
    {
        21211,  # Invalid 'To' phone number
        21214,  # 'To' phone number cannot be reached
        21217,  # Phone number does not appear to be valid
        21612,  # The 'To' phone number is not currently reachable via SMS
        21614,  # 'To' number is not a valid mobile number
        21635,  # 'To' number cannot be a landline
        13224,  # Dial: invalid phone number (not E.164, no such country code, no route)
        30006,  # Landline or unreachable carrier
    }
)


#: The longest ``Retry-After`` believed: a larger or garbled one is capped here, so a misbehaving
#: proxy cannot park the dialer for a day.
MAX_RETRY_AFTER_SECONDS = 3600.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date; RFC 9110
    10.2.3), capped at :data:`MAX_RETRY_AFTER_SECONDS`; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def classify_twilio_error(
    *,
    status: int | None,
    code: int | None,
    message: str,
    carrier_message: str | None = None,
    more_info: str | None = None,
    retry_after: float | None = None,
) -> TelephonyError:
    """Return the exception for a Twilio error response; never raises.

    The Twilio code decides when it is known; otherwise the HTTP status does (401 configuration;
    429 and 5xx transient; any other 4xx :class:`UnclassifiedError`, code kept). ``retry_after``
    (seconds, from the response's header) is kept on a :class:`TransientError`.
    """
    details: dict[str, Any] = {
        "code": code,
        "status": status,
        "carrier_message": carrier_message,
        "more_info": more_info,
    }
    if code in _CONFIGURATION_CODES or status == 401:
        return ConfigurationError(message, **details)
    if code in _OPT_OUT_CODES:
        return OptOutError(message, **details)
    if code in _PERMANENT_CODES:
        return PermanentError(message, **details)
    if code in _TRANSIENT_CODES or status == 429:
        return TransientError(message, outcome_unknown=False, retry_after=retry_after, **details)
    if status is not None and status >= 500:
        # A 5xx may come after the call was created (a gateway timing out on the way back).
        return TransientError(message, outcome_unknown=True, retry_after=retry_after, **details)
    return UnclassifiedError(message, **details)


def scrub(text: str) -> str:
    """Return ``text`` with every phone-number-like digit run masked."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def _safe_path(url: str) -> str:
    """The path of ``url`` without its query string (which may hold a number)."""
    return urlsplit(url).path


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's HTTP client with a timeout on every request and, optionally, another host.

    With ``api_url`` (``scheme://host[:port]``) every request URL's scheme, host and port are
    replaced by it, path and query kept. The rewrite happens on the final URL, after the SDK has
    applied a region or edge (``https://api.dublin.ie1.twilio.com/...``), so it holds for every
    product domain and every region; setting ``client.api.base_url`` would not survive a region.

    The SDK's own request logging (method, full URL with query, headers) is replaced by a line
    with the method, host and path only: list queries carry phone numbers.
    """

    def __init__(self, *, timeout: float, api_url: str | None = None) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        super().__init__(timeout=float(timeout), logger=log)
        self.api_url = _parse_api_url(api_url) if api_url else None
        # The SDK's exceptions drop the response headers; the dialer's threads share this
        # client, so each keeps the headers of its own last response.
        self._local = threading.local()

    @property
    def last_headers(self) -> Mapping[str, str]:
        """The headers of this thread's last response (empty before any, or after a failure)."""
        headers: Mapping[str, str] | None = getattr(self._local, "headers", None)
        return headers or {}

    def rewrite(self, url: str) -> str:
        """Return the URL to request for the SDK's ``url``."""
        if self.api_url is None:
            return url
        scheme, netloc = self.api_url
        parts = urlsplit(url)
        return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))

    def request(  # the SDK's signature: the SDK calls it positionally
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the rewritten URL, with the configured timeout."""
        self._local.headers = None
        response: Response = super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._local.headers = response.headers
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        parts = urlsplit(str(kwargs.get("url", "")))
        self.logger.debug("twilio request %s %s%s", kwargs.get("method"), parts.netloc, parts.path)

    def log_response(self, status_code: int, response: Any) -> None:
        self.logger.debug("twilio response %s", status_code)


def _parse_api_url(api_url: str) -> tuple[str, str]:
    parts = urlsplit(api_url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValueError(
            "api_url (DUECALL_TWILIO_API_URL) must be scheme://host[:port] with no path, "
            f"got {api_url!r}"
        )
    return parts.scheme, parts.netloc


def _parse_public_url(public_url: str) -> str:
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"public_url (DUECALL_PUBLIC_URL) must be an absolute http(s) URL, got {public_url!r}"
        )
    if "_" in parts.hostname:
        # Calls API: "URLs must contain a valid hostname (underscores are not permitted)".
        raise ValueError(f"public_url host must not contain underscores, got {public_url!r}")
    return public_url.rstrip("/")


def _require(pattern: re.Pattern[str], what: str, value: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{what} is not a valid Twilio SID: {value!r}")


def _require_callback_url(url: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be an absolute http(s) URL, got {url!r}")


def _as_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _as_utc(value: object) -> datetime | None:
    """Twilio's RFC 2822 timestamps (or the SDK's parse of them) as aware UTC datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        # Twilio's timestamps are UTC ("+0000"); the SDK drops the offset when it parses them.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _call_info(instance: Any) -> CallInfo:
    return CallInfo(
        sid=str(instance.sid),
        status=str(instance.status),
        to=str(instance.to or ""),
        from_=str(getattr(instance, "_from", None) or ""),
        direction=instance.direction,
        start_time=_as_utc(instance.start_time),
        end_time=_as_utc(instance.end_time),
        duration=_as_int(instance.duration),
        answered_by=instance.answered_by,
        parent_call_sid=instance.parent_call_sid,
        date_created=_as_utc(instance.date_created),
    )


def _message_info(instance: Any) -> MessageInfo:
    return MessageInfo(
        sid=str(instance.sid),
        status=str(instance.status),
        to=str(instance.to or ""),
        from_=instance.from_ or None,
        messaging_service_sid=instance.messaging_service_sid,
        error_code=_as_int(instance.error_code),
        error_message=instance.error_message,
        num_segments=_as_int(instance.num_segments),
        date_created=_as_utc(instance.date_created),
        date_sent=_as_utc(instance.date_sent),
    )


def _queue_member_info(instance: Any, queue_sid: str) -> QueueMemberInfo:
    return QueueMemberInfo(
        call_sid=str(instance.call_sid),
        queue_sid=str(instance.queue_sid or queue_sid),
        position=_as_int(instance.position),
        wait_time=_as_int(instance.wait_time),
        date_enqueued=_as_utc(instance.date_enqueued),
    )


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request certainly did not reach the server (so cannot have been executed)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        # Covers DNS failures too (NameResolutionError subclasses NewConnectionError).
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


class TwilioAdapter:
    """:class:`telephony.port.Telephony` over Twilio's REST API.

    ``public_url`` is the base URL Twilio reaches duecall at (``DUECALL_PUBLIC_URL``);
    ``caller_id`` the E.164 number calls come from (and SMS, without a Messaging Service);
    ``messaging_service_sid`` sends SMS through a Messaging Service, which picks the sender;
    ``api_url`` replaces Twilio's scheme, host and port in every request (the simulator);
    ``region`` and ``edge`` pick Twilio's processing region and edge location; ``timeout`` is the
    limit in seconds on every HTTP request; ``ring_timeout`` how long calls ring by default;
    ``amd`` tunes answering-machine detection. Region and edge come only from these arguments,
    never from ``TWILIO_REGION`` / ``TWILIO_EDGE`` in the environment.

    Building the adapter opens no connection. Arguments that cannot work raise ``ValueError``.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        public_url: str,
        caller_id: str,
        messaging_service_sid: str | None = None,
        api_url: str | None = None,
        region: str | None = None,
        edge: str | None = None,
        timeout: float = 10.0,
        ring_timeout: int = 30,
        amd: AmdSettings | None = None,
    ) -> None:
        _require(_ACCOUNT_SID, "account_sid", account_sid)
        if not auth_token:
            raise ValueError("auth_token must not be empty")
        if not isinstance(caller_id, str) or not is_e164(caller_id):
            raise ValueError(f"caller_id must be E.164, got {mask_phone(str(caller_id))!r}")
        if messaging_service_sid is not None:
            _require(_MESSAGING_SERVICE_SID, "messaging_service_sid", messaging_service_sid)
        if (
            isinstance(ring_timeout, bool)
            or not isinstance(ring_timeout, int)
            or not 1 <= ring_timeout <= MAX_RING_TIMEOUT_SECONDS
        ):
            raise ValueError(f"ring_timeout must be 1..600 s, got {ring_timeout!r}")
        self._public_url = _parse_public_url(public_url)
        self._caller_id = caller_id
        self._messaging_service_sid = messaging_service_sid
        self._ring_timeout = ring_timeout
        self._amd = amd or AmdSettings()
        self.http_client = RewritingHttpClient(timeout=timeout, api_url=api_url)
        self._client = Client(account_sid, auth_token, http_client=self.http_client)
        # The SDK falls back to TWILIO_REGION / TWILIO_EDGE from os.environ; settings are the one
        # source of configuration, so overwrite whatever it picked up.
        self._client.region = region or None
        self._client.edge = edge or None

    def __repr__(self) -> str:
        return f"<TwilioAdapter {self._client.account_sid}>"

    # --- what requests carry ------------------------------------------------------------------

    def callback_url(self, path: str, attempt_id: int) -> str:
        """Return the absolute URL of the fixed route ``path`` for attempt ``attempt_id``."""
        return f"{self._public_url}{path}?{urlencode({'attempt': attempt_id})}"

    def call_parameters(self, call: OutboundCall) -> dict[str, Any]:
        """Return the SDK keyword arguments for placing ``call`` (what Twilio receives)."""
        params: dict[str, Any] = {
            "to": call.to,
            "from_": self._caller_id,
            "url": self.callback_url(VOICE_OUTBOUND_PATH, call.attempt_id),
            "method": "POST",
            "status_callback": self.callback_url(VOICE_STATUS_PATH, call.attempt_id),
            "status_callback_method": "POST",
            "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            "timeout": call.timeout if call.timeout is not None else self._ring_timeout,
        }
        if call.machine_detection:
            params.update(
                machine_detection=MACHINE_DETECTION_MODE,
                # Asynchronous, so the callee hears the hold prompt at once instead of dead air
                # while detection runs; the verdict arrives at /twilio/voice/amd.
                async_amd="true",
                async_amd_status_callback=self.callback_url(VOICE_AMD_PATH, call.attempt_id),
                async_amd_status_callback_method="POST",
            )
            tuning = {
                "machine_detection_timeout": self._amd.timeout,
                "machine_detection_speech_threshold": self._amd.speech_threshold,
                "machine_detection_speech_end_threshold": self._amd.speech_end_threshold,
                "machine_detection_silence_timeout": self._amd.silence_timeout,
            }
            params.update({k: v for k, v in tuning.items() if v is not None})
        return params

    def agent_call_parameters(self, call: AgentCall) -> dict[str, Any]:
        """Return the SDK keyword arguments for ringing an agent (what Twilio receives)."""
        query = urlencode({"entry": call.entry_id, "agent": call.agent_id})
        step = f"&{urlencode({'step': call.purpose})}" if call.purpose else ""
        return {
            "to": call.to,
            "from_": self._caller_id,
            "url": f"{self._public_url}{routes.DESK_AGENT}?{query}{step}",
            "method": "POST",
            "status_callback": f"{self._public_url}{routes.DESK_AGENT_STATUS}?{query}",
            "status_callback_method": "POST",
            "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            "timeout": call.timeout,
            # "Enable": a verdict as soon as the answerer is classified; the desk only needs to
            # know a machine is not a person (Twilio AMD docs), never to wait for a beep.
            "machine_detection": "Enable",
            "async_amd": "true",
            "async_amd_status_callback": f"{self._public_url}{routes.DESK_AGENT_AMD}?{query}",
            "async_amd_status_callback_method": "POST",
        }

    def sms_parameters(self, sms: OutboundSms) -> dict[str, Any]:
        """Return the SDK keyword arguments for sending ``sms`` (what Twilio receives)."""
        params: dict[str, Any] = {
            "to": sms.to,
            "body": sms.body,
            "status_callback": self.callback_url(SMS_STATUS_PATH, sms.attempt_id),
        }
        if self._messaging_service_sid is not None:
            # Without From, the Messaging Service picks a sender from its pool (Messages API).
            params["messaging_service_sid"] = self._messaging_service_sid
        else:
            params["from_"] = self._caller_id
        if sms.validity_period is not None:
            params["validity_period"] = sms.validity_period
        return params

    # --- the port -----------------------------------------------------------------------------

    def place_call(self, call: OutboundCall) -> CallInfo:
        """Place ``call``; see :meth:`telephony.port.Telephony.place_call`."""
        with self._errors("place call", attempt_id=call.attempt_id, to=call.to):
            instance = self._client.calls.create(**self.call_parameters(call))
        info = _call_info(instance)
        log.info(
            "call placed attempt=%s sid=%s to=%s", call.attempt_id, info.sid, mask_phone(call.to)
        )
        return info

    def place_agent_call(self, call: AgentCall) -> CallInfo:
        """Ring an agent; see :meth:`telephony.port.Telephony.place_agent_call`."""
        with self._errors("place agent call", attempt_id=None, to=call.to):
            instance = self._client.calls.create(**self.agent_call_parameters(call))
        info = _call_info(instance)
        log.info("agent call placed entry=%s sid=%s", call.entry_id, info.sid)
        return info

    def send_sms(self, sms: OutboundSms) -> MessageInfo:
        """Send ``sms``; see :meth:`telephony.port.Telephony.send_sms`."""
        with self._errors("send sms", attempt_id=sms.attempt_id, to=sms.to):
            instance = self._client.messages.create(**self.sms_parameters(sms))
        info = _message_info(instance)
        log.info("sms sent attempt=%s sid=%s to=%s", sms.attempt_id, info.sid, mask_phone(sms.to))
        return info

    def redirect_call(self, sid: str, url: str) -> CallInfo:
        """Make live call ``sid`` fetch TwiML from ``url`` with POST."""
        _require(_CALL_SID, "call sid", sid)
        _require_callback_url(url)
        with self._errors("redirect call", sid=sid):
            instance = self._client.calls(sid).update(url=url, method="POST")
        return _call_info(instance)

    def hangup_call(self, sid: str) -> CallInfo:
        """End call ``sid`` (``Status=completed``).

        Twilio's Call resource: "Specifying ``canceled`` will attempt to hang up calls that are
        queued or ringing; however, it will not affect calls already in progress. Specifying
        ``completed`` will attempt to hang up a call even if it's already in progress."
        """
        _require(_CALL_SID, "call sid", sid)
        with self._errors("hang up call", sid=sid):
            instance = self._client.calls(sid).update(status="completed")
        return _call_info(instance)

    def fetch_call(self, sid: str) -> CallInfo:
        """Return call ``sid`` as it stands now."""
        _require(_CALL_SID, "call sid", sid)
        with self._errors("fetch call", sid=sid):
            instance = self._client.calls(sid).fetch()
        return _call_info(instance)

    def fetch_message(self, sid: str) -> MessageInfo:
        """Return message ``sid`` as it stands now."""
        _require(_MESSAGE_SID, "message sid", sid)
        with self._errors("fetch message", sid=sid):
            instance = self._client.messages(sid).fetch()
        return _message_info(instance)

    def list_calls(
        self,
        *,
        to: str,
        started_after: datetime,
        started_before: datetime | None = None,
    ) -> list[CallInfo]:
        """Return calls to ``to`` that started in ``[started_after, started_before)``.

        Twilio filters ``StartTime>`` / ``StartTime<`` by UTC *date* (``YYYY-MM-DD``), so the
        query asks for whole days around the window and the exact bounds are applied here. At
        most 200 calls are read (the most recent first, as Twilio orders them).
        """
        if not isinstance(to, str) or not is_e164(to):
            raise ValueError(f"to must be E.164, got {mask_phone(str(to))!r}")
        after = _aware_utc("started_after", started_after)
        before = _aware_utc("started_before", started_before) if started_before else None
        if before is not None and before <= after:
            raise ValueError("started_before must be later than started_after")
        query: dict[str, Any] = {"to": to, "start_time_after": after.date().isoformat()}
        if before is not None:
            # "StartTime<" excludes its day; ask up to the next day and trim below.
            query["start_time_before"] = (before.date() + timedelta(days=1)).isoformat()
        with self._errors("list calls", to=to):
            instances = self._client.calls.list(
                **query, limit=LIST_CALLS_LIMIT, page_size=min(LIST_CALLS_LIMIT, 100)
            )
        if len(instances) >= LIST_CALLS_LIMIT:
            log.warning("list calls to=%s stopped at %d calls", mask_phone(to), LIST_CALLS_LIMIT)
        calls = [_call_info(instance) for instance in instances]
        return [
            c
            for c in calls
            if c.start_time is not None
            and c.start_time >= after
            and (before is None or c.start_time < before)
        ]

    def fetch_queue_member(self, queue_sid: str, call_sid: str) -> QueueMemberInfo:
        """Return caller ``call_sid`` (or ``"Front"``) waiting in queue ``queue_sid``."""
        self._require_member(queue_sid, call_sid)
        with self._errors("fetch queue member", sid=call_sid):
            instance = self._client.queues(queue_sid).members(call_sid).fetch()
        return _queue_member_info(instance, queue_sid)

    def update_queue_member(
        self, queue_sid: str, call_sid: str, url: str, method: str = "POST"
    ) -> QueueMemberInfo:
        """Dequeue caller ``call_sid`` (or ``"Front"``): the call fetches TwiML from ``url``."""
        self._require_member(queue_sid, call_sid)
        _require_callback_url(url)
        if method not in ("GET", "POST"):
            raise ValueError(f"method must be GET or POST, got {method!r}")
        with self._errors("dequeue queue member", sid=call_sid):
            instance = (
                self._client.queues(queue_sid).members(call_sid).update(url=url, method=method)
            )
        return _queue_member_info(instance, queue_sid)

    def keep_conference_after(self, conference_sid: str, call_sid: str) -> None:
        """Let participant ``call_sid`` leave conference ``conference_sid`` without ending it
        (``EndConferenceOnExit=false``): an agent handing the call over, warm."""
        _require(_CONFERENCE_SID, "conference sid", conference_sid)
        _require(_CALL_SID, "call sid", call_sid)
        with self._errors("update conference participant", sid=call_sid):
            self._client.conferences(conference_sid).participants(call_sid).update(
                end_conference_on_exit=False
            )

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _require_member(queue_sid: str, call_sid: str) -> None:
        _require(_QUEUE_SID, "queue sid", queue_sid)
        if call_sid != _QUEUE_FRONT:
            _require(_CALL_SID, "call sid", call_sid)

    @contextmanager
    def _errors(
        self,
        action: str,
        *,
        attempt_id: int | None = None,
        sid: str | None = None,
        to: str | None = None,
    ) -> Iterator[None]:
        """Translate SDK and ``requests`` failures into :mod:`telephony.errors`.

        Raised ``from None``: the originals' messages and URLs can carry full phone numbers
        (list queries, Twilio's own texts), and a chained cause would print them in tracebacks.
        """
        context = _describe(action, attempt_id=attempt_id, sid=sid, to=to)
        try:
            yield
        except (TwilioRestException, TwilioServiceException) as exc:
            retry_after = parse_retry_after(self.http_client.last_headers.get("Retry-After"))
            error = _from_twilio_exception(exc, context, retry_after)
        except requests.exceptions.RequestException as exc:
            kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "failed"
            error = TransientError(
                f"{context}: request {kind} ({type(exc).__name__})",
                outcome_unknown=not _never_sent(exc),
            )
        except TwilioException as exc:
            # The SDK's other failures (an unreadable response body) say nothing reliable
            # about whether Twilio acted.
            error = TransientError(
                f"{context}: unexpected response ({type(exc).__name__})", outcome_unknown=True
            )
        except ValueError as exc:
            # A 2xx whose body is not JSON: Twilio may have acted; we cannot tell.
            error = TransientError(
                f"{context}: unreadable response ({type(exc).__name__})", outcome_unknown=True
            )
        else:
            return
        log.warning("%s", error.message)
        raise error from None


def _aware_utc(field: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _describe(action: str, *, attempt_id: int | None, sid: str | None, to: str | None) -> str:
    parts = [action]
    if attempt_id is not None:
        parts.append(f"attempt={attempt_id}")
    if sid is not None:
        parts.append(f"sid={sid}")
    if to is not None:
        parts.append(f"to={mask_phone(to)}")
    return " ".join(parts)


def _from_twilio_exception(
    exc: TwilioRestException | TwilioServiceException,
    context: str,
    retry_after: float | None = None,
) -> TelephonyError:
    status = _as_int(getattr(exc, "status", None))
    code = _as_int(getattr(exc, "code", None))
    if isinstance(exc, TwilioServiceException):
        raw = exc.detail or exc.title or ""
        more_info = exc.type or None
    else:
        # The SDK prefixes Twilio's message with its own ("Unable to create record: ...").
        raw = _SDK_PREFIX.sub("", str(exc.msg or ""), count=1)
        more_info = None
    if code is not None and code < 10000:
        # Twilio's codes have five digits; the SDK puts the HTTP status in `code` when the body
        # had none (an HTML 502 from a proxy, say).
        code = None
    if more_info is None and code is not None:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
    carrier_message = scrub(raw) if raw else None
    label = f"Twilio error {code}" if code else f"HTTP {status}"
    message = f"{context}: {label}"
    if carrier_message:
        message = f"{message}: {carrier_message}"
    return classify_twilio_error(
        status=status,
        code=code,
        message=message,
        carrier_message=carrier_message,
        more_info=more_info,
        retry_after=retry_after,
    )
