"""A launch reads its segment a chunk at a time along the primary key, never sorting it all.

Given a plain ``status = 'open'`` SQLite chose the (status, days_past_due) index and sorted the
whole segment for every chunk: a 100,000-account launch took 31 s instead of 5 s (`make bench`).
PostgreSQL did the same (100,000 accounts: 50 s) until a chunk became a window of the primary key
copied by one INSERT ... SELECT, planned by index whatever the statistics say.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from campaigns.config import CampaignSettings, SegmentSettings
from campaigns.segments import segment_chunk
from dialer.launch import SNAPSHOT_CHUNK, launch
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade
from store.planning import plan_by_index
from tests import factories


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


SEED_ACCOUNTS = (
    "INSERT INTO accounts (account_id, customer_id, name, language, timezone, currency, balance,"
    " minimum_due, due_date, days_past_due, card_last4, birth_date, status, balance_as_of,"
    " created_at, updated_at)"
    " SELECT 'B' || lpad(i::text, 8, '0'), 'B' || lpad(i::text, 8, '0'), 'Bench Person', 'en-US',"
    " NULL, 'USD', 50000, 2500, DATE '2026-11-01', 30 + i % 60, '4242', DATE '1980-01-01', 'open',"
    " DATE '2026-11-30', now(), now() FROM generate_series(0, :n - 1) AS i"
)
SEED_PHONES = (
    "INSERT INTO phones (account_id, kind, number, voice_consent, sms_consent, created_at,"
    " updated_at) SELECT 'B' || lpad(i::text, 8, '0'), 'primary',"
    " '+1212555' || lpad((i % 10000)::text, 4, '0'), true, true, now(), now()"
    " FROM generate_series(0, :n - 1) AS i"
)
SEED_PAYMENTS = (
    "INSERT INTO payments (payment_id, account_id, amount, paid_at, paid_on, created_at)"
    " SELECT 'P' || i, 'B' || lpad(i::text, 8, '0'), 1000, now(), DATE '2026-12-01', now()"
    " FROM generate_series(0, :n - 1, 7) AS i"
)
SEED_PROMISES = (
    "INSERT INTO promises (account_id, customer_id, promised_date, amount, currency, status,"
    " source, created_at, created_by, paid_amount)"
    " SELECT 'B' || lpad(i::text, 8, '0'), 'B' || lpad(i::text, 8, '0'), DATE '2026-12-05', 1000,"
    " 'USD', 'open', 'ivr', now(), 'test', 0 FROM generate_series(0, :n - 1, 11) AS i"
)


def _launch_statements(db: Database, chunk: int) -> list[tuple[str, Any]]:
    """The statements of one chunk of a launch: the window and the contacts insert."""
    campaign = CampaignSettings.model_validate(
        {
            "name": "plan",
            "channel": "voice",
            "segment": {"dpd_min": 30, "dpd_max": 89, "exclude_open_promises": True},
            "schedule": {"cron": "0 9 * * *", "timezone": "America/New_York"},
        }
    )
    statements: list[tuple[str, Any]] = []

    def _capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith(("INSERT INTO contacts", "SELECT max(")):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", _capture)
    now = datetime(2026, 12, 1, 14, tzinfo=UTC)
    result = launch(
        db, campaign, slot_at=now, key="plan", trigger="schedule", clock=FixedClock(now),
        actor="plan", chunk=chunk,
    )  # fmt: skip
    event.remove(db.engine, "before_cursor_execute", _capture)
    assert result.contacts > 0
    # The second chunk: a window in the middle of the table, bounded on both sides.
    return statements[2:4]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("chunk", [1_000, SNAPSHOT_CHUNK["postgresql"]])
@pytest.mark.parametrize("analyzed", [False, True], ids=["while-loading", "analyzed"])
def test_on_postgresql_a_launch_chunk_reads_a_window_of_the_primary_key(
    pg_url: str, analyzed: bool, chunk: int
) -> None:
    # PostgreSQL took the (status, days_past_due) index and sorted the rest of the segment for
    # every chunk: 100,000 accounts launched in 50 s, 222x one INSERT ... SELECT.
    db = Database(pg_url)
    upgrade(db)
    with db.engine.begin() as conn:
        for seed in (SEED_ACCOUNTS, SEED_PHONES, SEED_PAYMENTS, SEED_PROMISES):
            conn.execute(text(seed), {"n": 20_000})
        if analyzed:
            conn.execute(text("ANALYZE"))
    # The default chunk on PostgreSQL as well as a smaller one: the plan must not change with
    # the window's size (a larger window must not tip the planner into a scan and a sort).
    statements = _launch_statements(db, chunk=chunk)
    assert [s.split()[0] for s, _ in statements] == ["SELECT", "INSERT"]
    with db.engine.connect() as conn:
        plan_by_index(conn)  # as the launch's chunk transaction does
        for statement, parameters in statements:
            (row,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            nodes = list(_nodes(row[0][0]["Plan"]))
            for node in nodes:
                assert node["Node Type"] != "Sort", statement
                if node.get("Relation Name") in ("accounts", "phones", "payments", "promises"):
                    assert node["Node Type"] != "Seq Scan", f"{statement}: {node}"
            # Accounts are found by the window's bounds on the primary key.
            assert any(
                node.get("Index Name") == "pk_accounts"
                and "account_id" in node.get("Index Cond", "")
                for node in nodes
            ), statement
    db.dispose()


def test_on_sqlite_the_contacts_insert_searches_a_window_of_the_primary_key(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path}/launch.db")
    upgrade(db)
    clock = FixedClock(datetime(2026, 11, 29, 12, tzinfo=UTC))
    with db.session() as session:
        for i in range(30):
            factories.add_account(
                session, f"A{i:04d}", f"+1212555{i:04d}", now=clock.now(), days_past_due=45
            )
    window, (statement, parameters) = _launch_statements(db, chunk=10)
    assert window[0].startswith("SELECT max(")
    with db.engine.connect() as conn:
        plan = " | ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert "USING INDEX sqlite_autoindex_accounts_1 (account_id>? AND account_id<?)" in plan
    assert "TEMP B-TREE" not in plan
    assert "SCAN accounts" not in plan
    db.dispose()
