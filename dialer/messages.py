"""The reminder SMS of a campaign, rendered for one account.

``duecall check-config`` proves every template fits ``sms.max_segments`` with long but plausible
values; the real values can still be longer, or turn the text into UCS-2 (a 200-character name, a
name in Chinese characters in an English text, a "Zoë": one character outside GSM-7 and every
segment holds 67 units, not 153). So the text is measured again when it is sent, and never sent
over the limit. The rule, in order, first that fits:

1. the template as written;
2. ``{name}`` replaced by the addressed name (the given name in English) as ``{first_name}``;
3. no name at all: each ``{name}`` and ``{first_name}``, with the space before it and a comma
   right after it, left out ("hi {first_name}, your payment" -> "hi your payment",
   "{first_name}您好，" -> "您好，");
4. not sent: :class:`SmsTooLongError`, which the dispatcher turns into a closed contact with reason
   ``sms_too_long``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from campaigns.accounts import outstanding
from campaigns.names import addressed_name, plain_name
from campaigns.sms import count_segments, format_date, format_money, opt_out_notice, render
from store.models import Account

#: A name placeholder with the space before it and a comma (ASCII or full-width) after it.
_NAME_FIELD = re.compile(r"[ \t]*\{(?:first_name|name)\}[,，]?")


class SmsTooLongError(ValueError):
    """Raised when a reminder exceeds ``sms.max_segments`` even without the cardholder's name;
    ``segments`` is its count then, ``encoding`` its encoding."""

    def __init__(self, segments: int, encoding: str, max_segments: int) -> None:
        super().__init__(
            f"reminder needs {segments} {encoding} segments even without the name "
            f"(sms.max_segments is {max_segments})"
        )
        self.segments = segments
        self.encoding = encoding
        self.max_segments = max_segments


@dataclass(frozen=True)
class Sender:
    """Who the messages come from and the opt-out notice per language (Reg F 1006.6(e))."""

    business_name: str
    callback_number: str
    support_number: str
    #: ``sms.opt_out_notice``: the one notice per language (campaigns.sms.opt_out_notice).
    opt_out_notice: Mapping[str, str]
    #: ``sms.max_segments``: no reminder is sent in more segments than this.
    max_segments: int = 3
    #: ``sms.collector_disclosure`` for a third-party debt collector (fills
    #: ``{collector_disclosure}``); empty for a creditor collecting its own debts.
    collector_disclosure: Mapping[str, str] = field(default_factory=dict)


def _without_names(template: str) -> str:
    return _NAME_FIELD.sub("", template).strip()


def reminder_text(session: Session, account: Account, template: str, sender: Sender) -> str:
    """``template`` filled with ``account``'s data, the opt-out notice appended, within
    ``sender.max_segments`` (shortened by the rule of this module's docstring).

    Raises :class:`SmsTooLongError` when even the nameless text is over the limit.
    """
    language = account.language
    owed = outstanding(session, account.account_id)
    given = addressed_name(account.name, language)
    values = {
        "first_name": given,
        "name": plain_name(account.name),
        "business_name": sender.business_name,
        "callback_number": sender.callback_number,
        "support_number": sender.support_number,
        "collector_disclosure": sender.collector_disclosure.get(language, ""),
        "minimum_due": format_money(account.minimum_due, account.currency, language),
        "balance": format_money(
            owed if owed is not None else account.balance, account.currency, language
        ),
        "due_date": format_date(account.due_date, language),
        "account_last4": account.account_id[-4:],
    }
    notice = opt_out_notice(sender.opt_out_notice, language)
    candidates = (
        (template, values),
        (template, {**values, "name": given}),
        (_without_names(template), values),
    )
    parts = None
    for text_template, text_values in candidates:
        text = render(text_template, text_values, opt_out_notice=notice)
        parts = count_segments(text)
        if parts.count <= sender.max_segments:
            return text
    assert parts is not None
    raise SmsTooLongError(parts.count, parts.encoding, sender.max_segments)
