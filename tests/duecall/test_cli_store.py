"""Commands that use an existing store never create one, and say in one line what is wrong."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from duecall.cli import cli
from store.db import Database
from store.migrate import head_revisions, upgrade

#: Every command that reads or changes an existing store and may not create one.
STORE_COMMANDS = [
    ["campaign", "list"],
    ["campaign", "pause", "--all"],
    ["sms", "inbox"],
    ["report"],
    ["export", "promises"],
    ["suppress", "add", "--number", "+14155550123", "--kind", "dnc", "--reason", "asked"],
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"logging": {"level": "INFO"}}), encoding="utf-8")
    return path


def invoke(config: Path, url: str, *args: str) -> tuple[int, str, str]:
    env = {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": url}
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def missing_line(url: str) -> str:
    return (
        f"no duecall database at {url}: run `duecall db upgrade` or point "
        "DUECALL_DATABASE_URL at one\n"
    )


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_a_store_command_on_a_missing_sqlite_file_creates_nothing_and_says_one_line(
    command: list[str], config: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/mistyped/nested/duecall.db"
    code, out, err = invoke(config, url, *command)
    assert (code, out, err) == (2, "", missing_line(url))
    assert not (tmp_path / "mistyped").exists()  # neither the file nor its folders


def test_a_relative_sqlite_path_is_looked_for_and_not_made_in_the_working_folder(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(config, "sqlite:///var/duecall.db", "campaign", "list")
    assert (code, err) == (2, missing_line("sqlite:///var/duecall.db"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_an_empty_unmigrated_sqlite_file_gives_the_same_line(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    url = f"sqlite:///{path}"
    for command in (["sms", "inbox"], ["report"]):
        code, out, err = invoke(config, url, *command)
        assert (code, out, err) == (2, "", missing_line(url))
    with sqlite3.connect(path) as conn:  # and nothing was migrated into it
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def head() -> str:
    """This version's one migration head."""
    (only,) = head_revisions(Database("sqlite://"))
    return str(only)


def test_a_store_behind_this_version_asks_for_db_upgrade(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    db = Database(url)
    upgrade(db, "0007")
    db.dispose()
    code, out, err = invoke(config, url, "campaign", "list")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"the duecall database at {url} is at revision 0007, behind this version's {head()}: "
        "run `duecall db upgrade`"
    ]


def test_a_store_migrated_by_a_newer_version_says_so(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    db = Database(url)
    upgrade(db)
    db.dispose()
    with sqlite3.connect(tmp_path / "new.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    code, _, err = invoke(config, url, "report")
    assert code == 2
    assert err.splitlines() == [
        f"the duecall database at {url} is at revision 0099, which this version of duecall "
        "does not know: it was migrated by a newer one"
    ]


def test_a_file_that_is_not_a_database_cannot_be_opened(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, " * 100, encoding="utf-8")
    code, _, err = invoke(config, f"sqlite:///{path}", "campaign", "list")
    assert code == 1
    assert err.splitlines() == [
        f"cannot open the database at sqlite:///{path}: file is not a database"
    ]


def _closed_port() -> int:
    # A port the kernel just handed out and nobody listens on any more.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_closed_postgresql_port_says_cannot_reach_without_the_password(config: Path) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/test"
    code, out, err = invoke(config, url, "campaign", "list")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    shown = f"postgresql+psycopg://postgres:***@127.0.0.1:{port}/test"
    assert lines[0].startswith(f"cannot reach the database at {shown}: ")
    assert "refused" in lines[0].lower()
    assert "hunter2" not in err
    assert "db upgrade" not in err


def test_commands_that_create_the_store_still_do(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/duecall.db"
    code, out, err = invoke(config, url, "db", "upgrade")
    assert code == 0, err
    assert f"database at revision {head()}" in out
    assert (tmp_path / "fresh" / "duecall.db").is_file()
    code, out, err = invoke(config, url, "sms", "inbox")
    assert code == 0, err
    assert "SMS inbox (0)" in out
    # The store check itself is quiet, even with the log at INFO.
    assert err == ""
