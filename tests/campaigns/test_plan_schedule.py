"""A plan's schedule and rules: exact amounts, calendar steps, the refusals (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.plan_schedule import (
    PlanAccount,
    Reason,
    Refusal,
    Schedule,
    add_months,
    build_schedule,
    check_plan,
    due_dates,
    plan_offers,
    split_minor,
)
from campaigns.plan_settings import FREQUENCIES, PlanSettings

RULES = PlanSettings()
TODAY = date(2026, 11, 29)


def account(**changes: object) -> PlanAccount:
    values: dict[str, object] = {
        "account_id": "A1",
        "currency": "USD",
        "balance": Decimal("1236.99"),
        "status": "open",
        "days_past_due": 40,
        "today": TODAY,
        "active_plan": False,
    }
    values.update(changes)
    return PlanAccount(**values)  # type: ignore[arg-type]


@given(
    total=st.integers(min_value=1, max_value=10**11),
    count=st.integers(min_value=1, max_value=120),
    frequency=st.sampled_from(FREQUENCIES),
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
)
def test_installments_always_sum_to_the_total_in_date_order_the_last_absorbing_rounding(
    total: int, count: int, frequency: str, first: date
) -> None:
    if total < count:
        with pytest.raises(ValueError, match="less than one cent"):
            split_minor(total, count)
        return
    amount = Decimal(total) / 100
    schedule = build_schedule(amount, count, frequency, first, "USD")  # type: ignore[arg-type]
    amounts = [i.amount for i in schedule.installments]
    assert sum(amounts, Decimal(0)) == amount
    assert all(a == amounts[0] for a in amounts[:-1])
    assert amounts[0] <= amounts[-1] < amounts[0] + Decimal(count) / 100
    dates = [i.due_date for i in schedule.installments]
    assert dates == sorted(dates) and len(set(dates)) == count
    assert dates[0] == first
    assert [i.seq for i in schedule.installments] == list(range(1, count + 1))


@given(first=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_monthly_dates_keep_the_day_of_month_clamped_to_the_months_end(first: date) -> None:
    for n, day in enumerate(due_dates(first, 14, "monthly")):
        assert (day.year * 12 + day.month) - (first.year * 12 + first.month) == n
        assert day.day == first.day or (day.day < first.day and (day + timedelta(1)).day == 1)


def test_a_plan_first_due_on_january_31_is_due_on_february_28_then_march_31() -> None:
    assert due_dates(date(2027, 1, 31), 3, "monthly") == (
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    )
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert due_dates(date(2026, 12, 1), 3, "fortnightly")[-1] == date(2026, 12, 29)
    assert due_dates(date(2026, 12, 1), 2, "weekly")[-1] == date(2026, 12, 8)


def test_three_payments_of_412_33_the_last_one_cent_more() -> None:
    schedule = build_schedule(Decimal("1236.99"), 3, "monthly", date(2026, 12, 15), "USD")
    assert [i.amount for i in schedule.installments] == [Decimal("412.33")] * 3
    schedule = build_schedule(Decimal("1237.00"), 3, "monthly", date(2026, 12, 15), "USD")
    assert [i.amount for i in schedule.installments] == [
        Decimal("412.33"),
        Decimal("412.33"),
        Decimal("412.34"),
    ]


@pytest.mark.parametrize(
    ("changes", "terms", "reason"),
    [
        ({"status": "bankrupt"}, {}, Reason.STATUS),
        ({"status": "closed"}, {}, Reason.STATUS),
        ({"balance": Decimal("0.00")}, {}, Reason.NOTHING_DUE),
        ({"days_past_due": 0}, {}, Reason.NOT_PAST_DUE),
        ({"active_plan": True}, {}, Reason.ACTIVE_PLAN),
        ({}, {"installments": 1}, Reason.COUNT),
        ({}, {"installments": 13}, Reason.COUNT),
        ({}, {"first_date": TODAY}, Reason.FIRST_DATE),
        ({}, {"first_date": TODAY + timedelta(days=31)}, Reason.FIRST_DATE),
        ({}, {"total": Decimal("1237.00")}, Reason.TOTAL),
        ({}, {"total": Decimal("0")}, Reason.TOTAL),
        ({"balance": Decimal("120.00")}, {"installments": 5}, Reason.MIN_INSTALLMENT),
        ({}, {"installments": 12, "frequency": "monthly"}, None),
    ],
)
def test_each_rule_refuses_with_its_reason(
    changes: dict[str, object], terms: dict[str, object], reason: Reason | None
) -> None:
    wanted: dict[str, object] = {
        "installments": 3,
        "frequency": "monthly",
        "first_date": TODAY + timedelta(days=7),
    }
    wanted.update(terms)
    result = check_plan(RULES, account(**changes), **wanted)  # type: ignore[arg-type]
    if reason is None:
        assert isinstance(result, Schedule)
    else:
        assert isinstance(result, Refusal) and result.reason == reason
        assert result.message


def test_a_plan_longer_than_the_maximum_term_is_refused() -> None:
    rules = PlanSettings(max_term_days=60)
    result = check_plan(
        rules, account(), installments=4, frequency="monthly", first_date=TODAY + timedelta(7)
    )
    assert isinstance(result, Refusal) and result.reason == Reason.TERM


def test_offers_are_the_configured_ones_the_account_qualifies_for() -> None:
    found = plan_offers(RULES, account(balance=Decimal("200.00")))
    # 12 installments of 16.66 are below the 25.00 minimum: only 3 and 6 are offered.
    assert [(o.count, o.regular) for o in found] == [(3, Decimal("66.66")), (6, Decimal("33.33"))]
    assert all(o.first_date == TODAY + timedelta(days=7) for o in found)
    assert plan_offers(RULES, account(status="deceased")) == ()


def test_settings_refuse_inconsistent_rules() -> None:
    with pytest.raises(ValueError, match="max_installments"):
        PlanSettings(min_installments=6, max_installments=3)
    with pytest.raises(ValueError, match="ivr_first_date_days"):
        PlanSettings(ivr_first_date_days=40)
    with pytest.raises(ValueError):
        PlanSettings(misses_before_broken=3)
