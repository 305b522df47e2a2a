"""Which accounts a campaign takes: the segment as one query over a window of the primary key.

A run of a million accounts is read a window of accounts at a time in account order
(``cursor < account_id <= end``), so a launch never holds one long transaction and an interrupted
one resumes at its cursor. The same rules are asked of a single account again at dial time
(:func:`still_eligible`), because payments, promises and status changes land between launch and
dial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Exists, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from campaigns.accounts import outstanding, paid_since_as_of
from campaigns.config import SegmentSettings
from store.models import Account, Phone, Plan, Promise


@dataclass(frozen=True)
class SegmentMember:
    """An account taken into a run, with the number to contact."""

    account_id: str
    customer_id: str
    language: str
    number: str


def _open_promise() -> Exists:
    # An open promise keeps its account out until the promise lifecycle judges it (kept, or
    # broken once its date and grace have passed: campaigns.promises.evaluate_promises, run by
    # every worker's reminders job and every payments import): a cardholder waiting for a payment
    # to post is not reminded. Looked up per account through (account_id, status); on the
    # status index SQLite would read every open promise of the portfolio for each account.
    return exists().where(
        Promise.account_id == Account.account_id,
        func.coalesce(Promise.status, "") == "open",
    )


def _active_plan() -> Exists:
    return exists().where(
        Plan.account_id == Account.account_id, func.coalesce(Plan.status, "") == "active"
    )


def _broken_since(today: date, days: int) -> Any:
    """A promise broken (or partial) or a plan broken from ``days`` before ``today`` on."""
    cutoff = datetime.combine(today - timedelta(days=days), time(0), tzinfo=UTC)
    promise = exists().where(
        Promise.account_id == Account.account_id,
        Promise.status.in_(("broken", "partial")),
        Promise.resolved_at >= cutoff,
    )
    plan = exists().where(
        Plan.account_id == Account.account_id,
        Plan.status == "broken",
        Plan.resolved_on >= today - timedelta(days=days),
    )
    return or_(promise, plan)


@dataclass(frozen=True)
class Window:
    """The next accounts of a launch in primary-key order: ``end`` is the last account_id among
    them (None when none is left) and ``full`` says whether more may follow."""

    end: str | None
    full: bool

    @property
    def through(self) -> str | None:
        """The upper bound of the segment query: None (the rest of the table) for the last one."""
        return self.end if self.full else None


def next_window(session: Session, *, after: str | None, size: int) -> Window:
    """The next ``size`` accounts after ``after`` in account_id order, whatever the segment.

    A chunk is a window of the primary key, not a number of members: every chunk then costs the
    same on every engine, whatever the planner thinks of the segment's selectivity. Asked for
    "the next N members in order" PostgreSQL (like SQLite before it) took the (status,
    days_past_due) index and sorted the rest of the segment for every chunk (100,000 accounts:
    each chunk 0.2-0.4 s, the launch quadratic).
    """
    ids = select(Account.account_id).order_by(Account.account_id).limit(size)
    if after is not None:
        ids = ids.where(Account.account_id > after)
    page = ids.subquery()
    end, count = session.execute(select(func.max(page.c.account_id), func.count())).one()
    return Window(end=end, full=count >= size)


def segment_query(
    segment: SegmentSettings, *, today: date, after: str | None, through: str | None
) -> Select[str, str, str, str]:
    """The accounts of ``segment`` with ``after < account_id <= through`` (``None``: unbounded),
    as (account_id, customer_id, language, number), unordered.

    ``today`` is the date ``segment.broken_within_days`` counts back from. Only the primary
    key is left for an index to use: the segment's columns are compared inside expressions, so
    neither engine can prefer (status, days_past_due) and read the whole segment for one window.
    """
    owed = Account.balance - paid_since_as_of()
    query = (
        select(Account.account_id, Account.customer_id, Account.language, Phone.number)
        .join(Phone, and_(Phone.account_id == Account.account_id, Phone.kind == "primary"))
        .where(
            func.coalesce(Account.status, "") == "open",
            func.coalesce(Account.days_past_due, 0).between(segment.dpd_min, segment.dpd_max),
            Account.language.in_(segment.languages),
            owed >= segment.balance_min,
        )
    )
    if segment.balance_max is not None:
        query = query.where(owed <= segment.balance_max)
    if after is not None:
        query = query.where(Account.account_id > after)
    if through is not None:
        query = query.where(Account.account_id <= through)
    if segment.exclude_open_promises:
        query = query.where(~_open_promise(), ~_active_plan())
    if segment.broken_within_days is not None:
        query = query.where(_broken_since(today, segment.broken_within_days))
    return query


def segment_chunk(
    session: Session,
    segment: SegmentSettings,
    *,
    today: date,
    after: str | None,
    limit: int,
) -> list[SegmentMember]:
    """The members of ``segment`` among the ``limit`` accounts whose account_id sorts after
    ``after`` (all that follow when fewer are left), in account_id order.

    ``today`` is the date ``segment.broken_within_days`` counts back from.
    """
    window = next_window(session, after=after, size=limit)
    query = segment_query(segment, today=today, after=after, through=window.through)
    rows = session.execute(query.order_by(Account.account_id)).all()
    return [SegmentMember(*row) for row in rows]


def still_eligible(session: Session, segment: SegmentSettings, account: Account) -> str | None:
    """Why ``account`` must not be contacted now for this segment, or None when it may be.

    Reasons: ``status_<status>`` (no longer open), ``paid`` (the balance still owed fell below
    the segment's minimum: payments imported since launch count), ``promised`` (an open promise:
    not yet judged kept or broken), ``planned`` (an active repayment plan).
    """
    if account.status != "open":
        return f"status_{account.status}"
    owed = outstanding(session, account.account_id)
    if owed is None or owed < segment.balance_min:
        return "paid"
    if segment.exclude_open_promises and session.scalar(
        select(Promise.id)
        .where(Promise.account_id == account.account_id, Promise.status == "open")
        .limit(1)
    ):
        return "promised"
    if segment.exclude_open_promises and session.scalar(
        select(Plan.id)
        .where(Plan.account_id == account.account_id, Plan.status == "active")
        .limit(1)
    ):
        return "planned"
    return None
