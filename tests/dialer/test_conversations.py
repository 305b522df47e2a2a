"""The contact policy's inputs: conversations in both directions, never undone by a late verdict,
a legal profile per cardholder, the China caps per debtor -- through the real webhooks, the
dispatcher and the simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dialer.attempts import apply_ivr_outcome
from dialer.policy import Attempt as PastAttempt
from dialer.policy import ContactFacts, ContactHistory, PolicyProfile, Rule, decide
from simulator import Persona
from store.clock import FixedClock
from store.db import Database
from store.models import Attempt, ComplianceDecision
from tests.dialer.dialer_rig import (
    PUBLIC_URL,
    Rig,
    add_account,
    build_rig,
    settings_for,
    voice_campaign,
)

CALLER = "+12125550131"  # calls the hotline, then is due a reminder
NEIGHBOUR = "+12125550132"  # same zone, no conversation
APP_NUMBER = "+15005550006"


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    # 15:00 UTC on Sunday 29 November: 10:00 in New York, inside the window.
    add_account(db, clock, "H1", CALLER)
    add_account(db, clock, "H2", NEIGHBOUR)
    campaign = voice_campaign(schedule={"cron": "0 10 * * *", "timezone": "America/New_York"})
    for built in build_rig(db, clock, settings_for([campaign])):
        built.sim.voice_url = f"{PUBLIC_URL}/twilio/voice"
        yield built


def test_a_hotline_conversation_keeps_a_campaign_from_calling_that_person(rig: Rig) -> None:
    # The cardholder calls, verifies and hears the balance; a minute later the campaign
    # launches: the neighbour in the same zone is called, the caller is not (Reg F
    # 1006.14(b)(2)(i)(B): a conversation starts the quiet period whoever placed the call).
    call = rig.sim.place_inbound_call(CALLER, APP_NUMBER, keys="4242,19800102,1,hangup")
    assert any("Your balance is" in line for line in call.transcript)
    rig.clock.advance(timedelta(minutes=1))
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    placed = [a for a in rig.attempts() if a.direction == "outbound"]
    assert [a.number for a in placed] == [NEIGHBOUR]
    (inbound,) = [a for a in rig.attempts() if a.direction == "inbound"]
    assert (inbound.account_id, inbound.conversation, inbound.connected) == ("H1", True, True)
    with rig.db.session(readonly=True) as s:
        denied = s.scalars(
            select(ComplianceDecision).where(ComplianceDecision.allowed.is_(False))
        ).all()
    assert [(d.account_id, d.rule) for d in denied] == [("H1", "after_conversation_7d")]
    contact = rig.contacts()["H1"]
    assert contact.state == "pending" and contact.next_attempt_at > rig.clock.now() + timedelta(
        days=5
    )


def test_an_unverified_hotline_call_is_not_a_conversation(rig: Rig) -> None:
    rig.sim.place_inbound_call(CALLER, APP_NUMBER, keys="1111,19990101,hangup")
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    assert sorted(a.number for a in rig.attempts() if a.direction == "outbound") == [
        CALLER,
        NEIGHBOUR,
    ]


def test_a_conversation_is_never_undone_by_a_late_machine_verdict(rig: Rig) -> None:
    # A person answers and the IVR hears keys (a conversation); the answering-machine verdict
    # and the final status that arrive afterwards say "machine". The call stays connected and
    # the contact is closed as reached, not retried as a machine four hours later.
    rig.sim.set_persona(CALLER, Persona(answered_by="machine_start", amd_seconds=30.0))
    rig.sim.set_persona(NEIGHBOUR, Persona(answered_by="machine_start", amd_seconds=30.0))
    rig.worker.launch_scheduled("voice-mid")
    rig.worker.dispatcher.tick()
    with rig.db.session() as s:
        first = s.scalars(select(Attempt).where(Attempt.number == CALLER)).one()
        apply_ivr_outcome(s, first.id, connected=True, conversation=True)
    rig.sim.run_until_idle()
    by_number = {a.number: a for a in rig.attempts()}
    talked, silent = by_number[CALLER], by_number[NEIGHBOUR]
    assert talked.answered_by == silent.answered_by == "machine_start"
    assert (talked.conversation, talked.connected) == (True, True)
    assert (silent.conversation, silent.connected) == (False, False)
    contacts = rig.contacts()
    assert contacts["H1"].state == "done" and contacts["H1"].closed_reason == "connected"
    assert contacts["H2"].state == "pending", "a machine is retried by the campaign's rule"


def test_each_cardholder_is_decided_under_their_own_legal_profile(
    db: Database, clock: FixedClock
) -> None:
    # 13:30 UTC: 21:30 in Shanghai (inside cn_cba's 08:00-22:00, outside us_reg_f's 21:00) and
    # 08:30 in New York. One run, two laws.
    clock.set(datetime(2026, 11, 30, 13, 30, tzinfo=UTC))
    add_account(db, clock, "U1", "+12125550141", timezone="America/New_York")
    add_account(db, clock, "C1", "+8613800138001", timezone="Asia/Shanghai", language="zh-CN")
    campaign = voice_campaign(schedule={"cron": "30 13 * * *", "timezone": "UTC"})
    for rig in build_rig(db, clock, settings_for([campaign])):
        rig.worker.launch_scheduled("voice-mid")
        rig.tick_until_idle()
        assert sorted(a.number for a in rig.attempts()) == ["+12125550141", "+8613800138001"]
    with db.session(readonly=True) as s:
        profiles = dict(
            s.execute(
                select(ComplianceDecision.account_id, ComplianceDecision.profile).where(
                    ComplianceDecision.allowed.is_(True)
                )
            ).all()
        )
    assert profiles == {"U1": "us_reg_f", "C1": "cn_cba"}
    # Under one profile for everyone (the old behaviour) the Shanghai call was refused.
    us = decide(
        ContactFacts(
            channel="voice",
            account_id="C1",
            customer_id="C1",
            number="+8613800138001",
            declared_timezone="Asia/Shanghai",
            account_status="open",
            consent=True,
        ),
        ContactHistory(),
        clock.now(),
        PolicyProfile.us_reg_f(),
    )
    assert us.rule == Rule.WINDOW


def _shared_number_history(now: datetime, customer: str) -> ContactHistory:
    return ContactHistory(
        tuple(
            PastAttempt(
                at=now - timedelta(minutes=10 * i),
                channel="voice",
                number="+8613800138009",
                account_id=f"{customer}-card",
                customer_id=customer,
            )
            for i in range(1, 7)
        )
    )


def test_the_china_daily_caps_count_per_debtor_not_per_shared_number() -> None:
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    facts = ContactFacts(
        channel="voice",
        account_id="D1-card",
        customer_id="D1",
        number="+8613800138009",
        declared_timezone="Asia/Shanghai",
        account_status="open",
        consent=True,
    )
    profile = PolicyProfile.cn_cba()
    # Six calls today to the family's number, all about someone else: this debtor is free.
    assert decide(facts, _shared_number_history(now, "D2"), now, profile).allowed
    # Six about this debtor: the CBA's six-a-day to one number is reached.
    own = decide(facts, _shared_number_history(now, "D1"), now, profile)
    assert own.rule == Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY


def test_the_seven_in_seven_cap_counts_only_calls_placed_to_the_person() -> None:
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    facts = ContactFacts(
        channel="voice",
        account_id="A1",
        customer_id="A1",
        number="+12125550150",
        declared_timezone="America/New_York",
        account_status="open",
        consent=True,
    )
    calls_in = tuple(
        PastAttempt(
            at=now - timedelta(days=i),
            channel="voice",
            number="+12125550150",
            account_id="A1",
            direction="inbound",
            connected=False,
        )
        for i in range(1, 8)
    )
    # Seven unverified hotline calls from the cardholder in a week: none is a call placed to
    # them, and none a conversation.
    assert decide(facts, ContactHistory(calls_in), now, PolicyProfile.us_reg_f()).allowed
