"""The verbs that join calls: ``<Enqueue>``, ``<Leave>`` and ``<Dial>`` with ``<Number>``,
``<Queue>`` and ``<Conference>``, played the way Twilio documents them (docs/simulator.md).

Every wait here is *held* (``call.held``): in synchronous mode the waiting call parks and the
calls it waits on play meanwhile; a change another call must act on reaches it through
``CallLine.interrupt`` (a :mod:`simulator.flow` exception raised at its next wait) or
``CallLine.nudge``. The shared state is the :class:`~simulator.switchboard.Switchboard`, changed
only under the simulator's lock.

* ``<Enqueue>``: the caller waits in the queue; its ``waitUrl`` is fetched (with QueuePosition,
  QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize, MaxQueueSize) and played, and fetched again
  each time its TwiML ends. Only Play, Say, Pause, Gather, Hangup, Redirect and Leave may appear
  there; anything else is recorded as a TwiML error and the caller leaves with
  ``QueueResult=error``. The ``action`` gets QueueResult, QueueSid and QueueTime: at once for
  ``leave``, ``queue-full``, ``error``, ``hangup`` and ``redirected`` (a REST redirect of the
  call or a Queue Member update, whose Url is then played), after the bridge ends for
  ``bridged``.
* ``<Dial><Number url>``: a child call (``outbound-dial``, ``parent_call_sid``) rings the number;
  once answered it plays the whisper ``url``, then the two legs are bridged. The Dial ``action``
  gets DialCallStatus, DialCallSid and DialCallDuration.
* ``<Dial><Queue url>``: dequeues the front caller, plays ``url`` on the *caller's* leg, bridges.
* ``<Dial><Conference>``: joins (or opens) a conference; participants can be muted, held,
  coached and kicked through the REST API.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from simulator.errors import PersonaError, TwimlError
from simulator.flow import (
    AppError,
    CallEnds,
    ConferenceStarted,
    Dequeued,
    Fetch,
    LeftQueue,
    LegEnded,
    Redirected,
)
from simulator.models import SimCall, rfc2822
from simulator.personas import HangUp, Keys, Wait, normalize_number
from simulator.switchboard import (
    Bridge,
    Conference,
    DialLeg,
    Participant,
    QueueMember,
    SimQueue,
)
from simulator.twiml import (
    CONFERENCE_WAIT_VERBS,
    QUEUE_URL_VERBS,
    WAIT_VERBS,
    WHISPER_VERBS,
    Verb,
    resolve_url,
)

if TYPE_CHECKING:
    from simulator.player import CallLine, TwimlPlayer

HOLD_MUSIC_SECONDS = 30.0  # one track of Twilio's default hold playlist (no waitUrl)
KEYPRESS_SECONDS = 0.3
MAX_TIMELESS_DOCUMENTS = 50  # Redirects in a row that play nothing: a loop

# A conference's statusCallbackEvent subscriptions and the events each one sends.
_CONFERENCE_SUBSCRIPTION = {
    "conference-start": "start",
    "conference-end": "end",
    "participant-join": "join",
    "participant-leave": "leave",
    "participant-mute": "mute",
    "participant-unmute": "mute",
    "participant-hold": "hold",
    "participant-unhold": "hold",
    "participant-modify": "modify",
}


def _who(call: SimCall) -> str:
    return "[caller]" if call.direction == "inbound" else "[callee]"


def _attr_url(verb: Verb, name: str, doc_url: str) -> str | None:
    raw = verb.attrs.get(name)
    return resolve_url(doc_url, raw, verb) if raw else None


def _method(verb: Verb, name: str) -> str:
    return verb.attrs.get(name, "POST").upper()


def _events(noun: Verb) -> frozenset[str]:
    """The noun's ``statusCallbackEvent`` list (checked when the TwiML was parsed)."""
    return frozenset(noun.attrs.get("statusCallbackEvent", "").replace(",", " ").split())


