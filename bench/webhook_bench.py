"""What a Twilio webhook costs duecall, against a bare Flask app on the same server.

Both apps run under gunicorn with the same workers and class (2 sync workers by default, on
loopback ports); each endpoint is loaded on the bare app and on duecall in turn, interleaved,
round after round:

* ``first step``: the hotline's first request (``POST /twilio/voice``) from a cardholder's number;
* ``menu key 1``: a verified caller pressing 1 in the main menu (the balance is read out);
* ``status``: a reminder call's final status callback (``/twilio/voice/status?attempt=N``);
* ``outbound``: a reminder call's answer step (``/twilio/voice/outbound?attempt=N``).

Every request is signed and unique: each carries a CallSid of its own, so each is a real step of
a real call, never a replay (which duecall answers from the stored document, cheaply). The menu
steps need calls standing at the menu: the accounts are seeded, and every call is first driven
through its start and both verification steps, before anything is measured. The bare app returns
a constant TwiML document and checks nothing.

The load comes from ``wrk`` when it is installed (a Lua script hands out the pregenerated
requests, one list per thread, and the run ends when they are used up), else from separate
processes with raw sockets. Then the two step endpoints are run again at half the bare app's
rate, for the p99 latency at that load. After each run the store is checked: no step may have
ended in the fault barrier.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from urllib.parse import urlencode

from flask import Flask, Response
from sqlalchemy import func, insert, select
from twilio.request_validator import RequestValidator

from bench.scratch import scratch_url
from store.db import Database
from store.migrate import upgrade
from store.models import Account, Attempt, CallbackRequest, Phone
from store.models_ivr import IvrSession

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
ACCOUNT_SID = "AC" + "b" * 32
APP_NUMBER = "+15005550006"
LAST4 = "4242"
BIRTH = "19800101"
#: The bare app's answer: a document of the size of duecall's first prompt.
BARE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/voice?step=1" '
    'input="dtmf" method="POST" numDigits="4" timeout="8"><Say language="en-US" voice="Polly.'
    'Joanna">Welcome to the bank. Please enter the last four digits of your card.</Say></Gather>'
    '<Redirect method="POST">/twilio/voice?step=1&amp;miss=1</Redirect></Response>'
)
DUECALL = "duecall.app:wsgi_app()"
ENDPOINTS = ("first step", "menu key 1", "status", "outbound")
#: Endpoints also measured at half the bare app's rate (their p99 latency).
PACED = ("first step", "menu key 1")


def bare_app() -> Flask:
    """A Flask app answering every Twilio route with a constant document (the baseline)."""
    app = Flask("bare")

    def twiml() -> Response:
        return Response(BARE_TWIML, status=200, mimetype="application/xml")

    def empty() -> Response:
        return Response(status=204)

    for path in ("/twilio/voice", "/twilio/voice/outbound"):
        app.add_url_rule(path, path, twiml, methods=["GET", "POST"])
    app.add_url_rule("/twilio/voice/status", "status", empty, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app


# --- the store -----------------------------------------------------------------------------------


def _number(i: int) -> str:
    return f"+1212{5550000 + i:07d}"


def seed(db: Database, accounts: int, attempts: int) -> list[tuple[int, str]]:
    """``accounts`` cardholders (one number each, card 4242, born 1 January 1980) and
    ``attempts`` voice reminder attempts placed to them; returns (attempt id, number)."""
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(
            insert(Account),
            [
                {
                    "account_id": f"B{i:07d}",
                    "customer_id": f"C{i:07d}",
                    "name": "Bench Person",
                    "language": "en-US",
                    "timezone": "America/New_York",
                    "currency": "USD",
                    "balance": 500,
                    "minimum_due": 25,
                    "due_date": date(2026, 12, 20),
                    "days_past_due": 30,
                    "card_last4": LAST4,
                    "birth_date": date(1980, 1, 1),
                    "status": "open",
                    "balance_as_of": date(2026, 11, 30),
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(accounts)
            ],
        )
        s.execute(
            insert(Phone),
            [
                {
                    "account_id": f"B{i:07d}",
                    "kind": "primary",
                    "number": _number(i),
                    "voice_consent": True,
                    "sms_consent": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(accounts)
            ],
        )
    placed = now - timedelta(seconds=30)
    rows = []
    with db.session() as s:
        for start in range(0, attempts, 1000):
            chunk = range(start, min(start + 1000, attempts))
            ids = s.scalars(
                insert(Attempt).returning(Attempt.id),
                [
                    {
                        "account_id": f"B{i % accounts:07d}",
                        "customer_id": f"C{i % accounts:07d}",
                        "channel": "voice",
                        "purpose": "reminder",
                        "number": _number(i % accounts),
                        "status": "queued",
                        "created_at": placed,
                        "placed_at": placed,
                    }
                    for i in chunk
                ],
                execution_options={"render_nulls": True},
            ).all()
            rows.extend(zip(ids, (_number(i % accounts) for i in chunk), strict=True))
    return rows


# --- requests ------------------------------------------------------------------------------------


def call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@dataclass(frozen=True)
class Target:
    """A server under load: its port, and the base URL requests are signed against."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def signed(target: Target, path: str, params: dict[str, str], query: str = "") -> bytes:
    """One raw HTTP/1.1 POST, signed as Twilio signs it (URL + sorted form parameters)."""
    url = f"{target.base}{path}" + (f"?{query}" if query else "")
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    body = urlencode(params).encode()
    target_path = path + (f"?{query}" if query else "")
    head = (
        f"POST {target_path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
        f"X-Twilio-Signature: {signature}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nUser-Agent: TwilioProxy/1.1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _voice_params(sid: str, caller: str, direction: str = "inbound") -> dict[str, str]:
    inbound = direction == "inbound"
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller if inbound else APP_NUMBER,
        "To": APP_NUMBER if inbound else caller,
        "Caller": caller if inbound else APP_NUMBER,
        "Called": APP_NUMBER if inbound else caller,
        "CallStatus": "in-progress",
        "Direction": direction if inbound else "outbound-api",
        "ApiVersion": "2010-04-01",
    }


