"""The call engine: places calls, rings and answers them, runs AMD and sends status callbacks.

One piece of code serves both timing modes:

* **synchronous** (``threaded=False``, for tests): REST requests only queue work;
  :meth:`Simulator.run_until_idle` (or :meth:`Simulator.run_until`, which stops once a condition
  holds) plays queued calls and message deliveries one after the other. Each call runs in a thread
  of its own (:class:`_Fiber`) but only while the scheduler waits for it, so calls never overlap.
  Pauses, ringing and Gather timeouts are not slept; they advance a virtual clock, so durations
  and timestamps are those of the simulated call and runs are deterministic. A *held* call (one
  waiting on other calls: queued, dialling, bridged, in a conference) parks at each wait instead,
  and the scheduler plays the other calls until the wait falls due or something wakes it.
* **threaded** (``threaded=True``, for ``serve``): each call and message runs in its own thread as
  soon as it is created, and waits in real time multiplied by ``time_scale`` (0.1 plays ten times
  faster). A REST update wakes the call's thread at once.

Status callbacks go through :attr:`Simulator.faults` (:mod:`simulator.faults`), which may lose,
repeat or delay them; a delayed one is sent from a timer thread (threaded) or once the queue is
empty (synchronous), while the call goes on.

The engine never holds its lock while a webhook is in flight, so the app may call the REST API back
(an AMD verdict handler redirecting the live call) from inside any webhook, in both modes.

:class:`Simulator` is also the facade the rest of the simulator sees: once a call is answered the
engine hands it to the TwiML player (:mod:`simulator.player`), and SMS is delegated to
:mod:`simulator.messaging`; both reach back only for the engine's clock, scheduler, transcript,
errors and webhooks.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from simulator import connect
from simulator.errors import TransportError
from simulator.faults import Faults
from simulator.flow import CallEnds, Fetch, Inline, Next, Redirected
from simulator.messaging import Messaging
from simulator.models import SimCall, SimError, SimMessage, new_sid, rfc2822
from simulator.personas import Persona, PersonaBook, parse_key_script
from simulator.player import TwimlPlayer
from simulator.rest import RestApi
from simulator.switchboard import Conference, Participant, QueueMember, SimQueue, Switchboard
from simulator.transport import Transport, WebhookResponse, build_request

log = logging.getLogger("simulator")

DEFAULT_TIME_LIMIT_S = 4 * 3600.0  # Twilio's default TimeLimit for a call: four hours


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

    def advance_to(self, moment: datetime) -> None:
        """Move the clock forward to ``moment`` (never back)."""
        with self._lock:
            self._now = max(self._now, moment)


class _Fiber:
    """A call's own thread in synchronous mode, run by the scheduler one slice at a time.

    Only one fiber runs at any moment: :meth:`step` (scheduler side) lets it run and blocks until
    it parks or ends, so calls still play one after the other, deterministically, and a
    call that never waits on another plays exactly as if it ran inline. A call that waits on
    other calls (queued, dialling, bridged) parks at each wait, and the scheduler plays the
    others until the wait falls due on the virtual clock or something wakes it.
    """

    def __init__(self, name: str, body: Callable[[], None]) -> None:
        self._go = threading.Semaphore(0)
        self._back = threading.Semaphore(0)
        self._body = body
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._started = False
        #: Bumped at every park: a scheduled wake-up with an older token is stale.
        self.token = 0
        self.parked = False

    def _main(self) -> None:
        self._go.acquire()
        try:
            self._body()
        finally:
            self._back.release()

    def step(self) -> None:
        """Run the fiber until it parks or ends."""
        if not self._started:
            self._started = True
            self._thread.start()
        self.parked = False
        self._go.release()
        self._back.acquire()

    def park(self) -> None:
        """From inside the fiber: hand control back to the scheduler until stepped again."""
        self.parked = True
        self._back.release()
        self._go.acquire()


class _Resume:
    """A scheduled wake-up of a parked fiber; stale once the fiber parked again or was woken."""

    def __init__(self, fiber: _Fiber) -> None:
        self.fiber = fiber
        self.token = fiber.token

    @property
    def stale(self) -> bool:
        return self.token != self.fiber.token or not self.fiber.parked

    def __call__(self) -> None:
        if not self.stale:
            self.fiber.token += 1
            self.fiber.step()


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
        faults: Faults | None = None,
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
        self.errors: list[SimError] = []
        self._clock = VirtualClock(start_time) if not threaded else None
        self._lock = threading.RLock()
        self._queue: deque[Callable[[], None]] = deque()
        # Synchronous mode: delayed callbacks by (due, order), sent once the queue is empty.
        self._deferred: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        #: The fault knobs (:mod:`simulator.faults`): REST errors, latency, drops; callbacks.
        self.faults = faults or Faults()
        self._running_inline = False
        self._active = 0
        self._idle = threading.Condition(self._lock)
        self._changed = threading.Condition(self._lock)
        self._wsgi_app: Callable[..., Iterable[bytes]] | None = None
        #: Queues, conferences and bridges (:mod:`simulator.switchboard`).
        self.switchboard = Switchboard(account_sid)
        self._player = TwimlPlayer(self)
        self._messaging = Messaging(self)

    # Public API --------------------------------------------------------------------------------

    @property
    def wsgi_app(self) -> Callable[..., Iterable[bytes]]:
        """The REST API (and control endpoints) as a WSGI application."""
        if self._wsgi_app is None:
            self._wsgi_app = RestApi(self)
        return self._wsgi_app

    @property
    def messages(self) -> dict[str, SimMessage]:
        """Every SMS sent or received, by SID (owned by :class:`~simulator.messaging.Messaging`)."""
        return self._messaging.messages

    @property
    def opted_out(self) -> set[tuple[str, str]]:
        """(texter, our number or Messaging Service) pairs blocked by an opt-out keyword."""
        return self._messaging.opted_out

    @property
    def lock(self) -> threading.RLock:
        """The lock guarding calls, queues and conferences."""
        return self._lock

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
        self._run(None, None, max_jobs)

    def run_until(
        self,
        condition: Callable[[], bool],
        *,
        within: float = 3600.0,
        max_jobs: int = 100_000,
    ) -> bool:
        """Play calls until ``condition()`` holds; True if it did, False if it did not within
        ``within`` seconds of simulated time (or the work ran out).

        This is how a test waits for progress (a caller queued, a bridge up, a conference
        over) instead of sleeping. Synchronous mode: the condition is checked after every step of
        every call, and nothing due later than ``within`` seconds from now is played, so a queued
        caller that would wait for hours is left waiting, its state intact. Threaded mode: waits
        for ``within * time_scale`` seconds of real time, checking at every transcript line.
        """
        if not self.threaded:
            assert self._clock is not None
            limit = self._clock.now() + timedelta(seconds=within)
            return self._run(condition, limit, max_jobs)
        deadline = time.monotonic() + within * max(self.time_scale, 0.001)
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True

    def run_for(self, seconds: float) -> None:
        """Synchronous mode: play everything due within ``seconds`` of simulated time, then move
        the clock to the end of that span. Threaded mode: wait that long (scaled)."""
        if self.threaded:
            time.sleep(seconds * self.time_scale)
            return
        assert self._clock is not None
        end = self._clock.now() + timedelta(seconds=seconds)
        self.run_until(lambda: False, within=seconds)
        self._clock.advance_to(end)

    def _run(
        self, condition: Callable[[], bool] | None, limit: datetime | None, max_jobs: int
    ) -> bool:
        """The synchronous scheduler: new work first, then whatever falls due next on the
        virtual clock (delayed callbacks, parked calls), until ``condition`` holds or nothing
        due before ``limit`` is left."""
        with self._lock:
            if self._running_inline:
                return condition() if condition else True
            self._running_inline = True
        try:
            for _ in range(max_jobs):
                if condition is not None and condition():
                    return True
                with self._lock:
                    if self._queue:
                        job = self._queue.popleft()
                    elif self._deferred:
                        due, _, job = self._deferred[0]
                        if isinstance(job, _Resume) and job.stale:
                            heapq.heappop(self._deferred)
                            continue
                        if limit is not None and due > limit:
                            return False
                        heapq.heappop(self._deferred)
                        if self._clock is not None:
                            self._clock.advance_to(due)
                    else:
                        return condition() if condition is not None else True
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
        parent_call_sid: str | None = None,
        leg: object = None,
    ) -> SimCall:
        """Create a call and schedule it (the REST create goes through here, already validated).

        For an outbound call ``persona`` defaults to the one scripted at ``to``. ``leg`` makes it
        the callee leg of a ``<Dial>`` (see :mod:`simulator.connect`).
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
            parent_call_sid=parent_call_sid,
            leg=leg,
            held=leg is not None,
        )
        call.keypad.extend(call.persona.keys)
        with self._lock:
            self.calls[call.sid] = call
        if self.threaded:
            self.submit(lambda: self._play(call))
        else:
            call.fiber = _Fiber(f"simulator-{call.sid}", lambda: self._play(call))
            self.submit(call.fiber.step)
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
        run: bool = True,
    ) -> SimCall:
        """Call the app from ``from_number`` (the caller) to ``to_number`` (the app's number),
        fetching ``url`` (default: the simulator's ``voice_url``).

        The caller follows ``keys`` (a key script, see :mod:`simulator.personas`), else
        ``persona``, else the persona scripted at ``from_number``. In synchronous mode the call has
        been played to its end when this returns, unless ``run=False`` (a caller who will wait
        in a queue: play it with :meth:`run_until`); in threaded mode use ``call.wait()``.
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
        if run and not self.threaded:
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
                call.control = CallEnds(
                    "completed" if call.status == "in-progress" else "canceled",
                    f"[carrier] call ended by REST update Status={status}",
                )
            elif call.status == "in-progress":
                target: Next = Fetch(url, method.upper()) if url else Inline(twiml or "")
                call.control = Redirected(target)
            else:
                call.url, call.method, call.twiml = url, method.upper(), twiml
            call.date_updated = self.now()
        self.nudge(call)

    def interrupt(self, call: SimCall, control: Exception) -> None:
        """Cut into a live call from another one (a bridge ending, a dequeue): ``control`` is
        raised at the call's next wait or verb, as a REST update is."""
        with self._lock:
            if call.is_over:
                return
            call.control = control
        self.nudge(call)

    def nudge(self, call: SimCall) -> None:
        """Wake a call waiting on others so it looks again at what changed: at once in threaded
        mode; in synchronous mode a parked call is scheduled to run next."""
        with self._lock:
            call.nudged = True
            call.wake.set()
            fiber = call.fiber
            if fiber is not None and fiber.parked and not self.threaded:
                self._queue.append(_Resume(fiber))
            self._changed.notify_all()

    def wait_until(self, call: SimCall, done: Callable[[], bool], seconds: float) -> bool:
        """Hold ``call`` (talking time passes) until ``done()`` holds or ``seconds`` have
        passed; True when done. Other calls play meanwhile; raises like :meth:`elapse`."""
        remaining = seconds
        while True:
            if done():
                return True
            if remaining <= 1e-9:
                return False
            before = call.elapsed
            self.elapse(call, remaining, interruptible=True)
            remaining -= call.elapsed - before

    # Queues, conferences, keys -----------------------------------------------------------------

    def dequeue_member(self, member: QueueMember, url: str, method: str = "POST") -> None:
        """The REST Queue Member update: take the member out of its queue at once (no one else
        can dequeue it), then redirect its call to ``url``; its Enqueue action reports
        ``redirected``."""
        with self._lock:
            connect.dequeue(self, member)
            self.transcribe(member.call, f"[carrier] dequeued by REST update to {method} {url}")
            self.update_call(member.call, url=url, method=method)

    def update_participant(self, participant: Participant, changes: Mapping[str, object]) -> None:
        """The REST Participant update: ``muted``, ``hold``, ``coaching``, ``call_sid_to_coach``,
        ``end_conference_on_exit``."""
        connect.update_participant(self, participant, changes)

    def kick_participant(self, participant: Participant) -> None:
        """The REST Participant delete: the call leaves the conference and goes on with the TwiML
        after its ``<Dial>``."""
        connect.kick(self, participant.conference, participant)

    def end_conference(self, conference: Conference) -> None:
        """The REST Conference update ``Status=completed``."""
        connect.end_conference(self, conference, "conference-ended-via-api", None)

    def send_keys(self, call: SimCall | str, keys: str) -> None:
        """Make the live caller press ``keys`` (a key script, see :mod:`simulator.personas`)
        at its next ``<Gather>``: how a test answers the wait music's "press 1" while queued."""
        target = self.calls[call] if isinstance(call, str) else call
        steps = parse_key_script(keys)
        with self._lock:
            target.keypad.extend(steps)
            self.transcribe(target, f"[carrier] keys scripted for the caller: {keys}")

    def queue_named(self, name: str) -> SimQueue | None:
        """The queue with this friendly name (for tests: ``run_until(lambda: ...size == 1)``)."""
        with self._lock:
            return self.switchboard.queue_named(name)

    def conference_named(self, name: str) -> Conference | None:
        """The live conference with this friendly name, if any."""
        with self._lock:
            return self.switchboard.conference_named(name)

    # Messages ----------------------------------------------------------------------------------

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
        """Send an outbound SMS (see :meth:`simulator.messaging.Messaging.send_message`)."""
        return self._messaging.send_message(
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            messaging_service_sid=messaging_service_sid,
            num_media=num_media,
        )

    def send_inbound_sms(
        self,
        from_number: str,
        to_number: str,
        body: str,
        *,
        url: str | None = None,
        method: str = "POST",
    ) -> SimMessage:
        """Text the app (see :meth:`simulator.messaging.Messaging.send_inbound_sms`)."""
        return self._messaging.send_inbound_sms(
            from_number, to_number, body, url=url, method=method
        )

    # Scheduling --------------------------------------------------------------------------------

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (a call or a delivery): queued for :meth:`run_until_idle` in synchronous
        mode, at once in its own thread when threaded."""
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

    def webhook(
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
        """Send a status callback (``event`` of call or message ``sid`` to ``to``) the way the
        fault knobs decide: at once, never, twice, or late."""
        decision = self.faults.decide_callback(event, sid=sid, to=to)
        if decision is None:
            self.webhook(call, method, url, params, purpose)
            return
        if decision.lost:
            if call is not None:
                self.transcribe(call, f"[fault] {purpose} callback lost")
            return
        copies, delay = decision.copies, decision.delay

        def send() -> None:
            for copy in range(copies):
                suffix = f" (copy {copy + 1})" if copies > 1 else ""
                self.webhook(call, method, url, params, purpose + suffix)

        if delay <= 0:
            send()
            return
        if call is not None:
            self.transcribe(call, f"[fault] {purpose} callback delayed {delay:g}s")
        self.defer(delay, send)

    def defer(self, seconds: float, job: Callable[[], None]) -> None:
        """Run ``job`` ``seconds`` of call time from now, without holding up the caller: in a
        thread after ``seconds * time_scale`` (threaded), else once the queue is empty, in due
        order, the virtual clock moved to its due time."""
        if self.threaded:

            def later() -> None:
                time.sleep(seconds * self.time_scale)
                job()

            self.submit(later)
            return
        due = self.now() + timedelta(seconds=seconds)
        with self._lock:
            heapq.heappush(self._deferred, (due, next(self._order), job))

    def _status_event(self, call: SimCall, event: str) -> None:
        """Post a call progress event if the call subscribed to it (Twilio sends only subscribed
        events; ``completed`` alone when none was given)."""
        if not call.status_callback or event not in call.status_callback_events:
            return
        params = call.webhook_params()
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
        self.transcribe(
            call, f"[carrier] status callback {event} (CallStatus={params['CallStatus']})"
        )
        self.callback(
            call,
            call.status_callback_method,
            call.status_callback,
            params,
            f"status {event}",
            event=event,
            sid=call.sid,
            to=call.to,
        )

    # Playing a call ----------------------------------------------------------------------------

    def transcribe(self, call: SimCall, line: str) -> None:
        """Append ``line`` to the call's transcript (and log it)."""
        call.transcript.append(line)
        log.info("%s %s", call.sid, line)
        if self.threaded:
            with self._changed:
                self._changed.notify_all()

    def _set_status(self, call: SimCall, status: str) -> None:
        with self._lock:
            call.status = status
            call.date_updated = self.now()

    def _play(self, call: SimCall) -> None:
        """Run one call from dialling to its final status. Never raises."""
        final = "completed"
        try:
            self.transcribe(call, f"[carrier] {call.direction} call {call.from_} -> {call.to}")
            self.check_control(call)
            self._dial(call)
            self._converse(call)
        except CallEnds as end:
            final = end.status
            self.transcribe(call, end.line)
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
            self.check_control(call)
        if persona.outcome in ("busy", "failed"):
            raise CallEnds(persona.outcome, f"[callee] {persona.outcome}")
        self._set_status(call, "ringing")
        self._status_event(call, "ringing")
        ring = persona.ring_seconds if persona.outcome == "answer" else math.inf
        if ring >= call.ring_timeout:
            self.elapse(call, call.ring_timeout, talking=False)
            raise CallEnds("no-answer", f"[callee] no answer after {call.ring_timeout:g}s")
        self.elapse(call, ring, talking=False)

    def _converse(self, call: SimCall) -> None:
        now = self.now()
        with self._lock:
            call.status = "in-progress"
            call.start_time = call.start_time or now
            call.date_updated = now
        self.transcribe(
            call, "[callee] answers" if call.direction != "inbound" else "[app] answers"
        )
        self._status_event(call, "answered")
        if call.machine_detection:
            verdict_at = call.persona.amd_seconds
            if call.async_amd:
                call.amd_due = verdict_at
            else:  # synchronous AMD holds the call until the verdict, then fetches the Url
                self.elapse(call, verdict_at)
                self._amd_verdict(call)
        if call.leg is not None:
            self._player.play_leg(call)
        else:
            self._player.play(call)

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
        self.transcribe(call, f"[carrier] call {status}, {call.duration}s")
        call.held = False
        try:
            connect.on_call_finished(self, call, status)
        finally:
            self._status_event(call, "completed")
            call.finished.set()
        if self.threaded:
            with self._changed:
                self._changed.notify_all()

    # Time, interruptions, AMD -------------------------------------------------------------------

    def check_control(self, call: SimCall) -> None:
        """Raise the REST update (redirect or end) waiting for the call, if any."""
        with self._lock:
            control, call.control = call.control, None
            call.wake.clear()
        if control is not None:
            raise control

    def elapse(
        self,
        call: SimCall,
        seconds: float,
        *,
        talking: bool = True,
        interruptible: bool = False,
    ) -> None:
        """Let ``seconds`` of call time pass: virtual in synchronous mode, ``seconds *
        time_scale`` of real time when threaded. Fires the async AMD verdict when it falls due;
        raises when a REST update arrives or the callee's or Twilio's time limit is reached.

        A held call (``call.held``) in synchronous mode parks instead of moving the clock, so
        the calls it waits on play meanwhile. ``interruptible``: return early when nudged.
        """
        remaining = seconds
        if interruptible:
            with self._lock:
                call.nudged = False
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
                    raise CallEnds("completed", f"{who} hangs up after {call.elapsed:g}s")
                step = min(step, limit - call.elapsed)
            if self._clock is not None and call.held and call.fiber is not None:
                passed = self._park(call, step, interruptible)
            elif self._clock is not None:
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
            self.check_control(call)
            if interruptible and call.nudged:
                return

    def _park(self, call: SimCall, seconds: float, interruptible: bool) -> float:
        """Synchronous mode, held call: give way to the other calls until ``seconds`` from now
        (or a nudge); returns the simulated seconds that passed meanwhile."""
        assert self._clock is not None
        fiber = call.fiber
        began = self._clock.now()
        with self._lock:
            if call.control is not None or (interruptible and call.nudged):
                return 0.0
            if math.isfinite(seconds):
                due = began + timedelta(seconds=seconds)
                wake: Callable[[], None] = _Resume(fiber)
                heapq.heappush(self._deferred, (due, next(self._order), wake))
        fiber.park()
        passed = (self._clock.now() - began).total_seconds()
        # The clock keeps microseconds: a wake-up at its due time has waited ``seconds``.
        return seconds if abs(passed - seconds) < 1e-5 else passed

    def _amd_verdict(self, call: SimCall) -> None:
        call.amd_due = None
        verdict = call.persona.amd_verdict(call.machine_detection or "Enable")
        call.answered_by = verdict
        millis = int(call.persona.amd_seconds * 1000)
        self.transcribe(call, f"[carrier] AMD verdict {verdict} after {millis} ms")
        if call.async_amd and call.amd_callback:
            params = {
                "AccountSid": call.account_sid,
                "CallSid": call.sid,
                "AnsweredBy": verdict,
                "MachineDetectionDuration": str(millis),
            }
            self.callback(
                call,
                call.amd_callback_method,
                call.amd_callback,
                params,
                "AMD",
                event="amd",
                sid=call.sid,
                to=call.to,
            )
        self.check_control(call)