def _listen(player: TwimlPlayer, call: SimCall) -> None:
    """A leg talking in a bridge or conference until something ends it: its key script goes on
    (``wait`` passes time, ``hangup`` hangs up, keys are heard by the other side)."""
    line = player.line
    while True:
        step = call.keypad[0] if call.keypad else None
        if step is None:
            # ConferenceStarted: it started while this participant was still joining.
            with contextlib.suppress(ConferenceStarted):
                line.elapse(call, math.inf)
            continue
        call.keypad.popleft()
        if isinstance(step, HangUp):
            raise CallEnds("completed", f"{_who(call)} hangs up")
        if isinstance(step, Wait):
            line.transcribe(call, f"{_who(call)} talks for {step.seconds:g}s")
            line.elapse(call, step.seconds)
            continue
        assert isinstance(step, Keys)
        line.transcribe(call, f"{_who(call)} presses {step.digits}")
        line.elapse(call, KEYPRESS_SECONDS * len(step.digits))


def _play_documents(
    player: TwimlPlayer,
    call: SimCall,
    first: Fetch,
    allowed: frozenset[str],
    where: str,
    *,
    looped: bool = False,
) -> None:
    """Play ``first`` and every document it leads to (Gather actions, Redirects), restricted to
    ``allowed`` verbs, until the TwiML runs out.

    Raises :class:`~simulator.flow.AppError` (recorded) for Redirects in a loop that plays
    nothing, and, when ``looped`` (wait music), for documents that took no call time at all:
    Twilio would fetch the wait URL again at once, forever, and the simulator will not spin.
    """
    began = call.elapsed
    target: Fetch | None = first
    documents = 0
    while target is not None:
        following = player.document(call, target, allowed=allowed, where=where)
        documents += 1
        if following is not None and not isinstance(following, Fetch):
            _fail(player, call, f"{where}: inline TwiML cannot follow")
        target = following
        if target is not None and documents >= MAX_TIMELESS_DOCUMENTS and call.elapsed == began:
            _fail(player, call, f"{where}: {documents} documents redirect without any time passing")
    if looped and call.elapsed == began:
        _fail(
            player,
            call,
            f"{where} TwiML from {first.url} took no time: it would be fetched again at once,"
            " forever (answer with something that plays, e.g. a Pause)",
        )


def _fail(player: TwimlPlayer, call: SimCall, message: str) -> NoReturn:
    player.line.record_error("twiml", message, call)
    raise AppError(f"[carrier] invalid TwiML ({message})")


# <Enqueue> and <Leave> --------------------------------------------------------------------------


def verb_enqueue(player: TwimlPlayer, call: SimCall, verb: Verb, doc_url: str) -> object:
    """Put the call in the named queue and play its wait music until it leaves (see module)."""
    line = player.line
    name = verb.text
    action = _attr_url(verb, "action", doc_url)
    method = verb.method_attr()
    wait_url = _attr_url(verb, "waitUrl", doc_url)
    wait_method = _method(verb, "waitUrlMethod")
    with line.lock:
        now = line.now()
        queue = line.switchboard.queue_named(name) or line.switchboard.create_queue(name, now)
        member: QueueMember | None = None
        if queue.size < queue.max_size:
            member = QueueMember(call, queue, now)
            queue.members.append(member)
            queue.date_updated = now
    if member is None:
        line.transcribe(call, f"[carrier] queue {name} is full ({queue.max_size})")
        return _queue_action(line, call, action, method, "queue-full", queue, 0)
    line.transcribe(
        call, f"[carrier] Enqueue {name}: position {queue.position(member)} of {queue.size}"
    )
    call.held = True
    try:
        result = _wait_in_queue(player, call, member, wait_url, wait_method)
    except Dequeued as dequeued:
        return _bridged_from_queue(player, call, member, dequeued, action, method)
    except Redirected:
        waited = _leave_queue(line, member)
        line.transcribe(call, f"[carrier] leaves queue {name} after {waited}s: redirected")
        _notify_action(line, call, action, method, "redirected", queue, waited)
        raise
    except AppError:
        waited = _leave_queue(line, member)
        line.transcribe(call, f"[carrier] leaves queue {name} after {waited}s: error")
        return _queue_action(line, call, action, method, "error", queue, waited)
    except CallEnds:
        waited = _leave_queue(line, member)
        line.transcribe(call, f"[carrier] leaves queue {name} after {waited}s: hangup")
        _notify_action(line, call, action, method, "hangup", queue, waited, over=True)
        raise
    finally:
        call.held = False
    waited = _leave_queue(line, member)
    line.transcribe(call, f"[carrier] leaves queue {name} after {waited}s: {result}")
    return _queue_action(line, call, action, method, result, queue, waited)


