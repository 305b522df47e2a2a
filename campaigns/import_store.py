"""Writing what the import validated: accounts and phones upserted, payments inserted once, and
one ``import_batches`` row (with its audit entry) per run.

Each function writes one batch inside the caller's session; the caller commits, so every batch
is its own short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, delete, select, tuple_
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

    batch_id: int
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


# --------------------------------------------------------------------------- accounts


def upsert_accounts(
    session: Session,
    accounts: list[dict[str, Any]],
    phones: list[dict[str, Any]],
    batch_id: int,
    now: datetime,
) -> tuple[int, int]:
    """Upsert one batch; returns (inserted, updated). The caller commits."""
    ids = [a["account_id"] for a in accounts]
    stmt = _insert(session, Account.__table__)
    updatable = [c for c in accounts[0] if c != "account_id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={
            **{c: stmt.excluded[c] for c in updatable},
            "import_batch_id": stmt.excluded.import_batch_id,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    values = [
        {**a, "import_batch_id": batch_id, "created_at": now, "updated_at": now} for a in accounts
    ]
    # Which of these ids exist, found by the primary key. Unguarded, this query made the import
    # quadratic on PostgreSQL: after a few batches psycopg prepares it, and the generic plan
    # chosen while the table was small -- a sequential scan comparing every row with each of the
    # 500 ids -- stays as the table grows (60,000 rows: 56 s of the import's 76 s).
    plan_by_index(session)
    existing = set(
        session.scalars(select(Account.account_id).where(Account.account_id.in_(ids))).all()
    )
    session.execute(stmt, values)

    # The file is the source of truth for an account's numbers: an alternate number that is no
    # longer listed is removed.
    # Only an account that existed before this batch can have one: a first load deletes nothing.
    keep_alt = {p["account_id"] for p in phones if p["kind"] == "alt"}
    drop_alt = [i for i in ids if i in existing and i not in keep_alt]
    if drop_alt:
        session.execute(delete(Phone).where(Phone.account_id.in_(drop_alt), Phone.kind == "alt"))

    table = Phone.__table__
    pstmt = _insert(session, table)
    ex = pstmt.excluded

    def keep_if_same(channel: str, column: str) -> Any:
        # Keep when and where consent was recorded unless the number or the answer changed.
        same = and_(
            table.c.number == ex.number,
            table.c[f"{channel}_consent"] == ex[f"{channel}_consent"],
        )
        return case((same, table.c[column]), else_=ex[column])

    pstmt = pstmt.on_conflict_do_update(
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
    session.execute(
        pstmt,
        [
            {
                **p,
                "voice_consent_at": now if p["voice_consent_source"] else None,
                "sms_consent_at": now if p["sms_consent_source"] else None,
                "created_at": now,
                "updated_at": now,
            }
            for p in phones
        ],
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
