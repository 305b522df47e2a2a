"""A campaign end to end: launch, dispatch through the Twilio adapter to the simulator, status
callbacks through the real app, retries per outcome, and the SMS fallback."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from simulator import Persona
from store.clock import FixedClock
from store.db import Database
from store.models import ComplianceDecision, Promise
from store.models_dialer import CallbackEvent, CampaignRun
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for, voice_campaign

HUMAN, BUSY, NO_ANSWER, VOICEMAIL = (
    "+12125550101",
    "+12125550102",
    "+12125550103",
    "+12125550104",
)
FALLBACK_NO_ANSWER, FALLBACK_HUMAN = "+12125550105", "+12125550106"


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    settings = settings_for(
        [
            voice_campaign(),
            voice_campaign(
                name="fallback",
                channel="voice_sms_fallback",
                segment={"dpd_min": 90, "dpd_max": 120},
                retry={"no_answer": {"delay_minutes": 30, "max": 1}},
                sms_template={
                    "en-US": "{business_name}: {first_name}, please call {callback_number}.",
                    "zh-CN": "{business_name}：{first_name}您好，请致电{callback_number}。",
                },
            ),
        ]
    )
    personas = {
        BUSY: Persona.busy(),
        NO_ANSWER: Persona.no_answer(),
        VOICEMAIL: Persona.voicemail(),
        FALLBACK_NO_ANSWER: Persona.no_answer(),
    }
    for account_id, number in (("A1", HUMAN), ("A2", BUSY), ("A3", NO_ANSWER), ("A4", VOICEMAIL)):
        add_account(db, clock, account_id, number, dpd=45)
    add_account(db, clock, "F1", FALLBACK_NO_ANSWER, dpd=100)
    add_account(db, clock, "F2", FALLBACK_HUMAN, dpd=100)
    yield from build_rig(db, clock, settings, personas)


def run_for(rig: Rig, hours: float, step_minutes: int = 10) -> None:
    end = rig.clock.now() + timedelta(hours=hours)
    while rig.clock.now() < end:
        rig.tick_until_idle()
        rig.worker.reconciler.run()
        rig.clock.advance(timedelta(minutes=step_minutes))


def test_a_campaign_runs_end_to_end_with_retries_per_outcome_and_the_sms_fallback(
    rig: Rig,
) -> None:
    # 10:00 in New York: the 09:00 slot of both campaigns is within the grace period.
    assert rig.worker.launch_scheduled("voice-mid") is not None
    assert rig.worker.launch_scheduled("fallback") is not None

    run_for(rig, hours=4)

    attempts = rig.attempts()
    by_number = Counter(a.number for a in attempts if a.channel == "voice")
    # The person is reached once; busy is retried twice (3 attempts = max_attempts); no-answer
    # once; the answering machine once.
    assert by_number == {
        HUMAN: 1,
        BUSY: 3,
        NO_ANSWER: 2,
        VOICEMAIL: 2,
        FALLBACK_NO_ANSWER: 2,
        FALLBACK_HUMAN: 1,
    }
    statuses = {(a.number, a.status, a.answered_by) for a in attempts if a.channel == "voice"}
    assert (BUSY, "busy", None) in statuses
    assert (NO_ANSWER, "no-answer", None) in statuses
    assert (VOICEMAIL, "completed", "machine_end_beep") in statuses
    assert (HUMAN, "completed", "human") in statuses
    assert all(a.final and a.provider_sid for a in attempts), "every attempt closed, SID stored"

    contacts = rig.contacts()
    assert {k: c.closed_reason for k, c in contacts.items()} == {
        "A1": "connected",
        "A2": "exhausted_busy",
        "A3": "exhausted_no_answer",
        "A4": "exhausted_machine",
        "F1": "sms_delivered",
        "F2": "connected",
    }
    # The fallback SMS went to the one never reached, rendered with the opt-out notice.
    sms = [a for a in attempts if a.channel == "sms"]
    assert [(a.number, a.purpose, a.status) for a in sms] == [
        (FALLBACK_NO_ANSWER, "sms_fallback", "delivered")
    ]
    (message,) = rig.sim.messages.values()
    assert message.body.endswith("please call +18005550100. Reply STOP to opt out.")
    assert message.body.startswith("Northwind Card Services: Jane,")

    # Connected means a person answered: the machine and the unanswered are not conversations.
    connected = {a.number for a in attempts if a.connected}
    assert connected == {HUMAN, FALLBACK_HUMAN}

    with rig.db.session(readonly=True) as s:
        decisions = s.scalars(select(ComplianceDecision)).all()
        # Every attempt was allowed by a stored decision that names it.
        assert {d.attempt_id for d in decisions if d.allowed} == {a.id for a in attempts}
        events = s.scalars(select(CallbackEvent)).all()
        assert events and all("+1212555" not in str(e.payload) for e in events), "masked"
        assert {r.status for r in s.scalars(select(CampaignRun))} == {"active"}
    # Only the app was reached; nothing went wrong at the carrier.
    assert rig.sim_errors() == []


def test_retries_wait_for_their_delay(rig: Rig) -> None:
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    first = {a.number: a.created_at for a in rig.attempts()}
    run_for(rig, hours=1.5, step_minutes=5)
    later = [a for a in rig.attempts() if a.number == BUSY]
    gaps = [b.created_at - a.created_at for a, b in itertools.pairwise(later)]
    assert gaps and all(gap >= timedelta(minutes=30) for gap in gaps)
    assert first[BUSY] == later[0].created_at


PROMISER, WRONG_PARTY = "+12125550121", "+12125550122"


@pytest.fixture
def ivr_rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    """The same campaign with the IVR's own routes answering the calls."""
    add_account(db, clock, "P1", PROMISER, dpd=45)
    add_account(db, clock, "W1", WRONG_PARTY, dpd=45)
    personas = {
        # Right party, verified (last 4, birth date), menu 2: a promise of $100 on December 5.
        PROMISER: Persona.human("1,4242,19800102,2,20261205,100#,1,hangup"),
        WRONG_PARTY: Persona.human("2"),
    }
    yield from build_rig(db, clock, settings_for([voice_campaign()]), personas)


def test_through_the_ivr_a_promise_is_made_on_the_call_and_a_wrong_party_closes_it(
    ivr_rig: Rig,
) -> None:
    rig = ivr_rig
    rig.worker.launch_scheduled("voice-mid")
    run_for(rig, hours=1)
    attempts = {a.number: a for a in rig.attempts() if a.channel == "voice"}
    assert len(rig.attempts(channel="voice")) == 2, "each called once"
    assert (attempts[PROMISER].outcome, attempts[PROMISER].connected) == ("promise", True)
    assert attempts[WRONG_PARTY].outcome == "wrong_party"
    assert all(a.final and a.status == "completed" for a in attempts.values())
    contacts = rig.contacts()
    assert (contacts["P1"].closed_reason, contacts["W1"].closed_reason) == (
        "connected",
        "wrong_party",
    )
    with rig.db.session(readonly=True) as s:
        (promise,) = s.scalars(select(Promise)).all()
        assert (promise.account_id, promise.amount, promise.promised_date.isoformat()) == (
            "P1",
            Decimal("100.00"),
            "2026-12-05",
        )
        assert promise.attempt_id == attempts[PROMISER].id
    # The IVR's confirmation SMS went out through the outbox job, after the policy said yes.
    rig.worker.outbox.run()
    (confirmation,) = rig.attempts(channel="sms")
    assert (confirmation.number, confirmation.purpose) == (PROMISER, "promise_confirmation")
    assert confirmation.provider_sid in rig.sim.messages
    assert rig.sim_errors() == []
