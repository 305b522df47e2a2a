"""Turning a phone number as people write it into E.164, the one form duecall stores and dials.

Every number that enters duecall from a person (an accounts file, ``suppress --number``) goes
through :func:`to_e164`, so the same input always lands as the same stored number and a
suppression matches the phone row it is meant for. Reading a stored number back (speaking it,
finding its time zone or country) is a different job and lives with its caller.
"""

from __future__ import annotations

from typing import Final, Literal

import phonenumbers

__all__ = ["NOT_A_NUMBER", "NOT_VALID", "InvalidNumberError", "Reason", "to_e164"]

#: Why a number was refused: the text does not parse as a phone number at all...
NOT_A_NUMBER: Final = "not a phone number"
#: ...or it parses, but no such number exists in its country's numbering plan (wrong length,
#: unassigned prefix, a national number written for another country).
NOT_VALID: Final = "not a valid phone number"

Reason = Literal["not a phone number", "not a valid phone number"]


class InvalidNumberError(ValueError):
    """``raw`` cannot become an E.164 number; ``reason`` is :data:`NOT_A_NUMBER` or
    :data:`NOT_VALID` and is also the message, so it can be shown to the user as it is."""

    def __init__(self, raw: str, reason: Reason) -> None:
        super().__init__(reason)
        self.raw = raw
        self.reason: Reason = reason


def to_e164(raw: str, default_region: str) -> str:
    """E.164 (``+14155550123``) for ``raw``; raises :class:`InvalidNumberError`.

    A number written with a leading ``+`` carries its own country code; any other is read as a
    national number of ``default_region`` (ISO 3166 alpha-2, such as ``US`` or ``CN``).
    """
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumberError(raw, NOT_A_NUMBER) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumberError(raw, NOT_VALID)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
