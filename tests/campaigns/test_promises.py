"""The promise lifecycle: open promises become kept, partial or broken, once, with an audit row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from campaigns.config import PromiseSettings
from campaigns.promises import PromiseCounts, evaluate_promises, settle
from store.db import Database
from store.models import AuditLog, Promise
from tests import factories

MADE = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # the conftest clock: the promise is made then
DUE = date(2026, 12, 10)


def add_account(db: Database, account_id: str = "A1", timezone: str | None = None) -> None:
    with db.session() as s:
        s.add(
            factories.account(
                account_id,
                now=MADE,
                name="Pat Lee",
                timezone=timezone,
                balance="1500.00",
                minimum_due="50.00",
                due_date=date(2026, 11, 1),
                days_past_due=28,
                birth_date=date(1980, 1, 1),
                balance_as_of=date(2026, 11, 29),
            )
        )


def add_promise(
    db: Database,
    account_id: str = "A1",
    *,
    amount: str = "600.00",
    due: date = DUE,
    status: str = "open",
    created_at: datetime = MADE,
) -> int:
    with db.session() as s:
        promise = Promise(
            account_id=account_id,
            customer_id=account_id,
            promised_date=due,
            amount=Decimal(amount),
            currency="USD",
            status=status,
            source="ivr",
            created_at=created_at,
            created_by="ivr",
        )
        s.add(promise)
        s.flush()
        return promise.id


def pay(db: Database, payment_id: str, amount: str, on: date, account_id: str = "A1") -> None:
    with db.session() as s:
        s.add(factories.payment(payment_id, account_id, amount, paid_on=on))


def evaluate(db: Database, when: datetime, grace_days: int = 2) -> PromiseCounts:
    with db.session() as s:
        return evaluate_promises(s, now=when, grace_days=grace_days)


def on(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def promise_row(db: Database, promise_id: int) -> Promise:
    with db.session(readonly=True) as s:
        return s.get_one(Promise, promise_id)


def audits(db: Database) -> list[AuditLog]:
    with db.session(readonly=True) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.entity_type == "promise")))


def test_a_promise_paid_in_full_before_its_date_is_kept_at_once(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    pay(db, "P1", "600.00", date(2026, 11, 30))
    when = on(date(2026, 12, 1))
    assert evaluate(db, when) == PromiseCounts(kept=1)
    promise = promise_row(db, pid)
    assert (promise.status, promise.paid_amount, promise.resolved_at) == (
        "kept",
        Decimal("600.00"),
        when,
    )
    [audit] = audits(db)
    assert (audit.action, audit.entity_id, audit.actor) == (
        "promise.kept",
        str(pid),
        "promise-lifecycle",
    )
    assert audit.detail["amount"] == "600.00"
    assert audit.detail["paid_amount"] == "600.00"


def test_payments_adding_up_by_the_last_day_of_grace_keep_it(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    pay(db, "P1", "250.00", DUE)
    assert evaluate(db, on(DUE)) == PromiseCounts(still_open=1)
    assert promise_row(db, pid).paid_amount == Decimal("250.00")  # progress, still open
    pay(db, "P2", "350.00", DUE + timedelta(days=2))  # the last day of the grace
    assert evaluate(db, on(DUE + timedelta(days=5))) == PromiseCounts(kept=1)
    assert promise_row(db, pid).status == "kept"
    assert promise_row(db, pid).paid_amount == Decimal("600.00")


def test_a_promise_short_after_the_grace_is_partial_with_what_was_paid(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    pay(db, "P1", "200.00", date(2026, 12, 3))
    assert evaluate(db, on(DUE + timedelta(days=3))) == PromiseCounts(partial=1)
    promise = promise_row(db, pid)
    assert (promise.status, promise.paid_amount) == ("partial", Decimal("200.00"))
    [audit] = audits(db)
    assert audit.action == "promise.partial"


def test_an_unpaid_promise_is_broken_only_after_the_grace_has_passed(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    last_day = DUE + timedelta(days=2)
    assert evaluate(db, on(last_day, hour=23)) == PromiseCounts(still_open=1)
    assert promise_row(db, pid).status == "open"
    when = on(last_day + timedelta(days=1), hour=0)
    assert evaluate(db, when) == PromiseCounts(broken=1)
    promise = promise_row(db, pid)
    assert (promise.status, promise.paid_amount, promise.resolved_at) == (
        "broken",
        Decimal("0.00"),
        when,
    )
    assert [a.action for a in audits(db)] == ["promise.broken"]


def test_the_grace_comes_from_the_caller(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    assert evaluate(db, on(DUE + timedelta(days=1)), grace_days=0) == PromiseCounts(broken=1)
    assert promise_row(db, pid).status == "broken"


def test_dates_are_the_cardholders_local_dates(db: Database) -> None:
    add_account(db, "SH", timezone="Asia/Shanghai")
    add_account(db, "UT")
    shanghai, utc = add_promise(db, "SH"), add_promise(db, "UT")
    # 17:00 UTC on the last day of grace is already the next day in Shanghai (UTC+8).
    counts = evaluate(db, on(DUE + timedelta(days=2), hour=17))
    assert counts == PromiseCounts(broken=1, still_open=1)
    assert promise_row(db, shanghai).status == "broken"
    assert promise_row(db, utc).status == "open"


def test_a_cancelled_promise_is_left_alone(db: Database) -> None:
    add_account(db)
    pid = add_promise(db, status="cancelled")
    pay(db, "P1", "600.00", date(2026, 11, 30))
    assert evaluate(db, on(DUE + timedelta(days=10))) == PromiseCounts()
    promise = promise_row(db, pid)
    assert (promise.status, promise.paid_amount, promise.resolved_at) == (
        "cancelled",
        Decimal("0.00"),
        None,
    )
    assert audits(db) == []


def test_a_second_evaluation_changes_nothing_and_writes_no_second_audit_row(
    db: Database,
) -> None:
    add_account(db, "A1")
    add_account(db, "A2")
    add_account(db, "A3")
    kept, partial, broken = add_promise(db, "A1"), add_promise(db, "A2"), add_promise(db, "A3")
    pay(db, "P1", "600.00", date(2026, 12, 1), "A1")
    pay(db, "P2", "100.00", date(2026, 12, 1), "A2")
    first = on(DUE + timedelta(days=3))
    assert evaluate(db, first) == PromiseCounts(kept=1, partial=1, broken=1)
    before = {pid: promise_row(db, pid) for pid in (kept, partial, broken)}
    pay(db, "P3", "500.00", DUE, "A2")  # lands after A2 was settled: it stays partial
    assert evaluate(db, first + timedelta(days=1)) == PromiseCounts()
    for pid, row in before.items():
        again = promise_row(db, pid)
        assert (again.status, again.paid_amount, again.resolved_at) == (
            row.status,
            row.paid_amount,
            row.resolved_at,
        )
    assert sorted(a.action for a in audits(db)) == [
        "promise.broken",
        "promise.kept",
        "promise.partial",
    ]


def test_payments_dated_before_the_promise_do_not_count(db: Database) -> None:
    add_account(db)
    add_account(db, "OLD")
    # A promise made earlier on another account widens the batch's payment query; the late
    # promise must still ignore its own account's earlier payment.
    add_promise(db, "OLD", created_at=MADE - timedelta(days=10))
    pid = add_promise(db)
    pay(db, "P0", "600.00", date(2026, 11, 28))  # the day before the promise was made
    assert evaluate(db, on(DUE)) == PromiseCounts(still_open=2)
    assert promise_row(db, pid).paid_amount == Decimal("0.00")
    assert evaluate(db, on(DUE + timedelta(days=3))) == PromiseCounts(broken=2)


def test_a_payment_after_the_deadline_does_not_keep_it_late(db: Database) -> None:
    add_account(db)
    pid = add_promise(db)
    pay(db, "P1", "600.00", DUE + timedelta(days=3))
    assert evaluate(db, on(DUE + timedelta(days=4))) == PromiseCounts(broken=1)
    assert promise_row(db, pid).status == "broken"


def test_promises_are_read_in_batches(db: Database) -> None:
    for n in range(7):
        add_account(db, f"B{n}")
        add_promise(db, f"B{n}")
        if n % 2 == 0:
            pay(db, f"P{n}", "600.00", date(2026, 12, 1), f"B{n}")
    with db.session() as s:
        counts = evaluate_promises(s, now=on(DUE + timedelta(days=3)), batch_size=2)
    assert counts == PromiseCounts(kept=4, broken=3)
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 7


def test_settle_decides_from_amount_payments_and_the_calendar() -> None:
    deadline = date(2026, 12, 12)
    before, after = date(2026, 12, 12), date(2026, 12, 13)
    assert settle(Decimal(600), Decimal(600), today=before, deadline=deadline) == "kept"
    assert settle(Decimal(600), Decimal(599), today=before, deadline=deadline) == "open"
    assert settle(Decimal(600), Decimal(1), today=after, deadline=deadline) == "partial"
    assert settle(Decimal(600), Decimal(0), today=after, deadline=deadline) == "broken"


def test_evaluation_refuses_a_naive_now(db: Database) -> None:
    with db.session() as s, pytest.raises(ValueError, match="timezone-aware"):
        evaluate_promises(s, now=datetime(2026, 12, 1))


def test_the_grace_setting_is_checked() -> None:
    assert PromiseSettings().grace_days == 2
    with pytest.raises(ValidationError):
        PromiseSettings(grace_days=-1)
    with pytest.raises(ValidationError):
        PromiseSettings.model_validate({"grace_days": 2, "grace": 3})
