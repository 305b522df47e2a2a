"""The rules a new promise keeps: its window of dates, its amount bounds, the keyed amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from campaigns.promises import (
    PROMISABLE_STATUSES,
    accept_amount,
    amount_bounds,
    promise_window,
)

D = Decimal


def test_the_window_runs_from_today_to_max_days_ahead_both_included() -> None:
    assert promise_window(date(2026, 11, 29), 30) == (date(2026, 11, 29), date(2026, 12, 29))
    assert promise_window(date(2026, 12, 20), 14) == (date(2026, 12, 20), date(2027, 1, 3))
    assert promise_window(date(2026, 11, 29), 0) == (date(2026, 11, 29), date(2026, 11, 29))


def test_a_fractional_minimum_is_rounded_up_to_a_whole_unit() -> None:
    assert amount_bounds(D("4823.17"), D("144.69")) == (D("145.00"), D("4823.17"))
    assert amount_bounds(D("4823.17"), D("144.01")) == (D("145.00"), D("4823.17"))
    assert amount_bounds(D("4823.17"), D("144")) == (D("144.00"), D("4823.17"))


def test_the_lowest_is_never_above_a_balance_below_the_minimum() -> None:
    assert amount_bounds(D("80.40"), D("144.69")) == (D("80.40"), D("80.40"))
    assert amount_bounds(D("144.20"), D("144.10")) == (D("144.20"), D("144.20"))


def test_a_zero_minimum_still_asks_for_one_unit_unless_less_is_owed() -> None:
    assert amount_bounds(D("4823.17"), D("0")) == (D("1.00"), D("4823.17"))
    assert amount_bounds(D("0.40"), D("0")) == (D("0.40"), D("0.40"))


def test_both_bounds_are_to_the_cent() -> None:
    lowest, highest = amount_bounds(D("100"), D("25"))
    assert (str(lowest), str(highest)) == ("25.00", "100.00")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("145", D("145.00")),
        ("1000", D("1000.00")),
        ("4823", D("4823.00")),
        ("4824", D("4823.17")),  # the balance rounded up: the full balance, cents included
        ("144", None),  # under the minimum rounded up
        ("4825", None),  # over the balance
        ("99999", None),
    ],
)
def test_a_keyed_amount_is_taken_within_the_bounds_only(keys: str, expected: Decimal) -> None:
    assert accept_amount(keys, D("4823.17"), D("144.69")) == expected


def test_a_balance_below_one_unit_is_taken_by_keying_one() -> None:
    assert accept_amount("1", D("0.40"), D("0")) == D("0.40")
    assert accept_amount("0", D("0.40"), D("0")) is None


def test_keying_a_whole_balance_promises_it_exactly() -> None:
    assert accept_amount("500", D("500.00"), D("25.00")) == D("500.00")
    assert accept_amount("501", D("500.00"), D("25.00")) is None


@pytest.mark.parametrize(
    "keys", ["", "#", "*", "12#", "1*2", "12a", " 12", "-5", "1.50", "+5", "²", "١٢"]
)
def test_junk_keys_are_refused(keys: str) -> None:
    assert accept_amount(keys, D("4823.17"), D("144.69")) is None


def test_thirteen_or_more_digits_are_refused_even_when_they_amount_to_little() -> None:
    balance = D("999999999999.99")
    assert accept_amount("000000000500", balance, D("10")) == D("500.00")  # 12 digits
    assert accept_amount("0000000000500", balance, D("10")) is None
    assert accept_amount("1" * 13, balance, D("10")) is None
    assert accept_amount("9" * 40, balance, D("10")) is None


def test_nothing_is_accepted_when_nothing_is_owed() -> None:
    assert accept_amount("0", D("0.00"), D("0.00")) is None
    assert accept_amount("1", D("0.00"), D("0.00")) is None
    assert accept_amount("10", D("-5.00"), D("0.00")) is None


def test_promises_are_taken_for_open_and_charged_off_accounts_only() -> None:
    assert sorted(PROMISABLE_STATUSES) == ["charged_off", "open"]
    for status in ("closed", "recalled", "bankrupt", "deceased"):
        assert status not in PROMISABLE_STATUSES
