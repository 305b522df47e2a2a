"""A stalled database costs a caller an apology and a callback, never the call's answer.

Twilio waits 15 seconds for a webhook; gunicorn kills a worker stuck longer. The web process's
store bounds every wait (``database.web_timeout_ms``, ``connect_timeout_seconds``): a lock that
is never released, or a database host that accepts and never answers, becomes an error, and the
fault barrier answers with valid TwiML. When the database is back, the next call is served.
These tests wait for the answer (a thread joined with a generous limit that fails the test
instead of hanging the suite); they do not time it.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from duecall.app import create_app
from duecall.settings import Settings, load_settings
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade
from tests.webhooks.voice_support import ENV, STRANGER, Caller, seed

APOLOGY = "We are sorry, something went wrong on our side."


def web_settings(url: str) -> Settings:
    base = load_settings(None, {**ENV, "DUECALL_DATABASE_URL": url})
    quick = base.database.model_copy(update={"web_timeout_ms": 300, "connect_timeout_seconds": 2})
    return base.model_copy(update={"database": quick})


def answered(app: Flask) -> str:
    """A new hotline call's first answer, failing (not hanging) if none comes."""
    result: list[str] = []
    caller = Caller(app.test_client(), from_=STRANGER)
    worker = threading.Thread(target=lambda: result.append(caller.start()), daemon=True)
    worker.start()
    worker.join(60)
    assert result, "the webhook never answered: a stalled database hung it"
    assert caller.status == 200
    return result[0]


def spoken(body: str) -> str:
    return " ".join(say.text or "" for say in ET.fromstring(body).iter("Say"))


def test_a_lock_held_on_postgresql_costs_an_apology_and_the_next_call_is_served(
    pg_url: str, clock: FixedClock
) -> None:
    db = Database(pg_url)
    upgrade(db)
    seed(db, clock.now())
    db.dispose()
    app = create_app(web_settings(pg_url), clock=clock)
    blocker = create_engine(pg_url).connect()
    transaction = blocker.begin()
    blocker.execute(text("LOCK TABLE ivr_sessions IN ACCESS EXCLUSIVE MODE"))
    try:
        assert APOLOGY in spoken(answered(app))
    finally:
        transaction.rollback()
        blocker.close()
    assert APOLOGY not in spoken(answered(app)), "served again as soon as the lock is gone"


def test_a_sqlite_writer_that_never_lets_go_costs_an_apology(
    tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path}/stall.db"
    db = Database(url)
    upgrade(db)
    seed(db, clock.now())
    db.dispose()
    app = create_app(web_settings(url), clock=clock)
    holder = sqlite3.connect(tmp_path / "stall.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert APOLOGY in spoken(answered(app))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert APOLOGY not in spoken(answered(app))


@pytest.fixture
def silent_host() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung database host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


def test_a_database_host_that_never_answers_costs_an_apology(
    silent_host: int, clock: FixedClock
) -> None:
    app = create_app(
        web_settings(f"postgresql+psycopg://postgres@127.0.0.1:{silent_host}/test"), clock=clock
    )
    assert APOLOGY in spoken(answered(app))
