"""Launching a campaign run: one run per campaign and slot, contacts snapshotted in chunks.

The run-once guarantee rests on the UNIQUE ``(campaign, slot_key)`` of ``campaign_runs``: the
first worker to insert the row launches; a second worker, a restart or a second firing of the
same wall-clock time (a DST fall-back repeats 01:00-02:00) collides and does nothing. The slot is
the trigger's own fire time, named by its local wall-clock time in the campaign's zone.

The snapshot is written a chunk at a time, each in its own short transaction that also moves the
run's cursor, so webhooks never wait behind one long write and a launch interrupted between
chunks resumes where it stopped (the contacts' UNIQUE ``(run_id, account_id)`` makes a repeated
chunk harmless).
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from campaigns.config import CampaignSettings
from campaigns.segments import segment_chunk
from dialer.sqlutil import insert_ignoring_conflicts, rowcount
from store.clock import Clock
from store.db import Database
from store.models_dialer import CampaignRun, Contact

log = logging.getLogger(__name__)

# A snapshot whose worker has not moved its cursor for this long is taken over by the next
# launcher of the same slot (the first one died mid-launch).
SNAPSHOT_STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class LaunchResult:
    """What a launch did: ``created`` False means the slot had already been launched."""

    run_id: int
    created: bool
    contacts: int
    resumed: bool = False


def slot_key(fire_time: datetime, zone: zoneinfo.ZoneInfo) -> str:
    """The slot's name: its local wall-clock minute and zone, e.g.
    ``2026-11-01T01:30 America/New_York``. Both firings of a repeated local time share it."""
    local = fire_time.astimezone(zone)
    return f"{local:%Y-%m-%dT%H:%M} {zone.key}"


def manual_slot_key(now: datetime) -> str:
    """The slot of ``campaign run --now``: the UTC second it was asked for."""
    return f"manual {now.astimezone(zoneinfo.ZoneInfo('UTC')):%Y-%m-%dT%H:%M:%S}Z"


def latest_fire_time(
    campaign: CampaignSettings, now: datetime, grace: timedelta
) -> datetime | None:
    """The latest scheduled fire time in ``[now - grace, now]``, or None.

    This is how a job (or a restarted worker) knows which slot it is launching: APScheduler 3
    does not hand the scheduled time to the job, and a restart loses the job store.
    """
    trigger = campaign.schedule.trigger()
    cursor = now - grace
    previous: datetime | None = None
    latest: datetime | None = None
    for _ in range(10_000):
        fire: datetime | None = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > now:
            break
        if latest is not None and fire <= latest:
            # APScheduler 3 can return the same instant again right after a DST fall-back.
            cursor = latest + timedelta(minutes=1)
            previous = None
            continue
        latest = previous = fire
        cursor = fire + timedelta(seconds=1)
    return latest


def launch(
    db: Database,
    campaign: CampaignSettings,
    *,
    slot_at: datetime,
    key: str,
    trigger: str,
    clock: Clock,
    actor: str,
    chunk: int,
) -> LaunchResult:
    """Create the run of ``campaign`` for slot ``key`` and snapshot its contacts.

    Returns ``created=False`` without touching anything when the slot was launched before (and
    its snapshot is finished or is being written by a live worker).
    """
    now = clock.now()
    try:
        with db.session() as session:
            run = CampaignRun(
                campaign=campaign.name,
                slot_key=key,
                slot_at=slot_at,
                trigger=trigger,
                status="snapshotting",
                created_at=now,
                created_by=actor,
                snapshot_heartbeat_at=now,
                contacts_total=0,
            )
            session.add(run)
            session.flush()
            # The previous runs' pending contacts are never dialed again: this run's snapshot
            # holds everyone the segment still selects.
            session.execute(
                update(CampaignRun)
                .where(
                    CampaignRun.campaign == campaign.name,
                    CampaignRun.id != run.id,
                    CampaignRun.status.in_(("snapshotting", "active")),
                )
                .values(status="superseded")
            )
            run_id = run.id
    except IntegrityError:
        return _resume_if_abandoned(db, campaign, key=key, clock=clock, actor=actor, chunk=chunk)
    log.info("campaign %s: launched run %s for slot %s (%s)", campaign.name, run_id, key, trigger)
    total = _snapshot(db, campaign, run_id, clock=clock, chunk=chunk, cursor=None)
    return LaunchResult(run_id=run_id, created=True, contacts=total)


def _resume_if_abandoned(
    db: Database, campaign: CampaignSettings, *, key: str, clock: Clock, actor: str, chunk: int
) -> LaunchResult:
    now = clock.now()
    with db.session() as session:
        run = session.scalars(
            select(CampaignRun).where(
                CampaignRun.campaign == campaign.name, CampaignRun.slot_key == key
            )
        ).one()
        run_id, cursor, total = run.id, run.snapshot_cursor, run.contacts_total
        heartbeat = run.snapshot_heartbeat_at
        if run.status != "snapshotting" or (
            heartbeat is not None and heartbeat > now - SNAPSHOT_STALE_AFTER
        ):
            return LaunchResult(run_id=run_id, created=False, contacts=total)
        # Take the snapshot over only if nobody else did in the meantime.
        taken = rowcount(
            session.execute(
                update(CampaignRun)
                .where(CampaignRun.id == run_id, CampaignRun.snapshot_heartbeat_at == heartbeat)
                .values(snapshot_heartbeat_at=now)
            )
        )
        if taken != 1:
            return LaunchResult(run_id=run_id, created=False, contacts=total)
    log.warning(
        "campaign %s: %s resumes the abandoned snapshot of run %s", campaign.name, actor, run_id
    )
    total = _snapshot(db, campaign, run_id, clock=clock, chunk=chunk, cursor=cursor)
    return LaunchResult(run_id=run_id, created=False, contacts=total, resumed=True)


def _snapshot(
    db: Database,
    campaign: CampaignSettings,
    run_id: int,
    *,
    clock: Clock,
    chunk: int,
    cursor: str | None,
) -> int:
    """Copy the segment into contacts, ``chunk`` accounts per transaction; returns the total."""
    while True:
        now = clock.now()
        with db.session() as session:
            run = session.get(CampaignRun, run_id)
            if run is None or run.status != "snapshotting":
                return run.contacts_total if run else 0
            members = segment_chunk(
                session,
                campaign.segment,
                today=now.date(),
                after=cursor,
                limit=chunk,
            )
            insert_ignoring_conflicts(
                session,
                Contact,
                [
                    {
                        "run_id": run_id,
                        "campaign": campaign.name,
                        "account_id": m.account_id,
                        "customer_id": m.customer_id,
                        "number": m.number,
                        "language": m.language,
                        "channel": campaign.first_channel,
                        "priority": campaign.priority,
                        "state": "pending",
                        "next_attempt_at": run.slot_at if run.trigger != "manual" else now,
                        "attempts_made": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for m in members
                ],
                ["run_id", "account_id"],
            )
            if members:
                cursor = members[-1].account_id
                run.snapshot_cursor = cursor
                run.contacts_total += len(members)
            run.snapshot_heartbeat_at = now
            if len(members) < chunk:
                run.status = "active"
                run.snapshot_done_at = now
                log.info(
                    "campaign %s: run %s snapshotted %d contacts",
                    campaign.name,
                    run_id,
                    run.contacts_total,
                )
                return run.contacts_total
