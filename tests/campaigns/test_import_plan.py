"""The account import's per-batch statements never scan the accounts table on PostgreSQL.

Each batch asks "which of these 500 ids exist?" with ``account_id IN (...)``. After a few batches
psycopg prepares it, and PostgreSQL planned it as a sequential scan comparing every row with every
id (a table being loaded looks small to the planner): each batch cost the whole table, and 60,000
rows took ten times as long as 20,000 (`python -m bench import --database URL`). Each batch now
plans by index (``store.planning.plan_by_index``); this test checks that it asks for it and that
no statement of a batch scans the table under it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from campaigns.importing import ImportOptions, import_accounts
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade
from store.planning import plan_by_index

HEADER = [
    *("account_id", "name", "phone", "language", "timezone", "balance", "minimum_due"),
    *("due_date", "days_past_due", "card_last4", "birth_date", "alt_phone"),
]


def _write(path: Path, ids: range, *, alt_every: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in ids:
            alt = f"+1212555{(i + 5000) % 10000:04d}" if i % alt_every == 0 else ""
            writer.writerow(
                [f"A{i:07d}", "Pat Doe", f"+1212555{i % 10000:04d}", "en-US", "", "500.00",
                 "25.00", "2026-11-01", "40", "4242", "1980-01-01", alt]
            )  # fmt: skip


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_an_import_batch_reads_accounts_only_through_the_primary_key(
    pg_url: str, tmp_path: Path
) -> None:
    db = Database(pg_url)
    upgrade(db)
    clock = FixedClock(datetime(2026, 11, 29, 12, tzinfo=UTC))
    options = ImportOptions(batch_size=500)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _write(first, range(4000), alt_every=7)
    # Half already stored (re-imported, some losing their alternate number), half new.
    _write(second, range(3750, 4250), alt_every=11)
    assert import_accounts(db, first, options=options, clock=clock).inserted == 4000

    captured: list[tuple[str, Any]] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "accounts" in statement or "phones" in statement or "enable_seqscan" in statement:
            # An executemany of one row per call (psycopg's own) is explained with its first row.
            many = executemany and isinstance(parameters, list | tuple)
            captured.append((statement, parameters[0] if many else parameters))

    result = import_accounts(db, second, options=options, clock=clock)
    event.remove(db.engine, "before_cursor_execute", _capture)
    assert (result.inserted, result.updated) == (250, 250)

    guards = [s for s, _ in captured if "enable_seqscan" in s]
    assert len(guards) == 1  # one batch, planned by index
    arbiters: list[str] = []
    with db.engine.connect() as conn:
        plan_by_index(conn)  # as the batch's transaction does
        for statement, parameters in captured:
            if statement in guards:
                continue
            if statement.startswith("CREATE TEMPORARY TABLE"):
                # The batch's staging table (COPY fills it; the upsert reads it): made here too,
                # so the upsert from it can be explained.
                conn.exec_driver_sql(statement)
                continue
            (row,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            doc = row[0] if not isinstance(row[0], str) else json.loads(row[0])
            for node in _nodes(doc[0]["Plan"]):
                assert not (
                    node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "accounts"
                ), f"{statement.splitlines()[0]} scans accounts: {node}"
                arbiters += node.get("Conflict Arbiter Indexes", [])
    assert "pk_accounts" in arbiters  # the upsert finds each row by the primary key
    # The batch reaches the server in one COPY and one upsert per table, not a row at a time.
    upserts = [s for s, _ in captured if s.startswith("INSERT INTO accounts")]
    assert len(upserts) == 1 and "FROM duecall_stage_accounts" in upserts[0]
    db.dispose()
