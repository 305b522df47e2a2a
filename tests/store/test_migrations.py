"""Migrations build the schema on both engines, and the models cannot drift from them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from store.db import Database
from store.migrate import current_revisions, head_revisions, upgrade
from store.models import InboundMessage
from store.schema import metadata as schema_metadata

EXPECTED_TABLES = {
    "accounts",
    "phones",
    "payments",
    "suppressions",
    "audit_log",
    "import_batches",
    "attempts",
    "compliance_decisions",
    "outbox",
    "promises",
    "plans",
    "plan_installments",
    "callback_requests",
    "inbound_messages",
    *("campaign_runs", "contacts", "callback_events", "campaign_controls", "pacing_budgets"),
    *("ivr_sessions", "ivr_verification_failures", "ivr_verification_locks", "fraud_reports"),
    "concessions",
    *("desk_agents", "desk_queue_entries"),
}


def _assert_upgrade_and_no_drift(db: Database) -> None:
    assert current_revisions(db) == frozenset()
    upgrade(db)
    assert current_revisions(db) == head_revisions(db)
    tables = set(inspect(db.engine).get_table_names())
    assert tables >= EXPECTED_TABLES
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), schema_metadata
        )
    assert diff == [], f"models and migrations differ: {diff}"
    upgrade(db)  # running it again is a no-op
    assert current_revisions(db) == head_revisions(db)


def test_upgrade_builds_the_schema_on_sqlite_without_drift(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        _assert_upgrade_and_no_drift(db)
    finally:
        db.dispose()


def test_upgrade_builds_the_schema_on_postgresql_without_drift(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        _assert_upgrade_and_no_drift(db)
    finally:
        db.dispose()


def test_drift_is_detected_when_a_model_gains_a_column(tmp_path: object) -> None:
    """Negative control: the comparison above would notice a model the migrations lack."""
    from sqlalchemy import Column, Integer, MetaData, Table

    db = Database(f"sqlite:///{tmp_path}/drift.db")
    try:
        upgrade(db)
        metadata = MetaData()
        for table in schema_metadata.tables.values():
            table.to_metadata(metadata)
        Table("accounts", metadata, Column("shoe_size", Integer), extend_existing=True)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert any(op[0] == "add_column" and op[3].name == "shoe_size" for op in diff)
    finally:
        db.dispose()


def test_the_inbox_due_date_is_filled_in_for_messages_already_waiting(tmp_path: object) -> None:
    """0009 gives each free-text message already stored its answer-by date (10 business days
    after receipt) and leaves keyword rows without one."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path}/inbox.db")
    try:
        upgrade(db, "0008")
        with db.engine.begin() as conn:
            for sid, kind in (("SM1", "message"), ("SM2", "optout")):
                conn.execute(
                    text(
                        "INSERT INTO inbound_messages (message_sid, number, to_number, body, "
                        "kind, received_at) VALUES (:sid, '+14155550123', '+15005550006', 'x', "
                        ":kind, '2026-12-04 15:00:00')"  # a Friday, UTC
                    ),
                    {"sid": sid, "kind": kind},
                )
        upgrade(db)
        with db.session(readonly=True) as s:
            rows = dict(s.execute(select(InboundMessage.message_sid, InboundMessage.due_at)).all())
        assert rows == {"SM1": datetime(2026, 12, 18, 15, 0, tzinfo=UTC), "SM2": None}
    finally:
        db.dispose()


def _alembic_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("alembic")]
    caplog.clear()
    return lines


def test_alembic_speaks_only_when_it_migrates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{tmp_path}/quiet.db")
    try:
        with caplog.at_level(logging.INFO, logger="alembic"):
            upgrade(db, "0008")
            first = _alembic_lines(caplog)
            upgrade(db)
            second = _alembic_lines(caplog)
            upgrade(db)
            third = _alembic_lines(caplog)
            assert current_revisions(db) == head_revisions(db)
            reading = _alembic_lines(caplog)
            # The level the caller chose is back once Alembic is done.
            assert logging.getLogger("alembic").level == logging.INFO
        assert any(line.startswith("Running upgrade") and "-> 0001" in line for line in first)
        assert second and all(line.startswith("Running upgrade ") for line in second), second
        assert second[0].startswith("Running upgrade 0008 -> ")
        assert third == [] and reading == []
        assert not any("Context impl" in line or "Will assume" in line for line in first)
    finally:
        db.dispose()
