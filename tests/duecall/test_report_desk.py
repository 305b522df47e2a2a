"""`duecall report` on a seeded day: the charts as inline SVG with the day's numbers, and the
desk's figures in the terminal and on the page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from campaigns.plan_settings import PlanSettings
from campaigns.plans import NewPlan, create_plan
from desk.agents import add_agent
from desk.queueing import Caller, abandoned, bridged, claim, ended, enqueue
from store.clock import SystemClock
from store.db import Database
from store.models import Attempt, Promise
from tests import factories
from tests.duecall.test_cli_reports import invoke, table_rows

# 15:00 in New York on Sunday 2026-11-29 (EST, UTC-5): the report's day runs from 05:00 UTC.
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
ZONE = "America/New_York"


def utc(hour: int, minute: int = 0, day: int = 29) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def env(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"logging": {"level": "WARNING"}, "business": {"name": "Cards & Co"}}),
        encoding="utf-8",
    )
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url, "COLUMNS": "220"}


def _attempt(channel: str, at: datetime, direction: str = "outbound") -> Attempt:
    return Attempt(
        account_id="A1",
        customer_id="A1",
        channel=channel,
        direction=direction,
        purpose="reminder",
        number="+12125550123",
        status="completed",
        outcome="no_answer",
        connected=False,
        created_at=at,
    )


def _promise(created: datetime, status: str, resolved: datetime | None = None) -> Promise:
    return Promise(
        account_id="A1",
        customer_id="A1",
        promised_date=date(2026, 12, 10),
        amount=Decimal("50.00"),
        currency="USD",
        status=status,
        source="ivr",
        created_at=created,
        created_by="ivr",
        paid_amount=Decimal("50.00") if status == "kept" else Decimal("0.00"),
        resolved_at=resolved,
    )


def seed_day(db: Database) -> None:
    """Calls and texts in two local hours (09 and 13), some outside the day; promises made at
    09 and 13 and kept at 14; a plan agreed at 11; desk callers at 10 (one answered within the
    20 s target, one after it, one abandoned) and at 12 (answered within)."""
    with db.session() as s:
        factories.add_account(s, "A1", "+12125550123", now=utc(5), balance="900.00")
        s.add_all(
            [
                _attempt("voice", utc(14, 5)),  # 09:05 local
                _attempt("voice", utc(14, 40)),  # 09:40
                _attempt("sms", utc(14, 50)),  # 09:50
                _attempt("voice", utc(18, 10)),  # 13:10
                _attempt("voice", utc(3, 0)),  # 22:00 on the 28th, local: another day
                _attempt("sms", utc(5, 0, day=30)),  # 00:00 on the 30th: the next day
                _attempt("voice", utc(14, 20), direction="inbound"),  # the hotline's own
                _promise(utc(14, 30), "open"),  # made 09:30
                _promise(utc(18, 30), "kept", resolved=utc(19, 15)),  # made 13:30, kept 14:15
                _promise(utc(2, 0), "kept", resolved=utc(4, 0)),  # all on the 28th, local
            ]
        )
        plan = create_plan(
            s,
            PlanSettings(),
            NewPlan(
                account_id="A1",
                installments=3,
                frequency="monthly",
                first_date=date(2026, 12, 6),
                source="agent",
                created_by="agent:kim",
                dedupe_key="k1",
            ),
            now=utc(16, 45),  # 11:45 local
        )
        assert plan is not None and not hasattr(plan, "reason")
        agent = add_agent(
            s,
            name="kim",
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=utc(5),
            actor="t",
        )
        for n, (at, wait, outcome) in enumerate(
            [
                (utc(15, 0), 10, "answered"),  # 10:00 local, within 20 s
                (utc(15, 10), 45, "answered"),  # after the target
                (utc(15, 20), 30, "abandoned"),
                (utc(17, 0), 5, "answered"),  # 12:00 local
                (utc(4, 0), 5, "abandoned"),  # 23:00 on the 28th, local: not this day
            ]
        ):
            entry = enqueue(
                s,
                "collections-en",
                Caller(f"CA{n:032d}", "+12125550123", "en-US", "agent", True),
                now=at,
            )
            if outcome == "answered":
                assert claim(s, entry.id, agent.id, now=at)
                assert bridged(s, entry, now=at + timedelta(seconds=wait))
                assert ended(s, entry, now=at + timedelta(seconds=wait + 120))
            else:
                assert abandoned(s, entry, now=at + timedelta(seconds=wait))


def _svgs(page: str) -> list[ET.Element]:
    """Every inline chart of the page, parsed (pygal's SVG is well-formed XML)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", page, re.DOTALL)]


def _chart(svgs: list[ET.Element], title: str) -> dict[str, list[str]]:
    """The chart titled ``title``: each series' legend title and the values of its points, in
    the order of the x axis (pygal keeps each value in a ``<desc class="value">``)."""
    (svg,) = [
        svg
        for svg in svgs
        if any("title" in (t.get("class") or "").split() and t.text == title for t in svg.iter())
    ]
    legends = [
        text.text or ""
        for group in svg.iter("g")
        if "legend" in (group.get("class") or "").split()
        for text in group.iter("text")
    ]
    series: dict[str, list[str]] = {}
    for group in svg.iter("g"):
        classes = (group.get("class") or "").split()
        if "series" not in classes:
            continue
        (index,) = [int(c.removeprefix("serie-")) for c in classes if c.startswith("serie-")]
        # A series has a group in the plot and another in the text overlay (empty here).
        series.setdefault(legends[index], []).extend(
            d.text or "" for d in group.iter("desc") if "value" in (d.get("class") or "").split()
        )
    return series


def _hours(**values: int | str) -> list[str]:
    """24 values, zero but for the hours named ``h09=...``."""
    return [str(values.get(f"h{hour:02d}", 0)) for hour in range(24)]


def test_the_html_report_charts_the_day_inline_with_its_numbers(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    seed_day(db)
    target = tmp_path / "report.html"
    code, _, err = invoke(env, "report", "--tz", ZONE, "--html", str(target))
    assert code == 0, err
    page = target.read_text(encoding="utf-8")

    # One self-contained file: no script, no external asset, no address at all.
    assert "<script" not in page
    assert re.findall(r"https?://", page) == []
    assert not re.findall(r"\b(?:src|href)=", page)
    svgs = _svgs(page)
    assert len(svgs) == 3
    assert page.count("<figure") == 3 and page.count("<figcaption") == 3

    by_hour = _chart(svgs, "Calls and texts by hour")
    assert by_hour == {"calls": _hours(h09=2, h13=1), "texts": _hours(h09=1)}
    commitments = _chart(svgs, "Promises and plans by hour")
    assert commitments == {
        "promises made": _hours(h09=1, h13=1),
        "promises kept": _hours(h14=1),
        "plans agreed": _hours(h11=1),
    }
    levels = _chart(svgs, "The desk's service level by hour")
    # 10:00: 1 of 3 within 20 s (one answered after it, one abandoned); 12:00: 1 of 1.
    assert list(levels) == ["collections-en"]
    assert [float(v) for v in levels["collections-en"]] == [33.3, 100.0]

    # Each chart's text equivalent: the table after it, hours with something in them.
    assert '<td>09:00</td><td class="n">2</td><td class="n">1</td>' in page
    assert '<td>10:00</td><td class="n">33.3%</td>' in page
    assert '<td>12:00</td><td class="n">100.0%</td>' in page
    assert "no desk calls this day" not in page


def test_the_terminal_report_shows_the_desks_figures_for_the_day(
    env: dict[str, str], db: Database
) -> None:
    seed_day(db)
    code, out, err = invoke(env, "report", "--tz", ZONE)
    assert code == 0, err
    assert "The desk's queues" in out
    rows = {row[0]: row for row in table_rows(out)}
    # queue, waiting now, answered, abandoned, left, ASA (m:ss), abandonment, SL, target
    assert rows["collections-en"] == [
        "collections-en",
        "0",
        "3",
        "1",
        "0",
        "0:20",  # (10 + 45 + 5) / 3
        "25.0%",  # 1 of 4
        "50.0% (below)",  # 2 of 4 within 20 s, against 80 %
        "80% in 20 s",
    ]
    assert rows["fraud"][1:3] == ["0", "0"]
    assert rows["10:00"] == ["10:00", "33.3%"]
    assert rows["12:00"] == ["12:00", "100.0%"]
    # The charts' tables: calls and texts at 09:00; promises made, kept, plans agreed then.
    assert ["09:00", "2", "1"] in table_rows(out)
    assert ["09:00", "1", "0", "0"] in table_rows(out)


def test_the_desks_figures_count_only_the_days_callers(env: dict[str, str], db: Database) -> None:
    seed_day(db)
    code, out, err = invoke(env, "report", "--tz", ZONE, "--day", "2026-11-28")
    assert code == 0, err
    rows = {row[0]: row for row in table_rows(out)}
    # The 28th in New York: the caller abandoned at 23:00 local.
    assert rows["collections-en"][2:4] == ["0", "1"]
    assert ["23:00", "0.0%"] in table_rows(out)  # the desk's service level by hour


def test_a_day_without_desk_calls_says_so_instead_of_a_chart(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    seed_day(db)
    target = tmp_path / "report.html"
    code, _, err = invoke(env, "report", "--tz", ZONE, "--day", "2026-11-27", "--html", str(target))
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    assert '<p class="empty">no desk calls this day</p>' in page
    assert '<p class="empty">no calls or texts this day</p>' in page
    assert "<svg" not in page
    assert re.findall(r"https?://", page) == []
