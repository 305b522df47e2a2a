"""Launching a campaign run: one run per campaign and slot, contacts snapshotted in chunks.

The run-once guarantee rests on the UNIQUE ``(campaign, slot_key)`` of ``campaign_runs``: the
first worker to insert the row launches; a second worker, a restart or a second firing of the
same wall-clock time (a DST fall-back repeats 01:00-02:00) collides and does nothing. The slot is
the trigger's own fire time, named by its local wall-clock time in the campaign's zone.

The snapshot is written a chunk at a time, each in its own short transaction that also moves the
run's cursor, so webhooks never wait behind one long write and a launch interrupted between
chunks resumes where it stopped (the contacts' UNIQUE ``(run_id, account_id)`` makes a repeated
chunk harmless).

Chunks are written by one worker at a time: the run's ``snapshot_by``. Each chunk's transaction
locks the run row and checks it is still the writer, so two workers never interleave chunks of
one run. A snapshot is abandoned -- and taken over by the next worker that launches the slot or
runs :func:`resume_abandoned` -- when its writer is known to be gone (its lease expired, or it
stopped) or, for writers the store knows nothing of, when its heartbeat is older than
:data:`SNAPSHOT_STALE_AFTER`. The takeover is a conditional UPDATE on the heartbeat it saw, so one
worker wins it.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.config import CampaignSettings
from campaigns.localtime import earliest_today
from campaigns.segments import next_window, segment_query
from dialer.config import DialerSettings
from dialer.faults import NO_FAULTS, Faults
from dialer.sqlutil import insert_select_ignoring_conflicts, rowcount
from store.clock import Clock
from store.db import Database
from store.models_dialer import CampaignRun, Contact
from store.planning import plan_by_index
from store.types import UTCDateTime

log = logging.getLogger(__name__)

# A snapshot whose worker has not moved its cursor for this long is taken over by the next
# launcher of the same slot (the first one died mid-launch).
SNAPSHOT_STALE_AFTER = timedelta(minutes=5)

#: The ids of the workers known to be gone (``dialer.worker.gone_workers``), as seen at ``now``.
GoneWorkers = Callable[[Session, datetime], set[str]]


def _nobody_gone(_session: Session, _now: datetime) -> set[str]:
    return set()


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
    gone: GoneWorkers = _nobody_gone,
    faults: Faults = NO_FAULTS,
) -> LaunchResult:
    """Create the run of ``campaign`` for slot ``key`` and snapshot its contacts.

    Returns ``created=False`` without touching anything when the slot was launched before (and
    its snapshot is finished or is being written by a live worker); ``resumed=True`` when this
    call took over an abandoned snapshot of the slot and finished it.
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
                snapshot_by=actor,
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
        # The slot's run exists: another worker (or an earlier firing) launched it.
        with db.session(readonly=True) as session:
            existing = session.scalar(
                select(CampaignRun.id).where(
                    CampaignRun.campaign == campaign.name, CampaignRun.slot_key == key
                )
            )
        if existing is None:  # pragma: no cover - the row that collided cannot vanish
            raise
        return resume_if_abandoned(
            db,
            campaign,
            existing,
            clock=clock,
            actor=actor,
            chunk=chunk,
            gone=gone,
            faults=faults,
        )
    log.info("campaign %s: launched run %s for slot %s (%s)", campaign.name, run_id, key, trigger)
    total = _snapshot(
        db, campaign, run_id, clock=clock, chunk=chunk, cursor=None, actor=actor, faults=faults
    )
    return LaunchResult(run_id=run_id, created=True, contacts=total)


