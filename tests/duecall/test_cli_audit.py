"""`duecall audit`: the timeline as a table, JSON and HTML; bad input is one line and exit 2."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, handle_inbound_sms
from duecall.cli import cli
from store.db import Database
from tests.campaigns.test_audit import NUMBER, seed_person


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  level: WARNING\n", encoding="utf-8")
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url}


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_table_shows_each_entry_in_utc_and_every_local_zone(
    db: Database, env: dict[str, str]
) -> None:
    seed_person(db)
    code, out, err = invoke([NUMBER], env)
    assert code == 0, err
    assert f"subject: number {NUMBER}" in out
    assert "zones: America/New_York, America/Los_Angeles" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] != []]
    rows = [row for row in rows if row[0].isdigit()]  # the table's rows, numbered
    assert [row[0] for row in rows] == [str(i) for i in range(1, len(rows) + 1)]
    assert rows[0][1:10] == [
        "2026-12-03",
        "15:00",
        "12-03",
        "10:00",
        "EST",
        "12-03",
        "07:00",
        "PST",
        "hotline-call",
    ]
    denied = " ".join(rows[-1])
    assert "2026-12-04 01:55" in denied
    assert "12-03 20:55 EST" in denied and "12-03 17:55 PST" in denied
    assert "us_reg_f/window_margin" in denied
    assert "reason: local time 20:55 America/New_York is past 20:50" in out
    assert '"local_times": {"America/Los_Angeles": "2026-12-03T17:55:00-08:00"' in out


def test_json_is_one_document_and_since_filters_it(db: Database, env: dict[str, str]) -> None:
    seed_person(db)
    code, out, err = invoke([NUMBER, "--format", "json"], env)
    assert code == 0, err
    document = json.loads(out)
    assert document["subject"]["customers"] == ["C1"]
    kinds = [e["kind"] for e in document["entries"] if e["kind"] != "audit"]
    assert kinds == [
        "hotline-call",
        "promise",
        "inbound-text",
        "suppression-added",
        "decision",
        "call",
        "decision",
    ]
    code, out, err = invoke([NUMBER, "--format", "json", "--since", "2026-12-04"], env)
    assert code == 0, err
    entries = json.loads(out)["entries"]
    assert [(e["at"], e["rule"]) for e in entries] == [
        ("2026-12-04T01:55:00+00:00", "us_reg_f/window_margin")
    ]
    assert entries[0]["local"]["America/New_York"] == "2026-12-03T20:55:00-05:00"


def test_an_account_or_a_national_number_finds_the_same_person(
    db: Database, env: dict[str, str]
) -> None:
    seed_person(db)
    records = []
    for target in ("A2", "(206) 555-0173", NUMBER):
        code, out, err = invoke([target, "--format", "json"], env)
        assert code == 0, err
        records.append([e["record"] for e in json.loads(out)["entries"]])
    assert records[0] == records[1] == records[2]
    assert len(records[0]) > 7


def test_html_is_written_whole_and_escaped(
    db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    seed_person(db, name="<script>alert('x')</script>")
    page = tmp_path / "audit.html"
    code, out, err = invoke([NUMBER, "--format", "json", "--html", str(page)], env)
    assert code == 0, err
    json.loads(out)  # the notice about the page goes to stderr, so stdout stays one document
    assert f"audit written to {page}" in err
    text = page.read_text("utf-8")
    assert "<script" not in text and "&lt;script&gt;" in text
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.usefixtures("loose_umask")
def test_the_html_page_is_private(db: Database, env: dict[str, str], tmp_path: Path) -> None:
    seed_person(db)
    page = tmp_path / "audit.html"
    page.write_text("an older page", encoding="utf-8")
    page.chmod(0o644)
    code, _, err = invoke([NUMBER, "--html", str(page)], env)
    assert code == 0, err
    assert stat.S_IMODE(page.stat().st_mode) == 0o600


def test_an_unwritable_html_path_is_one_line_and_exit_2(
    db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    seed_person(db)
    code, _, err = invoke([NUMBER, "--html", str(tmp_path / "missing" / "a.html")], env)
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: cannot write {tmp_path / 'missing' / 'a.html'}: No such file or directory"
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("+12065550999", "error: no account and no record has the number +12065550999"),
        ("ZZ9", "error: no account ZZ9"),
        ("+1555", "error: '+1555' is not a valid phone number"),
        (
            "555-0000-00",
            "error: '555-0000-00' is not a valid phone number and no account has that id",
        ),
    ],
)
def test_an_unknown_or_bad_subject_is_one_line_and_exit_2(
    db: Database, env: dict[str, str], target: str, message: str
) -> None:
    seed_person(db)
    code, out, err = invoke([target], env)
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [message]


def test_a_bad_since_is_one_line_and_exit_2(db: Database, env: dict[str, str]) -> None:
    code, _, err = invoke([NUMBER, "--since", "2026-13-01"], env)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: --since: '2026-13-01' is not a date written YYYY-MM-DD"
    ]


def test_it_never_creates_a_database(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "var" / "none.db"
    code, _, err = invoke([NUMBER], {**env, "DUECALL_DATABASE_URL": f"sqlite:///{missing}"})
    assert code == 2
    assert err.strip() == (
        f"no duecall database at sqlite:///{missing}: run `duecall db upgrade` or point "
        "DUECALL_DATABASE_URL at one"
    )
    assert not missing.parent.exists()


def test_the_table_prints_stored_text_as_text_without_control_characters(
    db: Database, env: dict[str, str]
) -> None:
    seed_person(db, name="Jane [/]\x1b[2J Doe")
    with db.session() as s:
        handle_inbound_sms(
            s,
            InboundSms(
                "SM" + "9" * 32,
                NUMBER,
                "+15005550006",
                "[link=https://x.example]ok[/link]\x1b]0;t\x07",
            ),
            now=datetime(2026, 12, 5, 15, 0, tzinfo=UTC),
            config=SmsSettings(),
            business_name="Northwind Card Services",
            support_number="+18005550100",
        )
    code, out, err = invoke([NUMBER], {**env, "COLUMNS": "250"})
    assert code == 0, err
    assert "(Jane [/][2J Doe, open" in out
    assert "[link=https://x.example]ok[/link]]0;t" in out
    assert not [ch for ch in out if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]
