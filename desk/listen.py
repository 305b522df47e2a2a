"""A supervisor listening in to an agent's call, for coaching: a muted leg in the conference
the agent and the caller talk in.

``duecall desk listen AGENT --supervisor NAME`` rings the supervisor's phone; they hear whose
call it is and join only by pressing 1 (an answering machine never does, so no recording of
a cardholder's call ends up in a voicemail box), muted, neither starting nor ending the
conference. Each listen-in is recorded in the audit trail, on the queue record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from desk.agent_leg import room
from desk.agents import by_name
from desk.errors import AgentError
from desk.escalation import Desk
from store.audit import record_audit
from store.models_desk import DeskAgent, QueueEntry
from telephony import desk_twiml, routes


@dataclass(frozen=True)
class ListenIn:
    """Whom to ring (the supervisor) for which call (the agent's queue record)."""

    entry_id: int
    supervisor_id: int
    phone: str


def ask(
    session: Session, *, agent_name: str, supervisor_name: str, now: datetime, actor: str
) -> ListenIn:
    """Check that ``supervisor_name`` may listen to ``agent_name``'s call now and record the
    request; raises :class:`AgentError` saying why not."""
    agent = by_name(session, agent_name)
    supervisor = by_name(session, supervisor_name)
    if supervisor.role != "supervisor":
        raise AgentError(f"{supervisor.name} is not a supervisor")
    entry = session.get(QueueEntry, agent.entry_id) if agent.entry_id else None
    if agent.state != "on_call" or entry is None or entry.status != "bridged":
        raise AgentError(f"{agent.name} is not on a call")
    record_audit(
        session,
        at=now,
        actor=actor,
        action="desk_listen_in",
        entity_type="desk_queue_entry",
        entity_id=str(entry.id),
        detail={"agent": agent.name, "supervisor": supervisor.name},
    )
    return ListenIn(entry.id, supervisor.id, supervisor.phone)


def answer(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    supervisor_id: int | None,
    digits: str | None,
) -> str:
    """The supervisor's leg: the offer to join (``digits`` None), then the muted join on 1."""
    entry = session.get(QueueEntry, entry_id) if entry_id else None
    supervisor = session.get(DeskAgent, supervisor_id) if supervisor_id else None
    if supervisor is None or supervisor.role != "supervisor":
        return desk_twiml.say_then_hang_up(())
    language = supervisor.languages.split(",")[0]
    if entry is None or entry.status != "bridged" or not entry.agent_leg_sid:
        return desk_twiml.say_then_hang_up([desk.words.line(language, "desk_listen_over")])
    if digits is None:
        agent = session.get(DeskAgent, entry.agent_id) if entry.agent_id else None
        return desk_twiml.gather_key(
            [
                desk.words.line(
                    language, "desk_listen_offer", agent=agent.name if agent else "the agent"
                )
            ],
            action_url=desk.url(
                routes.DESK_AGENT, entry=entry.id, agent=supervisor.id, step="listen_key"
            ),
            timeout=desk.settings.offer_timeout_seconds,
        )
    if digits != "1":
        return desk_twiml.say_then_hang_up(())
    return desk_twiml.listen(room(entry.agent_leg_sid))
