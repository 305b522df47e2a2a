"""Throw-away databases for the benchmarks: a SQLite file, or a schema of a PostgreSQL database."""

from __future__ import annotations

import resource
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.db import Database
from store.migrate import upgrade


def engine_name(url: str | None) -> str:
    """What the report calls the engine of ``url`` (None: SQLite in a temporary folder)."""
    return "SQLite" if url is None or url.startswith("sqlite") else "PostgreSQL"


@contextmanager
def scratch_url(url: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A URL of an empty database named ``name``, dropped afterwards.

    ``url`` None means a SQLite file in ``workdir``; a PostgreSQL URL gets a schema of its own
    (the role needs CREATE on the database), so the benchmark never touches what is there.
    """
    unique = f"{name}_{uuid.uuid4().hex[:8]}"
    if url is None or make_url(url).get_backend_name() == "sqlite":
        path = workdir / f"{unique}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    schema = f"bench_{unique}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def scratch_db(url: str | None, workdir: Path, name: str) -> Iterator[Database]:
    """A migrated :class:`Database` on :func:`scratch_url`, disposed and dropped afterwards."""
    with scratch_url(url, workdir, name) as scratch:
        db = Database(scratch)
        try:
            upgrade(db)
            yield db
        finally:
            db.dispose()


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1024
