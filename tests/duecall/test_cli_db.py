"""`duecall db upgrade`: says one line on an up-to-date store, Alembic's lines only when it
migrates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from duecall.cli import cli
from store.db import Database
from store.migrate import head_revisions


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[dict[str, str]]:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  level: INFO\n", encoding="utf-8")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url}
    # The command installs its log handler on the root logger: take it away again.
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_db_upgrade_twice_logs_alembic_only_the_first_time(env: dict[str, str]) -> None:
    first = CliRunner().invoke(cli, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.stderr
    assert "INFO alembic.runtime.migration: Running upgrade  -> 0001" in first.stderr
    assert "Context impl" not in first.stderr and "Will assume" not in first.stderr

    second = CliRunner().invoke(cli, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert second.exit_code == 0, second.stderr
    db = Database(env["DUECALL_DATABASE_URL"])
    heads = ", ".join(sorted(head_revisions(db)))
    db.dispose()
    assert second.stdout.splitlines() == [f"database at revision {heads}"]
    assert "alembic" not in second.stderr
