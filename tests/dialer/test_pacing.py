"""Pacing: the shared slot budget and the weighted share between campaigns."""

from __future__ import annotations

from datetime import timedelta

from dialer.pacing import WeightedShare, quotas, reserve_slot
from store.clock import FixedClock
from store.db import Database


def test_slots_are_one_interval_apart_and_never_beyond_the_horizon(
    db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    slots = []
    for _ in range(5):
        with db.session() as s:
            slots.append(reserve_slot(s, "voice", rate=2, now=now, horizon=timedelta(seconds=1)))
    assert slots == [now, now + timedelta(seconds=0.5), now + timedelta(seconds=1), None, None]
    # Another worker (another session, same store) continues where the budget stands.
    with db.session() as s:
        later = reserve_slot(
            s, "voice", rate=2, now=now + timedelta(seconds=1), horizon=timedelta(0)
        )
    assert later is None
    with db.session() as s:
        assert reserve_slot(s, "sms", rate=1, now=now, horizon=timedelta(0)) == now, "own budget"


def test_the_share_follows_priority_interleaved_and_starves_nobody() -> None:
    share = WeightedShare()
    order = share.allocate(12, {"high": 5, "low": 1})
    assert quotas(order) == {"high": 10, "low": 2}
    assert "low" in order[:6], "interleaved, not five highs then a low"
    # One slot a tick: over six ticks the low-priority campaign still gets its turn.
    ticks = [share.allocate(1, {"high": 5, "low": 1})[0] for _ in range(6)]
    assert ticks.count("low") == 1 and ticks.count("high") == 5