def resume_if_abandoned(
    db: Database,
    campaign: CampaignSettings,
    run_id: int,
    *,
    clock: Clock,
    actor: str,
    chunk: int,
    gone: GoneWorkers = _nobody_gone,
    faults: Faults = NO_FAULTS,
) -> LaunchResult:
    """Finish run ``run_id``'s snapshot if its writer is gone (see the module docstring).

    Returns ``resumed=True`` when this call took it over, else the run untouched.
    """
    now = clock.now()
    with db.session() as session:
        run = session.get(CampaignRun, run_id)
        if run is None:
            return LaunchResult(run_id=run_id, created=False, contacts=0)
        cursor, total = run.snapshot_cursor, run.contacts_total
        heartbeat, writer = run.snapshot_heartbeat_at, run.snapshot_by
        if run.status != "snapshotting":
            return LaunchResult(run_id=run_id, created=False, contacts=total)
        stale = heartbeat is None or heartbeat <= now - SNAPSHOT_STALE_AFTER
        if not stale and not (writer is not None and writer in gone(session, now)):
            return LaunchResult(run_id=run_id, created=False, contacts=total)
        # Take the snapshot over only if nobody else did in the meantime.
        taken = rowcount(
            session.execute(
                update(CampaignRun)
                .where(
                    CampaignRun.id == run_id,
                    CampaignRun.status == "snapshotting",
                    CampaignRun.snapshot_heartbeat_at == heartbeat
                    if heartbeat is not None
                    else CampaignRun.snapshot_heartbeat_at.is_(None),
                )
                .values(snapshot_heartbeat_at=now, snapshot_by=actor)
            )
        )
        if taken != 1:
            return LaunchResult(run_id=run_id, created=False, contacts=total)
    log.warning(
        "campaign %s: %s resumes the abandoned snapshot of run %s (writer %s gone)",
        campaign.name,
        actor,
        run_id,
        writer or "unknown",
    )
    total = _snapshot(
        db, campaign, run_id, clock=clock, chunk=chunk, cursor=cursor, actor=actor, faults=faults
    )
    return LaunchResult(run_id=run_id, created=False, contacts=total, resumed=True)


class Launcher:
    """Launches the runs of ``campaigns``: the schedule's slots, manual runs, and the snapshots
    abandoned mid-launch.

    The dialer worker holds one (its scheduled jobs, catch-up and reconcile job call it) and
    ``campaign run`` builds one of its own: both launch through the same code. It needs only the
    store, so launching works without Twilio credentials.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        settings: DialerSettings,
        campaigns: Iterable[CampaignSettings],
        actor: str,
        gone: GoneWorkers = _nobody_gone,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.campaigns = {c.name: c for c in campaigns}
        #: Who launches the scheduled slots and takes abandoned snapshots over (a worker's id).
        self.actor = actor
        self.gone = gone
        self.faults = faults

    @property
    def chunk(self) -> int:
        """Accounts per snapshot transaction: ``dialer.snapshot_chunk``, else the engine's."""
        return self.settings.snapshot_chunk or default_snapshot_chunk(self.db)

    def launch_scheduled(self, name: str, now: datetime | None = None) -> LaunchResult | None:
        """Launch ``name``'s latest slot within the grace period (None when there is none)."""
        campaign = self.campaigns[name]
        now = now or self.clock.now()
        fire = latest_fire_time(
            campaign, now, timedelta(seconds=self.settings.launch_grace_seconds)
        )
        if fire is None or not campaign.active:
            return None
        return launch(
            self.db,
            campaign,
            slot_at=fire,
            key=slot_key(fire, campaign.schedule.zone()),
            trigger="schedule",
            clock=self.clock,
            actor=self.actor,
            chunk=self.chunk,
            gone=self.gone,
            faults=self.faults,
        )

    def launch_now(self, name: str, actor: str) -> LaunchResult:
        """``campaign run NAME --now``: a run of its own slot, due at once."""
        campaign = self.campaigns[name]
        now = self.clock.now()
        return launch(
            self.db,
            campaign,
            slot_at=now,
            key=manual_slot_key(now),
            trigger="manual",
            clock=self.clock,
            actor=actor,
            chunk=self.chunk,
            gone=self.gone,
            faults=self.faults,
        )

    def resume_snapshots(self) -> list[LaunchResult]:
        """Finish the snapshots whose writer is gone (it died mid-launch)."""
        results = []
        for name, run_id in snapshotting_runs(self.db, list(self.campaigns)):
            result = resume_if_abandoned(
                self.db,
                self.campaigns[name],
                run_id,
                clock=self.clock,
                actor=self.actor,
                chunk=self.chunk,
                gone=self.gone,
                faults=self.faults,
            )
            if result.resumed:
                results.append(result)
        return results


