"""`duecall desk ...`: agents added, listed and moved; the live queues."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from desk.queueing import Caller, enqueue
from duecall.cli import cli
from store.clock import SystemClock
from store.db import Database


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        "logging:\n  level: WARNING\ndesk:\n  shifts:\n    always:\n      agents: [Wei Chen]\n",
        encoding="utf-8",
    )
    e = {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "200"}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=e).exit_code == 0
    return e


def _add(env: dict[str, str], *args: str, password: str = "s3cret-pass\n") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["desk", "agent", "add", *args], env=env, input=password, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_an_agent_is_added_listed_and_made_available(env: dict[str, str]) -> None:
    code, out, err = _add(
        env,
        "Wei Chen",
        "--role",
        "agent",
        "--phone",
        "+14155550142",
        "--language",
        "zh-CN",
        "--language",
        "en-US",
        "--password-stdin",
    )
    assert code == 0, err
    assert "agent Wei Chen added" in out and "+14155550142" not in out
    listing = CliRunner().invoke(cli, ["desk", "agent", "list"], env=env)
    assert listing.exit_code == 0
    (row,) = [line for line in listing.stdout.splitlines() if "Wei Chen" in line]
    assert "away" in row and "zh-CN, en-US" in row and "always" in row
    moved = CliRunner().invoke(cli, ["desk", "agent", "state", "Wei Chen", "available"], env=env)
    assert moved.exit_code == 0 and "Wei Chen is now available" in moved.stdout


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--phone", "12"], "s3cret-pass\n", "phone"),
        (["--phone", "+14155550142"], "short\n", "8 characters"),
    ],
)
def test_bad_input_exits_2_with_the_reason(
    env: dict[str, str], args: list[str], password: str, message: str
) -> None:
    code, _, err = _add(env, "Bo", "--role", "agent", *args, "--password-stdin", password=password)
    assert code == 2 and message in err


def test_the_password_must_come_on_stdin(env: dict[str, str]) -> None:
    code, _, err = _add(env, "Bo", "--role", "agent", "--phone", "+14155550142")
    assert code == 2 and "--password-stdin" in err


def test_an_unknown_agent_is_a_usage_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["desk", "agent", "state", "Nobody", "away"], env=env)
    assert result.exit_code == 2 and "no agent named 'Nobody'" in result.stderr


def test_desk_queue_prints_the_live_queues_and_agents(env: dict[str, str], db_url: str) -> None:
    code, _, err = _add(
        env, "Wei Chen", "--role", "agent", "--phone", "+14155550142", "--password-stdin"
    )
    assert code == 0, err
    db = Database(db_url)
    try:
        with db.session() as s:
            enqueue(
                s,
                "fraud",
                Caller("CA1", "+14155550123", "en-US", "fraud", True),
                now=SystemClock().now(),
            )
    finally:
        db.dispose()
    result = CliRunner().invoke(cli, ["desk", "queue"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    (fraud,) = [line for line in result.stdout.splitlines() if "│ fraud" in line]
    assert "80%/20s" in fraud
    cells = [c.strip() for c in fraud.split("│")]
    assert cells[3] == "1"  # one caller waiting
    assert cells[2] == "no"  # the only agent on shift is away
    assert "agents: away 1, available 0" in result.stdout
    assert "callbacks: 0 open (0 due now, 0 missed and to be tried again), 0 placed" in (
        result.stdout
    )
    (agent,) = [line for line in result.stdout.splitlines() if "Wei Chen" in line]
    assert "off shift" not in agent  # the "always" shift covers every hour
    CliRunner().invoke(cli, ["desk", "agent", "state", "Wei Chen", "available"], env=env)
    result = CliRunner().invoke(cli, ["desk", "queue"], env=env, catch_exceptions=False)
    (fraud,) = [line for line in result.stdout.splitlines() if "│ fraud" in line]
    assert [c.strip() for c in fraud.split("│")][2] == "yes"


def test_listen_needs_a_supervisor_and_an_agent_on_a_call(env: dict[str, str]) -> None:
    for name, role in (("Wei Chen", "agent"), ("Bo", "supervisor")):
        code, _, err = _add(
            env, name, "--role", role, "--phone", "+14155550142", "--password-stdin"
        )
        assert code == 0, err
    secrets = {**env, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"}
    result = CliRunner().invoke(
        cli, ["desk", "listen", "Wei Chen", "--supervisor", "Bo"], env=secrets
    )
    assert result.exit_code == 2 and "Wei Chen is not on a call" in result.stderr
    result = CliRunner().invoke(
        cli, ["desk", "listen", "Bo", "--supervisor", "Wei Chen"], env=secrets
    )
    assert result.exit_code == 2 and "Wei Chen is not a supervisor" in result.stderr


def test_transfer_needs_an_agent_on_a_call_and_a_known_queue(env: dict[str, str]) -> None:
    code, _, err = _add(
        env, "Wei Chen", "--role", "agent", "--phone", "+14155550142", "--password-stdin"
    )
    assert code == 0, err
    secrets = {**env, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"}
    result = CliRunner().invoke(
        cli, ["desk", "transfer", "Wei Chen", "--queue", "nowhere"], env=secrets
    )
    assert result.exit_code == 2 and "no queue named 'nowhere'" in result.stderr
    result = CliRunner().invoke(
        cli, ["desk", "transfer", "Wei Chen", "--queue", "fraud"], env=secrets
    )
    assert result.exit_code == 2 and "Wei Chen is not on a call" in result.stderr


def test_a_transfer_is_cold_or_warm_and_warm_needs_a_supervisor(env: dict[str, str]) -> None:
    code, _, err = _add(
        env, "Wei Chen", "--role", "agent", "--phone", "+14155550142", "--password-stdin"
    )
    assert code == 0, err
    secrets = {**env, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"}
    result = CliRunner().invoke(cli, ["desk", "transfer", "Wei Chen"], env=secrets)
    assert result.exit_code == 2 and "either --queue (cold) or --supervisor (warm)" in result.stderr
    result = CliRunner().invoke(
        cli, ["desk", "transfer", "Wei Chen", "--supervisor", "Wei Chen"], env=secrets
    )
    assert result.exit_code == 2 and "Wei Chen is not a supervisor" in result.stderr


def test_a_token_is_created_listed_without_its_secret_and_revoked(env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["desk", "token", "create", "crm"], env=env)
    assert created.exit_code == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("dc_") and "shown only this once" in created.stderr
    listing = runner.invoke(cli, ["desk", "token", "list"], env=env)
    assert listing.exit_code == 0
    (row,) = [line for line in listing.stdout.splitlines() if "crm" in line]
    assert "never" in row and token not in listing.stdout
    assert _cells(row)[-1] == "-"  # not revoked
    again = runner.invoke(cli, ["desk", "token", "create", "crm"], env=env)
    assert again.exit_code == 2 and "exists already" in again.stderr
    revoked = runner.invoke(cli, ["desk", "token", "revoke", "crm"], env=env)
    assert revoked.exit_code == 0 and "token crm revoked" in revoked.stdout
    (row,) = [
        line
        for line in runner.invoke(cli, ["desk", "token", "list"], env=env).stdout.splitlines()
        if "crm" in line
    ]
    assert _cells(row)[-1].startswith("20")  # revoked: when
    twice = runner.invoke(cli, ["desk", "token", "revoke", "crm"], env=env)
    assert twice.exit_code == 2 and "was revoked" in twice.stderr


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("│┃|").split("│") if cell.strip()]
