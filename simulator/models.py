"""The simulator's resources: calls, messages and recorded errors, and their Twilio JSON shapes."""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import phonenumbers

from simulator.personas import KeyStep, Persona

API_VERSION = "2010-04-01"
TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits (34 characters)."""
    return prefix + uuid.uuid4().hex


def rfc2822(moment: datetime | None) -> str | None:
    """``Tue, 31 Aug 2010 20:36:28 +0000`` — the date format of Twilio's 2010 API and callbacks."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def formatted(number: str) -> str:
    """Twilio's ``*_formatted`` field: national format when the number parses."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


@dataclass(frozen=True)
class SimError:
    """Something the app did that Twilio would reject or flag, or a webhook that failed.

    ``kind`` is ``twiml`` (unknown verb/attribute, malformed document), ``http`` (a webhook answered
    non-2xx or could not be reached), ``api`` (a REST request with a parameter the simulator does
    not implement or Twilio ignores), or ``engine`` (a bug in the simulator itself).
    """

    kind: str
    message: str
    call_sid: str | None = None


@dataclass
class SimCall:
    """One call, outbound (``outbound-api``) or inbound, with its transcript.

    Mutated only by the engine thread playing it, except ``control`` (set by REST updates under the
    simulator's lock).
    """

    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str
    persona: Persona
    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    machine_detection: str | None
    async_amd: bool
    amd_callback: str | None
    amd_callback_method: str
    ring_timeout: float
    time_limit: float
    date_created: datetime
    date_updated: datetime
    status: str = "queued"
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    transcript: list[str] = field(default_factory=list)
    errors: list[SimError] = field(default_factory=list)
    elapsed: float = 0.0
    sequence: int = 0
    prompts: int = 0
    amd_due: float | None = None
    keypad: deque[KeyStep] = field(default_factory=deque)
    control: Any = None
    wake: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    #: The call that dialled this one (``<Dial>``): its ``parent_call_sid``.
    parent_call_sid: str | None = None
    #: What a ``<Dial>`` leg does once answered (a :class:`simulator.switchboard.DialLeg`).
    leg: Any = None
    #: True while the call waits on other calls (queued, dialling, bridged, in a conference):
    #: in synchronous mode its waits then let the other calls play (see ``Simulator.elapse``).
    held: bool = False
    #: Set by :meth:`Simulator.nudge`: a held wait returns early to look at what changed.
    nudged: bool = False
    #: Synchronous mode: the thread the call plays in, run by the scheduler (``engine._Fiber``).
    fiber: Any = None

    @property
    def is_over(self) -> bool:
        """True once the call has a final status."""
        return self.status in TERMINAL_CALL_STATUSES

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the call has ended (threaded mode); True if it did within ``timeout``."""
        return self.finished.wait(timeout)

    def transcript_text(self) -> str:
        """The transcript as printable text, one line per event."""
        header = f"Call {self.sid} {self.direction} {self.from_} -> {self.to}"
        return "\n".join([header, *(f"  {line}" for line in self.transcript)])

    def uri(self) -> str:
        """The resource's path, as in Twilio's ``uri`` field."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def webhook_params(self) -> dict[str, str]:
        """The parameters Twilio puts on every webhook about this call (TwiML fetch, status)."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.sid,
            "CallStatus": self.status,
            "Called": self.to,
            "Caller": self.from_,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
        }
        if self.answered_by and not self.async_amd:
            params["AnsweredBy"] = self.answered_by
        return params

    def to_json(self) -> dict[str, object]:
        """The Call resource as Twilio's REST API returns it."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "sid": self.sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "parent_call_sid": self.parent_call_sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "to_formatted": formatted(self.to),
            "from": self.from_,
            "from_formatted": formatted(self.from_),
            "phone_number_sid": None,
            "status": self.status,
            "start_time": rfc2822(self.start_time),
            "end_time": rfc2822(self.end_time),
            "duration": None if self.duration is None else str(self.duration),
            "price": None,
            "price_unit": "USD",
            "direction": self.direction,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": self.uri(),
            "subresource_uris": {
                name: f"{base}/{path}.json"
                for name, path in (
                    ("notifications", "Notifications"),
                    ("recordings", "Recordings"),
                    ("payments", "Payments"),
                    ("events", "Events"),
                    ("siprec", "Siprec"),
                    ("streams", "Streams"),
                    ("transcriptions", "Transcriptions"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"),
                )
            },
        }


def sms_segments(body: str) -> int:
    """Segments Twilio bills for ``body``: GSM-7 160/153 per part, else UCS-2 70/67."""
    if not body:
        return 1
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


@dataclass
class SimMessage:
    """One SMS, outbound (``outbound-api``) or inbound (``inbound``)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str
    date_created: datetime
    date_updated: datetime
    status: str = "queued"
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    num_media: int = 0
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    status_history: list[str] = field(default_factory=list)
    reply: str | None = None

    def to_json(self) -> dict[str, object]:
        """The Message resource as Twilio's REST API returns it."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "body": self.body,
            "num_segments": str(sms_segments(self.body)),
            "direction": self.direction,
            "from": self.from_,
            "to": self.to,
            "date_updated": rfc2822(self.date_updated),
            "price": None,
            "error_message": self.error_message,
            "uri": f"{base}.json",
            "account_sid": self.account_sid,
            "num_media": str(self.num_media),
            "status": self.status,
            "messaging_service_sid": self.messaging_service_sid,
            "sid": self.sid,
            "date_sent": rfc2822(self.date_sent),
            "date_created": rfc2822(self.date_created),
            "error_code": self.error_code,
            "price_unit": "USD",
            "api_version": API_VERSION,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
        }
