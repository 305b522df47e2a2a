"""Account and payment import: good rows land, bad rows are reported with line and reason."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns.accounts import outstanding
from campaigns.importing import (
    ImportFileError,
    ImportOptions,
    Reject,
    import_accounts,
    import_payments,
)
from store.clock import FixedClock
from store.db import Database
from store.models import Account, AuditLog, ImportBatch, Payment, Phone
from tests.factories import add_account

HEADER = (
    "account_id,name,phone,language,timezone,balance,minimum_due,due_date,days_past_due,"
    "card_last4,birth_date"
)
GOOD = [
    "1001,Mary Smith,(415) 555-0123,en-US,America/Los_Angeles,1200.50,35.00,2026-11-01,28,4242,"
    "1980-02-29",
    "1002,王芳,+86 138 1234 5678,zh-CN,,8800.00,264.00,2026-10-15,45,1111,1975-06-30",
]


def write(tmp_path: Path, lines: list[str], name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_accounts(
    db: Database, path: Path, clock: FixedClock, **options: object
) -> tuple[object, list[Reject]]:
    rejects: list[Reject] = []
    result = import_accounts(
        db,
        path,
        options=ImportOptions(**options),
        clock=clock,
        on_reject=rejects.append,  # type: ignore[arg-type]
    )
    return result, rejects


def test_good_rows_land_with_e164_numbers_and_exact_money(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    result, rejects = run_accounts(db, write(tmp_path, [HEADER, *GOOD]), clock)
    assert rejects == []
    assert (result.inserted, result.updated, result.rejected) == (2, 0, 0)  # type: ignore[attr-defined]
    with db.session(readonly=True) as s:
        mary = s.get_one(Account, "1001")
        assert mary.balance == Decimal("1200.50")
        assert mary.timezone == "America/Los_Angeles"
        assert mary.customer_id == "1001"
        assert mary.status == "open"
        assert mary.balance_as_of == date(2026, 11, 29)
        wang = s.get_one(Account, "1002")
        assert wang.timezone is None  # stored as given; the policy derives zones from the phone
        numbers = dict(s.execute(select(Phone.account_id, Phone.number)).all())
        assert numbers == {"1001": "+14155550123", "1002": "+8613812345678"}
        phone = s.scalars(select(Phone).where(Phone.account_id == "1001")).one()
        assert phone.voice_consent and phone.sms_consent
        assert phone.voice_consent_source == "cardholder_agreement"
        assert phone.voice_consent_at == clock.now()


def test_bad_rows_are_reported_with_line_and_reason_while_good_rows_land(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    rows = [
        GOOD[0],
        "1003,Bad Phone,12345,en-US,,10.00,1.00,2026-11-01,3,1234,1980-01-01",
        "1004,Bad Lang,+14155550124,fr-FR,,10.00,1.00,2026-11-01,3,1234,1980-01-01",
        "1005,Bad Zone,+14155550125,en-US,Mars/Olympus,10.00,1.00,2026-11-01,3,1234,1980-01-01",
        "1006,Bad Money,+14155550126,en-US,,-5.00,1.00,2026-11-01,3,1234,1980-01-01",
        "1007,Bad Cents,+14155550127,en-US,,10.001,1.00,2026-11-01,3,1234,1980-01-01",
        "1008,Bad Date,+14155550128,en-US,,10.00,1.00,2026-02-30,3,1234,1980-01-01",
        "1009,Bad Last4,+14155550129,en-US,,10.00,1.00,2026-11-01,3,12a4,1980-01-01",
        "1010,Too Young,+14155550130,en-US,,10.00,1.00,2026-11-01,3,1234,2020-01-01",
        GOOD[1],
        "1011,Bad Status,+14155550131,en-US,,10.00,1.00,2026-11-01,3,1234,1980-01-01",
    ]
    statuses = ["open"] * 10 + ["zombie"]
    path = write(
        tmp_path, [HEADER + ",status"] + [f"{r},{st}" for r, st in zip(rows, statuses, strict=True)]
    )

    result, rejects = run_accounts(db, path, clock)
    got = {(r.line, r.column) for r in rejects}
    assert got == {
        (3, "phone"),
        (4, "language"),
        (5, "timezone"),
        (6, "balance"),
        (7, "balance"),
        (8, "due_date"),
        (9, "card_last4"),
        (10, "birth_date"),
        (12, "status"),
    }
    assert str(next(r for r in rejects if r.line == 6)) == "line 6: balance: must not be negative"
    assert result.inserted == 2 and result.rejected == 9  # type: ignore[attr-defined]
    with db.session(readonly=True) as s:
        assert set(s.scalars(select(Account.account_id))) == {"1001", "1002"}

    rejects_file = tmp_path / "accounts.csv.rejects.csv"
    assert result.rejects_file == rejects_file  # type: ignore[attr-defined]
    rows = list(csv.DictReader(rejects_file.open(encoding="utf-8")))
    assert [(int(r["line"]), r["column"]) for r in rows] == sorted(got)
    bad_lang = next(r for r in rows if r["column"] == "language")
    assert bad_lang["account_id"] == "1004" and bad_lang["language"] == "fr-FR"
    assert "en-US" in bad_lang["reason"]


def test_reimport_updates_and_never_duplicates(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = write(tmp_path, [HEADER, *GOOD])
    run_accounts(db, path, clock)
    first_consent_at = clock.now()
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    write(tmp_path, [HEADER, GOOD[0].replace("1200.50", "999.99"), GOOD[1]])
    result, rejects = run_accounts(db, path, clock)
    assert rejects == []
    assert (result.inserted, result.updated) == (0, 2)  # type: ignore[attr-defined]
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 2
        assert s.scalar(select(func.count()).select_from(Phone)) == 2
        assert s.get_one(Account, "1001").balance == Decimal("999.99")
        phone = s.scalars(select(Phone).where(Phone.account_id == "1001")).one()
        # consent unchanged: when it was recorded is kept, not bumped by the re-import
        assert phone.voice_consent_at == first_consent_at


def test_a_new_number_or_consent_answer_is_recorded_with_its_own_time(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    header = HEADER + ",sms_consent,alt_phone"
    path = write(tmp_path, [header, GOOD[0] + ",,+16175550101"])
    run_accounts(db, path, clock)
    with db.session(readonly=True) as s:
        alt = s.scalars(select(Phone).where(Phone.kind == "alt")).one()
        assert not alt.voice_consent and not alt.sms_consent  # alt numbers need explicit consent
    clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    write(tmp_path, [header, GOOD[0] + ",no,"])
    run_accounts(db, path, clock)
    with db.session(readonly=True) as s:
        phones = s.scalars(select(Phone)).all()
        assert [p.kind for p in phones] == ["primary"]  # the alt number left the file
        assert phones[0].sms_consent is False
        assert phones[0].sms_consent_source == "account_file"
        assert phones[0].sms_consent_at == datetime(2026, 12, 1, tzinfo=UTC)
        assert phones[0].voice_consent_at == datetime(2026, 11, 29, 15, tzinfo=UTC)


def test_header_problems_stop_the_file_before_anything_is_written(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = write(tmp_path, ["account_id,name,phone,shoe_size", "1,x,+14155550123,9"])
    with pytest.raises(
        ImportFileError, match=r"missing column\(s\): language.*unknown column\(s\): shoe_size"
    ):
        run_accounts(db, path, clock)
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_import_streams_in_batches_and_records_the_run(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = [HEADER] + [
        f"{2000 + i},P{i},+1415555{i % 100:04d},en-US,,10.00,1.00,2026-11-01,3,1234,1980-01-01"
        for i in range(23)
    ]
    lines[5] = lines[5].replace("10.00", "ten")
    result, rejects = run_accounts(db, write(tmp_path, lines), clock, batch_size=4)
    assert [r.line for r in rejects] == [6]
    assert result.inserted == 22  # type: ignore[attr-defined]
    with db.session(readonly=True) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.status, batch.rows_total, batch.rows_ok, batch.rows_rejected) == (
            "done",
            23,
            22,
            1,
        )
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "accounts.import")).one()
        assert audit.detail["inserted"] == 22


def test_a_quoted_multiline_field_keeps_line_numbers_right(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        '1001,"Mary\nSmith",+14155550123,en-US,,1.00,1.00,2026-11-01,3,1234,1980-01-01',
        "1002,X,+14155550124,en-US,,1.00,1.00,2026-11-01,3,99,1980-01-01",
    ]
    _, rejects = run_accounts(db, write(tmp_path, lines), clock)
    assert [(r.line, r.column) for r in rejects] == [(4, "card_last4")]


# --------------------------------------------------------------------------- payments


@pytest.fixture
def accounts(db: Database, clock: FixedClock, tmp_path: Path) -> Database:
    lines = [HEADER + ",balance_as_of", *(g + ",2026-11-20" for g in GOOD)]
    run_accounts(db, write(tmp_path, lines), clock)
    return db


def run_payments(db: Database, path: Path, clock: FixedClock) -> tuple[object, list[Reject]]:
    rejects: list[Reject] = []
    result = import_payments(
        db, path, options=ImportOptions(), clock=clock, on_reject=rejects.append
    )
    return result, rejects


def test_payments_are_idempotent_and_a_conflicting_id_is_rejected_not_overwritten(
    accounts: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = [
        "payment_id,account_id,amount,paid_at",
        "P1,1001,100.25,2026-11-25",
        "P2,1001,0.25,2026-11-10T09:30:00-05:00",
        "P3,9999,5.00,2026-11-25",
        "P4,1002,0,2026-11-25",
    ]
    path = write(tmp_path, lines, "payments.csv")
    result, rejects = run_payments(accounts, path, clock)
    assert [(r.line, r.column) for r in rejects] == [(4, "account_id"), (5, "amount")]
    assert result.inserted == 2  # type: ignore[attr-defined]

    result, rejects = run_payments(accounts, path, clock)  # the same file again
    assert result.inserted == 0 and result.unchanged == 2  # type: ignore[attr-defined]

    write(tmp_path, [lines[0], "P1,1001,999.00,2026-11-25"], "payments.csv")
    result, rejects = run_payments(accounts, path, clock)
    assert [(r.line, r.column) for r in rejects] == [(2, "payment_id")]
    assert "never overwritten" in rejects[0].reason
    with accounts.session(readonly=True) as s:
        assert s.get_one(Payment, "P1").amount == Decimal("100.25")
        assert s.scalar(select(func.count()).select_from(Payment)) == 2
        p2 = s.get_one(Payment, "P2")
        assert p2.paid_on == date(2026, 11, 10)
        assert p2.paid_at == datetime(2026, 11, 10, 14, 30, tzinfo=UTC)


def test_only_payments_after_balance_as_of_reduce_what_is_owed(
    accounts: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = [
        "payment_id,account_id,amount,paid_at",
        "P1,1001,100.25,2026-11-25",  # after the balance date: reduces it
        "P2,1001,50.00,2026-11-20",  # on the balance date: already in the balance
        "P3,1001,0.25,2026-11-21",
    ]
    run_payments(accounts, write(tmp_path, lines, "payments.csv"), clock)
    with accounts.session(readonly=True) as s:
        assert outstanding(s, "1001") == Decimal("1100.00")
        assert outstanding(s, "1002") == Decimal("8800.00")
        assert outstanding(s, "nope") is None


def test_a_payment_in_the_future_is_rejected(
    accounts: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = ["payment_id,account_id,amount,paid_at", "P1,1001,1.00,2027-01-01"]
    _, rejects = run_payments(accounts, write(tmp_path, lines, "payments.csv"), clock)
    assert [(r.line, r.column, r.reason) for r in rejects] == [(2, "paid_at", "in the future")]


def test_a_payment_may_name_its_currency_and_an_unknown_one_is_rejected(
    accounts: Database, clock: FixedClock, tmp_path: Path
) -> None:
    lines = [
        "payment_id,account_id,amount,paid_at,currency",
        "P1,1001,10.00,2026-11-25,cad",
        "P2,1001,10.00,2026-11-25,",
        "P3,1001,10.00,2026-11-25,XYZ",
    ]
    _, rejects = run_payments(accounts, write(tmp_path, lines, "payments.csv"), clock)
    assert [(r.line, r.column) for r in rejects] == [(4, "currency")]
    with accounts.session(readonly=True) as s:
        assert s.get_one(Payment, "P1").currency == "CAD"
        assert s.get_one(Payment, "P2").currency is None  # the account's


def test_fees_and_interest_due_are_optional_columns_checked_against_the_balance(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    """What a fee or interest waiver is computed against: exact money, empty = not known, never
    above the balance; a file without the columns leaves them unknown."""
    header = f"{HEADER},fees_due,interest_due"
    rows = [
        f"{GOOD[0]},39.00,112.45",
        f"{GOOD[1]},,",
        "1003,Ann Lee,+14155550199,en-US,,100.00,10.00,2026-11-01,40,2222,1980-01-01,150.00,1.5x",
    ]
    result, rejects = run_accounts(db, write(tmp_path, [header, *rows]), clock)
    assert result.inserted == 2  # type: ignore[attr-defined]
    assert sorted((r.column, r.reason) for r in rejects) == [
        ("fees_due", "greater than the balance"),
        ("interest_due", "not an amount with at most 2 decimals (write 1234.56)"),
    ]
    with db.session(readonly=True) as s:
        mary = s.get_one(Account, "1001")
        assert (mary.fees_due, mary.interest_due) == (Decimal("39.00"), Decimal("112.45"))
        wang = s.get_one(Account, "1002")
        assert (wang.fees_due, wang.interest_due) == (None, None)
        assert s.get(Account, "1003") is None
    run_accounts(db, write(tmp_path, [HEADER, GOOD[0]], name="again.csv"), clock)
    with db.session(readonly=True) as s:
        assert s.get_one(Account, "1001").fees_due is None


def test_imported_rows_are_stored_exactly_as_the_orm_stores_them(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    # The import hands converted values to the driver itself (executemany, or COPY on
    # PostgreSQL): every stored value must read back as SQLAlchemy's own writes do, down to the
    # text of a datetime on SQLite, or comparisons between the two would go wrong.
    line = (
        "2001,Ann Lee,+14155550199,en-US,America/Los_Angeles,1200.50,35.00,2026-10-01,45,4242,"
        "1980-01-02"
    )
    run_accounts(db, write(tmp_path, [HEADER, line]), clock)
    with db.session() as s:
        add_account(
            s,
            "2002",
            "+14155550198",
            now=clock.now(),
            timezone="America/Los_Angeles",
            balance="1200.50",
            name="Ann Lee",
        )
    columns = (
        "name, timezone, currency, balance, minimum_due, due_date, days_past_due, card_last4,"
        " birth_date, status, balance_as_of, created_at, updated_at"
    )
    phone_columns = (
        "kind, voice_consent, voice_consent_source, voice_consent_at, sms_consent,"
        " sms_consent_source, sms_consent_at, created_at, updated_at"
    )
    with db.engine.connect() as conn:
        imported, orm = (
            conn.exec_driver_sql(
                f"SELECT {columns} FROM accounts WHERE account_id = '{account_id}'"
            ).one()
            for account_id in ("2001", "2002")
        )
        imported_phone, orm_phone = (
            conn.exec_driver_sql(
                f"SELECT {phone_columns} FROM phones WHERE account_id = '{account_id}'"
            ).one()
            for account_id in ("2001", "2002")
        )
    assert tuple(imported) == tuple(orm)
    assert tuple(imported_phone) == tuple(orm_phone)
    assert imported.created_at == orm.created_at and imported.created_at is not None
