"""`duecall demo`: one collections day, end to end, on SQLite and the local carrier.

No Twilio account: the simulator plays Twilio (its REST API on a local socket, every webhook signed
and sent to the app in-process), the cardholders are its personas, and time is a clock the demo
moves through a Tuesday in New York, 08:00 to 21:00, in ten-minute steps. Everything else is the
production code: the import, the campaigns of ``config.yaml`` launched by the dialer worker's own
launch logic, the contact policy before every call and text, the pacing, the IVR on every answered
call, status callbacks, retries, the SMS fallback, the outbox, the reconciler, inbound texts.

At the end it prints what the collections team would look at, and leaves it all in the database.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from campaigns.accounts import portfolio_summary, totals
from campaigns.importing import ImportFileError, Reject, import_accounts, import_payments
from campaigns.reports import ReportDay
from dialer.worker import DialerWorker
from duecall import exitcodes
from duecall.app import create_app
from duecall.cli_reports import report_command_line
from duecall.imports import describe, import_options
from duecall.report_desk import day_document
from duecall.report_terminal import print_document
from duecall.settings import Settings
from duecall.wiring import build_worker
from simulator import Persona, Simulator, WsgiTransport, create_simulator
from store.audit import record_audit
from store.clock import FixedClock
from store.db import Database, sqlite_file
from store.migrate import upgrade
from store.models import (
    Account,
    Attempt,
    Phone,
    Promise,
)
from store.privacy import mask_phone, mask_text
from telephony.twilio_adapter import TwilioAdapter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 1 December 2026, 08:00 in New York.
DAY_START = datetime(2026, 12, 1, 8, 0, tzinfo=NEW_YORK)
DAY_END = datetime(2026, 12, 1, 21, 0, tzinfo=NEW_YORK)
STEP = timedelta(minutes=10)
#: The day the end-of-day report counts, as `duecall report --day 2026-12-01 --tz ...` does.
REPORT_DAY = ReportDay(DAY_START.date(), NEW_YORK)

DEMO_SID = "AC" + "de" * 16
DEMO_TOKEN = "demo-auth-token-not-a-secret"  # noqa: S105 - the local carrier's, in-process
DEMO_PUBLIC_URL = "https://duecall.demo.invalid"


DEMO_MARK = "demo.created"


class NotADemoStoreError(Exception):
    """Raised when the demo's --database holds data the demo did not make."""


