"""SMS text: templates rendered per language, the opt-out notice, and segment counting.

A message longer than one segment is sent as several, each billed and each able to arrive on its
own; carriers count in GSM-7 septets when every character is in the GSM 03.38 alphabet and in
UCS-2 (UTF-16) code units otherwise -- one Chinese character (or one curly quote) makes the whole
message UCS-2. Single-segment limits are 160 septets / 70 units; a concatenated message carries a
header, leaving 153 / 67 per segment (Twilio, "What is UCS-2 character encoding?").
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

# GSM 03.38 basic character set (one septet each) and its extension table (escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding, its length in that encoding's units, its segment count."""

    encoding: Encoding
    units: int
    count: int


def _char_units(text: str, gsm: bool) -> list[int]:
    """Each character's length: septets (2 for an escape pair) or UTF-16 units (2 for a
    character outside the Basic Multilingual Plane, sent as a surrogate pair)."""
    if gsm:
        return [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(sizes: list[int], capacity: int) -> int:
    """Segments needed to carry ``sizes`` in order, none split across two segments."""
    count, room = 1, capacity
    for size in sizes:
        if size > room:
            count, room = count + 1, capacity
        room -= size
    return count


def count_segments(text: str) -> Segments:
    """Segments of ``text`` as carriers count them.

    A two-unit character -- a GSM-7 escape pair such as ``€``, or a UTF-16 surrogate pair such
    as an emoji -- is never split across two segments: when it does not fit in what is left of
    one, that space stays empty and the character opens the next (so 152 "a", "€" and 152 "a"
    take 3 segments, not 2).
    """
    gsm = all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)
    sizes = _char_units(text, gsm)
    units = sum(sizes)
    single, multi = (160, 153) if gsm else (70, 67)
    count = 1 if units <= single else _pack(sizes, multi)
    return Segments("GSM-7" if gsm else "UCS-2", units, count)


class TemplateError(ValueError):
    """Raised when a template names a field that does not exist or is malformed."""


FIELDS = frozenset(
    {
        "first_name",
        "name",
        "business_name",
        "callback_number",
        "support_number",
        "minimum_due",
        "balance",
        "due_date",
        "account_last4",
        # A third-party debt collector's texts say so (Reg F 1006.18(e)): sms.collector_disclosure.
        "collector_disclosure",
    }
)


def template_fields(template: str) -> set[str]:
    """The placeholder names in ``template``; raises TemplateError when it cannot be parsed."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TemplateError(f"malformed template: {exc}") from exc
    unknown = names - FIELDS
    if unknown or "" in names:
        raise TemplateError(
            f"unknown field(s) {sorted(unknown) or ['{}']}; known: {', '.join(sorted(FIELDS))}"
        )
    return names


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``$1,234.56`` in English, ``1,234.56元`` in Chinese for CNY (the way it is written)."""
    symbols = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "HKD": "HK$", "CAD": "CA$"}
    if language == "zh-CN" and currency == "CNY":
        return f"{amount:,.2f}元"
    return f"{symbols.get(currency, currency + ' ')}{amount:,.2f}"


def format_date(day: date, language: str) -> str:
    if language == "zh-CN":
        return f"{day.month}月{day.day}日"
    return f"{day:%B} {day.day}"


def opt_out_notice(notices: Mapping[str, str], language: str) -> str | None:
    """The configured opt-out notice (``sms.opt_out_notice``) for ``language``, else English's:
    the one notice every text carries, reminders and confirmations alike."""
    return notices.get(language) or notices.get("en-US")


def with_opt_out_notice(text: str, notice: str | None) -> str:
    """``text`` with ``notice`` appended (Reg F 1006.6(e): every electronic message tells how to
    opt out); no space after Chinese sentence-final punctuation or a Chinese text."""
    text = text.strip()
    if not notice:
        return text
    chinese_end = text.endswith(("。", "！", "？")) or (
        bool(text) and "\u4e00" <= text[-1] <= "\u9fff"
    )
    separator = "" if chinese_end else " "
    return f"{text}{separator}{notice}"


def render(template: str, values: Mapping[str, str], *, opt_out_notice: str | None = None) -> str:
    """Fill ``template`` and append the opt-out notice. Raises TemplateError for an unknown
    field."""
    template_fields(template)
    return with_opt_out_notice(template.format_map(dict(values)), opt_out_notice)


def worst_case_values(language: str) -> dict[str, str]:
    """Long but plausible values, to check a template's segment count before it is ever sent."""
    currency = "CNY" if language == "zh-CN" else "USD"
    return {
        "first_name": "Maximiliano" if language != "zh-CN" else "欧阳娜娜",
        "name": "Maximiliano Rodriguez-Fitzgerald" if language != "zh-CN" else "欧阳娜娜",
        "business_name": "Northwind Card Services",
        "callback_number": "+1 800 555 0100",
        "support_number": "+1 800 555 0100",
        "minimum_due": format_money(Decimal("99999.99"), currency, language),
        "balance": format_money(Decimal("999999.99"), currency, language),
        "due_date": format_date(date(2026, 12, 31), language),
        "account_last4": "0000",
        "collector_disclosure": "This is a communication from a debt collector."
        if language != "zh-CN"
        else "本信息来自债务催收机构。",
    }
