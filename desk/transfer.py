"""The live transfer's job: offer the longest-waiting caller of the most urgent queue to an
available agent, and ring the agent's phone; due callbacks join their queue first, to be
placed agent first (:mod:`desk.callback_first`).

Run by the ``duecall dialer`` worker every ``desk.tick_seconds`` (registered by the composition
root: the dialer does not know the desk). Each offer is claimed in one transaction -- the
caller's record ``waiting -> offered`` and the agent ``available -> offered``, each a
conditional update, so two workers (or two agents) never share a caller, on SQLite and
PostgreSQL alike -- with a slot of the dialer's voice pacing budget, so the agents' calls
count against the account's calls per second like every other call. It commits, then calls
(record, commit, then act); a call the carrier refuses gives the caller back to the queue
and sends the agent away (their phone cannot be reached).

Each tick also ends the wrap-ups that have run their time and lapses offers whose agent leg
never reported back (a lost status callback), so no caller stays claimed for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import agents, callback_first, queueing
from desk.agent_leg import lapse
from desk.escalation import Desk
from dialer.pacing import VOICE_BUDGET, reserve_slot
from store.clock import Clock
from store.db import Database
from store.models_desk import DeskAgent, QueueEntry
from telephony.errors import TelephonyError
from telephony.port import AgentCall, Telephony

log = logging.getLogger(__name__)

#: Claims tried per tick at most (each one rings one agent).
MAX_OFFERS_PER_TICK = 20


@dataclass(frozen=True)
class Offer:
    entry_id: int
    agent_id: int
    phone: str
    slot: datetime


class _LostRaceError(Exception):
    """Another worker took the caller or the agent between the read and the claim."""


class Transfer:
    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        desk: Desk,
        *,
        calls_per_second: float,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.db = db
        self.telephony = telephony
        self.clock = clock
        self.desk = desk
        self.calls_per_second = calls_per_second
        self.wait = wait or (lambda seconds: True)

    def tick(self) -> int:
        """Housekeeping, then as many offers as there are free agents and waiting callers;
        returns how many agents were rung."""
        settings = self.desk.settings
        now = self.clock.now()
        with self.db.session() as session:
            agents.end_wrap_ups(session, now=now, wrap_up_seconds=settings.wrap_up_seconds)
            self._lapse_stale(session, now)
            callback_first.give_back_closed(session, self.desk, now=now)
            callback_first.enqueue_due(session, self.desk, now=now)
        rung = 0
        for _ in range(MAX_OFFERS_PER_TICK):
            try:
                offer = self._claim()
            except _LostRaceError:
                continue
            if offer is None:
                break
            if self._ring(offer):
                rung += 1
        return rung

    def _lapse_stale(self, session: Session, now: datetime) -> None:
        # Ringing, then the whisper's wait for a key, then slack for the callbacks in flight.
        stale = now - timedelta(seconds=2 * self.desk.settings.offer_timeout_seconds + 30)
        for agent in session.scalars(
            select(DeskAgent).where(DeskAgent.state == "offered", DeskAgent.state_since < stale)
        ):
            entry = session.get(QueueEntry, agent.entry_id) if agent.entry_id else None
            if entry is None or not lapse(session, entry, agent, now=now):
                agents.move(session, agent.id, "away", now=now, expect="offered")
            log.info("desk: offer to agent %s lapsed without a report", agent.id)

    def _claim(self) -> Offer | None:
        """Claim the next (caller, agent) pair, with a pacing slot; None when there is none."""
        settings = self.desk.settings
        now = self.clock.now()
        on_shift = settings.on_shift(now)
        if not on_shift:
            return None
        with self.db.session() as session:
            free = session.scalars(
                select(DeskAgent)
                .where(DeskAgent.state == "available", DeskAgent.name.in_(list(on_shift)))
                .order_by(DeskAgent.state_since, DeskAgent.id)
            ).all()
            for agent in free:
                languages = agent.languages.split(",")
                queues = [
                    q.name
                    for q in settings.queues
                    if (q.hours is None or q.hours.is_open(now))
                    and set(q.languages) & set(languages)
                ]
                entry = queueing.next_waiting(session, queues, languages)
                if entry is None:
                    continue
                slot = reserve_slot(
                    session,
                    VOICE_BUDGET,
                    rate=self.calls_per_second,
                    now=now,
                    horizon=timedelta(seconds=max(1.0, settings.tick_seconds)),
                )
                if slot is None:
                    return None  # the account's pace is spent: next tick
                if not queueing.claim(session, entry.id, agent.id, now=now):
                    raise _LostRaceError
                if not agents.move(
                    session, agent.id, "offered", now=now, expect="available", entry_id=entry.id
                ):
                    raise _LostRaceError  # rolls the caller's claim back with it
                return Offer(entry.id, agent.id, agent.phone, slot)
        return None

    def _ring(self, offer: Offer) -> bool:
        delay = (offer.slot - self.clock.now()).total_seconds()
        if delay > 0 and not self.wait(delay):
            self._give_back(offer, "the worker is stopping")
            return False
        try:
            info = self.telephony.place_agent_call(
                AgentCall(
                    to=offer.phone,
                    entry_id=offer.entry_id,
                    agent_id=offer.agent_id,
                    timeout=self.desk.settings.offer_timeout_seconds,
                )
            )
        except (TelephonyError, ValueError) as exc:
            self._give_back(offer, type(exc).__name__)
            return False
        with self.db.session() as session:
            entry = session.get(QueueEntry, offer.entry_id)
            if entry is not None and entry.agent_leg_sid is None:
                queueing.set_agent_leg(session, entry.id, info.sid)
        log.info("desk: agent %s rung for queue record %s", offer.agent_id, offer.entry_id)
        return True

    def _give_back(self, offer: Offer, why: str) -> None:
        """The agent's call was not placed: the caller waits on, the agent is away."""
        now = self.clock.now()
        with self.db.session() as session:
            entry = session.get(QueueEntry, offer.entry_id)
            agent = session.get(DeskAgent, offer.agent_id)
            if entry is not None and agent is not None:
                lapse(session, entry, agent, now=now)
        log.warning("desk: agent %s could not be rung (%s)", offer.agent_id, why)
