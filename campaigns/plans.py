"""Repayment plans: agreeing one, and the lifecycle that settles its installments.

The one writer of ``plans`` and ``plan_installments``. The terms and the rules are
:mod:`campaigns.plan_schedule`'s; this module checks them against the store and records them.

Agreeing a plan (:func:`create_plan`): the account's facts are read (what is still owed, its
status and days past due, the cardholder's today, whether a plan is already active), the terms
checked, and either a :class:`~campaigns.plan_schedule.Refusal` comes back with nothing stored or
the plan and its installments are stored, the account's open promise cancelled (a plan replaces
it, through :func:`campaigns.promises.cancel_open_promises`) and one audit row written.

The lifecycle (:func:`evaluate_plans`, run where promises are settled: after a payments import,
before a report or an export, and by the worker's reminders job):

- The payments that count are the account's payments dated (``paid_on``) from the day the plan
  was agreed, in the plan's currency (a payment whose ``currency`` is another is not applied and
  is reported: :func:`foreign_payments`). They settle the installments in date order: the
  earliest installment is filled first.
- An installment is ``paid`` once the payments reach it in full; it is ``missed`` when they have
  not by its date plus ``plans.grace_days``. A missed installment stays missed (its
  ``paid_amount`` still shows what later payments covered).
- A plan with ``plans.misses_before_broken`` missed installments is ``broken``; one whose total
  is paid is ``completed`` -- whichever happened first by the dates, so the outcome does not
  depend on when the evaluation runs.
- Dates are the cardholder's local dates (:mod:`campaigns.localtime`); each outcome is written
  once (a conditional UPDATE) with one audit row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Result, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from campaigns.accounts import cardholder
from campaigns.localtime import cardholder_zone
from campaigns.plan_schedule import (
    PlanAccount,
    Reason,
    Refusal,
    Schedule,
    check_plan,
)
from campaigns.plan_settings import Frequency, PlanSettings
from campaigns.promises import cancel_open_promises
from store.audit import record_audit
from store.models import Account, Payment, Phone, Plan, PlanInstallment

ACTOR = "plan-lifecycle"
ZERO = Decimal("0.00")


# --- agreeing a plan -----------------------------------------------------------------------------


def active_plan_exists() -> Any:
    """An EXISTS over ``plans`` correlated to :class:`Account`: the account has an active plan."""
    return exists().where(Plan.account_id == Account.account_id, Plan.status == "active")


def plan_account(session: Session, account_id: str, *, now: datetime) -> PlanAccount | None:
    """What the plan rules read of ``account_id`` as of ``now``; None when there is none."""
    found = cardholder(session, account_id, now=now)
    if found is None:
        return None
    days_past_due = session.scalar(
        select(Account.days_past_due).where(Account.account_id == account_id)
    )
    active = session.scalar(
        select(Plan.id).where(Plan.account_id == account_id, Plan.status == "active").limit(1)
    )
    return PlanAccount(
        account_id=account_id,
        currency=found.currency,
        balance=found.balance,
        status=found.status,
        days_past_due=int(days_past_due or 0),
        today=found.today,
        active_plan=active is not None,
    )


@dataclass(frozen=True)
class NewPlan:
    """A plan to agree: from the IVR (``source="ivr"``) or an agent (``"agent"``, the CLI).
    ``total`` None: what is still owed."""

    account_id: str
    installments: int
    frequency: Frequency
    first_date: date
    source: Literal["ivr", "agent"]
    created_by: str
    dedupe_key: str
    total: Decimal | None = None
    call_sid: str | None = None


def create_plan(
    session: Session, rules: PlanSettings, new: NewPlan, *, now: datetime
) -> Plan | Refusal | None:
    """Agree ``new``: the stored plan, the refusal (nothing stored), or None when
    ``new.dedupe_key`` was stored before (a replayed request)."""
    if session.scalar(select(Plan.id).where(Plan.dedupe_key == new.dedupe_key[:120])):
        return None
    account = plan_account(session, new.account_id, now=now)
    if account is None:
        return Refusal(Reason.NO_ACCOUNT, f"no account {new.account_id}")
    checked = check_plan(
        rules,
        account,
        installments=new.installments,
        frequency=new.frequency,
        first_date=new.first_date,
        total=new.total,
    )
    if isinstance(checked, Refusal):
        return checked
    return _store(session, account, checked, new, now)


def _store(
    session: Session, account: PlanAccount, schedule: Schedule, new: NewPlan, now: datetime
) -> Plan:
    replaced = cancel_open_promises(session, account.account_id, now=now)
    customer_id = session.scalar(
        select(Account.customer_id).where(Account.account_id == account.account_id)
    )
    plan = Plan(
        account_id=account.account_id,
        customer_id=customer_id or "",
        currency=schedule.currency,
        total=schedule.total,
        installments=schedule.count,
        frequency=schedule.frequency,
        first_date=schedule.first_date,
        agreed_on=account.today,
        status="active",
        source=new.source,
        created_at=now,
        created_by=new.created_by,
        call_sid=new.call_sid,
        dedupe_key=new.dedupe_key[:120],
        replaced_promise_id=replaced[-1] if replaced else None,
        paid_amount=ZERO,
    )
    session.add(plan)
    session.flush()
    for item in schedule.installments:
        session.add(
            PlanInstallment(
                plan_id=plan.id,
                seq=item.seq,
                due_date=item.due_date,
                amount=item.amount,
                paid_amount=ZERO,
                status="due",
            )
        )
    record_audit(
        session,
        at=now,
        actor=new.created_by,
        action=f"{new.source}.plan",
        entity_type="plan",
        entity_id=str(plan.id),
        detail={
            "account_id": account.account_id,
            "total": str(schedule.total),
            "currency": schedule.currency,
            "installments": schedule.count,
            "frequency": schedule.frequency,
            "first_date": schedule.first_date.isoformat(),
            "last_date": schedule.last_date.isoformat(),
            "call_sid": new.call_sid,
            "replaces_promises": replaced,
        },
    )
    session.flush()
    return plan


# --- the lifecycle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanCounts:
    """What one evaluation did."""

    completed: int = 0
    broken: int = 0
    installments_paid: int = 0
    installments_missed: int = 0
    still_active: int = 0
    #: Payments dated within an active plan in another currency than the plan's: not applied.
    foreign_payments: int = 0

    def __str__(self) -> str:
        text = (
            f"{self.completed} completed, {self.broken} broken, "
            f"{self.installments_paid} installments paid, {self.installments_missed} missed"
        )
        if self.foreign_payments:
            text += f"; {self.foreign_payments} payments in another currency not applied"
        return text


@dataclass(frozen=True)
class _Due:
    id: int
    seq: int
    due_date: date
    amount: Decimal
    paid_amount: Decimal
    status: str


@dataclass(frozen=True)
class _Active:
    id: int
    account_id: str
    currency: str
    account_currency: str
    total: Decimal
    agreed_on: date
    today: date


def _paid_by(payments: Sequence[tuple[date, Decimal]], target: Decimal) -> date | None:
    """The date the running total of ``payments`` (in date order) first reaches ``target``."""
    running = ZERO
    for paid_on, amount in payments:
        running += amount
        if running >= target:
            return paid_on
    return None


def evaluate_plans(
    session: Session, rules: PlanSettings, *, now: datetime, batch_size: int = 500
) -> PlanCounts:
    """Settle the installments of every active plan and resolve the plans the payments (or the
    calendar) have decided. The caller's boundary commits. Raises ValueError for a naive
    ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    grace = timedelta(days=rules.grace_days)
    counts: dict[str, int] = defaultdict(int)
    last_id = 0
    while True:
        rows = session.execute(
            select(
                Plan.id,
                Plan.account_id,
                Plan.currency,
                Account.currency,
                Plan.total,
                Plan.agreed_on,
                Account.timezone,
                Phone.number,
            )
            .join(Account, Account.account_id == Plan.account_id)
            .outerjoin(Phone, and_(Phone.account_id == Plan.account_id, Phone.kind == "primary"))
            .where(Plan.status == "active", Plan.id > last_id)
            .order_by(Plan.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        plans = [
            _Active(
                id=r[0],
                account_id=r[1],
                currency=r[2],
                account_currency=r[3],
                total=r[4],
                agreed_on=r[5],
                today=now.astimezone(cardholder_zone(r[6], r[7])).date(),
            )
            for r in rows
        ]
        payments = _payments(session, plans)
        installments = _installments(session, [p.id for p in plans])
        for plan in plans:
            applied, foreign = [], 0
            for paid_on, amount, currency in payments.get(plan.account_id, ()):
                if paid_on > plan.today:
                    continue
                if (currency or plan.account_currency) == plan.currency:
                    applied.append((paid_on, amount))
                else:
                    foreign += 1
            counts["foreign_payments"] += foreign
            _settle(session, rules, plan, applied, installments[plan.id], grace, now, counts)
    return PlanCounts(
        completed=counts["completed"],
        broken=counts["broken"],
        installments_paid=counts["installments_paid"],
        installments_missed=counts["installments_missed"],
        still_active=counts["still_active"],
        foreign_payments=counts["foreign_payments"],
    )


def _settle(
    session: Session,
    rules: PlanSettings,
    plan: _Active,
    applied: list[tuple[date, Decimal]],
    items: list[_Due],
    grace: timedelta,
    now: datetime,
    counts: dict[str, int],
) -> None:
    applied.sort()
    paid_total = sum((amount for _, amount in applied), ZERO)
    before = ZERO  # the amount due before this installment (cumulative)
    misses: list[date] = []
    for item in items:
        through = before + item.amount
        paid_here = min(max(paid_total - before, ZERO), item.amount)
        status, resolved_on = item.status, None
        if item.status == "due":
            deadline = item.due_date + grace
            # Judged by the payments' dates, not by when this runs: paid in full by the
            # deadline is paid, even if only seen now; short at the deadline is missed.
            paid_on = _paid_by(applied, through)
            if paid_on is not None and paid_on <= deadline:
                status, resolved_on = "paid", paid_on
            elif plan.today > deadline:
                status, resolved_on = "missed", deadline + timedelta(days=1)
        changed = status != item.status
        if (
            (changed or paid_here != item.paid_amount)
            and _update_installment(session, item, status, paid_here, resolved_on)
            and changed
        ):
            counts[f"installments_{status}"] += 1
            _audit_installment(session, plan, item, status, paid_here, resolved_on, now)
        if status == "missed":
            misses.append(resolved_on or item.due_date + grace + timedelta(days=1))
        before = through
    misses.sort()
    broken_on = (
        misses[rules.misses_before_broken - 1]
        if len(misses) >= rules.misses_before_broken
        else None
    )
    completed_on = _paid_by(applied, plan.total) if paid_total >= plan.total else None
    outcome: tuple[str, date] | None = None
    if completed_on is not None and (broken_on is None or completed_on < broken_on):
        outcome = ("completed", completed_on)
    elif broken_on is not None:
        outcome = ("broken", broken_on)
    paid = min(paid_total, plan.total)
    if outcome is None:
        counts["still_active"] += 1
        session.execute(
            update(Plan)
            .where(Plan.id == plan.id, Plan.status == "active", Plan.paid_amount != paid)
            .values(paid_amount=paid)
        )
        return
    status, on = outcome
    result = session.execute(
        update(Plan)
        .where(Plan.id == plan.id, Plan.status == "active")
        .values(status=status, paid_amount=paid, resolved_at=now, resolved_on=on)
    )
    if _rowcount(result) != 1:
        return
    counts[status] += 1
    record_audit(
        session,
        at=now,
        actor=ACTOR,
        action=f"plan.{status}",
        entity_type="plan",
        entity_id=str(plan.id),
        detail={
            "account_id": plan.account_id,
            "total": str(plan.total),
            "paid_amount": str(paid),
            "currency": plan.currency,
            "local_date": on.isoformat(),
            "missed": len(misses),
        },
    )


def _update_installment(
    session: Session, item: _Due, status: str, paid: Decimal, resolved_on: date | None
) -> bool:
    values: dict[str, Any] = {"paid_amount": paid}
    if status != item.status:
        values.update(status=status, resolved_on=resolved_on)
    result = session.execute(
        update(PlanInstallment)
        .where(PlanInstallment.id == item.id, PlanInstallment.status == item.status)
        .values(**values)
    )
    return _rowcount(result) == 1


def _audit_installment(
    session: Session,
    plan: _Active,
    item: _Due,
    status: str,
    paid: Decimal,
    resolved_on: date | None,
    now: datetime,
) -> None:
    record_audit(
        session,
        at=now,
        actor=ACTOR,
        action=f"installment.{status}",
        entity_type="plan",
        entity_id=str(plan.id),
        detail={
            "account_id": plan.account_id,
            "installment": item.seq,
            "due_date": item.due_date.isoformat(),
            "amount": str(item.amount),
            "paid_amount": str(paid),
            "currency": plan.currency,
            "local_date": resolved_on.isoformat() if resolved_on else None,
        },
    )


def _payments(
    session: Session, plans: Sequence[_Active]
) -> dict[str, list[tuple[date, Decimal, str | None]]]:
    found: dict[str, list[tuple[date, Decimal, str | None]]] = defaultdict(list)
    rows = session.execute(
        select(Payment.account_id, Payment.paid_on, Payment.amount, Payment.currency)
        .where(
            Payment.account_id.in_(sorted({p.account_id for p in plans})),
            Payment.paid_on >= min(p.agreed_on for p in plans),
        )
        .order_by(Payment.paid_on, Payment.payment_id)
    )
    agreed = {p.account_id: p.agreed_on for p in plans}
    for account_id, paid_on, amount, currency in rows:
        if paid_on >= agreed[account_id]:
            found[account_id].append((paid_on, amount, currency))
    return found


def _installments(session: Session, plan_ids: Sequence[int]) -> dict[int, list[_Due]]:
    found: dict[int, list[_Due]] = defaultdict(list)
    rows = session.execute(
        select(
            PlanInstallment.plan_id,
            PlanInstallment.id,
            PlanInstallment.seq,
            PlanInstallment.due_date,
            PlanInstallment.amount,
            PlanInstallment.paid_amount,
            PlanInstallment.status,
        )
        .where(PlanInstallment.plan_id.in_(plan_ids))
        .order_by(PlanInstallment.plan_id, PlanInstallment.seq)
    )
    for plan_id, item_id, seq, due_date, amount, paid_amount, status in rows:
        found[plan_id].append(_Due(item_id, seq, due_date, amount, paid_amount, status))
    return found


def foreign_payments(session: Session) -> list[tuple[str, str, Decimal, str, str]]:
    """Payments not applied to a plan because their currency is not the plan's:
    (payment_id, account_id, amount, payment currency, plan currency), by payment id. Only
    payments dated from the plan's agreement on count (earlier ones were never the plan's)."""
    paid_in = func.coalesce(Payment.currency, Account.currency)
    rows = session.execute(
        select(Payment.payment_id, Payment.account_id, Payment.amount, paid_in, Plan.currency)
        .join(Account, Account.account_id == Payment.account_id)
        .join(Plan, Plan.account_id == Payment.account_id)
        .where(
            Payment.paid_on >= Plan.agreed_on,
            or_(Plan.resolved_on.is_(None), Payment.paid_on <= Plan.resolved_on),
            Plan.status != "cancelled",
            paid_in != Plan.currency,
        )
        .order_by(Payment.payment_id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult; Session.execute is typed for the general case.
    return int(cast(CursorResult[Any], result).rowcount)
