"""The call flow's values: a call's session, what the flow knows, the events and the effects.

Everything here is plain data. :mod:`ivr.machine` turns a :class:`CallSession` and an
:data:`Event` into the next session and the :data:`Effect` values its caller carries out
(store a promise, queue the confirmation SMS, ask an agent to call back); :mod:`ivr.render`
turns a session into the TwiML the caller hears. What the flow needs to know about accounts it
asks an :class:`AccountDirectory` (the caller passes one backed by the store, tests pass a dict).

A session never holds verification digits: the last 4 are checked on entry and only the matching
account id (or none) is carried to the birth-date step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol

from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import SelfServiceOffer
from campaigns.legal import LegalProfile, LegalProfiles
from campaigns.plan_settings import Frequency, PlanSettings
from ivr.catalogue import Catalogue, load_catalogues
from ivr.config import IvrSettings

#: A first-party creditor under Regulation F's hours, when no profiles are configured.
DEFAULT_LEGAL = LegalProfiles(
    default="us_reg_f",
    profiles={"us_reg_f": LegalProfile("us_reg_f", time(8), time(20, 50))},
)

# Callback priorities: lower is more urgent (the desk serves them in this order).
PRIORITY_FRAUD = 0
PRIORITY_VERIFICATION = 1
PRIORITY_FAULT = 2
PRIORITY_AGENT = 3
PRIORITY_NO_INPUT = 5

# Twilio's AnsweredBy values for a machine (AMD docs); anything else not listed as a person is
# treated as a machine too, because the limited-content message is safe for anyone.
PERSON_VERDICTS = frozenset({"human", "unknown"})
FAX_VERDICT = "fax"


class State(StrEnum):
    """Where a call is; the states of :data:`TERMINAL_STATES` end the call with ``<Hangup>``."""

    LANGUAGE = "language"
    ACCOUNT_NUMBER = "account_number"
    VERIFY_LAST4 = "verify_last4"
    VERIFY_DOB = "verify_dob"
    AGENT_OFFER = "agent_offer"
    MENU = "menu"
    PROMISE_DATE = "promise_date"
    PROMISE_AMOUNT = "promise_amount"
    PROMISE_CONFIRM = "promise_confirm"
    PLAN_CHOOSE = "plan_choose"
    PLAN_COUNT = "plan_count"
    PLAN_CONFIRM = "plan_confirm"
    CONCESSION_OFFER = "concession_offer"
    CALLBACK_TIME = "callback_time"
    HOLD = "hold"
    RIGHT_PARTY = "right_party"
    VOICEMAIL = "voicemail"
    WRONG_PARTY = "wrong_party"
    ENDED = "ended"


TERMINAL_STATES = frozenset({State.VOICEMAIL, State.WRONG_PARTY, State.ENDED})
# States whose Digits are verification secrets: never stored or logged in clear.
SECRET_STATES = frozenset({State.VERIFY_LAST4, State.VERIFY_DOB, State.ACCOUNT_NUMBER})

Direction = Literal["inbound", "outbound"]


# --- what the flow knows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Business:
    """Who is calling, as the limited-content message may say it (``business`` settings)."""

    name: str
    agent_name: str
    callback_number: str


@dataclass(frozen=True)
class AccountFacts:
    """One account as the flow needs it. ``balance`` is what is still owed (payments since the
    balance date deducted); ``today`` the cardholder's local date; ``zone`` their IANA zone.

    ``zones`` are every zone the cardholder may be in (the declared one and the number's: a
    callback must fall inside the calling window in all of them), ``window_start`` and
    ``window_close`` that window under the cardholder's legal profile, ``disclosure`` the
    catalogue entry said after verification (None: none required), ``can_text`` whether a text
    can reach them (consent on the number, no opt-out): the flow promises a confirmation text
    only then.
    """

    account_id: str
    name: str
    language: str
    currency: str
    balance: Decimal
    minimum_due: Decimal
    due_date: date
    last4: str
    birth_date: date
    status: str
    today: date
    zone: str
    locked: bool = False
    zones: tuple[str, ...] = ()
    window_start: time = time(8)
    window_close: time = time(20, 50)
    disclosure: str | None = None
    can_text: bool = True
    days_past_due: int = 0
    #: A repayment plan is already active on the account (one per account).
    active_plan: bool = False


class AccountDirectory(Protocol):
    """Read access to accounts for the flow."""

    def account(self, account_id: str) -> AccountFacts | None:
        """The account ``account_id``, or None when there is none."""
        ...

    def concession_offers(self, account_id: str) -> tuple[SelfServiceOffer, ...]:
        """The concessions the verified caller of ``account_id`` may accept by phone (the
        self-service offers of ``concessions:``, standard terms worked out); () for none."""
        ...


@dataclass(frozen=True)
class Context:
    """What one step may consult: the time and the accounts."""

    now: datetime
    directory: AccountDirectory

    def account(self, account_id: str | None) -> AccountFacts | None:
        """The account ``account_id``; None for no id, or when there is no such account."""
        return self.directory.account(account_id) if account_id else None

    def concession_offers(self, account_id: str | None) -> tuple[SelfServiceOffer, ...]:
        """What :meth:`AccountDirectory.concession_offers` says; () for no id."""
        return self.directory.concession_offers(account_id) if account_id else ()


@dataclass(frozen=True)
class Flow:
    """The flow's configuration: settings, who we are, languages, where Twilio reaches us."""

    settings: IvrSettings
    business: Business
    languages: tuple[str, ...]
    public_url: str
    catalogues: Mapping[str, Catalogue] = field(default_factory=dict)
    #: The legal profile of each cardholder (its calling window, its disclosure).
    legal: LegalProfiles = field(default_factory=lambda: DEFAULT_LEGAL)
    #: The repayment plans menu key 4 may offer (``plans:``).
    plans: PlanSettings = field(default_factory=PlanSettings)
    #: The concessions a caller may accept by phone after agreeing a plan (``concessions:``).
    concessions: ConcessionSettings = field(default_factory=ConcessionSettings)

    @classmethod
    def build(
        cls,
        settings: IvrSettings,
        business: Business,
        languages: Sequence[str],
        public_url: str,
        legal: LegalProfiles | None = None,
        plans: PlanSettings | None = None,
        concessions: ConcessionSettings | None = None,
    ) -> Flow:
        """Load and check the catalogues of ``languages``; raises CatalogueError."""
        langs = tuple(languages)
        return cls(
            settings,
            business,
            langs,
            public_url.rstrip("/"),
            load_catalogues(langs),
            legal or DEFAULT_LEGAL,
            plans or PlanSettings(),
            concessions or ConcessionSettings(),
        )