def _fresh_store(url: str) -> None:
    """Start from an empty store: a SQLite file the demo made before is removed; anything else
    (another SQLite file with accounts in it, a PostgreSQL database with accounts) is refused,
    so ``--database`` pointed at real data never wipes or pollutes it."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "accounts" in tables:
                has_accounts = conn.execute(text("SELECT 1 FROM accounts LIMIT 1")).first()
                made_by_demo = (
                    "audit_log" in tables
                    and conn.execute(
                        text("SELECT 1 FROM audit_log WHERE action = :mark LIMIT 1"),
                        {"mark": DEMO_MARK},
                    ).first()
                )
                if has_accounts and not made_by_demo:
                    raise NotADemoStoreError(
                        f"{url} holds accounts the demo did not import; the demo starts from an "
                        "empty store: give it another --database"
                    )
    finally:
        db.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)


def demo_settings(settings: Settings, database_url: str, api_url: str) -> Settings:
    """The operator's settings, pointed at the demo store and the local carrier, with throwaway
    credentials (nothing leaves this machine)."""
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": database_url}),
            "server": settings.server.model_copy(update={"public_url": DEMO_PUBLIC_URL}),
            "twilio": settings.twilio.model_copy(update={"api_url": api_url}),
            "secrets": settings.secrets.model_validate(
                {
                    "twilio_account_sid": DEMO_SID,
                    "twilio_auth_token": DEMO_TOKEN,
                    "secret_key": "demo-secret-key",
                }
            ),
        }
    )


# --------------------------------------------------------------------------- the cardholders


@dataclass(frozen=True)
class Cast:
    """Who behaves how, decided from a hash of the account number (same every run), and one
    cardholder the reader can call the hotline as."""

    personas: dict[str, Persona]
    roles: Counter[str]
    sample_number: str
    sample_keys: str


def _share(account_id: str) -> float:
    digest = hashlib.sha256(account_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def cast(session: Session, today: date) -> Cast:
    """A persona for every primary number: people who verify and promise, who only listen,
    wrong parties, voicemail, no answer, busy, numbers that cannot take a text."""
    personas: dict[str, Persona] = {}
    roles: Counter[str] = Counter()
    sample: tuple[str, str] = ("+15005550009", "1")
    rows = session.execute(
        select(Account, Phone.number)
        .join(Phone, Phone.account_id == Account.account_id)
        .where(Phone.kind == "primary")
        .order_by(Account.account_id)
    ).all()
    for account, number in rows:
        if number in personas:
            continue  # several cards, one phone: the first card's holder answers
        share = _share(account.account_id)
        verify = f"1,{account.card_last4},{account.birth_date:%Y%m%d}"
        if share < 0.30:
            promise_day = today + timedelta(days=5)
            amount = max(1, math.ceil(account.minimum_due))
            keys = f"{verify},2,{promise_day:%Y%m%d},{amount}#,1,hangup"
            personas[number], role = Persona.human(keys), "promises to pay"
        elif share < 0.40:
            personas[number], role = Persona.human(f"{verify},1,hangup"), "hears the balance"
        elif share < 0.45:
            personas[number], role = Persona.human("2"), "wrong party"
        elif share < 0.65:
            personas[number], role = Persona.voicemail(), "voicemail"
        elif share < 0.80:
            personas[number], role = Persona.no_answer(), "no answer"
        elif share < 0.90:
            personas[number], role = Persona.busy(), "busy"
        elif share < 0.95:
            personas[number], role = Persona.no_sms(), "cannot receive texts"
        else:
            personas[number], role = Persona.silent(), "answers, says nothing"
        roles[role] += 1
        if role == "hears the balance" and account.language == "en-US":
            sample = (number, f"{account.card_last4},{account.birth_date:%Y%m%d},1,hangup")
    return Cast(personas, roles, *sample)


# --------------------------------------------------------------------------- the carrier


@contextmanager
def _serve(app: object) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class _ClockWait:
    """The worker's pacing waits move the demo clock instead of sleeping."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock

    def __call__(self, seconds: float) -> bool:
        self.clock.advance(timedelta(seconds=seconds))
        return True


@dataclass
class Day:
    db: Database
    clock: FixedClock
    settings: Settings
    sim: Simulator
    worker: DialerWorker
    out: Console

    def play(self) -> None:
        """Play every call and delivery the carrier has queued."""
        self.sim.run_until_idle()

    def step(self) -> Counter[str]:
        """One ten-minute step: launch what is due, dispatch until idle, send the outbox,
        reconcile. Returns the launches made."""
        launched: Counter[str] = Counter()
        for campaign in self.settings.campaigns:
            if not campaign.active:
                continue
            result = self.worker.launch_scheduled(campaign.name)
            if result is not None and result.created:
                launched[campaign.name] = result.contacts
        for _ in range(500):
            report = self.worker.dispatcher.tick()
            self.play()
            if report.claimed == 0:
                break
        self.worker.outbox.run()
        self.play()
        self.worker.reconciler.run()
        return launched


# --------------------------------------------------------------------------- the demo


def absolute_url(database_url: str) -> str:
    """``database_url`` usable from any folder: a relative SQLite path made absolute."""
    path = sqlite_file(database_url)
    if path is None or path.is_absolute():
        return database_url
    return f"sqlite:///{path.resolve()}"


