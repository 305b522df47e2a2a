"""Reading accounts: the balance still owed and the portfolio summary."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from store.models import Account, Payment, Phone
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
