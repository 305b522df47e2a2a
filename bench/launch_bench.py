"""What a campaign launch costs, and how long it holds the write lock.

A launch snapshots the campaign's segment into contacts. The naive way is one statement, ``INSERT
INTO ... SELECT`` over every matching account, in one transaction: the fastest, but it holds the
database's write lock from start to end, and on SQLite every webhook (a cardholder pressing a key)
waits that long. duecall's launch writes the snapshot in chunks (``dialer.snapshot_chunk``), each
its own short transaction. Both are measured in the same run on the same accounts:

* time ratio launch / one statement (what chunking, the segment's balance check and the run's
  bookkeeping cost);
* the longest single write transaction of each (what a webhook may have to wait).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from campaigns.config import CampaignSettings
from dialer.launch import launch
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


class LockWatch:
    """Times every write transaction of an engine (BEGIN IMMEDIATE to COMMIT)."""

    def __init__(self, db: Database) -> None:
        self.longest = 0.0
        self._started: dict[int, float] = {}
        event.listen(db.engine, "begin", self._begin)
        event.listen(db.engine, "commit", self._end)
        event.listen(db.engine, "rollback", self._end)

    def _begin(self, conn: Connection) -> None:
        self._started[id(conn)] = time.perf_counter()

    def _end(self, conn: Connection) -> None:
        started = self._started.pop(id(conn), None)
        if started is not None:
            self.longest = max(self.longest, time.perf_counter() - started)


def _seed(db: Database, count: int) -> None:
    stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
    with db.session() as s:
        conn = s.connection()
        conn.exec_driver_sql(
            "INSERT INTO accounts (account_id, customer_id, name, language, timezone, currency,"
            " balance, minimum_due, due_date, days_past_due, card_last4, birth_date, status,"
            " balance_as_of, created_at, updated_at) VALUES "
            "(?, ?, 'Bench Person', 'en-US', NULL, 'USD', 50000, 2500, ?, ?, '4242', ?, 'open',"
            " ?, ?, ?)",
            [
                (
                    f"B{i:08d}",
                    f"B{i:08d}",
                    date(2026, 11, 1).isoformat(),
                    30 + i % 60,
                    date(1980, 1, 1).isoformat(),
                    date(2026, 11, 30).isoformat(),
                    stamp,
                    stamp,
                )
                for i in range(count)
            ],
        )
        conn.exec_driver_sql(
            "INSERT INTO phones (account_id, kind, number, voice_consent, sms_consent,"
            " created_at, updated_at) VALUES (?, 'primary', ?, 1, 1, ?, ?)",
            [(f"B{i:08d}", f"+1212555{i % 10000:04d}", stamp, stamp) for i in range(count)],
        )


def _one_statement(db: Database) -> tuple[float, float]:
    watch = LockWatch(db)
    with db.session() as s:
        s.execute(text("CREATE TABLE naive_contacts (account_id TEXT, number TEXT, due TEXT)"))
    start = time.perf_counter()
    with db.session() as s:
        s.execute(
            text(
                "INSERT INTO naive_contacts SELECT a.account_id, p.number, :now FROM accounts a"
                " JOIN phones p ON p.account_id = a.account_id AND p.kind = 'primary'"
                " WHERE a.status = 'open' AND a.days_past_due BETWEEN 30 AND 89"
            ),
            {"now": NOW.isoformat()},
        )
    return time.perf_counter() - start, watch.longest


def _launch(db: Database, chunk: int) -> tuple[float, float, int]:
    campaign = CampaignSettings.model_validate(
        {
            "name": "bench",
            "channel": "voice",
            "segment": {"dpd_min": 30, "dpd_max": 89, "exclude_open_promises": True},
            "schedule": {"cron": "0 9 * * *", "timezone": "America/New_York"},
        }
    )
    watch = LockWatch(db)
    start = time.perf_counter()
    result = launch(
        db,
        campaign,
        slot_at=NOW,
        key="bench",
        trigger="bench",
        clock=FixedClock(NOW),
        actor="bench",
        chunk=chunk,
    )
    return time.perf_counter() - start, watch.longest, result.contacts


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench launch")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        naive_db = Database(f"sqlite:///{Path(tmp) / 'naive.db'}")
        duecall_db = Database(f"sqlite:///{Path(tmp) / 'duecall.db'}")
        for db in (naive_db, duecall_db):
            upgrade(db)
            _seed(db, args.accounts)
        naive_time, naive_lock = _one_statement(naive_db)
        took, longest, contacts = _launch(duecall_db, args.chunk)
        naive_db.dispose()
        duecall_db.dispose()
    print(f"campaign launch, {args.accounts:,} accounts, {contacts:,} in the segment (SQLite)")
    print(f"  one INSERT ... SELECT: {naive_time:7.2f} s, lock held {naive_lock * 1000:6.0f} ms")
    print(f"  duecall launch:        {took:7.2f} s, longest write {longest * 1000:6.0f} ms")
    print(f"  time ratio launch / one statement:     {took / naive_time:6.1f}x")
    print(f"  longest write / one statement's lock:  {longest / naive_lock:6.2f}")
