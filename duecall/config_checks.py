"""What would fail in production although the configuration is valid: `check-config --live`.

A valid configuration may still point at the simulator, at a test number or at a URL Twilio cannot
reach: the demo and the tests rely on exactly that, so these are warnings, and errors only when
asked for (``--live``). :func:`production_problems` names each such
value as ``key.path: message``. A secret's value is never part of a message: only its length and
what is wrong with its shape.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from duecall.settings import Settings, url_has_password

__all__ = ["production_notes", "production_problems"]

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
AUTH_TOKEN = re.compile(r"[0-9a-fA-F]{32}")
# Twilio's magic numbers (+15005550000 to +15005550009 and the rest of +1 500 555): they work
# only with test credentials; a real account cannot call or text from them.
MAGIC_NUMBER = re.compile(r"\+1500555\d{4}")
# RFC 2606 / RFC 6761 names that never reach a real server.
RESERVED_DOMAINS = ("example", "example.com", "example.net", "example.org", "test", "invalid")
LOCAL_NAMES = ("localhost",)


def production_problems(settings: Settings) -> list[str]:
    """Every value that would fail against the real Twilio with real traffic, as
    ``key.path: message``; [] when none."""
    return [
        *_secret_shapes(settings),
        *_database_password(settings),
        *_public_url(settings),
        *_twilio(settings),
    ]


def production_notes(settings: Settings) -> list[str]:
    """What holds in production but limits it (SQLite: one worker); never an error."""
    return _database(settings)


def _from(settings: Settings, key: str) -> str:
    """`` (from VARIABLE)`` when the environment set ``key``: the operator knows where to look."""
    origin = settings.origins.get(key)
    return f" (from {origin})" if origin and origin != key else ""


def _shape(value: str, prefix: str, hex_digits: int) -> str:
    """What is wrong with ``value``'s shape, without any of its characters."""
    expected = len(prefix) + hex_digits
    wrong = []
    if prefix and not value.startswith(prefix):
        wrong.append(f"does not start with {prefix}")
    if len(value) != expected:
        wrong.append(f"has {len(value)} characters, not {expected}")
    elif not re.fullmatch(r"[0-9a-fA-F]*", value[len(prefix) :]):
        wrong.append("has characters that are not hex digits")
    return ", ".join(wrong)


def _secret_shapes(settings: Settings) -> list[str]:
    problems = []
    sid = settings.secrets.twilio_account_sid
    if sid is not None and not ACCOUNT_SID.fullmatch(sid.get_secret_value()):
        problems.append(
            "TWILIO_ACCOUNT_SID: not an account SID (AC followed by 32 hex digits): the value"
            f"{_from(settings, 'TWILIO_ACCOUNT_SID')} {_shape(sid.get_secret_value(), 'AC', 32)}"
        )
    token = settings.secrets.twilio_auth_token
    if token is not None and not AUTH_TOKEN.fullmatch(token.get_secret_value()):
        problems.append(
            "TWILIO_AUTH_TOKEN: not an auth token (32 hex digits): the value"
            f"{_from(settings, 'TWILIO_AUTH_TOKEN')} {_shape(token.get_secret_value(), '', 32)}"
        )
    return problems


def _database_password(settings: Settings) -> list[str]:
    """A database URL with a password belongs in a file (``DUECALL_DATABASE_URL_FILE``, a
    systemd credential), not in a variable: unit files, ``systemctl show`` and every child
    process's environment show a variable. (The config file refuses one outright.)"""
    if not url_has_password(settings.database.url):
        return []
    if settings.origins.get("database.url") == "DUECALL_DATABASE_URL_FILE":
        return []
    return [
        "database.url: carries a password in DUECALL_DATABASE_URL; put the URL in a file named "
        "by DUECALL_DATABASE_URL_FILE instead (deploy/systemd: LoadCredential=)"
    ]


def _unreachable(host: str) -> str | None:
    """Why Twilio could not reach ``host``, or None when it is a public name or address."""
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return "is this machine"
    if any(name == d or name.endswith("." + d) for d in RESERVED_DOMAINS):
        return "is a reserved example domain"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified:
        return "is this machine"
    if address.is_private or address.is_link_local:
        return "is a private address"
    return None


def _public_url(settings: Settings) -> list[str]:
    url = settings.server.public_url
    origin = _from(settings, "server.public_url")
    parts = urlsplit(url)
    problems = []
    if parts.scheme != "https":
        problems.append(
            f"server.public_url: is {parts.scheme}://{origin}, not https://: Twilio would send "
            "cardholders' keypresses and the signed webhooks in clear text"
        )
    why = _unreachable(parts.hostname or "")
    if why is not None:
        problems.append(
            f"server.public_url: its host {parts.hostname}{origin} {why}: Twilio cannot reach "
            "it to fetch TwiML or post callbacks; use the public https address of the web process"
        )
    return problems


def _twilio(settings: Settings) -> list[str]:
    twilio = settings.twilio
    problems = []
    if MAGIC_NUMBER.fullmatch(twilio.caller_id):
        problems.append(
            f"twilio.caller_id: {twilio.caller_id} is one of Twilio's magic test numbers; they "
            "work only with test credentials: use a number of your Twilio account"
        )
    if twilio.api_url is not None:
        host = (urlsplit(twilio.api_url).hostname or "").lower()
        origin = _from(settings, "twilio.api_url")
        if host == "twilio.com" or host.endswith(".twilio.com"):
            problems.append(
                f"twilio.api_url: is set{origin}; in production leave it unset (Twilio's own "
                "hosts are chosen by twilio.region and twilio.edge)"
            )
        else:
            problems.append(
                f"twilio.api_url: sends every Twilio request to {host}{origin}, not to Twilio "
                "(the simulator's setting); leave it unset in production"
            )
    # A malformed twilio.messaging_service_sid is refused by the settings themselves, --live or
    # not: the Twilio adapter would refuse it when the dialer starts.
    return problems


def _database(settings: Settings) -> list[str]:
    if not settings.database.url.startswith("sqlite"):
        return []
    return [
        f"database.url: is SQLite{_from(settings, 'database.url')}, which is fine for one worker; "
        "several dialer or web workers need PostgreSQL (postgresql+psycopg://...)"
    ]