def verb_leave(player: TwimlPlayer, call: SimCall, verb: Verb, doc_url: str) -> object:
    """``<Leave>``: only meaningful in a queue's wait TwiML."""
    if player.line.switchboard.member_of(call) is None:
        raise TwimlError("<Leave> outside a queue's wait TwiML")
    player.line.transcribe(call, "[app] Leave")
    raise LeftQueue()


def _wait_params(line: CallLine, member: QueueMember) -> tuple[tuple[str, str], ...]:
    with line.lock:
        queue = member.queue
        return (
            ("QueuePosition", str(queue.position(member))),
            ("QueueSid", queue.sid),
            ("QueueTime", str(member.wait_time(line.now()))),
            ("AvgQueueTime", str(queue.average_wait())),
            ("CurrentQueueSize", str(queue.size)),
            ("MaxQueueSize", str(queue.max_size)),
        )


def _wait_in_queue(
    player: TwimlPlayer,
    call: SimCall,
    member: QueueMember,
    wait_url: str | None,
    wait_method: str,
) -> str:
    """Loop the wait music until ``<Leave>`` (returns ``leave``); everything else raises."""
    line = player.line
    if wait_url is None:
        line.transcribe(call, "[carrier] plays Twilio's default hold music")
        while True:
            line.elapse(call, HOLD_MUSIC_SECONDS)
    try:
        while True:
            first = Fetch(wait_url, wait_method, _wait_params(line, member))
            _play_documents(player, call, first, WAIT_VERBS, "wait", looped=True)
    except LeftQueue:
        return "leave"


def _leave_queue(line: CallLine, member: QueueMember) -> int:
    """Take the member out of its queue (once); returns the seconds it waited."""
    with line.lock:
        now = line.now()
        waited = member.wait_time(now)
        queue = member.queue
        if member in queue.members:
            queue.members.remove(member)
            queue.waits.append(waited)
            queue.date_updated = now
        return waited


def dequeue(line: CallLine, member: QueueMember) -> int:
    """Take ``member`` out of its queue for a REST Member update or a ``<Dial><Queue>``."""
    return _leave_queue(line, member)


def _queue_action_params(result: str, queue: SimQueue, waited: int) -> tuple[tuple[str, str], ...]:
    return (("QueueResult", result), ("QueueSid", queue.sid), ("QueueTime", str(waited)))


def _queue_action(
    line: CallLine,
    call: SimCall,
    action: str | None,
    method: str,
    result: str,
    queue: SimQueue,
    waited: int,
) -> Fetch | None:
    """Where the caller goes on: the action with the queue result, else the next verb."""
    if action is None:
        return None
    line.transcribe(call, f"[carrier] Enqueue action QueueResult={result} -> {method} {action}")
    return Fetch(action, method, _queue_action_params(result, queue, waited))


