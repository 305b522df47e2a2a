"""Parsing one value of an import row: text, identifiers, money, dates, timestamps, phones, yes/no.

Each parser reads one column of a :class:`Row` and returns the typed value, or records a
:class:`Reject` on the row and returns ``None``, so a row collects every problem it has in one
pass. What the columns mean together (a minimum due above the balance, consent defaults) is the
row validation's business, not this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from store.types import to_money
from telephony.numbers import NOT_A_NUMBER, NOT_VALID, InvalidNumberError, Reason, to_e164

__all__ = [
    "Reject",
    "Row",
    "parse_bool",
    "parse_date",
    "parse_identifier",
    "parse_money",
    "parse_phone",
    "parse_text",
    "parse_timestamp",
]

_MONEY_RE = re.compile(r"^\d+(\.\d{1,2})?$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
# A reject line says "for its country": whoever fixes the file needs to know the number was
# checked against a country's plan (its own with a +, else the default region).
_PHONE_REASONS: dict[Reason, str] = {
    NOT_A_NUMBER: "not a phone number",
    NOT_VALID: "not a valid phone number for its country",
}
# Parsing and validating a number is most of a row's cost, and a customer's cards (adjacent in
# the bank's extract) share their numbers. Bounded, so memory stays flat over a million rows;
# a refused number raises and is never cached.
_to_e164 = lru_cache(maxsize=4096)(to_e164)


@dataclass(frozen=True)
class Reject:
    """One problem with one row: ``line`` is the file line where the record starts (header = 1)."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass
class Row:
    """One record of the file: its raw values by column and the problems found in them so far."""

    line: int
    raw: dict[str, str]
    errors: list[Reject] = field(default_factory=list)

    def reject(self, column: str, reason: str) -> None:
        self.errors.append(Reject(self.line, column, reason))


def parse_text(row: Row, column: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = (row.raw.get(column) or "").strip()
    if not value:
        if required:
            row.reject(column, "required")
        return None
    if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
        row.reject(column, "not valid UTF-8")
        return None
    if len(value) > max_len:
        row.reject(column, f"longer than {max_len} characters")
        return None
    return value


def parse_identifier(row: Row, column: str, *, required: bool = True) -> str | None:
    value = parse_text(row, column, required=required, max_len=64)
    if value is not None and not _ID_RE.match(value):
        row.reject(column, "must be 1-64 letters, digits, '.', '_' or '-'")
        return None
    return value


def parse_money(
    row: Row, column: str, *, positive: bool = False, required: bool = True
) -> Decimal | None:
    value = parse_text(row, column, required=required)
    if value is None:
        return None
    if value.startswith("-"):
        row.reject(column, "must not be negative")
        return None
    if not _MONEY_RE.match(value):
        row.reject(column, "not an amount with at most 2 decimals (write 1234.56)")
        return None
    amount = to_money(value)
    if positive and amount <= 0:
        row.reject(column, "must be greater than zero")
        return None
    return amount


def parse_date(row: Row, column: str, *, required: bool = True) -> date | None:
    value = parse_text(row, column, required=required)
    if value is None:
        return None
    if not _DATE_RE.fullmatch(value):
        row.reject(column, "not a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        row.reject(column, "not a valid calendar date")
        return None


def parse_timestamp(row: Row, column: str) -> tuple[datetime, date] | None:
    """The instant in UTC and the calendar day as written (a date alone is midnight UTC)."""
    value = parse_text(row, column, max_len=40)
    if value is None:
        return None
    try:
        if _DATE_RE.fullmatch(value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), day
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        row.reject(column, "not an ISO date or datetime (2026-11-20 or 2026-11-20T14:30:00Z)")
        return None
    day = when.date()
    if when.tzinfo is None:
        # A datetime without an offset is taken as UTC; the bank's extract says which it uses.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC), day


def parse_phone(row: Row, column: str, region: str, *, required: bool = True) -> str | None:
    value = parse_text(row, column, required=required, max_len=40)
    if value is None:
        return None
    try:
        return _to_e164(value, region)
    except InvalidNumberError as exc:
        row.reject(column, _PHONE_REASONS[exc.reason])
        return None


def parse_bool(row: Row, column: str) -> bool | None:
    value = (row.raw.get(column) or "").strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    row.reject(column, "must be true/false, yes/no or 1/0")
    return None
