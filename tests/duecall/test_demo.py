"""`duecall demo` plays a whole collections day on the local carrier and the numbers add up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from duecall.cli import cli
from duecall.demo import absolute_url
from store.db import Database
from store.models import Account, Attempt, ComplianceDecision, OutboxItem, Promise, Suppression
from tests.duecall.test_cli_reports import table_rows


@pytest.mark.slow
def test_the_demo_day_runs_end_to_end_and_leaves_its_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    result = CliRunner().invoke(cli, ["demo", "--database", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "accounts.csv: 300 accounts rows, 300 landed" in out
    assert "campaign mid-stage-voice launched" in out
    assert "campaign early-reminder-sms launched" in out
    assert "calls the hotline, verifies and hears the balance" in out
    assert "Your balance is $" in out
    assert "the carrier reported" not in out  # the simulator saw no bad TwiML or request
    assert "one reminder call that ended in a promise" in out
    # The end-of-day report counts the demo's day in New York, says so, and says how to see it
    # again; the store is named by one whole line to paste, however narrow the terminal.
    assert "day: 2026-12-01 (America/New_York)" in out
    assert "  duecall report --day 2026-12-01 --tz America/New_York\n" in out
    assert f"\nexport DUECALL_DATABASE_URL={url}\n" in out
    assert "  .venv/bin/duecall report --day 2026-12-01 --tz America/New_York\n" in out
    day_calls = next(r for r in table_rows(out) if r[0] == "calls and texts")
    assert int(day_calls[1]) > 150 and day_calls[1] == day_calls[2]  # the one day is all time
    assert "The desk's queues" in out  # the desk's figures are part of the day's report

    # The same command later, on the demo's store, counts the same calls for that day.
    again = CliRunner().invoke(
        cli,
        ["report", "--day", "2026-12-01", "--tz", "America/New_York"],
        env={"DUECALL_DATABASE_URL": url},
        catch_exceptions=False,
    )
    assert again.exit_code == 0, again.output
    assert next(r for r in table_rows(again.stdout) if r[0] == "calls and texts") == day_calls

    db = Database(url)
    with db.session(readonly=True) as s:
        by_channel = dict(
            s.execute(select(Attempt.channel, func.count()).group_by(Attempt.channel)).all()
        )
        assert by_channel["voice"] > 100 and by_channel["sms"] > 50
        promises = s.scalar(select(func.count()).select_from(Promise))
        assert promises and promises >= 10
        # Every promise got its confirmation SMS through the outbox (sent or denied by policy).
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
            )
            == 0
        )
        rules = dict(
            s.execute(
                select(ComplianceDecision.rule, func.count()).group_by(ComplianceDecision.rule)
            ).all()
        )
        # Mandarin cardholders in Shanghai are asleep during New York's morning.
        assert rules["window"] > 0 and rules["allowed"] > 100
        kinds = set(s.scalars(select(Suppression.kind)))
        assert kinds == {"optout-sms"}
        # The day ran from 08:00 to 21:00 in New York (13:00 to 02:00 UTC); the policy kept each
        # cardholder inside their own window (pinned in the policy tests).
        first, last = s.execute(
            select(func.min(Attempt.created_at), func.max(Attempt.created_at))
        ).one()
        assert datetime(2026, 12, 1, 13, tzinfo=UTC) <= first <= last
        assert last < datetime(2026, 12, 2, 2, tzinfo=UTC)
    db.dispose()


def test_the_demo_refuses_a_store_it_did_not_make(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/real.db"
    env = {"DUECALL_DATABASE_URL": url}
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    accounts = tmp_path / "a.csv"
    accounts.write_text(
        "account_id,name,phone,language,timezone,balance,minimum_due,due_date,days_past_due,"
        "card_last4,birth_date\nR1,Real Person,+14155550123,en-US,,10.00,1.00,2026-11-01,3,1234,"
        "1980-01-01\n",
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["accounts", "import", str(accounts)], env=env).exit_code == 0
    result = runner.invoke(cli, ["demo", "--database", url], catch_exceptions=False)
    assert result.exit_code == 2
    assert "holds accounts the demo did not import" in result.stdout
    db = Database(url)
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 1  # untouched
    db.dispose()


def test_the_demo_names_its_store_by_an_absolute_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_url("sqlite:///var/demo.db") == f"sqlite:///{tmp_path.resolve()}/var/demo.db"
    assert absolute_url("sqlite:////srv/demo.db") == "sqlite:////srv/demo.db"
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/demo"
    assert absolute_url(pg) == pg
