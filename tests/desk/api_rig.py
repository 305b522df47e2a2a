"""The JSON API under test: the real app (create_app) on the test's database and clock, the
two cardholders of tests/webhooks/voice_support.py, an agent on shift, and tokens made by the
desk's token writer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from flask import Flask
from werkzeug.test import TestResponse

from campaigns.promises import NewPromise, record_promise
from desk.agents import add_agent, move
from desk.tokens import create_token, revoke_token
from duecall.app import create_app
from duecall.settings import load_settings
from store.clock import FixedClock
from store.db import Database
from tests.webhooks.voice_support import EN_PHONE, ENV, Caller, seed

# Monday 7 December 2026, 10:00 in New York: the collections queue is open.
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
EN_ACCOUNT = "70000001"
ZH_ACCOUNT = "70000002"


def build_app(db: Database, clock: FixedClock, tmp_path: Path) -> Flask:
    """The app with both cardholders seeded and the agent Ana available."""
    seed(db, clock.now())
    with db.session() as s:
        agent = add_agent(
            s,
            name="Ana",
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        assert move(s, agent.id, "available", now=clock.now())
    config = tmp_path / "config.yaml"
    config.write_text(
        "logging:\n  level: WARNING\ndesk:\n  shifts:\n    always:\n      agents: [Ana]\n",
        encoding="utf-8",
    )
    return create_app(load_settings(config, ENV), db=db, clock=clock)


def new_token(db: Database, clock: FixedClock, name: str = "crm") -> str:
    with db.session() as s:
        return create_token(s, name, now=clock.now(), actor="ops")


def revoke(db: Database, clock: FixedClock, name: str = "crm") -> None:
    with db.session() as s:
        revoke_token(s, name, now=clock.now(), actor="ops")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(app: Flask, method: str, path: str, token: str | None, **kwargs: object) -> TestResponse:
    headers = bearer(token) if token is not None else {}
    return app.test_client().open(path, method=method, headers=headers, **kwargs)  # type: ignore[arg-type]


def escalate(app: Flask, phone: str = EN_PHONE) -> Caller:
    """A caller verifies in the IVR and presses 0: the desk enqueues them (signed webhooks)."""
    caller = Caller(app.test_client(), from_=phone)
    caller.start()
    caller.press("7391")
    caller.press("19710326")
    caller.press("0")
    assert caller.doc.find("Enqueue") is not None, caller.body
    return caller


def promise(
    db: Database,
    when: datetime,
    *,
    account_id: str = EN_ACCOUNT,
    amount: str = "50.00",
    due: date = date(2026, 12, 11),
    key: str | None = None,
) -> int:
    """An open promise, stored by the promises' writer as the IVR stores one."""
    with db.session() as s:
        made = record_promise(
            s,
            NewPromise(
                account_id=account_id,
                promised_date=due,
                amount=Decimal(amount),
                currency="USD",
                source="ivr",
                created_by="ivr",
                dedupe_key=key or f"test:{account_id}:{when.isoformat()}",
            ),
            now=when,
        )
        assert made is not None
        return made.id
