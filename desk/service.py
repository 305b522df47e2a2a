"""The desk's rules as one object, for the composition root to hand to the web edge.

``duecall.app`` builds a :class:`DeskService` and gives its methods to the IVR's voice routes
(:meth:`escalate`) and to the desk's own Twilio routes (``webhooks.desk``), which reach it
through a protocol: the web edge never imports the desk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desk import escalation, waiting
from desk.escalation import Desk
from ivr.session import AgentWanted


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
