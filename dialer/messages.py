"""The reminder SMS of a campaign, rendered for one account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from campaigns.accounts import outstanding
from campaigns.sms import first_name, format_date, format_money, opt_out_notice, render
from store.models import Account


@dataclass(frozen=True)
class Sender:
    """Who the messages come from and the opt-out notice per language (Reg F 1006.6(e))."""

    business_name: str
    callback_number: str
    support_number: str
    #: ``sms.opt_out_notice``: the one notice per language (campaigns.sms.opt_out_notice).
    opt_out_notice: Mapping[str, str]


def reminder_text(session: Session, account: Account, template: str, sender: Sender) -> str:
    """``template`` filled with ``account``'s data, the opt-out notice appended."""
    language = account.language
    owed = outstanding(session, account.account_id)
    values = {
        "first_name": first_name(account.name, language),
        "name": account.name,
        "business_name": sender.business_name,
        "callback_number": sender.callback_number,
        "support_number": sender.support_number,
        "minimum_due": format_money(account.minimum_due, account.currency, language),
        "balance": format_money(
            owed if owed is not None else account.balance, account.currency, language
        ),
        "due_date": format_date(account.due_date, language),
        "account_last4": account.account_id[-4:],
    }
    return render(template, values, opt_out_notice=opt_out_notice(sender.opt_out_notice, language))
