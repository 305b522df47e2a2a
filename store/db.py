"""Engine and session scope.

The boundary owns the session: a web request, a scheduler job or a CLI command
opens one with :meth:`Database.session`, which commits on success, rolls back on error and closes.
Services receive the session and never commit.

SQLite is made fit for several processes at connect time: WAL (readers never block the writer),
``busy_timeout`` (a writer waits for the lock instead of failing), foreign keys on, and every
transaction begun ``IMMEDIATE``. The last matters most: with the default deferred ``BEGIN`` a
transaction that reads and then writes fails at once with "database is locked" when another process
committed in between, and ``busy_timeout`` cannot help because SQLite would have to break the
snapshot. ``IMMEDIATE`` takes the write lock up front, so that transaction simply waits its turn.
Read-only scopes (``readonly=True``) use a deferred ``BEGIN`` and never wait for writers.
``synchronous=NORMAL`` in WAL mode: a commit is atomic and survives any process crash, and reaches
the disk at the next checkpoint, not at every commit; a power cut may undo the last few commits
(docs/deployment.md says what that costs, and when to prefer PostgreSQL).

Only the commands that create or migrate a store open it with ``create=True`` (the default). With
``create=False`` a SQLite file that does not exist stays absent -- no file, no folder -- and every
connection fails instead (SQLite's ``mode=rw``): a command that only uses an existing store must
not leave an empty one behind at a mistyped path.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

_READONLY = "duecall_readonly"


class Database:
    """An engine and its session factory, built once per process from a URL."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout_ms: int = 30_000,
        create: bool = True,
        limits: Limits | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, echo=echo, busy_timeout_ms=busy_timeout_ms, create=create, limits=limits
        )
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(
            bind=self.engine.execution_options(**{_READONLY: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """Open a session; commit when the block ends normally, roll back when it raises."""
        factory = self._readonly_sessions if readonly else self._sessions
        session = factory()
        try:
            yield session
            if not readonly:
                session.commit()
            # A read-only scope just closes: the connection's transaction is rolled back, and
            # the objects read stay usable (detached, not expired as a rollback would leave them).
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def commit_without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL's
    ``SET LOCAL synchronous_commit = off``; SQLite's WAL with ``synchronous=NORMAL`` already
    does). Atomic and ordered as ever: a crash of the database server can only lose the last
    such commits (up to three ``wal_writer_delay``, 0.6 s by default) whole, never corrupt or
    split one. For a write worth less than the 5 ms a flush costs on a plain disk: a call's
    move from one prompt to the next (:meth:`ivr.service.IvrService.store`); never for a fact
    that someone acts on, such as an attempt before its call or an opt-out.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///PATH`` URL names; None for other databases, memory and URIs."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def create_private_file(path: Path) -> None:
    """Make ``path`` an empty file readable and writable by its owner only (0600), and each
    folder above it that is missing private to its owner (0700); an existing file or folder is
    left as it is (its mode is the operator's choice).

    The store holds every cardholder's number, balance and verification digits. The file is
    created here, before SQLite opens it, because SQLite would create it with the umask's mode
    (usually 0644, readable by every local user); SQLite gives the ``-wal`` and ``-shm`` files
    the mode of the database file, so they are private too.
    """
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made by another process in between: not ours to change
        folder.chmod(0o700)  # the mode exactly, whatever the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Limits:
    """How long the store may keep a caller waiting (None: as long as it takes).

    The web process must answer Twilio within 15 seconds whatever the database does, or the
    cardholder hears dead air: a stalled database has to become an error quickly, which the
    fault barrier turns into an apology and a callback. ``connect_seconds`` bounds opening a
    connection (a host that accepts and never answers) and waiting for one from the pool;
    ``statement_ms`` bounds each statement and each lock wait on PostgreSQL
    (``statement_timeout``, ``lock_timeout``); SQLite's lock wait is the busy timeout.
    ``pool_size`` is PostgreSQL's connections per process.
    """

    connect_seconds: int | None = None
    statement_ms: int | None = None
    pool_size: int = 5


def make_engine(
    url: str,
    *,
    echo: bool = False,
    busy_timeout_ms: int = 30_000,
    create: bool = True,
    limits: Limits | None = None,
) -> Engine:
    """Create an engine; for SQLite, install the pragmas above and, when ``create``, make the
    file and its folder private to their owner (:func:`create_private_file`); without
    ``create``, a missing file is an error at connect time and nothing is made. ``limits``
    bound the waits (see :class:`Limits`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _postgresql_engine(url, echo=echo, limits=limits or Limits())

    path = sqlite_file(url)
    target: str | URL = url
    if path is not None and create:
        create_private_file(path)
    elif path is not None:
        # mode=rw opens an existing file for writing and never creates one.
        uri = f"file:{quote(str(path.resolve()))}"
        target = parsed.set(database=uri, query={**parsed.query, "mode": "rw", "uri": "true"})
    engine = create_engine(
        target,
        echo=echo,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below: pysqlite's own
        # implicit BEGIN is always deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: str, *, echo: bool, limits: Limits) -> Engine:
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {"pool_size": limits.pool_size}
    if limits.connect_seconds is not None:
        # libpq's connect_timeout is whole seconds, at least 2.
        connect_args["connect_timeout"] = max(2, limits.connect_seconds)
        options["pool_timeout"] = limits.connect_seconds
    engine = create_engine(
        url, echo=echo, pool_pre_ping=True, connect_args=connect_args, future=True, **options
    )
    if limits.statement_ms is not None:
        timeout = int(limits.statement_ms)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Set per connection, not in the URL's options (which may carry a search_path).
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET statement_timeout = {timeout}")
            cursor.execute(f"SET lock_timeout = {timeout}")
            cursor.close()
            dbapi_connection.commit()

    return engine
