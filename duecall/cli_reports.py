"""Report and export commands on the `duecall` CLI.

``duecall report [--html FILE]`` prints the collections report (:mod:`campaigns.reports`, laid
out by :mod:`campaigns.report_view`) in the terminal and optionally writes it as one
self-contained HTML file. ``duecall export
promises|attempts|optouts`` writes rows for the bank's systems (:mod:`campaigns.exports`) as CSV
or JSON, to stdout or ``--output FILE``. Both settle the open promises first
(:func:`campaigns.promises.evaluate_promises`), so the statuses they show are current.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from campaigns.report_view import render_html, report_document
from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.report_terminal import print_document

if TYPE_CHECKING:
    from campaigns.exports import ExportKind, Value
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
    cli.add_command(report_command)
    cli.add_command(export_command)


@click.command("report")
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


@click.command("export")
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