def _notify_action(
    line: CallLine,
    call: SimCall,
    action: str | None,
    method: str,
    result: str,
    queue: SimQueue,
    waited: int,
    *,
    over: bool = False,
) -> None:
    """Request the action for a caller who does not go on with its TwiML (hung up, redirected):
    Twilio still tells the app why the caller left; the answer is ignored."""
    if action is None:
        return
    params = call.webhook_params()
    if over:
        params["CallStatus"] = "completed"
    params.update(_queue_action_params(result, queue, waited))
    line.transcribe(call, f"[carrier] Enqueue action QueueResult={result} -> {method} {action}")
    line.webhook(call, method, action, params, "Enqueue action")


def _bridged_from_queue(
    player: TwimlPlayer,
    call: SimCall,
    member: QueueMember,
    dequeued: Dequeued,
    action: str | None,
    method: str,
) -> Fetch | None:
    """A queued caller dequeued by ``<Dial><Queue>``: the Queue's url plays on this leg, the
    legs talk, and the Enqueue action reports ``bridged`` once the bridge ends."""
    line = player.line
    bridge = dequeued.bridge
    assert isinstance(bridge, Bridge)
    queue = member.queue
    waited = _leave_queue(line, member)
    line.transcribe(call, f"[carrier] dequeued by {bridge.caller.sid} after {waited}s")
    call.held = True
    try:
        if dequeued.url:
            first = Fetch(dequeued.url, dequeued.method, tuple(dequeued.params.items()))
            _play_documents(player, call, first, QUEUE_URL_VERBS, "Queue url")
        _connect(line, bridge)
        line.transcribe(call, f"[carrier] bridged with {bridge.caller.sid}")
        _listen(player, call)
    except LegEnded as ended:
        line.transcribe(call, f"[carrier] bridge ended: {ended.reason}")
    except Redirected:
        on_call_finished(line, call, "completed")
        _notify_action(line, call, action, method, "redirected", queue, waited)
        raise
    except CallEnds:
        _notify_action(line, call, action, method, "bridged", queue, waited, over=True)
        raise
    finally:
        call.held = False
    return _queue_action(line, call, action, method, "bridged", queue, waited)


# Bridges ----------------------------------------------------------------------------------------


def _connect(line: CallLine, bridge: Bridge) -> None:
    """Both legs are ready: they now hear each other. Raises LegEnded if the other leg left."""
    with line.lock:
        if bridge.state == "over":
            raise LegEnded("the other party hung up before the bridge")
        bridge.state = "bridged"
        bridge.started = line.now()
    line.nudge(bridge.caller)


def _end_bridge(line: CallLine, bridge: Bridge, gone: SimCall, status: str) -> None:
    """``gone`` left the bridge (it ended with ``status``): the other leg learns of it."""
    with line.lock:
        if bridge.state == "over":
            return
        talked = bridge.state == "bridged"
        bridge.state = "over"
        bridge.ended = line.now()
        if bridge.dial_status is None:
            bridge.dial_status = "completed" if talked or status == "completed" else status
        for sid in (bridge.caller.sid, bridge.callee.sid if bridge.callee else None):
            if sid is not None:
                line.switchboard.bridges.pop(sid, None)
    other = bridge.other(gone)
    if other is None or other.is_over:
        return
    if other.leg is not None:  # a <Number> leg never outlives the call that dialled it
        status = "completed" if other.status == "in-progress" else "canceled"
        line.interrupt(other, CallEnds(status, "[carrier] the caller left the Dial: the leg ends"))
    elif talked:
        line.interrupt(other, LegEnded(f"{gone.sid} hung up"))
    else:
        line.nudge(other)


def on_call_finished(line: CallLine, call: SimCall, status: str) -> None:
    """The call has ended (the engine's hook) or was redirected out of its Dial: its bridge,
    conference and queue let go of it."""
    bridge = line.switchboard.bridges.get(call.sid)
    if bridge is not None:
        _end_bridge(line, bridge, call, status)
    conference = line.switchboard.conference_of(call)
    if conference is not None:
        leave_conference(line, conference, call, kicked=False)
    member = line.switchboard.member_of(call)
    if member is not None:
        _leave_queue(line, member)