# --- the session ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSession:
    """The state of one call (keyed by Twilio's CallSid), as a value.

    ``step`` numbers the TwiML documents the call was given; every URL handed to Twilio carries
    it, so a replayed request is recognised. ``candidates`` are the accounts a caller may be
    (caller ID, or the reminder's account), ``claimed`` an account number keyed by the caller,
    ``matched`` the account whose last 4 digits matched (between the two verification steps),
    ``account_id`` the verified account.
    """

    call_sid: str
    direction: Direction
    state: State
    step: int = 0
    language: str | None = None
    caller: str | None = None
    candidates: tuple[str, ...] = ()
    claimed: str | None = None
    matched: str | None = None
    account_id: str | None = None
    attempt_id: int | None = None
    verified: bool = False
    failures: int = 0
    misses: int = 0
    hold_loops: int = 0
    keyed: bool = False
    answered_by: str | None = None
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    callback_reason: str | None = None
    #: The repayment plan being agreed: installments, frequency, first date.
    plan_count: int | None = None
    plan_frequency: str | None = None
    plan_first: date | None = None
    #: The self-service concession offered after a plan (its name in ``concessions.offers``).
    concession_offer: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON document of the session (no verification digits: there are none in it)."""
        return {
            "call_sid": self.call_sid,
            "direction": self.direction,
            "state": self.state.value,
            "step": self.step,
            "language": self.language,
            "caller": self.caller,
            "candidates": list(self.candidates),
            "claimed": self.claimed,
            "matched": self.matched,
            "account_id": self.account_id,
            "attempt_id": self.attempt_id,
            "verified": self.verified,
            "failures": self.failures,
            "misses": self.misses,
            "hold_loops": self.hold_loops,
            "keyed": self.keyed,
            "answered_by": self.answered_by,
            "promise_date": self.promise_date.isoformat() if self.promise_date else None,
            "promise_amount": str(self.promise_amount) if self.promise_amount else None,
            "callback_reason": self.callback_reason,
            "plan_count": self.plan_count,
            "plan_frequency": self.plan_frequency,
            "plan_first": self.plan_first.isoformat() if self.plan_first else None,
            "concession_offer": self.concession_offer,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CallSession:
        """The inverse of :meth:`to_json`."""
        return cls(
            call_sid=str(doc["call_sid"]),
            direction="outbound" if doc["direction"] == "outbound" else "inbound",
            state=State(doc["state"]),
            step=int(doc["step"]),
            language=doc.get("language"),
            caller=doc.get("caller"),
            candidates=tuple(doc.get("candidates") or ()),
            claimed=doc.get("claimed"),
            matched=doc.get("matched"),
            account_id=doc.get("account_id"),
            attempt_id=doc.get("attempt_id"),
            verified=bool(doc.get("verified")),
            failures=int(doc.get("failures") or 0),
            misses=int(doc.get("misses") or 0),
            hold_loops=int(doc.get("hold_loops") or 0),
            keyed=bool(doc.get("keyed")),
            answered_by=doc.get("answered_by"),
            promise_date=date.fromisoformat(doc["promise_date"])
            if doc.get("promise_date")
            else None,
            promise_amount=Decimal(doc["promise_amount"]) if doc.get("promise_amount") else None,
            callback_reason=doc.get("callback_reason"),
            plan_count=int(doc["plan_count"]) if doc.get("plan_count") else None,
            plan_frequency=doc.get("plan_frequency"),
            plan_first=date.fromisoformat(doc["plan_first"]) if doc.get("plan_first") else None,
            concession_offer=doc.get("concession_offer"),
        )


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The first request of a call. ``caller`` is the cardholder's side (From inbound, To
    outbound); ``candidates`` the accounts caller ID matched (one customer only) or, outbound,
    the reminder's account; ``attempt_id`` the reminder's attempt."""

    caller: str | None
    candidates: tuple[str, ...] = ()
    attempt_id: int | None = None


