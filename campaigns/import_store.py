"""Writing what the import validated: accounts and phones upserted, payments inserted once, and
one ``import_batches`` row (with its audit entry) per run.

Each function writes one batch inside the caller's session; the caller commits, so every batch
is its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Dialect, Table, and_, bindparam, case, delete, select, tuple_
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.import_fields import Row
from store.audit import record_audit
from store.clock import Clock
from store.db import Database
from store.models import Account, ImportBatch, Payment, Phone
from store.planning import plan_by_index

__all__ = [
    "ImportResult",
    "finish_batch",
    "insert_payments",
    "start_batch",
    "upsert_accounts",
]


@dataclass
class ImportResult:
    """Counts of one import run; the rejects themselves go to the callback and the rejects file."""

    #: None for a payment posted over the JSON API (no file, no batch).
    batch_id: int | None
    total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_file: Path | None = None

    @property
    def landed(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _Prepared:
    """A batch upsert compiled once for a dialect, its rows handed to the driver directly.

    SQLAlchemy converts every value of every row on its way to the driver (a Money amount to
    minor units, a date or an aware datetime to what the engine stores), and builds a parameter
    set per row: half of an imported row's cost. Here the same conversions (the columns' own
    bind processors, so the stored values are the same) run once per column for the values
    that are the same on every row of a batch (its timestamps and batch id) and once per value
    for the rest, into the tuples the driver takes.

    SQLite runs the ``INSERT ... ON CONFLICT`` with ``executemany`` (one prepared statement).
    PostgreSQL copies the batch into a temporary staging table (``COPY``, one round trip, the
    table emptied at commit) and upserts from it in one ``INSERT ... SELECT ... ON CONFLICT``:
    a statement per row, even pipelined, was the server's work and most of the batch's time.
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    #: PostgreSQL: the staging table's CREATE and the COPY into it; ``sql`` reads from it.
    stage: str | None = None
    copy: str | None = None

    def run(self, session: Session, rows: Sequence[dict[str, Any]], same: dict[str, Any]) -> None:
        # Each row's tuple starts as the batch's template (its constants converted once); the
        # columns that vary are filled in by position, converted where their type needs it.
        template: list[Any] = [None] * len(self.names)
        plain: list[tuple[int, str]] = []
        converted: list[tuple[int, str, Callable[[Any], Any]]] = []
        for i, (name, proc) in enumerate(zip(self.names, self.processors, strict=True)):
            if name in same:
                template[i] = proc(same[name]) if proc is not None else same[name]
            elif proc is None:
                plain.append((i, name))
            else:
                converted.append((i, name, proc))
        # The last value converted per column, reused when the next row has the same object
        # (a batch's consent time is one datetime on every row that has one).
        last_in: list[Any] = [None] * len(self.names)
        last_out: list[Any] = [None] * len(self.names)
        params: list[tuple[Any, ...]] = []
        for row in rows:
            values = template.copy()
            for i, name in plain:
                values[i] = row[name]
            for i, name, proc in converted:
                value = row[name]
                if value is not None:
                    if value is last_in[i]:
                        value = last_out[i]
                    else:
                        last_in[i] = value
                        value = last_out[i] = proc(value)
                values[i] = value
            params.append(tuple(values))
        connection = session.connection()
        if self.stage is None or self.copy is None:
            connection.exec_driver_sql(self.sql, params)
            return
        connection.exec_driver_sql(self.stage)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(self.copy) as copy:
                for row_values in params:
                    copy.write_row(row_values)
        finally:
            cursor.close()
        connection.exec_driver_sql(self.sql)


def _prepare(
    session: Session, table: Table, names: Sequence[str], dialect: Dialect, upsert: Any
) -> _Prepared:
    """``upsert(insert)`` adds the ON CONFLICT clause to an insert of ``names`` into ``table``:
    of one row of parameters on SQLite, of the staging table's rows on PostgreSQL."""
    # The dialect's own form of each type (what SQLAlchemy itself runs): on SQLite a datetime
    # becomes the text SQLAlchemy stores, not the driver's default adaptation.
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    if dialect.name == "postgresql":
        stage_name = f"duecall_stage_{table.name}"
        stage = sql_table(stage_name, *(sql_column(name) for name in names))
        statement = upsert(
            postgresql.insert(table).from_select(
                list(names), select(*(stage.c[name] for name in names))
            )
        )
        columns = ", ".join(f'"{name}"' for name in names)
        return _Prepared(
            str(statement.compile(dialect=dialect)),
            tuple(names),
            processors,
            # The target's column types, none of its constraints: the upsert checks them.
            # Every name here is the model's own, never input.
            stage=(
                f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage_name}" ON COMMIT DELETE ROWS'  # noqa: S608
                f' AS SELECT {columns} FROM "{table.name}" WITH NO DATA'
            ),
            copy=f'COPY "{stage_name}" ({columns}) FROM STDIN',
        )
    compiled = upsert(
        _insert(session, table).values({name: bindparam(name) for name in names})
    ).compile(dialect=dialect)
    order = tuple(compiled.positiontup or ())
    if order != tuple(names):  # pragma: no cover - the statement's parameters as listed
        raise AssertionError(f"parameters in another order: {order}")
    return _Prepared(str(compiled), order, processors)


