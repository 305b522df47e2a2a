"""SQLite is configured for several processes; sessions commit and roll back at the boundary."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store.db import Database, sqlite_file


@pytest.fixture
def sqlite_db(tmp_path: object) -> Database:
    return Database(f"sqlite:///{tmp_path}/p.db", busy_timeout_ms=1234)


def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_sessions_begin_immediate_and_readonly_ones_do_not(sqlite_db: Database) -> None:
    statements: list[str] = []
    from sqlalchemy import event

    @event.listens_for(sqlite_db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with sqlite_db.session() as s:
        s.execute(text("SELECT 1"))
    with sqlite_db.session(readonly=True) as s:
        s.execute(text("SELECT 2"))
    begins = [st for st in statements if st.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_an_immediate_transaction_makes_a_second_writer_wait_not_fail(tmp_path: object) -> None:
    """While one writer holds the lock, another's BEGIN IMMEDIATE waits (then times out here)."""
    db = Database(f"sqlite:///{tmp_path}/w.db", busy_timeout_ms=200)
    with db.session() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    import sqlite3

    with db.session() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        other = sqlite3.connect(f"{tmp_path}/w.db", timeout=0.2, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    db.dispose()


def test_session_rolls_back_when_the_block_raises(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(RuntimeError), sqlite_db.session() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with sqlite_db.session(readonly=True) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_foreign_keys_are_enforced(db: Database) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy.exc import IntegrityError

    from tests import factories

    with pytest.raises(IntegrityError), db.session() as s:
        s.add(
            factories.payment(
                "P1",
                "no-such-account",
                "1.00",
                paid_on=date(2026, 1, 1),
                paid_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def test_create_false_never_makes_a_sqlite_file_or_its_folder(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/missing/p.db", create=False)
    with pytest.raises(OperationalError, match="unable to open database file"):
        db.engine.connect()
    db.dispose()
    assert list(tmp_path.iterdir()) == []


def test_create_false_opens_an_existing_file_for_writing_with_the_same_pragmas(
    tmp_path: Path,
) -> None:
    made = Database(f"sqlite:///{tmp_path}/p.db")
    with made.session() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    made.dispose()
    db = Database(f"sqlite:///{tmp_path}/p.db", create=False)
    with db.session() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    db.dispose()


def test_sqlite_file_names_the_file_of_a_sqlite_url_only() -> None:
    assert sqlite_file("sqlite:///var/duecall.db") == Path("var/duecall.db")
    assert sqlite_file("sqlite:////srv/duecall.db") == Path("/srv/duecall.db")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://postgres@127.0.0.1:5432/test") is None


@pytest.mark.usefixtures("loose_umask")
def test_a_new_sqlite_store_its_wal_and_shm_and_its_new_folders_are_private(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "stores" / "p.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.session() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        with db.engine.connect():
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode)
                for p in (path.parent.parent, path.parent, path, *path.parent.glob("p.db-*"))
            }
    finally:
        db.dispose()
    assert modes == {
        "var": 0o700,
        "stores": 0o700,
        "p.db": 0o600,
        "p.db-wal": 0o600,
        "p.db-shm": 0o600,
    }


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_store_file_and_folder_keep_their_modes(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "p.db"
    path.parent.mkdir(mode=0o750)
    path.parent.chmod(0o750)
    path.touch(mode=0o640)
    path.chmod(0o640)
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