# <Dial> -----------------------------------------------------------------------------------------


def verb_dial(player: TwimlPlayer, call: SimCall, verb: Verb, doc_url: str) -> object:
    """Dial one number, queue or conference; then the action (or the next verb)."""
    line = player.line
    action = _attr_url(verb, "action", doc_url)
    method = verb.method_attr()
    noun = verb.children[0] if verb.children else Verb("Number", {}, verb.text)
    outcome: dict[str, str] = {}
    call.held = True
    try:
        if noun.name == "Number":
            outcome = _dial_number(player, call, verb, noun, doc_url)
        elif noun.name == "Queue":
            outcome = _dial_queue(player, call, verb, noun, doc_url)
        else:
            outcome = _dial_conference(player, call, noun, doc_url)
    except Redirected:
        # A REST redirect takes the call out of its Dial: the bridge or conference lets it go
        # (a <Number> leg hangs up, a dequeued caller goes on at its Enqueue action).
        on_call_finished(line, call, "completed")
        raise
    except CallEnds as end:
        if action is not None and end.dial_outcome is not None:
            params = call.webhook_params()
            params["CallStatus"] = "completed"
            params.update(end.dial_outcome)
            line.transcribe(call, f"[carrier] Dial action (caller gone) -> {method} {action}")
            line.webhook(call, method, action, params, "Dial action")
        raise
    finally:
        call.held = False
    line.transcribe(
        call, "[carrier] Dial ends: " + ", ".join(f"{k}={v}" for k, v in outcome.items())
    )
    if action is None:
        return None
    return Fetch(action, method, tuple(outcome.items()))


def _dial_outcome(bridge: Bridge) -> dict[str, str]:
    """The Dial action's parameters. DialCallDuration is the dialled leg's duration (a
    ``<Number>`` leg from its answer, whisper included), or the bridge's for a dequeued caller."""
    outcome = {"DialCallStatus": bridge.dial_status or "completed"}
    callee = bridge.callee
    if callee is not None:
        outcome["DialCallSid"] = callee.sid
    if callee is not None and callee.leg is not None:
        outcome["DialCallDuration"] = str(math.ceil(callee.elapsed))
    else:
        outcome["DialCallDuration"] = str(bridge.talk_seconds())
    return outcome


def _talk_then_outcome(player: TwimlPlayer, call: SimCall, bridge: Bridge) -> dict[str, str]:
    """The dialling leg once its Dial connected: talk until either side hangs up."""
    line = player.line
    line.transcribe(call, f"[carrier] bridged with {bridge.callee.sid if bridge.callee else '?'}")
    try:
        _listen(player, call)
    except LegEnded as ended:
        line.transcribe(call, f"[carrier] bridge ended: {ended.reason}")
    except CallEnds as end:
        _end_bridge(line, bridge, call, "completed")
        end.dial_outcome = _dial_outcome(bridge)
        raise
    return _dial_outcome(bridge)


def _wait_for_bridge(player: TwimlPlayer, call: SimCall, bridge: Bridge) -> None:
    line = player.line
    try:
        line.wait_until(call, lambda: bridge.state in ("bridged", "over"), math.inf)
    except CallEnds as end:
        _end_bridge(line, bridge, call, "canceled")
        end.dial_outcome = _dial_outcome(bridge)
        raise