def run_demo(settings: Settings, database_url: str, *, keep_running: bool = False) -> int:
    """Run the demo day; returns the exit code."""
    out = Console(highlight=False)
    examples = EXAMPLES if EXAMPLES.is_dir() else Path("examples")
    accounts_csv, payments_csv = examples / "accounts.csv", examples / "payments.csv"
    if not accounts_csv.exists():
        out.print(f"[red]{accounts_csv} not found: run python examples/generate.py[/red]")
        return exitcodes.USAGE
    with _quiet_logs():
        code, people = _run_day(out, settings, database_url, accounts_csv, payments_csv)
    if code != 0 or people is None:
        return code
    out.print(
        "\nEverything is in the demo's store. Point duecall at it (this shell only) with:",
        soft_wrap=True,
    )
    # One line, never wrapped at the terminal's width: it is meant to be copied and pasted.
    out.out(f"export DUECALL_DATABASE_URL={absolute_url(database_url)}", highlight=False)
    out.print(
        "then look around, for example:\n"
        "  .venv/bin/duecall campaign list\n"
        "  .venv/bin/duecall sms inbox\n"
        f"  .venv/bin/{report_command_line(REPORT_DAY.day, REPORT_DAY.zone)}\n"
        "and call the hotline yourself as one of today's (synthetic) cardholders:\n"
        f"  .venv/bin/duecall ivr call --from {people.sample_number} --keys {people.sample_keys}\n"
        "(leave out --keys to type the keys at each prompt).",
        soft_wrap=True,
        markup=False,
    )
    if keep_running:
        return _keep_running(out, settings, database_url)
    return 0


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """The narration is the demo's output: per-call log lines would drown it. Restored after."""
    names = ("alembic", "dialer", "ivr", "webhooks", "simulator", "campaigns", "werkzeug")
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logging.getLogger(name).setLevel(logging.ERROR)
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _run_day(
    out: Console, settings: Settings, database_url: str, accounts_csv: Path, payments_csv: Path
) -> tuple[int, Cast | None]:
    """Play the day; returns the exit code and, when it ran, the cast."""
    try:
        _fresh_store(database_url)
    except NotADemoStoreError as exc:
        out.print(f"[red]{exc}[/red]")
        return exitcodes.USAGE, None
    db = Database(database_url)
    clock = FixedClock(DAY_START.astimezone(UTC) - timedelta(hours=1))
    try:
        upgrade(db)
        with db.session() as session:
            record_audit(
                session,
                at=clock.now(),
                actor="demo",
                action=DEMO_MARK,
                entity_type="store",
                entity_id="demo",
            )
        out.rule("[bold]duecall demo: one collections day on the local carrier")
        out.print(f"store {database_url} (fresh); no Twilio account, nothing leaves this machine")
        for kind, path, run in (
            ("accounts", accounts_csv, import_accounts),
            ("payments", payments_csv, import_payments),
        ):
            rejects: list[Reject] = []
            result = run(
                db, path, options=import_options(settings), clock=clock, on_reject=rejects.append
            )
            out.print(describe(kind, path, result))
            for reject in rejects[:10]:
                out.print(f"  [yellow]{reject}[/yellow]", markup=True)
        with db.session(readonly=True) as session:
            _print_portfolio(out, session)
            people = cast(session, DAY_START.date())
        out.print(
            "the cardholders today: "
            + ", ".join(f"{n} {role}" for role, n in people.roles.most_common())
        )
        _play_day(out, db, clock, settings, database_url, people)
    except ImportFileError as exc:
        out.print(f"[red]{exc}[/red]")
        return exitcodes.USAGE, None
    finally:
        db.dispose()
    return 0, people


