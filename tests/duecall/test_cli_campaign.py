"""`duecall campaign list|run|pause|resume`: what operators see and do, stored for every worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from dialer import control
from duecall.cli import cli
from duecall.cli_dialer import age_text
from store.clock import SystemClock
from store.db import Database
from store.models_dialer import CampaignControl, CampaignRun, DialerWorkerLease

CAMPAIGNS = [
    {
        "name": "voice-mid",
        "channel": "voice",
        "segment": {"dpd_min": 30, "dpd_max": 89},
        "schedule": {"cron": "0 9 * * mon-fri", "timezone": "America/New_York"},
        "priority": 7,
    },
    {
        "name": "cn-late",
        "channel": "voice",
        "schedule": {"cron": "30 10 * * *", "timezone": "Asia/Shanghai"},
        "active": False,
    },
]


@pytest.fixture
def env(tmp_path: Path, db: Database, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"logging": {"level": "WARNING"}, "campaigns": CAMPAIGNS}), encoding="utf-8"
    )
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def row(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if name in line)


def test_list_shows_schedule_next_launch_in_its_zone_and_state(env: dict[str, str]) -> None:
    code, out, _ = run(env, "campaign", "list")
    assert code == 0
    assert "0 9 * * mon-fri America/New_York" in row(out, "voice-mid")
    assert " 09:00 E" in row(out, "voice-mid")  # EST or EDT: local time in its own zone
    assert "active" in row(out, "voice-mid")
    assert "inactive" in row(out, "cn-late")


def test_pause_and_resume_are_stored_and_listed_with_the_reason(
    env: dict[str, str], db: Database
) -> None:
    assert run(env, "campaign", "pause", "voice-mid", "--reason", "complaint review")[0] == 0
    assert "paused (complaint review)" in row(run(env, "campaign", "list")[1], "voice-mid")
    with db.session(readonly=True) as s:
        control = s.get(CampaignControl, "voice-mid")
        assert control is not None and control.paused and control.changed_by.startswith("cli:")
    assert run(env, "campaign", "resume", "voice-mid")[0] == 0
    assert "active" in row(run(env, "campaign", "list")[1], "voice-mid")

    assert run(env, "campaign", "pause", "--all")[0] == 0
    out = run(env, "campaign", "list")[1]
    assert "paused (all: paused by an operator)" in row(out, "voice-mid")
    assert run(env, "campaign", "resume", "--all")[0] == 0
    assert "paused" not in run(env, "campaign", "list")[1]


def test_run_now_launches_a_run_and_bad_requests_exit_2(env: dict[str, str], db: Database) -> None:
    code, out, _ = run(env, "campaign", "run", "voice-mid", "--now")
    assert code == 0 and "launched with 0 contacts" in out
    with db.session(readonly=True) as s:
        assert [r.trigger for r in s.scalars(select(CampaignRun))] == ["manual"]
    assert run(env, "campaign", "run", "cn-late", "--now")[0] == 2
    assert run(env, "campaign", "run", "nope", "--now")[0] == 2
    assert run(env, "campaign", "pause")[0] == 2


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-0.004, "0s ago"), (-0.6, "0s ago"), (-3.0, "0s ago"), (0.4, "0s ago"), (12.6, "13s ago")],
)
def test_ages_are_whole_seconds_and_never_negative(seconds: float, shown: str) -> None:
    assert age_text(seconds) == shown


def test_a_heartbeat_a_little_in_the_future_is_listed_as_0s_ago(
    env: dict[str, str], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    monkeypatch.setattr(SystemClock, "now", lambda self: now)
    with db.session() as s:
        # Another host's worker whose clock runs 4 ms ahead of this one.
        s.add(
            DialerWorkerLease(
                worker_id="other-host:4242",
                host="other-host",
                pid=4242,
                engine="sqlite",
                started_at=now - timedelta(minutes=5),
                heartbeat_at=now + timedelta(milliseconds=4),
                claimed=3,
                placed=2,
            )
        )
    code, out, err = run(env, "campaign", "list")
    assert code == 0, err
    assert (
        "dialer workers: 1 running: other-host:4242 (heartbeat 0s ago, claimed 3, placed 2)" in out
    )
    assert "-0s" not in out


def test_a_carrier_storm_pause_is_listed_with_its_reason_and_resume_all_clears_it(
    env: dict[str, str], db: Database
) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        for _ in range(20):
            control.bump_transient(s, threshold=20, label="429", retry_after=30, now=now)
    out = run(env, "campaign", "list")[1]
    assert (
        "paused (all: Twilio is refusing requests (429 x20, last Retry-After 30 s); "
        "resumes by itself when a probe succeeds)"
    ) in row(out, "voice-mid")
    assert run(env, "campaign", "resume", "--all")[0] == 0
    assert "paused" not in run(env, "campaign", "list")[1]
    with db.session(readonly=True) as s:
        carrier = s.get(CampaignControl, "*")
        assert carrier is not None
        assert (carrier.paused, carrier.paused_for, carrier.transient_streak) == (False, None, 0)
