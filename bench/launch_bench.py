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

from sqlalchemy import bindparam, event, text
from sqlalchemy.engine import Connection

from bench.scratch import engine_name, peak_rss_mb, scratch_db
from campaigns.config import CampaignSettings
from dialer.launch import SNAPSHOT_CHUNK, launch
from store.clock import FixedClock
from store.db import Database
from store.types import UTCDateTime

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


_SERIES = {
    # Rows generated inside the database: seeding a million accounts costs no Python memory,
    # so the peak RSS reported is the launch's own.
    "sqlite": "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < :n - 1)",
    "postgresql": "WITH s(i) AS (SELECT generate_series(0, :n - 1))",
}
_ID = {"sqlite": "printf('B%08d', i)", "postgresql": "'B' || lpad(i::text, 8, '0')"}
_NUMBER = {
    "sqlite": "printf('+1212555%04d', i % 10000)",
    "postgresql": "'+1212555' || lpad((i % 10000)::text, 4, '0')",
}


def _seed(db: Database, count: int) -> None:
    dialect = db.engine.dialect.name
    series, account_id, number = _SERIES[dialect], _ID[dialect], _NUMBER[dialect]
    yes = "1" if dialect == "sqlite" else "true"
    with db.session() as s:
        params = {"n": count, "now": NOW, "due": date(2026, 11, 1), "born": date(1980, 1, 1)}
        params["as_of"] = date(2026, 11, 30)
        s.execute(
            text(
                f"{series} INSERT INTO accounts (account_id, customer_id, name, language,"
                " timezone, currency, balance, minimum_due, due_date, days_past_due, card_last4,"
                " birth_date, status, balance_as_of, created_at, updated_at)"
                f" SELECT {account_id}, {account_id}, 'Bench Person', 'en-US', NULL, 'USD', 50000,"
                " 2500, :due, 30 + i % 60, '4242', :born, 'open', :as_of, :now, :now FROM s"
            ).bindparams(bindparam("now", type_=UTCDateTime)),
            params,
        )
        s.execute(
            text(
                f"{series} INSERT INTO phones (account_id, kind, number, voice_consent,"
                " sms_consent, created_at, updated_at)"
                f" SELECT {account_id}, 'primary', {number}, {yes}, {yes}, :now, :now FROM s"
            ).bindparams(bindparam("now", type_=UTCDateTime)),
            {"n": count, "now": NOW},
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


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench launch")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--accounts", type=_sizes, default=[100_000, 1_000_000], help="sizes, e.g. 100000,1000000"
    )
    parser.add_argument(
        "--chunk", type=int, default=None, help="accounts per chunk (default: the engine's)"
    )
    args = parser.parse_args(argv)
    engine = engine_name(args.database)
    chunk = args.chunk or SNAPSHOT_CHUNK["sqlite" if engine == "SQLite" else "postgresql"]
    print(f"campaign launch, chunks of {chunk:,} accounts ({engine})")
    rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for accounts in args.accounts:
            with scratch_db(args.database, workdir, "naive") as naive_db:
                _seed(naive_db, accounts)
                naive_time, naive_lock = _one_statement(naive_db)
            with scratch_db(args.database, workdir, "launch") as duecall_db:
                _seed(duecall_db, accounts)
                took, longest, contacts = _launch(duecall_db, chunk)
            rates.append(contacts / took)
            print(f"  {accounts:,} accounts, {contacts:,} in the segment")
            naive_ms = naive_lock * 1000
            print(f"    one INSERT ... SELECT: {naive_time:7.2f} s, lock held {naive_ms:6.0f} ms")
            print(
                f"    duecall launch:        {took:7.2f} s, longest write {longest * 1000:6.0f} ms,"
                f" {contacts / took:,.0f} contacts/s"
            )
            print(f"    time ratio launch / one statement:    {took / naive_time:6.1f}x")
            print(f"    longest write / one statement's lock: {longest / naive_lock:6.2f}")
            print(f"    peak RSS of the process so far:       {peak_rss_mb():6.0f} MB")
    if len(rates) > 1:
        sizes = f"{args.accounts[-1]:,} / rate at {args.accounts[0]:,}"
        print(f"  rate at {sizes}: {rates[-1] / rates[0]:.2f}  (linear ~1)")
