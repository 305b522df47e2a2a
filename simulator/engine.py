"""The call engine: places calls, plays the app's TwiML, and sends every webhook Twilio would.

One piece of code serves both timing modes:

* **synchronous** (``threaded=False``, for tests): REST requests only queue work;
  :meth:`Simulator.run_until_idle` plays queued calls and message deliveries one after the other in
  the calling thread. Pauses, ringing and Gather timeouts are not slept; they advance a virtual
  clock, so durations and timestamps are those of the simulated call and runs are deterministic.
* **threaded** (``threaded=True``, for ``serve``): each call and message runs in its own thread as
  soon as it is created, and waits in real time multiplied by ``time_scale`` (0.1 plays ten times
  faster). A REST update wakes the call's thread at once.

The engine never holds its lock while a webhook is in flight, so the app may call the REST API back
(an AMD verdict handler redirecting the live call) from inside any webhook, in both modes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeAlias
from urllib.parse import urljoin

from simulator.errors import ApiError, TransportError, TwimlError
from simulator.models import (
    API_VERSION,
    SimCall,
    SimError,
    SimMessage,
    new_sid,
    rfc2822,
)
from simulator.personas import HangUp, Keys, Persona, PersonaBook, Wait, parse_key_script
from simulator.transport import Transport, WebhookResponse, build_request
from simulator.twiml import Verb, parse_voice_response

#: Twilio's default opt-out and opt-in keywords on long codes ("Advanced Opt-Out").
TWILIO_OPTOUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
TWILIO_OPTIN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})

log = logging.getLogger("simulator")

DEFAULT_TIME_LIMIT_S = 4 * 3600.0  # Twilio's default TimeLimit for a call: four hours
MAX_DOCUMENTS_PER_CALL = 500  # a redirect loop guard; Twilio has none, the call's TimeLimit ends it
PLAY_SECONDS = 3.0  # the simulator does not fetch audio; every <Play> lasts this long
KEYPRESS_SECONDS = 0.3


# Control flow inside a call ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    """Next document: fetch ``url`` with ``method``, adding ``params`` (Gather results)."""

    url: str
    method: str = "POST"
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Inline:
    """Next document: this TwiML text (a REST ``Twiml`` update or create)."""

    twiml: str


Next: TypeAlias = Fetch | Inline


class _CallEnds(Exception):  # noqa: N818 - control flow, not an error
    """The call ends now with ``status``; ``line`` goes into the transcript."""

    def __init__(self, status: str, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


class _Redirected(Exception):  # noqa: N818 - control flow, not an error
    """A REST update replaced the call's TwiML; the current document stops."""

    def __init__(self, target: Next) -> None:
        super().__init__(str(target))
        self.target = target


_APP_HANGUP = object()


# Clocks -----------------------------------------------------------------------------------------


