"""What the JSON API answers: the live queues, the promises page by page, a payment posted.

The rules live here and the HTTP handling in :mod:`desk.api_views`; docs/api/openapi.yaml is
the public description of both. Values are written as the exports write them
(:func:`campaigns.exports.export_value`: money as decimal strings, instants ISO 8601 in UTC),
phone numbers only masked (:func:`store.privacy.mask_phone`).

A payment is validated exactly as a row of the payments file (:func:`campaigns.import_rows.
validate_payment`) and stored by the payments import's writer
(:func:`campaigns.import_store.insert_payments`); posting it again with the same content is a
no-op that answers the stored payment, and another content for a known ``payment_id`` is a
conflict: a payment is never overwritten.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.exports import export_value, promise_page, since_instant
from campaigns.import_fields import Row
from campaigns.import_rows import PAYMENT_COLUMNS, PAYMENT_OPTIONAL_COLUMNS, validate_payment
from campaigns.import_store import ImportResult, insert_payments
from desk.agents import all_agents
from desk.config import DeskSettings
from desk.errors import ApiError
from desk.figures import desk_figures
from desk.queueing import queued
from store.models import Account, Payment
from store.privacy import mask_phone

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PAYMENT_FIELDS = (*PAYMENT_COLUMNS, *PAYMENT_OPTIONAL_COLUMNS)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- GET /api/queue


def queue_view(
    session: Session, settings: DeskSettings, *, now: datetime, hours: int
) -> dict[str, Any]:
    """The live queues (each caller waiting, in the order they are served, with a masked
    number) and the supervisor's figures over the last ``hours`` hours (:mod:`desk.figures`)."""
    since = now - timedelta(hours=hours)
    figures = desk_figures(session, settings, now=now, since=since)
    callers: dict[str, list[dict[str, Any]]] = {}
    for entry in queued(session):
        line = callers.setdefault(entry.queue, [])
        line.append(
            {
                "position": len(line) + 1,
                "kind": "callback" if entry.call_sid is None else "caller",
                "status": entry.status,
                "number": mask_phone(entry.number),
                "language": entry.language,
                "verified": entry.verified,
                "reason": entry.reason,
                "enqueued_at": export_value(entry.enqueued_at),
                "waiting_seconds": max(int((now - entry.enqueued_at).total_seconds()), 0),
            }
        )
    return {
        "at": export_value(now),
        "since": export_value(since),
        "queues": [
            {
                "name": q.queue,
                "waiting": q.waiting,
                "longest_wait_seconds": q.longest_wait_seconds,
                "answered": q.answered,
                "abandoned": q.abandoned,
                "left": q.left,
                "average_answer_seconds": q.average_answer_seconds,
                "abandonment_percent": _decimal(q.abandonment_percent),
                "service_level_percent": _decimal(q.service_level_percent),
                "target_percent": q.target_percent,
                "target_seconds": q.target_seconds,
                "callers": callers.get(q.queue, []),
            }
            for q in figures.queues
        ],
        "agents_by_state": figures.agents_by_state,
        "agents": [
            {"name": a.name, "state": a.state, "since": export_value(a.state_since)}
            for a in all_agents(session)
        ],
        "callbacks": {
            "open": figures.callbacks.open,
            "due": figures.callbacks.due,
            "missed": figures.callbacks.missed,
            "done": figures.callbacks.done,
        },
    }


def parse_hours(text: str | None) -> int:
    """``?hours=`` of GET /api/queue: 1 to 744 (31 days), default 24."""
    if text is None:
        return 24
    if not text.isdigit() or not 1 <= int(text) <= 24 * 31:
        raise ApiError(400, "bad_parameter", "hours must be a whole number from 1 to 744")
    return int(text)


# --------------------------------------------------------------------------- GET /api/promises