def _dial_number(
    player: TwimlPlayer, call: SimCall, dial: Verb, noun: Verb, doc_url: str
) -> dict[str, str]:
    line = player.line
    try:
        number = normalize_number(noun.text)
    except PersonaError as exc:
        raise TwimlError(f"<Number>{noun.text}</Number>: not a phone number ({exc})") from exc
    bridge = Bridge(caller=call)
    leg = DialLeg(bridge, _attr_url(noun, "url", doc_url), noun.method_attr())
    callback = _attr_url(noun, "statusCallback", doc_url)
    events = _events(noun)
    timeout = dial.int_attr("timeout", 30)
    child = line.place_call(
        to=number,
        from_=dial.attrs.get("callerId") or call.from_,
        twiml="<Response/>",
        direction="outbound-dial",
        status_callback=callback,
        status_callback_method=_method(noun, "statusCallbackMethod"),
        status_callback_events=events,
        machine_detection=noun.attrs.get("machineDetection"),
        ring_timeout=float(timeout),
        parent_call_sid=call.sid,
        leg=leg,
    )
    with line.lock:
        bridge.callee = child
        line.switchboard.bridges[call.sid] = bridge
        line.switchboard.bridges[child.sid] = bridge
    line.transcribe(call, f"[app] Dial {number} (timeout={timeout}s): leg {child.sid}")
    _wait_for_bridge(player, call, bridge)
    if bridge.state == "over":
        return _dial_outcome(bridge)
    return _talk_then_outcome(player, call, bridge)


def play_leg(player: TwimlPlayer, call: SimCall) -> None:
    """The ``<Number>`` leg once answered: the whisper, then the bridge (see module)."""
    line = player.line
    leg = call.leg
    assert isinstance(leg, DialLeg)
    bridge = leg.bridge
    with line.lock:
        if bridge.state == "over":
            raise CallEnds("completed", "[carrier] the caller has gone: hangs up")
        bridge.state = "whisper"
    if leg.whisper:
        line.transcribe(call, f"[carrier] whisper {leg.whisper_method} {leg.whisper}")
        whisper = Fetch(leg.whisper, leg.whisper_method)
        _play_documents(player, call, whisper, WHISPER_VERBS, "whisper")
    try:
        _connect(line, bridge)
    except LegEnded as ended:
        raise CallEnds("completed", f"[carrier] {ended.reason}: hangs up") from ended
    line.transcribe(call, f"[carrier] bridged with {bridge.caller.sid}")
    try:
        _listen(player, call)
    except LegEnded as ended:
        raise CallEnds("completed", f"[carrier] bridge ended ({ended.reason}): hangs up") from ended


def _dial_queue(
    player: TwimlPlayer, call: SimCall, dial: Verb, noun: Verb, doc_url: str
) -> dict[str, str]:
    line = player.line
    name = noun.text
    timeout = dial.int_attr("timeout", 30)
    board = line.switchboard
    line.transcribe(call, f"[app] Dial queue {name}")
    if board.queue_named(name) is None:
        # "If the queue does not exist, Dial will post an error status to its action URL."
        return {"DialCallStatus": "failed"}
    found = line.wait_until(
        call, lambda: bool((q := board.queue_named(name)) and q.members), float(timeout)
    )
    with line.lock:
        queue = board.queue_named(name)
        if not found or queue is None or not queue.members:
            return {"DialCallStatus": "no-answer"}
        member = queue.members[0]
        waited = _leave_queue(line, member)
        caller = member.call
        bridge = Bridge(caller=call, callee=caller, state="whisper")
        board.bridges[call.sid] = bridge
        board.bridges[caller.sid] = bridge
    params = {
        "QueueSid": queue.sid,
        "CallSid": caller.sid,
        "QueueTime": str(waited),
        "DequeingCallSid": call.sid,
    }
    line.interrupt(
        caller, Dequeued(bridge, _attr_url(noun, "url", doc_url), noun.method_attr(), params)
    )
    _wait_for_bridge(player, call, bridge)
    if bridge.state == "over":
        outcome = _dial_outcome(bridge)
    else:
        outcome = _talk_then_outcome(player, call, bridge)
    outcome["QueueSid"] = queue.sid
    return outcome


# Conferences ------------------------------------------------------------------------------------


