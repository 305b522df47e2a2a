"""to_e164: the one way a number people typed becomes the E.164 number duecall stores."""

from __future__ import annotations

import pytest

from telephony.numbers import NOT_A_NUMBER, NOT_VALID, InvalidNumberError, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("+1 415-555-0123", "US", "+14155550123"),
        ("+86 138 1234 5678", "US", "+8613812345678"),
        ("138 1234 5678", "CN", "+8613812345678"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


def test_a_leading_plus_overrides_the_default_region() -> None:
    assert to_e164("+1 415 555 0123", "CN") == "+14155550123"


def test_surrounding_whitespace_is_ignored() -> None:
    assert to_e164("  +86 138 1234 5678\t", "US") == "+8613812345678"


@pytest.mark.parametrize("raw", ["call me", "", "   ", "5", "+", "+1"])
def test_text_that_is_no_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        to_e164(raw, "US")
    assert caught.value.reason == NOT_A_NUMBER
    assert str(caught.value) == "not a phone number"
    assert caught.value.raw == raw


@pytest.mark.parametrize("raw", ["12", "555", "+1 415 555", "+86 138 1234"])
def test_a_number_too_short_for_its_country_is_not_valid(raw: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        to_e164(raw, "US")
    assert caught.value.reason == NOT_VALID
    assert str(caught.value) == "not a valid phone number"


@pytest.mark.parametrize(
    ("raw", "home"),
    [("138 1234 5678", "CN"), ("020 7946 0958", "GB")],
)
def test_a_national_number_of_another_region_is_not_valid_here(raw: str, home: str) -> None:
    assert to_e164(raw, home).startswith("+")
    with pytest.raises(InvalidNumberError) as caught:
        to_e164(raw, "US")
    assert caught.value.reason == NOT_VALID


def test_an_unknown_default_region_cannot_place_a_national_number() -> None:
    with pytest.raises(InvalidNumberError) as caught:
        to_e164("415 555 0123", "XX")
    assert caught.value.reason == NOT_A_NUMBER


def test_invalid_number_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid phone number"):
        to_e164("12", "US")
