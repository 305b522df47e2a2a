"""The agent's own call: the whisper, the key that takes the caller, the bridge and after.

The desk rings an agent (:mod:`desk.transfer`) with one queued caller claimed for them. When
they answer they hear who it is ("fraud, verified, Mandarin; press 1 to take the call"). On 1,
the bridge moment is recorded and the caller is moved out of their queue into a conference
named for the agent's leg (the web edge asks Twilio's Queue Members API once this transaction
committed); the agent's leg joins the same conference. Any other key, no key within
``desk.offer_timeout_seconds``, no answer, a failed call or an answering machine (Twilio's AMD
verdict) end the offer: the agent goes away and the caller waits on, in their old place. A
machine can never be bridged: only the key 1, on a leg AMD has not called a machine, bridges.

When the conference ends the agent hears "press 1 for the next caller, 2 to take a break"
(wrap-up, then available or away; with no key, available after ``desk.wrap_up_seconds``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desk import agents, callback_first, queueing
from desk.escalation import Desk
from store.models_desk import DeskAgent, QueueEntry
from telephony import desk_twiml, routes
from telephony.desk_twiml import LegAnswer, QueueMove, Spoken

#: Twilio's AnsweredBy for a person (or a verdict that is not a machine's).
PERSON = frozenset({"human", "unknown"})
#: Call statuses of an agent leg that never reached the agent.
UNREACHED = frozenset({"no-answer", "busy", "failed", "canceled"})


def room(agent_leg_sid: str) -> str:
    """The conference the caller and the agent meet in, named for the agent's leg."""
    return f"agent-{agent_leg_sid}"


def _pair(
    session: Session, entry_id: int | None, agent_id: int | None
) -> tuple[QueueEntry | None, DeskAgent | None]:
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    agent = session.get(DeskAgent, agent_id) if agent_id else None
    return entry, agent


def _offered(entry: QueueEntry | None, agent: DeskAgent | None) -> bool:
    """Whether ``agent`` is being offered ``entry`` right now."""
    return (
        entry is not None
        and agent is not None
        and agent.state == "offered"
        and agent.entry_id == entry.id
        and entry.status == "offered"
        and entry.agent_id == agent.id
    )


def _say(desk: Desk, agent: DeskAgent | None, entry: str, **values: object) -> Spoken:
    language = agent.languages.split(",")[0] if agent is not None else desk.words.fallback
    return desk.words.line(language, entry, **values)


def _url(desk: Desk, entry_id: int, agent_id: int, step: str) -> str:
    return desk.url(routes.DESK_AGENT, entry=entry_id, agent=agent_id, step=step)


def lapse(session: Session, entry: QueueEntry, agent: DeskAgent, *, now: datetime) -> bool:
    """The offer of ``entry`` to ``agent`` was not taken: the caller waits again, the agent
    is away. False when it was no longer open."""
    if not _offered(entry, agent):
        return False
    queueing.release(session, entry.id)
    agents.move(session, agent.id, "away", now=now, expect="offered")
    return True


def answer(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    agent_id: int | None,
    call_sid: str,
    now: datetime,
) -> str:
    """The agent picked up: the whisper and its one-key question."""
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is None or agent is None:
        return desk_twiml.say_then_hang_up(())
    if not _offered(entry, agent):
        if agent.state == "offered" and agent.entry_id == entry.id:
            # The caller hung up or left while the phone rang.
            agents.move(session, agent.id, "available", now=now, expect="offered")
            return desk_twiml.say_then_hang_up([_say(desk, agent, "desk_caller_gone")])
        return desk_twiml.say_then_hang_up(())
    if entry.agent_leg_sid is None:
        queueing.set_agent_leg(session, entry.id, call_sid)
    language = agent.languages.split(",")[0]
    words = desk.words
    whisper = words.line(
        language,
        "desk_callback_whisper" if entry.callback_id is not None else "desk_whisper",
        reason=words.word(language, f"desk_reason_{entry.reason}"),
        verified=words.word(language, "desk_verified" if entry.verified else "desk_unverified"),
        language=words.word(language, f"desk_language_{entry.language.replace('-', '_')}"),
    )
    return desk_twiml.whisper(
        [whisper],
        action_url=_url(desk, entry.id, agent.id, "key"),
        timeout=desk.settings.offer_timeout_seconds,
        miss_url=_url(desk, entry.id, agent.id, "miss"),
    )


