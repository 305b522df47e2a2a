"""A cold transfer: an agent hands the caller to another queue (fraud, say), at its front.

``duecall desk transfer AGENT --queue NAME`` (until the console exists) moves the agent's
caller back to waiting in that queue, ahead of everyone (rank -1), frees the agent (wrap-up)
and records the transfer in the audit trail; the caller is then redirected out of the
conference (REST) to ``/twilio/desk/requeue``, which enqueues them again with their own record,
so their wait, position and callback offer go on as before. The conference ends as the caller
leaves it, and the agent hears the key after the call.
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
from store.models_desk import QueueEntry
from telephony import desk_twiml, routes


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
