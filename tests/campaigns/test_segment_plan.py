"""A launch reads its segment a chunk at a time along the primary key, never sorting it all.

Given a plain ``status = 'open'`` SQLite chose the (status, days_past_due) index and sorted the
whole segment for every chunk: a 100,000-account launch took 31 s instead of 5 s (`make bench`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import event

from campaigns.config import SegmentSettings
from campaigns.segments import segment_chunk
from store.db import Database
from store.migrate import upgrade


def test_the_segment_chunk_walks_the_primary_key_without_a_sort(tmp_path: Path) -> None:
    # SQLite's plan, whatever engine the suite runs on (PostgreSQL plans by statistics).
    db = Database(f"sqlite:///{tmp_path}/plan.db")
    upgrade(db)
    statements: list[tuple[str, object]] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("SELECT accounts.account_id"):
            statements.append((statement, parameters))

    with db.session(readonly=True) as session:
        segment_chunk(
            session,
            SegmentSettings(dpd_min=30, dpd_max=89),
            today=date(2026, 12, 1),
            after="40000000",
            limit=1000,
        )
    ((statement, parameters),) = statements
    with db.engine.connect() as conn:
        plan = " | ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert "SEARCH accounts USING INDEX sqlite_autoindex_accounts_1 (account_id>?)" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan
    db.dispose()
