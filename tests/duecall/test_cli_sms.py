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


def test_the_inbox_prints_cardholders_text_as_text(env: dict[str, str], db_url: str) -> None:
    bodies = {
        "SM1": "pay [/] later",
        "SM2": "[link=https://evil.example]click[/link]",
        "SM3": "\x1b[31mred\x1b]8;;https://evil.example\x07here\x1b]8;;\x07 \x9b2J end",
        "SM4": "my card is 4242 4242 4242 4242",
        "SM5": "[bold]loud[/bold] and [red]",
    }
    db = Database(db_url)
    try:
        with db.session() as s:
            for sid, body in bodies.items():
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
    out = result.stdout
    assert "SMS inbox (5)" in out
    assert "pay [/] later" in out
    assert "[link=https://evil.example]click[/link]" in out
    assert "[bold]loud[/bold] and [red]" in out
    assert "my card is [card ****4242]" in out  # the redaction marker, not eaten as markup
    assert "4242 4242" not in out
    # Escape sequences are stripped to their printable rest; no control character is left.
    assert "[31mred]8;;https://evil.example" in out
    assert not [ch for ch in out if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]
