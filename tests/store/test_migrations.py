"""Migrations build the schema on both engines, and the models cannot drift from them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store.db import Database
from store.migrate import current_revisions, head_revisions, upgrade
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
    "callback_requests",
    "inbound_messages",
    *("campaign_runs", "contacts", "callback_events", "campaign_controls", "pacing_budgets"),
    *("ivr_sessions", "ivr_verification_failures", "ivr_verification_locks", "fraud_reports"),
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
            upgrade(db, "0007")
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
        assert len(second) == 1, second
        assert second[0].startswith("Running upgrade 0007 -> 0008, ")
        assert third == [] and reading == []
        assert not any("Context impl" in line or "Will assume" in line for line in first)
    finally:
        db.dispose()
