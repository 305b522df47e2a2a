"""The deployment recipes in deploy/: gunicorn's settings, the systemd units, the PostgreSQL setup.

They are shipped as files an operator copies, so nothing else in the suite would notice a typo in
them: gunicorn ignores a misspelt setting, systemd ignores an unknown directive with a log line,
and a wrong GRANT shows up only when ``duecall db upgrade`` fails on the production server.
"""

from __future__ import annotations

import configparser
import os
import re
import runpy
import shlex
import shutil
import subprocess
import types
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from duecall.settings import COMMAND_SECRETS, SECRET_ENV
from store.db import Database
from store.migrate import current_revisions, upgrade

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
WEB_UNIT = DEPLOY / "systemd" / "duecall-web.service"
DIALER_UNIT = DEPLOY / "systemd" / "duecall-dialer.service"
ENV_EXAMPLE = DEPLOY / "systemd" / "duecall.env.example"
SETUP_SQL = DEPLOY / "postgres" / "setup.sql"

GUNICORN_ENV = ("DUECALL_BIND", "DUECALL_WEB_WORKERS", "FORWARDED_ALLOW_IPS")
#: Twilio waits this long for a webhook's answer, then fails the call.
TWILIO_WEBHOOK_WAIT_SECONDS = 15
#: The longest Twilio REST request the dialer may be in (``twilio.timeout_seconds``, at most 60).
LONGEST_TWILIO_REQUEST_SECONDS = 60


# gunicorn.conf.py -------------------------------------------------------------------------------


def load_gunicorn_conf(
    monkeypatch: pytest.MonkeyPatch, cores: int = 4, **env: str
) -> dict[str, Any]:
    """Run the config file as gunicorn does, with ``env`` (and nothing else of ours) set."""
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    return runpy.run_path(str(GUNICORN_CONF))


def gunicorn_settings(namespace: dict[str, Any]) -> dict[str, Any]:
    """The names gunicorn reads from the file: public, and neither modules nor helpers."""
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_")
        and name != "annotations"  # from __future__
        and not isinstance(value, types.ModuleType | types.FunctionType)
    }


def test_gunicorn_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)

    assert conf["bind"] == ["127.0.0.1:5000"]
    assert conf["worker_class"] == "sync"
    assert conf["preload_app"] is False
    assert conf["timeout"] == 20
    assert TWILIO_WEBHOOK_WAIT_SECONDS < conf["graceful_timeout"] <= conf["timeout"]
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["accesslog"] == "-"
    assert conf["errorlog"] == "-"
    assert conf["control_socket_disable"] is True


@pytest.mark.parametrize(("cores", "workers"), [(1, 3), (2, 5), (3, 7), (4, 8), (64, 8)])
def test_gunicorn_workers_default_to_two_per_core_plus_one_capped_at_8(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int
) -> None:
    assert load_gunicorn_conf(monkeypatch, cores=cores)["workers"] == workers


def test_gunicorn_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(
        monkeypatch,
        DUECALL_BIND="unix:/run/duecall/web.sock, 10.0.0.7:8000",
        DUECALL_WEB_WORKERS="12",  # an explicit count is not capped
        FORWARDED_ALLOW_IPS="10.0.0.5,10.0.0.6",
    )
    assert conf["bind"] == ["unix:/run/duecall/web.sock", "10.0.0.7:8000"]
    assert conf["workers"] == 12
    assert conf["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"


@pytest.mark.parametrize("value", ["0", "-1", "two", "2.5"])
def test_a_bad_worker_count_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValueError, match="DUECALL_WEB_WORKERS"):
        load_gunicorn_conf(monkeypatch, DUECALL_WEB_WORKERS=value)


class _Atoms(dict[str, str]):
    """gunicorn's access-log atoms for one webhook request; any other atom renders as '-'."""

    def __missing__(self, key: str) -> str:
        return "-"


def test_the_access_log_leaves_out_query_strings_and_referrers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_format = load_gunicorn_conf(monkeypatch)["access_log_format"]
    for atom in ("%(r)s", "%(q)s", "%(f)s"):  # request line, query string, referrer
        assert atom not in log_format
    atoms = _Atoms(
        h="127.0.0.1",
        m="POST",
        U="/twilio/voice/status",
        q="attempt=42&number=%2B14155550100",
        r="POST /twilio/voice/status?attempt=42&number=%2B14155550100 HTTP/1.1",
        f="https://duecall.example.com/desk/search?number=%2B14155550100",
        s="204",
        M="12",
        a="TwilioProxy/1.1",
    )
    atoms["{x-forwarded-for}i"] = "54.172.60.1"

    line = log_format % atoms

    assert "POST /twilio/voice/status " in line
    assert "attempt" not in line
    assert "14155550100" not in line
    assert "54.172.60.1" in line and "12ms" in line


