"""`duecall concession ...`, `duecall export concessions` and the report's concessions, end to
end through the command line on a real store, with the shipped config's offers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from duecall.cli import cli
from store.clock import SystemClock
from store.db import Database
from store.models import AuditLog
from store.models_concessions import Concession
from tests import factories

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)
    shipped = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"logging": {"level": "WARNING"}, "concessions": shipped["concessions"]},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with db.session() as s:
        factories.add_account(
            s,
            "A1",
            "+14155550123",
            now=NOW,
            balance="1000.00",
            fees_due="39.00",
            interest_due="400.00",
            days_past_due=95,
        )
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "220"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_an_agent_grants_within_the_limit_and_a_supervisor_approves_above_it(
    env: dict[str, str], db: Database
) -> None:
    code, out, _ = invoke(
        env, "concession", "offer", "A1", "late-fee-waiver", "--as", "ana", "--role", "agent"
    )
    assert code == 0
    assert "concession 1 granted: late-fee-waiver on A1: waive 39.00 USD of 39.00 late fees" in out

    # 200.00 of interest is 50 %, within the percentage but above the agent's 150.00.
    code, out, _ = invoke(
        env,
        "concession",
        "offer",
        "A1",
        "interest-waiver",
        "--as",
        "ana",
        "--role",
        "agent",
        "--amount",
        "200.00",
        "--note",
        "job loss",
    )
    assert code == 0
    assert "concession 2 pending" in out
    assert "duecall concession approve 2 --as NAME --reason TEXT" in out

    code, out, _ = invoke(env, "concession", "list", "--status", "pending")
    assert code == 0
    assert "interest-waiver" in out and "job loss" in out and "late-fee-waiver" not in out

    code, _, err = invoke(
        env, "concession", "approve", "2", "--as", "bob", "--role", "agent", "--reason", "ok"
    )
    assert code == 2
    assert "not_supervisor: only a supervisor decides a request" in err

    code, out, _ = invoke(
        env, "concession", "approve", "2", "--as", "sam", "--reason", "documented hardship"
    )
    assert code == 0
    assert "concession 2 granted: waive 200.00 USD of 400.00 interest due" in out

    with db.session(readonly=True) as s:
        row = s.get_one(Concession, 2)
        assert (row.status, row.decided_by, row.decided_role, row.reason) == (
            "granted",
            "sam",
            "supervisor",
            "documented hardship",
        )
        actions = s.execute(
            select(AuditLog.action, AuditLog.actor).where(AuditLog.entity_type == "concession")
        ).all()
        assert sorted(actions) == [
            ("concession.approved", "sam"),
            ("concession.granted", "ana"),
            ("concession.requested", "ana"),
        ]


def test_a_decline_needs_a_reason_and_a_refusal_exits_2_storing_nothing(
    env: dict[str, str], db: Database
) -> None:
    code, _, err = invoke(
        env,
        "concession",
        "offer",
        "A1",
        "settlement",
        "--as",
        "ana",
        "--role",
        "agent",
        "--percent",
        "30",
    )
    assert code == 2
    assert err.startswith("refused (above_limit): above what a supervisor may grant")
    code, _, err = invoke(
        env, "concession", "offer", "A1", "no-such-offer", "--as", "ana", "--role", "agent"
    )
    assert code == 2 and "unknown_offer" in err
    code, _, err = invoke(
        env,
        "concession",
        "offer",
        "A1",
        "late-fee-waiver",
        "--as",
        "ana",
        "--role",
        "agent",
        "--amount",
        "12.345",
    )
    assert code == 2 and "is not an amount such as 25.00" in err
    with db.session(readonly=True) as s:
        assert s.scalars(select(Concession)).all() == []

    invoke(
        env,
        "concession",
        "offer",
        "A1",
        "settlement",
        "--as",
        "ana",
        "--role",
        "agent",
        "--percent",
        "45",
    )
    code, _, err = invoke(env, "concession", "decline", "1", "--as", "sam")
    assert code == 2 and "--reason" in err
    code, out, _ = invoke(
        env, "concession", "decline", "1", "--as", "sam", "--reason", "can pay more"
    )
    assert code == 0 and "concession 1 declined" in out
    code, _, err = invoke(env, "concession", "approve", "1", "--as", "sue", "--reason", "x")
    assert code == 2 and "concession #1 is declined, not pending" in err
    code, out, _ = invoke(env, "concession", "list", "--status", "declined")
    assert "can pay more" in out

    # A reason is the decider's free text: in CSV it never runs as a spreadsheet formula.
    invoke(
        env,
        "concession",
        "offer",
        "A1",
        "settlement",
        "--as",
        "ana",
        "--role",
        "agent",
        "--percent",
        "45",
    )
    invoke(env, "concession", "decline", "2", "--as", "sam", "--reason", "=1+1")
    code, out, _ = invoke(env, "export", "concessions")
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(out))]
    assert reasons == ["can pay more", "'=1+1"]


def test_offers_lists_what_the_account_qualifies_for(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "concession", "offers", "A1")
    assert code == 0
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert "yes" in lines["late-fee-waiver"]
    # Half of 400.00 of interest is above the agent's 150.00.
    assert "no: a supervisor" in lines["interest-waiver"]
    assert "settle for 600.00 USD of 1000.00" in lines["settlement"]
    code, _, err = invoke(env, "concession", "offers", "NOPE")
    assert code == 2 and "no account 'NOPE'" in err


def test_export_concessions_as_csv_and_json_and_the_report_section(
    env: dict[str, str], tmp_path: Path
) -> None:
    invoke(env, "concession", "offer", "A1", "late-fee-waiver", "--as", "ana", "--role", "agent")
    code, out, err = invoke(env, "plan", "create", "A1", "--installments", "12")
    assert code == 0, out + err
    invoke(
        env,
        "concession",
        "offer",
        "A1",
        "hardship-rate",
        "--as",
        "sam",
        "--role",
        "supervisor",
        "--apr-bps",
        "500",
        "--months",
        "12",
        "--plan-id",
        "1",
    )
    code, out, _ = invoke(env, "export", "concessions")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "id", "account_id", "offer", "kind", "currency", "amount", "base", "percent", "apr_bps",
        "months", "plan_id", "effective_date", "end_date", "status", "requested_by",
        "requested_role", "requested_at", "decided_by", "decided_role", "decided_at", "reason",
    ]  # fmt: skip
    assert (rows[0]["kind"], rows[0]["amount"], rows[0]["end_date"]) == ("fee_waiver", "39.00", "")
    assert (rows[1]["apr_bps"], rows[1]["months"], rows[1]["plan_id"]) == ("500", "12", "1")
    assert (rows[1]["effective_date"], rows[1]["end_date"]) == ("2026-11-29", "2027-11-28")
    assert rows[1]["decided_by"] == "sam"

    code, out, _ = invoke(env, "export", "concessions", "--format", "json", "--since", "2026-11-30")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = invoke(env, "export", "concessions", "--format", "json")
    assert [r["amount"] for r in json.loads(out)] == ["39.00", None]

    page = tmp_path / "report.html"
    code, out, _ = invoke(env, "report", "--day", "2026-11-29", "--tz", "UTC", "--html", str(page))
    assert code == 0
    assert "Concessions granted" in out
    assert "fee_waiver" in out and "reduced_rate" in out
    assert "<h2>Concessions granted</h2>" in page.read_text(encoding="utf-8")
