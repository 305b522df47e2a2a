"""What the voice says for numbers, names and money, in English and Mandarin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.names import addressed_name as texts_addressed_name
from ivr import speech


@pytest.mark.parametrize(
    ("number", "english", "mandarin"),
    [
        # A Beijing landline keeps its trunk 0, as it is dialled in China.
        ("+861012345678", "0 1 0, 1 2 3 4, 5 6 7 8", "0 1 0 1 2 3 4 5 6 7 8"),
        ("+18005550100", "8 0 0, 5 5 5, 0 1 0 0", "8 0 0 5 5 5 0 1 0 0"),
        ("+442071234567", "0 2 0, 7 1 2 3, 4 5 6 7", "0 2 0 7 1 2 3 4 5 6 7"),
        ("+8613812345678", "1 3 8, 1 2 3 4, 5 6 7 8", "1 3 8 1 2 3 4 5 6 7 8"),
        ("not a number 42", "4 2", "4 2"),
    ],
)
def test_a_number_is_read_digit_by_digit_as_it_is_dialled_in_its_country(
    number: str, english: str, mandarin: str
) -> None:
    assert speech.phone(number, "en-US") == english
    assert speech.phone(number, "zh-CN") == mandarin


@given(st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True))
def test_every_digit_of_a_us_number_is_spoken_once_in_order(number: str) -> None:
    spoken = speech.phone(number, "en-US")
    assert spoken.replace(",", "").split() == list(number[2:])


@pytest.mark.parametrize(
    ("on_file", "language", "spoken"),
    [
        ("Dr. John Smith", "en-US", "John"),
        ("Mrs Jane Doe", "en-US", "Jane"),
        ("SMITH, JOHN", "en-US", "John"),
        ("王小明", "zh-CN", "王小明"),
        ("SMITH, JOHN", "zh-CN", "John Smith"),
    ],
)
def test_names_are_spoken_without_titles_by_the_rule_texts_use(
    on_file: str, language: str, spoken: str
) -> None:
    assert speech.addressed_name(on_file, language) == spoken
    assert texts_addressed_name(on_file, language) == spoken


@pytest.mark.parametrize(
    ("amount", "currency", "english", "mandarin"),
    [
        # Unchanged: dollars, euros and yuan as before.
        ("1234.56", "USD", "$1,234.56", "1234.56美元"),
        ("1234.56", "EUR", "€1,234.56", "1234.56欧元"),
        ("1234.56", "CNY", "1,234.56 yuan", "1234.56元"),
        # Pounds and pence in words.
        ("1234.56", "GBP", "1,234 pounds and 56 pence", "1234.56英镑"),
        ("1.01", "GBP", "1 pound and 1 penny", "1.01英镑"),
        ("20.00", "GBP", "20 pounds", "20.00英镑"),
        ("0.50", "GBP", "50 pence", "0.50英镑"),
        # The yen has no minor unit: never "12,000.00".
        ("12000.00", "JPY", "12,000 yen", "12000日元"),
        ("12000", "JPY", "12,000 yen", "12000日元"),
    ],
)
def test_money_is_spoken_with_its_unit(
    amount: str, currency: str, english: str, mandarin: str
) -> None:
    assert speech.money(Decimal(amount), currency, "en-US") == english
    assert speech.money(Decimal(amount), currency, "zh-CN") == mandarin


def test_the_unit_callers_key_amounts_in() -> None:
    assert [speech.unit(c, "en-US") for c in ("USD", "GBP", "JPY")] == ["dollars", "pounds", "yen"]
    assert speech.unit("JPY", "zh-CN") == "日元"


@given(st.integers(min_value=0, max_value=10**9))
def test_yen_amounts_are_whole_and_exact(yen: int) -> None:
    spoken = speech.money(Decimal(yen), "JPY", "en-US")
    assert spoken == f"{yen:,} yen"
    assert "." not in spoken