#: Accounts per snapshot transaction by engine (``dialer.snapshot_chunk`` unset). On SQLite a
#: chunk holds the database's only write lock, so a webhook may wait for it: 1,000 accounts is
#: about 20 ms. On PostgreSQL a chunk locks only its run row and the rows it adds; each chunk
#: costs a handful of round trips and a commit, and 5,000 launched a million accounts in about
#: 60% of the time 1,000 took (``python -m bench launch``, README "The numbers").
SNAPSHOT_CHUNK = {"sqlite": 1_000, "postgresql": 5_000}


def default_snapshot_chunk(db: Database) -> int:
    """The engine's accounts per snapshot transaction (:data:`SNAPSHOT_CHUNK`)."""
    return SNAPSHOT_CHUNK.get(db.engine.dialect.name, 1_000)


def snapshotting_runs(db: Database, campaigns: Sequence[str]) -> list[tuple[str, int]]:
    """(campaign, run id) of every run of ``campaigns`` whose snapshot is not finished."""
    if not campaigns:
        return []
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(CampaignRun.campaign, CampaignRun.id).where(
                CampaignRun.status == "snapshotting", CampaignRun.campaign.in_(campaigns)
            )
        ).all()
    return [(name, run_id) for name, run_id in rows]


def _snapshot(
    db: Database,
    campaign: CampaignSettings,
    run_id: int,
    *,
    clock: Clock,
    chunk: int,
    cursor: str | None,
    actor: str,
    faults: Faults,
) -> int:
    """Copy the segment into contacts, a window of ``chunk`` accounts (in account_id order, in the
    segment or not) per transaction; returns the total.

    Stops (returning the total so far) when the run is no longer snapshotting or another worker
    has become its writer.
    """
    while True:
        now = clock.now()
        with db.session() as session:
            # The row lock makes "am I still the writer?" and the chunk one step.
            run = session.get(CampaignRun, run_id, with_for_update=True)
            if run is None or run.status != "snapshotting":
                return run.contacts_total if run else 0
            if run.snapshot_by is not None and run.snapshot_by != actor:
                log.warning(
                    "campaign %s: run %s's snapshot was taken over by %s; %s stops",
                    campaign.name,
                    run_id,
                    run.snapshot_by,
                    actor,
                )
                return run.contacts_total
            cursor = run.snapshot_cursor
            plan_by_index(session)
            window = next_window(session, after=cursor, size=chunk)
            # Per-account zones are not read in bulk: "broken in the last N days" counts back
            # from the earliest date on Earth, so no cardholder's recent break is left out.
            members = segment_query(
                campaign.segment,
                today=earliest_today(now),
                after=cursor,
                through=window.through,
            )
            # The window's members go from the segment query into contacts inside the database:
            # no row travels through Python, so a chunk costs one statement however many it
            # holds.
            added = insert_select_ignoring_conflicts(
                session,
                Contact,
                members.with_only_columns(
                    literal(run_id),
                    literal(campaign.name),
                    *members.selected_columns,
                    literal(campaign.first_channel),
                    literal(campaign.priority),
                    literal("pending"),
                    literal(run.slot_at if run.trigger != "manual" else now, UTCDateTime),
                    literal(0),
                    literal(now, UTCDateTime),
                    literal(now, UTCDateTime),
                ),
                [
                    *("run_id", "campaign", "account_id", "customer_id", "language", "number"),
                    *("channel", "priority", "state", "next_attempt_at", "attempts_made"),
                    *("created_at", "updated_at"),
                ],
                ["run_id", "account_id"],
            )
            if window.end is not None:
                run.snapshot_cursor = window.end
            run.contacts_total += added
            run.snapshot_heartbeat_at = now
            if not window.full:
                run.status = "active"
                run.snapshot_done_at = now
                log.info(
                    "campaign %s: run %s snapshotted %d contacts",
                    campaign.name,
                    run_id,
                    run.contacts_total,
                )
                return run.contacts_total
        faults.hit("mid_launch")
