"""A repayment plan's schedule and the rules it keeps: pure values, no database.

Amounts are computed in integer minor units (every currency the money columns hold has two):
the total is split into equal installments rounded down to the cent, and the last installment
absorbs what rounding left, so the installments always add up to the total exactly. Dates step
by 7 days (weekly), 14 (fortnightly) or one calendar month on the first date's day of the month,
clamped to the month's last day (a plan first due on January 31 is due February 28, then
March 31).

:func:`check_plan` applies ``plans:`` (:class:`campaigns.plan_settings.PlanSettings`) to one
account and returns either the :class:`Schedule` or a :class:`Refusal` whose ``reason`` code the
IVR speaks (catalogue entry ``plan_refused_<reason>``) and the CLI prints. The IVR imports this
module to read out offers; :mod:`campaigns.plans` stores what was agreed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from campaigns.plan_settings import Frequency, PlanSettings
from campaigns.promises import PROMISABLE_STATUSES

#: Minor units per major unit: every currency the import accepts has two decimals.
MINOR = 100
_STEP_DAYS = {"weekly": 7, "fortnightly": 14}


def to_minor(amount: Decimal) -> int:
    """``amount`` in cents; raises ValueError for a fraction of a cent."""
    cents = amount * MINOR
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_minor(cents: int) -> Decimal:
    return (Decimal(cents) / MINOR).quantize(Decimal("0.01"))


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on, clamped to the end of the month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_dates(first: date, count: int, frequency: Frequency) -> tuple[date, ...]:
    """The ``count`` due dates from ``first``. Monthly dates are counted from ``first``, not
    from each other, so a clamped month does not shift the months after it."""
    if frequency == "monthly":
        return tuple(add_months(first, n) for n in range(count))
    step = timedelta(days=_STEP_DAYS[frequency])
    return tuple(first + step * n for n in range(count))


def split_minor(total: int, count: int) -> tuple[int, ...]:
    """``total`` minor units in ``count`` parts: equal, rounded down, the last one absorbing the
    remainder (so it is the largest, by less than ``count`` units). Raises ValueError for a
    count below 1 or a total below one unit per installment."""
    if count < 1:
        raise ValueError("a plan has at least one installment")
    base = total // count
    if base < 1:
        raise ValueError("the total is less than one cent per installment")
    return (base,) * (count - 1) + (total - base * (count - 1),)


@dataclass(frozen=True)
class Installment:
    seq: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class Schedule:
    """A plan's terms: ``total`` in ``installments`` (in date order), every ``frequency``."""

    total: Decimal
    currency: str
    frequency: Frequency
    installments: tuple[Installment, ...]

    @property
    def count(self) -> int:
        return len(self.installments)

    @property
    def first_date(self) -> date:
        return self.installments[0].due_date

    @property
    def last_date(self) -> date:
        return self.installments[-1].due_date

    @property
    def regular(self) -> Decimal:
        """Every installment's amount but the last's."""
        return self.installments[0].amount

    @property
    def last_amount(self) -> Decimal:
        return self.installments[-1].amount


def build_schedule(
    total: Decimal, count: int, frequency: Frequency, first: date, currency: str
) -> Schedule:
    """The schedule of ``total`` in ``count`` installments every ``frequency`` from ``first``."""
    amounts = split_minor(to_minor(total), count)
    dates = due_dates(first, count, frequency)
    return Schedule(
        total=from_minor(to_minor(total)),
        currency=currency,
        frequency=frequency,
        installments=tuple(
            Installment(seq=n + 1, due_date=d, amount=from_minor(a))
            for n, (d, a) in enumerate(zip(dates, amounts, strict=True))
        ),
    )


class Reason(StrEnum):
    """Why a plan is refused (the IVR's catalogue entry is ``plan_refused_<value>``)."""

    NO_ACCOUNT = "no_account"
    STATUS = "status"
    NOTHING_DUE = "nothing_due"
    NOT_PAST_DUE = "not_past_due"
    ACTIVE_PLAN = "active_plan"
    COUNT = "count"
    FREQUENCY = "frequency"
    FIRST_DATE = "first_date"
    TOTAL = "total"
    MIN_INSTALLMENT = "min_installment"
    TERM = "term"


