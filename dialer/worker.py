"""``duecall dialer``: one APScheduler 3 process running the dialer's jobs.

Jobs (memory job store, built from the configuration at start; explicit ids):

- ``launch:<campaign>`` -- the campaign's cron in its zone. ``coalesce`` so a backlog of missed
  fires becomes one launch, ``misfire_grace_time = dialer.launch_grace_seconds`` so a late fire
  still launches, ``max_instances=1``. The job names its slot from the trigger's own fire time
  (:func:`dialer.launch.latest_fire_time`) and the store's unique slot makes it run once.
- ``catch-up`` -- once at start: a slot missed while no worker ran (within the grace) launches now.
- ``dispatch`` -- every ``tick_seconds``; ``coalesce`` and a one-tick grace: a late tick is just
  the next tick, never a burst of them.
- ``reconcile`` and ``outbox`` -- on their intervals, likewise coalesced. The reconcile job also
  finishes the snapshots of runs whose writer is gone.
- ``heartbeat`` -- renews this worker's lease (a row of ``dialer_workers``) three times per lease.
- ``carrier-probe`` -- every ``autopause.probe_interval_seconds``: while a storm of refused
  requests has every campaign paused, one cheap request to Twilio; an answer resumes them
  (:mod:`dialer.carrier`).

The lease (:class:`WorkerLease`) is how the workers sharing a store know who is alive. It lasts
``dialer.claim_timeout_seconds`` -- the time after which a worker's claims were always presumed
abandoned -- and is renewed by the heartbeat and by every attempt the worker records (in the same
transaction, so a worker whose lease ran out records nothing more). On SQLite only one worker may
run (SQLite takes one writer at a time, and the claim relies on that): a second one finds the
first's live lease at registration and refuses to start (:class:`SingleWorkerError`). On
PostgreSQL any number register side by side.

``stop()`` (SIGTERM, SIGINT) sets an event every wait in the jobs watches, so a tick gives its
claims back between calls instead of finishing the minute; then the scheduler shuts down waiting
for running jobs.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from campaigns.config import CampaignSettings
from dialer.attempts import Settling
from dialer.carrier import CarrierProbe
from dialer.config import DialerSettings
from dialer.dispatch import Dispatcher, Wait
from dialer.faults import NO_FAULTS, Faults
from dialer.launch import Launcher, LaunchResult
from dialer.messages import Sender
from dialer.outbox import Outbox
from dialer.profiles import PolicyBook
from dialer.reconcile import Reconciler
from dialer.reminders import PaymentReminders
from dialer.sqlutil import rowcount
from store.clock import Clock
from store.db import Database
from store.models_dialer import DialerWorkerLease
from telephony.port import Telephony

log = logging.getLogger(__name__)

#: A worker row whose heartbeat is this old is deleted when a worker registers.
FORGET_WORKERS_AFTER = timedelta(days=7)
#: How often payment reminders are looked for: their days are the cardholders' local days, and
#: the outbox holds each until the calling window opens, so a quarter of an hour is plenty.
REMINDERS_INTERVAL_SECONDS = 900


class SingleWorkerError(Exception):
    """Raised by :meth:`WorkerLease.register` when the worker may not start: another live
    worker already uses this SQLite store (SQLite supports one), or this worker id."""


def _pid_dead(host: str, pid: int) -> bool:
    """True when ``pid`` on ``host`` is known not to run: only this host's pids can be asked."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _alive(row: DialerWorkerLease, now: datetime, ttl: timedelta) -> bool:
    return (
        row.stopped_at is None and row.heartbeat_at > now - ttl and not _pid_dead(row.host, row.pid)
    )


def live_workers(session: Session, now: datetime, ttl: timedelta) -> list[DialerWorkerLease]:
    """The registered workers whose lease is current, oldest first."""
    rows = session.scalars(
        select(DialerWorkerLease)
        .where(DialerWorkerLease.stopped_at.is_(None), DialerWorkerLease.heartbeat_at > now - ttl)
        .order_by(DialerWorkerLease.started_at)
    ).all()
    return [row for row in rows if _alive(row, now, ttl)]


