"""Helpers for the console's tests: the app with two agents and a supervisor, a queued caller,
and the bridge recorded through the desk's own functions (the claim of the live transfer, then
the agent's key 1 as desk.agent_leg takes it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from desk import agent_leg, agents, queueing
from duecall.app import create_app
from duecall.settings import Settings
from duecall.wiring import build_desk
from store.clock import Clock
from store.db import Database
from store.models import AuditLog
from store.models_desk import DeskAgent, QueueEntry
from tests.desk.desk_rig import EN_PHONE, settings_for
from tests.webhooks.voice_support import seed

# Monday 7 December 2026, 10:00 in New York: the collections queue is open.
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
AGENT, OTHER, SUPERVISOR = "Ana", "Bo", "Sam"


def console_settings(public_url: str = "https://duecall.example.test", **console: Any) -> Settings:
    settings = settings_for([AGENT, OTHER, SUPERVISOR], console=console)
    return settings.model_copy(
        update={"server": settings.server.model_copy(update={"public_url": public_url})}
    )


def seed_desk(db: Database, now: datetime) -> None:
    """The two cardholders of the voice tests, two agents and a supervisor (all away)."""
    seed(db, now)
    with db.session() as s:
        for name, role, phone in (
            (AGENT, "agent", "+14155550142"),
            (OTHER, "agent", "+14155550143"),
            (SUPERVISOR, "supervisor", "+14155550144"),
        ):
            agents.add_agent(
                s,
                name=name,
                role=role,
                phone=phone,
                languages=["en-US"],
                password=PASSWORD,
                now=now,
                actor="test",
            )


def make_app(db: Database, clock: Clock, settings: Settings | None = None) -> Flask:
    app = create_app(settings or console_settings(), db=db, clock=clock)
    app.config["TESTING"] = True
    return app


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/desk/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/desk/login", data={"name": name, "password": password, "csrf_token": token}
    )


def queue_caller(
    db: Database, now: datetime, *, call_sid: str = "CA" + "1" * 32, verified: bool = True
) -> int:
    """A caller who pressed 0 after verifying, queued in collections-en as the IVR does."""
    with db.session() as s:
        entry = queueing.enqueue(
            s,
            "collections-en",
            queueing.Caller(
                call_sid=call_sid,
                number=EN_PHONE,
                language="en-US",
                reason="agent",
                verified=verified,
                account_id="70000001" if verified else None,
            ),
            now=now,
        )
        queueing.set_queue_sid(s, entry, "QU" + "2" * 32)
        return entry.id


def bridge(db: Database, settings: Settings, entry_id: int, agent_name: str, now: datetime) -> None:
    """The live transfer offers the caller to the agent (its claim), the agent presses 1 on
    their phone (desk.agent_leg.key): the bridge moment is recorded on the queue record."""
    desk = build_desk(settings).desk
    with db.session() as s:
        agent_id = s.scalars(select(DeskAgent.id).where(DeskAgent.name == agent_name)).one()
        assert queueing.claim(s, entry_id, agent_id, now=now)
        assert agents.move(s, agent_id, "offered", now=now, expect="available", entry_id=entry_id)
    with db.session() as s:
        agent_leg.key(
            s,
            desk,
            entry_id=entry_id,
            agent_id=agent_id,
            call_sid="CA" + "3" * 32,
            digits="1",
            now=now,
        )
    with db.session(readonly=True) as s:
        entry = s.get(QueueEntry, entry_id)
        assert entry is not None and entry.status == "bridged"


def audits(db: Database, action: str) -> list[AuditLog]:
    with db.session(readonly=True) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action)))
        s.expunge_all()
        return rows


def agent_row(db: Database, name: str) -> DeskAgent:
    with db.session(readonly=True) as s:
        row = s.scalars(select(DeskAgent).where(DeskAgent.name == name)).one()
        s.expunge(row)
        return row
