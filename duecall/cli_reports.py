"""Report and export commands on the `duecall` CLI.

``duecall report [--day YYYY-MM-DD] [--tz ZONE] [--html FILE]`` prints the collections report
(:mod:`campaigns.reports`, laid out by :mod:`campaigns.report_view`) for one calendar day in a
named zone, with the desk's figures of that day (:mod:`duecall.report_desk`), in the terminal and
optionally writes it as one self-contained HTML file with its charts as inline SVG.
``duecall export promises|attempts|optouts|plans|concessions`` writes rows for the bank's systems
(:mod:`campaigns.exports`) as CSV or JSON, to stdout or ``--output FILE``. Both settle the open
promises first (:func:`campaigns.promises.evaluate_promises`), so the statuses they show are
current; they settle the active repayment plans too
(:func:`campaigns.plans.evaluate_plans`).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import zoneinfo
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import click
from rich.console import Console

from campaigns.report_view import render_html
from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.report_terminal import print_document
from duecall.settings import Settings

if TYPE_CHECKING:
    from campaigns.exports import ExportKind, Value
    from store.db import Database

EXPORT_KINDS = ("promises", "attempts", "optouts", "plans", "concessions")


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """``--since``: a calendar date written ``YYYY-MM-DD``; anything else is a usage error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


def _zone(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> zoneinfo.ZoneInfo | None:
    """``--tz``: an IANA time zone name; anything else is a usage error."""
    if value is None:
        return None
    try:
        return zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not an IANA time zone such as America/New_York or UTC"
        ) from None


def default_zone(settings: Settings) -> zoneinfo.ZoneInfo:
    """The zone a report's day is read in when ``--tz`` is not given: the first campaign's
    schedule zone (the business's working day), else UTC."""
    for campaign in settings.campaigns:
        return zoneinfo.ZoneInfo(campaign.schedule.timezone)
    return zoneinfo.ZoneInfo("UTC")


def report_command_line(day: date, zone: zoneinfo.ZoneInfo) -> str:
    """The ``duecall report`` invocation that shows ``day`` in ``zone``."""
    return f"duecall report --day {day.isoformat()} --tz {zone.key}"


def register(cli: click.Group) -> None:
    """Add ``duecall report`` and ``duecall export`` to ``cli``."""
    cli.add_command(report_command)
    cli.add_command(export_command)


@click.command("report")
@click.option(
    "--day",
    callback=_iso_date,
    metavar="YYYY-MM-DD",
    default=None,
    help="The day to count, 00:00 to 24:00 in --tz (default: today there).",
)
@click.option(
    "--tz",
    "zone",
    callback=_zone,
    metavar="ZONE",
    default=None,
    help="The IANA time zone the day is read in (default: the first campaign's schedule zone).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as one self-contained HTML file.",
)
@pass_ctx
def report_command(
    obj: CliContext, day: date | None, zone: zoneinfo.ZoneInfo | None, html_file: Path | None
) -> None:
    """Attempts, contacts, promises, policy decisions, opt-outs, runs and the desk: one day and
    all time.

    The day is today in the first campaign's schedule zone unless --day and --tz say otherwise;
    the header names both. Open promises are settled first.
    """
    from campaigns.reports import ReportDay
    from duecall.report_desk import day_document

    settings = obj.settings
    zone = zone or default_zone(settings)
    now = obj.clock.now()
    window = ReportDay(day, zone) if day is not None else ReportDay.containing(now, zone)
    with ExitStack() as stack:
        # The file is opened before anything is read, so an unwritable path fails at once.
        stream = _open_output(stack, html_file) if html_file is not None else None
        with obj.store() as db:
            _settle(obj, db, now)
            with db.session(readonly=True) as session:
                document = day_document(
                    session, settings.desk, business=settings.business.name, now=now, day=window
                )
        print_document(Console(highlight=False), document)
        if stream is not None:
            stream.write(render_html(document))
    if html_file is not None:
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

    try:
        with ExitStack() as stack:
            stream = _open_output(stack, output) if output is not None else sys.stdout
            with obj.store() as db:
                if kind in ("promises", "plans"):
                    _settle(obj, db, obj.clock.now())
                with db.session(readonly=True) as session:
                    rows = export_rows(session, kind, since=since)
                    _write_rows(stream, fmt, COLUMNS[kind], rows)
                    stream.flush()
    except BrokenPipeError:
        # `duecall export ... | head`: the reader left; say nothing more on a closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(exitcodes.FAILURE)


def _settle(obj: CliContext, db: Database, now: datetime) -> None:
    from campaigns.plans import evaluate_plans
    from campaigns.promises import evaluate_promises

    with db.session() as session:
        evaluate_promises(session, now=now, grace_days=obj.settings.promises.grace_days)
        evaluate_plans(session, obj.settings.plans, now=now)


def _open_output(stack: ExitStack, path: Path) -> IO[str]:
    """:func:`_atomic_output` entered on ``stack``."""
    return stack.enter_context(_atomic_output(path))


def _cannot_write(path: Path, exc: OSError) -> NoReturn:
    click.echo(f"cannot write {path}: {exc.strerror or exc}", err=True)
    sys.exit(exitcodes.USAGE)


@contextmanager
def _atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text stream to ``path`` that replaces it only when the block completes.

    A reader of the file (the bank's loader) never sees half an export. The file is readable by
    its owner only (0600) from its first byte: it holds full phone numbers, balances and
    promises. A path that cannot be written (no such folder, no permission) is one line on
    stderr and exit 2.
    """
    from campaigns.csv_cells import open_private

    partial = path.with_name(f".{path.name}.partial")
    try:
        stream = open_private(partial)
    except OSError as exc:
        _cannot_write(path, exc)
    try:
        with stream:
            yield stream
        try:
            partial.replace(path)
        except OSError as exc:
            _cannot_write(path, exc)
    finally:
        partial.unlink(missing_ok=True)


# --------------------------------------------------------------------------- exports


def _write_rows(
    stream: IO[str], fmt: str, columns: tuple[str, ...], rows: Iterator[dict[str, Value]]
) -> None:
    """Write ``rows`` as CSV (header row first) or as one JSON array, a row at a time."""
    if fmt == "csv":
        from campaigns.exports import csv_cell

        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row[c]) for c in columns])
        return
    stream.write("[")
    separator = "\n"
    for row in rows:
        stream.write(separator)
        stream.write(json.dumps(row, ensure_ascii=False))
        separator = ",\n"
    stream.write("\n]\n" if separator != "\n" else "]\n")
