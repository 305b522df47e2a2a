"""Masking for logs and stored payloads: no full phone number or card digits leave the process."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

# A phone-shaped run not glued to letters or digits: a Twilio SID (CA + 32 hex) contains long
# digit runs that are not numbers and must stay readable in logs and the audit trail.
_PHONE_RE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{6,}\d(?!\w)")
_DIGIT_RUN_RE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


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
    """Replace each Luhn-valid 13-19 digit run (spaces and dashes allowed) with a masked form."""

    def _sub(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return f"[card ****{digits[-4:]}]"
        return match.group(0)

    return re.sub(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", _sub, text)


def _mask_if_phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    # E.164 allows up to 15 digits; with a "+" a number may be as short as 8 (small countries),
    # without one a national number has at least 10 here (US, China mobiles). Dates (8 digits),
    # IP addresses and version strings stay readable.
    low = 8 if found.startswith("+") else 10
    return mask_phone(found) if low <= digits <= 15 else found


def mask_text(text: str) -> str:
    """Mask card numbers, then anything shaped like a phone number, inside free text."""
    return _PHONE_RE.sub(_mask_if_phone, redact_card_numbers(text))


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
