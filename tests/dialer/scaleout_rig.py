"""Real `duecall dialer` processes against one store, the simulator and the app in this process.

The simulator's REST API listens on 127.0.0.1 (an ephemeral port); the workers reach it through
``DUECALL_TWILIO_API_URL``. Its calls play in threads (``time_scale`` small) and their webhooks
go through a WsgiTransport to the Router of :mod:`tests.dialer.dialer_rig` -- the real app for the
status callbacks and the IVR for the answered call -- so every callback lands in the same
store the workers use.

The workers run on the real clock, so the accounts live in whichever zone has its afternoon now
(:func:`afternoon_zone`): the calling window is open whenever the suite runs.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from duecall.app import create_app
from simulator import Persona, Simulator, WsgiTransport, create_simulator, parse_key_script
from store.clock import SystemClock
from store.db import Database
from store.migrate import upgrade
from store.models import Attempt
from store.models_dialer import CampaignRun, Contact, DialerWorkerLease
from tests import factories
from tests.dialer.dialer_rig import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    PUBLIC_URL,
    Router,
    settings_for,
    voice_campaign,
)

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "scale"
#: (zone, number for index i): one zone per part of the day, numbers libphonenumber puts there.
ZONES: tuple[tuple[str, Callable[[int], str]], ...] = (
    ("America/New_York", lambda i: f"+1212555{i:04d}"),
    ("America/Los_Angeles", lambda i: f"+1415555{i:04d}"),
    ("Europe/London", lambda i: f"+4420794{i:05d}"),
    ("Asia/Shanghai", lambda i: f"+86216{i:07d}"),
)


def afternoon_zone(now: datetime) -> tuple[str, Callable[[int], str]]:
    """The zone whose local time is nearest 14:00 now (always inside 08:00-20:50)."""

    def distance(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        hours = local.hour + local.minute / 60
        return abs(hours - 14)

    return min(ZONES, key=lambda z: distance(z[0]))


def seed_accounts(db: Database, numbers: list[str], zone: str, *, prefix: str = "S") -> list[str]:
    """One open, 45-days-past-due account per number, in one transaction. Accounts that share
    a number are one person's cards (one customer): the per-number caps count per debtor."""
    now = datetime.now(UTC)
    ids = [f"{prefix}{i:05d}" for i in range(len(numbers))]
    owner: dict[str, str] = {}
    with db.session() as s:
        for account_id, number in zip(ids, numbers, strict=True):
            s.add(
                factories.account(
                    account_id,
                    customer_id=owner.setdefault(number, account_id),
                    now=now,
                    timezone=zone,
                    balance="500.00",
                    minimum_due="35.00",
                    due_date=date(2026, 10, 1),
                    days_past_due=45,
                    balance_as_of=now.date(),
                )
            )
        s.flush()
        for account_id, number in zip(ids, numbers, strict=True):
            s.add(factories.phone(account_id, number, now=now))
    return ids


def dialer_config(
    *, dialer: dict[str, Any], policy: dict[str, Any] | None = None, now: datetime
) -> dict[str, Any]:
    """config.yaml for the workers: one campaign whose daily UTC slot was a minute ago (so each
    worker's catch-up fires the same slot at start), fast pacing and short timeouts."""
    slot = now - timedelta(minutes=1)
    campaign = voice_campaign(
        name=CAMPAIGN,
        segment={"dpd_min": 30, "dpd_max": 89, "languages": ["en-US"]},
        schedule={"cron": f"{slot.minute} {slot.hour} * * *", "timezone": "UTC"},
    )
    return {
        "server": {"public_url": PUBLIC_URL},
        "twilio": {"caller_id": CALLER_ID},
        "logging": {"level": "INFO"},
        "campaigns": [campaign],
        "dialer": {
            "tick_seconds": 0.5,
            "reconcile_interval_seconds": 1,
            "reconcile_after_minutes": 1,
            "claim_timeout_seconds": 10,
            "transient_retry_seconds": 1,
            "outbox_interval_seconds": 1,
            **dialer,
        },
        # Every number under the one profile a test names, wherever afternoon_zone put it:
        # the shipped by_country would put a Shanghai afternoon (from 02:00 UTC) under China's
        # guideline, whose caps are not the ones the test counts.
        "policy": {"profile": "us_reg_f", "by_country": {}, **(policy or {})},
    }


@dataclass
class Carrier:
    """The simulator (REST over a socket, calls in threads) and the app taking the callbacks."""

    db: Database
    sim: Simulator
    url: str
    server: BaseWSGIServer

    def calls_by_number(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for call in list(self.sim.calls.values()):
            counts[call.to] += 1
        return dict(counts)


def start_carrier(db: Database, config: dict[str, Any]) -> Iterator[Carrier]:
    """Yield the carrier for ``config``'s campaigns; its socket is closed afterwards."""
    settings = settings_for(config["campaigns"], config["dialer"])
    clock = SystemClock()
    router = Router(None)
    # Every callee is a person who answers and hangs up at the first question: the production
    # IVR serves the call (hold, AMD verdict, redirect, right-party question) in a few requests,
    # so the test process that answers every webhook keeps up with four workers.
    brief = Persona(answered_by="human", keys=parse_key_script("hangup"))
    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        personas={"default": brief},
        transport=WsgiTransport(router),
        threaded=True,
        time_scale=0.01,
    )
    # A line per request at INFO would cost the test process more than the calls themselves.
    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, sim.wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    settings = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"api_url": url})}
    )
    router.app = create_app(settings, db=db, clock=clock)
    try:
        yield Carrier(db, sim, url, server)
    finally:
        server.shutdown()
        sim.wait_until_idle(timeout=10)
        quiet.setLevel(level)


