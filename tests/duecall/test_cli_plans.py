"""`duecall plan offers|create`, `duecall export plans` and the plans in `duecall report`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from duecall.cli import cli
from store.clock import SystemClock
from store.db import Database
from store.models import Plan
from tests import factories

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


@pytest.fixture
def env(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"logging": {"level": "WARNING"}}), encoding="utf-8")
    with db.session() as s:
        factories.add_account(s, "A1", "+12125550123", now=NOW, balance="1236.99")
        factories.add_account(s, "B2", "+12125550124", now=NOW, status="bankrupt")
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "200"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_offers_lists_what_the_account_may_have(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "plan", "offers", "A1")
    assert code == 0
    assert "3 monthly payments of 412.33 USD (last 412.33), 2026-12-06 to 2027-02-06" in out
    code, _, err = invoke(env, "plan", "offers", "B2")
    assert code == 1 and "refused: status: the account is bankrupt" in err


def test_create_refuses_with_the_reason_and_stores_nothing(
    env: dict[str, str], db: Database
) -> None:
    for args, reason in (
        (["--installments", "20"], "refused: count: 20 installments; from 2 to 12"),
        (["--installments", "3", "--first", "2027-05-01"], "refused: first_date"),
        (["--installments", "3", "--total", "5000.00"], "refused: total"),
    ):
        code, _, err = invoke(env, "plan", "create", "A1", *args)
        assert code == 1 and reason in err
    code, _, err = invoke(env, "plan", "create", "A1", "--installments", "3", "--total", "12.345")
    assert code == 2 and "not an amount in cents" in err
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0


def test_a_created_plan_is_exported_as_installment_rows_and_reported(
    env: dict[str, str], db: Database
) -> None:
    code, out, _ = invoke(
        env, "plan", "create", "A1", "--installments", "3", "--frequency", "fortnightly"
    )
    assert code == 0 and "plan 1: 3 fortnightly payments, 1236.99 USD" in out
    code, out, _ = invoke(env, "export", "plans", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["seq"], r["due_date"], r["amount"], r["status"]) for r in rows] == [
        ("1", "2026-12-06", "412.33", "due"),
        ("2", "2026-12-20", "412.33", "due"),
        ("3", "2027-01-03", "412.33", "due"),
    ]
    assert {r["plan_status"] for r in rows} == {"active"}
    code, out, _ = invoke(env, "export", "plans", "--format", "json", "--since", "2026-11-30")
    assert json.loads(out) == []
    code, out, _ = invoke(env, "report", "--tz", "America/New_York")
    assert code == 0
    assert "Repayment plans" in out and "│ active │ USD      │     1 │    1,236.99 │" in out
    assert "repayment plans completed (of those resolved)" in out
    with db.session() as s:
        s.add(factories.payment("P1", "A1", "1236.99", paid_on=date(2026, 11, 29)))
    code, out, _ = invoke(env, "report", "--tz", "America/New_York")
    assert "100.0% (1 of 1)" in out


def test_a_payments_import_says_which_payments_a_plan_could_not_take(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert invoke(env, "plan", "create", "A1", "--installments", "3")[0] == 0
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "payment_id,account_id,amount,paid_at,currency\n"
        "P1,A1,412.33,2026-11-29,CAD\n"
        "P2,A1,412.33,2026-11-29,USD\n",
        encoding="utf-8",
    )
    code, out, _ = invoke(env, "payments", "import", str(payments))
    assert code == 0
    assert "plans: 0 completed, 0 broken, 1 installments paid, 0 missed; " in out
    assert "1 payments in another currency not applied" in out
    code, out, _ = invoke(env, "report", "--tz", "America/New_York")
    assert "Payments in another currency than their plan's, not applied: 1." in out
