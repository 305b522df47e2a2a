"""Pausing campaigns: by an operator (``campaign pause``) or by the dialer itself (auto-pause).

The state lives in ``campaign_controls`` so every worker reads the same answer before every call:
a pause takes effect at once, across processes, and survives restarts. The row named ``"*"``
pauses every campaign. Auto-pause counts consecutive bad events per campaign in the same rows;
the count trips a pause whose reason says what happened, in the log and in ``campaign list``.

Refused or unanswered requests to Twilio are counted once for the whole account, on the ``"*"``
row (a rate limit is the account's, not a campaign's); their pause is marked ``paused_for =
"carrier"`` and is the only automatic pause lifted without an operator: by the first probe
request that gets through (:mod:`dialer.carrier`), or by ``campaign resume --all``.
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

Streak = Literal[
    "invalid_number_streak", "denial_streak", "missing_callback_streak", "transient_streak"
]
#: ``paused_for`` of a pause a successful probe request lifts.
CARRIER = "carrier"


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
                "transient_streak": 0,
            }
        ],
        ["campaign"],
    )
    query = select(CampaignControl).where(CampaignControl.campaign == campaign)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    return row


def pause(
    session: Session,
    campaign: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    paused_for: str | None = None,
) -> bool:
    """Pause ``campaign`` (``"*"``: all); returns False when it was already paused.

    ``paused_for`` names what lifts it by itself (:data:`CARRIER`); None: only an operator."""
    row = control(session, campaign, now, lock=True)
    if row.paused:
        return False
    row.paused = True
    row.reason = reason
    row.changed_at = now
    row.changed_by = actor
    row.paused_for = paused_for
    record_audit(
        session,
        at=now,
        actor=actor,
        action="campaign.pause",
        entity_type="campaign",
        entity_id=campaign,
        detail={"reason": reason, **({"paused_for": paused_for} if paused_for else {})},
    )
    log.warning("campaign %s paused by %s: %s", campaign, actor, reason)
    return True


def resume(
    session: Session,
    campaign: str,
    *,
    actor: str,
    now: datetime,
    detail: dict[str, object] | None = None,
) -> bool:
    """Resume ``campaign`` and clear its streaks; returns False when it was not paused."""
    row = control(session, campaign, now, lock=True)
    was_paused = row.paused
    row.paused = False
    row.reason = None
    row.paused_for = None
    row.changed_at = now
    row.changed_by = actor
    row.invalid_number_streak = row.denial_streak = row.missing_callback_streak = 0
    row.transient_streak = 0
    if was_paused:
        record_audit(
            session,
            at=now,
            actor=actor,
            action="campaign.resume",
            entity_type="campaign",
            entity_id=campaign,
            detail=dict(detail or {}),
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


def bump_transient(
    session: Session,
    *,
    threshold: int,
    label: str,
    retry_after: float | None,
    now: datetime,
) -> bool:
    """Count one more request Twilio refused or left unanswered, for the whole account; at
    ``threshold`` (0: never) pause every campaign until a probe gets through. ``label`` says
    what Twilio answered (``"429"``, ``"20429"``, ``"timeout"``). True when this call paused."""
    row = control(session, ALL_CAMPAIGNS, now, lock=True)
    row.transient_streak += 1
    count = row.transient_streak
    if not threshold or count < threshold or row.paused:
        return False
    wait = f", last Retry-After {retry_after:g} s" if retry_after is not None else ""
    return pause(
        session,
        ALL_CAMPAIGNS,
        reason=(
            f"Twilio is refusing requests ({label} x{count}{wait}); "
            "resumes by itself when a probe succeeds"
        ),
        actor="auto-pause",
        now=now,
        paused_for=CARRIER,
    )


def carrier_paused(session: Session) -> bool:
    """Whether every campaign is paused waiting for Twilio to accept requests again."""
    return bool(
        session.scalar(
            select(CampaignControl.campaign).where(
                CampaignControl.campaign == ALL_CAMPAIGNS,
                CampaignControl.paused,
                CampaignControl.paused_for == CARRIER,
            )
        )
    )


def resume_carrier(session: Session, *, actor: str, now: datetime, probe: str) -> bool:
    """Lift the pause a refusal storm set (and only that one), with an audit row naming the
    probe that got through; False when no such pause was in force."""
    row = control(session, ALL_CAMPAIGNS, now, lock=True)
    if not (row.paused and row.paused_for == CARRIER):
        return False
    return resume(session, ALL_CAMPAIGNS, actor=actor, now=now, detail={"probe": probe})


def reset(session: Session, campaign: str, streak: Streak, now: datetime) -> None:
    """A good event: the streak starts again (written only when it is not already zero)."""
    current = session.scalar(
        select(getattr(CampaignControl, streak)).where(CampaignControl.campaign == campaign)
    )
    if current:
        row = control(session, campaign, now, lock=True)
        setattr(row, streak, 0)