def _keep_running(out: Console, settings: Settings, database_url: str) -> int:
    """Serve the hotline over HTTP with the local carrier in front of it, until Ctrl-C."""
    from simulator import HttpTransport
    from store.clock import SystemClock

    host, port = settings.server.host, settings.server.port
    public = f"http://{host}:{port}"
    db = Database(database_url)
    app_settings = demo_settings(settings, database_url, "http://127.0.0.1:8765")
    app_settings = app_settings.model_copy(
        update={"server": app_settings.server.model_copy(update={"public_url": public})}
    )
    app = create_app(app_settings, db=db, clock=SystemClock())
    sim = create_simulator(
        DEMO_SID,
        DEMO_TOKEN,
        transport=HttpTransport(),
        threaded=True,
        voice_url=f"{public}/twilio/voice",
        sms_url=f"{public}/twilio/sms",
    )
    app_server = make_server(host, port, app, threaded=True)
    sim_server = make_server("127.0.0.1", 8765, sim.wsgi_app, threaded=True)
    threading.Thread(target=sim_server.serve_forever, daemon=True).start()
    out.print(
        f"\nthe hotline is up at {public}/twilio/voice and the local carrier at "
        "http://127.0.0.1:8765. Place a call through the carrier:\n"
        f"  curl -u {DEMO_SID}:{DEMO_TOKEN} --data-urlencode From=+15005550009 "
        "--data-urlencode To=+15005550006 --data-urlencode Keys=1,hangup "
        "http://127.0.0.1:8765/_simulator/inbound/calls\n"
        "and read it as it plays (calls run in real time here) with\n"
        f"  curl -u {DEMO_SID}:{DEMO_TOKEN} "
        "http://127.0.0.1:8765/_simulator/calls/<CallSid>/transcript\n"
        "Ctrl-C stops both."
    )
    try:
        app_server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim_server.shutdown()
        db.dispose()
    return 0


def _play_day(
    out: Console,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    database_url: str,
    people: Cast,
) -> None:
    sim_holder: dict[str, Simulator] = {}

    def route(environ: dict[str, object], start_response: object) -> object:
        return sim_holder["sim"].wsgi_app(environ, start_response)

    with _serve(route) as api_url:
        day_settings = demo_settings(settings, database_url, api_url)
        app = create_app(day_settings, db=db, clock=clock)
        sim = create_simulator(
            DEMO_SID,
            DEMO_TOKEN,
            personas=people.personas,
            transport=WsgiTransport(app),
            start_time=clock.now(),
            voice_url=f"{DEMO_PUBLIC_URL}/twilio/voice",
            sms_url=f"{DEMO_PUBLIC_URL}/twilio/sms",
        )
        sim_holder["sim"] = sim
        t = day_settings.twilio
        adapter = TwilioAdapter(
            DEMO_SID,
            DEMO_TOKEN,
            public_url=DEMO_PUBLIC_URL,
            caller_id=t.caller_id,
            api_url=api_url,
            timeout=t.timeout_seconds,
            ring_timeout=t.ring_timeout_seconds,
        )
        worker = build_worker(
            day_settings, db, adapter, clock, worker_id="demo-worker", wait=_ClockWait(clock)
        )
        day = Day(db, clock, day_settings, sim, worker, out)
        _narrate(day, people)
        _report(out, db, sim, clock, day_settings)


def _local(clock: FixedClock) -> str:
    return f"{clock.now().astimezone(NEW_YORK):%H:%M}"


def _narrate(day: Day, people: Cast) -> None:
    out, clock = day.out, day.clock
    out.rule("[bold]Tuesday 1 December 2026, New York time")
    events = _inbound_events(day)
    clock.set(DAY_START.astimezone(UTC))
    while clock.now() < DAY_END.astimezone(UTC):
        slot_start = clock.now()
        before = _count_attempts(day.db)
        launched = day.step()
        for name, contacts in launched.items():
            out.print(
                f"{_local(clock)}  campaign [bold]{name}[/bold] launched: {contacts} contacts"
            )
        for when, action in list(events):
            if when <= clock.now():
                events.remove((when, action))
                action()
        made = _count_attempts(day.db) - before
        if made:
            noun = "call or text" if made == 1 else "calls and texts"
            out.print(f"{_local(clock)}  {made} {noun} placed", style="dim")
        clock.set(max(clock.now(), slot_start + STEP))
    out.print(f"{_local(clock)}  the calling window closes in New York; the day is over")


