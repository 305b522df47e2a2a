"""Worker leases in the store: who is alive, who is gone, and SQLite's single worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.worker import SingleWorkerError, WorkerLease, gone_workers, live_workers
from store.clock import FixedClock
from store.db import Database
from store.models_dialer import DialerWorkerLease

TTL = timedelta(seconds=30)


def test_a_lease_runs_out_without_heartbeats_and_is_renewed_by_them(
    db: Database, clock: FixedClock
) -> None:
    lease = WorkerLease(db, clock, "w1", ttl=TTL)
    lease.register()
    clock.advance(timedelta(seconds=20))
    assert lease.renew()
    clock.advance(timedelta(seconds=20))
    with db.session(readonly=True) as s:
        assert [w.worker_id for w in live_workers(s, clock.now(), TTL)] == ["w1"]
        assert gone_workers(s, clock.now(), TTL) == set()
    clock.advance(timedelta(seconds=11))
    with db.session(readonly=True) as s:
        assert live_workers(s, clock.now(), TTL) == []
        assert gone_workers(s, clock.now(), TTL) == {"w1"}
    assert not lease.renew(), "a lease that ran out is not silently taken back"


def test_a_stopped_worker_is_gone_at_once_and_frees_sqlite_for_the_next(
    db: Database, clock: FixedClock
) -> None:
    first = WorkerLease(db, clock, "first", ttl=TTL)
    first.register()
    second = WorkerLease(db, clock, "second", ttl=TTL)
    if db.is_sqlite:
        with pytest.raises(SingleWorkerError, match="SQLite supports one dialer worker"):
            second.register()
    else:
        second.register()  # PostgreSQL: side by side
    first.release()
    with db.session(readonly=True) as s:
        assert "first" in gone_workers(s, clock.now(), TTL)
    WorkerLease(db, clock, "third", ttl=TTL).register()


def test_a_dead_pid_on_this_host_is_gone_before_its_lease_runs_out(
    db: Database, clock: FixedClock
) -> None:
    lease = WorkerLease(db, clock, "ghost", ttl=TTL)
    lease.pid = 2**22 + 12345  # above Linux's pid_max: no such process
    lease.register()
    with db.session(readonly=True) as s:
        assert gone_workers(s, clock.now(), TTL) == {"ghost"}
        row = s.get(DialerWorkerLease, "ghost")
        assert row is not None and row.stopped_at is None
    # ... and it does not keep a SQLite store from its successor.
    WorkerLease(db, clock, "successor", ttl=TTL).register()


def test_a_worker_id_in_use_elsewhere_is_refused(db: Database, clock: FixedClock) -> None:
    WorkerLease(db, clock, "same", ttl=TTL).register()
    twin = WorkerLease(db, clock, "same", ttl=TTL)
    twin.host = "another-host"
    with pytest.raises(SingleWorkerError, match="in use"):
        twin.register()
