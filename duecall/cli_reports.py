"""Report and export commands on the `duecall` CLI.

``duecall report [--html FILE]`` prints the collections report (:mod:`campaigns.reports`) in the
terminal and optionally writes it as one self-contained HTML file. ``duecall export
promises|attempts|optouts`` writes rows for the bank's systems (:mod:`campaigns.exports`) as CSV
or JSON, to stdout or ``--output FILE``. Both settle the open promises first
(:func:`campaigns.promises.evaluate_promises`), so the statuses they show are current.
"""

from __future__ import annotations

import csv
import html
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from duecall import exitcodes

if TYPE_CHECKING:
    from campaigns.exports import ExportKind, Value
    from campaigns.reports import Report
    from duecall.cli import CliContext
    from store.db import Database

EXPORT_KINDS = ("promises", "attempts", "optouts")


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """``--since``: a calendar date written ``YYYY-MM-DD``; anything else is a usage error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


def register(cli: click.Group) -> None:
    """Add ``duecall report`` and ``duecall export`` to ``cli``."""
    from duecall.cli import pass_ctx

    @cli.command("report")
    @click.option(
        "--html",
        "html_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Also write the report as one self-contained HTML file.",
    )
    @pass_ctx
    def report_command(obj: CliContext, html_file: Path | None) -> None:
        """Attempts, contacts, promises, policy decisions, opt-outs and runs: today and all time.

        "Today" starts at 00:00 UTC. Open promises are settled first.
        """
        from campaigns.reports import build_report

        settings = obj.settings
        db = obj.database()
        try:
            now = obj.clock.now()
            _settle(obj, db, now)
            with db.session(readonly=True) as session:
                report = build_report(session, now=now, day_start=_midnight_utc(now))
        except SQLAlchemyError as exc:
            _database_failure(exc)
        finally:
            db.dispose()
        document = report_document(report, business=settings.business.name)
        print_document(Console(highlight=False), document)
        if html_file is not None:
            with _atomic_output(html_file) as stream:
                stream.write(render_html(document))
            click.echo(f"report written to {html_file}")

    @cli.command("export")
    @click.argument("kind", type=click.Choice(EXPORT_KINDS))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(("csv", "json")),
        default="csv",
        show_default=True,
        help="CSV with a header row, or a JSON array of objects.",
    )
    @click.option(
        "--since",
        callback=_iso_date,
        metavar="YYYY-MM-DD",
        default=None,
        help="Only rows created on or after this date (UTC), YYYY-MM-DD.",
    )
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write to FILE (replaced only when complete) instead of stdout.",
    )
    @pass_ctx
    def export_command(
        obj: CliContext, kind: ExportKind, fmt: str, since: date | None, output: Path | None
    ) -> None:
        """Rows for the bank's systems, oldest first. Numbers are full E.164: handle with care.

        Columns: see the README ("Reports and exports").
        """
        from campaigns.exports import COLUMNS, export_rows

        db = obj.database()
        try:
            if kind == "promises":
                _settle(obj, db, obj.clock.now())
            with db.session(readonly=True) as session:
                rows = export_rows(session, kind, since=since)
                if output is None:
                    _write_rows(sys.stdout, fmt, COLUMNS[kind], rows)
                    sys.stdout.flush()
                else:
                    with _atomic_output(output) as stream:
                        _write_rows(stream, fmt, COLUMNS[kind], rows)
        except BrokenPipeError:
            # `duecall export ... | head`: the reader left; say nothing more on a closed pipe.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(exitcodes.FAILURE)
        except SQLAlchemyError as exc:
            _database_failure(exc)
        finally:
            db.dispose()


def _settle(obj: CliContext, db: Database, now: datetime) -> None:
    from campaigns.promises import evaluate_promises

    with db.session() as session:
        evaluate_promises(session, now=now, grace_days=obj.settings.promises.grace_days)


def _midnight_utc(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


def _database_failure(exc: SQLAlchemyError) -> NoReturn:
    detail = str(exc.args[0]) if exc.args else ""
    click.echo(
        f"database error: {type(exc).__name__}: {detail} (has `duecall db upgrade` run?)",
        err=True,
    )
    sys.exit(exitcodes.FAILURE)


@contextmanager
def _atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text stream to ``path`` that replaces it only when the block completes.

    A reader of the file (the bank's loader) never sees half an export.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        stream = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise click.FileError(str(path), exc.strerror) from exc
    try:
        with stream:
            yield stream
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


# --------------------------------------------------------------------------- exports


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_rows(
    stream: IO[str], fmt: str, columns: tuple[str, ...], rows: Iterator[dict[str, Value]]
) -> None:
    """Write ``rows`` as CSV (header row first) or as one JSON array, a row at a time."""
    if fmt == "csv":
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row[c]) for c in columns])
        return
    stream.write("[")
    separator = "\n"
    for row in rows:
        stream.write(separator)
        stream.write(json.dumps(row, ensure_ascii=False))
        separator = ",\n"
    stream.write("\n]\n" if separator != "\n" else "]\n")


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Section:
    """One table of the report, as text: the terminal and the HTML render the same sections."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    @property
    def numeric(self) -> tuple[bool, ...]:
        """Which columns hold figures (right-aligned)."""
        return tuple(
            bool(self.rows) and all(_figure(row[i]) for row in self.rows)
            for i in range(len(self.columns))
        )