def test_every_name_in_the_gunicorn_conf_is_a_gunicorn_setting_it_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gunicorn silently ignores a name that is not a setting: a typo would change nothing."""
    try:
        from gunicorn.config import Config
    except ImportError:
        message = "gunicorn is not installed (a runtime dependency: pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " - required under CI=true")
        print(message)
        pytest.skip(message)
    conf = gunicorn_settings(load_gunicorn_conf(monkeypatch, cores=2))
    config = Config()
    for name, value in conf.items():
        assert name in config.settings, f"{name} is not a gunicorn setting"
        config.set(name, value)  # runs gunicorn's validator
    assert config.workers == 5
    assert config.worker_class_str == "sync"
    assert config.forwarded_allow_ips == ["127.0.0.1", "::1"]


# systemd units ----------------------------------------------------------------------------------


def parse_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def directives(path: Path, key: str) -> list[str]:
    """Every value of a directive that may repeat (configparser keeps only the last one)."""
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith(("#", ";")) and name.strip() == key:
            values.append(value.strip())
    return values


def credentials(path: Path) -> dict[str, str]:
    """Environment ``NAME_FILE`` -> the credential id it names, checked against LoadCredential."""
    loaded = {value.split(":", 1)[0] for value in directives(path, "LoadCredential")}
    named: dict[str, str] = {}
    for assignment in directives(path, "Environment"):
        name, _, value = assignment.partition("=")
        if name.endswith("_FILE"):
            assert value.startswith("%d/"), f"{name} must name a file in the credentials dir"
            credential = value.removeprefix("%d/")
            assert credential in loaded, f"{name}: no LoadCredential={credential}:..."
            named[name.removesuffix("_FILE")] = credential
    return named


@pytest.mark.parametrize("unit", [WEB_UNIT, DIALER_UNIT], ids=lambda p: p.name)
def test_the_units_parse_and_restart_on_failure(unit: Path) -> None:
    parser = parse_unit(unit)

    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    service = parser["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"] == "/etc/duecall/duecall.env"
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_web_unit_runs_gunicorn_on_the_app_factory() -> None:
    service = parse_unit(WEB_UNIT)["Service"]
    argv = shlex.split(service["ExecStart"])

    assert PurePosixPath(argv[0]).name == "gunicorn"
    assert argv[1:] == ["-c", "/etc/duecall/gunicorn.conf.py", "duecall.app:wsgi_app()"]
    assert shlex.split(service["ExecStartPre"])[1:] == ["check-config", "--for", "serve"]


def test_the_web_unit_waits_for_the_webhooks_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    graceful = load_gunicorn_conf(monkeypatch)["graceful_timeout"]
    assert int(parse_unit(WEB_UNIT)["Service"]["TimeoutStopSec"]) > graceful


def test_the_dialer_unit_runs_the_worker_and_waits_for_the_call_in_progress() -> None:
    service = parse_unit(DIALER_UNIT)["Service"]
    argv = shlex.split(service["ExecStart"])

    assert PurePosixPath(argv[0]).name == "duecall"
    assert argv[1:] == ["dialer"]
    assert shlex.split(service["ExecStartPre"])[1:] == ["check-config", "--for", "dialer"]
    assert int(service["TimeoutStopSec"]) > LONGEST_TWILIO_REQUEST_SECONDS
    assert service["RestartPreventExitStatus"] == "2"  # a usage error: restarting cannot help


@pytest.mark.parametrize(
    ("unit", "command"), [(WEB_UNIT, "serve"), (DIALER_UNIT, "dialer")], ids=["web", "dialer"]
)
def test_each_unit_gets_the_secrets_its_command_needs_as_credential_files(
    unit: Path, command: str
) -> None:
    named = credentials(unit)

    assert set(COMMAND_SECRETS[command]) <= set(named)
    assert set(named) <= set(SECRET_ENV)
    for assignment in directives(unit, "Environment"):
        assert assignment.split("=", 1)[0] not in SECRET_ENV, f"inline secret: {assignment}"


def test_the_dialer_does_not_get_the_web_session_key() -> None:
    assert "DUECALL_SECRET_KEY" not in credentials(DIALER_UNIT)
    assert "DUECALL_SECRET_KEY" in credentials(WEB_UNIT)


SECRET_LOOKING = [
    re.compile(r"\bAC[0-9a-f]{32}\b"),  # an account SID
    re.compile(r"\b[0-9a-f]{32}\b"),  # an auth token
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),  # a password in a URL
    # NAME=value for a secret-looking NAME (NAME_FILE=path is how secrets are named)
    re.compile(r"(?i)^\s*(?![A-Z_]*_FILE\s*=)[A-Z_]*(TOKEN|SECRET|PASSWORD|SID)[A-Z_]*\s*="),
]


@pytest.mark.parametrize("path", [WEB_UNIT, DIALER_UNIT, ENV_EXAMPLE], ids=lambda p: p.name)
def test_no_secret_values_inline(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        value = line.removeprefix("Environment=")
        for pattern in SECRET_LOOKING:
            assert not pattern.search(value), f"{path.name}:{number}: {line}"


def test_the_environment_file_sets_only_the_non_secret_settings() -> None:
    names = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert names == {"DUECALL_CONFIG", "DUECALL_DATABASE_URL", "DUECALL_PUBLIC_URL"}


@pytest.mark.parametrize("unit", [WEB_UNIT, DIALER_UNIT], ids=lambda p: p.name)
def test_the_units_are_hardened(unit: Path) -> None:
    service = parse_unit(unit)["Service"]

    assert (service["User"], service["Group"]) == ("duecall", "duecall")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["ProtectHome"] == "yes"
    assert service["StateDirectory"] == "duecall"
    assert service["ReadWritePaths"].split() == ["/var/lib/duecall"]
    assert service["WorkingDirectory"] == "/var/lib/duecall"


#: What `systemd-analyze verify` may say about a unit on a machine where duecall is not installed.
EXPECTED_ON_A_BUILD_MACHINE = [
    re.compile(r"Command \S+ is not executable: No such file or directory"),
    re.compile(r"(?i)\b(user|group)\b.*\bduecall\b"),
]


def test_systemd_analyze_verify_finds_nothing_but_the_missing_install() -> None:
    """systemd-analyze catches what the INI checks above cannot (an unknown directive, a bad
    value). Outside CI a machine without systemd skips it, saying so; ``.ci/run`` installs it."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        message = "systemd-analyze is not on PATH; the units were checked as INI only"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " - .ci/run installs Debian's systemd package")
        print(message)
        pytest.skip(message)
    result = subprocess.run(
        [tool, "verify", str(WEB_UNIT), str(DIALER_UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
        check=False,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    unexpected = [
        line
        for line in lines
        if not any(pattern.search(line) for pattern in EXPECTED_ON_A_BUILD_MACHINE)
    ]
    assert unexpected == [], "\n".join(unexpected)


# PostgreSQL setup.sql ---------------------------------------------------------------------------


def psql_blocks(script: str) -> Iterator[tuple[str | None, list[str]]]:
    """(database or None for the first, statements) per ``\\connect`` block of a psql script."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    parts = re.split(r"^\\connect\s+(\S+)\s*$", without_comments, flags=re.MULTILINE)
    databases: list[str | None] = [None, *parts[1::2]]
    for database, block in zip(databases, parts[0::2], strict=True):
        assert "\\" not in block, "only \\connect is understood here"
        statements = [s.strip() for s in block.split(";") if s.strip()]
        yield database, statements


def run_as(url: URL, *statements: str) -> list[Any]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        values = []
        with engine.connect() as conn:
            for statement in statements:
                result = conn.execute(text(statement))
                values.append(result.scalar() if result.returns_rows else None)
        return values
    finally:
        engine.dispose()


def test_setup_sql_makes_a_role_that_owns_its_database_and_can_migrate_it(pg_url: str) -> None:
    server = make_url(pg_url).set(query={})
    name = f"duecall_t{uuid.uuid4().hex[:10]}"
    outsider = f"{name}_other"
    password = uuid.uuid4().hex  # for servers whose pg_hba.conf does not trust 127.0.0.1
    script = re.sub(r"\bduecall\b", name, SETUP_SQL.read_text(encoding="utf-8"))
    as_role = server.set(username=name, password=password, database=name)
    try:
        for database, statements in psql_blocks(script):
            run_as(server if database is None else server.set(database=database), *statements)
        run_as(
            server,
            f"ALTER ROLE {name} PASSWORD '{password}'",
            f"CREATE ROLE {outsider} LOGIN PASSWORD '{password}'",
        )

        owner, encoding, outsider_connect = run_as(
            server,
            f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'",
            f"SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '{name}'",
            f"SELECT has_database_privilege('{outsider}', '{name}', 'CONNECT')",
        )
        assert (owner, encoding, outsider_connect) == (name, "UTF8", False)
        assert run_as(
            server.set(database=name),
            f"SELECT has_schema_privilege('{outsider}', 'public', 'CREATE')",
            f"SELECT has_schema_privilege('{name}', 'public', 'CREATE')",
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication"
            f" FROM pg_roles WHERE rolname = '{name}'",
        ) == [False, True, False]
        with pytest.raises(OperationalError, match="permission denied"):
            run_as(server.set(username=outsider, password=password, database=name), "SELECT 1")

        # What `duecall db upgrade` does, as the new role.
        db = Database(as_role.render_as_string(hide_password=False))
        try:
            upgrade(db)
            assert current_revisions(db)
        finally:
            db.dispose()
    finally:
        run_as(
            server,
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"DROP ROLE IF EXISTS {name}",
            f"DROP ROLE IF EXISTS {outsider}",
        )
