"""Reading accounts: what is still owed, a cardholder as a call sees them, the portfolio."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session

from campaigns.localtime import cardholder_zone
from campaigns.suppressions import active_suppressions
from store.models import Account, Payment, Phone, Plan, Suppression
from store.types import Money

DPD_BUCKETS = ((0, 29, "0-29"), (30, 59, "30-59"), (60, 89, "60-89"), (90, 10**6, "90+"))


def paid_since_as_of() -> Any:
    """A scalar subquery: payments dated after the account's ``balance_as_of`` (not yet in it)."""
    return (
        select(func.coalesce(func.sum(Payment.amount), 0, type_=Money))
        .where(Payment.account_id == Account.account_id, Payment.paid_on > Account.balance_as_of)
        .correlate(Account)
        .scalar_subquery()
    )


def outstanding(session: Session, account_id: str) -> Decimal | None:
    """The balance still owed: the imported balance less later payments, never below zero."""
    row = session.execute(
        select(Account.balance, paid_since_as_of()).where(Account.account_id == account_id)
    ).first()
    if row is None:
        return None
    balance, paid = row
    owed: Decimal = max(balance - paid, Decimal("0.00"))
    return owed


@dataclass(frozen=True)
class Cardholder:
    """One account as a conversation needs it: ``balance`` is what is still owed (payments since
    the balance date deducted), ``today`` the cardholder's local date in ``zone``."""

    account_id: str
    customer_id: str
    name: str
    language: str
    currency: str
    balance: Decimal
    minimum_due: Decimal
    due_date: date
    last4: str
    birth_date: date
    status: str
    zone: str
    today: date
    primary_number: str | None
    declared_zone: str | None = None
    days_past_due: int = 0
    #: A repayment plan is active on the account (campaigns.plans: one per account).
    active_plan: bool = False


def primary_number(session: Session, account_id: str) -> str | None:
    """The account's primary phone number, if it has one."""
    return session.scalar(
        select(Phone.number).where(Phone.account_id == account_id, Phone.kind == "primary")
    )


def cardholder(session: Session, account_id: str, *, now: datetime) -> Cardholder | None:
    """The account ``account_id`` as of ``now``, or None when there is none."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    owed = outstanding(session, account_id)
    number = primary_number(session, account_id)
    zone = cardholder_zone(account.timezone, number)
    return Cardholder(
        account_id=account.account_id,
        customer_id=account.customer_id,
        name=account.name,
        language=account.language,
        currency=account.currency,
        balance=owed if owed is not None else account.balance,
        minimum_due=account.minimum_due,
        due_date=account.due_date,
        last4=account.card_last4,
        birth_date=account.birth_date,
        status=account.status,
        zone=zone.key,
        today=now.astimezone(zone).date(),
        primary_number=number,
        declared_zone=account.timezone,
    )


def accounts_of_caller(session: Session, number: str | None) -> tuple[str, ...]:
    """The accounts of the one customer whose phone is ``number``; () when no customer or
    several (a shared family number) match, so the caller keys an account number instead."""
    if not number or not number.startswith("+"):
        return ()
    # One round trip: every account of every customer with the number, then "exactly one".
    rows = session.connection().execute(_accounts_of_caller_statement(), {"number": number}).all()
    if len({customer for _, customer in rows}) != 1:
        return ()
    return tuple(account_id for account_id, _ in rows)


@functools.cache
def _accounts_of_caller_statement() -> Select[str, str]:
    customers = (
        select(Account.customer_id)
        .join(Phone, Phone.account_id == Account.account_id)
        .where(Phone.number == bindparam("number"))
    )
    return (
        select(Account.account_id, Account.customer_id)
        .where(Account.customer_id.in_(customers))
        .order_by(Account.account_id)
    )


def text_number(session: Session, account_id: str, caller: str | None) -> str | None:
    """Where a text about the account goes: the caller's number when it is one of the
    account's, else the account's primary number."""
    numbers = dict(
        session.execute(
            select(Phone.number, Phone.kind).where(Phone.account_id == account_id)
        ).all()
    )
    return _text_number(numbers, caller)


def _text_number(numbers: dict[str, str], caller: str | None) -> str | None:
    if caller and caller in numbers:
        return caller
    return next((n for n, kind in numbers.items() if kind == "primary"), None)


def has_consent(
    session: Session, *, account_id: str, number: str, channel: Literal["voice", "sms"]
) -> bool:
    """Whether consent for ``channel`` is recorded on this account's ``number`` (fail closed)."""
    column = Phone.voice_consent if channel == "voice" else Phone.sms_consent
    return bool(
        session.scalar(
            select(column).where(Phone.account_id == account_id, Phone.number == number).limit(1)
        )
    )


#: Suppressions that stop texts to a number (besides an SMS opt-out: DNC, cease, dispute).
_NO_TEXT = frozenset({"optout-sms", "dnc", "cease", "dispute"})


def can_text(session: Session, account_id: str, number: str | None) -> bool:
    """Whether a text about ``account_id`` may reach ``number``: SMS consent recorded on it
    and no opt-out, DNC, cease or dispute in force on the number or the account."""
    if not number or not has_consent(session, account_id=account_id, number=number, channel="sms"):
        return False
    return not (active_suppressions(session, number=number, account_id=account_id) & _NO_TEXT)


@dataclass(frozen=True)
class CardholderContact:
    """A cardholder as a call sees them (:func:`cardholder`), where a text about the account
    goes (:func:`text_number`) and whether one may reach it there (:func:`can_text`)."""

    cardholder: Cardholder
    text_number: str | None
    can_text: bool


