"""Exports for the bank's systems: promises, attempts, opt-outs, plans (one row per
installment) and concessions, one flat row each.

The columns are a public interface (the README's "Reports and exports"); add columns at the end,
never rename or reorder them. Values are converted here, once, so CSV and JSON carry the same text:

- money is a decimal string with two places (``"600.00"``), never a float;
- dates are ISO ``YYYY-MM-DD``; instants are ISO 8601 in UTC to the second
  (``2026-11-29T15:00:00+00:00``);
- integers and booleans stay integers and booleans (CSV writes ``true``/``false``); a missing
  value is ``None`` (JSON ``null``, an empty CSV field).

Phone numbers are exported in full (E.164): an export feeds the bank's own systems, which match
on them, unlike a log line or the audit trail, which are masked. Treat the files accordingly
(``--output`` files are created readable by their owner only).

In CSV, a text cell a spreadsheet would take for a formula (``=...``, ``@...``, ``+1+1``) is
written with a leading ``'`` (:func:`campaigns.csv_cells.safe_cell`); full E.164 numbers and
plain decimals are written as they are. JSON is written as converted.

Rows are read in id order with ``yield_per``, so an export of a million rows streams instead of
sitting in memory (PostgreSQL reads through a server-side cursor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from campaigns.csv_cells import safe_cell
from store.models import Attempt, Plan, PlanInstallment, Promise, Suppression
from store.models_concessions import Concession
from store.models_dialer import Contact

ExportKind = Literal["promises", "attempts", "optouts", "plans", "concessions"]
Value = str | int | bool | None

PROMISE_COLUMNS = (
    "id",
    "account_id",
    "promised_date",
    "amount",
    "currency",
    "status",
    "source",
    "created_at",
    "paid_amount",
    "resolved_at",
)
ATTEMPT_COLUMNS = (
    "id",
    "account_id",
    "channel",
    "purpose",
    "number",
    "status",
    "outcome",
    "answered_by",
    "connected",
    "error_code",
    "created_at",
    "ended_at",
    "duration_seconds",
    "campaign",
    # Added at the end (columns are never reordered): a hotline call is an inbound row.
    "direction",
    "conversation",
)
OPTOUT_COLUMNS = (
    "id",
    "kind",
    "number",
    "account_id",
    "reason",
    "source",
    "created_by",
    "created_at",
    "removed_at",
    "removed_by",
)

#: One row per installment, with its plan's terms (``plan_*``) repeated on each.
PLAN_COLUMNS = (
    "plan_id",
    "account_id",
    "plan_status",
    "plan_total",
    "currency",
    "installments",
    "frequency",
    "source",
    "created_at",
    "seq",
    "due_date",
    "amount",
    "paid_amount",
    "status",
    "resolved_on",
    "plan_resolved_on",
)
#: The terms the card system must apply (``status`` granted) and the requests around them.
#: ``amount``: waived, or a settlement's lump sum; ``base``: what it was computed against;
#: ``percent``: the share asked for (``"50.00"``); ``apr_bps``/``months``: a reduced rate.
CONCESSION_COLUMNS = (
    "id",
    "account_id",
    "offer",
    "kind",
    "currency",
    "amount",
    "base",
    "percent",
    "apr_bps",
    "months",
    "plan_id",
    "effective_date",
    "end_date",
    "status",
    "requested_by",
    "requested_role",
    "requested_at",
    "decided_by",
    "decided_role",
    "decided_at",
    "reason",
)

#: The columns of each export, in order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "promises": PROMISE_COLUMNS,
    "attempts": ATTEMPT_COLUMNS,
    "optouts": OPTOUT_COLUMNS,
    "plans": PLAN_COLUMNS,
    "concessions": CONCESSION_COLUMNS,
}

YIELD_PER = 1000


def export_value(value: Any) -> Value:
    """One value as the exports write it (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an export")
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot export a {type(value).__name__}")


def csv_cell(value: Value) -> str:
    """One exported value as a CSV cell: ``None`` empty, booleans ``true``/``false``, text that a
    spreadsheet would run as a formula neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(str(value))


def since_instant(day: date) -> datetime:
    """The start (00:00 UTC) of ``day``: ``--since`` keeps rows created at or after it."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _promises(since: datetime | None) -> Select[Any]:
    query = select(*(getattr(Promise, c) for c in PROMISE_COLUMNS)).order_by(Promise.id)
    return query if since is None else query.where(Promise.created_at >= since)


def _attempts(since: datetime | None) -> Select[Any]:
    query = (
        select(
            *(getattr(Attempt, c) for c in ATTEMPT_COLUMNS[: ATTEMPT_COLUMNS.index("campaign")]),
            Contact.campaign,
            *(
                getattr(Attempt, c)
                for c in ATTEMPT_COLUMNS[ATTEMPT_COLUMNS.index("campaign") + 1 :]
            ),
        )
        .outerjoin(Contact, Contact.id == Attempt.contact_id)
        .order_by(Attempt.id)
    )
    return query if since is None else query.where(Attempt.created_at >= since)


def _optouts(since: datetime | None) -> Select[Any]:
    query = select(*(getattr(Suppression, c) for c in OPTOUT_COLUMNS)).order_by(Suppression.id)
    return query if since is None else query.where(Suppression.created_at >= since)


def _plans(since: datetime | None) -> Select[Any]:
    columns: list[Any] = [
        Plan.id,
        Plan.account_id,
        Plan.status,
        Plan.total,
        Plan.currency,
        Plan.installments,
        Plan.frequency,
        Plan.source,
        Plan.created_at,
        PlanInstallment.seq,
        PlanInstallment.due_date,
        PlanInstallment.amount,
        PlanInstallment.paid_amount,
        PlanInstallment.status,
        PlanInstallment.resolved_on,
        Plan.resolved_on,
    ]
    query = (
        select(*columns)
        .join(PlanInstallment, PlanInstallment.plan_id == Plan.id)
        .order_by(Plan.id, PlanInstallment.seq)
    )
    return query if since is None else query.where(Plan.created_at >= since)


def _concessions(since: datetime | None) -> Select[Any]:
    columns = [
        Concession.percent_bps if c == "percent" else getattr(Concession, c)
        for c in CONCESSION_COLUMNS
    ]
    query = select(*columns).order_by(Concession.id)
    return query if since is None else query.where(Concession.requested_at >= since)


_QUERIES: dict[str, Callable[[datetime | None], Select[Any]]] = {
    "promises": _promises,
    "attempts": _attempts,
    "optouts": _optouts,
    "plans": _plans,
    "concessions": _concessions,
}


def export_rows(
    session: Session, kind: ExportKind, *, since: date | None = None
) -> Iterator[dict[str, Value]]:
    """The rows of export ``kind`` created on or after ``since`` (a UTC date), in id order.

    Each row maps :data:`COLUMNS` ``[kind]`` to its exported value. The rows stream
    (``yield_per``): consume them inside the session. Raises ``KeyError`` for an unknown kind.
    """
    columns = COLUMNS[kind]
    query = _QUERIES[kind](None if since is None else since_instant(since))
    result = session.execute(query.execution_options(yield_per=YIELD_PER))
    convert = _CONVERT.get(kind, {})
    for row in result:
        yield {
            column: export_value(convert[column](value) if column in convert else value)
            for column, value in zip(columns, row, strict=True)
        }


def promise_page(
    session: Session, *, since: datetime | None, after_id: int, limit: int
) -> list[dict[str, Value]]:
    """Up to ``limit`` rows of the promises export with an id above ``after_id``, created at
    or after ``since``, in id order: one page of the JSON API's keyset paging (an id never
    changes, so a page boundary never skips or repeats a promise while new ones arrive)."""
    query = _promises(since).where(Promise.id > after_id).limit(limit)
    return [
        {c: export_value(v) for c, v in zip(PROMISE_COLUMNS, row, strict=True)}
        for row in session.execute(query)
    ]


def _percent(bps: int | None) -> Decimal | None:
    """Basis points as the percentage they are (``5000`` is ``50.00``)."""
    return None if bps is None else Decimal(bps) / 100


#: Values stored in another unit than they are exported in, by export and column.
_CONVERT: dict[str, dict[str, Callable[[Any], Any]]] = {"concessions": {"percent": _percent}}