@dataclass(frozen=True)
class Digits:
    """Keys from a Gather; ``finished_on_key`` is Twilio's FinishedOnKey ('#' or '')."""

    value: str
    finished_on_key: str = ""


@dataclass(frozen=True)
class NoInput:
    """The Gather timed out and Twilio fell through to the Redirect after it."""


@dataclass(frozen=True)
class HoldTick:
    """One loop of the silent hold of an answered reminder call."""


@dataclass(frozen=True)
class AmdVerdict:
    """Twilio's asynchronous answering-machine verdict (``AnsweredBy``)."""

    answered_by: str


Event = Start | Digits | NoInput | HoldTick | AmdVerdict


# --- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationSucceeded:
    account_id: str


@dataclass(frozen=True)
class VerificationFailed:
    """Count a failure against each of ``account_ids`` (empty: the caller named no real account)."""

    account_ids: tuple[str, ...]


@dataclass(frozen=True)
class PromiseMade:
    """Store the promise (source ``ivr``) and queue ``sms_body`` for the confirmation SMS."""

    account_id: str
    promised_date: date
    amount: Decimal
    currency: str
    language: str
    sms_body: str


@dataclass(frozen=True)
class PlanAgreed:
    """Store the repayment plan (source ``ivr``; :mod:`campaigns.plans` checks it again against
    the store) and queue ``sms_body`` for its confirmation SMS."""

    account_id: str
    installments: int
    frequency: Frequency
    first_date: date
    total: Decimal
    currency: str
    language: str
    sms_body: str


@dataclass(frozen=True)
class ConcessionAccepted:
    """The verified caller accepted self-service offer ``offer`` on its standard terms:
    :mod:`campaigns.concessions` decides it again against the store, as the ``ivr`` actor."""

    account_id: str
    offer: str


@dataclass(frozen=True)
class CallbackRequested:
    """Ask for an agent to call ``number`` back (``preferred_at`` None: as soon as possible)."""

    account_id: str | None
    number: str | None
    reason: str
    priority: int
    language: str
    verified: bool
    preferred_at: datetime | None = None


@dataclass(frozen=True)
class FraudReported:
    account_id: str
    number: str | None
    language: str


@dataclass(frozen=True)
class AttemptUpdate:
    """What the call learnt about its reminder attempt; None/False fields change nothing."""

    answered_by: str | None = None
    connected: bool = False
    #: A person verifiably talked (a key pressed, identity confirmed, verified): a conversation
    #: no later answering-machine verdict undoes.
    conversation: bool = False
    outcome: str | None = None


@dataclass(frozen=True)
class ConversationHeld:
    """A cardholder who called the hotline verified: a conversation with the person, recorded
    in the contact ledger (Reg F counts it whoever placed the call)."""

    account_id: str


@dataclass(frozen=True)
class VoiceOptOut:
    """The cardholder asked for no more calls (menu key 8): ``number`` is opted out of voice
    (the account's, when the caller's number is unknown). TCPA: revocation by any reasonable
    means."""

    account_id: str
    number: str | None


@dataclass(frozen=True)
class AgentWanted:
    """The caller should talk to a person now (key 0, failed verification, a fraud report).

    Returned beside the step's own fallback (the callback offer, or the callback booked): the web
    edge asks the desk whether an agent who serves this caller is on shift; if so the call is
    put in the desk's queue instead and the fallback's callback is not booked.
    """

    reason: str
    language: str
    verified: bool
    number: str | None
    account_id: str | None = None


Effect = (
    VerificationSucceeded
    | VerificationFailed
    | PromiseMade
    | PlanAgreed
    | ConcessionAccepted
    | CallbackRequested
    | FraudReported
    | AttemptUpdate
    | ConversationHeld
    | VoiceOptOut
    | AgentWanted
)


@dataclass(frozen=True)
class Turn:
    """The result of one step. ``twiml`` is None when the event changes nothing the caller
    hears (a late AMD verdict); then ``session.step`` is unchanged too."""

    session: CallSession
    twiml: str | None
    effects: tuple[Effect, ...] = ()
