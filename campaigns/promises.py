"""Promises to pay: the rules a new promise keeps, and the lifecycle that settles it.

Taking a promise (the IVR's rules, kept here so that every way of taking one applies the same):

- A promise may be taken only for an account whose status is in :data:`PROMISABLE_STATUSES`.
- Its date is the cardholder's today or up to ``max_days`` after it (:func:`promise_window`).
- Its amount is at least the minimum due rounded up to a whole unit (never more than the
  balance, never less than one unit unless the balance is) and at most the balance
  (:func:`amount_bounds`). Amounts are keyed in whole units; keying the balance rounded up
  promises the full balance, cents included (:func:`accept_amount`).

The lifecycle: an open promise to pay becomes kept, partial or broken. The rules, in one place
(``duecall payments import``, ``duecall report`` and ``duecall export promises`` apply them
first, so what they print is current):

- The payments that count toward a promise are its account's payments dated (``paid_on``, the
  date the bank recorded) from the day the promise was made through its deadline, both days
  included. The deadline is the promised date plus ``grace_days`` (``promises.grace_days``,
  default 2): a payment made on the promised date often reaches the bank's file a day or two
  later.
- As soon as they add up to the promised amount the promise is ``kept``, even before its date.
- Once the deadline has passed (the cardholder's today is after it), a promise still short is
  ``partial`` when something was paid and ``broken`` when nothing was.
- ``paid_amount`` keeps what counted (updated on open promises too, as progress) and
  ``resolved_at`` the instant of the resolution; each resolution writes one audit row.

Every date is the cardholder's local date (:mod:`campaigns.localtime`: the declared zone, else
the primary number's, else UTC -- the same "today" the IVR offers dates from and the dialer
checks). Payments carry a date only, so a payment dated the day the promise was made counts even
if it was made earlier that day.

The outcome depends on the payments, not on when the evaluation runs: a payment dated after the
deadline never turns a promise kept late, and a resolved promise is never evaluated again (a
payment that lands after its promise was settled leaves it as it is). Running the evaluation twice
changes nothing the second time. Only ``open`` promises are read: cancelled ones (replaced by a
newer promise) are left alone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Result, and_, select, update
from sqlalchemy.orm import Session

from campaigns.localtime import cardholder_zone
from store.audit import record_audit
from store.models import Account, Payment, Phone, Promise
from store.types import CENT

ACTOR = "promise-lifecycle"
DEFAULT_GRACE_DAYS = 2
ZERO = Decimal("0.00")

Outcome = Literal["open", "kept", "partial", "broken"]

# Account statuses a promise to pay may be taken for; the others (bankrupt, deceased, recalled,
# closed) need a person.
PROMISABLE_STATUSES = frozenset({"open", "charged_off"})


# --- taking a promise ----------------------------------------------------------------------------


def promise_window(today: date, max_days: int) -> tuple[date, date]:
    """The first and last date a promise may name: ``today`` (the cardholder's date) to
    ``max_days`` after it, both included."""
    return today, today + timedelta(days=max_days)


def amount_bounds(balance: Decimal, minimum_due: Decimal) -> tuple[Decimal, Decimal]:
    """The lowest and highest amount a promise may be for, to the cent.

    The lowest is the minimum due rounded up to a whole unit, but never more than the balance;
    when that is zero or less (nothing is due) it is one unit, again never more than the
    balance. The highest is the balance.
    """
    lowest = min(Decimal(math.ceil(minimum_due)), balance)
    if lowest <= 0:
        lowest = min(Decimal(1), balance)
    return lowest.quantize(CENT), balance.quantize(CENT)


def accept_amount(keys: str, balance: Decimal, minimum_due: Decimal) -> Decimal | None:
    """The promised amount for the whole units keyed, or None when it breaks the rules.

    ``keys`` are the digits keyed (no ``#``); anything but 1 to 12 digits, an amount outside
    :func:`amount_bounds` and any amount when nothing is owed are refused. Keying the balance
    rounded up to a whole unit promises the full balance, cents included: the full balance is
    always accepted.
    """
    if not (keys.isascii() and keys.isdigit()) or len(keys) > 12 or balance <= 0:
        return None
    entered = Decimal(int(keys))
    lowest, highest = amount_bounds(balance, minimum_due)
    if entered == Decimal(math.ceil(highest)):
        return highest
    if entered < lowest or entered > highest or entered <= 0:
        return None
    return entered.quantize(CENT)


# --- the lifecycle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseCounts:
    """What one evaluation did: promises resolved by outcome, and those still open."""

    kept: int = 0
    partial: int = 0
    broken: int = 0
    still_open: int = 0

    @property
    def resolved(self) -> int:
        return self.kept + self.partial + self.broken

    def __str__(self) -> str:
        return f"{self.kept} kept, {self.partial} partial, {self.broken} broken"


def settle(amount: Decimal, paid: Decimal, *, today: date, deadline: date) -> Outcome:
    """The outcome of a promise of ``amount`` with ``paid`` counted so far, on ``today``.

    ``kept`` as soon as ``paid`` reaches ``amount``; after ``deadline``, ``partial`` or
    ``broken``; until then ``open``.
    """
    if paid >= amount:
        return "kept"
    if today > deadline:
        return "partial" if paid > ZERO else "broken"
    return "open"


@dataclass(frozen=True)
class _Open:
    id: int
    account_id: str
    amount: Decimal
    currency: str
    promised_date: date
    paid_amount: Decimal
    first_day: date
    deadline: date
    today: date


def evaluate_promises(
    session: Session,
    *,
    now: datetime,
    grace_days: int = DEFAULT_GRACE_DAYS,
    batch_size: int = 500,
) -> PromiseCounts:
    """Settle every open promise that the payments (or the calendar) have decided.

    Reads the open promises in id order, ``batch_size`` at a time, with one payments query per
    batch. Each resolution is a conditional ``UPDATE ... WHERE status = 'open'``: a promise that
    another process resolved or cancelled in the meantime is skipped, never overwritten, and
    gets no second audit row. The caller's boundary commits. Raises ``ValueError`` for a naive
    ``now`` or a negative ``grace_days``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if grace_days < 0:
        raise ValueError("grace_days must not be negative")
    grace = timedelta(days=grace_days)
    counts: dict[str, int] = defaultdict(int)
    last_id = 0
    while True:
        rows = session.execute(
            select(
                Promise.id,
                Promise.account_id,
                Promise.amount,
                Promise.currency,
                Promise.promised_date,
                Promise.paid_amount,
                Promise.created_at,
                Account.timezone,
                Phone.number,
            )
            .join(Account, Account.account_id == Promise.account_id)
            .outerjoin(Phone, and_(Phone.account_id == Promise.account_id, Phone.kind == "primary"))
            .where(Promise.status == "open", Promise.id > last_id)
            .order_by(Promise.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        batch = []
        for row in rows:
            zone = cardholder_zone(row.timezone, row.number)
            batch.append(
                _Open(
                    id=row.id,
                    account_id=row.account_id,
                    amount=row.amount,
                    currency=row.currency,
                    promised_date=row.promised_date,
                    paid_amount=row.paid_amount,
                    first_day=row.created_at.astimezone(zone).date(),
                    deadline=row.promised_date + grace,
                    today=now.astimezone(zone).date(),
                )
            )
        paid_by_account = _payments(session, batch)
        for promise in batch:
            paid = sum(
                (
                    amount
                    for paid_on, amount in paid_by_account.get(promise.account_id, ())
                    if promise.first_day <= paid_on <= promise.deadline
                ),
                ZERO,
            )
            outcome = settle(promise.amount, paid, today=promise.today, deadline=promise.deadline)
            if outcome == "open":
                counts["still_open"] += 1
                if paid != promise.paid_amount:
                    session.execute(
                        update(Promise)
                        .where(Promise.id == promise.id, Promise.status == "open")
                        .values(paid_amount=paid)
                    )
                continue
            if _resolve(session, promise, outcome, paid, now):
                counts[outcome] += 1
    return PromiseCounts(
        kept=counts["kept"],
        partial=counts["partial"],
        broken=counts["broken"],
        still_open=counts["still_open"],
    )


def _payments(session: Session, batch: Sequence[_Open]) -> dict[str, list[tuple[date, Decimal]]]:
    """The payments of the batch's accounts that fall inside any of its windows."""
    found: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    accounts = sorted({p.account_id for p in batch})
    rows = session.execute(
        select(Payment.account_id, Payment.paid_on, Payment.amount).where(
            Payment.account_id.in_(accounts),
            Payment.paid_on >= min(p.first_day for p in batch),
            Payment.paid_on <= max(p.deadline for p in batch),
        )
    )
    for account_id, paid_on, amount in rows:
        found[account_id].append((paid_on, amount))
    return found


def _resolve(
    session: Session, promise: _Open, outcome: Outcome, paid: Decimal, now: datetime
) -> bool:
    """Settle one promise if it is still open; True when this call did it."""
    result = session.execute(
        update(Promise)
        .where(Promise.id == promise.id, Promise.status == "open")
        .values(status=outcome, paid_amount=paid, resolved_at=now)
    )
    if _rowcount(result) != 1:
        return False
    record_audit(
        session,
        at=now,
        actor=ACTOR,
        action=f"promise.{outcome}",
        entity_type="promise",
        entity_id=str(promise.id),
        detail={
            "account_id": promise.account_id,
            "amount": str(promise.amount),
            "paid_amount": str(paid),
            "currency": promise.currency,
            "promised_date": promise.promised_date.isoformat(),
            "deadline": promise.deadline.isoformat(),
        },
    )
    return True


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult; Session.execute is typed for the general case.
    return int(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class NewPromise:
    """A promise to record: from the IVR (``source="ivr"``) or an agent (``"agent"``)."""

    account_id: str
    promised_date: date
    amount: Decimal
    currency: str
    source: Literal["ivr", "agent"]
    created_by: str
    dedupe_key: str
    call_sid: str | None = None
    attempt_id: int | None = None


def cancel_open_promises(session: Session, account_id: str, *, now: datetime) -> list[int]:
    """Cancel the account's open promises (a newer promise or a repayment plan replaces them:
    only the latest commitment is followed up); the ids cancelled, oldest first. The caller
    audits the replacement, naming them."""
    replaced = session.scalars(
        select(Promise)
        .where(Promise.account_id == account_id, Promise.status == "open")
        .order_by(Promise.id)
    ).all()
    for earlier in replaced:
        earlier.status = "cancelled"
        earlier.resolved_at = now
    return [earlier.id for earlier in replaced]


def record_promise(session: Session, new: NewPromise, *, now: datetime) -> Promise | None:
    """Store ``new`` as the account's open promise; None when the account does not exist or
    ``new.dedupe_key`` was stored before (a replayed request).

    A new promise replaces the account's open ones (they become ``cancelled``): only the latest
    is followed up. One audit row says which it replaced.
    """
    if session.scalar(select(Promise.id).where(Promise.dedupe_key == new.dedupe_key)):
        return None
    account = session.get(Account, new.account_id)
    if account is None:
        return None
    replaced = cancel_open_promises(session, new.account_id, now=now)
    promise = Promise(
        account_id=new.account_id,
        customer_id=account.customer_id,
        promised_date=new.promised_date,
        amount=new.amount,
        currency=new.currency,
        status="open",
        source=new.source,
        created_at=now,
        created_by=new.created_by,
        call_sid=new.call_sid,
        attempt_id=new.attempt_id,
        dedupe_key=new.dedupe_key[:120],
    )
    session.add(promise)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=new.created_by,
        action=f"{new.source}.promise",
        entity_type="promise",
        entity_id=str(promise.id),
        detail={
            "call_sid": new.call_sid,
            "amount": str(new.amount),
            "replaces": replaced,
        },
    )
    return promise
