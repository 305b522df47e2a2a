"""The call flow as a pure state machine: every state in both languages, the rules it keeps."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.catalogue import LCM_FIELDS, load_catalogues
from ivr.machine import CallFlow
from ivr.session import (
    AccountFacts,
    AgentWanted,
    AmdVerdict,
    AttemptUpdate,
    CallbackRequested,
    CallSession,
    Digits,
    FraudReported,
    HoldTick,
    PromiseMade,
    Start,
    State,
    VerificationFailed,
    VerificationSucceeded,
)
from tests.ivr.ivr_support import (
    CONCESSIONS,
    EN,
    ZH,
    DictDirectory,
    Driver,
    assert_well_formed,
    build_flow,
    context,
    parse,
    phone_offers,
    spoken,
    spoken_with_language,
    verify_keys,
)

FLOW = build_flow()
MACHINE = CallFlow(FLOW)
LANGUAGE_KEY = {"en-US": "1", "zh-CN": "2"}
TWIML_LANGUAGE = {"en-US": "en-US", "zh-CN": "cmn-CN"}


def driver() -> Driver:
    return Driver(MACHINE, context())


def scripted_calls(facts: AccountFacts) -> list[Driver]:
    """Calls that between them pass through every state, in ``facts``' language."""
    calls = []
    # Hotline, unknown number: language menu, account number, verification, the whole menu.
    d = driver()
    d.start("CA-hotline", Start(caller="+15550001111"))
    d.keys([LANGUAGE_KEY[facts.language], f"{facts.account_id}#", *verify_keys(facts)])
    d.keys(["1", "3", "5", "9", "2", "20261205", "600#", "2", "20261206", "700#", "1"])
    d.keys(["4", "0930#"])
    calls.append(d)
    # A repayment plan (menu key 4) for an overdue account: a count keyed, read back, chosen
    # again, an offer taken and confirmed.
    late = replace(facts, days_past_due=45)
    d = Driver(MACHINE, context(DictDirectory({late.account_id: late})))
    d.start("CA-plan", Start(caller="+15550001111"))
    d.keys([LANGUAGE_KEY[facts.language], f"{facts.account_id}#", *verify_keys(facts)])
    d.keys(["4", "9", "4#", "2", "1", "1"])
    calls.append(d)
    # The same with self-service concessions: one accepted, one declined, then the menu.
    offers = DictDirectory({late.account_id: late}, {late.account_id: phone_offers(late)})
    d = Driver(CallFlow(build_flow(concessions=CONCESSIONS)), context(offers))
    d.start("CA-plan-offers", Start(caller="+15550001111"))
    d.keys([LANGUAGE_KEY[facts.language], f"{facts.account_id}#", *verify_keys(facts)])
    d.keys(["4", "1", "1", "1", "2"])
    calls.append(d)
    # Three failed verifications: the agent offer, taken.
    d = driver()
    d.start("CA-fails", Start(caller="+15550001111"))
    d.keys([LANGUAGE_KEY[facts.language]])
    for _ in range(3):
        d.keys([f"{facts.account_id}#", facts.last4, "19000101"])
    d.keys(["0"])
    calls.append(d)
    # Reminder calls: a machine, a wrong party, and the cardholder.
    for verdict, keys in (("machine_end_beep", []), ("human", ["2"]), ("unknown", ["1"])):
        d = driver()
        d.start(f"CA-out-{verdict}", Start("+12125550199", (facts.account_id,), 7), "outbound")
        d.send(HoldTick())
        d.send(AmdVerdict(verdict))
        d.keys(keys)
        if keys == ["1"]:
            d.keys([*verify_keys(facts), "0", "#"])
        calls.append(d)
    return calls


