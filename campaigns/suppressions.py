"""Setting and lifting the flags the contact policy checks: opt-outs, DNC, cease, dispute.

Every change writes an audit row with who and why. A suppression is never deleted: lifting it
stamps ``removed_at``, so the history can answer whether a number was suppressed on a given day.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from store.audit import record_audit
from store.models import SUPPRESSION_KINDS, Account, Suppression


class SuppressionError(ValueError):
    """Raised for a request that names no valid target or kind."""


def _target(session: Session, kind: str, number: str | None, account_id: str | None) -> None:
    if kind not in SUPPRESSION_KINDS:
        raise SuppressionError(f"kind must be one of {', '.join(SUPPRESSION_KINDS)}")
    if (number is None) == (account_id is None):
        raise SuppressionError("give exactly one of a number or an account")
    if account_id is not None and session.get(Account, account_id) is None:
        raise SuppressionError(f"unknown account {account_id}")


def _active(
    session: Session, kind: str, number: str | None, account_id: str | None
) -> list[Suppression]:
    query = select(Suppression).where(Suppression.kind == kind, Suppression.removed_at.is_(None))
    if number is not None:
        query = query.where(Suppression.number == number)
    else:
        query = query.where(Suppression.account_id == account_id)
    return list(session.scalars(query))


def add_suppression(
    session: Session,
    *,
    kind: str,
    number: str | None = None,
    account_id: str | None = None,
    reason: str,
    actor: str,
    source: str,
    now: datetime,
) -> tuple[Suppression, bool]:
    """Suppress ``number`` (E.164, as ``telephony.numbers.to_e164`` gives it) or ``account_id``
    for ``kind``; returns (row, created).

    An identical suppression already in force is returned as is (``created`` False): repeating a
    STOP or a CLI command changes nothing.
    """
    _target(session, kind, number, account_id)
    existing = _active(session, kind, number, account_id)
    if existing:
        return existing[0], False
    row = Suppression(
        kind=kind,
        number=number,
        account_id=account_id,
        reason=reason,
        source=source,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="suppression.add",
        entity_type="suppression",
        entity_id=str(row.id),
        detail={
            "kind": kind,
            "number": number,
            "account_id": account_id,
            "reason": reason,
            "source": source,
        },
    )
    return row, True


def remove_suppression(
    session: Session,
    *,
    kind: str,
    number: str | None = None,
    account_id: str | None = None,
    reason: str,
    actor: str,
    now: datetime,
) -> int:
    """Lift every active ``kind`` suppression on the target; returns how many were lifted."""
    _target(session, kind, number, account_id)
    rows = _active(session, kind, number, account_id)
    for row in rows:
        row.removed_at = now
        row.removed_by = actor
        row.removed_reason = reason
        record_audit(
            session,
            at=now,
            actor=actor,
            action="suppression.remove",
            entity_type="suppression",
            entity_id=str(row.id),
            detail={"kind": kind, "number": number, "account_id": account_id, "reason": reason},
        )
    return len(rows)


def list_suppressions(
    session: Session,
    *,
    number: str | None = None,
    account_id: str | None = None,
    include_removed: bool = False,
) -> list[Suppression]:
    query = select(Suppression).order_by(Suppression.created_at, Suppression.id)
    if number is not None:
        query = query.where(Suppression.number == number)
    if account_id is not None:
        query = query.where(Suppression.account_id == account_id)
    if not include_removed:
        query = query.where(Suppression.removed_at.is_(None))
    return list(session.scalars(query))


def active_suppressions(session: Session, *, number: str, account_id: str) -> frozenset[str]:
    """The kinds of every suppression in force on ``number`` or on ``account_id``."""
    kinds = session.scalars(_active_statement(), {"number": number, "account_id": account_id})
    return frozenset(kinds.all())


@functools.cache
def _active_statement() -> Select[str]:
    # Built once: the IVR asks on nearly every step, and building costs more than running.
    return (
        select(Suppression.kind)
        .where(
            Suppression.removed_at.is_(None),
            or_(
                Suppression.number == bindparam("number"),
                Suppression.account_id == bindparam("account_id"),
            ),
        )
        .distinct()
    )
