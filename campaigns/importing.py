"""Account and payment import from the bank's CSV files (DESIGN.md "Accounts CSV", "Payments CSV").

Every row is validated on its own; a bad row is reported as ``line N: column: reason`` and
written to ``FILE.rejects.csv`` while every good row lands. Files are streamed and written in
batches, each batch in its own short transaction, so memory stays flat and the webhooks never
wait on one long write.
Re-importing a file updates what changed and duplicates nothing: accounts are upserted by
``account_id``, payments are idempotent by ``payment_id``.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.audit import record_audit
from store.clock import Clock
from store.db import Database
from store.models import ACCOUNT_STATUSES, Account, ImportBatch, Payment, Phone
from store.types import to_money
from telephony.numbers import NOT_A_NUMBER, NOT_VALID, InvalidNumberError, Reason, to_e164

ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "phone",
    "language",
    "timezone",
    "balance",
    "minimum_due",
    "due_date",
    "days_past_due",
    "card_last4",
    "birth_date",
)
ACCOUNT_OPTIONAL_COLUMNS = (
    "customer_id",
    "status",
    "balance_as_of",
    "alt_phone",
    "email",
    "sms_consent",
    "voice_consent",
    "currency",
)
PAYMENT_COLUMNS = ("payment_id", "account_id", "amount", "paid_at")

# ISO 4217 currencies with two minor units that the money columns can hold exactly.
CURRENCIES = frozenset(
    "AUD CAD CHF CNY EUR GBP HKD MOP MXN NZD SGD TWD USD".split()  # noqa: SIM905
)
_MONEY_RE = re.compile(r"^\d+(\.\d{1,2})?$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
# A reject line says "for its country": whoever fixes the file needs to know the number was
# checked against a country's plan (its own with a +, else the default region).
_PHONE_REASONS: dict[Reason, str] = {
    NOT_A_NUMBER: "not a phone number",
    NOT_VALID: "not a valid phone number for its country",
}


class ImportFileError(Exception):
    """Raised when the file as a whole cannot be imported (missing, not CSV, wrong header)."""


@dataclass(frozen=True)
class Reject:
    """One problem with one row: ``line`` is the file line where the record starts (header = 1)."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.reason}"


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


@dataclass(frozen=True)
class ImportOptions:
    """What the import needs from the settings (``import`` section of config.yaml)."""

    batch_size: int = 500
    default_region: str = "US"
    default_currency: str = "USD"
    default_voice_consent: bool = True
    default_sms_consent: bool = True
    consent_source: str = "cardholder_agreement"
    min_age_years: int = 18
    max_age_years: int = 120
    languages: tuple[str, ...] = ("en-US", "zh-CN")


@dataclass
class _Row:
    line: int
    raw: dict[str, str]
    errors: list[Reject] = field(default_factory=list)

    def reject(self, column: str, reason: str) -> None:
        self.errors.append(Reject(self.line, column, reason))


