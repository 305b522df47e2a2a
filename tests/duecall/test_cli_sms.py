"""`duecall sms inbox`: the texts waiting for a person, each with its answer-by date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, handle_inbound_sms
from duecall.cli import cli
from store.db import Database

RECEIVED = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # a Friday


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  level: WARNING\n", encoding="utf-8")
    e = {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "200"}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=e).exit_code == 0
    return e


def test_the_inbox_shows_when_each_text_must_be_answered(env: dict[str, str], db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session() as s:
            for sid, body in (("SM1", "Can I pay next week?"), ("SM2", "STOP")):
                handle_inbound_sms(
                    s,
                    InboundSms(sid, "+14155550123", "+15005550006", body),
                    now=RECEIVED,
                    config=SmsSettings(),
                    business_name="Northwind Card Services",
                    support_number="+18005550100",
                )
    finally:
        db.dispose()
    result = CliRunner().invoke(cli, ["sms", "inbox"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "answer by" in result.stdout
    (line,) = [row for row in result.stdout.splitlines() if "Can I pay next week?" in row]
    assert "2026-12-04 15:00" in line and "2026-12-18" in line  # 10 business days on
    assert "SMS inbox (1)" in result.stdout