@pytest.mark.parametrize("facts", [EN, ZH], ids=["en-US", "zh-CN"])
def test_every_state_is_visited_in_each_language_and_spoken_in_it(facts: AccountFacts) -> None:
    visited: set[State] = set()
    for call in scripted_calls(facts):
        for turn in call.turns:
            visited.add(turn.session.state)
            assert turn.twiml is not None
            assert_well_formed(turn.twiml)
            if turn.session.state != State.LANGUAGE:
                languages = {lang for lang, _ in spoken_with_language(turn.twiml)}
                assert languages <= {TWIML_LANGUAGE[facts.language]}, turn.session.state
    assert visited == set(State)


def test_a_hotline_call_verified_by_caller_id_reads_the_account_and_takes_a_promise() -> None:
    d = driver()
    first = d.start("CA1", Start(caller="+12125550123", candidates=(EN.account_id,)))
    assert first.session.state == State.VERIFY_LAST4  # language known: no language menu
    assert "Thank you for calling Northwind Card Services." in spoken(first.twiml or "")
    turn = d.keys(verify_keys(EN))
    assert turn.session.verified and turn.session.account_id == EN.account_id
    assert VerificationSucceeded(EN.account_id) in turn.effects
    heard = " ".join(spoken(d.keys(["1"]).twiml or ""))
    assert "Your balance is $4,823.17." in heard
    assert "Your minimum payment of $144.69 is due on December 14." in heard
    d.keys(["2", "20261205", "4824#"])  # the balance rounded up: the full balance, cents included
    readback = " ".join(spoken(d.turns[-1].twiml or ""))
    assert "You promise to pay $4,823.17 on December 5." in readback
    turn = d.keys(["1"])
    (made,) = [e for e in turn.effects if isinstance(e, PromiseMade)]
    assert (made.amount, made.promised_date) == (Decimal("4823.17"), date(2026, 12, 5))
    assert made.sms_body.startswith("Northwind Card Services: we have noted your promise to pay")
    # The opt-out notice is not the flow's to write: the configured one is appended when the
    # text is queued (webhooks.effects), as on every text.
    assert made.sms_body.endswith("Questions? Call +1 800-555-0100.")
    assert turn.session.state == State.MENU


def test_mandarin_reads_money_and_dates_the_chinese_way() -> None:
    d = driver()
    d.start("CA2", Start(caller="+8613800000000", candidates=(ZH.account_id,)))
    d.keys(verify_keys(ZH))
    heard = " ".join(spoken(d.keys(["1"]).twiml or ""))
    assert "您的欠款余额为18652.43元。" in heard
    assert "您的最低还款额为559.57元，已于11月21日到期。" in heard
    d.keys(["2", "20261203", "600#"])
    assert "您承诺于12月3日还款600.00元。" in " ".join(spoken(d.turns[-1].twiml or ""))


def test_a_caller_with_several_cards_picks_one_by_its_last_four_digits() -> None:
    second = replace(EN, account_id="70000009", last4="2288", balance=Decimal("77.10"))
    directory = DictDirectory({**{EN.account_id: EN}, second.account_id: second})
    d = Driver(MACHINE, context(directory))
    first = d.start("CA3", Start("+12125550123", (EN.account_id, second.account_id)))
    # Nothing about either card (not even how many there are) before verification.
    assert "2288" not in (first.twiml or "") and "7391" not in (first.twiml or "")
    turn = d.keys(["2288", f"{EN.birth_date:%Y%m%d}"])
    assert turn.session.verified and turn.session.account_id == "70000009"
    assert "$77.10" in " ".join(spoken(d.keys(["1"]).twiml or ""))


def test_three_failures_end_disclosure_even_when_the_fourth_try_is_right() -> None:
    d = driver()
    d.start("CA4", Start("+12125550123", (EN.account_id,)))
    failures = []
    for _ in range(3):
        turn = d.keys([EN.last4, "19000101"])
        failures += [e for e in turn.effects if isinstance(e, VerificationFailed)]
    assert failures == [VerificationFailed((EN.account_id,))] * 3
    assert d.session.state == State.AGENT_OFFER
    turn = d.keys(verify_keys(EN))  # keys typed now are not a verification any more
    assert not turn.session.verified
    assert "4,823" not in (turn.twiml or "")


