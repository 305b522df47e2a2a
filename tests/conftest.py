"""Shared fixtures: a real database for every test that needs one.

SQLite (a file in the test's tmp dir) by default. With ``DUECALL_TEST_DATABASE_URL`` set to a
PostgreSQL URL, the same tests run on PostgreSQL, each in a schema of its own that is dropped
afterwards. Tests that need PostgreSQL whatever the setting use ``pg_url``: outside CI they skip,
saying why, when no server answers; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_base_url() -> str:
    url = os.environ.get("DUECALL_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else DEFAULT_PG_URL


def _pg_available(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def _schema_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this test."""
    base = _pg_base_url()
    problem = _pg_available(base)
    if problem is not None:
        message = f"PostgreSQL at {base.split('@')[-1]} is not available ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " - required under CI=true")
        print(message)
        pytest.skip(message)
    yield from _schema_url(base)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The engine the suite runs on: PostgreSQL when DUECALL_TEST_DATABASE_URL says so."""
    if os.environ.get("DUECALL_TEST_DATABASE_URL", "").startswith("postgresql"):
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/duecall.db"


@pytest.fixture
def empty_db(db_url: str) -> Iterator[Database]:
    """A database with no schema yet."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A database migrated to the latest revision."""
    upgrade(empty_db)
    return empty_db


@pytest.fixture
def clock() -> FixedClock:
    """2026-11-29 15:00 UTC: a Sunday afternoon in New York, late evening in Shanghai."""
    return FixedClock(datetime(2026, 11, 29, 15, 0, tzinfo=UTC))


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Umask 000 for the test: a file duecall writes is private only if duecall makes it so."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)
