"""Masking for logs and stored payloads: no full phone number or card digits leave the process."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

# A phone-shaped run not glued to letters or digits: a Twilio SID (CA + 32 hex) contains long
# digit runs that are not numbers and must stay readable in logs and the audit trail. A number in
# a URL or a form body has its "+" percent-encoded (``From=%2B14155550123``): masked all the same.
_PHONE_RE = re.compile(r"(?:%2[Bb]|(?<![\w+])\+?)\d[\d\s().-]{6,}\d(?!\w)")
_DIGIT_RUN_RE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")
_CARD_RE = re.compile(r"(?<![\d+])(?<!%2[Bb])(?:\d[ -]?){12,18}\d(?!\d)")

# What is shaped like a number but is not one, and must stay readable in a log line: Twilio SIDs
# (two letters and 32 hex digits, whose digit runs may pass the Luhn check), date-times and dates
# (``2026-12-03 20:55:01`` has ten digits, as many as a US number), compact ISO instants
# (``20261203T205501Z``) and IPv4 addresses with an optional port (``192.168.100.200`` has twelve).
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_KEEP_RE = re.compile(
    "|".join(
        (
            r"(?<![0-9A-Za-z])[A-Z]{2}[0-9a-fA-F]{32}(?![0-9A-Za-z])",
            r"(?<![\d+.-])\d{4}-\d{2}-\d{2}"
            r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?(?![\d-])",
            r"(?<![\d+])\d{8}T\d{4,6}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?(?![0-9A-Za-z])",
            rf"(?<![\d+.]){_OCTET}(?:\.{_OCTET}){{3}}(?::\d{{1,5}})?(?![\d.])",
        )
    )
)

# The password of a URL's user information (``scheme://user:password@host``); the user name
# stays, so the operator still sees which account a URL uses.
_URL_PASSWORD_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#@]+(@)")
# libpq and psycopg also read a password from the query string (``...?password=secret``).
_QUERY_PASSWORD_RE = re.compile(r"(?i)([?&;]password=)[^&;#\s]+")
URL_PASSWORD_MASK = "***"  # noqa: S105 - the mask, not a password


def mask_phone(number: str | None) -> str:
    """The one phone masker for logs, messages and the audit trail: the country code and the
    last four digits stay, every other digit becomes ``*`` (``+14155550123`` -> ``+1******0123``,
    ``+8613812345678`` -> ``+86*******5678``, ``+447700900123`` -> ``+44******0123``).

    Numbers are personal data and, for a collector, revealing whom it calls about a debt is
    itself a third-party disclosure risk (Reg F 1006.6(d)): no log line or stored payload may
    carry a full number. Text that is not a number is masked all the same (every digit but the
    last four); ``None`` and ``""`` give ``""``.
    """
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return "*" * len(digits)
    head = ""
    prefix = ""
    if number.lstrip().startswith("+"):
        prefix = "+"
        try:
            country = str(phonenumbers.parse("+" + digits, None).country_code)
        except phonenumbers.NumberParseException:
            country = digits[:1]
        head = country if len(digits) - len(country) > 4 else ""
    return f"{prefix}{head}{'*' * (len(digits) - len(head) - 4)}{digits[-4:]}"


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (only 0-9) passes the Luhn check used by card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def redact_card_numbers(text: str) -> str:
    """Replace each Luhn-valid 13-19 digit run (spaces and dashes allowed) with a masked form.

    A run after ``+`` (or its URL encoding ``%2B``) is a phone number, never a card: some E.164
    numbers pass the Luhn check (``+8613812345678``) and are masked as numbers instead.
    """

    def _sub(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return f"[card ****{digits[-4:]}]"
        return match.group(0)

    return _CARD_RE.sub(_sub, text)


def _mask_if_phone(match: re.Match[str]) -> str:
    found = match.group(0)
    encoded = found[:3].upper() == "%2B"
    if encoded:
        found = "+" + found[3:]
    digits = sum(ch.isdigit() for ch in found)
    # E.164 allows up to 15 digits; with a "+" a number may be as short as 8 (small countries),
    # without one a national number has at least 10 here (US, China mobiles). Dates (8 digits),
    # IP addresses and version strings stay readable.
    low = 8 if found.startswith("+") else 10
    if not low <= digits <= 15:
        return match.group(0)
    masked = mask_phone(found)
    return "%2B" + masked[1:] if encoded else masked


def mask_url_passwords(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``
    (``postgresql://app:secret@db/duecall`` -> ``postgresql://app:***@db/duecall``), and the
    value of a ``password=`` query parameter too."""
    text = _URL_PASSWORD_RE.sub(rf"\g<1>{URL_PASSWORD_MASK}\g<2>", text)
    return _QUERY_PASSWORD_RE.sub(rf"\g<1>{URL_PASSWORD_MASK}", text)


def _mask_numbers(text: str) -> str:
    return _PHONE_RE.sub(_mask_if_phone, redact_card_numbers(text))


def mask_text(text: str) -> str:
    """Mask URL passwords, card numbers, then anything shaped like a phone number, inside free
    text; also in URL-encoded form (``%2B12125550123`` -> ``%2B1*******0123``).

    Twilio SIDs, dates, date-times and IPv4 addresses (with a port) are left as they are: they
    are what a log line is read for, and none of them is a number of a person.
    """
    text = mask_url_passwords(text)
    pieces: list[str] = []
    start = 0
    for keep in _KEEP_RE.finditer(text):
        pieces.append(_mask_numbers(text[start : keep.start()]))
        pieces.append(keep.group(0))
        start = keep.end()
    pieces.append(_mask_numbers(text[start:]))
    return "".join(pieces)


def mask_mapping(
    payload: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copy of a webhook payload fit for storage: numbers masked, ``secret_keys`` blanked."""
    masked: dict[str, Any] = {}
    for key, value in payload.items():
        if key in secret_keys:
            masked[key] = "***"
        elif isinstance(value, str):
            masked[key] = mask_text(value)
        else:
            masked[key] = value
    return masked