def test_a_locked_account_is_not_verified_by_keypad_even_with_the_right_answers() -> None:
    directory = DictDirectory({EN.account_id: replace(EN, locked=True)})
    d = Driver(MACHINE, context(directory))
    d.start("CA5", Start("+12125550123", (EN.account_id,)))
    turn = d.keys(verify_keys(EN))
    assert not turn.session.verified and turn.session.state == State.AGENT_OFFER
    assert not [e for e in turn.effects if isinstance(e, VerificationFailed)]
    turn = d.keys(["0"])
    (callback,) = [e for e in turn.effects if isinstance(e, CallbackRequested)]
    assert (callback.reason, callback.verified, callback.account_id) == (
        "verification",
        False,
        EN.account_id,
    )


def test_an_unknown_account_number_gets_the_same_questions_and_the_same_failure() -> None:
    known, unknown = driver(), driver()
    for d, number in ((known, EN.account_id), (unknown, "99999999")):
        d.start("CA6", Start(caller="+15550001111"))
        d.keys(["1", f"{number}#"])
    assert spoken(known.turns[-1].twiml or "") == spoken(unknown.turns[-1].twiml or "")
    a = known.keys(["1111", "19000101"])
    b = unknown.keys(["1111", "19000101"])
    assert spoken(a.twiml or "") == spoken(b.twiml or "")
    assert a.effects == (VerificationFailed((EN.account_id,)),)
    assert b.effects == (VerificationFailed(()),)


def test_three_misses_in_a_row_hand_the_caller_to_an_agent() -> None:
    d = driver()
    d.start("CA7", Start("+12125550123", (EN.account_id,)))
    d.keys(verify_keys(EN))
    turn = d.keys([None, "7"])  # 7 is no menu key (8 is "stop these calls")
    assert turn.session.state == State.MENU and turn.session.misses == 2
    assert spoken(turn.twiml or "")[0] == "Sorry, that is not a valid choice."
    redirect = parse(turn.twiml or "").find("Redirect")
    assert redirect is not None and (redirect.text or "").endswith("miss=3")
    turn = d.keys([None])
    assert turn.session.state == State.ENDED
    (callback,) = turn.effects
    assert isinstance(callback, CallbackRequested)
    assert (callback.reason, callback.verified, callback.number) == (
        "no_input",
        True,
        "+12125550123",
    )
    assert parse(turn.twiml or "")[-1].tag == "Hangup"


def test_fraud_report_is_recorded_with_a_top_priority_callback() -> None:
    d = driver()
    d.start("CA8", Start("+12125550123", (EN.account_id,)))
    d.keys(verify_keys(EN))
    turn = d.keys(["5"])
    kinds = {type(e) for e in turn.effects}
    assert kinds == {FraudReported, CallbackRequested, AgentWanted}
    (callback,) = [e for e in turn.effects if isinstance(e, CallbackRequested)]
    assert callback.priority == 0 and callback.reason == "fraud"
    # The desk may take the caller at once instead (the web edge asks it).
    (wanted,) = [e for e in turn.effects if isinstance(e, AgentWanted)]
    assert (wanted.reason, wanted.verified, wanted.account_id) == ("fraud", True, EN.account_id)


def test_the_agent_key_and_failed_verification_ask_for_a_person() -> None:
    d = driver()
    d.start("CA20", Start("+12125550123", (EN.account_id,)))
    d.keys(verify_keys(EN))
    turn = d.keys(["0"])
    (wanted,) = [e for e in turn.effects if isinstance(e, AgentWanted)]
    assert (wanted.reason, wanted.verified, wanted.number) == ("agent", True, "+12125550123")
    assert turn.session.state == State.CALLBACK_TIME  # the fallback: a callback time


