"""The report's charts: pygal's SVG made fit to sit inside a self-contained page, and the
hourly figures they draw."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from campaigns.report_charts import Chart, Series, chart_svg
from campaigns.report_view import render_html, report_document
from campaigns.reports import ReportDay, build_report
from store.db import Database
from store.models import Attempt
from tests import factories


def test_the_svg_has_no_script_comment_or_address_and_escapes_its_text() -> None:
    chart = Chart(
        "Calls <by> hour & more",
        ("00", "01", "02"),
        (Series("calls", (3, 0, 1)), Series('texts "<b>"', (None, 2, 0))),
    )
    svg = chart_svg(chart)
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "script" not in svg and "<!--" not in svg and "xmlns" not in svg
    assert re.findall(r"https?://|file://|url\(", svg) == []
    root = ET.fromstring(svg)  # well-formed, so the titles were escaped
    texts = [t.text for t in root.iter("text")]
    assert "Calls <by> hour & more" in texts
    assert 'texts "<b>"' in texts
    values = [d.text for d in root.iter("desc") if d.get("class") == "value"]
    assert values == ["3", "0", "1", "2", "0"]  # the empty point is not drawn


def test_a_chart_of_zeros_or_without_values_has_nothing_to_draw() -> None:
    hours = ("00", "01")
    assert not Chart("c", hours, (Series("a", (0, 0)),)).has_data
    assert Chart("c", hours, (Series("a", (0, 1)),)).has_data

    def levels(*series: tuple[float | None, ...]) -> Chart:
        return Chart(
            "c", hours, tuple(Series("a", v) for v in series), y_max=100, zero_is_figure=True
        )

    assert not levels((None, None)).has_data
    assert levels((None, 0)).has_data  # a service level of 0 % is a figure to show
    assert not levels().has_data


def test_small_counts_get_whole_numbers_on_the_y_axis() -> None:
    hours = ("00", "01")
    assert Chart("c", hours, (Series("a", (2, 1)),)).y_labels == [0, 1, 2]
    assert Chart("c", hours, (Series("a", (40, 1)),)).y_labels is None  # pygal's own scale
    root = ET.fromstring(chart_svg(Chart("c", hours, (Series("a", (2, 1)),))))
    y_axis = [g for g in root.iter("g") if "y" in (g.get("class") or "").split()]
    labels = {t.text for g in y_axis for t in g.iter("text")}
    assert labels == {"0", "1", "2"}


def test_the_report_counts_a_repeated_local_hour_once_per_hour_of_the_day(
    db: Database,
) -> None:
    """On 2026-11-01 New York falls back: 01:00-02:00 happens twice (EDT, then EST). Both
    attempts are at 01:30 local and so in the one 01 bucket; the day has 25 hours."""
    zone = ZoneInfo("America/New_York")
    with db.session() as s:
        factories.add_account(s, "A1", "+12125550123", now=datetime(2026, 10, 1, tzinfo=UTC))
        for hour in (5, 6):  # 01:30 EDT, 01:30 EST
            s.add(
                Attempt(
                    account_id="A1",
                    customer_id="A1",
                    channel="voice",
                    purpose="reminder",
                    number="+12125550123",
                    status="completed",
                    created_at=datetime(2026, 11, 1, hour, 30, tzinfo=UTC),
                )
            )
    day = ReportDay(date(2026, 11, 1), zone)
    assert (day.end - day.start).total_seconds() == 25 * 3600
    with db.session(readonly=True) as s:
        report = build_report(s, now=datetime(2026, 11, 2, tzinfo=UTC), day=day)
    assert [(line.hour, line.calls) for line in report.hours if line.calls] == [(1, 2)]
    page = render_html(report_document(report, business="Cards"))
    assert '<td>01:00</td><td class="n">2</td><td class="n">0</td>' in page
    assert page.count("<svg") == 1  # calls by hour; no promise, plan: "no ... this day"
    assert "no promises made or kept and no plans agreed this day" in page