@dataclass(frozen=True)
class Document:
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


def report_document(report: Report, *, business: str) -> Document:
    """The report as titled sections of text cells."""
    stamp = "%Y-%m-%d %H:%M UTC"
    summary = Section(
        "Summary",
        ("", "today", "all time"),
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
        ),
    )
    waiting = Section(
        "Waiting now",
        ("", "count"),
        (
            ("callback requests open", str(report.callbacks_open)),
            ("texts waiting in the inbox (`duecall sms inbox`)", str(report.inbox_waiting)),
        ),
    )
    attempts = Section(
        "Calls and texts by outcome",
        ("channel", "outcome", "today", "all time"),
        tuple(
            (line.channel, line.outcome, str(line.today), str(line.all_time))
            for line in report.attempts
        ),
    )
    promises = Section(
        "Promises to pay",
        ("status", "currency", "today", "amount today", "all time", "amount", "paid"),
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
    decisions = Section(
        "Contact policy decisions",
        ("rule", "allowed today", "denied today", "allowed", "denied"),
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
        ("kind", "added today", "added", "in force"),
        tuple(
            (line.kind, str(line.added_today), str(line.added_all_time), str(line.in_force))
            for line in report.suppressions
        ),
    )
    runs = Section(
        "Campaign runs (working, or launched today)",
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
            f"as of {report.generated_at.astimezone(UTC).strftime(stamp)}; "
            f"today is since {report.day_start.astimezone(UTC).strftime(stamp)}"
        ),
        sections=(summary, waiting, attempts, promises, decisions, optouts, runs),
    )


def print_document(console: Console, document: Document) -> None:
    """The report in the terminal. Every cell is plain text: a ``[`` in data is not markup."""
    console.print(Text(document.title, style="bold"))
    console.print(Text(document.subtitle))
    for section in document.sections:
        table = Table(title=Text(section.title, style="bold"), title_justify="left")
        for column, numeric in zip(section.columns, section.numeric, strict=True):
            table.add_column(Text(column), justify="right" if numeric else "left")
        for row in section.rows:
            table.add_row(*(Text(cell) for cell in row))
        if not section.rows:
            table.add_row(Text("none", style="dim"), *([""] * (len(section.columns) - 1)))
        console.print(table)
        if section.note:
            console.print(Text(section.note, style="dim"))


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0; }
p.sub { color: #666; margin-top: 0.2em; }
h2 { font-size: 1.1em; margin: 1.6em 0 0.4em; }
table { border-collapse: collapse; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.note, td.none { color: #888; }
""".strip()


def render_html(document: Document) -> str:
    """The report as one HTML page: inline CSS, no script, no external asset, all text escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(document.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{e(document.title)}</h1>",
        f'<p class="sub">{e(document.subtitle)}</p>',
    ]
    for section in document.sections:
        parts.append(f"<h2>{e(section.title)}</h2>")
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