def key(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    agent_id: int | None,
    call_sid: str,
    digits: str,
    now: datetime,
) -> LegAnswer:
    """The agent's key after the whisper (``digits`` empty: no key in time)."""
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is None or agent is None:
        return LegAnswer(desk_twiml.say_then_hang_up(()))
    if agent.state == "on_call" and agent.entry_id == entry.id and entry.status == "bridged":
        # A replayed 1: the same conference, nothing moved twice.
        leg = entry.agent_leg_sid or call_sid
        return LegAnswer(
            desk_twiml.conference(room(leg), action_url=_url(desk, entry.id, agent.id, "after"))
        )
    if not _offered(entry, agent):
        if agent.state == "offered" and agent.entry_id == entry.id:
            agents.move(session, agent.id, "available", now=now, expect="offered")
            return LegAnswer(desk_twiml.say_then_hang_up([_say(desk, agent, "desk_caller_gone")]))
        return LegAnswer(desk_twiml.say_then_hang_up(()))
    if digits == "1" and entry.callback_id is not None:
        return callback_first.dial(session, desk, entry, agent, now=now)
    if digits != "1" or entry.queue_sid is None or entry.call_sid is None:
        lapse(session, entry, agent, now=now)
        return LegAnswer(desk_twiml.say_then_hang_up([_say(desk, agent, "desk_declined")]))
    leg = entry.agent_leg_sid or call_sid
    if entry.agent_leg_sid is None:
        queueing.set_agent_leg(session, entry.id, leg)
    queueing.bridged(session, entry, now=now)
    agents.move(session, agent.id, "on_call", now=now, expect="offered", leg_sid=leg)
    return LegAnswer(
        desk_twiml.conference(room(leg), action_url=_url(desk, entry.id, agent.id, "after")),
        move_caller=QueueMove(
            queue_sid=entry.queue_sid,
            call_sid=entry.call_sid,
            url=desk.url(routes.DESK_JOIN, entry=entry.id),
        ),
    )


def bridge_failed(
    session: Session, desk: Desk, *, entry_id: int | None, agent_id: int | None, now: datetime
) -> str:
    """The caller could not be moved to the agent (they hung up a moment before): their
    record goes back to the queue, where their hang-up ends it; the agent wraps up."""
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is not None:
        queueing.unbridge(session, entry)
    if agent is not None:
        agents.move(session, agent.id, "wrap_up", now=now, expect="on_call")
    return desk_twiml.say_then_hang_up([_say(desk, agent, "desk_caller_gone")])


def join(session: Session, desk: Desk, *, entry_id: int | None, call_sid: str) -> str:
    """The caller, moved out of the queue: into the agent's conference."""
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    if entry is None or entry.call_sid != call_sid or entry.status != "bridged":
        return desk_twiml.say_then_hang_up(())
    return desk_twiml.conference(room(entry.agent_leg_sid or ""))


def after(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    agent_id: int | None,
    dial_status: str | None,
    now: datetime,
) -> str:
    """The conference (or, for a callback, the call to the cardholder) ended: the agent's
    ``<Dial>`` action. Talk time, the callback's outcome, wrap-up, the key."""
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is not None and agent is not None and entry.agent_id != agent.id:
        entry = None  # transferred away from this agent: no longer theirs to end
    if entry is not None and entry.callback_id is not None:
        callback_first.finish(session, desk, entry, dial_status=dial_status, now=now)
    elif entry is not None:
        queueing.ended(session, entry, now=now)
    if agent is None or agent.state != "on_call":
        # A supervisor who took a call over (warm) has no wrap-up of the desk's to choose.
        return desk_twiml.say_then_hang_up(())
    agents.move(session, agent.id, "wrap_up", now=now, expect="on_call")
    return desk_twiml.gather_key(
        [_say(desk, agent, "desk_wrap")],
        action_url=_url(desk, entry_id or 0, agent.id, "wrap"),
        timeout=10,
    )


def wrap(session: Session, desk: Desk, *, agent_id: int | None, digits: str, now: datetime) -> str:
    """1: available for the next caller; 2: a break (away); else wrap-up runs its course."""
    agent = session.get(DeskAgent, agent_id) if agent_id else None
    if agent is None:
        return desk_twiml.say_then_hang_up(())
    if digits == "1":
        agents.move(session, agent.id, "available", now=now, expect="wrap_up")
        return desk_twiml.say_then_hang_up([_say(desk, agent, "desk_wrap_next")])
    if digits == "2":
        agents.move(session, agent.id, "away", now=now, expect="wrap_up")
        return desk_twiml.say_then_hang_up([_say(desk, agent, "desk_wrap_break")])
    return desk_twiml.say_then_hang_up(())


def status(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    agent_id: int | None,
    call_status: str,
    now: datetime,
) -> None:
    """A status callback of the agent's leg."""
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is None or agent is None:
        return
    if call_status in UNREACHED or (call_status == "completed" and _offered(entry, agent)):
        lapse(session, entry, agent, now=now)
    elif call_status == "completed" and agent.state == "on_call" and agent.entry_id == entry.id:
        # The agent hung up: the conference (or the call to the cardholder) ended with them.
        if entry.callback_id is not None:
            callback_first.finish(session, desk, entry, dial_status=None, now=now)
        else:
            queueing.ended(session, entry, now=now)
        agents.move(session, agent.id, "wrap_up", now=now, expect="on_call")
    elif call_status == "completed" and entry.status == "bridged" and entry.agent_id == agent.id:
        # A supervisor who took the call over (warm) hung up: the conference ended with them.
        queueing.ended(session, entry, now=now)


def machine(
    session: Session,
    *,
    entry_id: int | None,
    agent_id: int | None,
    answered_by: str,
    now: datetime,
) -> bool:
    """The AMD verdict of the agent's leg; True when the leg must be hung up (a machine
    answered while the offer was open: it is never bridged)."""
    if answered_by in PERSON:
        return False
    entry, agent = _pair(session, entry_id, agent_id)
    if entry is None or agent is None:
        return False
    return lapse(session, entry, agent, now=now)
