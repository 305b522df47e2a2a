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


# check-config: what it read, what it requires, what it warns about -----------------------------

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "fedcba9876543210" * 2
SESSION_KEY = "k" * 40
#: Every variable check-config reads, unset, so the developer's own environment cannot leak in.
CLEAN: dict[str, str | None] = {
    name: None
    for base in (
        "DUECALL_CONFIG",
        "DUECALL_DATABASE_URL",
        "DUECALL_PUBLIC_URL",
        "DUECALL_TWILIO_API_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "DUECALL_SECRET_KEY",
    )
    for name in (base, f"{base}_FILE")
}
LIVE_YAML = """
database: {url: "postgresql+psycopg://duecall@db.bank.internal/duecall"}
server: {public_url: "https://duecall.bank.com"}
twilio: {caller_id: "+12125550142"}
logging: {level: WARNING}
"""


def check(args: list[str], env: dict[str, str | None]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env={**CLEAN, **env}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_config_names_the_file_it_read_as_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path.resolve()
    (here / "config.yaml").write_text("logging: {level: WARNING}\n", "utf-8")
    (here / "empty").mkdir()
    monkeypatch.chdir(here)
    for args in (["--config", "config.yaml"], ["--config", "empty/../config.yaml"], []):
        code, out, err = check([*args, "check-config"], {})
        assert code == 0, err
        assert out.splitlines()[0] == f"read: {here / 'config.yaml'}"
    code, out, _ = check(["check-config"], {"DUECALL_CONFIG": "config.yaml"})
    assert code == 0
    assert out.splitlines()[0] == f"read: {here / 'config.yaml'}"
    monkeypatch.chdir(here / "empty")
    code, out, _ = check(["check-config"], {})
    assert code == 0
    assert out.splitlines()[0] == "read: built-in defaults, no file"


def test_check_config_names_the_variables_that_set_values(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN, "utf-8")
    code, out, err = check(
        ["check-config"],
        {
            "DUECALL_PUBLIC_URL": "https://duecall.bank.com",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN_FILE": str(token),
        },
    )
    assert code == 0, err
    assert "environment: server.public_url from DUECALL_PUBLIC_URL" in out.splitlines()
    assert (
        "secrets set: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN from TWILIO_AUTH_TOKEN_FILE"
        in out.splitlines()
    )


def test_a_misspelt_key_suggests_the_nearest_one(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sms:\n  max_segment: 2\n", "utf-8")
    code, _, err = check(["--config", str(config), "check-config"], {})
    assert code == 2
    assert "sms.max_segment: unknown key; did you mean `max_segments`?" in err.splitlines()


def test_serve_and_check_config_for_serve_require_the_account_sid(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIVE_YAML, "utf-8")
    env: dict[str, str | None] = {
        "DUECALL_CONFIG": str(config),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "DUECALL_SECRET_KEY": SESSION_KEY,
    }
    needed = (
        "TWILIO_ACCOUNT_SID: not set (needed by `duecall serve`; set it or TWILIO_ACCOUNT_SID_FILE)"
    )
    for args in (["check-config", "--for", "serve"], ["serve"]):
        code, _, err = check(args, env)
        assert code == 2
        assert err.splitlines() == [needed]
    code, out, err = check(["check-config", "--for", "serve"], {**env, "TWILIO_ACCOUNT_SID": SID})
    assert code == 0, err
    assert "configuration OK" in out.splitlines()


def test_production_problems_are_warnings_without_live_and_errors_with_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("logging: {level: WARNING}\n", "utf-8")
    env: dict[str, str | None] = {
        "DUECALL_CONFIG": str(config),
        "DUECALL_TWILIO_API_URL": "http://127.0.0.1:8765",
        "TWILIO_ACCOUNT_SID": "AC123",
        "TWILIO_AUTH_TOKEN": "t",
    }
    expected_keys = [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "server.public_url",  # http://
        "server.public_url",  # 127.0.0.1
        "twilio.caller_id",
        "twilio.api_url",
    ]
    code, out, err = check(["check-config"], env)
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert "configuration OK" in lines
    start = lines.index("warnings: 6 (errors with --live; not counted in the exit code)")
    warnings = lines[start + 1 : start + 7]
    assert [w.strip().split(":", 1)[0] for w in warnings] == expected_keys
    # SQLite limits production to one worker but fails nothing: a note, with or without --live.
    assert lines[start + 7].startswith("note: database.url: is SQLite")

    code, out, err = check(["check-config", "--live"], env)
    assert code == 2
    assert "configuration OK" not in out
    assert [e.split(":", 1)[0] for e in err.splitlines()] == expected_keys
    assert err.splitlines() == [w.strip() for w in warnings]


def test_live_passes_a_production_configuration(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIVE_YAML, "utf-8")
    env: dict[str, str | None] = {
        "DUECALL_CONFIG": str(config),
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "DUECALL_SECRET_KEY": SESSION_KEY,
    }
    for command in ("serve", "dialer"):
        code, out, err = check(["check-config", "--live", "--for", command], env)
        assert code == 0, err
        assert "configuration OK for production" in out.splitlines()
        assert "warnings" not in out


def test_check_config_never_prints_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIVE_YAML, "utf-8")
    key_file = tmp_path / "key"
    key_file.write_text("session-key-from-a-file\n", "utf-8")
    values = ("ACmy-account-sid-value", "my-auth-token-value", "session-key-from-a-file")
    env: dict[str, str | None] = {
        "DUECALL_CONFIG": str(config),
        "TWILIO_ACCOUNT_SID": values[0],
        "TWILIO_AUTH_TOKEN": values[1],
        "DUECALL_SECRET_KEY_FILE": str(key_file),
    }
    for args in (
        ["check-config"],
        ["check-config", "--live"],
        ["check-config", "--live", "--for", "serve"],
    ):
        code, out, err = check(args, env)
        assert "TWILIO_AUTH_TOKEN" in out + err  # the secret is named...
        for value in values:
            assert value not in out + err  # ...its value never shown
    assert code == 2  # the malformed SID and token, with --live


def test_check_config_refuses_credentials_in_urls_and_never_prints_them(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIVE_YAML, "utf-8")
    base: dict[str, str | None] = {
        "DUECALL_CONFIG": str(config),
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
    }
    refused = {
        "DUECALL_PUBLIC_URL": "https://ops:pw-in-public-url@duecall.bank.com",
        "DUECALL_TWILIO_API_URL": f"https://{SID}:{TOKEN}@api.bank.com",
    }
    for name, url in refused.items():
        code, out, err = check(["check-config"], {**base, name: url})
        assert code == 2
        assert "must not carry a user name or password" in err
        assert url not in out + err and "pw-in-public-url" not in out + err
        assert TOKEN not in out + err
    # A database password in the variable: a warning, an error with --live, never shown.
    db = {**base, "DUECALL_DATABASE_URL": "postgresql+psycopg://duecall:pw-in-db@db/duecall"}
    code, out, err = check(["check-config"], db)
    assert code == 0 and "database.url: carries a password" in out
    code, out, err = check(["check-config", "--live"], db)
    assert code == 2 and "database.url: carries a password" in err
    assert "pw-in-db" not in out + err


def test_importing_the_wrong_kind_of_file_names_the_right_command(
    env: dict[str, str], tmp_path: Path
) -> None:
    invoke(["db", "upgrade"], env)
    payments = tmp_path / "payments.csv"
    payments.write_text("payment_id,account_id,amount,paid_at\nP1,A1,5.00,2026-12-01\n", "utf-8")
    code, _, err = invoke(["accounts", "import", str(payments)], env)
    assert code == 2
    assert err.strip() == (
        f"{payments}: line 1: this looks like a payments file: use `duecall payments import`"
    )
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        HEADER.replace("language", "langauge") + "\n" + ROW.format(id="A1"), "utf-8"
    )
    code, _, err = invoke(["accounts", "import", str(accounts)], env)
    assert code == 2
    assert "unknown column(s): langauge (did you mean `language`?)" in err
