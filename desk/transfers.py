"""Transfers: an agent hands the caller to another queue (cold) or to a supervisor (warm).

``duecall desk transfer AGENT --queue NAME`` (until the console exists) moves the agent's
caller back to waiting in that queue, ahead of everyone (rank -1), frees the agent (wrap-up)
and records the transfer in the audit trail; the caller is then redirected out of the
conference (REST) to ``/twilio/desk/requeue``, which enqueues them again with their own record,
so their wait, position and callback offer go on as before. The conference ends as the caller
leaves it, and the agent hears the key after the call.

``duecall desk transfer AGENT --supervisor NAME`` is warm: the supervisor's phone rings, they
hear who hands them the call and press 1 to join the conference; when they have joined (the
conference's join event), the call is theirs on the record and the agent leaves it -- first
told not to end it (Participants API), then redirected to the key after the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from desk import agents, queueing
from desk.agents import by_name
from desk.errors import AgentError
from desk.escalation import Desk
from store.audit import record_audit
from store.models_desk import DeskAgent, QueueEntry
from telephony import desk_twiml, routes
from telephony.desk_twiml import HandOver


@dataclass(frozen=True)
class ColdTransfer:
    """The caller to redirect, and where."""

    call_sid: str
    url: str


def cold(
    session: Session, desk: Desk, *, agent_name: str, queue: str, now: datetime, actor: str
) -> ColdTransfer:
    """Hand ``agent_name``'s caller to ``queue``; raises :class:`AgentError` saying why not."""
    target = desk.settings.queue(queue)
    if target is None:
        raise AgentError(f"no queue named {queue!r}")
    agent = by_name(session, agent_name)
    entry = session.get(QueueEntry, agent.entry_id) if agent.entry_id else None
    if (
        agent.state != "on_call"
        or entry is None
        or entry.status != "bridged"
        or entry.call_sid is None
    ):
        raise AgentError(f"{agent.name} is not on a call with a queued caller")
    if entry.language not in target.languages:
        raise AgentError(f"queue {queue} does not take callers in {entry.language}")
    source = entry.queue
    if not queueing.requeue(session, entry, target.name):
        raise AgentError(f"{agent.name}'s call has just ended")
    agents.move(session, agent.id, "wrap_up", now=now, expect="on_call")
    record_audit(
        session,
        at=now,
        actor=actor,
        action="desk_cold_transfer",
        entity_type="desk_queue_entry",
        entity_id=str(entry.id),
        detail={"agent": agent.name, "from": source, "to": target.name},
    )
    return ColdTransfer(entry.call_sid, desk.url(routes.DESK_REQUEUE, entry=entry.id))


def requeue_twiml(session: Session, desk: Desk, *, entry_id: int | None, call_sid: str) -> str:
    """The redirected caller: into their new queue, with their own record."""
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    if entry is None or entry.call_sid != call_sid or entry.status != "waiting":
        return desk_twiml.say_then_hang_up(())
    return desk_twiml.enqueue(
        entry.queue,
        wait_url=desk.url(routes.DESK_WAIT, entry=entry.id),
        action_url=desk.url(routes.DESK_DEQUEUED, entry=entry.id),
        before=[desk.words.line(entry.language, "desk_connecting")],
    )


@dataclass(frozen=True)
class WarmAsk:
    """Whom to ring (the supervisor) to take over which call (the agent's queue record)."""

    entry_id: int
    supervisor_id: int
    phone: str


def warm(
    session: Session, *, agent_name: str, supervisor_name: str, now: datetime, actor: str
) -> WarmAsk:
    """Ask ``supervisor_name`` to take ``agent_name``'s call over; raises :class:`AgentError`."""
    agent = by_name(session, agent_name)
    supervisor = by_name(session, supervisor_name)
    if supervisor.role != "supervisor":
        raise AgentError(f"{supervisor.name} is not a supervisor")
    if supervisor.state in ("offered", "on_call"):
        raise AgentError(f"{supervisor.name} is {supervisor.state.replace('_', ' ')}")
    entry = session.get(QueueEntry, agent.entry_id) if agent.entry_id else None
    if agent.state != "on_call" or entry is None or entry.status != "bridged":
        raise AgentError(f"{agent.name} is not on a call with a queued caller")
    record_audit(
        session,
        at=now,
        actor=actor,
        action="desk_warm_transfer_asked",
        entity_type="desk_queue_entry",
        entity_id=str(entry.id),
        detail={"agent": agent.name, "supervisor": supervisor.name},
    )
    return WarmAsk(entry.id, supervisor.id, supervisor.phone)


def warm_answer(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    supervisor_id: int | None,
    digits: str | None,
    now: datetime,
) -> str:
    """The supervisor's leg: who hands the call over (``digits`` None), then on 1 into the
    conference, which tells the desk when they joined (:func:`warm_joined`)."""
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    supervisor = session.get(DeskAgent, supervisor_id) if supervisor_id else None
    if supervisor is None or supervisor.role != "supervisor":
        return desk_twiml.say_then_hang_up(())
    language = supervisor.languages.split(",")[0]
    agent = session.get(DeskAgent, entry.agent_id) if entry and entry.agent_id else None
    if entry is None or entry.status != "bridged" or agent is None or not entry.agent_leg_sid:
        return desk_twiml.say_then_hang_up([desk.words.line(language, "desk_listen_over")])
    if digits is None:
        return desk_twiml.gather_key(
            [desk.words.line(language, "desk_warm_offer", agent=agent.name)],
            action_url=desk.url(
                routes.DESK_AGENT, entry=entry.id, agent=supervisor.id, step="warm_key"
            ),
            timeout=desk.settings.offer_timeout_seconds,
        )
    if digits != "1":
        return desk_twiml.say_then_hang_up(())
    return desk_twiml.conference(
        f"agent-{entry.agent_leg_sid}",
        action_url=desk.url(routes.DESK_AGENT, entry=entry.id, agent=supervisor.id, step="after"),
        joined_url=desk.url(routes.DESK_AGENT, entry=entry.id, agent=supervisor.id, step="joined"),
    )


def warm_joined(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    supervisor_id: int | None,
    call_sid: str,
    conference_sid: str | None,
    now: datetime,
) -> HandOver | None:
    """A participant joined: when it is the supervisor, the call is theirs now (recorded), and
    the agent leaves -- the conference kept -- for the key after the call."""
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    supervisor = session.get(DeskAgent, supervisor_id) if supervisor_id else None
    if entry is None or supervisor is None or conference_sid is None:
        return None
    if call_sid == entry.agent_leg_sid or entry.status != "bridged":
        return None  # the agent's own join (or a call already over)
    agent = session.get(DeskAgent, entry.agent_id) if entry.agent_id else None
    if agent is None or agent.id == supervisor.id or not agent.leg_sid:
        return None  # handed over already: a repeated event
    queueing.hand_to(session, entry, supervisor.id)
    record_audit(
        session,
        at=now,
        actor=supervisor.name,
        action="desk_warm_transfer",
        entity_type="desk_queue_entry",
        entity_id=str(entry.id),
        detail={"from": agent.name, "to": supervisor.name},
    )
    return HandOver(
        conference_sid=conference_sid,
        call_sid=agent.leg_sid,
        url=desk.url(routes.DESK_AGENT, entry=entry.id, agent=agent.id, step="after"),
    )
