"""The call flow as a state machine: ``(session, event) -> (next session, TwiML, effects)``.

The transitions live here: which state an event leads to, and what the step says and asks for on
the way. The values (session, events, effects) are :mod:`ivr.session`'s, the words and the TwiML
:mod:`ivr.render`'s, the rules a promise keeps :mod:`campaigns.promises`'.

Pure: no Flask, no database, no dialer. What the flow needs to know about accounts it asks an
:class:`ivr.session.AccountDirectory` (the caller passes one backed by the store, tests pass a
dict); what should happen in the world (store a promise, queue the confirmation SMS, ask an agent
to call back) it returns as :data:`Effect` values for its caller to carry out.

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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaigns.promises import PROMISABLE_STATUSES, accept_amount, amount_bounds, promise_window
from ivr import concession_steps, plan_steps, speech
from ivr.render import Line, Renderer
from ivr.session import (
    FAX_VERDICT,
    PERSON_VERDICTS,
    PRIORITY_AGENT,
    PRIORITY_FRAUD,
    PRIORITY_NO_INPUT,
    PRIORITY_VERIFICATION,
    TERMINAL_STATES,
    AccountFacts,
    AgentWanted,
    AmdVerdict,
    AttemptUpdate,
    CallbackRequested,
    CallSession,
    Context,
    ConversationHeld,
    Digits,
    Direction,
    Effect,
    Event,
    Flow,
    FraudReported,
    HoldTick,
    NoInput,
    PromiseMade,
    Start,
    State,
    Turn,
    VerificationFailed,
    VerificationSucceeded,
    VoiceOptOut,
)


@dataclass
class _Reply:
    """What a step says before the state's own prompt, and its effects."""

    preface: list[Line] = field(default_factory=list)
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
        self.renderer = Renderer(flow)
        # The settings are frozen: the menu's keys are read once, not on every keypress.
        self._menu_keys = frozenset(self.settings.keys.menu.model_dump().values())

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
            facts = ctx.account(event.candidates[0]) if event.candidates else None
            if facts is None:
                # A reminder for an account that no longer exists: say nothing, hang up.
                return self._to(replace(session, state=State.ENDED), ctx, reply)
            return self._to(replace(session, state=State.HOLD, language=facts.language), ctx, reply)
        languages = {
            f.language
            for f in (ctx.account(a) for a in event.candidates)
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
        reply.say(
            self.renderer.text(session, "welcome", business_name=self.flow.business.name), language
        )
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
            reply.effects.append(AttemptUpdate(connected=True, conversation=True))
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
                if (facts := ctx.account(account_id)) is not None and facts.last4 == keys
            ),
            None,
        )
        return self._to(
            replace(session, matched=matched, state=State.VERIFY_DOB, misses=0), ctx, reply
        )

    def _verify_dob(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        if len(keys) != 8 or not keys.isdigit():
            return self._miss(session, ctx, reply, "invalid")
        facts = ctx.account(session.matched)
        correct = facts is not None and _parse_yyyymmdd(keys) == facts.birth_date
        if facts is not None and correct and not facts.locked:
            return self._verified(session, facts, ctx, reply)
        failures = session.failures
        if not correct:
            failures += 1
            failed = (
                (session.matched,)
                if session.matched
                else tuple(a for a in self._pool(session) if ctx.account(a) is not None)
            )
            reply.effects.append(VerificationFailed(failed))
        # A locked account answers the same whichever factor was wrong (or none): nothing
        # tells a caller trying numbers which one matched.
        locked = any(
            (found := ctx.account(account_id)) is not None and found.locked
            for account_id in self._pool(session)
        )
        session = replace(session, failures=failures, matched=None, misses=0)
        language = self.renderer.language(session)
        if locked or failures >= self.settings.lockout.per_call:
            # Disclosure is over for this call (three failures, or the account is locked to
            # agent-only verification after repeated failures across calls).
            reply.say(self.renderer.text(session, "verify_unavailable"), language)
            return self._to(replace(session, state=State.AGENT_OFFER), ctx, reply)
        reply.say(self.renderer.text(session, "verify_mismatch"), language)
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
        language = self.renderer.language(session)
        reply.effects.append(VerificationSucceeded(facts.account_id))
        reply.say(self.renderer.text(session, "verified"), language)
        if facts.disclosure is not None:
            # Said once the right party is verified, never before (Reg F 1006.18(e); CBA 2026).
            reply.say(
                self.renderer.text(
                    session, facts.disclosure, business_name=self.flow.business.name
                ),
                language,
            )
        if session.direction == "inbound":
            reply.effects.append(ConversationHeld(facts.account_id))
        if session.direction == "outbound":
            reply.effects.append(AttemptUpdate(connected=True, conversation=True, outcome="rpc"))
            reply.say(
                self.renderer.text(
                    session, "reminder_intro", business_name=self.flow.business.name
                ),
                language,
            )
            reply.preface.extend(self.renderer.account_summary(session, facts))
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
                language=self.renderer.language(session),
                verified=False,
            )
        )
        reply.effects.append(
            AgentWanted(
                reason="verification",
                language=self.renderer.language(session),
                verified=False,
                number=session.caller,
                account_id=account,
            )
        )
        reply.say(self.renderer.text(session, "agent_callback"), self.renderer.language(session))
        return self._to(replace(session, state=State.ENDED), ctx, reply)

    def _menu(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        menu = self.settings.keys.menu
        facts = ctx.account(session.account_id)
        language = self.renderer.language(session)
        if facts is None:  # the verified account vanished (deleted mid-call)
            return self._exhausted(session, ctx, reply)
        if keys not in self._menu_keys:
            return self._miss(session, ctx, reply, "invalid")
        session = replace(session, misses=0)
        if keys == menu.balance:
            reply.preface.extend(self.renderer.account_summary(session, facts))
            return self._to(session, ctx, reply)
        if keys == menu.promise:
            if facts.balance <= 0:
                reply.say(self.renderer.text(session, "promise_nothing_due"), language)
                return self._to(session, ctx, reply)
            if facts.status not in PROMISABLE_STATUSES:
                reply.say(self.renderer.text(session, "promise_unavailable"), language)
                return self._to(session, ctx, reply)
            return self._to(replace(session, state=State.PROMISE_DATE), ctx, reply)
        if keys == menu.how_to_pay:
            methods = self.settings.payment_methods.get(language, ())
            separator = self.renderer.text(session, "list_separator") + " "
            if speech.is_chinese(language):
                separator = separator.strip()
            reply.say(
                self.renderer.text(session, "how_to_pay", methods=separator.join(methods)), language
            )
            return self._to(session, ctx, reply)
        if keys == menu.repayment_plan:
            return plan_steps.start(self, session, facts, ctx, reply)
        if keys == menu.agent:
            # A person now if the desk has one for this caller (the web edge enqueues them);
            # else the callback time.
            reply.effects.append(
                AgentWanted(
                    reason="agent",
                    language=language,
                    verified=True,
                    number=session.caller,
                    account_id=facts.account_id,
                )
            )
            return self._to(
                replace(session, state=State.CALLBACK_TIME, callback_reason="agent"), ctx, reply
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
            reply.effects.append(
                AgentWanted(
                    reason="fraud",
                    language=language,
                    verified=True,
                    number=session.caller,
                    account_id=facts.account_id,
                )
            )
            reply.say(self.renderer.text(session, "fraud_recorded"), language)
            return self._to(session, ctx, reply)
        if keys == menu.optout:
            reply.effects.append(VoiceOptOut(account_id=facts.account_id, number=session.caller))
            reply.say(self.renderer.text(session, "optout_confirmed"), language)
            return self._to(session, ctx, reply)
        if keys == menu.repeat:
            return self._to(session, ctx, reply)
        return self._miss(session, ctx, reply, "invalid")

    def _promise_date(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = ctx.account(session.account_id)
        if facts is None:
            return self._exhausted(session, ctx, reply)
        chosen = _parse_yyyymmdd(keys) if len(keys) == 8 and keys.isdigit() else None
        first, last = promise_window(facts.today, self.settings.promise.max_days)
        if chosen is None or not first <= chosen <= last:
            reply.say(
                self.renderer.text(
                    session,
                    "promise_date_invalid",
                    last_day=speech.day(last, self.renderer.language(session)),
                ),
                self.renderer.language(session),
            )
            return self._miss(session, ctx, reply, None)
        return self._to(
            replace(session, promise_date=chosen, misses=0, state=State.PROMISE_AMOUNT), ctx, reply
        )

    def _promise_amount(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = ctx.account(session.account_id)
        if facts is None:
            return self._exhausted(session, ctx, reply)
        amount = accept_amount(keys, facts.balance, facts.minimum_due)
        if amount is None:
            lowest, highest = amount_bounds(facts.balance, facts.minimum_due)
            language = self.renderer.language(session)
            reply.say(
                self.renderer.text(
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
        facts = ctx.account(session.account_id)
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
        language = self.renderer.language(session)
        reply.effects.append(
            PromiseMade(
                account_id=facts.account_id,
                promised_date=session.promise_date,
                amount=session.promise_amount,
                currency=facts.currency,
                language=language,
                sms_body=self.renderer.confirmation_sms(
                    session, facts, session.promise_date, session.promise_amount
                ),
            )
        )
        if session.direction == "outbound":
            reply.effects.append(AttemptUpdate(outcome="promise"))
        # A text is promised only when one can reach them (consent on the number, no opt-out).
        recorded = "promise_recorded_text" if facts.can_text else "promise_recorded"
        reply.say(self.renderer.text(session, recorded), language)
        session = replace(
            session, promise_date=None, promise_amount=None, misses=0, state=State.MENU
        )
        return self._to(session, ctx, reply)

    def _callback_time(self, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
        facts = ctx.account(session.account_id)
        language = self.renderer.language(session)
        preferred: datetime | None = None
        if keys:
            wanted = _parse_hhmm(keys)
            if wanted is None:
                return self._miss(session, ctx, reply, "invalid")
            zone = ZoneInfo(facts.zone) if facts else ZoneInfo("UTC")
            preferred = _next_local(ctx.now, wanted, zone)
            if facts is not None and not _inside_window(preferred, facts):
                # Only a time we may call at (every zone of theirs inside the window): today's
                # or the next day's, else the allowed range is said and the time asked again.
                reply.say(
                    self.renderer.text(
                        session,
                        "callback_outside_window",
                        start=speech.clock(facts.window_start, language),
                        end=speech.clock(facts.window_close, language),
                    ),
                    language,
                )
                return self._miss(session, ctx, reply, None)
            reply.say(
                self.renderer.text(session, "callback_at", time=speech.clock(wanted, language)),
                language,
            )
        else:
            reply.say(self.renderer.text(session, "callback_asap"), language)
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
            reply.effects.append(
                AttemptUpdate(connected=True, conversation=True, outcome="wrong_party")
            )
            reply.say(self.renderer.text(session, "wrong_party"), self.renderer.language(session))
            return self._to(replace(session, state=State.WRONG_PARTY), ctx, reply)
        return self._miss(session, ctx, reply, "invalid")

    # outbound: hold and AMD ---------------------------------------------------------------------

    def _hold(self, session: CallSession, event: Event, ctx: Context) -> Turn:
        reply = _Reply()
        if isinstance(event, Digits):
            # Someone pressed a key while we waited for the verdict: a person.
            reply.effects.append(AttemptUpdate(connected=True, conversation=True))
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
            reply.preface.extend(self.renderer.in_each_language(session, why))
        return self._to(replace(session, misses=misses), ctx, reply)

    def _exhausted(self, session: CallSession, ctx: Context, reply: _Reply) -> Turn:
        """Too many misses: an agent calls back (a person we do not know to be the cardholder,
        on a reminder call or after declining the agent offer, just gets a goodbye)."""
        language = self.renderer.language(session)
        if session.state in (State.RIGHT_PARTY, State.AGENT_OFFER):
            reply.say(self.renderer.text(session, "farewell"), language)
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
        reply.say(self.renderer.text(session, "agent_callback"), language)
        return self._to(replace(session, state=State.ENDED), ctx, reply)

    # rendering ----------------------------------------------------------------------------------

    def _to(self, session: CallSession, ctx: Context, reply: _Reply) -> Turn:
        """Move to ``session`` (one step further) and render its document."""
        session = replace(session, step=session.step + 1)
        return Turn(
            session, self.renderer.render(session, ctx, reply.preface), tuple(reply.effects)
        )

    def url(self, session: CallSession) -> str:
        """The absolute URL of this call's route for its current step, where the web edge
        redirects a live call (:meth:`Renderer.url`)."""
        return self.renderer.url(session)

    @staticmethod
    def _pool(session: CallSession) -> tuple[str, ...]:
        if session.candidates:
            return session.candidates
        return (session.claimed,) if session.claimed else ()


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
    State.PLAN_CHOOSE: plan_steps.choose,
    State.PLAN_COUNT: plan_steps.count,
    State.PLAN_CONFIRM: plan_steps.confirm,
    State.CONCESSION_OFFER: concession_steps.answer,
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


def _inside_window(instant: datetime, facts: AccountFacts) -> bool:
    """Whether ``instant`` is inside the calling window in every zone of the cardholder."""
    for name in facts.zones or (facts.zone,):
        local = instant.astimezone(ZoneInfo(name)).time()
        if not facts.window_start <= local < facts.window_close:
            return False
    return True
