"""SMS: outbound texts and their delivery status callbacks, inbound texts, opt-out blocking.

:class:`Messaging` owns the simulator's messages and its opt-out list. An outbound text is queued,
then delivered on the simulator's scheduler (``sent`` then ``delivered``, or ``undelivered`` /
``failed`` for a persona that cannot receive SMS), each status posted to the message's
StatusCallback. An inbound text is posted to the app at once, and an opt-out keyword in it blocks
later sends from that number to the texter with error 21610 until an opt-in keyword, as Twilio's
default opt-out handling does on long codes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from simulator.errors import ApiError
from simulator.models import API_VERSION, SimCall, SimMessage, new_sid
from simulator.personas import PersonaBook
from simulator.transport import WebhookResponse

#: Twilio's default opt-out and opt-in keywords on long codes ("Advanced Opt-Out").
TWILIO_OPTOUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
TWILIO_OPTIN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})

log = logging.getLogger("simulator")


class Carrier(Protocol):
    """What messaging needs from the simulator: its account, callees, clock, jobs and webhooks."""

    @property
    def account_sid(self) -> str:
        """The account every message belongs to."""
        ...

    @property
    def personas(self) -> PersonaBook:
        """Who answers at each number (whether a handset can receive SMS)."""
        ...

    @property
    def sms_url(self) -> str | None:
        """The app's Messaging URL, for inbound texts."""
        ...

    def now(self) -> datetime:
        """The simulator's current time."""
        ...

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the simulator's scheduler."""
        ...

    def webhook(
        self,
        call: SimCall | None,
        method: str,
        url: str,
        params: Mapping[str, str],
        purpose: str,
    ) -> WebhookResponse | None:
        """Send one signed webhook; None when it failed (already recorded)."""
        ...

    def callback(
        self,
        call: SimCall | None,
        method: str,
        url: str,
        params: Mapping[str, str],
        purpose: str,
        *,
        event: str,
        sid: str,
        to: str,
    ) -> None:
        """Send a status callback through the fault knobs (lost, repeated or late)."""
        ...


class Messaging:
    """The simulator's SMS: its messages, opt-outs, deliveries and inbound texts."""

    def __init__(self, carrier: Carrier) -> None:
        self.carrier = carrier
        self.messages: dict[str, SimMessage] = {}
        #: (texter, our number or Messaging Service) pairs blocked by an opt-out keyword.
        self.opted_out: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def send_message(
        self,
        *,
        to: str,
        from_: str | None,
        body: str,
        status_callback: str | None = None,
        messaging_service_sid: str | None = None,
        num_media: int = 0,
    ) -> SimMessage:
        """Create an outbound SMS (status ``queued``) and schedule its delivery: ``sent`` then
        ``delivered``, or ``undelivered``/``failed`` with an ErrorCode for a persona that cannot
        receive SMS. Each status is posted to ``status_callback``.

        Raises :class:`ApiError` 21610 when ``to`` texted an opt-out keyword to this sender (and
        no opt-in keyword since), as Twilio's default opt-out handling does on long codes."""
        sender = messaging_service_sid or from_ or ""
        with self._lock:
            blocked = (to, sender) in self.opted_out
        if blocked:
            raise ApiError(400, 21610, "Attempt to send to unsubscribed recipient")
        now = self.carrier.now()
        message = SimMessage(
            sid=new_sid("SM"),
            account_sid=self.carrier.account_sid,
            to=to,
            from_=from_ or "",
            body=body,
            direction="outbound-api",
            date_created=now,
            date_updated=now,
            status_callback=status_callback,
            messaging_service_sid=messaging_service_sid,
            num_media=num_media,
            status_history=["queued"],
        )
        with self._lock:
            self.messages[message.sid] = message
        self.carrier.submit(lambda: self._deliver(message))
        return message

    def send_inbound_sms(
        self,
        from_number: str,
        to_number: str,
        body: str,
        *,
        url: str | None = None,
        method: str = "POST",
    ) -> SimMessage:
        """Deliver an SMS from ``from_number`` to the app's ``to_number`` by requesting ``url``
        (default: the simulator's ``sms_url``) with Twilio's inbound-message parameters, signed.
        Returns once the app has answered; its TwiML reply is kept in ``message.reply``."""
        target = url or self.carrier.sms_url
        if not target:
            raise ValueError("no url given and the simulator has no sms_url")
        now = self.carrier.now()
        account_sid = self.carrier.account_sid
        message = SimMessage(
            sid=new_sid("SM"),
            account_sid=account_sid,
            to=to_number,
            from_=from_number,
            body=body,
            direction="inbound",
            date_created=now,
            date_updated=now,
            status="received",
            date_sent=now,
            status_history=["received"],
        )
        with self._lock:
            self.messages[message.sid] = message
            # Twilio's default opt-out handling on long codes: STOP and its kin block later sends
            # from this number to the texter (error 21610) until START, UNSTOP or YES.
            word = "".join(ch for ch in body.upper() if ch.isalnum())
            if word in TWILIO_OPTOUT_KEYWORDS:
                self.opted_out.add((from_number, to_number))
            elif word in TWILIO_OPTIN_KEYWORDS:
                self.opted_out.discard((from_number, to_number))
        params = {
            "ToCountry": "",
            "ToState": "",
            "SmsMessageSid": message.sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": message.sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "",
            "To": to_number,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": message.sid,
            "AccountSid": account_sid,
            "From": from_number,
            "ApiVersion": API_VERSION,
        }
        response = self.carrier.webhook(None, method, target, params, "inbound SMS")
        if response is not None:
            message.reply = response.body
        return message

    def _deliver(self, message: SimMessage) -> None:
        persona = self.carrier.personas.for_number(message.to)
        self._message_status(message, "queued")
        code = persona.sms_failure_code()
        if persona.sms != "failed":
            with self._lock:
                message.date_sent = self.carrier.now()
            self._message_status(message, "sent")
        if code is None:
            self._message_status(message, "delivered")
            return
        with self._lock:
            message.error_code = code
            message.error_message = (
                "Unreachable destination handset" if code == 30003 else "Message delivery failed"
            )
        self._message_status(message, persona.sms)

    def _message_status(self, message: SimMessage, status: str) -> None:
        with self._lock:
            message.status = status
            message.date_updated = self.carrier.now()
            if message.status_history[-1:] != [status]:
                message.status_history.append(status)
        log.info("%s SMS %s -> %s: %s", message.sid, message.from_, message.to, status)
        if not message.status_callback:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "To": message.to,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None and status in ("undelivered", "failed"):
            params["ErrorCode"] = str(message.error_code)
        self.carrier.callback(
            None,
            "POST",
            message.status_callback,
            params,
            f"SMS status {status}",
            event=status,
            sid=message.sid,
            to=message.to,
        )
