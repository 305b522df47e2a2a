"""`duecall suppress add|remove`: every change lands with who and why, in the audit log too."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from duecall.cli import cli
from store.db import Database
from store.models import AuditLog, Suppression


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  level: WARNING\n", encoding="utf-8")
    e = {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=e).exit_code == 0
    return e


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_add_and_remove_a_number_suppression(env: dict[str, str], db_url: str) -> None:
    code, out, err = run(
        env,
        "suppress",
        "add",
        "--number",
        "(212) 555-0123",
        "--kind",
        "dnc",
        "--reason",
        "asked on the phone",
        "--by",
        "maria",
    )
    assert code == 0, err
    assert out.strip() == "dnc added to number +1******0123"
    code, out, _ = run(
        env, "suppress", "add", "--number", "+12125550123", "--kind", "dnc", "--reason", "again"
    )
    assert out.strip() == "dnc already in force on number +1******0123"
    code, out, _ = run(
        env,
        "suppress",
        "remove",
        "--number",
        "+12125550123",
        "--kind",
        "dnc",
        "--reason",
        "consent given back in writing",
        "--by",
        "li",
    )
    assert out.strip() == "dnc lifted on number +1******0123"

    db = Database(db_url)
    with db.session(readonly=True) as s:
        row = s.scalars(select(Suppression)).one()
        assert (row.number, row.kind, row.created_by, row.reason) == (
            "+12125550123",
            "dnc",
            "maria",
            "asked on the phone",
        )
        assert (row.removed_by, row.removed_reason) == ("li", "consent given back in writing")
        actions = [(a.action, a.actor) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions == [("suppression.add", "maria"), ("suppression.remove", "li")]
        detail = s.scalars(select(AuditLog)).first().detail  # type: ignore[union-attr]
        assert "2125550123" not in str(detail)  # masked in the audit detail
    db.dispose()


def test_bad_requests_are_refused_with_a_clear_error(env: dict[str, str]) -> None:
    code, _, err = run(env, "suppress", "add", "--number", "12", "--kind", "dnc", "--reason", "x")
    assert code == 2 and "not a valid phone number" in err
    code, _, err = run(
        env, "suppress", "add", "--account", "nope", "--kind", "cease", "--reason", "x"
    )
    assert code == 2 and "unknown account nope" in err
    code, _, err = run(env, "suppress", "add", "--kind", "cease", "--reason", "x")
    assert code == 2 and "exactly one of a number or an account" in err
    code, _, err = run(
        env, "suppress", "add", "--number", "+12125550123", "--kind", "spam", "--reason", "x"
    )
    assert code == 2 and "Invalid value for '--kind'" in err
