"""What a cardholder's text does: opt out, opt back in, ask for help, or reach an agent.

Keywords are matched on the whole message, ignoring case, spaces and punctuation (" stop. ",
"Stop", "退订。"). Twilio itself handles STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE and
OPTOUT on long codes: it confirms them and blocks later sends (error 21610), so here the opt-out is
recorded and no second confirmation is sent. The Chinese keywords TD, 退订 and 取消 are not handled
by Twilio: they are recorded and confirmed once. HELP, INFO and 帮助 get the help text.

Since the TCPA 2025 revocation rules, consent is revoked by any reasonable means, plain words
included: "Please stop", "stop texting me", "unsubscribe me", "don't call me", "TD退订", "退訂".
Twilio does not recognise these, so duecall records and confirms them once, as it does TD. They are
matched by :data:`OPTOUT_PHRASES`, a short list of whole-message patterns on the normalised text
(:func:`normalise`): a message must *be* an opt-out, not merely contain "stop", so "I will stop by
the branch", "can you stop the late fee" and "please stop calling me at work" (a time or place to
avoid, Reg F 1006.6(b)(1), not a revocation) stay for an agent. Words about calls ("don't call
me", "stop calling me", 不要再打电话) revoke calls as well as texts.

Anything else is kept, card numbers redacted, for an agent, with a date by which to answer it: 10
business days after receipt (:func:`response_due`), the time the TCPA 2025 revocation rules give
to honour a revocation, which a free-text message may turn out to be.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
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
HELP = frozenset({"HELP", "INFO", "帮助", "幫助"})

#: TCPA 2025 revocation rules: honoured within 10 business days; the inbox's answer-by date.
RESPONSE_BUSINESS_DAYS = 10

Kind = Literal["optout", "optin", "help", "message"]
Channels = frozenset[Literal["sms", "voice"]]

SMS_ONLY: Channels = frozenset({"sms"})
CALLS_AND_TEXTS: Channels = frozenset({"sms", "voice"})

# Plain-words opt-outs. Each is matched against the whole normalised message (single spaces, lower
# case, see normalise()), with {lead} and {tail} allowing politeness around the request; anything
# else in the message makes it one for an agent. {me}, {dont}, {texts}, {list} are shorthands.
_FRAGMENTS = {
    "lead": r"(?:(?:hi|hello|hey) )?(?:(?:please|pls|plz|kindly) )?"
    r"(?:(?:i want to|i would like to|i'd like to) )?",
    "tail": r"(?: (?:now|again|anymore|any more|ever again))?"
    r"(?: (?:please|pls|plz|thanks|thank you|thx))?",
    "me": r"(?: (?:me|this number))",
    "dont": r"(?:don't|do not|never)",
    "texts": r"(?:texts?|text messages?|messages?|sms)",
    "list": r"(?: (?:of |from )?(?:(?:your|the|this) )?"
    r"(?:list|texts?|text messages?|messages?|sms))",
}
_ENGLISH: tuple[tuple[str, Channels], ...] = (
    # "please stop", "stop it", "stop texting me", "stop sending me messages"
    ("{lead}stop(?: it| (?:texting|messaging){me}?| sending(?: me)? {texts})?{tail}", SMS_ONLY),
    ("{lead}{dont} (?:text|message|sms){me}{tail}", SMS_ONLY),
    ("{lead}no more {texts}{tail}", SMS_ONLY),
    # "unsubscribe me", "opt me out", "take me off your list", "remove me from the list"
    ("{lead}(?:unsubscribe|opt out)(?: me)?{list}?{tail}", SMS_ONLY),
    ("{lead}(?:opt|take|remove) me (?:out|off){list}?{tail}", SMS_ONLY),
    ("{lead}remove me{list}?{tail}", SMS_ONLY),
    # Calls: "don't call me", "stop calling me", "no more calls", "stop contacting me"
    ("{lead}(?:stop|quit) (?:calling|phoning|ringing|contacting){me}?{tail}", CALLS_AND_TEXTS),
    ("{lead}{dont} (?:call|phone|ring|contact){me}{tail}", CALLS_AND_TEXTS),
    ("{lead}no more (?:phone )?calls{tail}", CALLS_AND_TEXTS),
)
_CHINESE: tuple[tuple[str, Channels], ...] = (
    # "TD退订", "请退订", "退訂" (traditional script), "取消订阅", "取消訂閱短信", "退订，谢谢"
    (
        "(?:请|請)?(?:td)?(?:退订|退訂|取消订阅|取消訂閱)(?:短信|簡訊|短訊|信息|訊息)?(?:谢谢|謝謝)?",
        SMS_ONLY,
    ),
    # "不要再发短信了", "别给我发信息"
    (
        "(?:请|請)?(?:不要|别|別)再?(?:给我|給我)?(?:发|發)(?:短信|簡訊|短訊|信息|訊息|消息)了?",
        SMS_ONLY,
    ),
    # "不要再打电话", "别再给我打电话了"
    (
        "(?:请|請)?(?:不要|别|別)再?(?:给我|給我)?(?:打电话|打電話|来电|來電|致电|致電)了?",
        CALLS_AND_TEXTS,
    ),
)
#: The plain-words opt-outs: (whole-message pattern, channels it revokes).
OPTOUT_PHRASES: tuple[tuple[re.Pattern[str], Channels], ...] = tuple(
    (re.compile(pattern.format(**_FRAGMENTS)), channels) for pattern, channels in _ENGLISH
) + tuple((re.compile(pattern), channels) for pattern, channels in _CHINESE)


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


@dataclass(frozen=True)
class Classified:
    """What a text is: its kind, the keyword or normalised words, and for an opt-out the
    channels it revokes and whether Twilio already handled (and confirmed) it."""

    kind: Kind
    word: str
    channels: Channels = frozenset()
    by_twilio: bool = False


def keyword(body: str) -> str:
    """The message reduced to a possible keyword: no spaces or punctuation, upper case."""
    kept = [
        ch
        for ch in unicodedata.normalize("NFKC", body)
        if not unicodedata.category(ch).startswith(("P", "Z", "S", "C"))
    ]
    return "".join(kept).upper()


def normalise(body: str) -> str:
    """The message as words: NFKC, lower case, curly apostrophes straight, other punctuation and
    symbols dropped, runs of space as one; spaces next to Chinese characters dropped."""
    text = unicodedata.normalize("NFKC", body).casefold().replace("\u2019", "'")
    kept = "".join(
        " "
        if unicodedata.category(ch).startswith(("Z", "C"))
        else ""
        if ch != "'" and unicodedata.category(ch).startswith(("P", "S"))
        else ch
        for ch in text
    )
    words = " ".join(kept.split())
    words = re.sub(r"\bdont\b", "don't", words)
    return re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", words)


def plain_words_optout(body: str) -> Channels | None:
    """The channels a plain-words opt-out revokes, or None when ``body`` is not one."""
    words = normalise(body)
    for pattern, channels in OPTOUT_PHRASES:
        if pattern.fullmatch(words):
            return channels
    return None


def classify_message(body: str) -> Classified:
    """What ``body`` is (see the module docstring)."""
    word = keyword(body)
    if word in TWILIO_OPTOUT:
        return Classified("optout", word, SMS_ONLY, by_twilio=True)
    if word in CHINESE_OPTOUT:
        return Classified("optout", word, SMS_ONLY)
    if word in OPTIN:
        return Classified("optin", word)
    if word in HELP:
        return Classified("help", word)
    channels = plain_words_optout(body)
    if channels is not None:
        return Classified("optout", normalise(body), channels)
    return Classified("message", word)


def classify(body: str) -> tuple[Kind, str]:
    """:func:`classify_message`'s kind and word."""
    found = classify_message(body)
    return found.kind, found.word


