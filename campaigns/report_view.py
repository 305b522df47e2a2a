"""The collections report as a document: titled sections of text cells, and that as HTML.

:func:`report_document` turns a :class:`campaigns.reports.Report` into a :class:`Document`, and
every renderer shows the same sections: :func:`render_html` here, the terminal's in the CLI. A
section may carry a chart (:mod:`campaigns.report_charts`): the HTML page draws it above the
section's table, which is its text equivalent; the terminal shows the table alone.
Text written `like this` is code (a command to type): the terminal shows it as it is, the HTML
page as ``<code>``. Pure: no database, no terminal, no files.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from campaigns.report_charts import Chart, Series, chart_svg
from campaigns.reports import HourLine, Report


@dataclass(frozen=True)
class Section:
    """One table of the report, as text: the terminal and the HTML render the same sections."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    chart: Chart | None = None

    @property
    def numeric(self) -> tuple[bool, ...]:
        """Which columns hold figures (right-aligned)."""
        return tuple(
            bool(self.rows) and all(_figure(row[i]) for row in self.rows)
            for i in range(len(self.columns))
        )


@dataclass(frozen=True)
class Document:
    """The whole report: a title, a subtitle (its day and zone, and when), its sections."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]


def _figure(cell: str) -> bool:
    return bool(cell) and all(ch in "0123456789.,%-" for ch in cell.split(" ", maxsplit=1)[0])


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _rate(kept: int, resolved: int) -> str:
    if not resolved:
        return "-"
    return f"{100 * kept / resolved:.1f}% ({kept} of {resolved})"


def hour_label(hour: int) -> str:
    """An hour of the day as the charts' x axis and their tables name it: ``09:00``."""
    return f"{hour:02d}:00"


#: The x axis of every chart by hour: 00 to 23, local.
HOURS = tuple(f"{hour:02d}" for hour in range(24))


def _hourly(
    title: str,
    hours: tuple[HourLine, ...],
    columns: tuple[tuple[str, str], ...],
    *,
    zone: str,
    empty: str,
) -> Section:
    """A section charting some of the day's hourly counts (``columns``: series title, the
    :class:`HourLine` field), its table listing the hours in which any of them happened."""
    values = {field: tuple(getattr(line, field) for line in hours) for _, field in columns}
    rows = tuple(
        (hour_label(line.hour), *(str(getattr(line, field)) for _, field in columns))
        for line in hours
        if any(getattr(line, field) for _, field in columns)
    )
    return Section(
        title,
        ("hour", *(name for name, _ in columns)),
        rows,
        note=f"By the hour they happened in, {zone}; hours with none are left out.",
        chart=Chart(
            title=title,
            x_labels=HOURS,
            series=tuple(Series(name, values[field]) for name, field in columns),
            y_title="count",
            empty=empty,
        ),
    )


