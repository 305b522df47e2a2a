"""Fraud and lost-card reports: the one writer of ``fraud_reports``.

A cardholder reports a lost or stolen card or a fraud on the hotline (menu key 5) or to an agent;
the report is stored with an audit row (``fraud_alert.reported``) for the fraud team, once per
``dedupe_key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.audit import record_audit
from store.models_ivr import FraudReport

Source = Literal["ivr", "agent"]


def report_fraud(
    session: Session,
    *,
    account_id: str,
    number: str | None,
    language: str,
    source: Source,
    actor: str,
    dedupe_key: str,
    now: datetime,
    call_sid: str | None = None,
    kind: str = "lost_stolen_or_fraud",
) -> FraudReport | None:
    """Store the report and its audit row; None when ``dedupe_key`` was stored before."""
    if session.scalar(select(FraudReport.id).where(FraudReport.dedupe_key == dedupe_key)):
        return None
    report = FraudReport(
        account_id=account_id,
        kind=kind,
        source=source,
        status="open",
        number=number[:16] if number else None,
        language=language,
        call_sid=call_sid,
        created_at=now,
        dedupe_key=dedupe_key[:120],
    )
    session.add(report)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="fraud_alert.reported",
        entity_type="account",
        entity_id=account_id,
        detail={"call_sid": call_sid, "fraud_report_id": report.id},
    )
    return report
