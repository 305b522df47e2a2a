"""The desk's rules as one object, for the composition root to hand to the web edge.

``duecall.app`` builds a :class:`DeskService` and gives its methods to the IVR's voice routes
(:meth:`escalate`) and to the desk's own Twilio routes (``webhooks.desk``), which reach it
through a protocol: the web edge never imports the desk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desk import agent_leg, escalation, listen, transfers, waiting
from desk.escalation import Desk
from ivr.session import AgentWanted
from telephony.desk_twiml import HandOver, LegAnswer


class DeskService:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def escalate(
        self, session: Session, call_sid: str, wanted: AgentWanted, now: datetime
    ) -> str | None:
        """See :func:`desk.escalation.escalate`."""
        return escalation.escalate(session, self.desk, call_sid, wanted, now)

    def wait(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        loop: int,
        queue_sid: str | None,
        now: datetime,
    ) -> str:
        """See :func:`desk.waiting.wait`."""
        return waiting.wait(
            session,
            self.desk,
            entry_id=entry_id,
            call_sid=call_sid,
            loop=loop,
            queue_sid=queue_sid,
            now=now,
        )

    def offer_key(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        digits: str,
        loop: int,
        queue_sid: str | None,
        now: datetime,
    ) -> str:
        """See :func:`desk.waiting.offer_key`."""
        return waiting.offer_key(
            session,
            self.desk,
            entry_id=entry_id,
            call_sid=call_sid,
            digits=digits,
            loop=loop,
            queue_sid=queue_sid,
            now=now,
        )

    def dequeued(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        result: str,
        now: datetime,
    ) -> str:
        """See :func:`desk.waiting.dequeued`."""
        return waiting.dequeued(
            session, self.desk, entry_id=entry_id, call_sid=call_sid, result=result, now=now
        )

    def agent_answer(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_sid: str,
        now: datetime,
    ) -> str:
        """See :func:`desk.agent_leg.answer`."""
        return agent_leg.answer(
            session, self.desk, entry_id=entry_id, agent_id=agent_id, call_sid=call_sid, now=now
        )

    def agent_key(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_sid: str,
        digits: str,
        now: datetime,
    ) -> LegAnswer:
        """See :func:`desk.agent_leg.key`."""
        return agent_leg.key(
            session,
            self.desk,
            entry_id=entry_id,
            agent_id=agent_id,
            call_sid=call_sid,
            digits=digits,
            now=now,
        )

    def bridge_failed(
        self, session: Session, *, entry_id: int | None, agent_id: int | None, now: datetime
    ) -> str:
        """See :func:`desk.agent_leg.bridge_failed`."""
        return agent_leg.bridge_failed(
            session, self.desk, entry_id=entry_id, agent_id=agent_id, now=now
        )

    def agent_after(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        dial_status: str | None,
        now: datetime,
    ) -> str:
        """See :func:`desk.agent_leg.after`."""
        return agent_leg.after(
            session,
            self.desk,
            entry_id=entry_id,
            agent_id=agent_id,
            dial_status=dial_status,
            now=now,
        )

    def agent_wrap(
        self, session: Session, *, agent_id: int | None, digits: str, now: datetime
    ) -> str:
        """See :func:`desk.agent_leg.wrap`."""
        return agent_leg.wrap(session, self.desk, agent_id=agent_id, digits=digits, now=now)

    def agent_status(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_status: str,
        now: datetime,
    ) -> None:
        """See :func:`desk.agent_leg.status`."""
        agent_leg.status(
            session,
            self.desk,
            entry_id=entry_id,
            agent_id=agent_id,
            call_status=call_status,
            now=now,
        )

    def agent_machine(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        answered_by: str,
        now: datetime,
    ) -> bool:
        """See :func:`desk.agent_leg.machine`."""
        return agent_leg.machine(
            session, entry_id=entry_id, agent_id=agent_id, answered_by=answered_by, now=now
        )

    def join(self, session: Session, *, entry_id: int | None, call_sid: str) -> str:
        """See :func:`desk.agent_leg.join`."""
        return agent_leg.join(session, self.desk, entry_id=entry_id, call_sid=call_sid)

    def listen(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        digits: str | None,
    ) -> str:
        """See :func:`desk.listen.answer`."""
        return listen.answer(
            session, self.desk, entry_id=entry_id, supervisor_id=supervisor_id, digits=digits
        )

    def requeue(self, session: Session, *, entry_id: int | None, call_sid: str) -> str:
        """See :func:`desk.transfers.requeue_twiml`."""
        return transfers.requeue_twiml(session, self.desk, entry_id=entry_id, call_sid=call_sid)

    def warm(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        digits: str | None,
        now: datetime,
    ) -> str:
        """See :func:`desk.transfers.warm_answer`."""
        return transfers.warm_answer(
            session,
            self.desk,
            entry_id=entry_id,
            supervisor_id=supervisor_id,
            digits=digits,
            now=now,
        )

    def warm_joined(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        call_sid: str,
        conference_sid: str | None,
        now: datetime,
    ) -> HandOver | None:
        """See :func:`desk.transfers.warm_joined`."""
        return transfers.warm_joined(
            session,
            self.desk,
            entry_id=entry_id,
            supervisor_id=supervisor_id,
            call_sid=call_sid,
            conference_sid=conference_sid,
            now=now,
        )
