"""The call flow as a state machine: ``(session, event) -> (next session, TwiML, effects)``.

Pure: no Flask, no database, no dialer. What the flow needs to know about accounts it asks an
:class:`AccountDirectory` (the caller passes one backed by the store, tests pass a dict); what
should happen in the world (store a promise, queue the confirmation SMS, ask an agent to call
back) it returns as :data:`Effect` values for its caller to carry out.

Privacy rules the flow enforces by construction:

* before verification the only account data that can reach a caller is the cardholder's name in
  the right-party question of an answered reminder call ("this call is for ..."); the hotline
  says nothing about any account before verification, not even whether an account number exists
  (an unknown number is asked for the same card digits and birth date and fails the same way);
* a machine hears the limited-content message only (Reg F 12 CFR 1006.2(j)): no name of the
  cardholder, nothing about a debt;
* verification digits are never echoed, never kept in the session: the last 4 are checked on
  entry and only the matching account id (or none) is carried to the birth-date step.

Callers known by caller ID with several cards pick the card by keying its last 4 digits: the
verification itself selects the account, so no card is described before verification.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import phonenumbers
from twilio.twiml.voice_response import VoiceResponse

from ivr import speech
from ivr.catalogue import Catalogue, load_catalogues
from ivr.config import IvrSettings
from telephony import routes

CENT = Decimal("0.01")
INBOUND_PATH = routes.VOICE_INBOUND
OUTBOUND_PATH = routes.VOICE_OUTBOUND

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

# Account statuses a promise to pay may be taken for by phone; the others (bankrupt, deceased,
# recalled, closed) need a person.
PROMISE_STATUSES = frozenset({"open", "charged_off"})


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
    balance date deducted); ``today`` the cardholder's local date; ``zone`` their IANA zone."""

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


class AccountDirectory(Protocol):
    """Read access to accounts for the flow."""

    def account(self, account_id: str) -> AccountFacts | None:
        """The account ``account_id``, or None when there is none."""
        ...


@dataclass(frozen=True)
class Context:
    """What one step may consult: the time and the accounts."""

    now: datetime
    directory: AccountDirectory


@dataclass(frozen=True)
class Flow:
    """The flow's configuration: settings, who we are, languages, where Twilio reaches us."""

    settings: IvrSettings
    business: Business
    languages: tuple[str, ...]
    public_url: str
    catalogues: Mapping[str, Catalogue] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        settings: IvrSettings,
        business: Business,
        languages: Sequence[str],
        public_url: str,
    ) -> Flow:
        """Load and check the catalogues of ``languages``; raises CatalogueError."""
        langs = tuple(languages)
        return cls(settings, business, langs, public_url.rstrip("/"), load_catalogues(langs))


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
    outcome: str | None = None


Effect = (
    VerificationSucceeded
    | VerificationFailed
    | PromiseMade
    | CallbackRequested
    | FraudReported
    | AttemptUpdate
)


@dataclass(frozen=True)
class Turn:
    """The result of one step. ``twiml`` is None when the event changes nothing the caller
    hears (a late AMD verdict); then ``session.step`` is unchanged too."""

    session: CallSession
    twiml: str | None
    effects: tuple[Effect, ...] = ()


# --- the machine ---------------------------------------------------------------------------------