def first_steps(target: Target, sids: Sequence[str], accounts: int) -> list[bytes]:
    return [
        signed(target, "/twilio/voice", _voice_params(sid, _number(i % accounts)))
        for i, sid in enumerate(sids)
    ]


def key_steps(
    target: Target, sids: Sequence[str], accounts: int, step: int, digits: str
) -> list[bytes]:
    return [
        signed(
            target,
            "/twilio/voice",
            {**_voice_params(sid, _number(i % accounts)), "Digits": digits},
            f"step={step}",
        )
        for i, sid in enumerate(sids)
    ]


def status_callbacks(target: Target, attempts: Sequence[tuple[int, str]]) -> list[bytes]:
    return [
        signed(
            target,
            "/twilio/voice/status",
            {
                **_voice_params(call_sid(), number, "outbound"),
                "CallStatus": "completed",
                "CallDuration": "42",
                "SequenceNumber": "0",
                "Timestamp": "Tue, 01 Dec 2026 15:00:00 +0000",
            },
            f"attempt={attempt}",
        )
        for attempt, number in attempts
    ]


def answer_steps(target: Target, attempts: Sequence[tuple[int, str]]) -> list[bytes]:
    return [
        signed(
            target,
            "/twilio/voice/outbound",
            _voice_params(call_sid(), number, "outbound"),
            f"attempt={attempt}",
        )
        for attempt, number in attempts
    ]


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