# --------------------------------------------------------------------------- field parsers


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _text(row: _Row, column: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = (row.raw.get(column) or "").strip()
    if not value:
        if required:
            row.reject(column, "required")
        return None
    if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
        row.reject(column, "not valid UTF-8")
        return None
    if len(value) > max_len:
        row.reject(column, f"longer than {max_len} characters")
        return None
    return value


def _identifier(row: _Row, column: str, *, required: bool = True) -> str | None:
    value = _text(row, column, required=required, max_len=64)
    if value is not None and not _ID_RE.match(value):
        row.reject(column, "must be 1-64 letters, digits, '.', '_' or '-'")
        return None
    return value


def _money(row: _Row, column: str, *, positive: bool = False) -> Decimal | None:
    value = _text(row, column)
    if value is None:
        return None
    if value.startswith("-"):
        row.reject(column, "must not be negative")
        return None
    if not _MONEY_RE.match(value):
        row.reject(column, "not an amount with at most 2 decimals (write 1234.56)")
        return None
    amount = to_money(value)
    if positive and amount <= 0:
        row.reject(column, "must be greater than zero")
        return None
    return amount


def _date(row: _Row, column: str, *, required: bool = True) -> date | None:
    value = _text(row, column, required=required)
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        row.reject(column, "not a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        row.reject(column, "not a valid calendar date")
        return None


def _phone(row: _Row, column: str, region: str, *, required: bool = True) -> str | None:
    value = _text(row, column, required=required, max_len=40)
    if value is None:
        return None
    try:
        return to_e164(value, region)
    except InvalidNumberError as exc:
        row.reject(column, _PHONE_REASONS[exc.reason])
        return None


def _bool(row: _Row, column: str) -> bool | None:
    value = (row.raw.get(column) or "").strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    row.reject(column, "must be true/false, yes/no or 1/0")
    return None


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class _ConsentValue:
    given: bool
    source: str | None


def _validate_account(
    row: _Row, options: ImportOptions, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    account_id = _identifier(row, "account_id")
    customer_id = _identifier(row, "customer_id", required=False) or account_id
    name = _text(row, "name")
    language = _text(row, "language", max_len=8)
    if language is not None and language not in options.languages:
        row.reject("language", f"must be one of {', '.join(options.languages)}")
    tz = _text(row, "timezone", required=False, max_len=64)
    if tz is not None and (tz not in _zones() or tz.startswith(("Etc/Unknown", "Factory"))):
        row.reject("timezone", "not an IANA time zone name such as America/New_York")
    balance = _money(row, "balance")
    minimum_due = _money(row, "minimum_due")
    if balance is not None and minimum_due is not None and minimum_due > balance:
        row.reject("minimum_due", "greater than the balance")
    due_date = _date(row, "due_date")
    dpd_raw = _text(row, "days_past_due", max_len=6)
    dpd = None
    if dpd_raw is not None:
        if dpd_raw.isdigit():
            dpd = int(dpd_raw)
        else:
            row.reject("days_past_due", "must be a whole number of days, 0 or more")
    last4 = _text(row, "card_last4", max_len=8)
    if last4 is not None and not re.fullmatch(r"\d{4}", last4):
        row.reject("card_last4", "must be exactly 4 digits")
    birth = _date(row, "birth_date")
    if birth is not None:
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if birth > today:
            row.reject("birth_date", "in the future")
        elif not options.min_age_years <= age <= options.max_age_years:
            row.reject(
                "birth_date",
                f"implausible: age {age} is outside "
                f"{options.min_age_years}-{options.max_age_years}",
            )
    status = (_text(row, "status", required=False, max_len=16) or "open").lower()
    if status not in ACCOUNT_STATUSES:
        row.reject("status", f"must be one of {', '.join(ACCOUNT_STATUSES)}")
    as_of = _date(row, "balance_as_of", required=False) or today
    if as_of > today:
        row.reject("balance_as_of", "in the future")
    email = _text(row, "email", required=False, max_len=254)
    if email is not None and not _EMAIL_RE.match(email):
        row.reject("email", "not an e-mail address")
    currency = _text(row, "currency", required=False, max_len=3) or options.default_currency
    currency = currency.upper()
    if currency not in CURRENCIES:
        row.reject("currency", f"unsupported; one of {', '.join(sorted(CURRENCIES))}")
    phone = _phone(row, "phone", options.default_region)
    alt_phone = _phone(row, "alt_phone", options.default_region, required=False)
    if phone is not None and alt_phone == phone:
        row.reject("alt_phone", "same number as phone")
    sms = _bool(row, "sms_consent")
    voice = _bool(row, "voice_consent")

    if row.errors:
        return None
    account = {
        "account_id": account_id,
        "customer_id": customer_id,
        "name": name,
        "language": language,
        "timezone": tz,
        "currency": currency,
        "balance": balance,
        "minimum_due": minimum_due,
        "due_date": due_date,
        "days_past_due": dpd,
        "card_last4": last4,
        "birth_date": birth,
        "status": status,
        "balance_as_of": as_of,
        "email": email,
    }

    def consent(explicit: bool | None, default: bool) -> _ConsentValue:
        if explicit is not None:
            return _ConsentValue(explicit, "account_file")
        return _ConsentValue(default, options.consent_source if default else None)

    phones = [
        _phone_row(
            account_id,
            "primary",
            phone,
            consent(voice, options.default_voice_consent),
            consent(sms, options.default_sms_consent),
        )
    ]
    if alt_phone is not None:
        # An alternate number carries no default consent: only what the file says (TCPA).
        phones.append(
            _phone_row(
                account_id,
                "alt",
                alt_phone,
                consent(voice, False),
                consent(sms, False),
            )
        )
    return account, phones


def _phone_row(
    account_id: str | None,
    kind: str,
    number: str | None,
    voice: _ConsentValue,
    sms: _ConsentValue,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "kind": kind,
        "number": number,
        "voice_consent": voice.given,
        "voice_consent_source": voice.source,
        "sms_consent": sms.given,
        "sms_consent_source": sms.source,
    }


def _insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _upsert_accounts(
    session: Session,
    accounts: list[dict[str, Any]],
    phones: list[dict[str, Any]],
    batch_id: int,
    now: datetime,
) -> tuple[int, int]:
    """Upsert one batch; returns (inserted, updated). The caller commits."""
    ids = [a["account_id"] for a in accounts]
    existing = set(
        session.scalars(select(Account.account_id).where(Account.account_id.in_(ids))).all()
    )
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
    session.execute(
        stmt,
        [
            {**a, "import_batch_id": batch_id, "created_at": now, "updated_at": now}
            for a in accounts
        ],
    )

    # The file is the source of truth for an account's numbers: an alternate number that is no
    # longer listed is removed.
    keep_alt = {p["account_id"] for p in phones if p["kind"] == "alt"}
    drop_alt = [i for i in ids if i not in keep_alt]
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


def _parse_paid_at(row: _Row) -> tuple[datetime, date] | None:
    value = _text(row, "paid_at", max_len=40)
    if value is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), day
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        row.reject("paid_at", "not an ISO date or datetime (2026-11-20 or 2026-11-20T14:30:00Z)")
        return None
    day = when.date()
    if when.tzinfo is None:
        # A datetime without an offset is taken as UTC; the bank's extract says which it uses.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC), day


def _validate_payment(row: _Row, now: datetime) -> dict[str, Any] | None:
    payment_id = _identifier(row, "payment_id")
    account_id = _identifier(row, "account_id")
    amount = _money(row, "amount", positive=True)
    paid = _parse_paid_at(row)
    if paid is not None and paid[0].date() > now.date() and paid[1] > now.date():
        row.reject("paid_at", "in the future")
    if row.errors or paid is None:
        return None
    return {
        "payment_id": payment_id,
        "account_id": account_id,
        "amount": amount,
        "paid_at": paid[0],
        "paid_on": paid[1],
    }


# --------------------------------------------------------------------------- the driver


class _ByteCounter:
    """Wraps a text file so progress can be measured while csv iterates over it."""

    def __init__(self, handle: IO[str], on_progress: Callable[[int], None] | None) -> None:
        self._handle = handle
        self._on_progress = on_progress
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._handle:
            self.consumed += len(line.encode("utf-8", "surrogateescape"))
            if self._on_progress is not None:
                self._on_progress(self.consumed)
            yield line


def _rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], on_progress: Any
) -> Iterator[_Row]:
    try:
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot open: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(_ByteCounter(handle, on_progress))
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(f"{path}: empty file, expected a header row") from None
        except csv.Error as exc:
            raise ImportFileError(f"{path}: line 1: {exc}") from exc
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c not in required and c not in optional]
        dupes = sorted({c for c in header if header.count(c) > 1})
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown)}")
        if dupes:
            problems.append(f"repeated column(s): {', '.join(dupes)}")
        if problems:
            raise ImportFileError(f"{path}: line 1: " + "; ".join(problems))
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row = _Row(line, {})
                row.reject("(row)", f"malformed CSV: {exc}")
                yield row
                line = reader.line_num + 1
                continue
            start, line = line, reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            row = _Row(start, dict(zip(header, values, strict=False)))
            if len(values) != len(header):
                row.reject("(row)", f"has {len(values)} fields, the header has {len(header)}")
            yield row


