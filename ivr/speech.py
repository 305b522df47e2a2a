"""How amounts, dates, times and numbers are spoken, per language.

Text-to-speech reads what it is given: ``$1,234.56`` is read as an amount in English, and Mandarin
voices read ``1234.56元`` and ``12月5日`` naturally. Years are left out of dates: every date the
IVR speaks is within weeks of today.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import phonenumbers

_EN_SYMBOLS = {"USD": "$", "CAD": "CA$", "HKD": "HK$", "GBP": "£", "EUR": "€"}
_EN_UNITS = {"USD": "dollars", "CAD": "dollars", "HKD": "dollars", "CNY": "yuan", "EUR": "euros"}
_ZH_UNITS = {"CNY": "元", "USD": "美元", "HKD": "港元", "EUR": "欧元", "GBP": "英镑", "CAD": "加元"}


def is_chinese(language: str) -> bool:
    return language.startswith("zh")


def money(amount: Decimal, currency: str, language: str) -> str:
    """``$1,234.56`` / ``1,234.56 yuan`` in English; ``1234.56元`` / ``1234.56美元`` in Chinese."""
    if is_chinese(language):
        return f"{amount:.2f}{_ZH_UNITS.get(currency, currency)}"
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
    """A callback number as a caller would write it down.

    English: the national format of its own country (``(800) 555-0100``). Chinese: the digits one
    by one, as numbers are read out in Mandarin (``8 0 0 5 5 5 0 1 0 0``).
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return " ".join(ch for ch in number if ch.isdigit())
    if is_chinese(language):
        return " ".join(str(parsed.national_number))
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def addressed_name(full_name: str, language: str) -> str:
    """The name the right-party question uses: the given name in English; in Chinese the full
    name (surname first), as a stranger would address the person."""
    parts = full_name.split()
    if is_chinese(language) or not parts:
        return full_name.strip()
    return parts[0]