def test_a_callback_time_is_the_next_such_time_in_the_cardholders_zone() -> None:
    d = driver()
    d.start("CA9", Start("+12125550123", (EN.account_id,)))
    d.keys([*verify_keys(EN), "4"])
    turn = d.keys(["0930#"])  # 15:00 UTC is 10:00 in New York: 9:30 is tomorrow
    (callback,) = turn.effects
    assert isinstance(callback, CallbackRequested)
    assert callback.reason == "repayment_plan"
    assert callback.preferred_at is not None
    assert callback.preferred_at.isoformat() == "2026-11-30T14:30:00+00:00"
    assert "at 9:30 AM" in spoken(turn.twiml or "")[0]


# --- reminder calls --------------------------------------------------------------------------


def outbound(facts: AccountFacts = EN) -> Driver:
    d = driver()
    d.start("CA-out", Start("+12125550199", (facts.account_id,), 42), "outbound")
    return d


@pytest.mark.parametrize("facts", [EN, ZH], ids=["en-US", "zh-CN"])
@pytest.mark.parametrize(
    "verdict", ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"]
)
def test_a_machine_gets_the_limited_content_message_only(facts: AccountFacts, verdict: str) -> None:
    d = outbound(facts)
    hold = d.turns[-1].twiml or ""
    assert spoken(hold) == []  # the hold is silent: nothing may precede the message
    turn = d.send(AmdVerdict(verdict))
    assert turn.session.state == State.VOICEMAIL
    root = parse(turn.twiml or "")
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    (message,) = spoken(turn.twiml or "")
    catalogue = load_catalogues([facts.language])[facts.language]
    assert catalogue.fields("voicemail") <= LCM_FIELDS
    assert "Northwind Card Services" in message and "Alex Morgan" in message
    assert ("8 0 0, 5 5 5, 0 1 0 0" if facts is EN else "8 0 0 5 5 5 0 1 0 0") in message
    for secret in (facts.name, facts.name.split()[0], "debt", "balance", "collect", "欠款", "催收"):
        assert secret not in message
    assert turn.effects == (AttemptUpdate(answered_by=verdict, outcome="voicemail_left"),)


def test_a_person_is_asked_for_the_cardholder_by_first_name_and_nothing_else() -> None:
    d = outbound()
    turn = d.send(AmdVerdict("human"))
    assert turn.session.state == State.RIGHT_PARTY
    (question,) = spoken(turn.twiml or "")
    assert "This call is for Marguerite. If you are Marguerite, press 1." in question
    assert "Okonkwo" not in question and "4,823" not in question
    assert turn.effects == (AttemptUpdate(answered_by="human", connected=True),)
    turn = d.keys(["1", *verify_keys(EN)])
    heard = " ".join(spoken(turn.twiml or ""))
    assert "This is a reminder from Northwind Card Services" in heard
    assert "Your balance is $4,823.17." in heard
    assert AttemptUpdate(connected=True, conversation=True, outcome="rpc") in turn.effects


def test_a_wrong_party_hears_a_polite_goodbye_and_the_attempt_says_so() -> None:
    d = outbound()
    d.send(AmdVerdict("unknown"))
    turn = d.keys(["2"])
    assert turn.session.state == State.WRONG_PARTY
    assert [verb.tag for verb in parse(turn.twiml or "")] == ["Say", "Hangup"]
    assert "Marguerite" not in (turn.twiml or "")
    assert AttemptUpdate(connected=True, conversation=True, outcome="wrong_party") in turn.effects


def test_an_amd_verdict_after_the_first_keypress_is_recorded_and_ignored() -> None:
    d = outbound()
    d.send(AmdVerdict("human"))
    d.keys(["1"])
    before = d.session
    turn = d.send(AmdVerdict("machine_end_beep"))
    assert turn.twiml is None
    assert turn.session.state == before.state and turn.session.step == before.step
    assert turn.effects == (AttemptUpdate(answered_by="machine_end_beep"),)


