"""Pausing campaigns: by an operator (``campaign pause``) or by the dialer itself (auto-pause).

The state lives in ``campaign_controls`` so every worker reads the same answer before every call:
a pause takes effect at once, across processes, and survives restarts. The row named ``"*"``
pauses every campaign. Auto-pause counts consecutive bad events per campaign in the same rows;
the count trips a pause whose reason says what happened, in the log and in ``campaign list``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.sqlutil import insert_ignoring_conflicts
from store.audit import record_audit
from store.models_dialer import ALL_CAMPAIGNS, CampaignControl

log = logging.getLogger(__name__)

Streak = Literal["invalid_number_streak", "denial_streak", "missing_callback_streak"]


def control(
    session: Session, campaign: str, now: datetime, *, lock: bool = False
) -> CampaignControl:
    """The control row of ``campaign`` (created unpaused when missing)."""
    insert_ignoring_conflicts(
        session,
        CampaignControl,
        [
            {
                "campaign": campaign,
                "paused": False,
                "changed_at": now,
                "changed_by": "system",
                "invalid_number_streak": 0,
                "denial_streak": 0,
                "missing_callback_streak": 0,
            }
        ],
        ["campaign"],
    )
    query = select(CampaignControl).where(CampaignControl.campaign == campaign)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    return row


def pause(session: Session, campaign: str, *, reason: str, actor: str, now: datetime) -> bool:
    """Pause ``campaign`` (``"*"``: all); returns False when it was already paused."""
    row = control(session, campaign, now, lock=True)
    if row.paused:
        return False
    row.paused = True
    row.reason = reason
    row.changed_at = now
    row.changed_by = actor
    record_audit(
        session,
        at=now,
        actor=actor,
        action="campaign.pause",
        entity_type="campaign",
        entity_id=campaign,
        detail={"reason": reason},
    )
    log.warning("campaign %s paused by %s: %s", campaign, actor, reason)
    return True


def resume(session: Session, campaign: str, *, actor: str, now: datetime) -> bool:
    """Resume ``campaign`` and clear its streaks; returns False when it was not paused."""
    row = control(session, campaign, now, lock=True)
    was_paused = row.paused
    row.paused = False
    row.reason = None
    row.changed_at = now
    row.changed_by = actor
    row.invalid_number_streak = row.denial_streak = row.missing_callback_streak = 0
    if was_paused:
        record_audit(
            session,
            at=now,
            actor=actor,
            action="campaign.resume",
            entity_type="campaign",
            entity_id=campaign,
            detail={},
        )
        log.warning("campaign %s resumed by %s", campaign, actor)
    return was_paused


def pauses(session: Session) -> dict[str, str]:
    """Every paused campaign (``"*"`` included) with its reason."""
    rows = session.execute(
        select(CampaignControl.campaign, CampaignControl.reason).where(CampaignControl.paused)
    ).all()
    return {name: reason or "paused" for name, reason in rows}


def paused_reason(session: Session, campaign: str) -> str | None:
    """Why ``campaign`` may not dial now (its own pause or the global one), or None."""
    rows = session.execute(
        select(CampaignControl.campaign, CampaignControl.reason).where(
            CampaignControl.paused, CampaignControl.campaign.in_((campaign, ALL_CAMPAIGNS))
        )
    ).all()
    for name, reason in sorted(rows, key=lambda r: r[0] != ALL_CAMPAIGNS):
        scope = "all campaigns" if name == ALL_CAMPAIGNS else name
        return f"{scope}: {reason or 'paused'}"
    return None


def bump(
    session: Session,
    campaign: str,
    streak: Streak,
    *,
    threshold: int,
    reason: str,
    now: datetime,
) -> bool:
    """Count one more bad event in a row; pause the campaign when the count reaches
    ``threshold`` (0: never). Returns True when this call paused it."""
    row = control(session, campaign, now, lock=True)
    count = getattr(row, streak) + 1
    setattr(row, streak, count)
    if threshold and count >= threshold and not row.paused:
        return pause(
            session, campaign, reason=f"{reason} ({count} in a row)", actor="auto-pause", now=now
        )
    return False


def reset(session: Session, campaign: str, streak: Streak, now: datetime) -> None:
    """A good event: the streak starts again (written only when it is not already zero)."""
    current = session.scalar(
        select(getattr(CampaignControl, streak)).where(CampaignControl.campaign == campaign)
    )
    if current:
        row = control(session, campaign, now, lock=True)
        setattr(row, streak, 0)
