"""``duecall audit NUMBER|ACCOUNT``: one person's contact and decision timeline.

The timeline is built by :mod:`campaigns.audit`; this module resolves the argument, hands it the
contact policy's zone rule (:func:`dialer.timezones.resolve_zones`, which campaigns/ may not
import), and prints it as a table, a JSON document or a self-contained HTML page. Read-only: it
never creates a database.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import NoReturn

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from campaigns.audit import (
    Subject,
    Timeline,
    UnknownSubjectError,
    build_timeline,
    find_subject,
)
from campaigns.audit_view import local_times, render_html, subject_lines, timeline_document
from dialer.timezones import resolve_zones
from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.terminal import plain
from store.models import Account
from telephony.numbers import InvalidNumberError, to_e164

# What a phone number written by a person may contain; anything else is an account id.
_PHONE_SHAPED = re.compile(r"\+?[\d\s().-]{7,}")


def register(cli: click.Group) -> None:
    """Add ``duecall audit`` to ``cli``."""
    cli.add_command(audit_command)


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(exitcodes.USAGE)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--since``: a calendar date written ``YYYY-MM-DD``, read as 00:00 UTC."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        _usage(f"--since: {value!r} is not a date written YYYY-MM-DD")
    return datetime.combine(day, time.min, tzinfo=UTC)


def _zones_for(number: str, declared: str | None) -> Sequence[str]:
    return resolve_zones(number, declared).names


def _subject(session: Session, target: str, region: str) -> Subject:
    """The person ``target`` names: an existing account id first (bank account numbers are
    often all digits), else a phone number, else an account id that is not there."""
    text = target.strip()
    if not text:
        _usage("give a phone number or an account id")
    if not text.startswith("+") and session.get(Account, text) is not None:
        return find_subject(session, account_id=text, zones_for=_zones_for)
    if text.startswith("+") or _PHONE_SHAPED.fullmatch(text):
        try:
            number = to_e164(text, region)
        except InvalidNumberError as exc:
            # Account ids never start with "+" (import refuses them), so say only what it is not.
            tail = "" if text.startswith("+") else " and no account has that id"
            _usage(f"{target!r} is {exc.reason}{tail}")
        return find_subject(session, number=number, zones_for=_zones_for)
    return find_subject(session, account_id=text, zones_for=_zones_for)


@click.command("audit")
@click.argument("target", metavar="NUMBER|ACCOUNT")
@click.option(
    "--since",
    callback=_since,
    metavar="YYYY-MM-DD",
    default=None,
    help="Only what happened on or after this date (UTC).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="A table in the terminal, or one JSON document.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the timeline as one self-contained HTML page (replaced only when complete).",
)
@pass_ctx
def audit_command(
    obj: CliContext, target: str, since: datetime | None, fmt: str, html_file: Path | None
) -> None:
    """Everything about one person, in time order: calls, texts, Twilio callbacks, policy
    decisions (rule, reason and facts), opt-outs, hotline calls, promises, callback requests,
    fraud reports and audit rows.

    NUMBER (any format; read in import.default_region without a leading +) finds every account
    on it; ACCOUNT finds its customer. Both gather all that person's accounts and numbers. Times
    are in UTC and in every zone the contact policy binds for the person (the declared zone and
    the numbers' zones). Numbers are masked except the subject's own: the number asked about, or
    the numbers on file for the account asked about.
    """
    settings = obj.settings
    with obj.store() as db, db.session(readonly=True) as session:
        try:
            subject = _subject(session, target, settings.import_.default_region)
        except UnknownSubjectError as exc:
            _usage(str(exc))
        timeline = build_timeline(session, subject, since=since)

    now = obj.clock.now()
    if fmt == "json":
        click.echo(json.dumps(timeline_document(timeline, generated_at=now), ensure_ascii=False))
    else:
        # Piped into a file or a pager, the table keeps its rows on one line each.
        width = None if sys.stdout.isatty() else 200
        _print_table(Console(highlight=False, width=width), timeline)
    if html_file is not None:
        title = f"{settings.business.name}: contact audit of {subject.query}"
        _write_atomically(html_file, render_html(timeline, title=title, generated_at=now))
        click.echo(f"audit written to {html_file}", err=fmt == "json")


def _zone_heading(name: str) -> str:
    # "America/Los_Angeles" -> "Los Angeles": the full names are in the header above the table.
    return name.rsplit("/", 1)[-1].replace("_", " ")


def _print_table(console: Console, timeline: Timeline) -> None:
    """The header lines, the timeline table, then each entry's reason and facts."""
    subject = timeline.subject
    for line in subject_lines(subject):
        console.print(plain(line), soft_wrap=True)
    if timeline.since is not None:
        console.print(Text(f"since {timeline.since:%Y-%m-%d} 00:00 UTC"))
    table = Table(title=Text("Timeline", style="bold"), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("UTC", no_wrap=True)
    for name in subject.zones:
        table.add_column(Text(_zone_heading(name)), no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("what", ratio=1, min_width=30)
    table.add_column("rule")
    for i, entry in enumerate(timeline.entries, start=1):
        local = local_times(entry.at, subject.zones)
        table.add_row(
            str(i),
            Text(f"{entry.at.astimezone(UTC):%Y-%m-%d %H:%M}"),
            *(Text(f"{local[name]:%m-%d %H:%M %Z}") for name in subject.zones),
            plain(entry.kind),
            plain(entry.summary),
            plain(entry.rule or ""),
        )
    if not timeline.entries:
        table.add_row("", Text("nothing recorded", style="dim"), *[""] * (len(subject.zones) + 3))
    console.print(table)
    # The reason and facts are long; printed unwrapped after the table, so a line can be copied.
    for i, entry in enumerate(timeline.entries, start=1):
        if entry.reason:
            console.print(plain(f"#{i} reason: {entry.reason}"), soft_wrap=True)
        if entry.facts:
            facts = json.dumps(entry.facts, ensure_ascii=False, sort_keys=True)
            console.print(plain(f"#{i} facts ({entry.record}): {facts}"), soft_wrap=True)


def _write_atomically(path: Path, content: str) -> None:
    """Write ``path`` through a temporary file in its folder and a rename: a reader never sees
    half a page. The page is readable by its owner only (it names a person and their debt);
    any failure is one line and exit 2."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    except OSError as exc:
        _usage(f"cannot write {path}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.replace(partial, path)
    except OSError as exc:
        _usage(f"cannot write {path}: {exc.strerror or exc}")
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