def test_the_hold_is_bounded_and_ends_in_the_limited_content_message() -> None:
    d = outbound()
    for _ in range(FLOW.settings.hold.max_loops - 1):
        turn = d.send(HoldTick())
        assert turn.session.state == State.HOLD
    turn = d.send(HoldTick())
    assert turn.session.state == State.VOICEMAIL
    late = d.send(AmdVerdict("human"))  # the verdict came too late: recorded, ignored
    assert late.twiml is None and late.session.state == State.VOICEMAIL


# --- promise rules -------------------------------------------------------------------------------


def promise_session(facts: AccountFacts, state: State) -> CallSession:
    return CallSession(
        call_sid="CA-p",
        direction="inbound",
        state=state,
        step=5,
        language=facts.language,
        account_id=facts.account_id,
        verified=True,
    )


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=150, deadline=None)
@given(balance=money, minimum=money, keys=st.text("0123456789", min_size=1, max_size=7))
def test_a_promise_amount_is_never_outside_the_rules(
    balance: Decimal, minimum: Decimal, keys: str
) -> None:
    facts = replace(EN, balance=balance, minimum_due=minimum)
    d = Driver(MACHINE, context(DictDirectory({EN.account_id: facts})))
    d.turns.append(
        d.machine.advance(promise_session(facts, State.PROMISE_DATE), Digits("20261210"), d.ctx)
    )
    turn = d.send(Digits(keys, "#"))
    lowest = min(Decimal(math.ceil(minimum)), balance)
    if turn.session.state == State.PROMISE_CONFIRM:
        amount = turn.session.promise_amount
        assert amount is not None and lowest <= amount <= balance
    else:
        assert int(keys) != math.ceil(balance)  # the full balance is always accepted
        assert not lowest <= Decimal(int(keys)) <= balance


@settings(max_examples=150, deadline=None)
@given(offset=st.integers(min_value=-400, max_value=400))
def test_a_promise_date_is_today_to_max_days_ahead_in_the_cardholders_date(offset: int) -> None:
    facts = replace(EN, today=date(2026, 11, 28))  # the cardholder's date, not the server's
    d = Driver(MACHINE, context(DictDirectory({EN.account_id: facts})))
    chosen = facts.today + timedelta(days=offset)
    turn = d.machine.advance(
        promise_session(facts, State.PROMISE_DATE), Digits(f"{chosen:%Y%m%d}"), d.ctx
    )
    accepted = turn.session.state == State.PROMISE_AMOUNT
    assert accepted == (0 <= offset <= FLOW.settings.promise.max_days)


@pytest.mark.parametrize("keys", ["20261331", "20260230", "00000000", "99999999"])
def test_impossible_dates_are_refused_not_crashed_on(keys: str) -> None:
    d = driver()
    turn = d.machine.advance(promise_session(EN, State.PROMISE_DATE), Digits(keys), d.ctx)
    assert turn.session.state == State.PROMISE_DATE and turn.session.misses == 1
    assert "from today to December 29" in spoken(turn.twiml or "")[0]


def test_no_promise_is_taken_for_a_bankrupt_account_or_a_zero_balance() -> None:
    for facts, expected in (
        (replace(EN, status="bankrupt"), "We cannot take a promise"),
        (replace(EN, balance=Decimal("0.00")), "There is no balance due"),
    ):
        d = Driver(MACHINE, context(DictDirectory({EN.account_id: facts})))
        turn = d.machine.advance(promise_session(facts, State.MENU), Digits("2"), d.ctx)
        assert turn.session.state == State.MENU
        assert spoken(turn.twiml or "")[0].startswith(expected)


def test_the_session_survives_a_round_trip_through_json() -> None:
    d = driver()
    d.start("CA-j", Start("+12125550123", (EN.account_id,)))
    d.keys([*verify_keys(EN), "2", "20261205", "500#"])
    session = d.session
    assert CallSession.from_json(session.to_json()) == session
    assert EN.last4 not in str(session.to_json()) and "19710326" not in str(session.to_json())
