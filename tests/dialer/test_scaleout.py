"""Several `duecall dialer` processes on one PostgreSQL store, and the single worker of SQLite.

Four workers start at once against a campaign of a few thousand accounts: they race the same
launch slot (one run), share the claims (every contact dialed exactly once, every worker some),
one pacing budget and one concurrency limit, and a per-number cap no two workers may both use up.
The checks read the stored attempts and the carrier's calls with naive code.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store.db import Database
from tests.dialer.scaleout_rig import (
    Carrier,
    Workers,
    afternoon_zone,
    concurrency_violations,
    dialer_config,
    migrated,
    open_calls,
    pace_violations,
    seed_accounts,
    start_carrier,
    start_workers,
    stored,
    wait_until,
    wait_until_settled,
    window_violations,
)

pytestmark = pytest.mark.slow

ACCOUNTS = 2000
SHARED = 8  # one person's cards behind one number (the per-number cap is per debtor)
PER_NUMBER_PER_DAY = 3
CPS = 25.0
MAX_CONCURRENT = 25
WORKERS = 4


@pytest.fixture
def scale(pg_url: str, tmp_path: Path) -> Iterator[tuple[Database, Carrier, Workers, str]]:
    now = datetime.now(UTC)
    zone, number = afternoon_zone(now)
    db = migrated(pg_url)
    numbers = [number(i) for i in range(ACCOUNTS)] + [number(9999)] * SHARED
    seed_accounts(db, numbers, zone)
    config = dialer_config(
        now=now,
        dialer={
            "calls_per_second": CPS,
            "max_concurrent_calls": MAX_CONCURRENT,
            "snapshot_chunk": 250,
        },
        policy={
            "profile": "us_reg_f",
            "overrides": {"max_attempts_per_number_per_day": PER_NUMBER_PER_DAY},
        },
    )
    try:
        for carrier in start_carrier(db, config):
            for workers in start_workers(pg_url, carrier.url, config, tmp_path):
                yield db, carrier, workers, zone
    finally:
        db.dispose()


def test_four_workers_share_one_campaign_each_contact_dialed_once(
    scale: tuple[Database, Carrier, Workers, str],
) -> None:
    db, carrier, workers, zone = scale
    started = time.monotonic()
    for n in range(WORKERS):
        # Jitter before each claim: the fastest worker cannot take everything.
        workers.start(f"w{n}", DUECALL_CLAIM_JITTER_MS="150")
    expected_done = ACCOUNTS + PER_NUMBER_PER_DAY
    try:
        wait_until_settled(db, expected_done)
    except AssertionError:
        for name in workers.procs:
            print(f"--- {name}\n{workers.log_of(name)[-3000:]}")
        raise
    elapsed = time.monotonic() - started
    codes = workers.stop_all()
    assert codes == {f"w{n}": 0 for n in range(WORKERS)}, "each stops cleanly on SIGTERM"

    rows = stored(db)
    # The four catch-ups fired the same slot at once: one run, one snapshot.
    assert len(rows.runs) == 1 and rows.runs[0].status == "active"
    assert rows.runs[0].contacts_total == len(rows.contacts) == ACCOUNTS + SHARED

    # Every contact dialed exactly once, by the carrier's own count; the shared number only as
    # often as its per-day cap allows, though four workers raced for it.
    calls = carrier.calls_by_number()
    shared_number = rows.contacts[-1].number
    assert calls.pop(shared_number) == PER_NUMBER_PER_DAY
    assert len(calls) == ACCOUNTS and set(calls.values()) == {1}
    per_contact = Counter(a.contact_id for a in rows.attempts)
    assert len(per_contact) == ACCOUNTS + PER_NUMBER_PER_DAY and set(per_contact.values()) == {1}
    assert all(a.final and a.provider_sid for a in rows.attempts)
    states = Counter(c.state for c in rows.contacts)
    assert states == {"done": ACCOUNTS + PER_NUMBER_PER_DAY, "pending": SHARED - 3}

    # Every worker claimed and placed some.
    assert sorted(w.worker_id for w in rows.workers) == [f"w{n}" for n in range(WORKERS)]
    for w in rows.workers:
        assert w.claimed > 0 and w.placed > 0, (w.worker_id, w.claimed, w.placed)
        assert w.stopped_at is not None
    assert sum(w.placed for w in rows.workers) == len(rows.attempts)

    # Windows, pacing and concurrency, across the workers.
    assert window_violations(rows.attempts, zone) == []
    assert pace_violations(rows.attempts, CPS) == []
    assert concurrency_violations(rows.attempts, MAX_CONCURRENT) == []
    # Non-vacuity: the limits were reached -- the pace, or the calls in flight.
    span = (rows.attempts[-1].created_at - rows.attempts[0].created_at).total_seconds()
    busiest = max(count for _, count in open_calls(rows.attempts))
    print(
        f"{len(rows.attempts)} calls in {span:.1f}s ({elapsed:.1f}s to settle), "
        f"at most {busiest} open"
    )
    assert len(rows.attempts) / span > CPS * 0.5 or busiest == MAX_CONCURRENT


@pytest.fixture
def sqlite_workers(tmp_path: Path) -> Iterator[tuple[Database, Workers]]:
    url = f"sqlite:///{tmp_path}/duecall.db"
    db = migrated(url)
    config = dialer_config(now=datetime.now(UTC), dialer={})
    try:
        for workers in start_workers(url, "http://127.0.0.1:9", config, tmp_path):
            yield db, workers
    finally:
        db.dispose()


def _registered(db: Database, name: str) -> bool:
    return any(w.worker_id == name and w.stopped_at is None for w in stored(db).workers)


def test_sqlite_takes_one_worker_and_says_so_to_the_second(
    sqlite_workers: tuple[Database, Workers],
) -> None:
    db, workers = sqlite_workers
    first = workers.start("first")
    wait_until(lambda: _registered(db, "first"), 20, "the first worker to register")
    second = workers.start("second")
    assert second.wait(20) == 2
    message = workers.log_of("second")
    assert "SQLite supports one dialer worker" in message and "first" in message
    assert first.poll() is None, "the first one runs on"
    # A worker killed outright does not lock the store out: on its host its pid is seen dead.
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    third = workers.start("third")
    wait_until(lambda: _registered(db, "third"), 20, "a replacement to register")
    assert third.poll() is None
    third.send_signal(signal.SIGTERM)
    assert third.wait(15) == 0
    assert not _registered(db, "third"), "a clean stop releases the lease"
