"""Helpers for the IVR tests: two cardholders, a dict directory, a driver, TwiML parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import SelfServiceOffer
from ivr.config import IvrSettings
from ivr.machine import CallFlow
from ivr.session import (
    AccountFacts,
    Business,
    CallSession,
    Context,
    Digits,
    Event,
    Flow,
    NoInput,
    Start,
    Turn,
)

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
PUBLIC = "https://duecall.test"
BUSINESS = Business("Northwind Card Services", "Alex Morgan", "+18005550100")

EN = AccountFacts(
    account_id="70000001",
    name="Marguerite Okonkwo",
    language="en-US",
    currency="USD",
    balance=Decimal("4823.17"),
    minimum_due=Decimal("144.69"),
    due_date=date(2026, 12, 14),
    last4="7391",
    birth_date=date(1971, 3, 26),
    status="open",
    today=date(2026, 11, 29),
    zone="America/New_York",
)
ZH = AccountFacts(
    account_id="70000002",
    name="欧阳娜娜",
    language="zh-CN",
    currency="CNY",
    balance=Decimal("18652.43"),
    minimum_due=Decimal("559.57"),
    due_date=date(2026, 11, 21),
    last4="6058",
    birth_date=date(1983, 8, 19),
    status="open",
    today=date(2026, 11, 29),
    zone="Asia/Shanghai",
)
ACCOUNTS = {EN.account_id: EN, ZH.account_id: ZH}


@dataclass
class DictDirectory:
    accounts: dict[str, AccountFacts] = field(default_factory=lambda: dict(ACCOUNTS))

    offers: dict[str, tuple[SelfServiceOffer, ...]] = field(default_factory=dict)

    def account(self, account_id: str) -> AccountFacts | None:
        return self.accounts.get(account_id)

    def concession_offers(self, account_id: str) -> tuple[SelfServiceOffer, ...]:
        return self.offers.get(account_id, ())


#: Two self-service concessions, as ``concessions:`` configures them.
CONCESSIONS = ConcessionSettings.model_validate(
    {
        "offers": {
            "late-fee-waiver": {
                "kind": "fee_waiver",
                "percent": 100,
                "self_service": True,
                "limits": {"agent": {"max_amount": "50"}, "supervisor": {"max_amount": "500"}},
            },
            "hardship-rate": {
                "kind": "reduced_rate",
                "apr_bps": 990,
                "months": 6,
                "self_service": True,
                "limits": {
                    "agent": {"min_apr_bps": 990, "max_months": 6},
                    "supervisor": {"min_apr_bps": 0, "max_months": 12},
                },
            },
        }
    }
)


def phone_offers(facts: AccountFacts) -> tuple[SelfServiceOffer, ...]:
    """The two offers of :data:`CONCESSIONS` as the rules would work them out for ``facts``."""
    common = {"currency": facts.currency, "effective_date": facts.today, "description": ""}
    return (
        SelfServiceOffer(
            offer="late-fee-waiver",
            kind="fee_waiver",
            end_date=None,
            amount_minor=3900,
            base_minor=3900,
            percent_bps=10000,
            apr_bps=None,
            months=None,
            **common,  # type: ignore[arg-type]
        ),
        SelfServiceOffer(
            offer="hardship-rate",
            kind="reduced_rate",
            end_date=None,
            amount_minor=None,
            base_minor=None,
            percent_bps=None,
            apr_bps=990,
            months=6,
            **common,  # type: ignore[arg-type]
        ),
    )


def build_flow(
    settings: IvrSettings | None = None, concessions: ConcessionSettings | None = None
) -> Flow:
    return Flow.build(
        settings or IvrSettings(),
        BUSINESS,
        ("en-US", "zh-CN"),
        PUBLIC,
        concessions=concessions,
    )


def context(directory: DictDirectory | None = None) -> Context:
    return Context(now=NOW, directory=directory or DictDirectory())


def verify_keys(facts: AccountFacts) -> list[str]:
    return [facts.last4, f"{facts.birth_date:%Y%m%d}"]


def event_for(key: str | None) -> Event:
    """None: the caller stayed silent; '#': only the pound key; else keys then '#' stripped."""
    if key is None:
        return NoInput()
    if key.endswith("#"):
        return Digits(key[:-1], "#")
    return Digits(key)


@dataclass
class Driver:
    """Feeds events to the machine, keeping every turn."""

    machine: CallFlow
    ctx: Context
    turns: list[Turn] = field(default_factory=list)

    @property
    def session(self) -> CallSession:
        return self.turns[-1].session

    def start(self, sid: str, start: Start, direction: str = "inbound") -> Turn:
        turn = self.machine.start(
            sid, "outbound" if direction == "outbound" else "inbound", start, self.ctx
        )
        self.turns.append(turn)
        return turn

    def send(self, event: Event) -> Turn:
        turn = self.machine.advance(self.session, event, self.ctx)
        self.turns.append(turn)
        return turn

    def keys(self, keys: Iterable[str | None]) -> Turn:
        turn = self.turns[-1]
        for key in keys:
            turn = self.send(event_for(key))
        return turn


def parse(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return root


def spoken(twiml: str) -> list[str]:
    """Every text a caller hears in the document, in order."""
    return [(say.text or "") for say in parse(twiml).iter("Say")]


def spoken_with_language(twiml: str) -> list[tuple[str, str]]:
    return [(say.get("language", ""), say.text or "") for say in parse(twiml).iter("Say")]


def assert_well_formed(twiml: str) -> None:
    """A document a call can follow: each Gather is followed by a Redirect counting the miss;
    it ends in a Gather+Redirect, a Pause+Redirect (the hold) or a Hangup."""
    root = parse(twiml)
    verbs = list(root)
    assert verbs, "empty document"
    for index, verb in enumerate(verbs):
        assert verb.tag in {"Say", "Gather", "Redirect", "Hangup", "Pause"}, verb.tag
        if verb.tag == "Gather":
            assert verb.get("input") == "dtmf"
            assert verb.get("action", "").startswith(PUBLIC + "/twilio/voice")
            assert index + 1 < len(verbs) and verbs[index + 1].tag == "Redirect"
            query = parse_qs(urlsplit(verbs[index + 1].text or "").query)
            assert query.get("miss") and int(query["miss"][0]) >= 1
            assert all(child.tag == "Say" for child in verb)
        if verb.tag == "Say":
            assert verb.get("voice") and verb.get("language")
    assert verbs[-1].tag in {"Redirect", "Hangup"}
