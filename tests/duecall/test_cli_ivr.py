"""`duecall ivr call`: a hotline call through the simulator, scripted or typed at the terminal."""

from __future__ import annotations

from click.testing import CliRunner

from duecall.cli import cli
from store.clock import FixedClock
from store.db import Database
from tests.webhooks.voice_support import EN_PHONE, seed

UNSET = {"TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None, "DUECALL_SECRET_KEY": None}


def test_ivr_call_with_scripted_keys_prints_the_call_without_any_secrets_set(
    db: Database, db_url: str, clock: FixedClock
) -> None:
    seed(db, clock.now())
    result = CliRunner().invoke(
        cli,
        ["ivr", "call", "--from", EN_PHONE, "--keys", "7391,19710326,1,hangup"],
        env={"DUECALL_DATABASE_URL": db_url, **UNSET},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "[en-US] Thank you for calling Northwind Card Services."
    assert "  > 7391" in lines
    assert "[en-US] Your balance is $4,823.17." in lines
    assert lines[-1] == "  (hang up)"


def test_ivr_call_reads_keys_from_the_terminal_at_each_prompt(
    db: Database, db_url: str, clock: FixedClock
) -> None:
    seed(db, clock.now())
    typed = "2\n70000002#\n6058\n19830819\n1\n"  # then end of input: the caller hangs up
    result = CliRunner().invoke(
        cli, ["ivr", "call"], input=typed, env={"DUECALL_DATABASE_URL": db_url, **UNSET}
    )
    assert result.exit_code == 0, result.output
    assert "[cmn-CN] 普通话服务请按2。" in result.output.replace(
        "感谢致电Northwind Card Services。", ""
    )
    assert "[cmn-CN] 您的欠款余额为18652.43元。" in result.output
    assert result.output.count("keys> ") >= 5


def test_ivr_call_rejects_a_bad_key_script(db_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["ivr", "call", "--keys", "1,abc"], env={"DUECALL_DATABASE_URL": db_url, **UNSET}
    )
    assert result.exit_code == 2
    assert "abc" in result.output
