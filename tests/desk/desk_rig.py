"""The desk end to end: the real app (create_app), the simulator playing callers and agents,
and the desk's live-transfer job as the dialer worker runs it.

The simulator reaches the app only through signed webhooks (an in-process WSGI transport),
the app and the job reach the simulator only through Twilio's REST API over a real socket.
The app and the job read the simulator's clock, so a caller's wait and the maximum wait are
measured in the simulated time the calls play in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from werkzeug.serving import make_server

from desk.agents import add_agent, move
from desk.transfer import Transfer
from duecall.app import create_app
from duecall.settings import Settings
from duecall.wiring import build_transfer
from simulator import Persona, SimCall, Simulator, WsgiTransport, create_simulator
from store.db import Database
from store.models import Attempt, CallbackRequest, ComplianceDecision
from store.models_desk import DeskAgent, QueueEntry
from telephony.twilio_adapter import TwilioAdapter
from tests.webhooks.voice_support import seed

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "desk-test-token"
PUBLIC_URL = "https://duecall.example.test"
HOTLINE = "+18005550199"
EN_PHONE = "+12125550123"  # Marguerite Okonkwo, 70000001: last 4 7391, born 1971-03-26
ZH_PHONE = "+8613800138000"  # 欧阳娜娜, 70000002: last 4 6058, born 1983-08-19
ANA = "+14155550142"
EN_KEYS = "7391,19710326"
ZH_KEYS = "6058,19830819"


def settings_for(roster: list[str], **desk: Any) -> Settings:
    return Settings.model_validate(
        {
            "server": {"public_url": PUBLIC_URL},
            "twilio": {"caller_id": HOTLINE},
            "dialer": {"calls_per_second": 5},
            "desk": {"shifts": {"always": {"agents": roster}}, **desk},
            "secrets": {
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN,
                "secret_key": "s" * 32,
            },
        }
    )


class SimClock:
    """The simulator's virtual clock, as the app's Clock."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def now(self) -> datetime:
        return self.sim.now()


@dataclass
class DeskRig:
    db: Database
    sim: Simulator
    transfer: Transfer

    def call_in(self, number: str, keys: str) -> SimCall:
        """A caller dials the hotline and keys ``keys``, then stays on the line."""
        return self.sim.place_inbound_call(number, HOTLINE, keys=keys, run=False)

    def until(self, condition: Any, within: float = 600.0) -> None:
        assert self.sim.run_until(condition, within=within), self.errors() or "no progress"

    def entries(self) -> list[QueueEntry]:
        with self.db.session(readonly=True) as s:
            rows = list(s.scalars(select(QueueEntry).order_by(QueueEntry.id)))
            s.expunge_all()
            return rows

    def entry(self, call: SimCall) -> QueueEntry | None:
        return next((e for e in self.entries() if e.call_sid == call.sid), None)

    def agent(self, name: str) -> DeskAgent:
        with self.db.session(readonly=True) as s:
            row = s.scalars(select(DeskAgent).where(DeskAgent.name == name)).one()
            s.expunge(row)
            return row

    def callbacks(self) -> list[CallbackRequest]:
        with self.db.session(readonly=True) as s:
            rows = list(s.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))
            s.expunge_all()
            return rows

    def attempt(self, entry_id: int) -> Attempt | None:
        """The attempt that dialled the cardholder for the callback record ``entry_id``."""
        with self.db.session(readonly=True) as s:
            entry = s.get(QueueEntry, entry_id)
            row = s.get(Attempt, entry.attempt_id) if entry and entry.attempt_id else None
            if row is not None:
                s.expunge(row)
            return row

    def decisions(self, attempt_id: int) -> list[tuple[str, bool]]:
        with self.db.session(readonly=True) as s:
            rows = s.scalars(
                select(ComplianceDecision).where(ComplianceDecision.attempt_id == attempt_id)
            )
            return [(d.context, d.allowed) for d in rows]

    def add_agent(self, name: str, phone: str, *languages: str, persona: Persona) -> None:
        self.sim.set_persona(phone, persona)
        with self.db.session() as s:
            agent = add_agent(
                s,
                name=name,
                role="agent",
                phone=phone,
                languages=languages or ("en-US",),
                password="password1",
                now=self.sim.now(),
                actor="test",
            )
            assert move(s, agent.id, "available", now=self.sim.now())

    def errors(self) -> list[str]:
        return [f"{e.kind}: {e.message}" for e in self.sim.errors]


def build_desk_rig(db: Database, settings: Settings, start: datetime) -> Iterator[DeskRig]:
    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        transport=WsgiTransport(app),
        start_time=start,
        voice_url=f"{PUBLIC_URL}/twilio/voice",
    )
    server = make_server("127.0.0.1", 0, sim.wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    settings = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"api_url": url})}
    )
    clock = SimClock(sim)
    seed(db, start)
    holder["app"] = create_app(settings, db=db, clock=clock)
    adapter = TwilioAdapter(
        ACCOUNT_SID, AUTH_TOKEN, public_url=PUBLIC_URL, caller_id=HOTLINE, api_url=url
    )
    transfer = build_transfer(settings, db, adapter, clock)
    try:
        yield DeskRig(db, sim, transfer)
    finally:
        server.shutdown()
