"""The command line: exit codes, messages on the right stream, the import commands end to end."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from duecall.cli import cli, package_version
from store.db import Database
from store.models import Account

HEADER = (
    "account_id,name,phone,language,timezone,balance,minimum_due,due_date,days_past_due,"
    "card_last4,birth_date"
)
ROW = "{id},Pat Lee,+14155550123,en-US,,10.00,1.00,2026-11-01,3,1234,1980-01-01"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text("logging:\n  level: WARNING\n", encoding="utf-8")
    return {"DUECALL_CONFIG": str(config), "DUECALL_DATABASE_URL": db_url}


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_config_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: -1\ntwilio:\n  auth_token: x\n  colour: red\n", "utf-8")
    code, _, err = invoke(["--config", str(bad), "check-config"], {})
    assert code == 2
    assert "server.port: Input should be greater than or equal to 1" in err
    assert "twilio.auth_token: secrets are not read from the config file" in err
    assert "twilio.colour: unknown key" in err


def test_check_config_for_a_command_names_the_missing_secret(env: dict[str, str]) -> None:
    code, out, err = invoke(["check-config", "--for", "dialer"], env)
    assert code == 2
    assert "TWILIO_ACCOUNT_SID: not set (needed by `duecall dialer`" in err
    code, out, err = invoke(
        ["check-config", "--for", "dialer"],
        {**env, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t"},
    )
    assert code == 0, err
    assert "configuration OK" in out


def test_accounts_import_exits_0_when_everything_landed_and_3_with_rejects(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    assert invoke(["db", "upgrade"], env)[0] == 0
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, ROW.format(id="A1"), ROW.format(id="A2")]) + "\n", "utf-8")
    code, out, err = invoke(["accounts", "import", str(good)], env)
    assert code == 0, err
    assert "2 landed (2 new, 0 updated), 0 rejected" in out

    mixed = tmp_path / "mixed.csv"
    mixed.write_text("\n".join([HEADER, ROW.format(id="A3"), ROW.format(id="A 4")]) + "\n", "utf-8")
    code, out, err = invoke(["accounts", "import", str(mixed)], env)
    assert code == 3
    assert err.strip() == "line 3: account_id: must be 1-64 letters, digits, '.', '_' or '-'"
    assert "mixed.csv.rejects.csv" in out
    db = Database(db_url)
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 3
    db.dispose()


def test_an_unusable_file_exits_2_with_a_clear_message(env: dict[str, str], tmp_path: Path) -> None:
    invoke(["db", "upgrade"], env)
    code, _, err = invoke(["accounts", "import", str(tmp_path / "missing.csv")], env)
    assert code == 2
    assert "missing.csv: cannot open" in err
    headerless = tmp_path / "h.csv"
    headerless.write_text("payment_id,amount\n", "utf-8")
    code, _, err = invoke(["payments", "import", str(headerless)], env)
    assert code == 2
    assert "missing column(s): account_id, paid_at" in err


def test_version_prints_the_installed_version_without_reading_the_config(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    code, out, err = invoke(["--config", str(missing), "--version"], {})
    assert code == 0, err
    assert out == f"duecall {importlib.metadata.version('duecall')}\n"


def test_the_version_of_an_uninstalled_checkout_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert package_version() == "unknown"


def test_the_installed_console_script_runs(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [Path(sys.executable).with_name("duecall"), "check-config"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "configuration OK" in proc.stdout


def test_the_wsgi_factory_builds_the_app_from_the_environment(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from duecall.app import wsgi_app
    from duecall.settings import ConfigError

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN: not set"):
        wsgi_app()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv("DUECALL_SECRET_KEY", "k")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    # The web process redirects reminder calls on the AMD verdict: it needs the SID as `serve` does.
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID: not set"):
        wsgi_app()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    assert wsgi_app().test_client().get("/healthz").json == {"status": "ok"}
