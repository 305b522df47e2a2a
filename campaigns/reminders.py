"""Which payment reminders are due: before a promise's date, before each installment, and once
after an installment is missed.

Read-only: the worker's reminders job (:mod:`dialer.reminders`) settles promises and plans first
(so nothing already paid is reminded), asks :func:`due_reminders`, and queues each text through
the outbox and hence the contact policy (consent, opt-outs, the calling window). Each reminder
has a ``dedupe_key`` naming what it is about, so it is queued once however often the job runs.

The rules, in the cardholder's local date (:mod:`campaigns.localtime`):

- a promise still open and short is reminded from ``plans.reminder_lead_days`` before its date
  through the date itself (a job that was down on the lead day catches up), but not on the day
  it was made: the caller has just heard it read back and will get its confirmation;
- likewise each ``due`` installment of an active plan;
- a ``missed`` installment gets one "we did not receive" text, within :data:`MISSED_NOTICE_DAYS`
  of being judged missed (a late start of the job never sends stale notices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from campaigns.localtime import cardholder_zone, earliest_today
from store.models import Account, Phone, Plan, PlanInstallment, Promise

ReminderKind = Literal["promise", "installment", "missed"]
MISSED_NOTICE_DAYS = 3


@dataclass(frozen=True)
class DueReminder:
    """One text to queue: about ``kind`` ``ref_id``, for ``amount`` on ``day``."""

    kind: ReminderKind
    ref_id: int
    account_id: str
    language: str
    currency: str
    amount: Decimal
    day: date

    @property
    def dedupe_key(self) -> str:
        return f"reminder:{self.kind}:{self.ref_id}"


def due_reminders(session: Session, *, now: datetime, lead_days: int) -> list[DueReminder]:
    """Every reminder due at ``now`` (see the module docstring), promises first."""
    lead = timedelta(days=lead_days)
    earliest = earliest_today(now)
    primary = and_(Phone.account_id == Account.account_id, Phone.kind == "primary")
    found: list[DueReminder] = []

    def local_today(timezone: str | None, number: str | None) -> date:
        return now.astimezone(cardholder_zone(timezone, number)).date()

    promises = session.execute(
        select(
            Promise.id,
            Promise.account_id,
            Promise.amount - Promise.paid_amount,
            Promise.currency,
            Promise.promised_date,
            Promise.created_at,
            Account.language,
            Account.timezone,
            Phone.number,
        )
        .join(Account, Account.account_id == Promise.account_id)
        .outerjoin(Phone, primary)
        .where(Promise.status == "open", Promise.promised_date >= earliest)
        .order_by(Promise.id)
    ).all()
    for pid, account_id, short, currency, day, created_at, language, tz, number in promises:
        zone = cardholder_zone(tz, number)
        today = now.astimezone(zone).date()
        made_on = created_at.astimezone(zone).date()
        if short > 0 and day - lead <= today <= day and made_on < today:
            found.append(DueReminder("promise", pid, account_id, language, currency, short, day))
    installments = session.execute(
        select(
            PlanInstallment.id,
            PlanInstallment.status,
            PlanInstallment.amount - PlanInstallment.paid_amount,
            PlanInstallment.due_date,
            PlanInstallment.resolved_on,
            Plan.status,
            Plan.account_id,
            Plan.currency,
            Plan.agreed_on,
            Account.language,
            Account.timezone,
            Phone.number,
        )
        .join(Plan, Plan.id == PlanInstallment.plan_id)
        .join(Account, Account.account_id == Plan.account_id)
        .outerjoin(Phone, primary)
        .where(
            ((PlanInstallment.status == "due") & (Plan.status == "active"))
            | (
                (PlanInstallment.status == "missed")
                & (PlanInstallment.resolved_on >= earliest - timedelta(days=MISSED_NOTICE_DAYS))
            ),
            PlanInstallment.due_date <= earliest + lead + timedelta(days=2),
        )
        .order_by(PlanInstallment.id)
    ).all()
    for (
        iid,
        status,
        short,
        day,
        resolved_on,
        _plan_status,
        account_id,
        currency,
        agreed_on,
        language,
        tz,
        number,
    ) in installments:
        today = local_today(tz, number)
        if status == "due" and short > 0 and day - lead <= today <= day and agreed_on < today:
            found.append(
                DueReminder("installment", iid, account_id, language, currency, short, day)
            )
        elif (
            status == "missed"
            and resolved_on is not None
            and resolved_on <= today <= resolved_on + timedelta(days=MISSED_NOTICE_DAYS)
            and short > 0
        ):
            found.append(DueReminder("missed", iid, account_id, language, currency, short, day))
    return found
