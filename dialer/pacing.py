"""Pacing: calls and SMS per second shared by every worker, concurrency, and campaign shares.

Twilio queues calls over the account's CPS instead of rejecting them (and rejects after 24 hours,
error 22005); a call waiting there may ring after the calling window or after the debt was paid.
So the dialer paces itself: a budget row per channel in the store holds the next free slot; a
worker reserves a slot in one short transaction (the slot moves on by ``1 / rate``), waits for
it without spinning, and only then dials. Every process shares one budget because it lives in
the database, not in memory. The reservation is atomic across processes: the row is read with
``SELECT ... FOR UPDATE`` (on SQLite the ``BEGIN IMMEDIATE`` write lock), so two workers never get
the same slot; the dispatcher also holds that lock while it counts the calls in flight and
records the attempt, which makes the concurrency limit hold across workers too.

When Twilio answers ``Retry-After``, the worker that heard it :func:`hold` s every budget: the
next slot moves past it, and a slot some worker reserved before is checked against
``held_until`` once its wait is over (:func:`held`), so no worker sends before Twilio said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialer.sqlutil import insert_ignoring_conflicts
from store.models import Attempt
from store.models_dialer import PacingBudget

VOICE_BUDGET = "voice"
SMS_BUDGET = "sms"

# A call not final after this long is the reconciler's business, not a concurrency slot.
IN_FLIGHT_HORIZON = timedelta(hours=4)


def budget_row(session: Session, name: str, now: datetime) -> PacingBudget:
    """The budget row ``name``, locked for this transaction (created when missing)."""
    insert_ignoring_conflicts(
        session, PacingBudget, [{"name": name, "next_slot_at": now}], ["name"]
    )
    row = session.scalars(
        select(PacingBudget)
        .where(PacingBudget.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def reserve_slot(
    session: Session, name: str, *, rate: float, now: datetime, horizon: timedelta
) -> datetime | None:
    """Reserve the next slot of budget ``name`` (``rate`` per second) if it falls before
    ``now + horizon``; returns the instant to dial at, or None when the budget is spent."""
    row = budget_row(session, name, now)
    slot = max(row.next_slot_at, now)
    if slot > now + horizon:
        return None
    row.next_slot_at = slot + timedelta(seconds=1 / rate)
    return slot


def hold(session: Session, names: Sequence[str], *, until: datetime, now: datetime) -> None:
    """Make every worker wait until ``until`` before using budgets ``names`` (never shortens a
    wait already in force)."""
    for name in names:
        row = budget_row(session, name, now)
        if row.held_until is None or row.held_until < until:
            row.held_until = until
        row.next_slot_at = max(row.next_slot_at, until)


def held(session: Session, name: str, now: datetime) -> datetime | None:
    """Until when budget ``name`` is held (a ``Retry-After``), or None when it is not now."""
    until = session.scalar(select(PacingBudget.held_until).where(PacingBudget.name == name))
    return until if until is not None and until > now else None


def calls_in_flight(session: Session, now: datetime) -> int:
    """Voice attempts recorded and not yet final (placed, ringing, talking or unresolved)."""
    count = session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.channel == "voice",
            Attempt.final.is_(False),
            Attempt.created_at >= now - IN_FLIGHT_HORIZON,
        )
    )
    return int(count or 0)


class WeightedShare:
    """Smooth weighted round robin: over time each campaign gets slots in proportion to its
    priority, interleaved (5:1 gives a,a,b,a,a,a... not five a's then a b), and a low priority
    is never starved. The running credits live in the worker: fairness, not a compliance rule.
    """

    def __init__(self) -> None:
        self._credit: dict[str, int] = {}

    def allocate(self, slots: int, weights: Mapping[str, int]) -> list[str]:
        """The campaign for each of ``slots`` slots, in order."""
        order: list[str] = []
        if not weights:
            return order
        for name in list(self._credit):
            if name not in weights:
                del self._credit[name]
        total = sum(weights.values())
        for _ in range(slots):
            for name, weight in weights.items():
                self._credit[name] = self._credit.get(name, 0) + weight
            chosen = max(sorted(weights), key=lambda n: self._credit[n])
            self._credit[chosen] -= total
            order.append(chosen)
        return order


def quotas(order: Sequence[str]) -> dict[str, int]:
    """How many slots each campaign got in ``order``."""
    counts: dict[str, int] = {}
    for name in order:
        counts[name] = counts.get(name, 0) + 1
    return counts
