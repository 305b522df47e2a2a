"""A campaign rig for the dialer's tests: accounts in a real store, the app (create_app) and the
simulator wired together, the Twilio adapter reaching the simulator over a real socket.

Every webhook the simulator sends goes to the real app, as in production: an answered reminder
call holds silently in the IVR until the asynchronous AMD verdict (received, deduplicated and
recorded on the attempt by the production route) redirects it; a person then hears the
right-party question, a machine the limited-content message. What these tests pin is the
dialer's job (attempts, statuses, retries, caps, pacing, SMS fallback) through the same routes
Twilio reaches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from dialer.worker import DialerWorker
from duecall.app import create_app
from duecall.settings import Settings
from duecall.wiring import build_worker
from simulator import Persona, Simulator, WsgiTransport, create_simulator
from store.clock import Clock, FixedClock
from store.db import Database
from store.models import Attempt
from store.models_dialer import Contact
from telephony.twilio_adapter import TwilioAdapter
from tests import factories

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "dialer-test-token"
PUBLIC_URL = "https://duecall.example.test"
CALLER_ID = "+18005550199"


def settings_for(
    campaigns: Iterable[dict[str, Any]], dialer: dict[str, Any] | None = None
) -> Settings:
    """Settings with these campaigns, the test secrets and fast pacing unless overridden."""
    return Settings.model_validate(
        {
            "server": {"public_url": PUBLIC_URL},
            "twilio": {"caller_id": CALLER_ID},
            "campaigns": list(campaigns),
            "dialer": {
                "calls_per_second": 5,
                "sms_per_second": 5,
                "tick_seconds": 1,
                # One request at a time unless a test asks: the simulator's order of calls is
                # then the order the contacts were dialed.
                "place_concurrency": 1,
                **(dialer or {}),
            },
            "secrets": {
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN,
                "secret_key": "s" * 32,
            },
        }
    )


def voice_campaign(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "voice-mid",
        "channel": "voice",
        "segment": {"dpd_min": 30, "dpd_max": 89, "languages": ["en-US", "zh-CN"]},
        "schedule": {"cron": "0 9 * * *", "timezone": "America/New_York"},
        "retry": {
            "busy": {"delay_minutes": 30, "max": 2},
            "no_answer": {"delay_minutes": 60, "max": 1},
            "failed": {"delay_minutes": 60, "max": 1},
            "machine": {"delay_minutes": 120, "max": 1},
        },
        "max_attempts": 3,
        "priority": 5,
    }
    base.update(overrides)
    return base


def add_account(
    db: Database,
    clock: FixedClock,
    account_id: str,
    number: str,
    *,
    dpd: int = 45,
    balance: str = "500.00",
    language: str = "en-US",
    timezone: str | None = "America/New_York",
    customer_id: str | None = None,
    status: str = "open",
    sms_consent: bool = True,
) -> None:
    """An account and its primary phone with consent, the way an import leaves them."""
    with db.session() as s:
        factories.add_account(
            s,
            account_id,
            number,
            now=clock.now(),
            sms_consent=sms_consent,
            customer_id=customer_id or account_id,
            name="Jane Doe" if language == "en-US" else "王小明",
            language=language,
            timezone=timezone,
            balance=balance,
            days_past_due=dpd,
            status=status,
            balance_as_of=date(2026, 11, 20),
        )


class ClockWait:
    """The worker's wait, on the test's FixedClock: waiting moves the clock, never sleeps."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.waited: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waited.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        return True


@dataclass
class Router:
    """The WSGI app the simulator's webhooks reach: the real app (``block_status`` makes every
    callback fail its signature check, as a wrong DUECALL_PUBLIC_URL would)."""

    app: Flask | None
    block_status: bool = False
    hits: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        self.hits.append(path)
        if self.block_status and (path.endswith("/status") or path == "/twilio/voice/amd"):
            start_response("403 FORBIDDEN", [("Content-Type", "text/plain")])
            return [b"forbidden"]
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class Rig:
    db: Database
    clock: FixedClock
    settings: Settings
    sim: Simulator
    router: Router
    adapter: TwilioAdapter
    worker: DialerWorker
    wait: ClockWait

    def tick_until_idle(self, max_ticks: int = 50) -> int:
        """Dispatch ticks until one claims nothing, playing the calls after each; returns
        how many contacts were claimed in all."""
        total = 0
        for _ in range(max_ticks):
            report = self.worker.dispatcher.tick()
            self.sim.run_until_idle()
            total += report.claimed
            if report.claimed == 0:
                return total
        raise AssertionError("dispatch never went idle")

    def attempts(self, channel: str | None = None) -> list[Attempt]:
        query = select(Attempt).order_by(Attempt.id)
        if channel is not None:
            query = query.where(Attempt.channel == channel)
        with self.db.session(readonly=True) as s:
            rows = list(s.scalars(query))
            s.expunge_all()
        return rows

    def contacts(self) -> dict[str, Contact]:
        with self.db.session(readonly=True) as s:
            rows = {c.account_id: c for c in s.scalars(select(Contact).order_by(Contact.id))}
            s.expunge_all()
        return rows

    def sim_errors(self) -> list[str]:
        """Every problem the simulator saw (TwiML, webhooks, REST parameters)."""
        return [f"{e.kind}: {e.message}" for e in self.sim.errors]


def _serve(app: Any) -> tuple[BaseWSGIServer, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def build_rig(
    db: Database,
    clock: FixedClock,
    settings: Settings,
    personas: dict[str, Persona] | None = None,
    *,
    auth_token: str = AUTH_TOKEN,
    worker_clock: Clock | None = None,
) -> Iterator[Rig]:
    """Yield a rig; stops the simulator's socket afterwards.

    ``worker_clock`` runs the worker on another clock (real time for the scheduler test), with
    its own waits instead of the FixedClock's.
    """
    router = Router(None)
    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        personas=personas or {},
        transport=WsgiTransport(router),
        start_time=clock.now(),
    )
    server, url = _serve(sim.wsgi_app)
    # The app's own REST requests (the IVR redirecting a call on its AMD verdict) reach the
    # simulator too.
    settings = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"api_url": url})}
    )
    router.app = create_app(settings, db=db, clock=clock)
    adapter = TwilioAdapter(
        ACCOUNT_SID,
        auth_token,
        public_url=PUBLIC_URL,
        caller_id=CALLER_ID,
        api_url=url,
        ring_timeout=20,
    )
    wait = ClockWait(clock)
    worker = build_worker(
        settings,
        db,
        adapter,
        worker_clock or clock,
        worker_id="test-worker",
        wait=None if worker_clock else wait,
    )
    try:
        yield Rig(db, clock, settings, sim, router, adapter, worker, wait)
    finally:
        server.shutdown()


def local(at: datetime, zone: str = "America/New_York") -> datetime:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(zone))
