"""``duecall dialer``: one APScheduler 3 process running the dialer's jobs.

Jobs (memory job store, built from the configuration at start; explicit ids):

- ``launch:<campaign>`` -- the campaign's cron in its zone. ``coalesce`` so a backlog of missed
  fires becomes one launch, ``misfire_grace_time = dialer.launch_grace_seconds`` so a late fire
  still launches, ``max_instances=1``. The job names its slot from the trigger's own fire time
  (:func:`dialer.launch.latest_fire_time`) and the store's unique slot makes it run once.
- ``catch-up`` -- once at start: a slot missed while no worker ran (within the grace) launches now.
- ``dispatch`` -- every ``tick_seconds``; ``coalesce`` and a one-tick grace: a late tick is just
  the next tick, never a burst of them.
- ``reconcile`` and ``outbox`` -- on their intervals, likewise coalesced.

``stop()`` (SIGTERM, SIGINT) sets an event every wait in the jobs watches, so a tick gives its
claims back between calls instead of finishing the minute; then the scheduler shuts down waiting
for running jobs.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from campaigns.config import CampaignSettings
from dialer.callbacks import Settling
from dialer.config import DialerSettings
from dialer.dispatch import Dispatcher, Wait
from dialer.launch import LaunchResult, latest_fire_time, launch, manual_slot_key, slot_key
from dialer.messages import Sender
from dialer.outbox import Outbox
from dialer.policy import PolicyProfile
from dialer.reconcile import Reconciler
from dialer.telephony import Telephony
from store.clock import Clock
from store.db import Database

log = logging.getLogger(__name__)


class DialerWorker:
    """The dialer's jobs, callable directly (tests, ``campaign run``) or by the scheduler."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        campaigns: Sequence[CampaignSettings],
        profile: PolicyProfile,
        sender: Sender,
        worker_id: str,
        wait: Wait | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.campaigns = {c.name: c for c in campaigns}
        self.worker_id = worker_id
        self.stopping = threading.Event()
        self.wait: Wait = wait or self._wait
        self.settling = Settling(
            self.campaigns, timedelta(seconds=settings.transient_retry_seconds)
        )
        self.dispatcher = Dispatcher(
            db,
            telephony,
            clock,
            settings=settings,
            campaigns=campaigns,
            profile=profile,
            sender=sender,
            worker_id=worker_id,
            wait=self.wait,
        )
        self.reconciler = Reconciler(
            db, telephony, clock, settings=settings, settling=self.settling
        )
        self.outbox = Outbox(
            db, telephony, clock, settings=settings, profile=profile, wait=self.wait
        )
        self.scheduler: BackgroundScheduler | None = None

    def _wait(self, seconds: float) -> bool:
        """Sleep without spinning; False when the worker is stopping."""
        return not self.stopping.wait(max(0.0, seconds))

    # --- jobs ---------------------------------------------------------------------------------

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
            actor=self.worker_id,
            chunk=self.settings.snapshot_chunk,
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
            chunk=self.settings.snapshot_chunk,
        )

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
        scheduler.add_job(
            self._guarded("reconcile", self.reconciler.run),
            trigger=IntervalTrigger(seconds=s.reconcile_interval_seconds),
            id="reconcile",
            name="reconcile",
            misfire_grace_time=s.reconcile_interval_seconds,
        )
        scheduler.add_job(
            self._guarded("outbox", self.outbox.run),
            trigger=IntervalTrigger(seconds=s.outbox_interval_seconds),
            id="outbox",
            name="outbox",
            misfire_grace_time=max(1, int(s.outbox_interval_seconds)),
        )
        return scheduler

    def start(self) -> None:
        # APScheduler logs every run of every job at INFO: once a second for the dispatch tick.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
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
        log.info("dialer %s stopped", self.worker_id)
