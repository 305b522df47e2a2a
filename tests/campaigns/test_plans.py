"""Agreeing a plan in the store and the lifecycle that settles its installments."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from campaigns.plan_schedule import Reason, Refusal
from campaigns.plan_settings import PlanSettings
from campaigns.plans import NewPlan, create_plan, evaluate_plans, foreign_payments
from campaigns.promises import NewPromise, record_promise
from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog, Plan, PlanInstallment, Promise
from tests import factories

RULES = PlanSettings()
# 2026-11-29 15:00 UTC is 10:00 in New York: the cardholder's today is November 29.
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def seed(db: Database, balance: str = "900.00", **fields: object) -> None:
    with db.session() as s:
        factories.add_account(s, "A1", "+12125550123", now=NOW, balance=balance, **fields)  # type: ignore[arg-type]


def new_plan(**changes: object) -> NewPlan:
    values: dict[str, object] = {
        "account_id": "A1",
        "installments": 3,
        "frequency": "monthly",
        "first_date": date(2026, 12, 6),
        "source": "agent",
        "created_by": "agent:kim",
        "dedupe_key": "k1",
    }
    values.update(changes)
    return NewPlan(**values)  # type: ignore[arg-type]


def agree(db: Database, rules: PlanSettings = RULES, **changes: object) -> int:
    with db.session() as s:
        plan = create_plan(s, rules, new_plan(**changes), now=NOW)
        assert isinstance(plan, Plan)
        return plan.id


def pay(
    db: Database, payment_id: str, amount: str, paid_on: date, currency: str | None = None
) -> None:
    with db.session() as s:
        s.add(factories.payment(payment_id, "A1", amount, paid_on=paid_on, currency=currency))


def evaluate(db: Database, when: datetime, rules: PlanSettings = RULES) -> object:
    with db.session() as s:
        return evaluate_plans(s, rules, now=when)


def state(db: Database) -> tuple[str, list[tuple[str, Decimal, date | None]]]:
    with db.session(readonly=True) as s:
        plan = s.scalars(select(Plan)).one()
        items = s.scalars(select(PlanInstallment).order_by(PlanInstallment.seq)).all()
        return plan.status, [(i.status, i.paid_amount, i.resolved_on) for i in items]


def at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_a_plan_is_stored_with_its_installments_audited_and_replaces_the_open_promise(
    db: Database,
) -> None:
    seed(db)
    with db.session() as s:
        record_promise(
            s,
            NewPromise("A1", date(2026, 12, 3), Decimal("100.00"), "USD", "ivr", "ivr", "p1"),
            now=NOW,
        )
    plan_id = agree(db)
    with db.session(readonly=True) as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        assert (plan.total, plan.agreed_on, plan.status) == (
            Decimal("900.00"),
            date(2026, 11, 29),
            "active",
        )
        assert s.scalars(select(Promise.status)).one() == "cancelled"
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "agent.plan")).one()
        assert audit.detail["installments"] == 3 and audit.detail["replaces_promises"] == [1]
        assert s.scalar(select(func.sum(PlanInstallment.amount))) == Decimal("900.00")


def test_refusals_store_nothing_and_a_replay_stores_once(db: Database) -> None:
    seed(db)
    with db.session() as s:
        for changes, reason in (
            ({"installments": 20}, Reason.COUNT),
            ({"first_date": date(2027, 3, 1)}, Reason.FIRST_DATE),
            ({"total": Decimal("900.01")}, Reason.TOTAL),
            ({"account_id": "nobody"}, Reason.NO_ACCOUNT),
        ):
            refused = create_plan(s, RULES, new_plan(**changes), now=NOW)
            assert isinstance(refused, Refusal) and refused.reason == reason
        assert s.scalar(select(func.count()).select_from(Plan)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0
    agree(db)
    with db.session() as s:
        assert create_plan(s, RULES, new_plan(), now=NOW) is None
        again = create_plan(s, RULES, new_plan(dedupe_key="k2"), now=NOW)
        assert isinstance(again, Refusal) and again.reason == Reason.ACTIVE_PLAN


def test_a_bankrupt_account_gets_no_plan(db: Database) -> None:
    seed(db, status="bankrupt")
    with db.session() as s:
        refused = create_plan(s, RULES, new_plan(), now=NOW)
        assert isinstance(refused, Refusal) and refused.reason == Reason.STATUS
        assert s.scalar(select(Plan.id)) is None


def test_payments_settle_installments_in_date_order_and_complete_the_plan(db: Database) -> None:
    rules = PlanSettings(misses_before_broken=2)
    seed(db)
    agree(db, rules)  # 300 on Dec 6, Jan 6, Feb 6
    pay(db, "P1", "450.00", date(2026, 12, 5))
    evaluate(db, at(date(2026, 12, 7)), rules)
    assert state(db) == (
        "active",
        [
            ("paid", Decimal("300.00"), date(2026, 12, 5)),
            ("due", Decimal("150.00"), None),
            ("due", Decimal("0.00"), None),
        ],
    )
    pay(db, "P2", "450.00", date(2027, 1, 20))
    evaluate(db, at(date(2027, 1, 21)), rules)
    status, items = state(db)
    assert status == "completed"
    # The second was short on its deadline (Jan 9): missed, though paid in full later.
    assert items[1] == ("missed", Decimal("300.00"), date(2027, 1, 10))
    assert items[2] == ("paid", Decimal("300.00"), date(2027, 1, 20))


def test_a_missed_installment_breaks_the_plan_once_in_the_local_date(db: Database) -> None:
    seed(db, timezone="Asia/Shanghai")
    agree(db, first_date=date(2026, 12, 6))
    # Dec 9 16:30 UTC is Dec 10 00:30 in Shanghai: the day after the deadline (Dec 6 + 3).
    evaluate(db, datetime(2026, 12, 9, 15, 59, tzinfo=UTC))
    assert state(db)[0] == "active"
    evaluate(db, datetime(2026, 12, 9, 16, 30, tzinfo=UTC))
    evaluate(db, datetime(2026, 12, 9, 17, 30, tzinfo=UTC))
    status, items = state(db)
    assert status == "broken"
    assert items[0] == ("missed", Decimal("0.00"), date(2026, 12, 10))
    with db.session(readonly=True) as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions.count("plan.broken") == 1 and actions.count("installment.missed") == 1
        plan = s.scalars(select(Plan)).one()
        assert plan.resolved_on == date(2026, 12, 10)


def test_with_two_misses_allowed_one_miss_leaves_the_plan_active(db: Database) -> None:
    rules = PlanSettings(misses_before_broken=2)
    seed(db)
    agree(db, rules)
    pay(db, "P1", "300.00", date(2027, 1, 5))
    evaluate(db, at(date(2027, 1, 8)), rules)
    status, items = state(db)
    # The January payment settles the earliest installment first: December's, late.
    assert status == "active"
    assert [i[0] for i in items] == ["missed", "due", "due"]
    evaluate(db, at(date(2027, 2, 10)), rules)
    assert state(db)[0] == "broken"


def test_a_payment_in_another_currency_is_not_applied_and_is_reported(db: Database) -> None:
    seed(db)
    agree(db)
    pay(db, "P1", "300.00", date(2026, 12, 5), currency="CAD")
    with db.session() as s:
        counts = evaluate_plans(s, RULES, now=at(date(2026, 12, 7)))
        assert counts.foreign_payments == 1
        assert "1 payments in another currency not applied" in str(counts)
        assert foreign_payments(s) == [("P1", "A1", Decimal("300.00"), "CAD", "USD")]
    assert state(db)[1][0] == ("due", Decimal("0.00"), None)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=60_000), min_size=0, max_size=6),
    days=st.lists(st.integers(min_value=0, max_value=80), min_size=6, max_size=6),
)
def test_payments_always_fill_the_earliest_installments_first(
    db: Database, amounts: list[int], days: list[int]
) -> None:
    with db.session() as s:
        s.query(PlanInstallment).delete()
        s.query(Plan).delete()
        s.query(AuditLog).delete()
        for p in s.scalars(select(factories.Payment)).all():
            s.delete(p)
        if s.get(factories.Account, "A1") is None:
            factories.add_account(s, "A1", "+12125550123", now=NOW, balance="900.00")
    agree(db)
    for n, cents in enumerate(amounts):
        pay(db, f"P{n}", str(Decimal(cents) / 100), date(2026, 11, 29) + timedelta(days[n]))
    evaluate(db, at(date(2027, 2, 28)))
    paid = sum((Decimal(c) / 100 for c in amounts), Decimal(0))
    _, items = state(db)
    filled = [amount for _, amount, _ in items]
    assert sum(filled, Decimal(0)) == min(paid, Decimal("900.00"))
    # Never a later installment paid while an earlier one is short.
    for earlier, later in itertools.pairwise(filled):
        assert later == 0 or earlier == Decimal("300.00")
    assert all(status in ("paid", "missed") for status, _, _ in items)


def test_evaluating_twice_changes_nothing_the_second_time(db: Database, clock: FixedClock) -> None:
    seed(db)
    agree(db)
    pay(db, "P1", "900.00", date(2026, 12, 1))
    first = evaluate(db, at(date(2026, 12, 2)))
    second = evaluate(db, at(date(2026, 12, 2)))
    assert "1 completed" in str(first) and "0 completed" in str(second)
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "plan.completed")) == 1
