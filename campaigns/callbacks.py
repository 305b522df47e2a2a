"""Callback requests: a caller who asked for (or was offered) a person, to be called back.

The one writer of ``callback_requests``. The IVR decides that a callback is wanted and returns it
as an effect; the web edge hands it here in the same transaction, and so does the desk for a
caller who left its queue. The desk places them agent first: it takes a due request
(:func:`take`: ``open -> scheduled``), and when the agent reached the cardholder closes it
(:func:`close`), else gives it back for a later try (:func:`retry`); ``duecall report`` counts
the open ones.

A request is stored once per ``dedupe_key``: a webhook Twilio sends twice, or a step replayed after
a lost race, asks for one callback, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from store.models import Account, CallbackRequest


@dataclass(frozen=True)
class CallbackWanted:
    """A callback to book. ``preferred_at`` None: as soon as possible; ``verified``: the caller
    passed verification on the call that asked (the desk may then discuss the account)."""

    number: str
    reason: str
    language: str
    priority: int
    dedupe_key: str
    account_id: str | None = None
    preferred_at: datetime | None = None
    call_sid: str | None = None
    verified: bool = False


def request_callback(session: Session, wanted: CallbackWanted, *, now: datetime) -> bool:
    """Book ``wanted`` unless a request with its dedupe key exists; True when this call booked it.

    An account id that names no account is dropped (the caller keyed an unknown number): the
    request is still booked against the number.
    """
    if session.scalar(
        select(CallbackRequest.id).where(CallbackRequest.dedupe_key == wanted.dedupe_key)
    ):
        return False
    account_id = wanted.account_id
    if account_id is not None and session.get(Account, account_id) is None:
        account_id = None
    session.add(
        CallbackRequest(
            account_id=account_id,
            number=wanted.number[:16],
            reason=wanted.reason[:32],
            language=wanted.language,
            priority=wanted.priority,
            preferred_at=wanted.preferred_at,
            status="open",
            created_at=now,
            call_sid=wanted.call_sid,
            dedupe_key=wanted.dedupe_key[:120],
            verified=wanted.verified,
        )
    )
    return True


def due(session: Session, *, now: datetime, limit: int = 50) -> list[CallbackRequest]:
    """Open requests whose time has come (or that asked for as soon as possible), the most
    urgent first (priority, then the earliest asked)."""
    return list(
        session.scalars(
            select(CallbackRequest)
            .where(
                CallbackRequest.status == "open",
                or_(CallbackRequest.preferred_at.is_(None), CallbackRequest.preferred_at <= now),
            )
            .order_by(CallbackRequest.priority, CallbackRequest.created_at, CallbackRequest.id)
            .limit(limit)
        )
    )


def _move(session: Session, request_id: int, source: str, values: dict[str, object]) -> bool:
    result = session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == request_id, CallbackRequest.status == source)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for loaded in session.identity_map.values():
        if isinstance(loaded, CallbackRequest) and loaded.id == request_id:
            session.expire(loaded)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def take(session: Session, request_id: int) -> bool:
    """The desk takes the open request to place it now; False when another worker did."""
    return _move(session, request_id, "open", {"status": "scheduled"})


def close(session: Session, request_id: int, *, note: str) -> bool:
    """The cardholder was called back: done."""
    return _move(session, request_id, "scheduled", {"status": "done", "note": note[:500]})


def retry(session: Session, request_id: int, *, at: datetime | None, note: str) -> bool:
    """Not reached this time (no agent took it, no answer, the policy said not now): open
    again from ``at``, one more try counted, ``note`` saying why (for the report)."""
    found = session.get(CallbackRequest, request_id)
    tries = (found.tries if found is not None else 0) + 1
    return _move(
        session,
        request_id,
        "scheduled",
        {"status": "open", "preferred_at": at, "tries": tries, "note": note[:500]},
    )


def cancel(session: Session, request_id: int, *, note: str) -> bool:
    """The request can never be placed (the policy forbids it for good, no account)."""
    return _move(session, request_id, "scheduled", {"status": "cancelled", "note": note[:500]})
