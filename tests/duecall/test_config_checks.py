"""What `check-config --live` refuses: valid settings that would fail against the real Twilio."""

from __future__ import annotations

from pathlib import Path

import pytest

from duecall.config_checks import production_notes, production_problems
from duecall.settings import Settings, load_settings

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "fedcba9876543210" * 2
LIVE_YAML = """
database: {url: "postgresql+psycopg://duecall@db.bank.internal/duecall"}
server: {public_url: "https://duecall.bank.com"}
twilio: {caller_id: "+12125550142"}
"""


def settings(tmp_path: Path, yaml: str = LIVE_YAML, **env: str) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(yaml, encoding="utf-8")
    return load_settings(path, {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, **env})


def test_a_production_configuration_has_no_problem(tmp_path: Path) -> None:
    assert production_problems(settings(tmp_path)) == []


def test_the_shipped_defaults_are_for_the_demo_not_for_production(tmp_path: Path) -> None:
    assert production_problems(settings(tmp_path, "")) == [
        "server.public_url: is http://, not https://: Twilio would send cardholders' keypresses "
        "and the signed webhooks in clear text",
        "server.public_url: its host 127.0.0.1 is this machine: Twilio cannot reach it to fetch "
        "TwiML or post callbacks; use the public https address of the web process",
        "twilio.caller_id: +15005550006 is one of Twilio's magic test numbers; they work only "
        "with test credentials: use a number of your Twilio account",
    ]
    assert production_notes(settings(tmp_path, "")) == [
        "database.url: is SQLite, which is fine for one worker; several dialer or web workers "
        "need PostgreSQL (postgresql+psycopg://...)",
    ]


def test_a_plain_http_public_url_is_named_with_the_variable_that_set_it(tmp_path: Path) -> None:
    got = production_problems(settings(tmp_path, DUECALL_PUBLIC_URL="http://duecall.bank.com"))
    assert got == [
        "server.public_url: is http:// (from DUECALL_PUBLIC_URL), not https://: Twilio would "
        "send cardholders' keypresses and the signed webhooks in clear text"
    ]


@pytest.mark.parametrize(
    ("url", "host", "why"),
    [
        ("https://localhost:8443", "localhost", "is this machine"),
        ("https://tunnel.localhost", "tunnel.localhost", "is this machine"),
        ("https://127.0.0.1", "127.0.0.1", "is this machine"),
        ("https://[::1]:5000", "::1", "is this machine"),
        ("https://0.0.0.0", "0.0.0.0", "is this machine"),
        ("https://10.0.0.5", "10.0.0.5", "is a private address"),
        ("https://192.168.1.20", "192.168.1.20", "is a private address"),
        ("https://duecall.example.com", "duecall.example.com", "is a reserved example domain"),
        ("https://example.org", "example.org", "is a reserved example domain"),
        ("https://duecall.test", "duecall.test", "is a reserved example domain"),
    ],
)
def test_a_public_url_twilio_cannot_reach_is_a_problem(
    tmp_path: Path, url: str, host: str, why: str
) -> None:
    got = production_problems(settings(tmp_path, DUECALL_PUBLIC_URL=url))
    assert got == [
        f"server.public_url: its host {host} (from DUECALL_PUBLIC_URL) {why}: Twilio cannot "
        "reach it to fetch TwiML or post callbacks; use the public https address of the web process"
    ]


@pytest.mark.parametrize(
    "url", ["https://duecall.bank.com", "https://8.8.8.8", "https://examples.com"]
)
def test_a_public_host_is_not_a_problem(tmp_path: Path, url: str) -> None:
    assert production_problems(settings(tmp_path, DUECALL_PUBLIC_URL=url)) == []


@pytest.mark.parametrize("number", ["+15005550006", "+15005550001", "+15005559999"])
def test_twilio_magic_test_numbers_are_no_caller_id(tmp_path: Path, number: str) -> None:
    got = production_problems(settings(tmp_path, LIVE_YAML.replace("+12125550142", number)))
    assert got == [
        f"twilio.caller_id: {number} is one of Twilio's magic test numbers; they work only with "
        "test credentials: use a number of your Twilio account"
    ]


