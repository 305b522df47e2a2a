"""The column types make SQLite answer like PostgreSQL: aware UTC instants, exact money."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from store.db import Database
from store.models import Account, Payment
from tests import factories

SHANGHAI = timezone(timedelta(hours=8))


def _account(account_id: str, balance: str = "100.00") -> Account:
    return factories.account(
        account_id,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        name="Test Person",
        timezone=None,
        balance=balance,
        minimum_due="0.00",
        due_date=date(2026, 11, 1),
        days_past_due=10,
        card_last4="1234",
        birth_date=date(1980, 1, 1),
    )


def test_aware_datetime_round_trips_as_the_same_instant_in_utc(db: Database) -> None:
    noon_shanghai = datetime(2026, 11, 29, 12, 0, tzinfo=SHANGHAI)
    with db.session() as s:
        s.add(_account("A1"))
        s.flush()
        s.get_one(Account, "A1").created_at = noon_shanghai
    with db.session() as s:
        stored = s.get_one(Account, "A1").created_at
    assert stored == datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(db: Database) -> None:
    account = _account("A1")
    account.created_at = datetime(2026, 11, 29, 12, 0)
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        s.add(account)


def test_sum_of_money_is_exact(db: Database) -> None:
    with db.session() as s:
        for i in range(3):
            s.add(_account(f"A{i}", "0.10"))
        for i in range(3):
            s.add(_account(f"B{i}", "0.20"))
    with db.session() as s:
        total = s.scalar(select(func.sum(Account.balance)))
    assert total == Decimal("0.90")
    assert str(total) == "0.90"


def test_money_is_stored_in_minor_units_not_as_a_float(db: Database) -> None:
    with db.session() as s:
        s.add(_account("A1", "1234.56"))
    with db.session() as s:
        raw = s.execute(text("SELECT balance FROM accounts")).scalar_one()
    assert raw == 123456
    assert isinstance(raw, int)


def test_money_refuses_floats_and_sub_cent_amounts(db: Database) -> None:
    for bad in (0.1, Decimal("0.001"), "NaN"):
        with (
            pytest.raises(Exception, match=r"float|decimal places|finite|decimal"),
            db.session() as s,
        ):
            s.add(_account("A1", "1.00"))
            s.flush()
            s.get_one(Account, "A1").balance = bad  # type: ignore[assignment]


def test_sum_over_many_payments_stays_exact(db: Database) -> None:
    with db.session() as s:
        s.add(_account("A1", "5000.00"))
        s.flush()
        for i in range(1000):
            s.add(
                factories.payment(
                    f"P{i}",
                    "A1",
                    Decimal("0.01") if i % 2 else Decimal("0.10"),
                    paid_on=date(2026, 11, 2),
                    paid_at=datetime(2026, 11, 2, tzinfo=UTC),
                )
            )
    with db.session() as s:
        assert s.scalar(select(func.sum(Payment.amount))) == Decimal("55.00")