def _inbound_events(day: Day) -> list[tuple[datetime, Callable[[], None]]]:
    """A few things cardholders do on their own during the day."""
    with day.db.session(readonly=True) as session:
        rows = session.execute(
            select(Account, Phone.number)
            .join(Phone, Phone.account_id == Account.account_id)
            .where(Phone.kind == "primary", Account.status == "open")
            .order_by(Account.account_id)
        ).all()
    english = [(a, n) for a, n in rows if a.language == "en-US"]
    chinese = [(a, n) for a, n in rows if a.language == "zh-CN"]
    to = day.settings.twilio.caller_id
    out = day.out

    def hotline_call(account: Account, number: str) -> None:
        keys = f"{account.card_last4},{account.birth_date:%Y%m%d},1,hangup"
        call = day.sim.place_inbound_call(number, to, keys=keys)
        day.play()
        out.print(
            f"{_local(day.clock)}  {mask_phone(number)} calls the hotline, verifies and hears "
            f"the balance ({len(call.transcript)} lines of transcript)"
        )
        for line in call.transcript:
            out.print(f"          {mask_text(line)}", style="cyan")

    def text(number: str, body: str) -> None:
        message = day.sim.send_inbound_sms(number, to, body)
        reply = " (answered)" if message.reply and "<Message>" in message.reply else ""
        out.print(f"{_local(day.clock)}  {mask_phone(number)} texts {body!r}{reply}")

    events: list[tuple[datetime, Callable[[], None]]] = []

    def at(hour: int, minute: int) -> datetime:
        return DAY_START.replace(hour=hour, minute=minute).astimezone(UTC)

    if english:
        account, number = english[len(english) // 3]
        events.append((at(12, 0), lambda: hotline_call(account, number)))
        events.append((at(9, 30), lambda: text(english[1][1], "STOP")))
        events.append(
            (at(14, 0), lambda: text(english[2][1], "I lost my job, can I pay half next month?"))
        )
    if chinese:
        events.append((at(20, 0), lambda: text(chinese[0][1], "退订")))
    return events


def _count_attempts(db: Database) -> int:
    with db.session(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Attempt)) or 0


# --------------------------------------------------------------------------- the reports


def _print_portfolio(out: Console, session: Session) -> None:
    table = Table(title="portfolio by days past due", title_justify="left")
    for column in ("days past due", "currency", "accounts", "balance", "still owed"):
        table.add_column(
            column, justify="left" if column in ("days past due", "currency") else "right"
        )
    for row in portfolio_summary(session)["days past due"]:
        table.add_row(
            row.label,
            row.currency,
            str(row.accounts),
            f"{row.balance:,.2f}",
            f"{row.outstanding:,.2f}",
        )
    out.print(table)
    t = totals(session)
    paid = ", ".join(f"{currency} {amount:,.2f}" for currency, amount in t["paid"].items())
    out.print(
        f"{t['accounts']} accounts of {t['customers']} customers, {t['phones']} numbers, "
        f"{t['payments']} payments received ({paid or 'none'})"
    )


def _report(
    out: Console, db: Database, sim: Simulator, clock: FixedClock, settings: Settings
) -> None:
    """The day's `duecall report` (the desk's figures too), then one promise call as the
    carrier heard it."""
    out.rule("[bold]end of day")
    with db.session(readonly=True) as session:
        document = day_document(
            session,
            settings.desk,
            business=settings.business.name,
            now=clock.now(),
            day=REPORT_DAY,
        )
        print_document(out, document)
        out.print(
            "this day's report again, at any later time (open promises settled as of then):\n"
            f"  {report_command_line(REPORT_DAY.day, REPORT_DAY.zone)}",
            soft_wrap=True,
            markup=False,
        )
        promise = session.scalars(select(Promise).order_by(Promise.id).limit(1)).first()
        sid = promise.call_sid if promise is not None else None
    if sid and sid in sim.calls:
        out.rule("one reminder call that ended in a promise, as the carrier heard it")
        for line in sim.calls[sid].transcript:
            out.print(f"  {mask_text(line)}", style="cyan")
    problems = [f"{e.kind}: {e.message}" for e in sim.errors]
    if problems:
        out.print(f"[red]the carrier reported {len(problems)} problem(s):[/red]")
        for problem in problems[:10]:
            out.print(f"  {problem}")