def conference_event(
    line: CallLine, conference: Conference, event: str, participant: Participant | None = None
) -> None:
    """Send a conference status callback if the conference subscribed to ``event``'s kind."""
    if conference.status_callback is None:
        return
    if _CONFERENCE_SUBSCRIPTION[event] not in conference.status_callback_events:
        return
    with line.lock:
        conference.sequence += 1
        params = {
            "AccountSid": conference.account_sid,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.friendly_name,
            "StatusCallbackEvent": event,
            "SequenceNumber": str(conference.sequence),
            "Timestamp": rfc2822(line.now()) or "",
        }
        if participant is not None:
            params.update(
                {
                    "CallSid": participant.call.sid,
                    "Muted": str(participant.muted).lower(),
                    "Hold": str(participant.hold).lower(),
                    "Coaching": str(participant.coaching).lower(),
                    "EndConferenceOnExit": str(participant.end_conference_on_exit).lower(),
                    "StartConferenceOnEnter": str(participant.start_conference_on_enter).lower(),
                }
            )
        if event == "conference-end":
            params["ReasonConferenceEnded"] = conference.reason_conference_ended or ""
            params["CallSidEndingConference"] = conference.call_sid_ending_conference or ""
    line.callback(
        participant.call if participant else None,
        conference.status_callback_method,
        conference.status_callback,
        params,
        f"conference {event}",
        event=event,
        sid=conference.sid,
        to=conference.friendly_name,
    )


def _dial_conference(
    player: TwimlPlayer, call: SimCall, noun: Verb, doc_url: str
) -> dict[str, str]:
    line = player.line
    name = noun.text
    coach = noun.attrs.get("coach") or None
    callback = _attr_url(noun, "statusCallback", doc_url)
    with line.lock:
        now = line.now()
        conference = line.switchboard.open_conference(name, now)
        if conference.status_callback is None and callback is not None:
            conference.status_callback = callback
            conference.status_callback_method = _method(noun, "statusCallbackMethod")
            conference.status_callback_events = _events(noun)
        participant = Participant(
            call=call,
            conference=conference,
            start_conference_on_enter=noun.bool_attr("startConferenceOnEnter", True),
            end_conference_on_exit=noun.bool_attr("endConferenceOnExit", False),
            muted=noun.bool_attr("muted", False),
            coaching=coach is not None,
            call_sid_to_coach=coach,
            date_created=now,
            date_updated=now,
        )
        conference.participants[call.sid] = participant
        conference.history[call.sid] = participant
        starts = participant.start_conference_on_enter and conference.status == "init"
        if starts:
            conference.status = "in-progress"
            conference.date_updated = now
        waiting = [p.call for p in conference.participants.values() if p.call is not call]
        joined_at = call.elapsed
    flags = [
        flag
        for flag, on in (
            ("muted", participant.muted),
            (f"coaching {coach}", participant.coaching),
            ("endConferenceOnExit", participant.end_conference_on_exit),
        )
        if on
    ]
    shown = f" ({', '.join(flags)})" if flags else ""
    others = len(conference.participants) - 1
    line.transcribe(
        call, f"[app] Dial conference {name}: joins {conference.sid} with {others} other(s){shown}"
    )
    conference_event(line, conference, "participant-join", participant)
    if starts:
        conference_event(line, conference, "conference-start")
        for other in waiting:
            line.interrupt(other, ConferenceStarted())
    try:
        _wait_for_start(player, call, conference, noun, doc_url)
        line.transcribe(call, f"[carrier] conference {name} in progress")
        _listen(player, call)
    except LegEnded as ended:
        line.transcribe(call, f"[carrier] leaves conference {name}: {ended.reason}")
    except CallEnds as end:
        end.dial_outcome = _conference_outcome(call, conference, joined_at)
        raise
    return _conference_outcome(call, conference, joined_at)