@dataclass
class Workers:
    """`duecall dialer` subprocesses; every one is stopped (SIGTERM, then SIGKILL) at the end."""

    db_url: str
    api_url: str
    config_path: Path
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUECALL_")}
        env.update(
            {
                "DUECALL_DATABASE_URL": self.db_url,
                "DUECALL_TWILIO_API_URL": self.api_url,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "DUECALL_SECRET_KEY": "s" * 32,
                "PYTHONPATH": str(ROOT),
                **extra,
            }
        )
        return env

    def start(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "duecall",
                "--config",
                str(self.config_path),
                "dialer",
                "--worker-id",
                name,
            ],
            cwd=ROOT,
            env=self.env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self, timeout: float = 15) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                codes[name] = None
        return codes


def start_workers(
    db_url: str, api_url: str, config: dict[str, Any], tmp_path: Path
) -> Iterator[Workers]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    workers = Workers(db_url, api_url, path, tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()


def migrated(url: str) -> Database:
    db = Database(url)
    upgrade(db)
    return db


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a single event (a worker registering): ``timeout`` is how long it may take."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def wait_for_progress(
    done: Callable[[], bool],
    progress: Callable[[], object],
    *,
    stall: float,
    what: str,
) -> None:
    """Wait until ``done()``, for as long as ``progress()`` keeps changing.

    A busy machine (a second test run beside this one) makes the work slower, not wrong: only
    ``stall`` seconds without any change fail, and the failure says how far things got.
    """
    last = progress()
    moved = time.monotonic()
    while not done():
        time.sleep(0.25)
        now = progress()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(
                f"no progress for {stall:g}s waiting for {what}; got as far as {last}"
            )


@dataclass(frozen=True)
class Progress:
    """How far a campaign got: contacts done and busy, attempts recorded and still open."""

    done: int
    busy: int
    attempts: int
    open_attempts: int


def progress(db: Database) -> Progress:
    with db.session(readonly=True) as s:
        done = s.scalar(select(func.count()).select_from(Contact).where(Contact.state == "done"))
        busy = s.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.state.in_(("dialing", "waiting")))
        )
        attempts = s.scalar(select(func.count()).select_from(Attempt))
        open_attempts = s.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.final.is_(False))
        )
    return Progress(done or 0, busy or 0, attempts or 0, open_attempts or 0)


def settled(db: Database, expected_done: int) -> bool:
    """``expected_done`` contacts done, no attempt open, nothing claimed or waiting."""
    now = progress(db)
    return now.done == expected_done and now.busy == 0 and now.open_attempts == 0


def wait_until_settled(db: Database, expected_done: int, *, stall: float = 60) -> None:
    """Wait for every contact to be done, failing only when nothing moves for ``stall``."""
    wait_for_progress(
        lambda: settled(db, expected_done),
        lambda: progress(db),
        stall=stall,
        what=f"{expected_done} contacts to be done",
    )


@dataclass
class Stored:
    attempts: list[Attempt]
    contacts: list[Contact]
    runs: list[CampaignRun]
    workers: list[DialerWorkerLease]


def stored(db: Database) -> Stored:
    with db.session(readonly=True) as s:
        result = Stored(
            attempts=list(s.scalars(select(Attempt).order_by(Attempt.created_at))),
            contacts=list(s.scalars(select(Contact).order_by(Contact.id))),
            runs=list(s.scalars(select(CampaignRun))),
            workers=list(s.scalars(select(DialerWorkerLease))),
        )
        s.expunge_all()
    return result


# --- the independent checks: naive code over the stored rows -------------------------------------


def window_violations(attempts: list[Attempt], zone: str) -> list[str]:
    """Calls outside 08:00-20:50 local (Reg F's 08:00-21:00 less the 10-minute margin)."""
    found = []
    for a in attempts:
        t = a.created_at.astimezone(ZoneInfo(zone)).time()
        if not dtime(8) <= t < dtime(20, 50):
            found.append(f"window: attempt {a.id} at {t} in {zone}")
    return found


def pace_violations(attempts: list[Attempt], cps: float, span: float = 2.0) -> list[str]:
    """More calls recorded in any ``span`` seconds than the budget allows.

    Each call waits for its own slot of the shared budget (slots 1/cps apart) before it is
    recorded, and may be recorded a little after its slot (a lock wait, a busy CPU), never
    before. So ``span`` seconds hold at most the slots of ``span`` plus one second of lateness.
    """
    times = sorted(a.created_at for a in attempts if a.channel == "voice")
    limit = cps * (span + 1) + 1
    found = []
    j = 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + timedelta(seconds=span):
            j += 1
        if j - i > limit:
            found.append(f"pace: {j - i} calls in {span}s from {start} (limit {limit:g})")
    return found


def open_calls(attempts: list[Attempt]) -> list[tuple[int, int]]:
    """(attempt id, calls open when it was recorded, itself included), by a sweep over the
    recording and ending instants: an ending at the same instant as a recording comes first."""
    events: list[tuple[datetime, int, int]] = []
    for a in attempts:
        if a.channel != "voice":
            continue
        events.append((a.created_at, 1, a.id))
        if a.ended_at is not None:
            events.append((a.ended_at, 0, a.id))
    events.sort()
    now_open = 0
    seen = []
    for _at, kind, attempt_id in events:
        now_open += 1 if kind else -1
        if kind:
            seen.append((attempt_id, now_open))
    return seen


def concurrency_violations(attempts: list[Attempt], maximum: int) -> list[str]:
    """More calls open (recorded, not ended) at any recording than the maximum."""
    return [
        f"concurrency: {count} open at attempt {attempt_id}"
        for attempt_id, count in open_calls(attempts)
        if count > maximum
    ]
