"""Whether one dialer worker keeps pace when every REST request waits for Twilio's answer.

Over the internet a call create takes 100-300 ms; the local carrier answers in about a
millisecond, which hides it. Here the simulator is told to hold each create (its fault knobs:
``delay``), and two things place the same number of calls through it, in the same run:

* the baseline: a bare loop of the same REST requests (the Twilio adapter), ``--concurrency``
  at a time -- the most any client can do at that latency;
* a dialer worker's dispatch ticks: each contact claimed, paced, policy-checked, recorded and
  committed before its request leaves, ``dialer.place_concurrency`` requests open at once.

It prints calls per second of each and the ratio (the goal: at least 0.7).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from duecall.settings import Settings
from duecall.wiring import build_worker
from simulator import WsgiTransport, create_simulator
from store.clock import SystemClock
from store.db import Database
from store.migrate import upgrade
from telephony.port import OutboundCall
from telephony.twilio_adapter import TwilioAdapter
from tests import factories

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "bench-token"
PUBLIC_URL = "https://duecall.bench.invalid"


def _settings(contacts: int, concurrency: int) -> Settings:
    return Settings.model_validate(
        {
            "server": {"public_url": PUBLIC_URL},
            "campaigns": [
                {
                    "name": "bench",
                    "channel": "voice",
                    "segment": {"dpd_min": 1},
                    "schedule": {"cron": "0 0 * * *", "timezone": "UTC"},
                    "max_attempts": 1,
                }
            ],
            "dialer": {
                "calls_per_second": 100,
                "max_concurrent_calls": contacts + 1,
                "place_concurrency": concurrency,
                "tick_seconds": 1,
            },
            # Every zone's window open, whatever the hour the bench runs.
            "policy": {
                "overrides": {"window_start": "00:00", "window_end": "23:59", "margin_minutes": 0}
            },
            "secrets": {
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN,
                "secret_key": "b" * 32,
            },
        }
    )


_HANGUP = b'<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    # What the calls reach: a hangup for every call, a 204 for every callback (the webhooks
    # are not what this measures).
    if str(environ.get("PATH_INFO", "")).endswith("/status"):
        start_response("204 No Content", [])
        return [b""]
    start_response("200 OK", [("Content-Type", "application/xml")])
    return [_HANGUP]


def _serve(latency: float) -> tuple[str, Any]:
    sim = create_simulator(
        ACCOUNT_SID, AUTH_TOKEN, transport=WsgiTransport(_app), threaded=True, time_scale=0.001
    )
    sim.faults.delay("calls.create", latency)
    server = make_server("127.0.0.1", 0, sim.wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _adapter(url: str) -> TwilioAdapter:
    return TwilioAdapter(
        ACCOUNT_SID, AUTH_TOKEN, public_url=PUBLIC_URL, caller_id="+18005550199", api_url=url
    )


def baseline(url: str, contacts: int, concurrency: int) -> float:
    """Calls per second of a bare loop of creates, ``concurrency`` at a time."""
    adapter = _adapter(url)
    numbers = [f"+1212556{i:04d}" for i in range(contacts)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(
            pool.map(
                lambda n: adapter.place_call(OutboundCall(to=n[1], attempt_id=n[0] + 1)),
                enumerate(numbers),
            )
        )
    return contacts / (time.perf_counter() - started)


def dispatch(url: str, contacts: int, concurrency: int, folder: Path) -> float:
    """Calls per second of a worker's dispatch ticks placing ``contacts`` calls."""
    settings = _settings(contacts, concurrency)
    settings = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"api_url": url})}
    )
    db = Database(f"sqlite:///{folder}/dispatch.db")
    upgrade(db)
    clock = SystemClock()
    with db.session() as s:
        for i in range(contacts):
            factories.add_account(
                s, f"D{i:05d}", f"+1212557{i:04d}", now=clock.now(), timezone="UTC"
            )
    worker = build_worker(settings, db, _adapter(url), clock, worker_id="bench")
    worker.launcher.launch_now("bench", "bench")
    placed = 0
    started = time.perf_counter()
    while placed < contacts:
        report = worker.dispatcher.tick()
        placed += report.placed
        if report.claimed == 0:
            break
    seconds = time.perf_counter() - started
    worker.dispatcher.close()
    db.dispose()
    return placed / seconds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dispatch")
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per create")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database", default=None, help="ignored: the worker runs on SQLite")
    args = parser.parse_args(argv)
    print(
        f"dispatch: {args.contacts} calls, {args.latency * 1000:.0f} ms per create, "
        f"{args.concurrency} requests open at once"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url, server = _serve(args.latency)
    try:
        bare = baseline(url, args.contacts, args.concurrency)
        with tempfile.TemporaryDirectory() as folder:
            worker = dispatch(url, args.contacts, args.concurrency, Path(folder))
    finally:
        server.shutdown()
    print(f"  bare loop of creates   {bare:8.1f} calls/s")
    print(f"  dialer worker          {worker:8.1f} calls/s")
    print(f"  ratio worker / bare    {worker / bare:8.2f}  (goal >= 0.70)")