@dataclass(frozen=True)
class Refusal:
    """A plan not agreed, and why: ``reason`` for the IVR, ``message`` in plain words for the
    CLI and the audit trail. Nothing is stored for a refusal."""

    reason: Reason
    message: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.message}"


@dataclass(frozen=True)
class PlanAccount:
    """What the rules read of an account: what is still owed (``balance``), its status, how
    late it is, the cardholder's ``today`` and whether a plan is already active."""

    account_id: str
    currency: str
    balance: Decimal
    status: str
    days_past_due: int
    today: date
    active_plan: bool


def first_date_window(rules: PlanSettings, today: date) -> tuple[date, date]:
    """The first and last date the first installment may fall on, both included."""
    return (
        today + timedelta(days=rules.first_date_min_days),
        today + timedelta(days=rules.first_date_max_days),
    )


def account_refusal(rules: PlanSettings, account: PlanAccount) -> Refusal | None:
    """Why ``account`` may have no plan at all, or None when it may have one."""
    if account.status not in PROMISABLE_STATUSES:
        return Refusal(Reason.STATUS, f"the account is {account.status}")
    if account.balance <= 0:
        return Refusal(Reason.NOTHING_DUE, "nothing is owed")
    if account.days_past_due < rules.min_days_past_due:
        return Refusal(
            Reason.NOT_PAST_DUE,
            f"{account.days_past_due} days past due; a plan needs {rules.min_days_past_due}",
        )
    if account.active_plan:
        return Refusal(Reason.ACTIVE_PLAN, "the account already has an active plan")
    return None


def check_plan(
    rules: PlanSettings,
    account: PlanAccount,
    *,
    installments: int,
    frequency: Frequency,
    first_date: date,
    total: Decimal | None = None,
) -> Schedule | Refusal:
    """The schedule for these terms, or why they are refused. ``total`` defaults to what is
    still owed; it may be less (the rest stays owed), never more."""
    refused = account_refusal(rules, account)
    if refused is not None:
        return refused
    if not rules.min_installments <= installments <= rules.max_installments:
        return Refusal(
            Reason.COUNT,
            f"{installments} installments; from {rules.min_installments} "
            f"to {rules.max_installments}",
        )
    if frequency not in rules.frequencies:
        return Refusal(Reason.FREQUENCY, f"{frequency} plans are not offered")
    first, last = first_date_window(rules, account.today)
    if not first <= first_date <= last:
        return Refusal(
            Reason.FIRST_DATE,
            f"first date {first_date.isoformat()}; from {first.isoformat()} to {last.isoformat()}",
        )
    amount = account.balance if total is None else total
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return Refusal(Reason.TOTAL, f"total {amount}; a positive amount in cents")
    if amount > account.balance:
        return Refusal(Reason.TOTAL, f"total {amount} is above the balance {account.balance}")
    regular = from_minor(to_minor(amount) // installments)
    if regular < rules.min_installment or regular <= 0:
        return Refusal(
            Reason.MIN_INSTALLMENT,
            f"installments of {regular}; at least {rules.min_installment}",
        )
    schedule = build_schedule(amount, installments, frequency, first_date, account.currency)
    if (schedule.last_date - account.today).days > rules.max_term_days:
        return Refusal(
            Reason.TERM,
            f"last installment {schedule.last_date.isoformat()}; at most "
            f"{rules.max_term_days} days from today",
        )
    return schedule


def ivr_first_date(rules: PlanSettings, today: date) -> date:
    """The first date the IVR proposes."""
    return today + timedelta(days=rules.ivr_first_date_days)


def plan_offers(rules: PlanSettings, account: PlanAccount) -> tuple[Schedule, ...]:
    """The configured offers ``account`` qualifies for (the whole balance, first due on the
    IVR's first date), in the configured order; () when none does."""
    first = ivr_first_date(rules, account.today)
    found = []
    for offer in rules.offers:
        checked = check_plan(
            rules,
            account,
            installments=offer.installments,
            frequency=offer.frequency,
            first_date=first,
        )
        if isinstance(checked, Schedule):
            found.append(checked)
    return tuple(found)
