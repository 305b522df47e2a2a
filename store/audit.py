"""Append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store.models import AuditLog
from store.privacy import mask_mapping


def record_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row (masked) to ``session``; the caller's boundary commits it."""
    row = AuditLog(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        detail=mask_mapping(detail or {}),
    )
    session.add(row)
    return row