def _conference_outcome(call: SimCall, conference: Conference, joined_at: float) -> dict[str, str]:
    return {
        "DialCallStatus": "completed",
        "ConferenceSid": conference.sid,
        "DialCallDuration": str(math.ceil(call.elapsed - joined_at)),
    }


def _wait_for_start(
    player: TwimlPlayer, call: SimCall, conference: Conference, noun: Verb, doc_url: str
) -> None:
    line = player.line
    wait_url = _attr_url(noun, "waitUrl", doc_url)
    if "waitUrl" not in noun.attrs:
        wait_url = None
    while conference.status == "init":
        try:
            if wait_url:
                _play_documents(
                    player,
                    call,
                    Fetch(wait_url, _method(noun, "waitMethod")),
                    CONFERENCE_WAIT_VERBS,
                    "conference wait",
                    looped=True,
                )
            else:
                line.wait_until(call, lambda: conference.status != "init", math.inf)
        except ConferenceStarted:
            return


def leave_conference(
    line: CallLine, conference: Conference, call: SimCall, *, kicked: bool
) -> None:
    """``call`` leaves (hung up, kicked, or the conference ended); ends the conference when it
    was the last participant or had ``endConferenceOnExit``."""
    with line.lock:
        participant = conference.participants.pop(call.sid, None)
        if participant is None:
            return
        participant.status = "complete"
        participant.date_updated = line.now()
        ends = not conference.is_over and (
            participant.end_conference_on_exit or not conference.participants
        )
    conference_event(line, conference, "participant-leave", participant)
    if ends:
        how = "kicked" if kicked else "left"
        if participant.end_conference_on_exit:
            reason = f"participant-with-end-conference-on-exit-{how}"
        else:
            reason = f"last-participant-{how}"
        end_conference(line, conference, reason, call.sid)


def end_conference(
    line: CallLine, conference: Conference, reason: str, ending_sid: str | None
) -> None:
    """Complete the conference: every participant still in it leaves and goes on with its
    TwiML after the Dial."""
    with line.lock:
        if conference.is_over:
            return
        conference.status = "completed"
        conference.reason_conference_ended = reason
        conference.call_sid_ending_conference = ending_sid
        conference.date_updated = line.now()
        remaining = list(conference.participants.values())
    conference_event(line, conference, "conference-end")
    for participant in remaining:
        leave_conference_quietly(line, conference, participant)
        line.interrupt(participant.call, LegEnded(f"conference ended ({reason})"))


def leave_conference_quietly(
    line: CallLine, conference: Conference, participant: Participant
) -> None:
    """Take a participant out of an ended conference (its leave event is still sent)."""
    with line.lock:
        if conference.participants.pop(participant.call.sid, None) is None:
            return
        participant.status = "complete"
        participant.date_updated = line.now()
    conference_event(line, conference, "participant-leave", participant)


def kick(line: CallLine, conference: Conference, participant: Participant) -> None:
    """REST delete of a participant: it leaves and goes on with its TwiML after the Dial."""
    call = participant.call
    leave_conference(line, conference, call, kicked=True)
    line.interrupt(call, LegEnded("removed from the conference"))


def update_participant(
    line: CallLine, participant: Participant, changes: Mapping[str, object]
) -> None:
    """REST update of a participant: mute, hold, coaching; each change is heard on its call
    and sent as a conference event."""
    conference = participant.conference
    events: list[str] = []
    with line.lock:
        for name, value in changes.items():
            if getattr(participant, name) == value:
                continue
            setattr(participant, name, value)
            if name == "muted":
                events.append("participant-mute" if value else "participant-unmute")
            elif name == "hold":
                events.append("participant-hold" if value else "participant-unhold")
            else:
                events.append("participant-modify")
        participant.date_updated = line.now()
    for name, value in changes.items():
        line.transcribe(participant.call, f"[carrier] participant update: {name}={value}")
    for event in dict.fromkeys(events):
        conference_event(line, conference, event, participant)