def parse_since(text: str | None) -> datetime | None:
    """``?since=``: an ISO date (from 00:00 UTC, as ``export --since``) or an ISO datetime
    with its offset; raises :class:`ApiError` (400) for anything else."""
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            return since_instant(date.fromisoformat(text))
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ApiError(
            400,
            "bad_parameter",
            "since must be an ISO date (2026-11-20) or a datetime with its offset "
            "(2026-11-20T14:30:00Z)",
        )
    return when.astimezone(UTC)


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, "bad_parameter", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def encode_cursor(after_id: int) -> str:
    """An opaque cursor: clients pass back what ``next_cursor`` said, never build one."""
    return base64.urlsafe_b64encode(f"promise:{after_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> int:
    if text is None or text == "":
        return 0
    try:
        kind, _, number = (
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, number = "", ""
    if kind != "promise" or not number.isdigit():
        raise ApiError(400, "bad_cursor", "cursor is not one this API returned")
    return int(number)


def promises_view(
    session: Session, *, since: datetime | None, after_id: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of promises in id order (the promises export's columns and values) and the
    cursor of the next page, None on the last one."""
    # One more than asked tells whether another page exists without a count.
    rows = promise_page(session, since=since, after_id=after_id, limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    last = page[-1]["id"] if page else None
    return page, encode_cursor(int(last)) if more and isinstance(last, int) else None


# --------------------------------------------------------------------------- POST /api/payments


def parse_payment(body: Any) -> Row:
    """The JSON body as the payments import's row; raises :class:`ApiError` (422) for a body
    that is not an object of strings, with every problem named by its field.

    A JSON number for ``amount`` is refused, not converted: a client that sends floats has
    already lost the cents it rounded away."""
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    problems: dict[str, str] = {}
    raw: dict[str, str] = {}
    for key, value in body.items():
        if key not in PAYMENT_FIELDS:
            problems[str(key)] = f"unknown field; the fields are {', '.join(PAYMENT_FIELDS)}"
        elif value is None and key in PAYMENT_OPTIONAL_COLUMNS:
            continue
        elif key == "amount" and isinstance(value, int | float) and not isinstance(value, bool):
            problems[key] = 'must be a decimal string such as "25.00", not a JSON number'
        elif not isinstance(value, str):
            problems[key] = "must be a string"
        else:
            raw[key] = value
    for key in PAYMENT_COLUMNS:
        if key not in body:
            problems[key] = "required"
    if problems:
        raise ApiError(422, "invalid_payment", _summary(problems), problems)
    return Row(line=1, raw=raw)


def _summary(problems: dict[str, str]) -> str:
    return "; ".join(f"{field}: {reason}" for field, reason in problems.items())


def _as_json(session: Session, payment: Payment) -> dict[str, Any]:
    currency = payment.currency or session.scalar(
        select(Account.currency).where(Account.account_id == payment.account_id)
    )
    return {
        "payment_id": payment.payment_id,
        "account_id": payment.account_id,
        "amount": export_value(payment.amount),
        "currency": currency,
        "paid_at": export_value(payment.paid_at),
        "paid_on": export_value(payment.paid_on),
        "created_at": export_value(payment.created_at),
    }


def _same(stored: Payment, new: dict[str, Any]) -> bool:
    return (
        stored.account_id,
        stored.amount,
        stored.paid_at,
        stored.paid_on,
        stored.currency,
    ) == (new["account_id"], new["amount"], new["paid_at"], new["paid_on"], new["currency"])


def record_payment(session: Session, row: Row, *, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Store the payment of ``row`` (from :func:`parse_payment`); returns (created, the
    payment as the API shows it). The caller's boundary commits.

    Raises :class:`ApiError`: 422 for a value the payments import rejects or an unknown
    account, 409 for a ``payment_id`` already recorded with other content."""
    payment = validate_payment(row, now)
    if payment is None:
        problems = {r.column: r.reason for r in row.errors}
        raise ApiError(422, "invalid_payment", _summary(problems), problems)
    stored = session.get(Payment, payment["payment_id"])
    if stored is None:
        insert_payments(session, [(row, payment)], now, ImportResult(batch_id=None))
        if row.errors:
            problems = {r.column: r.reason for r in row.errors}
            if "account_id" in problems:
                raise ApiError(422, "unknown_account", _summary(problems), problems)
            # Posted concurrently by another request: answer as if it had come first.
            stored = session.get(Payment, payment["payment_id"], populate_existing=True)
        else:
            created = session.get(Payment, payment["payment_id"])
            assert created is not None  # inserted just above, in this transaction
            return True, _as_json(session, created)
    if stored is None or not _same(stored, payment):
        raise ApiError(
            409,
            "payment_conflict",
            f"payment {payment['payment_id']} is already recorded with other content; "
            "a payment is never overwritten",
        )
    return False, _as_json(session, stored)
