"""The real APScheduler worker (short and bounded), and the outbox job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dialer.worker import DialerWorker
from store.clock import FixedClock, OffsetClock
from store.db import Database
from store.models import Attempt, OutboxItem, Suppression
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for, voice_campaign


def _accounts(db: Database, clock: FixedClock) -> None:
    add_account(db, clock, "A1", "+12125550161")
    add_account(db, clock, "A2", "+12125550162")
    add_account(db, clock, "NO-SMS", "+12125550163", sms_consent=False)


SETTINGS = {"tick_seconds": 0.1, "outbox_interval_seconds": 0.1, "reconcile_interval_seconds": 1}


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    _accounts(db, clock)
    yield from build_rig(db, clock, settings_for([voice_campaign()], SETTINGS))


@pytest.fixture
def live_rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    """The worker on real time (shifted to 09:30 New York): the scheduler's ticks, the pacing
    waits and the clock all move together."""
    _accounts(db, clock)
    settings = settings_for([voice_campaign()], {**SETTINGS, "calls_per_second": 10})
    yield from build_rig(
        db, clock, settings, worker_clock=OffsetClock(clock.now() - timedelta(minutes=30))
    )


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_scheduler_catches_up_dispatches_and_stops_cleanly(live_rig: Rig) -> None:
    rig = live_rig
    worker: DialerWorker = rig.worker
    worker.start()
    try:
        assert worker.scheduler is not None
        jobs = {job.id: job for job in worker.scheduler.get_jobs()}
        assert {"launch:voice-mid", "dispatch", "reconcile", "outbox"} <= set(jobs)
        assert jobs["launch:voice-mid"].misfire_grace_time == 3600
        assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
        # The 09:00 New York slot was missed (it is 09:30): catch-up launches it at start, and
        # the dispatch job dials both contacts.
        wait_for(lambda: len(rig.attempts()) == 3)
    finally:
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 5
    assert worker.scheduler is not None and not worker.scheduler.running
    rig.sim.run_until_idle()
    assert len(rig.sim.calls) == 3


def test_the_outbox_sends_the_confirmation_through_the_policy(rig: Rig) -> None:
    now = rig.clock.now()
    with rig.db.session() as s:
        for account_id, number in (("A1", "+12125550161"), ("NO-SMS", "+12125550163")):
            s.add(
                OutboxItem(
                    kind="sms.promise_confirmation",
                    account_id=account_id,
                    number=number,
                    payload={"body": "We noted your promise. Reply STOP to opt out."},
                    dedupe_key=f"k-{account_id}",
                    status="pending",
                    created_at=now,
                    available_at=now,
                    tries=0,
                )
            )
        s.add(
            Suppression(
                kind="optout-sms",
                number="+12125550162",
                reason="STOP",
                source="sms",
                created_by="t",
                created_at=now,
            )
        )
    first = rig.worker.outbox.run()
    # The shared SMS budget (5 a second) lets one through now; the other waits its slot.
    assert (first.sent, first.denied, first.retried) == (1, 0, 1)
    rig.clock.advance(timedelta(seconds=1))
    second = rig.worker.outbox.run()
    assert (second.sent, second.denied) == (0, 1)
    rig.clock.advance(timedelta(seconds=1))
    assert rig.worker.outbox.run() == type(first)(), "each item once"
    with rig.db.session(readonly=True) as s:
        items = {i.account_id: i for i in s.scalars(select(OutboxItem))}
        attempts = s.scalars(select(Attempt)).all()
        assert items["A1"].status == "done" and items["A1"].attempt_id is not None
        assert items["NO-SMS"].status == "denied"
        assert (items["NO-SMS"].last_error or "").startswith("no_consent")
        assert [(a.channel, a.purpose, a.provider_sid is not None) for a in attempts] == [
            ("sms", "confirmation", True)
        ]
    (message,) = rig.sim.messages.values()
    assert message.to == "+12125550161" and message.body.startswith("We noted your promise")


def test_a_confirmation_the_window_defers_is_sent_when_it_opens(rig: Rig) -> None:
    # The promise was made at 20:58 in New York (past the window's margin): the text is put
    # back until 08:00 the next morning, then sent -- never dropped.
    evening = datetime(2026, 11, 30, 1, 58, tzinfo=UTC)
    rig.clock.set(evening)
    with rig.db.session() as s:
        s.add(
            OutboxItem(
                kind="sms.promise_confirmation",
                account_id="A1",
                number="+12125550161",
                payload={"body": "We noted your promise. Reply STOP to opt out."},
                dedupe_key="k-late",
                status="pending",
                created_at=evening,
                available_at=evening,
                tries=0,
            )
        )
    report = rig.worker.outbox.run()
    assert (report.sent, report.deferred, report.denied) == (0, 1, 0)
    with rig.db.session(readonly=True) as s:
        item = s.scalars(select(OutboxItem)).one()
        assert item.status == "pending" and item.tries == 0
        assert item.available_at == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 08:00 EST
    rig.clock.set(datetime(2026, 11, 30, 13, 5, tzinfo=UTC))
    assert rig.worker.outbox.run().sent == 1
    assert [m.to for m in rig.sim.messages.values()] == ["+12125550161"]