class VirtualClock:
    """The synchronous mode's clock: starts at ``start`` and moves only when the engine waits."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current simulated time (UTC)."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += timedelta(seconds=seconds)


# The simulator ----------------------------------------------------------------------------------


class Simulator:
    """The local carrier: its state (calls, messages, errors), the engine and the REST app.

    Build it with :func:`simulator.server.create_simulator`. ``errors`` lists every
    :class:`~simulator.models.SimError` seen so far; a test that expects a clean run asserts it is
    empty.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        transport: Transport,
        personas: PersonaBook | None = None,
        threaded: bool = False,
        time_scale: float = 1.0,
        voice_url: str | None = None,
        sms_url: str | None = None,
        start_time: datetime | None = None,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.transport = transport
        self.personas = personas or PersonaBook()
        self.threaded = threaded
        self.time_scale = time_scale
        self.voice_url = voice_url
        self.sms_url = sms_url
        self.calls: dict[str, SimCall] = {}
        self.messages: dict[str, SimMessage] = {}
        #: (texter, our number or Messaging Service) pairs blocked by an opt-out keyword.
        self.opted_out: set[tuple[str, str]] = set()
        self.errors: list[SimError] = []
        self._clock = VirtualClock(start_time) if not threaded else None
        self._lock = threading.RLock()
        self._queue: deque[Callable[[], None]] = deque()
        self._running_inline = False
        self._active = 0
        self._idle = threading.Condition(self._lock)
        self._wsgi_app: Callable[..., Iterable[bytes]] | None = None

    # Public API --------------------------------------------------------------------------------

    @property
    def wsgi_app(self) -> Callable[..., Iterable[bytes]]:
        """The REST API (and control endpoints) as a WSGI application."""
        if self._wsgi_app is None:
            from simulator.rest import RestApi

            self._wsgi_app = RestApi(self)
        return self._wsgi_app

    def now(self) -> datetime:
        """The simulator's current time: virtual in synchronous mode, the wall clock otherwise."""
        return self._clock.now() if self._clock else datetime.now(UTC)

    def set_persona(self, number: str, persona: Persona) -> None:
        """Script the callee at ``number``."""
        with self._lock:
            self.personas.set(number, persona)

    def record_error(self, kind: str, message: str, call: SimCall | None = None) -> None:
        """Log and keep an error (see :class:`~simulator.models.SimError`)."""
        error = SimError(kind, message, call.sid if call else None)
        log.error("simulator %s error%s: %s", kind, f" on {call.sid}" if call else "", message)
        with self._lock:
            self.errors.append(error)
            if call is not None:
                call.errors.append(error)

    def run_until_idle(self, max_jobs: int = 10_000) -> None:
        """Synchronous mode: play every queued call and delivery, including work queued while
        doing so, until nothing is left. Re-entrant calls (from inside a webhook) return at once.
        In threaded mode this waits for the worker threads instead (see :meth:`wait_until_idle`).
        """
        if self.threaded:
            self.wait_until_idle()
            return
        with self._lock:
            if self._running_inline:
                return
            self._running_inline = True
        try:
            for _ in range(max_jobs):
                with self._lock:
                    if not self._queue:
                        return
                    job = self._queue.popleft()
                job()
            raise RuntimeError(f"run_until_idle: more than {max_jobs} jobs; a call loop?")
        finally:
            with self._lock:
                self._running_inline = False

    def wait_until_idle(self, timeout: float | None = 30.0) -> bool:
        """Threaded mode: block until no call or delivery is running; True if that happened."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._active or self._queue:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def place_call(
        self,
        *,
        to: str,
        from_: str,
        url: str | None = None,
        method: str = "POST",
        twiml: str | None = None,
        direction: str = "outbound-api",
        persona: Persona | None = None,
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_callback_events: Iterable[str] = (),
        machine_detection: str | None = None,
        async_amd: bool = False,
        amd_callback: str | None = None,
        amd_callback_method: str = "POST",
        ring_timeout: float = 60.0,
        time_limit: float = DEFAULT_TIME_LIMIT_S,
    ) -> SimCall:
        """Create a call and schedule it (the REST create goes through here, already validated).

        For an outbound call ``persona`` defaults to the one scripted at ``to``.
        """
        if (url is None) == (twiml is None):
            raise ValueError("exactly one of url and twiml is required")
        now = self.now()
        events = frozenset(status_callback_events) or frozenset({"completed"})
        call = SimCall(
            sid=new_sid("CA"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            direction=direction,
            persona=persona or self.personas.for_number(to),
            url=url,
            method=method.upper(),
            twiml=twiml,
            status_callback=status_callback,
            status_callback_method=status_callback_method.upper(),
            status_callback_events=events,
            machine_detection=machine_detection,
            async_amd=async_amd,
            amd_callback=amd_callback,
            amd_callback_method=amd_callback_method.upper(),
            ring_timeout=ring_timeout,
            time_limit=time_limit,
            date_created=now,
            date_updated=now,
        )
        call.keypad.extend(call.persona.keys)
        with self._lock:
            self.calls[call.sid] = call
        self._submit(lambda: self._play(call))
        return call

    def place_inbound_call(
        self,
        from_number: str,
        to_number: str,
        *,
        url: str | None = None,
        method: str = "POST",
        keys: str | Iterable[str] | None = None,
        persona: Persona | None = None,
        status_callback: str | None = None,
        status_callback_events: Iterable[str] = (),
    ) -> SimCall:
        """Call the app from ``from_number`` (the caller) to ``to_number`` (the app's number),
        fetching ``url`` (default: the simulator's ``voice_url``).

        The caller follows ``keys`` (a key script, see :mod:`simulator.personas`), else
        ``persona``, else the persona scripted at ``from_number``. In synchronous mode the call has
        been played to its end when this returns; in threaded mode use ``call.wait()``.
        """
        target = url or self.voice_url
        if not target:
            raise ValueError("no url given and the simulator has no voice_url")
        caller = persona or self.personas.for_number(from_number)
        if keys is not None:
            caller = replace(caller, keys=parse_key_script(keys))
        call = self.place_call(
            to=to_number,
            from_=from_number,
            url=target,
            method=method,
            direction="inbound",
            persona=replace(caller, outcome="answer", ring_seconds=0.0),
            status_callback=status_callback,
            status_callback_events=status_callback_events,
        )
        if not self.threaded:
            self.run_until_idle()
        return call

    def update_call(
        self,
        call: SimCall,
        *,
        url: str | None = None,
        method: str = "POST",
        twiml: str | None = None,
        status: str | None = None,
    ) -> None:
        """Apply a REST update: redirect a live call to ``url``/``twiml``, or end it with
        ``status`` ``completed``/``canceled``. A call not yet answered only has its TwiML replaced.
        Callers check that the call is not over (Twilio error 21220).
        """
        with self._lock:
            if status is not None:
                call.control = _CallEnds(
                    "completed" if call.status == "in-progress" else "canceled",
                    f"[carrier] call ended by REST update Status={status}",
                )
            elif call.status == "in-progress":
                target: Next = Fetch(url, method.upper()) if url else Inline(twiml or "")
                call.control = _Redirected(target)
            else:
                call.url, call.method, call.twiml = url, method.upper(), twiml
            call.date_updated = self.now()
            call.wake.set()

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
        now = self.now()
        message = SimMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
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
        self._submit(lambda: self._deliver(message))
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
        target = url or self.sms_url
        if not target:
            raise ValueError("no url given and the simulator has no sms_url")
        now = self.now()
        message = SimMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
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
            "AccountSid": self.account_sid,
            "From": from_number,
            "ApiVersion": API_VERSION,
        }
        response = self._webhook(None, method, target, params, "inbound SMS")
        if response is not None:
            message.reply = response.body
        return message

    # Scheduling --------------------------------------------------------------------------------

    def _submit(self, job: Callable[[], None]) -> None:
        if not self.threaded:
            with self._lock:
                self._queue.append(job)
            return
        with self._lock:
            self._active += 1

        def run() -> None:
            try:
                job()
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

        threading.Thread(target=run, name="simulator-job", daemon=True).start()

    # Webhooks ----------------------------------------------------------------------------------

    def _call_params(self, call: SimCall) -> dict[str, str]:
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": call.status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
        }
        if call.answered_by and not call.async_amd:
            params["AnsweredBy"] = call.answered_by
        return params

    def _webhook(
        self,
        call: SimCall | None,
        method: str,
        url: str,
        params: Mapping[str, str],
        purpose: str,
    ) -> WebhookResponse | None:
        """Send one signed webhook; a failure is recorded (kind ``http``) and returns None."""
        request = build_request(method, url, params, self.auth_token)
        log.debug("webhook %s %s %s", purpose, request.method, request.url)
        try:
            response = self.transport.send(request)
        except TransportError as exc:
            self.record_error("http", f"{purpose}: {exc}", call)
            return None
        if not response.ok:
            self.record_error(
                "http",
                f"{purpose}: {request.method} {request.url} answered {response.status}",
                call,
            )
            return None
        return response

    def _status_event(self, call: SimCall, event: str) -> None:
        """Post a call progress event if the call subscribed to it (Twilio sends only subscribed
        events; ``completed`` alone when none was given)."""
        if not call.status_callback or event not in call.status_callback_events:
            return
        params = self._call_params(call)
        params["CallStatus"] = "initiated" if event == "initiated" else call.status
        params.update(
            {
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(call.sequence),
                "Timestamp": rfc2822(self.now()) or "",
            }
        )
        if event == "completed":
            seconds = call.duration or 0
            params["CallDuration"] = str(seconds)
            params["Duration"] = str(math.ceil(seconds / 60))
        call.sequence += 1
        self._say(call, f"[carrier] status callback {event} (CallStatus={params['CallStatus']})")
        self._webhook(
            call, call.status_callback_method, call.status_callback, params, f"status {event}"
        )

    # Playing a call ----------------------------------------------------------------------------

    def _say(self, call: SimCall, line: str) -> None:
        call.transcript.append(line)
        log.info("%s %s", call.sid, line)

    def _set_status(self, call: SimCall, status: str) -> None:
        with self._lock:
            call.status = status
            call.date_updated = self.now()

    def _play(self, call: SimCall) -> None:
        """Run one call from dialling to its final status. Never raises."""
        final = "completed"
        try:
            self._say(call, f"[carrier] {call.direction} call {call.from_} -> {call.to}")
            self._check_control(call)
            self._dial(call)
            self._converse(call)
        except _CallEnds as end:
            final = end.status
            self._say(call, end.line)
        except Exception as exc:  # a simulator bug must not kill the worker silently
            log.exception("simulator engine failure on %s", call.sid)
            self.record_error("engine", f"{type(exc).__name__}: {exc}", call)
        finally:
            self._finish(call, final)

    def _dial(self, call: SimCall) -> None:
        persona = call.persona
        if call.direction != "inbound":
            # Twilio's start_time is when the call was dialed ("empty if the call has not yet
            # been dialed"), so busy and unanswered calls have one too and can be listed by it.
            if persona.outcome != "failed":  # a failed call never left the carrier
                with self._lock:
                    call.start_time = call.start_time or self.now()
            self._status_event(call, "initiated")
            self._check_control(call)
        if persona.outcome in ("busy", "failed"):
            raise _CallEnds(persona.outcome, f"[callee] {persona.outcome}")
        self._set_status(call, "ringing")
        self._status_event(call, "ringing")
        ring = persona.ring_seconds if persona.outcome == "answer" else math.inf
        if ring >= call.ring_timeout:
            self._elapse(call, call.ring_timeout, talking=False)
            raise _CallEnds("no-answer", f"[callee] no answer after {call.ring_timeout:g}s")
        self._elapse(call, ring, talking=False)

    def _converse(self, call: SimCall) -> None:
        now = self.now()
        with self._lock:
            call.status = "in-progress"
            call.start_time = call.start_time or now
            call.date_updated = now
        self._say(call, "[callee] answers" if call.direction != "inbound" else "[app] answers")
        self._status_event(call, "answered")
        if call.machine_detection:
            verdict_at = call.persona.amd_seconds
            if call.async_amd:
                call.amd_due = verdict_at
            else:  # synchronous AMD holds the call until the verdict, then fetches the Url
                self._elapse(call, verdict_at)
                self._amd_verdict(call)
        target: Next | None = Fetch(call.url, call.method) if call.url else Inline(call.twiml or "")
        documents = 0
        while target is not None:
            documents += 1
            if documents > MAX_DOCUMENTS_PER_CALL:
                self.record_error("twiml", f"more than {MAX_DOCUMENTS_PER_CALL} documents", call)
                raise _CallEnds("completed", "[carrier] hangs up: redirect loop")
            try:
                target = self._document(call, target)
            except _Redirected as redirect:
                self._say(
                    call, f"[carrier] redirected by REST update to {_describe(redirect.target)}"
                )
                target = redirect.target
        self._say(call, "[carrier] end of TwiML: hangs up")

    def _document(self, call: SimCall, target: Next) -> Next | None:
        """Fetch (or take) one document and play its verbs; returns what comes next."""
        if isinstance(target, Inline):
            text, doc_url = target.twiml, call.url or ""
        else:
            params = self._call_params(call)
            params.update(dict(target.params))
            response = self._webhook(call, target.method, target.url, params, "TwiML fetch")
            self._check_control(call)
            if response is None:
                # Twilio would try the FallbackUrl, then say "an application error has occurred".
                raise _CallEnds("completed", "[carrier] application error: hangs up")
            content_type = response.content_type.split(";")[0].strip().lower()
            if content_type not in ("text/xml", "application/xml"):
                self.record_error(
                    "twiml", f"{target.url} answered Content-Type {content_type!r} (12300)", call
                )
                raise _CallEnds("completed", "[carrier] application error: hangs up")
            text, doc_url = response.body, target.url
        try:
            verbs = parse_voice_response(text)
        except TwimlError as exc:
            self.record_error("twiml", f"{doc_url or 'inline TwiML'}: {exc}", call)
            raise _CallEnds("completed", f"[carrier] invalid TwiML ({exc}): hangs up") from exc
        for verb in verbs:
            self._check_control(call)
            try:
                outcome = VERB_HANDLERS[verb.name](self, call, verb, doc_url)
            except TwimlError as exc:
                self.record_error("twiml", f"{doc_url or 'inline TwiML'}: {exc}", call)
                raise _CallEnds("completed", f"[carrier] invalid TwiML ({exc}): hangs up") from exc
            if outcome is _APP_HANGUP:
                raise _CallEnds("completed", "[app] Hangup")
            if isinstance(outcome, Fetch | Inline):
                return outcome
        return None

    def _finish(self, call: SimCall, status: str) -> None:
        now = self.now()
        with self._lock:
            call.status = status
            call.control = None
            if call.start_time is not None:
                call.end_time = now
                answered = status == "completed" or call.answered_by is not None
                call.duration = math.ceil(call.elapsed) if call.elapsed and answered else 0
            else:
                call.duration = 0
            call.date_updated = now
        self._say(call, f"[carrier] call {status}, {call.duration}s")
        self._status_event(call, "completed")
        call.finished.set()

    # Time, interruptions, AMD -------------------------------------------------------------------

    def _check_control(self, call: SimCall) -> None:
        with self._lock:
            control, call.control = call.control, None
            call.wake.clear()
        if control is not None:
            raise control

    def _elapse(self, call: SimCall, seconds: float, *, talking: bool = True) -> None:
        """Let ``seconds`` of call time pass: virtual in synchronous mode, ``seconds *
        time_scale`` of real time when threaded. Fires the async AMD verdict when it falls due;
        raises when a REST update arrives or the callee's or Twilio's time limit is reached."""
        remaining = seconds
        while remaining > 1e-9:
            step = remaining
            if talking:
                if call.amd_due is not None:
                    until = call.amd_due - call.elapsed
                    if until <= 1e-9:
                        self._amd_verdict(call)
                        continue
                    step = min(step, until)
                limit = call.time_limit
                if call.persona.max_call_seconds is not None:
                    limit = min(limit, call.persona.max_call_seconds)
                if limit - call.elapsed <= 1e-9:
                    who = "[callee]" if limit < call.time_limit else "[carrier] TimeLimit:"
                    raise _CallEnds("completed", f"{who} hangs up after {call.elapsed:g}s")
                step = min(step, limit - call.elapsed)
            if self._clock is not None:
                self._clock.advance(step)
                passed = step
            elif self.time_scale > 0:
                began = time.monotonic()
                call.wake.wait(step * self.time_scale)
                passed = min(step, (time.monotonic() - began) / self.time_scale)
            else:
                passed = step
            if talking:
                call.elapsed += passed
            remaining -= passed
            self._check_control(call)

    def _amd_verdict(self, call: SimCall) -> None:
        call.amd_due = None
        verdict = call.persona.amd_verdict(call.machine_detection or "Enable")
        call.answered_by = verdict
        millis = int(call.persona.amd_seconds * 1000)
        self._say(call, f"[carrier] AMD verdict {verdict} after {millis} ms")
        if call.async_amd and call.amd_callback:
            params = {
                "AccountSid": call.account_sid,
                "CallSid": call.sid,
                "AnsweredBy": verdict,
                "MachineDetectionDuration": str(millis),
            }
            self._webhook(call, call.amd_callback_method, call.amd_callback, params, "AMD")
        self._check_control(call)

    def _prompt_heard(self, call: SimCall) -> None:
        call.prompts += 1
        limit = call.persona.hangup_after_prompts
        if limit is not None and call.prompts >= limit:
            raise _CallEnds("completed", f"[callee] hangs up after {call.prompts} prompt(s)")

    # Verbs -------------------------------------------------------------------------------------

    def _verb_say(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        self._nested_say(call, verb, doc_url)
        self._prompt_heard(call)
        return None

    def _verb_play(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        self._nested_play(call, verb, doc_url)
        self._prompt_heard(call)
        return None

    def _nested_say(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        details = [verb.attrs.get("language", "en-US")]
        if "voice" in verb.attrs:
            details.append(f"voice={verb.attrs['voice']}")
        loop = verb.int_attr("loop", 1)
        if loop != 1:
            details.append(f"loop={loop}")
        self._say(call, f"[app] Say({', '.join(details)}): {verb.text}")
        self._speak(call, _speech_seconds(verb.text), loop)
        return None

    def _nested_play(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        loop = verb.int_attr("loop", 1)
        self._say(call, f"[app] Play{f'(loop={loop})' if loop != 1 else ''}: {verb.text}")
        self._speak(call, PLAY_SECONDS, loop)
        return None

    def _speak(self, call: SimCall, seconds: float, loop: int) -> None:
        # loop="0" repeats until the call ends (the callee's patience or TimeLimit).
        count = 0
        while loop == 0 or count < loop:
            self._elapse(call, seconds)
            count += 1

    def _verb_pause(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        length = verb.int_attr("length", 1)
        self._say(call, f"[app] Pause {length}s")
        self._elapse(call, length)
        return None

    def _verb_redirect(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        target = _resolve(doc_url, verb.text, verb)
        method = verb.method_attr()
        self._say(call, f"[app] Redirect {method} {target}")
        return Fetch(target, method)

    def _verb_hangup(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        return _APP_HANGUP

    def _verb_gather(self, call: SimCall, verb: Verb, doc_url: str) -> object:
        num_digits = verb.int_attr("numDigits", 0, minimum=1)
        timeout = verb.int_attr("timeout", 5, minimum=1)
        finish_key = verb.attrs.get("finishOnKey", "#")
        on_empty = verb.bool_attr("actionOnEmptyResult", False)
        action = _resolve(doc_url, verb.attrs.get("action", doc_url), verb)
        method = verb.method_attr()
        shape = [f"timeout={timeout}"]
        if num_digits:
            shape.append(f"numDigits={num_digits}")
        shape.append(f"finishOnKey={finish_key!r}")
        self._say(call, f"[app] Gather({', '.join(shape)})")
        for child in verb.children:  # nested prompts count as one prompt: the Gather's
            NESTED_HANDLERS[child.name](self, call, child, doc_url)
        self._prompt_heard(call)
        digits, finished_on = self._collect(call, timeout, num_digits, finish_key)
        if not digits and not on_empty:
            self._say(call, f"[caller] no input: Gather times out after {timeout}s")
            return None
        self._say(
            call,
            f"[carrier] Gather result Digits={digits!r} FinishedOnKey={finished_on!r}"
            f" -> {method} {action}",
        )
        return Fetch(action, method, (("Digits", digits), ("FinishedOnKey", finished_on)))

    def _collect(
        self, call: SimCall, timeout: int, num_digits: int, finish_key: str
    ) -> tuple[str, str]:
        """Read keys from the callee's script for one Gather (see :mod:`simulator.personas`)."""
        digits = ""
        while True:
            step = call.keypad[0] if call.keypad else None
            if step is None:
                self._elapse(call, timeout)
                return digits, ""
            if isinstance(step, HangUp):
                call.keypad.popleft()
                raise _CallEnds("completed", "[caller] hangs up")
            if isinstance(step, Wait):
                if step.seconds >= timeout:
                    call.keypad[0] = Wait(step.seconds - timeout)
                    if call.keypad[0] == Wait(0.0):
                        call.keypad.popleft()
                    self._say(call, f"[caller] silent for {timeout}s")
                    self._elapse(call, timeout)
                    return digits, ""
                call.keypad.popleft()
                self._say(call, f"[caller] waits {step.seconds:g}s")
                self._elapse(call, step.seconds)
                continue
            assert isinstance(step, Keys)
            call.keypad.popleft()
            pressed = ""
            for index, key in enumerate(step.digits):
                pressed += key
                self._elapse(call, KEYPRESS_SECONDS)
                done = key == finish_key or (num_digits and len(digits) + 1 >= num_digits)
                if key != finish_key:
                    digits += key
                if done:
                    rest = step.digits[index + 1 :]
                    if rest:
                        call.keypad.appendleft(Keys(rest))
                    self._say(call, f"[caller] presses {pressed}")
                    return digits, key if key == finish_key else ""
            self._say(call, f"[caller] presses {pressed}")

    # Messages ----------------------------------------------------------------------------------

    def _deliver(self, message: SimMessage) -> None:
        persona = self.personas.for_number(message.to)
        self._message_status(message, "queued")
        code = persona.sms_failure_code()
        if persona.sms != "failed":
            with self._lock:
                message.date_sent = self.now()
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
            message.date_updated = self.now()
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
        self._webhook(None, "POST", message.status_callback, params, f"SMS status {status}")


VerbHandler = Callable[[Simulator, SimCall, Verb, str], object]

# One handler per verb in simulator.twiml.VOICE_VERBS; Enqueue/Dial/Leave slot in here.
VERB_HANDLERS: dict[str, VerbHandler] = {
    "Say": Simulator._verb_say,
    "Play": Simulator._verb_play,
    "Pause": Simulator._verb_pause,
    "Gather": Simulator._verb_gather,
    "Redirect": Simulator._verb_redirect,
    "Hangup": Simulator._verb_hangup,
}

# Verbs a <Gather> may nest (simulator.twiml.VOICE_VERBS["Gather"].children).
NESTED_HANDLERS: dict[str, VerbHandler] = {
    "Say": Simulator._nested_say,
    "Play": Simulator._nested_play,
    "Pause": Simulator._verb_pause,
}


def _resolve(doc_url: str, target: str, verb: Verb) -> str:
    """Twilio resolves relative action/Redirect URLs against the current document's URL."""
    resolved = urljoin(doc_url, target.strip()) if doc_url else target.strip()
    if not resolved.startswith(("http://", "https://")):
        raise TwimlError(f"<{verb.name}>: cannot resolve URL {target!r} (inline TwiML?)")
    return resolved


def _speech_seconds(text: str) -> float:
    """Rough speaking time: about 15 Latin characters or 4 CJK characters a second."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return max(0.5, wide / 4 + (len(text) - wide) / 15)


def _describe(target: Next) -> str:
    return f"{target.method} {target.url}" if isinstance(target, Fetch) else "inline TwiML"