def gone_workers(session: Session, now: datetime, ttl: timedelta) -> set[str]:
    """The ids of registered workers known to be gone: stopped, lease expired, or (on this
    host) dead pid. A worker the store never heard of is not in it: nothing is known of it."""
    rows = session.execute(
        select(
            DialerWorkerLease.worker_id,
            DialerWorkerLease.host,
            DialerWorkerLease.pid,
            DialerWorkerLease.stopped_at,
            DialerWorkerLease.heartbeat_at,
        )
    ).all()
    return {
        worker_id
        for worker_id, host, pid, stopped_at, heartbeat_at in rows
        if stopped_at is not None or heartbeat_at <= now - ttl or _pid_dead(host, pid)
    }


class WorkerLease:
    """This worker's row in ``dialer_workers``: registered at start, renewed, released at stop."""

    def __init__(self, db: Database, clock: Clock, worker_id: str, *, ttl: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.worker_id = worker_id
        self.ttl = ttl
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def register(self) -> None:
        """Write (or rewrite) this worker's row, live from now.

        Raises SingleWorkerError when the store is SQLite and another worker is live on it, or
        when a live worker already has this id. On SQLite the check and the write are one
        ``BEGIN IMMEDIATE`` transaction, so two workers starting at once cannot both pass.
        """
        now = self.clock.now()
        with self.db.session() as session:
            # Long-dead workers' rows go: nothing they left can still be unresolved.
            session.execute(
                delete(DialerWorkerLease).where(
                    DialerWorkerLease.heartbeat_at < now - FORGET_WORKERS_AFTER
                )
            )
            live = live_workers(session, now, self.ttl)
            same = [w for w in live if w.worker_id == self.worker_id]
            if same and (same[0].host, same[0].pid) != (self.host, self.pid):
                raise SingleWorkerError(
                    f"worker id {self.worker_id!r} is in use by pid {same[0].pid} on "
                    f"{same[0].host}; give this worker another --worker-id"
                )
            others = [w for w in live if w.worker_id != self.worker_id]
            if others and self.db.is_sqlite:
                first = others[0]
                raise SingleWorkerError(
                    f"another dialer worker ({first.worker_id}, pid {first.pid} on "
                    f"{first.host}, heartbeat {first.heartbeat_at:%H:%M:%S} UTC) is running on "
                    "this SQLite database. SQLite supports one dialer worker: stop the other "
                    "one, or move the store to PostgreSQL (DUECALL_DATABASE_URL) to run several."
                )
            row = session.get(DialerWorkerLease, self.worker_id, with_for_update=True)
            if row is None:
                row = DialerWorkerLease(worker_id=self.worker_id, claimed=0, placed=0)
                session.add(row)
            row.host, row.pid, row.engine = self.host, self.pid, self.db.engine.dialect.name
            row.started_at = row.heartbeat_at = now
            row.stopped_at = None
        log.info("dialer %s registered (lease %ds)", self.worker_id, self.ttl.total_seconds())

    def hold(self, session: Session, now: datetime) -> bool:
        """Renew the lease inside ``session``'s transaction; False when it had run out (the
        others may already treat this worker as dead) or the row was marked stopped."""
        return (
            rowcount(
                session.execute(
                    update(DialerWorkerLease)
                    .where(
                        DialerWorkerLease.worker_id == self.worker_id,
                        DialerWorkerLease.stopped_at.is_(None),
                        DialerWorkerLease.heartbeat_at > now - self.ttl,
                    )
                    .values(heartbeat_at=now)
                )
            )
            == 1
        )

    def renew(self) -> bool:
        """The heartbeat: :meth:`hold` in a transaction of its own."""
        with self.db.session() as session:
            return self.hold(session, self.clock.now())

    def release(self) -> None:
        """Mark this worker stopped: the others need not wait for the lease to run out."""
        with self.db.session() as session:
            session.execute(
                update(DialerWorkerLease)
                .where(DialerWorkerLease.worker_id == self.worker_id)
                .values(stopped_at=self.clock.now())
            )


class DialerWorker:
    """The dialer's jobs, callable directly (tests, the demo) or by the scheduler."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        campaigns: Sequence[CampaignSettings],
        policy: PolicyBook,
        sender: Sender,
        worker_id: str,
        wait: Wait | None = None,
        faults: Faults = NO_FAULTS,
        reminders: PaymentReminders | None = None,
    ) -> None:
        self.db = db
        #: The payment reminders job (None: not run by this worker).
        self.reminders = reminders
        self.clock = clock
        self.settings = settings
        self.campaigns = {c.name: c for c in campaigns}
        self.worker_id = worker_id
        self.faults = faults
        self.lease_ttl = timedelta(seconds=settings.claim_timeout_seconds)
        self.lease: WorkerLease | None = None
        #: Set when the worker stopped by itself (its lease was lost); the CLI exits then.
        self.failed = threading.Event()
        self.stopping = threading.Event()
        self.wait: Wait = wait or self._wait
        self.settling = Settling.of(settings, campaigns)
        self.dispatcher = Dispatcher(
            db,
            telephony,
            clock,
            settings=settings,
            campaigns=campaigns,
            policy=policy,
            sender=sender,
            worker_id=worker_id,
            wait=self.wait,
            faults=faults,
        )
        self.reconciler = Reconciler(
            db, telephony, clock, settings=settings, settling=self.settling, gone=self._gone
        )
        self.outbox = Outbox(db, telephony, clock, settings=settings, policy=policy, wait=self.wait)
        self.carrier = CarrierProbe(db, telephony, clock, settings=settings, worker_id=worker_id)
        self.launcher = Launcher(
            db,
            clock,
            settings=settings,
            campaigns=campaigns,
            actor=worker_id,
            gone=self._gone,
            faults=faults,
        )
        self.scheduler: BackgroundScheduler | None = None
        #: Jobs the composition root adds for packages the dialer does not know (the desk's
        #: live transfer): (name, job, every so many seconds).
        self.extra_jobs: list[tuple[str, Callable[[], object], float]] = []

    def add_job(self, name: str, job: Callable[[], object], *, every_seconds: float) -> None:
        """Run ``job`` every ``every_seconds`` with the worker's own jobs (before start)."""
        self.extra_jobs.append((name, job, every_seconds))

    def _wait(self, seconds: float) -> bool:
        """Sleep without spinning; False when the worker is stopping."""
        return not self.stopping.wait(max(0.0, seconds))

    def _gone(self, session: Session, now: datetime) -> set[str]:
        return gone_workers(session, now, self.lease_ttl)

    # --- jobs ---------------------------------------------------------------------------------

    def launch_scheduled(self, name: str, now: datetime | None = None) -> LaunchResult | None:
        """Launch ``name``'s latest slot within the grace period (None when there is none)."""
        return self.launcher.launch_scheduled(name, now)

    def launch_now(self, name: str, actor: str) -> LaunchResult:
        """A run of ``name``'s own slot, due at once (what ``campaign run NAME --now`` does)."""
        return self.launcher.launch_now(name, actor)

    def resume_snapshots(self) -> list[LaunchResult]:
        """Finish the snapshots whose writer is gone (it died mid-launch)."""
        return self.launcher.resume_snapshots()

    def reconcile(self) -> None:
        """The reconcile job: abandoned snapshots, then claims and attempts."""
        self.resume_snapshots()
        self.reconciler.run()

    def heartbeat(self) -> None:
        """Renew the lease; a lease found lost stops the worker (the others may already be
        resolving its attempts, so it must dial nothing more)."""
        if self.lease is None or self.lease.renew():
            return
        log.critical(
            "dialer %s: lease lost (no heartbeat for %ds); stopping",
            self.worker_id,
            self.lease_ttl.total_seconds(),
        )
        self.failed.set()
        self.stopping.set()

    def catch_up(self) -> list[LaunchResult]:
        """At start: launch each active campaign's slot missed within the grace period."""
        results = []
        for name, campaign in self.campaigns.items():
            if campaign.active:
                result = self.launch_scheduled(name)
                if result is not None and (result.created or result.resumed):
                    log.warning("catch-up: launched %s slot missed while stopped", name)
                    results.append(result)
        return results

    def _guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if self.stopping.is_set():
                return
            try:
                job()
            except Exception:
                # Logged, not raised: APScheduler would only log it less clearly, and the
                # next firing tries again.
                log.exception("job %s failed", name)

        return run

    # --- the scheduler ------------------------------------------------------------------------

    def build_scheduler(self) -> BackgroundScheduler:
        """The scheduler with every job; not started."""
        s = self.settings
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(s.worker_threads)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        for name, campaign in self.campaigns.items():
            if not campaign.active:
                continue
            scheduler.add_job(
                self._guarded(f"launch:{name}", functools.partial(self.launch_scheduled, name)),
                trigger=campaign.schedule.trigger(),
                id=f"launch:{name}",
                name=f"launch {name}",
                misfire_grace_time=s.launch_grace_seconds,
            )
        scheduler.add_job(
            self._guarded("catch-up", self.catch_up),
            trigger=DateTrigger(),
            id="catch-up",
            name="catch-up",
            misfire_grace_time=s.launch_grace_seconds,
        )
        scheduler.add_job(
            self._guarded("dispatch", self.dispatcher.tick),
            trigger=IntervalTrigger(seconds=s.tick_seconds),
            id="dispatch",
            name="dispatch",
            misfire_grace_time=max(1, int(s.tick_seconds)),
        )
        if self.lease is not None:
            scheduler.add_job(
                self._guarded("heartbeat", self.heartbeat),
                trigger=IntervalTrigger(seconds=max(1.0, self.lease_ttl.total_seconds() / 3)),
                id="heartbeat",
                name="heartbeat",
                misfire_grace_time=max(1, int(self.lease_ttl.total_seconds() / 3)),
            )
        scheduler.add_job(
            self._guarded("reconcile", self.reconcile),
            trigger=IntervalTrigger(seconds=s.reconcile_interval_seconds),
            id="reconcile",
            name="reconcile",
            misfire_grace_time=s.reconcile_interval_seconds,
        )
        scheduler.add_job(
            self._guarded("carrier-probe", self.carrier.run),
            trigger=IntervalTrigger(seconds=s.autopause.probe_interval_seconds),
            id="carrier-probe",
            name="carrier probe",
            misfire_grace_time=max(1, int(s.autopause.probe_interval_seconds)),
        )
        if self.reminders is not None:
            scheduler.add_job(
                self._guarded("reminders", self.reminders.run),
                trigger=IntervalTrigger(seconds=REMINDERS_INTERVAL_SECONDS),
                id="reminders",
                name="payment reminders",
                misfire_grace_time=REMINDERS_INTERVAL_SECONDS,
            )
        scheduler.add_job(
            self._guarded("outbox", self.outbox.run),
            trigger=IntervalTrigger(seconds=s.outbox_interval_seconds),
            id="outbox",
            name="outbox",
            misfire_grace_time=max(1, int(s.outbox_interval_seconds)),
        )
        for name, job, every in self.extra_jobs:
            scheduler.add_job(
                self._guarded(name, job),
                trigger=IntervalTrigger(seconds=every),
                id=name,
                name=name,
                misfire_grace_time=max(1, int(every)),
            )
        return scheduler

    def register(self) -> None:
        """Take this worker's lease (raises SingleWorkerError, see :class:`WorkerLease`)."""
        lease = WorkerLease(self.db, self.clock, self.worker_id, ttl=self.lease_ttl)
        lease.register()
        self.lease = lease
        self.dispatcher.lease = lease

    def start(self) -> None:
        """Register (raises SingleWorkerError) and start the scheduler."""
        # APScheduler logs every run of every job at INFO: once a second for the dispatch tick.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        if self.lease is None:
            self.register()
        self.scheduler = self.build_scheduler()
        self.scheduler.start()
        log.info(
            "dialer %s started: %s",
            self.worker_id,
            ", ".join(job.id for job in self.scheduler.get_jobs()),
        )

    def stop(self) -> None:
        """Stop taking work, let running jobs give their claims back, then shut down."""
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.dispatcher.close()
        if self.lease is not None:
            self.lease.release()
        log.info("dialer %s stopped", self.worker_id)