@contextmanager
def gunicorn(
    app: str, port: int, workers: int, env: dict[str, str], tmp: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``app`` under gunicorn with duecall's own server settings (sync workers, access log),
    ``workers`` processes on ``port``; its output goes to a file in ``tmp``."""
    log = tmp / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                app,
            ],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(port, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One load run: requests answered, their rate, latency percentiles, failures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = r"""
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local f = assert(io.open(args[1] .. "." .. id, "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  for r in string.gmatch(data, "([^%z]+)") do reqs[#reqs + 1] = r end
  pause = tonumber(args[2])
  n = 0
  spent = false
end
function request()
  n = n + 1
  if n > #reqs then
    if not spent then
      spent = true
      io.stdout:write("spent\n")
      io.stdout:flush()
      wrk.thread:stop()
    end
    return "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
  end
  return reqs[n]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.stdout:write(string.format(
    'RESULT {"requests": %d, "us": %d, "p50": %d, "p99": %d, "failures": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(
    port: int, requests: Sequence[bytes], threads: int, connections: int, pause_ms: int, tmp: Path
) -> Result:
    """Send ``requests`` with wrk (``threads`` lists, ``connections`` connections), each
    connection waiting ``pause_ms`` between requests; wrk is stopped once every list is spent."""
    script = tmp / "bench.lua"
    # wrk paces a connection only when the script has a delay(); without one it does not wait.
    pacing = "function delay() return pause end\n" if pause_ms else ""
    script.write_text(_WRK_SCRIPT + pacing)
    base = tmp / "requests"
    for t in range(threads):
        (tmp / f"requests.{t}").write_bytes(b"\0".join(requests[t::threads]))
    proc = subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            "-d300s",
            "--timeout",
            "20s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(base),
            str(pause_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    found: dict[str, int] | None = None
    for line in proc.stdout:
        if line.strip() == "spent":
            # The first list spent ends the run (wrk reports what completed until then): a
            # stopped thread's open connections would otherwise hold gunicorn's sync workers,
            # waiting for requests that never come, while the other thread finishes.
            proc.send_signal(signal.SIGINT)
        elif line.startswith("RESULT "):
            found = json.loads(line[len("RESULT ") :])
    proc.wait()
    if found is None:
        raise RuntimeError("wrk reported nothing")
    return Result(
        found["requests"],
        found["us"] / 1e6,
        found["p50"] / 1000,
        found["p99"] / 1000,
        found["failures"],
    )


def _exchange(port: int, payload: bytes) -> bool:
    """Send one request on a new connection; whether it got a 2xx answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(payload)
        chunks = []
        while True:  # gunicorn's sync workers close the connection after each answer
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    return b"".join(chunks)[9:10] == b"2"


def _client(args: tuple[int, list[bytes], float]) -> tuple[list[float], int, float, float]:
    port, payloads, pause = args
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    for payload in payloads:
        begun = time.perf_counter()
        if not _exchange(port, payload):
            failures += 1
        latencies.append(time.perf_counter() - begun)
        if pause:
            time.sleep(pause)
    return latencies, failures, started, time.perf_counter()


def run_processes(port: int, requests: Sequence[bytes], connections: int, pause_ms: int) -> Result:
    """Send ``requests`` from ``connections`` client processes (when wrk is not installed)."""
    slices = [(port, list(requests[c::connections]), pause_ms / 1000) for c in range(connections)]
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        done = pool.map(_client, slices)
    latencies = sorted(lat for part in done for lat in part[0])
    seconds = max(p[3] for p in done) - min(p[2] for p in done)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Result(len(latencies), seconds, pick(0.5), pick(0.99), sum(p[1] for p in done))


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Bench:
    tmp: Path
    url: str
    accounts: int
    threads: int
    connections: int
    use_wrk: bool

    def load(self, port: int, requests: Sequence[bytes], pause_ms: int = 0) -> Result:
        if self.use_wrk:
            return run_wrk(port, requests, self.threads, self.connections, pause_ms, self.tmp)
        return run_processes(port, requests, self.connections, pause_ms)

    def drive(self, port: int, requests: Sequence[bytes]) -> None:
        """Prepare calls: every request answered (client processes, exact)."""
        result = run_processes(port, requests, self.connections, 0)
        if result.failures:
            raise RuntimeError(f"{result.failures} preparation requests failed")


def _at_menu(db: Database, sids: Sequence[str]) -> list[str]:
    with db.session(readonly=True) as s:
        found = set(
            s.scalars(
                select(IvrSession.call_sid).where(IvrSession.state == "menu", IvrSession.step == 3)
            )
        )
    return [sid for sid in sids if sid in found]


def _faults(db: Database) -> int:
    with db.session(readonly=True) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(CallbackRequest)
                .where(CallbackRequest.reason == "ivr_fault")
            )
            or 0
        )


def _row(name: str, bare: list[Result], ours: list[Result]) -> str:
    b_rate = median(r.rate for r in bare)
    o_rate = median(r.rate for r in ours)
    ratios = [o.rate / b.rate for b, o in zip(bare, ours, strict=True)]
    return (
        f"  {name:<11} bare {b_rate:7.0f} req/s p50 {median(r.p50_ms for r in bare):5.1f} "
        f"p99 {median(r.p99_ms for r in bare):5.1f} ms | duecall {o_rate:7.0f} req/s "
        f"p50 {median(r.p50_ms for r in ours):5.1f} p99 {median(r.p99_ms for r in ours):5.1f} ms"
        f" | ratio {median(ratios):5.1%} (rounds {', '.join(f'{r:.0%}' for r in ratios)})"
    )


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> dict[str, float]:
    """The benchmark; returns the median ratio duecall / bare per endpoint."""
    use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk") is not None)
    n, rounds = args.requests, args.rounds
    began = time.perf_counter()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="webhook-bench-")))
        url = stack.enter_context(scratch_url(args.database, tmp, "webhook"))
        db = Database(url)
        stack.callback(db.dispose)
        upgrade(db)
        paced_n = n // 2
        attempts = seed(db, args.accounts, 2 * n * rounds)
        bare_port, our_port = free_port(), free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "DUECALL_CONFIG": str(ROOT / "config.yaml"),
            "DUECALL_DATABASE_URL": url,
            "DUECALL_PUBLIC_URL": f"http://127.0.0.1:{our_port}",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "DUECALL_SECRET_KEY": "bench-secret",
            "DUECALL_TWILIO_API_URL": "http://127.0.0.1:9",
        }
        for app, port in (("bench.webhook_bench:bare_app()", bare_port), (DUECALL, our_port)):
            stack.enter_context(gunicorn(app, port, args.workers, env, tmp))
        bench = Bench(tmp, url, args.accounts, args.threads, args.connections, use_wrk)
        bare, ours = Target(bare_port), Target(our_port)
        tool = "wrk" if use_wrk else "client processes"
        out(
            f"webhooks, gunicorn {args.workers} sync workers, {args.connections} connections "
            f"({tool}), {n:,} requests per endpoint and round, {rounds} rounds, "
            f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}"
        )

        # Calls standing at the menu: started, last 4 keyed, birth date keyed.
        menu_total = n * rounds + paced_n * len(PACED)
        sids = [call_sid() for _ in range(menu_total)]
        bench.drive(our_port, first_steps(ours, sids, args.accounts))
        bench.drive(our_port, key_steps(ours, sids, args.accounts, 1, LAST4))
        bench.drive(our_port, key_steps(ours, sids, args.accounts, 2, BIRTH))
        out(
            f"  {len(sids):,} calls driven to the menu (start, last 4, birth date) in "
            f"{time.perf_counter() - began:.0f} s"
        )
        at_menu = _at_menu(db, sids)
        if len(at_menu) != len(sids):
            raise RuntimeError(f"only {len(at_menu)} of {len(sids)} calls reached the menu")
        menu_sids = iter(at_menu)

        def requests(name: str, target: Target, count: int) -> list[bytes]:
            fresh = [call_sid() for _ in range(count)]
            if name == "first step":
                return first_steps(target, fresh, args.accounts)
            if name == "menu key 1":
                chosen = [next(menu_sids) for _ in range(count)] if target is ours else fresh
                return key_steps(target, chosen, args.accounts, 3, "1")
            taken = (
                [attempts.pop() for _ in range(count)]
                if target is ours
                else [(10**9 + i, _number(i % args.accounts)) for i in range(count)]
            )
            if name == "status":
                return status_callbacks(target, taken)
            return answer_steps(target, taken)

        results: dict[str, tuple[list[Result], list[Result]]] = {e: ([], []) for e in ENDPOINTS}
        for round_no in range(rounds):
            for name in ENDPOINTS:
                pair = [(bare, bare_port, 0), (ours, our_port, 1)]
                if round_no % 2:
                    pair.reverse()  # neither app always goes first
                for target, port, slot in pair:
                    result = bench.load(port, requests(name, target, n))
                    if result.failures:
                        raise RuntimeError(f"{name}: {result.failures} failed requests")
                    results[name][slot].append(result)
        ratios = {}
        for name in ENDPOINTS:
            out(_row(name, *results[name]))
            ratios[name] = median(o.rate / b.rate for b, o in zip(*results[name], strict=True))

        # p99 at half the bare app's rate: each connection waits between its requests.
        for name in PACED:
            half = median(r.rate for r in results[name][0]) / 2
            pause = max(1, round(args.connections / half * 1000))
            b = bench.load(bare_port, requests(name, bare, paced_n), pause)
            o = bench.load(our_port, requests(name, ours, paced_n), pause)
            out(
                f"  {name:<11} at ~{half:,.0f} req/s offered: bare {b.rate:6.0f} req/s "
                f"p99 {b.p99_ms:5.1f} ms | duecall {o.rate:6.0f} req/s p99 {o.p99_ms:5.1f} ms"
                f" | p99 ratio {o.p99_ms / b.p99_ms:4.1f}x"
            )
        faults = _faults(db)
        out(f"  steps that ended in the fault barrier: {faults}")
        if faults:
            raise RuntimeError(f"{faults} webhook steps failed on the server")
        return ratios


def parser() -> argparse.ArgumentParser:
    """The options of ``python -m bench webhook``."""
    found = argparse.ArgumentParser(prog="bench webhook")
    found.add_argument("--requests", type=int, default=4000, help="per endpoint and round")
    found.add_argument("--rounds", type=int, default=3)
    found.add_argument("--workers", type=int, default=2)
    found.add_argument("--threads", type=int, default=2, help="wrk's threads")
    found.add_argument("--connections", type=int, default=16)
    found.add_argument("--accounts", type=int, default=500)
    found.add_argument(
        "--database", default=None, help="a PostgreSQL URL (a schema of its own is made there)"
    )
    found.add_argument("--tool", choices=("auto", "wrk", "processes"), default="auto")
    return found


def main(argv: list[str]) -> None:
    run(parser().parse_args(argv))
