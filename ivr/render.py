"""The call flow's words and documents: a session as TwiML, and the texts each step says.

:class:`Renderer` turns a :class:`ivr.session.CallSession` into the TwiML document the caller
hears (the current state's prompt inside a ``<Gather>``, the silent hold, the limited-content
voicemail message, the ``<Hangup>``), builds the URLs Twilio requests next, and words what
:mod:`ivr.machine` says on the way: the account summary, the confirmation SMS. Every text comes
from the language's catalogue, amounts, dates and numbers in their spoken form (:mod:`ivr.speech`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import phonenumbers

from campaigns.concession_rules import SelfServiceOffer
from campaigns.plan_schedule import Schedule, plan_offers
from campaigns.promises import amount_bounds, promise_window
from ivr import concession_steps, speech, twiml
from ivr.plan_steps import describe_in, plan_account, schedule_of
from ivr.session import TERMINAL_STATES, AccountFacts, CallSession, Context, Flow, State
from telephony import routes

# One text said in one language: (text, language).
Line = tuple[str, str]


class Renderer:
    """Words the call flow in the languages of its catalogues and renders its TwiML.

    Stateless between calls (one instance serves every call and thread)."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.settings = flow.settings
        # The settings are frozen: the menu's keys are read once, not on every menu prompt.
        self._menu_keys = flow.settings.keys.menu.model_dump()
        # TwiML fragments built once: each language's <Say ...> opening tag, and the whole
        # <Say> of every catalogue entry that has no placeholders (a prompt added to a
        # catalogue is among them without any code), keyed by (text, language) so any line
        # that reads exactly as one of them is served from here.
        self._say_open = {
            language: twiml.say_open(voice.voice, voice.language)
            for language, voice in flow.settings.voices.items()
        }
        self._fixed: dict[tuple[str, str], str] = {}
        for language, catalogue in flow.catalogues.items():
            if language not in self._say_open:
                continue
            for name in catalogue.names():
                if not catalogue.fields(name):
                    text = catalogue.text(name)
                    self._fixed[(text, language)] = self._say_fragment(text, language)

    def render(
        self,
        session: CallSession,
        ctx: Context,
        preface: Iterable[Line] = (),
    ) -> str:
        """The TwiML document for ``session`` as it stands, after ``preface``.

        Written as text from fragments built once (:mod:`ivr.twiml`), byte for byte what
        Twilio's TwiML builders write for the same verbs (a test compares the two)."""
        parts = [twiml.DOCUMENT_OPEN]
        for text, language in preface:
            parts.append(self.say(text, language))
        state = session.state
        if state == State.HOLD:
            # Silent on purpose (see HoldSettings): a pause, then ask again.
            parts.append(twiml.pause(self.settings.hold.pause_seconds))
            parts.append(twiml.redirect(self.url(session, hold=session.hold_loops + 1)))
            parts.append(twiml.DOCUMENT_CLOSE)
            return "".join(parts)
        if state == State.VOICEMAIL:
            parts.append(self.say(self._voicemail_text(session), self.language(session)))
            parts.append(twiml.HANGUP)
            parts.append(twiml.DOCUMENT_CLOSE)
            return "".join(parts)
        if state in TERMINAL_STATES:
            parts.append(twiml.HANGUP)
            parts.append(twiml.DOCUMENT_CLOSE)
            return "".join(parts)
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
        says = "".join(self.say(text, language) for text, language in prompts)
        parts.append(twiml.element("Gather", attrs, says))
        # Twilio falls through a Gather that got no input without requesting its action; the
        # Redirect makes that a request of its own, with the miss counted.
        parts.append(twiml.redirect(self.url(session, miss=session.misses + 1)))
        parts.append(twiml.DOCUMENT_CLOSE)
        return "".join(parts)

    def say(self, text: str, language: str) -> str:
        """``<Say>`` of ``text`` in ``language``'s voice: precompiled when it is a fixed
        catalogue entry, else the language's opening tag and the escaped text."""
        fixed = self._fixed.get((text, language))
        return fixed if fixed is not None else self._say_fragment(text, language)

    def _say_fragment(self, text: str, language: str) -> str:
        if language not in self._say_open:
            raise KeyError(language)  # as the settings' voices would: no voice for it
        return twiml.say(self._say_open[language], text)

    def url(self, session: CallSession, **extra: int) -> str:
        """The absolute URL of this call's route for its current step."""
        params: list[tuple[str, str | int]] = []
        path = routes.VOICE_INBOUND
        if session.direction == "outbound":
            path = routes.VOICE_OUTBOUND
            params.append(("attempt", session.attempt_id or 0))
        params.append(("step", session.step))
        params.extend(extra.items())
        return f"{self.flow.public_url}{path}?{urlencode(params)}"

    def text(self, session: CallSession, entry: str, **values: object) -> str:
        """Catalogue ``entry`` in the session's language, filled with ``values``."""
        return self.text_in(self.language(session), entry, **values)

    def text_in(self, language: str, entry: str, **values: object) -> str:
        """Catalogue ``entry`` in ``language``, filled with ``values``."""
        return self.flow.catalogues[language].text(entry, **values)

    def language(self, session: CallSession) -> str:
        """The language the session is spoken to in: its own, else the first configured."""
        return session.language or self.flow.languages[0]

    def in_each_language(self, session: CallSession, entry: str) -> list[Line]:
        """``entry`` in the session's language, or in every language while none is chosen."""
        if session.language is None:
            return [(self.text_in(lang, entry), lang) for lang in self.flow.languages]
        return [(self.text(session, entry), session.language)]

    def account_summary(self, session: CallSession, facts: AccountFacts) -> list[Line]:
        """Balance, minimum payment and due date: only ever called for a verified caller."""
        assert session.verified, "account details before verification"
        language = self.language(session)
        currency = facts.currency
        entry = "minimum_due_upcoming" if facts.due_date >= facts.today else "minimum_due_past"
        return [
            (
                self.text(
                    session, "balance", balance=speech.money(facts.balance, currency, language)
                ),
                language,
            ),
            (
                self.text(
                    session,
                    entry,
                    minimum_due=speech.money(facts.minimum_due, currency, language),
                    due_date=speech.day(facts.due_date, language),
                ),
                language,
            ),
        ]

    def confirmation_sms(
        self, session: CallSession, facts: AccountFacts, day: date, amount: Decimal
    ) -> str:
        """The text of the SMS confirming a promise of ``amount`` by ``day``. The opt-out notice
        is appended by whoever queues it: the configured one, as on every text."""
        language = self.language(session)
        business = self.flow.business
        number = business.callback_number
        with contextlib.suppress(phonenumbers.NumberParseException):
            number = str(
                phonenumbers.format_number(
                    phonenumbers.parse(number, None),
                    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                )
            )
        return self.text(
            session,
            "sms_promise_confirmation",
            business_name=business.name,
            amount=speech.money(amount, facts.currency, language),
            date=speech.day(day, language),
            callback_number=number,
        )

    def plan_confirmation_sms(self, session: CallSession, schedule: Schedule) -> str:
        """The text of the SMS confirming a repayment plan (the opt-out notice is appended by
        whoever queues it, as for a promise)."""
        return self.text(
            session,
            "sms_plan_confirmation",
            business_name=self.flow.business.name,
            callback_number=self._callback_number(),
            **self.plan_values(session, schedule),
        )

    def plan_values(self, session: CallSession, schedule: Schedule) -> dict[str, str | int]:
        """A plan's count, frequency word, amounts and dates as the session's language says
        them."""
        frequency = self.text(session, f"plan_frequency_{schedule.frequency}")
        return describe_in(self.language(session), schedule, frequency)

    def _plan_prompts(self, session: CallSession, facts: AccountFacts) -> list[Line]:
        language = self.language(session)
        rules = self.flow.plans
        if session.state == State.PLAN_COUNT:
            text = self.text(
                session,
                "plan_count",
                minimum=rules.min_installments,
                maximum=rules.max_installments,
            )
            return [(text, language)]
        if session.state == State.PLAN_CONFIRM:
            schedule = schedule_of(self.flow.plans, session, facts)
            if schedule is None:
                return [(self.text(session, "goodbye"), language)]
            choice = self.settings.keys.choice
            values = self.plan_values(session, schedule)
            text = self.text(
                session, "plan_readback", yes=choice.accept, no=choice.decline, **values
            )
            return [(text, language)]
        lines = []
        offers = plan_offers(rules, plan_account(facts))
        for key, schedule in enumerate(offers, start=1):
            entry = (
                "plan_offer" if schedule.regular == schedule.last_amount else "plan_offer_uneven"
            )
            values = self.plan_values(session, schedule)
            lines.append(self.text(session, entry, key=key, **values))
        lines.append(self.text(session, "plan_other", key=rules.ivr_count_key))
        joiner = "" if speech.is_chinese(language) else " "
        return [(joiner.join(lines), language)]

    def _concession_prompt(self, session: CallSession, offer: SelfServiceOffer) -> str:
        """One self-service concession, its standard terms as the caller's language says them."""
        language = self.language(session)
        choice = self.settings.keys.choice
        amount = Decimal(offer.amount_minor or 0).scaleb(-2)
        return self.text(
            session,
            f"concession_offer_{offer.kind}",
            amount=speech.money(amount, offer.currency, language),
            rate=f"{Decimal(offer.apr_bps or 0).scaleb(-2):.2f}",
            months=offer.months or 0,
            yes=choice.accept,
            no=choice.decline,
        )

    def _callback_number(self) -> str:
        number = self.flow.business.callback_number
        with contextlib.suppress(phonenumbers.NumberParseException):
            number = str(
                phonenumbers.format_number(
                    phonenumbers.parse(number, None),
                    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                )
            )
        return number

    def _prompts(self, session: CallSession, ctx: Context) -> list[Line]:
        keys = self.settings.keys
        state = session.state
        if state == State.LANGUAGE:
            prompts: list[Line] = []
            for lang in self.flow.languages:
                if lang not in keys.language:
                    continue
                parts = [self.text_in(lang, "language_option", key=keys.language[lang])]
                if session.step <= 1:
                    welcome = self.text_in(lang, "welcome", business_name=self.flow.business.name)
                    parts.insert(0, welcome)
                joiner = "" if speech.is_chinese(lang) else " "
                prompts.append((joiner.join(parts), lang))
            return prompts
        language = self.language(session)
        choice = keys.choice
        if state == State.MENU:
            return [(self.text(session, "menu", **self._menu_keys), language)]
        if state == State.AGENT_OFFER:
            return [(self.text(session, "agent_offer", agent=choice.agent), language)]
        if state == State.RIGHT_PARTY:
            target = session.candidates[0] if session.candidates else None
            facts = ctx.account(target)
            name = speech.addressed_name(facts.name, language) if facts else ""
            return [
                (
                    self.text(
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
        if state == State.CONCESSION_OFFER:
            offer = concession_steps.current(ctx, session)
            if offer is not None:
                return [(self._concession_prompt(session, offer), language)]
        facts = ctx.account(session.account_id)
        if state in _PLAN_STATES and facts is not None:
            return self._plan_prompts(session, facts)
        if state == State.PROMISE_DATE and facts is not None:
            _, last = promise_window(facts.today, self.settings.promise.max_days)
            return [
                (self.text(session, "promise_date", last_day=speech.day(last, language)), language)
            ]
        if state == State.PROMISE_AMOUNT and facts is not None:
            lowest, highest = amount_bounds(facts.balance, facts.minimum_due)
            return [
                (
                    self.text(
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
                    self.text(
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
        return [(self.text(session, simple.get(state, "goodbye")), language)]

    def _voicemail_text(self, session: CallSession) -> str:
        business = self.flow.business
        language = self.language(session)
        return self.text(
            session,
            "voicemail",
            business_name=business.name,
            agent_name=business.agent_name,
            callback_number=speech.phone(business.callback_number, language),
        )


_ONE_KEY_STATES = frozenset(
    {
        State.LANGUAGE,
        State.AGENT_OFFER,
        State.MENU,
        State.PROMISE_CONFIRM,
        State.RIGHT_PARTY,
        State.PLAN_CHOOSE,
        State.PLAN_CONFIRM,
        State.CONCESSION_OFFER,
    }
)
_PLAN_STATES = frozenset({State.PLAN_CHOOSE, State.PLAN_COUNT, State.PLAN_CONFIRM})

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
    State.PLAN_CHOOSE: {"num_digits": 1},
    State.PLAN_COUNT: {"finish_on_key": "#"},
    State.PLAN_CONFIRM: {"num_digits": 1},
    State.CONCESSION_OFFER: {"num_digits": 1},
}
