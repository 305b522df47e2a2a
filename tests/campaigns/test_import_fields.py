"""The import's field parsers: one value in, a typed value or a reject on the row out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from campaigns.import_fields import (
    Reject,
    Row,
    parse_bool,
    parse_date,
    parse_identifier,
    parse_money,
    parse_phone,
    parse_text,
    parse_timestamp,
)


def row(**values: str) -> Row:
    return Row(7, dict(values))


def reasons(r: Row) -> list[str]:
    return [e.reason for e in r.errors]


def test_a_reject_reads_line_column_reason() -> None:
    r = row()
    r.reject("balance", "required")
    assert r.errors == [Reject(7, "balance", "required")]
    assert str(r.errors[0]) == "line 7: balance: required"


def test_text_is_stripped_and_required_unless_told() -> None:
    assert parse_text(row(name="  Mary "), "name") == "Mary"
    r = row(name="   ")
    assert parse_text(r, "name") is None and reasons(r) == ["required"]
    r = row()
    assert parse_text(r, "email", required=False) is None and r.errors == []


def test_text_refuses_undecodable_bytes_and_overlong_values() -> None:
    r = row(name="Ma\udcffry")
    assert parse_text(r, "name") is None and reasons(r) == ["not valid UTF-8"]
    r = row(name="x" * 9)
    assert parse_text(r, "name", max_len=8) is None
    assert reasons(r) == ["longer than 8 characters"]


def test_identifiers_are_letters_digits_dot_underscore_dash() -> None:
    assert parse_identifier(row(account_id="AC-1001.a_b"), "account_id") == "AC-1001.a_b"
    r = row(account_id="-1001")
    assert parse_identifier(r, "account_id") is None
    assert reasons(r) == ["must be 1-64 letters, digits, '.', '_' or '-'"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("1200.50", Decimal("1200.50")), ("7", Decimal("7.00"))]
)
def test_money_is_exact(raw: str, expected: Decimal) -> None:
    value = parse_money(row(balance=raw), "balance")
    assert value == expected and isinstance(value, Decimal)


@pytest.mark.parametrize(
    ("raw", "positive", "reason"),
    [
        ("-5.00", False, "must not be negative"),
        ("1,200.00", False, "not an amount with at most 2 decimals (write 1234.56)"),
        ("1.005", False, "not an amount with at most 2 decimals (write 1234.56)"),
        ("0.00", True, "must be greater than zero"),
    ],
)
def test_money_rejects(raw: str, positive: bool, reason: str) -> None:
    r = row(amount=raw)
    assert parse_money(r, "amount", positive=positive) is None
    assert reasons(r) == [reason]


def test_dates_are_iso_calendar_dates() -> None:
    assert parse_date(row(due_date="2024-02-29"), "due_date") == date(2024, 2, 29)
    r = row(due_date="11/01/2026")
    assert parse_date(r, "due_date") is None and reasons(r) == ["not a date YYYY-MM-DD"]
    r = row(due_date="2026-02-29")
    assert parse_date(r, "due_date") is None and reasons(r) == ["not a valid calendar date"]


@pytest.mark.parametrize(
    ("raw", "instant", "day"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC), date(2026, 11, 20)),
        ("2026-11-20T14:30:00Z", datetime(2026, 11, 20, 14, 30, tzinfo=UTC), date(2026, 11, 20)),
        ("2026-11-20T14:30:00", datetime(2026, 11, 20, 14, 30, tzinfo=UTC), date(2026, 11, 20)),
        # The day is the one written; the instant is in UTC.
        (
            "2026-11-20T23:30:00-05:00",
            datetime(2026, 11, 21, 4, 30, tzinfo=UTC),
            date(2026, 11, 20),
        ),
    ],
)
def test_timestamps_give_the_utc_instant_and_the_day_written(
    raw: str, instant: datetime, day: date
) -> None:
    assert parse_timestamp(row(paid_at=raw), "paid_at") == (instant, day)


def test_a_timestamp_that_is_no_iso_date_is_rejected() -> None:
    r = row(paid_at="20 Nov 2026")
    assert parse_timestamp(r, "paid_at") is None
    assert reasons(r) == ["not an ISO date or datetime (2026-11-20 or 2026-11-20T14:30:00Z)"]


def test_phones_become_e164_with_the_default_region_for_national_numbers() -> None:
    assert parse_phone(row(phone="(415) 555-0123"), "phone", "US") == "+14155550123"
    assert parse_phone(row(phone="138 1234 5678"), "phone", "CN") == "+8613812345678"
    assert parse_phone(row(phone="+86 138 1234 5678"), "phone", "US") == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("call me", "not a phone number"),
        ("555", "not a valid phone number for its country"),
        ("138 1234 5678", "not a valid phone number for its country"),
    ],
)
def test_phone_rejects_keep_their_wording(raw: str, reason: str) -> None:
    r = row(phone=raw)
    assert parse_phone(r, "phone", "US") is None
    assert reasons(r) == [reason]


def test_an_optional_phone_may_be_empty() -> None:
    r = row(alt_phone="")
    assert parse_phone(r, "alt_phone", "US", required=False) is None and r.errors == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", True), ("TRUE", True), ("1", True), ("n", False), (" False ", False), ("", None)],
)
def test_booleans(raw: str, expected: bool | None) -> None:
    r = row(sms_consent=raw)
    assert parse_bool(r, "sms_consent") is expected and r.errors == []


def test_a_boolean_that_is_neither_is_rejected() -> None:
    r = row(sms_consent="maybe")
    assert parse_bool(r, "sms_consent") is None
    assert reasons(r) == ["must be true/false, yes/no or 1/0"]