def response_due(received_at: datetime, business_days: int = RESPONSE_BUSINESS_DAYS) -> datetime:
    """``received_at`` plus ``business_days`` business days (Saturdays and Sundays not counted),
    at the same time of day: Wednesday -> Wednesday two weeks on, Friday or Saturday -> the
    Friday two weeks after (TCPA 2025 revocation rules: 10 business days)."""
    due, left = received_at, business_days
    while left:
        due += timedelta(days=1)
        if due.weekday() < 5:
            left -= 1
    return due


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
    chinese = word in CHINESE_OPTOUT or any("\u4e00" <= ch <= "\u9fff" for ch in word)
    return "zh-CN" if chinese else "en-US"


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
    found = classify_message(sms.body)
    kind, word = found.kind, found.word
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
            # Keywords and opt-outs are handled here and now; only free text waits for an
            # agent, who has until the due date to answer it.
            due_at=response_due(now) if kind == "message" else None,
            handled_at=now if kind != "message" else None,
            handled_by="keyword" if kind != "message" else None,
        )
    )
    fields = {"business_name": business_name, "support_number": support_number}
    reply: str | None = None
    if kind == "optout":
        reason = f"texted {word}" if len(word) <= 40 else f"texted {word[:37]}..."
        created_any = False
        for channel in sorted(found.channels):
            _, created = add_suppression(
                session,
                kind=f"optout-{channel}",
                number=sms.from_number,
                reason=reason,
                actor="cardholder",
                source="sms",
                now=now,
            )
            created_any = created_any or created
        # One confirmation, and only when something new was recorded (TCPA 2025: one text
        # confirming the revocation); never for the words Twilio confirms itself.
        if created_any and not found.by_twilio and config.send_optout_confirmation:
            texts = (
                config.optout_confirmation_calls
                if "voice" in found.channels
                else config.optout_confirmation
            )
            reply = texts[language].format(**fields)
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
    """Free-text messages for agents, oldest first, each with its answer-by date
    (``due_at``)."""
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
