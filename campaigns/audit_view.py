"""One person's timeline (:mod:`campaigns.audit`) as the compliance officer and the regulator
read it: each instant in UTC and in every zone of the person, as a JSON document or as one
self-contained HTML page. Pure: no database, no terminal, no files.
"""

from __future__ import annotations

import html
import json
import zoneinfo
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from campaigns.audit import Subject, Timeline, shown_number


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def local_times(at: datetime, zones: Sequence[str]) -> dict[str, datetime]:
    """``at`` on the wall clock of each zone, by zone name."""
    return {name: at.astimezone(zoneinfo.ZoneInfo(name)) for name in zones}


def clock_text(at: datetime) -> str:
    """``2026-12-03 20:55 EST``: a date, a time and the zone's abbreviation."""
    return at.strftime("%Y-%m-%d %H:%M %Z")


def subject_lines(subject: Subject) -> list[str]:
    """The audit's header, one line each, numbers masked as in the entries."""
    accounts = "; ".join(
        f"{a.account_id} ({a.name}, {a.status}, declared zone {a.timezone or 'none'}, "
        f"numbers {', '.join(shown_number(subject, n) for n in a.numbers) or 'none'})"
        for a in subject.accounts
    )
    return [
        f"subject: {subject.kind} {subject.query}",
        f"customers: {', '.join(subject.customers) or 'none on file'}",
        f"accounts: {accounts or 'none on file'}",
        f"zones: {', '.join(subject.zones) or 'none'} (every zone the contact policy binds)",
        "numbers other than the subject's own are masked",
    ]


def timeline_document(timeline: Timeline, *, generated_at: datetime) -> dict[str, Any]:
    """The timeline as one JSON-serialisable document (``--format json``)."""
    subject = timeline.subject
    return {
        "generated_at": _iso(generated_at),
        "since": _iso(timeline.since),
        "subject": {
            "query": subject.query,
            "kind": subject.kind,
            "customers": list(subject.customers),
            "accounts": [
                {
                    "account_id": a.account_id,
                    "customer_id": a.customer_id,
                    "name": a.name,
                    "timezone": a.timezone,
                    "status": a.status,
                    "numbers": [shown_number(subject, n) for n in a.numbers],
                }
                for a in subject.accounts
            ],
            "numbers": [shown_number(subject, n) for n in subject.numbers],
            "zones": list(subject.zones),
        },
        "entries": [
            {
                "at": _iso(e.at),
                "local": {
                    name: local.isoformat()
                    for name, local in local_times(e.at, subject.zones).items()
                },
                "kind": e.kind,
                "summary": e.summary,
                "account_id": e.account_id,
                "rule": e.rule,
                "reason": e.reason,
                "facts": e.facts,
                "record": e.record,
            }
            for e in timeline.entries
        ],
    }


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.facts { font-family: monospace; white-space: pre-wrap; font-size: 0.85em; }
tr.denied td { background: #fff3f0; }
p.sub { color: #555; margin: 0.2em 0; }
""".strip()


def _escape(value: str) -> str:
    # html.escape leaves the backtick alone; some old browsers treat it as an attribute quote.
    return html.escape(value).replace("`", "&#96;")


def render_html(timeline: Timeline, *, title: str, generated_at: datetime) -> str:
    """The timeline as one self-contained HTML page: inline CSS, no script, no external asset,
    every text escaped."""
    e = _escape
    subject = timeline.subject
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="sub">generated {e(clock_text(generated_at.astimezone(UTC)))}'
        + (f", since {e(clock_text(timeline.since))}" if timeline.since else "")
        + "</p>",
    ]
    parts += [f'<p class="sub">{e(line)}</p>' for line in subject_lines(subject)]
    header = ["UTC", *subject.zones, "kind", "what", "rule and reason", "facts"]
    parts.append("<table>")
    parts.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead>")
    parts.append("<tbody>")
    for entry in timeline.entries:
        denied = entry.kind == "decision" and entry.facts.get("allowed") is False
        local = local_times(entry.at, subject.zones)
        rule = " - ".join(x for x in (entry.rule, entry.reason) if x)
        facts = json.dumps(entry.facts, ensure_ascii=False, indent=1, sort_keys=True)
        cells = [
            clock_text(entry.at.astimezone(UTC)),
            *(clock_text(local[name]) for name in subject.zones),
            entry.kind,
            f"{entry.summary} [{entry.record}]",
            rule,
        ]
        row = "".join(f"<td>{e(c)}</td>" for c in cells)
        row += f'<td class="facts">{e(facts)}</td>'
        parts.append(f'<tr class="denied">{row}</tr>' if denied else f"<tr>{row}</tr>")
    if not timeline.entries:
        parts.append(f'<tr><td colspan="{len(header)}">nothing recorded</td></tr>')
    parts += ["</tbody>", "</table>", "</body>", "</html>", ""]
    return "\n".join(parts)