_PREPARED: dict[tuple[str, str, str], _Prepared] = {}


def _prepared(session: Session, which: str) -> _Prepared:
    dialect = session.get_bind().dialect
    key = (which, dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = _BUILDERS[which](session, dialect)
    return found


# In the tables' column order: SQLite's compiled insert lists its parameters that way.
_ACCOUNT_COLUMNS = (
    *("account_id", "customer_id", "name", "language", "timezone", "currency", "balance"),
    *("minimum_due", "fees_due", "interest_due", "due_date", "days_past_due", "card_last4"),
    *("birth_date", "status", "balance_as_of", "email", "import_batch_id", "created_at"),
    "updated_at",
)
_PHONE_COLUMNS = (
    *("account_id", "kind", "number", "voice_consent", "voice_consent_source"),
    *("voice_consent_at", "sms_consent", "sms_consent_source", "sms_consent_at"),
    *("created_at", "updated_at"),
)


def _accounts_upsert(session: Session, dialect: Dialect) -> _Prepared:
    def upsert(stmt: Any) -> Any:
        # On a conflict every column but the creation time is the file's and this run's.
        updated = [c for c in _ACCOUNT_COLUMNS if c not in ("account_id", "created_at")]
        return stmt.on_conflict_do_update(
            index_elements=["account_id"], set_={c: stmt.excluded[c] for c in updated}
        )

    return _prepare(session, cast(Table, Account.__table__), _ACCOUNT_COLUMNS, dialect, upsert)


def _phones_upsert(session: Session, dialect: Dialect) -> _Prepared:
    return _prepare(
        session, cast(Table, Phone.__table__), _PHONE_COLUMNS, dialect, _phones_conflict
    )


def _phones_conflict(pstmt: Any) -> Any:
    table = Phone.__table__
    ex = pstmt.excluded

    def keep_if_same(channel: str, column: str) -> Any:
        # Keep when and where consent was recorded unless the number or the answer changed.
        same = and_(
            table.c.number == ex.number,
            table.c[f"{channel}_consent"] == ex[f"{channel}_consent"],
        )
        return case((same, table.c[column]), else_=ex[column])

    return pstmt.on_conflict_do_update(
        index_elements=["account_id", "kind"],
        set_={
            "voice_consent_source": keep_if_same("voice", "voice_consent_source"),
            "voice_consent_at": keep_if_same("voice", "voice_consent_at"),
            "sms_consent_source": keep_if_same("sms", "sms_consent_source"),
            "sms_consent_at": keep_if_same("sms", "sms_consent_at"),
            "number": ex.number,
            "voice_consent": ex.voice_consent,
            "sms_consent": ex.sms_consent,
            "updated_at": ex.updated_at,
        },
    )


_BUILDERS: dict[str, Callable[[Session, Dialect], _Prepared]] = {
    "accounts": _accounts_upsert,
    "phones": _phones_upsert,
}


# --------------------------------------------------------------------------- accounts


def upsert_accounts(
    session: Session,
    accounts: list[dict[str, Any]],
    phones: list[dict[str, Any]],
    batch_id: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Upsert one batch; returns (inserted, updated). The caller commits."""
    ids = [a["account_id"] for a in accounts]
    # Which of these ids exist, found by the primary key. Unguarded, this query made the import
    # quadratic on PostgreSQL: after a few batches psycopg prepares it, and the generic plan
    # chosen while the table was small -- a sequential scan comparing every row with each of the
    # 500 ids -- stays as the table grows (60,000 rows: 56 s of the import's 76 s).
    plan_by_index(session)
    existing = set(
        session.scalars(select(Account.account_id).where(Account.account_id.in_(ids))).all()
    )
    # On a conflict every column but the creation time is the file's (as the batch id and the
    # update time are this run's).
    _prepared(session, "accounts").run(
        session,
        accounts,
        {"import_batch_id": batch_id, "created_at": now, "updated_at": now},
    )

    # The file is the source of truth for an account's numbers: an alternate number that is no
    # longer listed is removed.
    # Only an account that existed before this batch can have one: a first load deletes nothing.
    keep_alt = {p["account_id"] for p in phones if p["kind"] == "alt"}
    drop_alt = [i for i in ids if i in existing and i not in keep_alt]
    if drop_alt:
        session.execute(delete(Phone).where(Phone.account_id.in_(drop_alt), Phone.kind == "alt"))

    _prepared(session, "phones").run(
        session,
        [
            {
                **p,
                "voice_consent_at": now if p["voice_consent_source"] else None,
                "sms_consent_at": now if p["sms_consent_source"] else None,
            }
            for p in phones
        ],
        {"created_at": now, "updated_at": now},
    )
    inserted = len(set(ids) - existing)
    return inserted, len(ids) - inserted


# --------------------------------------------------------------------------- payments


def insert_payments(
    session: Session,
    valid: list[tuple[Row, dict[str, Any]]],
    now: datetime,
    result: ImportResult,
) -> None:
    """Insert one batch of validated payments, counting them in ``result``. The caller commits.

    A payment for an unknown account, or whose id is already recorded with another account or
    amount, is rejected on its row and never written: a payment is never overwritten.
    """
    account_ids = {p["account_id"] for _, p in valid}
    known_accounts = set(
        session.scalars(select(Account.account_id).where(Account.account_id.in_(account_ids))).all()
    )
    payment_ids = {p["payment_id"] for _, p in valid}
    stored = {
        pid: (acct, amount)
        for pid, acct, amount in session.execute(
            select(Payment.payment_id, Payment.account_id, Payment.amount).where(
                Payment.payment_id.in_(payment_ids)
            )
        )
    }
    new: list[dict[str, Any]] = []
    for row, payment in valid:
        if payment["account_id"] not in known_accounts:
            row.reject("account_id", "unknown account (import the accounts first)")
            continue
        seen = stored.get(payment["payment_id"])
        if seen is not None:
            if seen == (payment["account_id"], payment["amount"]):
                result.unchanged += 1
            else:
                row.reject(
                    "payment_id",
                    f"already recorded for account {seen[0]} with amount {seen[1]}; "
                    "a payment is never overwritten",
                )
            continue
        stored[payment["payment_id"]] = (payment["account_id"], payment["amount"])
        new.append({**payment, "import_batch_id": result.batch_id, "created_at": now})
    if new:
        stmt = _insert(session, Payment.__table__).on_conflict_do_nothing(
            index_elements=["payment_id"]
        )
        session.execute(stmt, new)
        # Another import may have inserted the same id concurrently: re-read what landed.
        landed = set(
            session.execute(
                select(Payment.payment_id, Payment.account_id, Payment.amount).where(
                    tuple_(Payment.payment_id, Payment.account_id).in_(
                        [(p["payment_id"], p["account_id"]) for p in new]
                    )
                )
            ).all()
        )
        for p in new:
            if (p["payment_id"], p["account_id"], p["amount"]) in landed:
                result.inserted += 1
            else:
                row = next(
                    r for r, v in valid if v is not None and v["payment_id"] == p["payment_id"]
                )
                row.reject("payment_id", "recorded concurrently with different content")


# --------------------------------------------------------------------------- import_batches


def start_batch(db: Database, kind: str, path: Path, now: datetime) -> int:
    """Record a running import of ``path``; returns the ``import_batches`` id."""
    with db.session() as session:
        batch = ImportBatch(kind=kind, filename=str(path)[-500:], started_at=now, status="running")
        session.add(batch)
        session.flush()
        return batch.id


def finish_batch(
    db: Database, result: ImportResult, kind: str, clock: Clock, actor: str, failed: bool
) -> None:
    """Close the run's ``import_batches`` row with its counts and audit it."""
    with db.session() as session:
        batch = session.get(ImportBatch, result.batch_id)
        if batch is None:  # pragma: no cover - the row was created by this run
            return
        batch.finished_at = clock.now()
        batch.status = "failed" if failed else "done"
        batch.rows_total = result.total
        batch.rows_ok = result.landed
        batch.rows_rejected = result.rejected
        record_audit(
            session,
            at=clock.now(),
            actor=actor,
            action=f"{kind}.import",
            entity_type="import_batch",
            entity_id=str(result.batch_id),
            detail={
                "file": batch.filename,
                "status": batch.status,
                "total": result.total,
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
            },
        )
