"""How amounts, dates, times and numbers are spoken, per language.

Text-to-speech reads what it is given: ``$1,234.56`` is read as an amount in English, and Mandarin
voices read ``1234.56元`` and ``12月5日`` naturally. Pounds and yen are spoken with their unit
(``1,234 pounds and 56 pence``), and yen never carry decimals: the yen has no minor unit. Years are
left out of dates: every date the IVR speaks is within weeks of today.
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers

from campaigns.names import addressed_name as _addressed_name

_EN_SYMBOLS = {"USD": "$", "CAD": "CA$", "HKD": "HK$", "EUR": "€"}
_EN_UNITS = {
    "USD": "dollars",
    "CAD": "dollars",
    "HKD": "dollars",
    "CNY": "yuan",
    "EUR": "euros",
    "GBP": "pounds",
    "JPY": "yen",
}
_ZH_UNITS = {
    "CNY": "元",
    "USD": "美元",
    "HKD": "港元",
    "EUR": "欧元",
    "GBP": "英镑",
    "CAD": "加元",
    "JPY": "日元",
}
#: Currencies without a minor unit (ISO 4217 exponent 0): amounts are whole.
_NO_MINOR_UNIT = frozenset({"JPY", "KRW"})


def is_chinese(language: str) -> bool:
    return language.startswith("zh")


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _pounds(amount: Decimal) -> str:
    pounds, pence = divmod(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), 1)
    pence_count = int(pence * 100)
    pence_words = f"{pence_count} {'penny' if pence_count == 1 else 'pence'}"
    if not pounds and pence_count:
        return pence_words
    words = f"{pounds:,.0f} {'pound' if pounds == 1 else 'pounds'}"
    return f"{words} and {pence_words}" if pence_count else words


def money(amount: Decimal, currency: str, language: str) -> str:
    """``$1,234.56`` / ``1,234.56 yuan`` / ``1,234 pounds and 56 pence`` / ``12,000 yen`` in
    English; ``1234.56元`` / ``1234.56美元`` / ``12000日元`` in Chinese."""
    if is_chinese(language):
        if currency in _NO_MINOR_UNIT:
            return f"{_whole(amount)}{_ZH_UNITS.get(currency, currency)}"
        return f"{amount:.2f}{_ZH_UNITS.get(currency, currency)}"
    if currency == "GBP":
        return _pounds(amount)
    if currency in _NO_MINOR_UNIT:
        return f"{_whole(amount):,} {_EN_UNITS.get(currency, currency)}"
    symbol = _EN_SYMBOLS.get(currency)
    if symbol is not None:
        return f"{symbol}{amount:,.2f}"
    return f"{amount:,.2f} {_EN_UNITS.get(currency, currency)}"


def unit(currency: str, language: str) -> str:
    """The name of the whole unit callers key amounts in: ``dollars``, ``元``."""
    if is_chinese(language):
        return _ZH_UNITS.get(currency, currency)
    return _EN_UNITS.get(currency, currency)


def day(value: date, language: str) -> str:
    """``December 5`` / ``12月5日``."""
    if is_chinese(language):
        return f"{value.month}月{value.day}日"
    return f"{value:%B} {value.day}"


def clock(value: time, language: str) -> str:
    """``2:30 PM`` / ``14点30分``."""
    if is_chinese(language):
        return f"{value.hour}点{value.minute:02d}分" if value.minute else f"{value.hour}点"
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def phone(number: str, language: str) -> str:
    """A callback number as it is dialled in its own country, read digit by digit.

    The digits are those of the national format, trunk prefix included (a Beijing landline
    ``+86 10 1234 5678`` is dialled ``010 1234 5678`` in China): ``0 1 0 1 2 3 4 5 6 7 8`` in
    Mandarin, where numbers are read out one digit at a time; in English the format's groups are
    kept, with a pause between them (``(800) 555-0100`` -> ``8 0 0, 5 5 5, 0 1 0 0``), so that
    "555" is not read as "five hundred fifty-five".
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return " ".join(ch for ch in number if ch.isdigit())
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    groups = [group for group in re.split(r"\D+", national) if group]
    if is_chinese(language):
        return " ".join("".join(groups))
    return ", ".join(" ".join(group) for group in groups)


def addressed_name(full_name: str, language: str) -> str:
    """The name the right-party question uses (campaigns.names, the rule texts use too): the
    given name in English, without any title; in Chinese the full name (surname first), as a
    stranger would address the person."""
    return _addressed_name(full_name, language)
