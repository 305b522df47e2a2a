"""What a cardholder's text does: opt out, opt back in, ask for help, or reach an agent.

Keywords are matched on the whole message, ignoring case, spaces and punctuation (" stop. ",
"Stop", "退订。"). Twilio itself handles STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE and
OPTOUT on long codes: it confirms them and blocks later sends (error 21610), so here the opt-out is
recorded and no second confirmation is sent. The Chinese keywords TD, 退订 and 取消 are not handled
by Twilio: they are recorded and confirmed once. Anything else is kept, card numbers redacted,
for an agent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.config import SmsSettings
from campaigns.suppressions import add_suppression, remove_suppression
from store.models import Account, InboundMessage, Phone
from store.privacy import redact_card_numbers

TWILIO_OPTOUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
CHINESE_OPTOUT = frozenset({"TD", "退订", "取消"})
OPTIN = frozenset({"START", "UNSTOP", "YES"})
HELP = frozenset({"HELP", "帮助"})

Kind = Literal["optout", "optin", "help", "message"]


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True)
class InboundResult:
    kind: Kind
    reply: str | None
    duplicate: bool = False


def keyword(body: str) -> str:
    """The message reduced to a possible keyword: no spaces or punctuation, upper case."""
    kept = [
        ch
        for ch in unicodedata.normalize("NFKC", body)
        if not unicodedata.category(ch).startswith(("P", "Z", "S", "C"))
    ]
    return "".join(kept).upper()


def classify(body: str) -> tuple[Kind, str]:
    word = keyword(body)
    if word in TWILIO_OPTOUT or word in CHINESE_OPTOUT:
        return "optout", word
    if word in OPTIN:
        return "optin", word
    if word in HELP:
        return "help", word
    return "message", word


def _accounts_for(session: Session, number: str) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .join(Phone, Phone.account_id == Account.account_id)
            .where(Phone.number == number)
            .order_by(Account.account_id)
        ).unique()
    )


def _language(accounts: list[Account], word: str) -> str:
    languages = {a.language for a in accounts}
    if len(languages) == 1:
        return languages.pop()
    return "zh-CN" if word in CHINESE_OPTOUT or word == "帮助" else "en-US"


def handle_inbound_sms(
    session: Session,
    sms: InboundSms,
    *,
    now: datetime,
    config: SmsSettings,
    business_name: str,
    support_number: str,
) -> InboundResult:
    """Record ``sms`` and act on it; returns the reply to send in the webhook's TwiML, if any.

    A MessageSid seen before (Twilio retried the webhook) changes nothing and replies nothing.
    """
    kind, word = classify(sms.body)
    if session.scalar(
        select(InboundMessage.id).where(InboundMessage.message_sid == sms.message_sid)
    ):
        return InboundResult(kind, None, duplicate=True)
    accounts = _accounts_for(session, sms.from_number)
    language = _language(accounts, word)
    session.add(
        InboundMessage(
            message_sid=sms.message_sid,
            number=sms.from_number,
            to_number=sms.to_number,
            body=redact_card_numbers(sms.body)[:2000],
            kind=kind,
            account_id=accounts[0].account_id if len(accounts) == 1 else None,
            received_at=now,
            # Keywords are handled here and now; only free text waits for an agent.
            handled_at=now if kind != "message" else None,
            handled_by="keyword" if kind != "message" else None,
        )
    )
    fields = {"business_name": business_name, "support_number": support_number}
    reply: str | None = None
    if kind == "optout":
        _, created = add_suppression(
            session,
            kind="optout-sms",
            number=sms.from_number,
            reason=f"texted {word}",
            actor="cardholder",
            source="sms",
            now=now,
        )
        if created and word in CHINESE_OPTOUT and config.send_optout_confirmation:
            reply = config.optout_confirmation[language].format(**fields)
    elif kind == "optin":
        remove_suppression(
            session,
            kind="optout-sms",
            number=sms.from_number,
            reason=f"texted {word}",
            actor="cardholder",
            now=now,
        )
    elif kind == "help":
        reply = config.help_text[language].format(**fields)
    session.flush()
    return InboundResult(kind, reply)


def inbox(session: Session, *, include_handled: bool = False) -> list[InboundMessage]:
    """Free-text messages for agents, oldest first."""
    query = select(InboundMessage).where(InboundMessage.kind == "message")
    if not include_handled:
        query = query.where(InboundMessage.handled_at.is_(None))
    return list(session.scalars(query.order_by(InboundMessage.received_at, InboundMessage.id)))


def mark_handled(session: Session, message_id: int, *, by: str, now: datetime) -> bool:
    row = session.get(InboundMessage, message_id)
    if row is None or row.handled_at is not None:
        return False
    row.handled_at, row.handled_by = now, by
    return True
