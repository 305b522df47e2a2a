"""The repayment plans' figures of ``duecall report``: plans by status and currency with their
amounts, the kept rate of plans (completed of those resolved) and of promises and plans together,
and the payments not applied to a plan because of their currency."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.orm import Session

from campaigns.plans import foreign_payments
from store.models import Plan
from store.types import Money

PLAN_RESOLVED = ("completed", "broken")


def plan_lines(session: Session, today: ColumnElement[bool]) -> list[tuple[Any, ...]]:
    """(status, currency, created in the window, their total, all time, total, paid) rows;
    ``today`` says whether a plan was created in the report's window."""
    return [
        tuple(row)
        for row in session.execute(
            select(
                Plan.status,
                Plan.currency,
                func.coalesce(func.sum(case((today, 1), else_=0)), 0),
                func.sum(case((today, Plan.total), else_=None), type_=Money),
                func.count(),
                func.sum(Plan.total),
                func.sum(Plan.paid_amount),
            )
            .group_by(Plan.status, Plan.currency)
            .order_by(Plan.status, Plan.currency)
        ).all()
    ]


def plans_kept(session: Session, window: ColumnElement[bool] | None = None) -> tuple[int, int]:
    """(completed, resolved) among the plans resolved in ``window`` (None: all time)."""
    counts = dict(
        session.execute(
            select(Plan.status, func.count())
            .where(Plan.status.in_(PLAN_RESOLVED), window if window is not None else true())
            .group_by(Plan.status)
        ).all()
    )
    return int(counts.get("completed", 0)), int(sum(counts.values()))


def foreign_payment_count(session: Session) -> int:
    return len(foreign_payments(session))