@dataclass
class _Reply:
    """What a step says before the state's own prompt, and its effects."""

    preface: list[tuple[str, str]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def say(self, text: str, language: str) -> _Reply:
        self.preface.append((text, language))
        return self


class CallFlow:
    """The machine: :meth:`start` opens a call, :meth:`advance` applies each later event.

    Stateless between calls (one instance serves every call and thread); never raises for
    anything a caller can key."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.settings = flow.settings

    # public -------------------------------------------------------------------------------------

    def start(self, call_sid: str, direction: Direction, event: Start, ctx: Context) -> Turn:
        """Open a call's session and render its first document."""
        session = CallSession(
            call_sid=call_sid,
            direction=direction,
            state=State.LANGUAGE,
            caller=event.caller,
            candidates=event.candidates,
            attempt_id=event.attempt_id,
        )
        reply = _Reply()
        if direction == "outbound":
            facts = self._facts(ctx, event.candidates[0]) if event.candidates else None
            if facts is None:
                # A reminder for an account that no longer exists: say nothing, hang up.
                return self._to(replace(session, state=State.ENDED), ctx, reply)
            return self._to(replace(session, state=State.HOLD, language=facts.language), ctx, reply)
        languages = {
            f.language
            for f in (self._facts(ctx, a) for a in event.candidates)
            if f is not None and f.language in self.flow.languages
        }
        language: str | None = None
        if len(self.flow.languages) == 1:
            language = self.flow.languages[0]
        elif len(languages) == 1:
            language = languages.pop()
        if language is None:
            return self._to(session, ctx, reply)
        session = replace(session, language=language)
        reply.say(self._text(session, "welcome", business_name=self.flow.business.name), language)
        state = State.VERIFY_LAST4 if event.candidates else State.ACCOUNT_NUMBER
        return self._to(replace(session, state=state), ctx, reply)

    def advance(self, session: CallSession, event: Event, ctx: Context) -> Turn:
        """Apply ``event`` to ``session``."""
        if isinstance(event, Start):
            # A second "first request" for a known call: say the current prompt again.
            return self._to(session, ctx, _Reply())
        if isinstance(event, AmdVerdict):
            return self._amd(session, event, ctx)
        if session.state in TERMINAL_STATES:
            return self._to(session, ctx, _Reply())
        if session.state == State.HOLD:
            return self._hold(session, event, ctx)
        if isinstance(event, HoldTick):
            return self._to(session, ctx, _Reply())  # a stray hold loop: the current prompt
        reply = _Reply()
        if isinstance(event, Digits) and session.direction == "outbound" and not session.keyed:
            # A keypress proves a person is on the line (Reg F 1006.14(b)(2): a conversation).
            session = replace(session, keyed=True)
            reply.effects.append(AttemptUpdate(connected=True))
        if isinstance(event, NoInput) or (
            isinstance(event, Digits)
            and not event.value
            and not (session.state == State.CALLBACK_TIME and event.finished_on_key == "#")
        ):
            return self._miss(session, ctx, reply, "no_input")
        assert isinstance(event, Digits)
        handler = _HANDLERS[session.state]
        return handler(self, session, event.value, ctx, reply)

    # states -------------------------------------------------------------------------------------

    def _language(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        chosen = next(
            (lang for lang in self.flow.languages if self.settings.keys.language.get(lang) == keys),
            None,
        )
        if chosen is None:
            return self._miss(session, ctx, reply, "invalid")
        state = State.VERIFY_LAST4 if session.candidates else State.ACCOUNT_NUMBER
        return self._to(replace(session, language=chosen, state=state, misses=0), ctx, reply)

    def _account_number(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        if not keys.isdigit() or len(keys) > self.settings.max_account_number_digits:
            return self._miss(session, ctx, reply, "invalid")
        # Whether the account exists is not said: the same questions follow either way.
        return self._to(
            replace(session, claimed=keys, state=State.VERIFY_LAST4, misses=0), ctx, reply
        )

    def _verify_last4(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        if len(keys) != 4 or not keys.isdigit():
            return self._miss(session, ctx, reply, "invalid")
        matched = next(
            (
                account_id
                for account_id in self._pool(session)
                if (facts := self._facts(ctx, account_id)) is not None and facts.last4 == keys
            ),
            None,
        )
        return self._to(
            replace(session, matched=matched, state=State.VERIFY_DOB, misses=0), ctx, reply
        )

    def _verify_dob(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        if len(keys) != 8 or not keys.isdigit():
            return self._miss(session, ctx, reply, "invalid")
        facts = self._facts(ctx, session.matched) if session.matched else None
        correct = facts is not None and _parse_yyyymmdd(keys) == facts.birth_date
        if facts is not None and correct and not facts.locked:
            return self._verified(session, facts, ctx, reply)
        failures = session.failures
        if not correct:
            failures += 1
            failed = (
                (session.matched,)
                if session.matched
                else tuple(a for a in self._pool(session) if self._facts(ctx, a) is not None)
            )
            reply.effects.append(VerificationFailed(failed))
        session = replace(session, failures=failures, matched=None, misses=0)
        language = self._lang(session)
        if (facts is not None and facts.locked) or failures >= self.settings.lockout.per_call:
            # Disclosure is over for this call (three failures, or the account is locked to
            # agent-only verification after repeated failures across calls).
            reply.say(self._text(session, "verify_unavailable"), language)
            return self._to(replace(session, state=State.AGENT_OFFER), ctx, reply)
        reply.say(self._text(session, "verify_mismatch"), language)
        if session.candidates:
            return self._to(replace(session, state=State.VERIFY_LAST4), ctx, reply)
        return self._to(replace(session, claimed=None, state=State.ACCOUNT_NUMBER), ctx, reply)

    def _verified(
        self, session: CallSession, facts: AccountFacts, ctx: Context, reply: _Reply
    ) -> Turn:
        session = replace(
            session,
            verified=True,
            misses=0,
            account_id=facts.account_id,
            language=session.language or facts.language,
            state=State.MENU,
        )
        language = self._lang(session)
        reply.effects.append(VerificationSucceeded(facts.account_id))
        reply.say(self._text(session, "verified"), language)
        if session.direction == "outbound":
            reply.effects.append(AttemptUpdate(connected=True, outcome="rpc"))
            reply.say(
                self._text(session, "reminder_intro", business_name=self.flow.business.name),
                language,
            )
            self._say_account(session, facts, reply)
        return self._to(session, ctx, reply)

    def _agent_offer(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        if keys != self.settings.keys.choice.agent:
            return self._miss(session, ctx, reply, "invalid")
        account = session.matched or (
            session.candidates[0] if len(session.candidates) == 1 else None
        )
        reply.effects.append(
            CallbackRequested(
                account_id=account,
                number=session.caller,
                reason="verification",
                priority=PRIORITY_VERIFICATION,
                language=self._lang(session),
                verified=False,
            )
        )
        reply.say(self._text(session, "agent_callback"), self._lang(session))
        return self._to(replace(session, state=State.ENDED), ctx, reply)

    def _menu(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        menu = self.settings.keys.menu
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        language = self._lang(session)
        if facts is None:  # the verified account vanished (deleted mid-call)
            return self._exhausted(session, ctx, reply)
        if keys not in set(menu.model_dump().values()):
            return self._miss(session, ctx, reply, "invalid")
        session = replace(session, misses=0)
        if keys == menu.balance:
            self._say_account(session, facts, reply)
            return self._to(session, ctx, reply)
        if keys == menu.promise:
            if facts.balance <= 0:
                reply.say(self._text(session, "promise_nothing_due"), language)
                return self._to(session, ctx, reply)
            if facts.status not in PROMISE_STATUSES:
                reply.say(self._text(session, "promise_unavailable"), language)
                return self._to(session, ctx, reply)
            return self._to(replace(session, state=State.PROMISE_DATE), ctx, reply)
        if keys == menu.how_to_pay:
            methods = self.settings.payment_methods.get(language, ())
            separator = self._text(session, "list_separator") + " "
            if speech.is_chinese(language):
                separator = separator.strip()
            reply.say(self._text(session, "how_to_pay", methods=separator.join(methods)), language)
            return self._to(session, ctx, reply)
        if keys in (menu.repayment_plan, menu.agent):
            reason = "repayment_plan" if keys == menu.repayment_plan else "agent"
            return self._to(
                replace(session, state=State.CALLBACK_TIME, callback_reason=reason), ctx, reply
            )
        if keys == menu.fraud:
            reply.effects.append(
                FraudReported(account_id=facts.account_id, number=session.caller, language=language)
            )
            reply.effects.append(
                CallbackRequested(
                    account_id=facts.account_id,
                    number=session.caller,
                    reason="fraud",
                    priority=PRIORITY_FRAUD,
                    language=language,
                    verified=True,
                )
            )
            reply.say(self._text(session, "fraud_recorded"), language)
            return self._to(session, ctx, reply)
        if keys == menu.repeat:
            return self._to(session, ctx, reply)
        return self._miss(session, ctx, reply, "invalid")

    def _promise_date(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        if facts is None:
            return self._exhausted(session, ctx, reply)
        chosen = _parse_yyyymmdd(keys) if len(keys) == 8 and keys.isdigit() else None
        first, last = self.promise_window(facts)
        if chosen is None or not first <= chosen <= last:
            reply.say(
                self._text(
                    session, "promise_date_invalid", last_day=speech.day(last, self._lang(session))
                ),
                self._lang(session),
            )
            return self._miss(session, ctx, reply, None)
        return self._to(
            replace(session, promise_date=chosen, misses=0, state=State.PROMISE_AMOUNT), ctx, reply
        )

    def _promise_amount(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        if facts is None:
            return self._exhausted(session, ctx, reply)
        amount = self.accept_amount(keys, facts)
        if amount is None:
            lowest, highest = self.amount_bounds(facts)
            language = self._lang(session)
            reply.say(
                self._text(
                    session,
                    "promise_amount_invalid",
                    minimum=speech.money(lowest, facts.currency, language),
                    balance=speech.money(highest, facts.currency, language),
                ),
                language,
            )
            return self._miss(session, ctx, reply, None)
        return self._to(
            replace(session, promise_amount=amount, misses=0, state=State.PROMISE_CONFIRM),
            ctx,
            reply,
        )

    def _promise_confirm(
        self, session: CallSession, keys: str, ctx: Context, reply: _Reply
    ) -> Turn:
        choice = self.settings.keys.choice
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        if facts is None or session.promise_date is None or session.promise_amount is None:
            return self._exhausted(session, ctx, reply)
        if keys == choice.decline:
            return self._to(
                replace(
                    session,
                    promise_date=None,
                    promise_amount=None,
                    misses=0,
                    state=State.PROMISE_DATE,
                ),
                ctx,
                reply,
            )
        if keys != choice.accept:
            return self._miss(session, ctx, reply, "invalid")
        language = self._lang(session)
        reply.effects.append(
            PromiseMade(
                account_id=facts.account_id,
                promised_date=session.promise_date,
                amount=session.promise_amount,
                currency=facts.currency,
                language=language,
                sms_body=self._confirmation_sms(
                    session, facts, session.promise_date, session.promise_amount
                ),
            )
        )
        if session.direction == "outbound":
            reply.effects.append(AttemptUpdate(outcome="promise"))
        reply.say(self._text(session, "promise_recorded"), language)
        session = replace(
            session, promise_date=None, promise_amount=None, misses=0, state=State.MENU
        )
        return self._to(session, ctx, reply)

    def _callback_time(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        language = self._lang(session)
        preferred: datetime | None = None
        if keys:
            wanted = _parse_hhmm(keys)
            if wanted is None:
                return self._miss(session, ctx, reply, "invalid")
            zone = ZoneInfo(facts.zone) if facts else ZoneInfo("UTC")
            preferred = _next_local(ctx.now, wanted, zone)
            reply.say(
                self._text(session, "callback_at", time=speech.clock(wanted, language)), language
            )
        else:
            reply.say(self._text(session, "callback_asap"), language)
        reply.effects.append(
            CallbackRequested(
                account_id=session.account_id,
                number=session.caller,
                reason=session.callback_reason or "agent",
                priority=PRIORITY_AGENT,
                language=language,
                verified=session.verified,
                preferred_at=preferred,
            )
        )
        return self._to(replace(session, state=State.ENDED), ctx, reply)

    def _right_party(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        choice = self.settings.keys.choice
        if keys == choice.accept:
            return self._to(replace(session, misses=0, state=State.VERIFY_LAST4), ctx, reply)
        if keys == choice.decline:
            # Nothing about the account is said to someone who is not the cardholder
            # (15 U.S.C. 1692b, 12 CFR 1006.10; CBRC Art. 68: no collection from third parties).
            reply.effects.append(AttemptUpdate(connected=True, outcome="wrong_party"))
            reply.say(self._text(session, "wrong_party"), self._lang(session))
            return self._to(replace(session, state=State.WRONG_PARTY), ctx, reply)
        return self._miss(session, ctx, reply, "invalid")

    # outbound: hold and AMD ---------------------------------------------------------------------

    def _hold(self, session: CallSession, event: Event, ctx: Context) -> Turn:
        reply = _Reply()
        if isinstance(event, Digits):
            # Someone pressed a key while we waited for the verdict: a person.
            reply.effects.append(AttemptUpdate(connected=True))
            session = replace(session, keyed=True, state=State.RIGHT_PARTY)
            return self._to(session, ctx, reply)
        loops = session.hold_loops + 1
        if loops >= self.settings.hold.max_loops:
            # No verdict in time: the limited-content message is safe for a machine and a person.
            reply.effects.append(AttemptUpdate(outcome="voicemail_left"))
            return self._to(replace(session, hold_loops=loops, state=State.VOICEMAIL), ctx, reply)
        return self._to(replace(session, hold_loops=loops), ctx, reply)

    def _amd(self, session: CallSession, event: AmdVerdict, ctx: Context) -> Turn:
        verdict = event.answered_by.strip() or "unknown"
        session = replace(session, answered_by=verdict)
        if session.state != State.HOLD or session.keyed:
            # Too late: the call has moved on (a keypress, or the hold ran out). Record only.
            return Turn(session, None, (AttemptUpdate(answered_by=verdict),))
        reply = _Reply()
        if verdict in PERSON_VERDICTS:
            reply.effects.append(AttemptUpdate(answered_by=verdict, connected=True))
            return self._to(replace(session, state=State.RIGHT_PARTY), ctx, reply)
        if verdict == FAX_VERDICT:
            reply.effects.append(AttemptUpdate(answered_by=verdict, outcome="fax"))
            return self._to(replace(session, state=State.ENDED), ctx, reply)
        reply.effects.append(AttemptUpdate(answered_by=verdict, outcome="voicemail_left"))
        return self._to(replace(session, state=State.VOICEMAIL), ctx, reply)

    # misses -------------------------------------------------------------------------------------

    def _miss(self, session: CallSession, ctx: Context, reply: _Reply, why: str | None) -> Turn:
        misses = session.misses + 1
        if misses >= self.settings.max_misses:
            return self._exhausted(replace(session, misses=misses), ctx, reply)
        if why is not None:
            self._say_each(session, why, reply)
        return self._to(replace(session, misses=misses), ctx, reply)

    def _exhausted(self, session: CallSession, ctx: Context, reply: _Reply) -> Turn:
        """Too many misses: an agent calls back (a person we do not know to be the cardholder,
        on a reminder call or after declining the agent offer, just gets a goodbye)."""
        language = self._lang(session)
        if session.state in (State.RIGHT_PARTY, State.AGENT_OFFER):
            reply.say(self._text(session, "farewell"), language)
            return self._to(replace(session, state=State.ENDED), ctx, reply)
        account = session.account_id or (
            session.candidates[0] if len(session.candidates) == 1 else None
        )
        reply.effects.append(
            CallbackRequested(
                account_id=account,
                number=session.caller,
                reason="no_input",
                priority=PRIORITY_NO_INPUT,
                language=language,
                verified=session.verified,
            )
        )
        reply.say(self._text(session, "agent_callback"), language)
        return self._to(replace(session, state=State.ENDED), ctx, reply)

    # promise rules ------------------------------------------------------------------------------

    def promise_window(self, facts: AccountFacts) -> tuple[date, date]:
        """The dates a promise may name: today to ``max_days`` ahead, the cardholder's dates."""
        return facts.today, facts.today + timedelta(days=self.settings.promise.max_days)

    @staticmethod
    def amount_bounds(facts: AccountFacts) -> tuple[Decimal, Decimal]:
        """The lowest and highest amount a promise may be for: at least the minimum due rounded
        up to a whole unit (but never more than the balance), at most the balance."""
        balance = facts.balance
        lowest = min(Decimal(math.ceil(facts.minimum_due)), balance)
        if lowest <= 0:
            lowest = min(Decimal(1), balance)
        return lowest.quantize(CENT), balance.quantize(CENT)

    @classmethod
    def accept_amount(cls, keys: str, facts: AccountFacts) -> Decimal | None:
        """The promised amount for the whole units keyed, or None when it breaks the rules.

        Keying the balance rounded up to a whole unit promises the full balance, cents
        included: the full balance is always accepted.
        """
        if not keys.isdigit() or len(keys) > 12 or facts.balance <= 0:
            return None
        entered = Decimal(int(keys))
        lowest, highest = cls.amount_bounds(facts)
        if entered == Decimal(math.ceil(highest)):
            return highest
        if entered < lowest or entered > highest or entered <= 0:
            return None
        return entered.quantize(CENT)

    # rendering ----------------------------------------------------------------------------------

    def _to(self, session: CallSession, ctx: Context, reply: _Reply) -> Turn:
        """Move to ``session`` (one step further) and render its document."""
        session = replace(session, step=session.step + 1)
        return Turn(session, self.render(session, ctx, reply.preface), tuple(reply.effects))

    def render(
        self,
        session: CallSession,
        ctx: Context,
        preface: Iterable[tuple[str, str]] = (),
    ) -> str:
        """The TwiML document for ``session`` as it stands, after ``preface``."""
        response = VoiceResponse()
        for text, language in preface:
            self._say(response, text, language)
        state = session.state
        if state == State.HOLD:
            # Silent on purpose (see HoldSettings): a pause, then ask again.
            response.pause(length=self.settings.hold.pause_seconds)
            response.redirect(self.url(session, hold=session.hold_loops + 1), method="POST")
            return str(response)
        if state == State.VOICEMAIL:
            self._say(response, self._voicemail_text(session), self._lang(session))
            response.hangup()
            return str(response)
        if state in TERMINAL_STATES:
            response.hangup()
            return str(response)
        prompts = self._prompts(session, ctx)
        gather_timeout = (
            self.settings.gather.menu_timeout_seconds
            if state in _ONE_KEY_STATES
            else self.settings.gather.entry_timeout_seconds
        )
        attrs: dict[str, Any] = {
            "action": self.url(session),
            "method": "POST",
            "timeout": gather_timeout,
            "input": "dtmf",
        }
        attrs.update(_GATHER_SHAPES[state])
        gather = response.gather(**attrs)
        for text, language in prompts:
            self._say(gather, text, language)
        # Twilio falls through a Gather that got no input without requesting its action; the
        # Redirect makes that a request of its own, with the miss counted.
        response.redirect(self.url(session, miss=session.misses + 1), method="POST")
        return str(response)

    def url(self, session: CallSession, **extra: int) -> str:
        """The absolute URL of this call's route for its current step."""
        params: list[tuple[str, str | int]] = []
        path = INBOUND_PATH
        if session.direction == "outbound":
            path = OUTBOUND_PATH
            params.append(("attempt", session.attempt_id or 0))
        params.append(("step", session.step))
        params.extend(extra.items())
        return f"{self.flow.public_url}{path}?{urlencode(params)}"

    def _prompts(self, session: CallSession, ctx: Context) -> list[tuple[str, str]]:
        keys = self.settings.keys
        state = session.state
        if state == State.LANGUAGE:
            prompts: list[tuple[str, str]] = []
            for lang in self.flow.languages:
                if lang not in keys.language:
                    continue
                parts = [self._text_in(lang, "language_option", key=keys.language[lang])]
                if session.step <= 1:
                    welcome = self._text_in(lang, "welcome", business_name=self.flow.business.name)
                    parts.insert(0, welcome)
                joiner = "" if speech.is_chinese(lang) else " "
                prompts.append((joiner.join(parts), lang))
            return prompts
        language = self._lang(session)
        choice = keys.choice
        if state == State.MENU:
            return [(self._text(session, "menu", **keys.menu.model_dump()), language)]
        if state == State.AGENT_OFFER:
            return [(self._text(session, "agent_offer", agent=choice.agent), language)]
        if state == State.RIGHT_PARTY:
            target = session.candidates[0] if session.candidates else None
            facts = self._facts(ctx, target) if target else None
            name = speech.addressed_name(facts.name, language) if facts else ""
            return [
                (
                    self._text(
                        session,
                        "right_party",
                        business_name=self.flow.business.name,
                        first_name=name,
                        yes=choice.accept,
                        no=choice.decline,
                    ),
                    language,
                )
            ]
        facts = self._facts(ctx, session.account_id) if session.account_id else None
        if state == State.PROMISE_DATE and facts is not None:
            _, last = self.promise_window(facts)
            return [
                (self._text(session, "promise_date", last_day=speech.day(last, language)), language)
            ]
        if state == State.PROMISE_AMOUNT and facts is not None:
            lowest, highest = self.amount_bounds(facts)
            return [
                (
                    self._text(
                        session,
                        "promise_amount",
                        unit=speech.unit(facts.currency, language),
                        minimum=speech.money(lowest, facts.currency, language),
                        balance=speech.money(highest, facts.currency, language),
                    ),
                    language,
                )
            ]
        if (
            state == State.PROMISE_CONFIRM
            and facts is not None
            and session.promise_date is not None
            and session.promise_amount is not None
        ):
            return [
                (
                    self._text(
                        session,
                        "promise_readback",
                        amount=speech.money(session.promise_amount, facts.currency, language),
                        date=speech.day(session.promise_date, language),
                        yes=choice.accept,
                        no=choice.decline,
                    ),
                    language,
                )
            ]
        simple = {
            State.ACCOUNT_NUMBER: "account_number",
            State.VERIFY_LAST4: "verify_last4",
            State.VERIFY_DOB: "verify_dob",
            State.CALLBACK_TIME: "callback_time",
        }
        return [(self._text(session, simple.get(state, "goodbye")), language)]

    def _say_account(self, session: CallSession, facts: AccountFacts, reply: _Reply) -> None:
        """Balance, minimum payment and due date: only ever called for a verified caller."""
        assert session.verified, "account details before verification"
        language = self._lang(session)
        currency = facts.currency
        reply.say(
            self._text(session, "balance", balance=speech.money(facts.balance, currency, language)),
            language,
        )
        entry = "minimum_due_upcoming" if facts.due_date >= facts.today else "minimum_due_past"
        reply.say(
            self._text(
                session,
                entry,
                minimum_due=speech.money(facts.minimum_due, currency, language),
                due_date=speech.day(facts.due_date, language),
            ),
            language,
        )

    def _voicemail_text(self, session: CallSession) -> str:
        business = self.flow.business
        language = self._lang(session)
        return self._text(
            session,
            "voicemail",
            business_name=business.name,
            agent_name=business.agent_name,
            callback_number=speech.phone(business.callback_number, language),
        )

    def _confirmation_sms(
        self, session: CallSession, facts: AccountFacts, day: date, amount: Decimal
    ) -> str:
        language = self._lang(session)
        business = self.flow.business
        number = business.callback_number
        with contextlib.suppress(phonenumbers.NumberParseException):
            number = str(
                phonenumbers.format_number(
                    phonenumbers.parse(number, None),
                    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                )
            )
        # The opt-out notice is appended by whoever sends it: the configured one, as on every text.
        return self._text(
            session,
            "sms_promise_confirmation",
            business_name=business.name,
            amount=speech.money(amount, facts.currency, language),
            date=speech.day(day, language),
            callback_number=number,
        )

    def _say(self, node: Any, text: str, language: str) -> None:
        voice = self.settings.voices[language]
        node.say(text, voice=voice.voice, language=voice.language)

    def _say_each(self, session: CallSession, entry: str, reply: _Reply) -> None:
        if session.language is None:
            for lang in self.flow.languages:
                reply.say(self._text_in(lang, entry), lang)
        else:
            reply.say(self._text(session, entry), session.language)

    def _lang(self, session: CallSession) -> str:
        return session.language or self.flow.languages[0]

    def _text(self, session: CallSession, entry: str, **values: object) -> str:
        return self._text_in(self._lang(session), entry, **values)

    def _text_in(self, language: str, entry: str, **values: object) -> str:
        return self.flow.catalogues[language].text(entry, **values)

    @staticmethod
    def _pool(session: CallSession) -> tuple[str, ...]:
        if session.candidates:
            return session.candidates
        return (session.claimed,) if session.claimed else ()

    @staticmethod
    def _facts(ctx: Context, account_id: str | None) -> AccountFacts | None:
        return ctx.directory.account(account_id) if account_id else None


_ONE_KEY_STATES = frozenset(
    {State.LANGUAGE, State.AGENT_OFFER, State.MENU, State.PROMISE_CONFIRM, State.RIGHT_PARTY}
)

# Gather attributes per state (Twilio <Gather>: numDigits ends the entry at that many keys,
# finishOnKey at '#'; actionOnEmptyResult posts even when only '#' was pressed).
_GATHER_SHAPES: dict[State, dict[str, Any]] = {
    State.LANGUAGE: {"num_digits": 1},
    State.ACCOUNT_NUMBER: {"finish_on_key": "#"},
    State.VERIFY_LAST4: {"num_digits": 4},
    State.VERIFY_DOB: {"num_digits": 8},
    State.AGENT_OFFER: {"num_digits": 1},
    State.MENU: {"num_digits": 1},
    State.PROMISE_DATE: {"num_digits": 8},
    State.PROMISE_AMOUNT: {"finish_on_key": "#"},
    State.PROMISE_CONFIRM: {"num_digits": 1},
    State.CALLBACK_TIME: {"finish_on_key": "#", "action_on_empty_result": True},
    State.RIGHT_PARTY: {"num_digits": 1},
}

_Handler = Callable[[CallFlow, CallSession, str, Context, _Reply], Turn]
_HANDLERS: dict[State, _Handler] = {
    State.LANGUAGE: CallFlow._language,
    State.ACCOUNT_NUMBER: CallFlow._account_number,
    State.VERIFY_LAST4: CallFlow._verify_last4,
    State.VERIFY_DOB: CallFlow._verify_dob,
    State.AGENT_OFFER: CallFlow._agent_offer,
    State.MENU: CallFlow._menu,
    State.PROMISE_DATE: CallFlow._promise_date,
    State.PROMISE_AMOUNT: CallFlow._promise_amount,
    State.PROMISE_CONFIRM: CallFlow._promise_confirm,
    State.CALLBACK_TIME: CallFlow._callback_time,
    State.RIGHT_PARTY: CallFlow._right_party,
}


def _parse_yyyymmdd(keys: str) -> date | None:
    try:
        return date(int(keys[:4]), int(keys[4:6]), int(keys[6:8]))
    except ValueError:
        return None


def _parse_hhmm(keys: str) -> time | None:
    if len(keys) != 4 or not keys.isdigit():
        return None
    hour, minute = int(keys[:2]), int(keys[2:])
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _next_local(now: datetime, wanted: time, zone: ZoneInfo) -> datetime:
    """The next instant (UTC) after ``now`` at wall-clock ``wanted`` in ``zone``."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), wanted, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), wanted, tzinfo=zone)
    return candidate.astimezone(UTC)
