"""Account and payment import from the bank's CSV files: the accounts file and the payments file.

Every row is validated on its own; a bad row is reported as ``line N: column: reason`` and
written to ``FILE.rejects.csv`` while every good row lands. Files are streamed and written in
batches, each batch in its own short transaction, so memory stays flat and the webhooks never
wait on one long write.
Re-importing a file updates what changed and duplicates nothing: accounts are upserted by
``account_id``, payments are idempotent by ``payment_id``.

This module drives a run and is the import's public face; the work is done in
:mod:`campaigns.import_csv` (reading the file, the rejects file), :mod:`campaigns.import_fields`
(one value), :mod:`campaigns.import_rows` (one row) and :mod:`campaigns.import_store` (writes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from campaigns.import_csv import ImportFileError, RejectsWriter, read_rows
from campaigns.import_fields import Reject, Row
from campaigns.import_rows import (
    ACCOUNT_COLUMNS,
    ACCOUNT_OPTIONAL_COLUMNS,
    CURRENCIES,
    PAYMENT_COLUMNS,
    PAYMENT_OPTIONAL_COLUMNS,
    ImportOptions,
    validate_account,
    validate_payment,
)
from campaigns.import_store import (
    ImportResult,
    finish_batch,
    insert_payments,
    start_batch,
    upsert_accounts,
)
from store.clock import Clock
from store.db import Database

__all__ = [
    "ACCOUNT_COLUMNS",
    "ACCOUNT_OPTIONAL_COLUMNS",
    "CURRENCIES",
    "PAYMENT_COLUMNS",
    "ImportFileError",
    "ImportOptions",
    "ImportResult",
    "Reject",
    "import_accounts",
    "import_payments",
]


def import_accounts(
    db: Database,
    path: Path,
    *,
    options: ImportOptions,
    clock: Clock,
    actor: str = "cli",
    on_reject: Callable[[Reject], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import an accounts CSV; raises :class:`ImportFileError` when the file itself is unusable."""
    return _run(
        db,
        path,
        kind="accounts",
        columns=(ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS),
        options=options,
        clock=clock,
        actor=actor,
        on_reject=on_reject,
        on_progress=on_progress,
    )


def import_payments(
    db: Database,
    path: Path,
    *,
    options: ImportOptions,
    clock: Clock,
    actor: str = "cli",
    on_reject: Callable[[Reject], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a payments CSV: new ids land, a known id with the same content is a no-op, a known
    id with a different amount or account is a reject (never an overwrite)."""
    return _run(
        db,
        path,
        kind="payments",
        columns=(PAYMENT_COLUMNS, PAYMENT_OPTIONAL_COLUMNS),
        options=options,
        clock=clock,
        actor=actor,
        on_reject=on_reject,
        on_progress=on_progress,
    )


def _run(
    db: Database,
    path: Path,
    *,
    kind: str,
    columns: tuple[tuple[str, ...], tuple[str, ...]],
    options: ImportOptions,
    clock: Clock,
    actor: str,
    on_reject: Callable[[Reject], None] | None,
    on_progress: Callable[[int], None] | None,
) -> ImportResult:
    rows = read_rows(path, columns[0], columns[1], on_progress)
    first = next(rows, None)  # validates the header before a batch row is written
    result = ImportResult(batch_id=start_batch(db, kind, path, clock.now()))
    rejects = RejectsWriter(path, (*columns[0], *columns[1]))
    pending: list[Row] = [] if first is None else [first]
    failed = True
    try:
        for row in rows:
            pending.append(row)
            if len(pending) >= options.batch_size:
                _flush(db, kind, pending, options, clock, result, rejects, on_reject)
                pending = []
        if pending:
            _flush(db, kind, pending, options, clock, result, rejects, on_reject)
        failed = False
    finally:
        result.rejects_file = rejects.close()
        finish_batch(db, result, kind, clock, actor, failed)
    return result


def _flush(
    db: Database,
    kind: str,
    rows: list[Row],
    options: ImportOptions,
    clock: Clock,
    result: ImportResult,
    rejects: RejectsWriter,
    on_reject: Callable[[Reject], None] | None,
) -> None:
    now = clock.now()
    result.total += len(rows)
    with db.session() as session:
        if kind == "accounts":
            _flush_accounts(session, rows, options, now, result)
        else:
            _flush_payments(session, rows, now, result)
    for row in rows:
        if row.errors:
            result.rejected += 1
            rejects.write(row)
            if on_reject is not None:
                for reject in row.errors:
                    on_reject(reject)


def _flush_accounts(
    session: Session, rows: list[Row], options: ImportOptions, now: datetime, result: ImportResult
) -> None:
    today = now.date()
    # Last row wins when an account appears twice in one batch, as it would across batches.
    accounts: dict[str, dict[str, Any]] = {}
    phones: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.errors:
            continue
        valid = validate_account(row, options, today)
        if valid is None:
            continue
        account, account_phones = valid
        if account["account_id"] in accounts:
            result.updated += 1  # the earlier row of this batch is superseded
        accounts[account["account_id"]] = account
        phones[account["account_id"]] = account_phones
    if not accounts:
        return
    batch_id = result.batch_id
    inserted, updated = upsert_accounts(
        session,
        list(accounts.values()),
        [p for ps in phones.values() for p in ps],
        batch_id,
        now,
    )
    result.inserted += inserted
    result.updated += updated


def _flush_payments(session: Session, rows: list[Row], now: datetime, result: ImportResult) -> None:
    valid: list[tuple[Row, dict[str, Any]]] = []
    for row in rows:
        if row.errors:
            continue
        payment = validate_payment(row, now)
        if payment is not None:
            valid.append((row, payment))
    if not valid:
        return
    insert_payments(session, valid, now, result)