def test_an_api_url_is_a_problem_wherever_it_points(tmp_path: Path) -> None:
    simulator = settings(tmp_path, DUECALL_TWILIO_API_URL="http://127.0.0.1:8765")
    assert production_problems(simulator) == [
        "twilio.api_url: sends every Twilio request to 127.0.0.1 (from DUECALL_TWILIO_API_URL), "
        "not to Twilio (the simulator's setting); leave it unset in production"
    ]
    twilio = settings(
        tmp_path, LIVE_YAML.replace("twilio: {", 'twilio: {api_url: "https://api.twilio.com", ')
    )
    assert production_problems(twilio) == [
        "twilio.api_url: is set; in production leave it unset (Twilio's own hosts are chosen by "
        "twilio.region and twilio.edge)"
    ]


def test_sqlite_is_named_as_fine_for_one_worker_and_is_never_a_problem(tmp_path: Path) -> None:
    on_sqlite = settings(tmp_path, DUECALL_DATABASE_URL="sqlite:///var/duecall.db")
    assert production_problems(on_sqlite) == []
    got = production_notes(on_sqlite)
    assert got == [
        "database.url: is SQLite (from DUECALL_DATABASE_URL), which is fine for one worker; "
        "several dialer or web workers need PostgreSQL (postgresql+psycopg://...)"
    ]


@pytest.mark.parametrize(
    ("sid", "token", "expected"),
    [
        (
            "AC123",
            TOKEN,
            "TWILIO_ACCOUNT_SID: not an account SID (AC followed by 32 hex digits): the value has "
            "5 characters, not 34",
        ),
        (
            "SK" + "0" * 32,
            TOKEN,
            "TWILIO_ACCOUNT_SID: not an account SID (AC followed by 32 hex digits): the value does "
            "not start with AC",
        ),
        (
            "AC" + "g" * 32,
            TOKEN,
            "TWILIO_ACCOUNT_SID: not an account SID (AC followed by 32 hex digits): the value has "
            "characters that are not hex digits",
        ),
        (
            SID,
            "not-a-token",
            "TWILIO_AUTH_TOKEN: not an auth token (32 hex digits): the value has 11 characters, "
            "not 32",
        ),
        (
            SID,
            "z" * 32,
            "TWILIO_AUTH_TOKEN: not an auth token (32 hex digits): the value has characters that "
            "are not hex digits",
        ),
    ],
)
def test_credentials_of_the_wrong_shape_are_described_never_shown(
    tmp_path: Path, sid: str, token: str, expected: str
) -> None:
    got = production_problems(settings(tmp_path, TWILIO_ACCOUNT_SID=sid, TWILIO_AUTH_TOKEN=token))
    assert got == [expected]
    assert sid not in got[0] and token not in got[0]


def test_a_secret_from_a_file_is_named_by_the_file_variable(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("hunter2\n", encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(LIVE_YAML, encoding="utf-8")
    got = production_problems(
        load_settings(path, {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN_FILE": str(token_file)})
    )
    assert got == [
        "TWILIO_AUTH_TOKEN: not an auth token (32 hex digits): the value (from "
        "TWILIO_AUTH_TOKEN_FILE) has 7 characters, not 32"
    ]


def test_a_database_password_in_a_variable_is_a_problem_in_a_file_it_is_not(
    tmp_path: Path,
) -> None:
    url = "postgresql+psycopg://duecall:s3cret@db.bank.internal/duecall"
    got = production_problems(settings(tmp_path, DUECALL_DATABASE_URL=url))
    assert got == [
        "database.url: carries a password in DUECALL_DATABASE_URL; put the URL in a file named "
        "by DUECALL_DATABASE_URL_FILE instead (deploy/systemd: LoadCredential=)"
    ]
    url_file = tmp_path / "database_url"
    url_file.write_text(url + "\n", encoding="utf-8")
    assert production_problems(settings(tmp_path, DUECALL_DATABASE_URL_FILE=str(url_file))) == []