class _RejectsWriter:
    """Writes ``FILE.rejects.csv`` lazily: only a run with rejects leaves one behind."""

    def __init__(self, source: Path, columns: Iterable[str]) -> None:
        self.path = source.with_name(source.name + ".rejects.csv")
        self._columns = list(columns)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        if self.path.exists():
            self.path.unlink()  # a stale report from an earlier run would mislead

    def write(self, row: _Row) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "reason", *self._columns])
        for reject in row.errors:
            self._writer.writerow(
                [
                    reject.line,
                    reject.column,
                    reject.reason,
                    *(
                        (row.raw.get(c) or "")
                        .encode("utf-8", "surrogateescape")
                        .decode("utf-8", "replace")
                        for c in self._columns
                    ),
                ]
            )

    def close(self) -> Path | None:
        if self._handle is None:
            return None
        self._handle.close()
        return self.path


def _start_batch(db: Database, kind: str, path: Path, now: datetime) -> int:
    with db.session() as session:
        batch = ImportBatch(kind=kind, filename=str(path)[-500:], started_at=now, status="running")
        session.add(batch)
        session.flush()
        return batch.id


def _finish_batch(
    db: Database, result: ImportResult, kind: str, clock: Clock, actor: str, failed: bool
) -> None:
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
        columns=(PAYMENT_COLUMNS, ()),
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
    rows = _rows(path, columns[0], columns[1], on_progress)
    first = next(rows, None)  # validates the header before a batch row is written
    result = ImportResult(batch_id=_start_batch(db, kind, path, clock.now()))
    rejects = _RejectsWriter(path, (*columns[0], *columns[1]))
    pending: list[_Row] = [] if first is None else [first]
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
        _finish_batch(db, result, kind, clock, actor, failed)
    return result


def _flush(
    db: Database,
    kind: str,
    rows: list[_Row],
    options: ImportOptions,
    clock: Clock,
    result: ImportResult,
    rejects: _RejectsWriter,
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
    session: Session, rows: list[_Row], options: ImportOptions, now: datetime, result: ImportResult
) -> None:
    today = now.date()
    # Last row wins when an account appears twice in one batch, as it would across batches.
    accounts: dict[str, dict[str, Any]] = {}
    phones: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.errors:
            continue
        valid = _validate_account(row, options, today)
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
    inserted, updated = _upsert_accounts(
        session,
        list(accounts.values()),
        [p for ps in phones.values() for p in ps],
        batch_id,
        now,
    )
    result.inserted += inserted
    result.updated += updated


def _flush_payments(
    session: Session, rows: list[_Row], now: datetime, result: ImportResult
) -> None:
    valid: list[tuple[_Row, dict[str, Any]]] = []
    for row in rows:
        if row.errors:
            continue
        payment = _validate_payment(row, now)
        if payment is not None:
            valid.append((row, payment))
    if not valid:
        return
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
