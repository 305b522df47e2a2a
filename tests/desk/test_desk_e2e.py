"""The desk through the simulator and the real webhooks: callers escalated by the IVR, queued,
offered to agent personas, bridged, or called back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.callbacks import CallbackWanted, request_callback
from campaigns.suppressions import add_suppression
from desk.agents import add_agent
from desk.listen import ask
from desk.transfers import cold, warm
from simulator import Persona
from store.db import Database
from telephony.port import AgentCall
from tests.desk.desk_rig import ANA, EN_KEYS, EN_PHONE, DeskRig, build_desk_rig, settings_for

# Monday 7 December 2026, 10:00 in New York: the collections queue is open.
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def rig(db: Database) -> Iterator[DeskRig]:
    yield from build_desk_rig(db, settings_for(["Ana"]), MONDAY)


def test_a_verified_caller_presses_0_waits_and_is_bridged_to_an_agent_who_accepts(
    rig: DeskRig,
) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=45))
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(caller)) is not None and e.queue_sid is not None)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(caller).status == "bridged")  # type: ignore[union-attr]
    rig.until(lambda: rig.entry(caller).status == "done")  # type: ignore[union-attr]
    entry = rig.entry(caller)
    assert entry is not None and entry.verified and entry.account_id == "70000001"
    assert entry.bridged_at is not None and entry.talk_seconds is not None
    heard = "\n".join(caller.transcript)
    assert "You are number 1 in line" in heard
    assert rig.agent("Ana").state == "wrap_up"
    assert rig.errors() == []


def test_a_caller_who_presses_1_while_waiting_gets_a_callback_booked(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts())
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: rig.entry(caller) is not None)
    rig.sim.send_keys(caller, "1")  # at the wait's "press 1 to be called back instead"
    rig.until(lambda: bool(rig.callbacks()))
    rig.sim.run_until_idle()
    (callback,) = rig.callbacks()
    assert (callback.reason, callback.verified, callback.account_id) == ("agent", True, "70000001")
    assert callback.call_sid == caller.sid
    entry = rig.entry(caller)
    assert entry is not None and (entry.status, entry.left_reason) == ("left", "caller")
    heard = "\n".join(caller.transcript)
    assert "To be called back instead, press 1" in heard
    assert "An agent will call you back as soon as possible" in heard
    assert rig.errors() == []


def test_a_fraud_caller_jumps_the_queue(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=30))
    first = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(first)) is not None and e.queue_sid is not None)
    fraud = rig.call_in(EN_PHONE, f"{EN_KEYS},5")
    rig.until(lambda: (e := rig.entry(fraud)) is not None and e.queue_sid is not None)
    assert rig.entry(fraud).queue == "fraud"  # type: ignore[union-attr]
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(fraud).status == "bridged")  # type: ignore[union-attr]
    assert rig.entry(first).status == "waiting"  # type: ignore[union-attr]
    agent_leg = next(c for c in rig.sim.calls.values() if c.to == ANA)
    assert any("Caller waiting: fraud, verified, English" in line for line in agent_leg.transcript)
    assert rig.errors() == []


def test_nobody_is_enqueued_outside_every_shift(db: Database) -> None:
    for rig in build_desk_rig(db, settings_for([]), MONDAY):
        rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts())  # not rostered
        caller = rig.call_in(EN_PHONE, f"{EN_KEYS},5")
        rig.sim.run_until_idle()
        assert rig.entries() == []
        assert not any("Enqueue" in line for line in caller.transcript)
        assert any("fraud team will call you back" in line for line in caller.transcript)
        # The fraud team's callback (and, as the caller then stays silent at the menu, the
        # IVR's own one for no input).
        assert "fraud" in {c.reason for c in rig.callbacks()}


def test_a_caller_who_hangs_up_while_queued_is_abandoned_and_never_bridged(
    rig: DeskRig,
) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts())
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0,wait 20,hangup")
    rig.until(lambda: (e := rig.entry(caller)) is not None and e.status == "abandoned")
    assert rig.transfer.tick() == 0  # nobody left to offer
    rig.sim.run_until_idle()
    entry = rig.entry(caller)
    assert entry is not None and entry.bridged_at is None and entry.wait_seconds is not None
    assert rig.agent("Ana").state == "available"
    assert rig.callbacks() == []
    assert rig.errors() == []


def test_an_agent_who_declines_goes_away_and_the_caller_stays_queued(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_declines())
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(caller)) is not None and e.queue_sid is not None)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.agent("Ana").state == "away")
    entry = rig.entry(caller)
    assert entry is not None and (entry.status, entry.agent_id) == ("waiting", None)
    # Still waiting, still hearing the wait.
    before = len(caller.transcript)
    rig.sim.run_for(40)
    assert any("in line" in line for line in caller.transcript[before:])
    assert rig.errors() == []


def test_a_booked_callback_is_placed_agent_first(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=40))
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: rig.entry(caller) is not None)
    rig.sim.send_keys(caller, "1")
    rig.until(lambda: bool(rig.callbacks()))
    rig.sim.run_until_idle()
    # The next tick puts the due callback in the callbacks queue and rings Ana first.
    assert rig.transfer.tick() == 1
    (placing,) = [e for e in rig.entries() if e.callback_id is not None]
    assert (placing.queue, placing.status, placing.call_sid) == ("callbacks", "offered", None)
    rig.until(lambda: rig.callbacks()[0].status == "done")
    agent_leg = next(c for c in rig.sim.calls.values() if c.to == ANA)
    assert any(
        "Callback to make: collections, verified, English" in line for line in agent_leg.transcript
    )
    # Only after Ana pressed 1 was the cardholder dialled, as an attempt of its own, with
    # the policy's decision stored for it.
    cardholder = [c for c in rig.sim.calls.values() if c.to == EN_PHONE]
    assert len(cardholder) == 1
    attempt = rig.attempt(placing.id)
    assert attempt is not None
    assert (attempt.purpose, attempt.number, attempt.provider_sid) == (
        "callback",
        EN_PHONE,
        cardholder[0].sid,
    )
    assert rig.decisions(attempt.id) == [("desk_callback", True)]
    assert rig.agent("Ana").state == "wrap_up"
    assert rig.errors() == []


def _book(rig: DeskRig) -> None:
    with rig.db.session() as s:
        assert request_callback(
            s,
            CallbackWanted(
                number=EN_PHONE,
                reason="agent",
                language="en-US",
                priority=3,
                dedupe_key="test-callback",
                account_id="70000001",
                verified=True,
                preferred_at=MONDAY - timedelta(minutes=10),
            ),
            now=MONDAY - timedelta(hours=1),
        )


def test_a_callback_the_cardholder_does_not_answer_is_tried_again_later(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=40))
    rig.sim.set_persona(EN_PHONE, Persona.no_answer())
    _book(rig)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.callbacks()[0].status == "open")
    (callback,) = rig.callbacks()
    assert callback.tries == 1 and "not reached: no-answer" in (callback.note or "")
    assert callback.preferred_at is not None and callback.preferred_at >= MONDAY + timedelta(
        minutes=15
    )
    rig.sim.run_until_idle()
    assert rig.errors() == []


def test_a_callback_the_policy_forbids_is_never_dialled(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts())
    _book(rig)
    with rig.db.session() as s:
        add_suppression(
            s,
            kind="dnc",
            number=EN_PHONE,
            reason="asked on the phone",
            actor="test",
            source="cli",
            now=MONDAY,
        )
    assert rig.transfer.tick() == 1  # the agent is rung: the policy is asked at dial time
    rig.until(lambda: rig.callbacks()[0].status == "cancelled")
    assert not [c for c in rig.sim.calls.values() if c.to == EN_PHONE]
    (placing,) = rig.entries()
    assert (placing.status, placing.left_reason, placing.attempt_id) == ("left", "policy", None)
    rig.sim.run_until_idle()
    assert rig.agent("Ana").state == "available"
    assert rig.errors() == []


def test_a_supervisor_listens_in_muted(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=120))
    boss = "+14155550199"
    rig.sim.set_persona(boss, Persona.agent_accepts(talk_seconds=30))
    with rig.db.session() as s:
        add_agent(
            s,
            name="Bo",
            role="supervisor",
            phone=boss,
            languages=("en-US",),
            password="password1",
            now=rig.sim.now(),
            actor="test",
        )
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(caller)) is not None and e.queue_sid is not None)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(caller).status == "bridged")  # type: ignore[union-attr]
    with rig.db.session() as s:
        wanted = ask(s, agent_name="Ana", supervisor_name="Bo", now=rig.sim.now(), actor="test")
    rig.transfer.telephony.place_agent_call(
        AgentCall(
            to=boss,
            entry_id=wanted.entry_id,
            agent_id=wanted.supervisor_id,
            timeout=20,
            purpose="listen",
        )
    )
    entry = rig.entry(caller)
    assert entry is not None
    room = f"agent-{entry.agent_leg_sid}"

    def listening() -> bool:
        conference = rig.sim.conference_named(room)
        return conference is not None and len(conference.participants) == 3

    rig.until(listening)
    conference = rig.sim.conference_named(room)
    assert conference is not None
    muted = [p for p in conference.participants.values() if p.muted]
    (leg,) = [c for c in rig.sim.calls.values() if c.to == boss]
    assert [p.call.sid for p in muted] == [leg.sid]
    assert rig.errors() == []


def test_an_agent_hands_the_caller_to_the_front_of_the_fraud_queue(db: Database) -> None:
    for rig in build_desk_rig(db, settings_for(["Ana", "Bo"]), MONDAY):
        _cold_transfer(rig)


def _cold_transfer(rig: DeskRig) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=300))
    bo = "+14155550143"
    rig.add_agent("Bo", bo, "en-US", persona=Persona.agent_accepts(talk_seconds=30))
    first = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(first)) is not None and e.queue_sid is not None)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(first).status == "bridged")  # type: ignore[union-attr]
    assert rig.entry(first).agent_id == rig.agent("Ana").id  # type: ignore[union-attr]
    with rig.db.session() as s:
        move = cold(
            s, rig.transfer.desk, agent_name="Ana", queue="fraud", now=rig.sim.now(), actor="test"
        )
    rig.transfer.telephony.redirect_call(move.call_sid, move.url)
    rig.until(
        lambda: (
            (e := rig.entry(first)) is not None
            and e.queue == "fraud"
            and e.status == "waiting"
            and e.queue_sid is not None
            and rig.agent("Ana").state == "wrap_up"
        )
    )
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(first).status == "bridged")  # type: ignore[union-attr]
    entry = rig.entry(first)
    assert entry is not None and entry.agent_id == rig.agent("Bo").id
    assert any("You are number 1 in line" in line for line in first.transcript)
    assert rig.errors() == []


def test_a_warm_transfer_hands_the_caller_to_a_supervisor_once_they_joined(
    rig: DeskRig,
) -> None:
    rig.add_agent("Ana", ANA, "en-US", persona=Persona.agent_accepts(talk_seconds=600))
    boss = "+14155550199"
    rig.sim.set_persona(boss, Persona.agent_accepts(talk_seconds=30))
    with rig.db.session() as s:
        add_agent(
            s,
            name="Bo",
            role="supervisor",
            phone=boss,
            languages=("en-US",),
            password="password1",
            now=rig.sim.now(),
            actor="test",
        )
    caller = rig.call_in(EN_PHONE, f"{EN_KEYS},0")
    rig.until(lambda: (e := rig.entry(caller)) is not None and e.queue_sid is not None)
    assert rig.transfer.tick() == 1
    rig.until(lambda: rig.entry(caller).status == "bridged")  # type: ignore[union-attr]
    with rig.db.session() as s:
        asked = warm(s, agent_name="Ana", supervisor_name="Bo", now=rig.sim.now(), actor="test")
    rig.transfer.telephony.place_agent_call(
        AgentCall(
            to=boss,
            entry_id=asked.entry_id,
            agent_id=asked.supervisor_id,
            timeout=20,
            purpose="warm",
        )
    )
    # Bo joins; Ana leaves for her key after the call; the caller stays, now Bo's.
    rig.until(lambda: rig.agent("Ana").state == "wrap_up")
    entry = rig.entry(caller)
    assert entry is not None and entry.status == "bridged"
    assert entry.agent_id == asked.supervisor_id
    ana_leg = next(c for c in rig.sim.calls.values() if c.to == ANA)
    assert any("Press 1 for the next caller" in line for line in ana_leg.transcript)
    # Bo talks 30 s and hangs up: the conference, and the caller's call, end.
    rig.until(lambda: rig.entry(caller).status == "done")  # type: ignore[union-attr]
    assert rig.errors() == []
