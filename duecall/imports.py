"""The CLI side of `accounts import` and `payments import`: progress, reject lines, exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from campaigns.importing import (
    ImportFileError,
    ImportOptions,
    ImportResult,
    Reject,
    import_accounts,
    import_payments,
)
from campaigns.plans import evaluate_plans
from campaigns.promises import evaluate_promises
from duecall import exitcodes
from duecall.settings import Settings
from store.clock import Clock
from store.db import Database


def import_options(settings: Settings) -> ImportOptions:
    s = settings.import_
    return ImportOptions(
        batch_size=s.batch_size,
        default_region=s.default_region,
        default_currency=s.default_currency,
        default_voice_consent=s.default_voice_consent,
        default_sms_consent=s.default_sms_consent,
        consent_source=s.consent_source,
        min_age_years=s.min_age_years,
        max_age_years=s.max_age_years,
        languages=settings.languages,
    )


def run_import(settings: Settings, db: Database, clock: Clock, kind: str, file: Path) -> int:
    """Run one import and report it; returns the process exit code."""
    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)

    def on_reject(reject: Reject) -> None:
        err.print(str(reject), markup=False, soft_wrap=True)

    run = import_accounts if kind == "accounts" else import_payments
    size = file.stat().st_size if file.exists() else 0
    progress = Progress(
        TextColumn(f"importing {file.name}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    try:
        with progress:
            task = progress.add_task("import", total=size or None)
            result = run(
                db,
                file,
                options=import_options(settings),
                clock=clock,
                on_reject=on_reject,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        out.print(describe(kind, file, result), markup=False, soft_wrap=True)
        if kind == "payments" and not _settle_promises(settings, db, clock, out, err):
            return exitcodes.FAILURE
    except ImportFileError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        return exitcodes.USAGE
    except SQLAlchemyError as exc:
        # The rows committed so far stay; a re-run picks up the rest (the import is idempotent,
        # and so is settling the promises).
        detail = exc.args[0] if exc.args else ""
        err.print(
            f"database error, import stopped: {type(exc).__name__}: {detail}",
            markup=False,
            soft_wrap=True,
        )
        return exitcodes.FAILURE
    finally:
        db.dispose()
    return exitcodes.REJECTS if result.rejected else exitcodes.OK


def _settle_promises(
    settings: Settings, db: Database, clock: Clock, out: Console, err: Console
) -> bool:
    """Settle the open promises and the active plans after a payments import; False (said on
    stderr) on failure.

    New payments may keep promises, and the calendar may have broken others. This runs in a
    session of its own once the import's rows are committed, so a failure here loses no payment;
    the next import, ``duecall report`` or ``duecall export promises`` settles them again.
    """
    try:
        with db.session() as session:
            counts = evaluate_promises(
                session, now=clock.now(), grace_days=settings.promises.grace_days
            )
            plans = evaluate_plans(session, settings.plans, now=clock.now())
    except SQLAlchemyError as exc:
        detail = exc.args[0] if exc.args else ""
        err.print(
            f"payments imported, but settling promises failed: {type(exc).__name__}: {detail}",
            markup=False,
            soft_wrap=True,
        )
        return False
    out.print(f"promises: {counts}", markup=False, soft_wrap=True)
    # Payments in another currency than their plan's are not applied: said here, and in the
    # report, so someone converts or books them by hand.
    out.print(f"plans: {plans}", markup=False, soft_wrap=True)
    return True


def describe(kind: str, file: Path, result: ImportResult) -> str:
    parts = [f"{result.inserted} new", f"{result.updated} updated"]
    if result.unchanged:
        parts.append(f"{result.unchanged} already present")
    text = (
        f"{file.name}: {result.total} {kind} rows, {result.landed} landed "
        f"({', '.join(parts)}), {result.rejected} rejected"
    )
    if result.rejects_file is not None:
        text += f" (see {result.rejects_file})"
    return text
