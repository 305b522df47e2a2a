"""Masking for logs and stored payloads: no full phone number or card digits leave the process."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A phone-shaped run not glued to letters or digits: a Twilio SID (CA + 32 hex) contains long
# digit runs that are not numbers and must stay readable in logs and the audit trail.
_PHONE_RE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{6,}\d(?!\w)")
_DIGIT_RUN_RE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def mask_phone(number: str | None) -> str:
    """``+14155550123`` -> ``+1******0123``: keep the leading country digits and the last four."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:2] if number.startswith("+86") else digits[:1]
    prefix = "+" if number.startswith("+") else ""
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