def report_document(report: Report, *, business: str) -> Document:
    """The report as titled sections of text cells.

    The day's columns say "today" when the report's day is the current one in its zone, else the
    date itself.
    """
    stamp = "%Y-%m-%d %H:%M UTC"
    day = report.day
    label = "today" if report.is_today else day.day.isoformat()
    launched = "launched today" if report.is_today else f"launched on {label}"
    summary = Section(
        "Summary",
        ("", label, "all time"),
        (
            (
                "calls and texts",
                str(report.attempts_total.today),
                str(report.attempts_total.all_time),
            ),
            (
                "right-party contacts on reminder calls",
                str(report.rpc_calls.today),
                str(report.rpc_calls.all_time),
            ),
            (
                "right-party contacts on the hotline (verified callers)",
                str(report.rpc_hotline.today),
                str(report.rpc_hotline.all_time),
            ),
            (
                "promises kept (of those resolved)",
                _rate(report.kept_today.kept, report.kept_today.resolved),
                _rate(report.kept_all_time.kept, report.kept_all_time.resolved),
            ),
            (
                "repayment plans completed (of those resolved)",
                _rate(report.plans_kept_today.kept, report.plans_kept_today.resolved),
                _rate(report.plans_kept_all_time.kept, report.plans_kept_all_time.resolved),
            ),
            (
                "promises and plans kept (of those resolved)",
                _rate(report.commitments_kept_today.kept, report.commitments_kept_today.resolved),
                _rate(
                    report.commitments_kept_all_time.kept,
                    report.commitments_kept_all_time.resolved,
                ),
            ),
        ),
    )
    waiting = Section(
        "Waiting now",
        ("", "count"),
        (
            ("callback requests open", str(report.callbacks_open)),
            ("texts waiting in the inbox (`duecall sms inbox`)", str(report.inbox_waiting)),
            (
                "concession requests waiting for a supervisor (`duecall concession list`)",
                str(report.concessions_pending),
            ),
        ),
    )
    attempts = Section(
        "Calls and texts by outcome",
        ("channel", "outcome", label, "all time"),
        tuple(
            (line.channel, line.outcome, str(line.today), str(line.all_time))
            for line in report.attempts
        ),
    )
    hours = report.hours or tuple(HourLine(hour) for hour in range(24))
    attempts_by_hour = _hourly(
        "Calls and texts by hour",
        hours,
        (("calls", "calls"), ("texts", "texts")),
        zone=day.zone.key,
        empty="no calls or texts this day",
    )
    commitments_by_hour = _hourly(
        "Promises and plans by hour",
        hours,
        (
            ("promises made", "promises_made"),
            ("promises kept", "promises_kept"),
            ("plans agreed", "plans_agreed"),
        ),
        zone=day.zone.key,
        empty="no promises made or kept and no plans agreed this day",
    )
    promises = Section(
        "Promises to pay",
        ("status", "currency", label, f"amount {label}", "all time", "amount", "paid"),
        tuple(
            (
                line.status,
                line.currency,
                str(line.today),
                _money(line.amount_today),
                str(line.all_time),
                _money(line.amount_all_time),
                _money(line.paid_all_time),
            )
            for line in report.promises
        ),
        note="Counted by the day they were taken; amounts of different currencies kept apart.",
    )
    plans = Section(
        "Repayment plans",
        ("status", "currency", label, f"total {label}", "all time", "total", "paid"),
        tuple(
            (
                line.status,
                line.currency,
                str(line.today),
                _money(line.amount_today),
                str(line.all_time),
                _money(line.amount_all_time),
                _money(line.paid_all_time),
            )
            for line in report.plans
        ),
        note=(
            "Counted by the day they were agreed. Payments in another currency than their "
            f"plan's, not applied: {report.foreign_payments}."
        ),
    )
    concessions = Section(
        "Concessions granted",
        ("kind", "currency", label, f"given up {label}", "all time", "given up"),
        tuple(
            (
                line.kind,
                line.currency,
                str(line.today),
                _money(line.given_up_today),
                str(line.all_time),
                _money(line.given_up_all_time),
            )
            for line in report.concessions
        ),
        note=(
            "Counted by the day they were granted; given up: waived, or forgiven by a "
            "settlement (a reduced rate's cost is the card system's to work out)."
        ),
    )
    decisions = Section(
        "Contact policy decisions",
        ("rule", f"allowed {label}", f"denied {label}", "allowed", "denied"),
        tuple(
            (
                line.rule,
                str(line.allowed_today),
                str(line.denied_today),
                str(line.allowed_all_time),
                str(line.denied_all_time),
            )
            for line in report.decisions
        ),
    )
    optouts = Section(
        "Opt-outs and other suppressions",
        ("kind", f"added {label}", "added", "in force"),
        tuple(
            (line.kind, str(line.added_today), str(line.added_all_time), str(line.in_force))
            for line in report.suppressions
        ),
    )
    runs = Section(
        f"Campaign runs (working, or {launched})",
        ("campaign", "slot", "status", "contacts", "done", "pending"),
        tuple(
            (
                line.campaign,
                line.slot_key,
                line.status,
                str(line.contacts),
                str(line.done),
                str(line.pending),
            )
            for line in report.runs
        ),
    )
    return Document(
        title=f"duecall report: {business}",
        subtitle=(
            f"day: {day.day.isoformat()} ({day.zone.key}); "
            f"as of {report.generated_at.astimezone(UTC).strftime(stamp)}"
        ),
        sections=(
            summary,
            waiting,
            attempts,
            attempts_by_hour,
            promises,
            plans,
            commitments_by_hour,
            concessions,
            decisions,
            optouts,
            runs,
        ),
    )


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0; }
p.sub { color: #666; margin-top: 0.2em; }
h2 { font-size: 1.1em; margin: 1.6em 0 0.4em; }
table { border-collapse: collapse; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.note, td.none, p.empty { color: #888; }
figure { margin: 0.4em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #666; font-size: 0.9em; }
code { font: 0.95em ui-monospace, monospace; background: #f4f4f4; padding: 0 0.2em; }
""".strip()


_CODE = re.compile(r"`([^`]+)`")


def _html_text(text: str) -> str:
    """``text`` escaped for HTML, each `code span` as ``<code>``; a stray backtick stays text
    (as an entity), so the page never shows one."""
    escaped = html.escape(text)
    return _CODE.sub(r"<code>\1</code>", escaped).replace("`", "&#96;")


def _html_chart(chart: Chart, anchor: str) -> str:
    """The chart as an inline ``<svg>`` in a captioned figure, or the sentence that says there is
    nothing to draw. The table after it holds the same figures as text."""
    if not chart.has_data:
        return f'<p class="empty">{_html_text(chart.empty)}</p>'
    return "\n".join(
        (
            f'<figure role="img" aria-labelledby="{anchor}">',
            chart_svg(chart),
            f'<figcaption id="{anchor}">{_html_text(chart.title)}: chart; the table below holds '
            "the same figures.</figcaption>",
            "</figure>",
        )
    )


def render_html(document: Document) -> str:
    """The report as one HTML page: inline CSS and SVG, no script, no external asset, all text
    escaped (the charts' titles and series names by pygal, which escapes what it writes)."""
    e = _html_text
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(document.title).replace('`', '&#96;')}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{e(document.title)}</h1>",
        f'<p class="sub">{e(document.subtitle)}</p>',
    ]
    for number, section in enumerate(document.sections):
        parts.append(f"<h2>{e(section.title)}</h2>")
        if section.chart is not None:
            parts.append(_html_chart(section.chart, f"chart-{number}"))
        parts.append("<table>")
        header = "".join(
            f'<th class="n">{e(column)}</th>' if numeric else f"<th>{e(column)}</th>"
            for column, numeric in zip(section.columns, section.numeric, strict=True)
        )
        parts.append(f"<thead><tr>{header}</tr></thead>")
        parts.append("<tbody>")
        for row in section.rows:
            cells = "".join(
                f'<td class="n">{e(cell)}</td>' if numeric else f"<td>{e(cell)}</td>"
                for cell, numeric in zip(row, section.numeric, strict=True)
            )
            parts.append(f"<tr>{cells}</tr>")
        if not section.rows:
            parts.append(f'<tr><td class="none" colspan="{len(section.columns)}">none</td></tr>')
        parts.append("</tbody>")
        parts.append("</table>")
        if section.note:
            parts.append(f'<p class="note">{e(section.note)}</p>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