def cardholder_contact(
    session: Session, account_id: str, caller: str | None, *, now: datetime
) -> CardholderContact | None:
    """:func:`cardholder`, :func:`text_number` and :func:`can_text` at once, in two or three
    statements instead of seven: the IVR reads them on nearly every step of a call. Reads the
    account and its phones as flushed (no autoflush: nothing in a call step writes them)."""
    # Core statements on the session's connection: they load no entities, so the ORM's layer
    # would only add its cost.
    connection = session.connection()
    row = connection.execute(_contact_statement(), {"account_id": account_id}).first()
    if row is None:
        return None
    # The phones and, beside each, the suppressions in force on its number or on the account
    # (one row per pair): the text number is one of these numbers, so what stops a text to it
    # is among them, without a statement of its own.
    rows = connection.execute(_phones_statement(), {"account_id": account_id}).all()
    phones: list[tuple[str, str, bool]] = []
    seen: set[tuple[str, str]] = set()
    for number, kind, consent, *_ in rows:
        if (number, kind) not in seen:
            seen.add((number, kind))
            phones.append((number, kind, consent))
    numbers = {number: kind for number, kind, _ in phones}  # as text_number reads them
    sms_consent: dict[str, bool] = {}
    for number, _, consent in phones:
        sms_consent.setdefault(number, bool(consent))  # as has_consent reads it
    primary = next((number for number, kind, _ in phones if kind == "primary"), None)
    texted = _text_number(numbers, caller)
    # As active_suppressions(number=texted, account_id=account_id) reads them.
    suppressed = {
        kind
        for *_, on_number, on_account, kind in rows
        if kind is not None and (on_number == texted or on_account == account_id)
    }
    allowed = bool(texted and sms_consent.get(texted)) and not (suppressed & _NO_TEXT)
    zone = cardholder_zone(row.timezone, primary)
    return CardholderContact(
        Cardholder(
            account_id=row.account_id,
            customer_id=row.customer_id,
            name=row.name,
            language=row.language,
            currency=row.currency,
            balance=max(row.balance - row.paid, Decimal("0.00")),
            minimum_due=row.minimum_due,
            due_date=row.due_date,
            last4=row.card_last4,
            birth_date=row.birth_date,
            status=row.status,
            zone=zone.key,
            today=now.astimezone(zone).date(),
            primary_number=primary,
            declared_zone=row.timezone,
            days_past_due=int(row.days_past_due or 0),
            active_plan=bool(row.active_plan),
        ),
        texted,
        allowed,
    )


@functools.cache
def _contact_statement() -> Select[Any]:
    # Built once: constructing the statement costs more than running it from the cache.
    return select(
        Account.account_id,
        Account.customer_id,
        Account.name,
        Account.language,
        Account.currency,
        Account.balance,
        paid_since_as_of().label("paid"),
        Account.minimum_due,
        Account.due_date,
        Account.card_last4,
        Account.birth_date,
        Account.status,
        Account.timezone,
        Account.days_past_due,
        exists()
        .where(Plan.account_id == Account.account_id, Plan.status == "active")
        .label("active_plan"),
    ).where(Account.account_id == bindparam("account_id"))


@functools.cache
def _phones_statement() -> Select[str, str, bool, str | None, str | None, str | None]:
    in_force = and_(
        Suppression.removed_at.is_(None),
        or_(Suppression.number == Phone.number, Suppression.account_id == Phone.account_id),
    )
    return (
        select(
            Phone.number,
            Phone.kind,
            Phone.sms_consent,
            Suppression.number,
            Suppression.account_id,
            Suppression.kind,
        )
        .outerjoin(Suppression, in_force)
        .where(Phone.account_id == bindparam("account_id"))
        .order_by(Phone.id)
    )


@dataclass(frozen=True)
class SummaryRow:
    label: str
    currency: str
    accounts: int
    balance: Decimal
    outstanding: Decimal


def _bucket_expr() -> ColumnElement[str]:
    return case(
        *[
            (and_(Account.days_past_due >= lo, Account.days_past_due <= hi), label)
            for lo, hi, label in DPD_BUCKETS
        ],
        else_="?",
    )


def portfolio_summary(session: Session) -> dict[str, list[SummaryRow]]:
    """Accounts, balances and what is still owed, by language, status, DPD bucket and currency."""
    paid = paid_since_as_of()
    result: dict[str, list[SummaryRow]] = {}
    groupings: dict[str, Any] = {
        "language": Account.language,
        "status": Account.status,
        "days past due": _bucket_expr(),
    }
    for name, key in groupings.items():
        # Money of different currencies is never added up: each row is one currency.
        rows = session.execute(
            select(key, Account.currency, func.count(), func.sum(Account.balance), func.sum(paid))
            .group_by(key, Account.currency)
            .order_by(key, Account.currency)
        ).all()
        result[name] = [
            SummaryRow(
                label=str(label),
                currency=currency,
                accounts=count,
                balance=balance,
                outstanding=balance - (paid_total or Decimal("0.00")),
            )
            for label, currency, count, balance, paid_total in rows
        ]
    return result


def totals(session: Session) -> dict[str, Any]:
    """Headline counts for the summary footer."""
    return {
        "accounts": session.scalar(select(func.count()).select_from(Account)) or 0,
        "customers": session.scalar(select(func.count(func.distinct(Account.customer_id)))) or 0,
        "phones": session.scalar(select(func.count()).select_from(Phone)) or 0,
        "payments": session.scalar(select(func.count()).select_from(Payment)) or 0,
        "paid": dict(
            session.execute(
                select(Account.currency, func.sum(Payment.amount))
                .join(Account, Account.account_id == Payment.account_id)
                .group_by(Account.currency)
                .order_by(Account.currency)
            ).all()
        ),
    }
