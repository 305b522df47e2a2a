"""Claiming due contacts: the one step that decides which worker dials whom.

On PostgreSQL one ``WITH picked AS (SELECT ... FOR UPDATE SKIP LOCKED) UPDATE ... RETURNING``:
workers claiming side by side skip each other's rows instead of waiting for them, and a row is
claimed by one worker only. On SQLite (one worker; ``BEGIN IMMEDIATE`` serialises anyway) a
conditional ``UPDATE ... WHERE state = 'pending'`` whose rowcount says what was won. Slots are
shared between campaigns by priority (:class:`dialer.pacing.WeightedShare`). A claim carries a
token: only its holder may record an attempt for the contact or give it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update

from dialer.faults import NO_FAULTS, Faults
from dialer.pacing import WeightedShare, quotas
from dialer.sqlutil import rowcount
from store.db import Database
from store.models_dialer import Contact, DialerWorkerLease

Channel = Literal["voice", "sms"]
#: Waits ``seconds``; False when the worker is stopping.
Wait = Callable[[float], bool]


class Claims:
    """One worker's claims on the contacts of live runs."""

    def __init__(
        self, db: Database, *, worker_id: str, wait: Wait, faults: Faults = NO_FAULTS
    ) -> None:
        self.db = db
        self.worker_id = worker_id
        self.wait = wait
        self.faults = faults
        self._share = WeightedShare()

    def by_share(
        self,
        channel: Channel,
        slots: int,
        weights: Mapping[str, int],
        run_ids: Mapping[str, list[int]],
        now: datetime,
    ) -> list[tuple[int, str, str]]:
        """Claim up to ``slots`` contacts of ``channel`` shared between the campaigns by
        priority; returns (contact id, claim token, campaign) in the share's order."""
        order = self._share.allocate(slots, weights)
        want = quotas(order)
        claimed: dict[str, list[tuple[int, str]]] = {}
        for name, quota in want.items():
            claimed[name] = self.claim(run_ids[name], channel, quota, now)
        # A campaign with fewer due contacts than its share leaves slots to the others,
        # highest priority first.
        left = slots - sum(len(c) for c in claimed.values())
        for name in sorted(weights, key=lambda n: -weights[n]):
            if left <= 0:
                break
            extra = self.claim(run_ids[name], channel, left, now)
            claimed.setdefault(name, []).extend(extra)
            left -= len(extra)
        # Interleave in the share's order so a slow tick still honours the proportions.
        result: list[tuple[int, str, str]] = []
        queues = {name: list(items) for name, items in claimed.items()}
        for name in [*order, *sorted(queues)]:
            if queues.get(name):
                contact_id, token = queues[name].pop(0)
                result.append((contact_id, token, name))
        for name, items in queues.items():
            result.extend((contact_id, token, name) for contact_id, token in items)
        return result

    def claim(
        self, run_ids: Sequence[int], channel: Channel, limit: int, now: datetime
    ) -> list[tuple[int, str]]:
        """Claim up to ``limit`` due pending contacts of ``run_ids``; returns (id, token) pairs.

        ``FOR UPDATE SKIP LOCKED`` lets PostgreSQL workers claim side by side; the conditional
        UPDATE makes the claim safe on any engine.
        """
        if limit <= 0:
            return []
        if self.faults:
            jitter = self.faults.jitter_seconds()
            if jitter and not self.wait(jitter):
                return []
        token = uuid.uuid4().hex
        due = (
            select(Contact.id)
            .where(
                Contact.run_id.in_(run_ids),
                Contact.state == "pending",
                Contact.next_attempt_at <= now,
                Contact.channel == channel,
            )
            .order_by(Contact.next_attempt_at, Contact.id)
            .limit(limit)
        )
        claim = dict(
            state="dialing",
            claimed_by=self.worker_id,
            claimed_at=now,
            claim_token=token,
            updated_at=now,
        )
        with self.db.session() as session:
            if self.db.engine.dialect.name == "postgresql":
                # One statement: rows locked by another worker's claim are skipped, not waited
                # for. The pick is a CTE, never inlined when it locks rows: as an IN (subquery)
                # PostgreSQL may run the subquery again per row and claim past the LIMIT.
                picked = due.with_for_update(skip_locked=True).cte("picked")
                mine = sorted(
                    session.scalars(
                        update(Contact)
                        .where(Contact.id == picked.c.id, Contact.state == "pending")
                        .values(**claim)
                        .returning(Contact.id)
                        .execution_options(synchronize_session=False)
                    ).all()
                )
            else:
                ids = session.scalars(due).all()
                if not ids:
                    return []
                won = rowcount(
                    session.execute(
                        update(Contact)
                        .where(Contact.id.in_(ids), Contact.state == "pending")
                        .values(**claim)
                        .execution_options(synchronize_session=False)
                    )
                )
                if won == 0:
                    return []
                mine = list(
                    session.scalars(
                        select(Contact.id).where(Contact.claim_token == token).order_by(Contact.id)
                    ).all()
                )
            if mine:
                session.execute(
                    update(DialerWorkerLease)
                    .where(DialerWorkerLease.worker_id == self.worker_id)
                    .values(claimed=DialerWorkerLease.claimed + len(mine))
                )
        if mine:
            self.faults.hit("after_claim")
        return [(contact_id, token) for contact_id in mine]

    def release(
        self, contact_id: int, token: str, now: datetime, delay: timedelta | None = None
    ) -> None:
        """Give a claimed contact back untouched (or pushed ``delay`` forward)."""
        with self.db.session() as session:
            contact = session.get(Contact, contact_id, with_for_update=True)
            if contact is not None and contact.state == "dialing" and contact.claim_token == token:
                unclaim(contact, now)
                if delay is not None:
                    contact.next_attempt_at = now + delay


def unclaim(contact: Contact, now: datetime) -> None:
    """Put ``contact`` back in the queue (the caller holds its row)."""
    contact.state = "pending"
    contact.claimed_by = contact.claim_token = None
    contact.claimed_at = None
    contact.updated_at = now
