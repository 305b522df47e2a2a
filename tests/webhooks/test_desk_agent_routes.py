"""The agent's leg through signed requests: whisper, key, bridge, wrap-up, and every way an
offer fails (a decline, no key, a machine, no answer, a caller who hung up meanwhile)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.agents import add_agent, move
from desk.errors import AgentError
from desk.listen import ask
from duecall.app import create_app
from duecall.settings import Settings, load_settings
from duecall.wiring import build_telephony, build_transfer
from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog
from store.models_desk import DeskAgent, QueueEntry
from tests.contract.twilio_payloads import call_json, member_json
from tests.webhooks.voice_support import ACCOUNT_SID, EN_PHONE, ENV, PUBLIC, Caller, seed

MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
QUEUE_SID = "QU" + "a" * 32
LEG_SID = "CA" + "e" * 32
SIM = f"http://sim.test/2010-04-01/Accounts/{ACCOUNT_SID}"
ANA = "+14155550142"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def twilio() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{SIM}/Calls.json", json=call_json(sid=LEG_SID, to=ANA), status=201)
        yield mock


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text(
        "logging:\n  level: WARNING\ndesk:\n  shifts:\n    always:\n      agents: [Ana]\n",
        encoding="utf-8",
    )
    return load_settings(config, ENV)


@pytest.fixture
def app(db: Database, clock: FixedClock, settings: Settings) -> Flask:
    seed(db, clock.now())
    with db.session() as s:
        agent = add_agent(
            s,
            name="Ana",
            role="agent",
            phone=ANA,
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        assert move(s, agent.id, "available", now=clock.now())
    return create_app(settings, db=db, clock=clock)


def _queued_and_offered(
    app: Flask, db: Database, clock: FixedClock, settings: Settings
) -> tuple[Caller, Caller]:
    """A verified caller pressed 0 and waits; the desk rang Ana, who answered."""
    caller = Caller(app.test_client(), from_=EN_PHONE)
    caller.start()
    caller.press("7391")
    caller.press("19710326")
    caller.press("0")
    enqueue = caller.doc.find("Enqueue")
    assert enqueue is not None
    caller.post(enqueue.get("waitUrl", ""), {"QueueSid": QUEUE_SID})
    transfer = build_transfer(settings, db, build_telephony(settings), clock)
    assert transfer.tick() == 1
    entry, agent = _rows(db)
    agent_leg = Caller(app.test_client(), from_="+15005550006", to=ANA, call_sid=LEG_SID)
    agent_leg.post(f"{PUBLIC}/twilio/desk/agent?entry={entry.id}&agent={agent.id}")
    return caller, agent_leg


def _rows(db: Database) -> tuple[QueueEntry, DeskAgent]:
    with db.session(readonly=True) as s:
        return s.scalars(select(QueueEntry)).one(), s.scalars(select(DeskAgent)).one()


def test_the_agent_hears_who_it_is_presses_1_and_is_bridged(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    caller, agent_leg = _queued_and_offered(app, db, clock, settings)
    assert "collections, verified, English. Press 1 to take the call" in agent_leg.spoken()
    entry, _ = _rows(db)
    member = twilio.post(
        f"{SIM}/Queues/{QUEUE_SID}/Members/{caller.call_sid}.json",
        json=member_json(call_sid=caller.call_sid, queue_sid=QUEUE_SID),
    )
    agent_leg.press("1")
    conference = agent_leg.doc.find("Dial/Conference")
    assert conference is not None and conference.text == f"agent-{LEG_SID}"
    assert member.call_count == 1
    moved = parse_qs(str(twilio.calls[-1].request.body))
    assert moved["Url"] == [f"{PUBLIC}/twilio/desk/join?entry={entry.id}"]
    entry, agent = _rows(db)
    assert (entry.status, entry.bridged_at, agent.state) == ("bridged", MONDAY, "on_call")
    # The caller, moved by Twilio, joins the same conference.
    caller.post(moved["Url"][0])
    joined = caller.doc.find("Dial/Conference")
    assert joined is not None and joined.text == f"agent-{LEG_SID}"
    # The conference ends: talk time, wrap-up, and the agent's key.
    dial = agent_leg.doc.find("Dial")
    assert dial is not None
    clock.advance(timedelta(seconds=95))
    agent_leg.post(dial.get("action", ""), {"DialCallStatus": "completed"})
    assert "Press 1 for the next caller, or 2 to take a break" in agent_leg.spoken()
    entry, agent = _rows(db)
    assert (entry.status, entry.talk_seconds, agent.state) == ("done", 95, "wrap_up")
    agent_leg.press("2")
    assert _rows(db)[1].state == "away"


@pytest.mark.parametrize("keys", ["2", None])
def test_a_decline_or_no_key_sends_the_agent_away_and_keeps_the_caller_queued(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
    keys: str | None,
) -> None:
    _, agent_leg = _queued_and_offered(app, db, clock, settings)
    if keys is None:
        agent_leg.silence()
    else:
        agent_leg.press(keys)
    assert "stays in the queue" in agent_leg.spoken()
    entry, agent = _rows(db)
    assert (entry.status, entry.agent_id, agent.state) == ("waiting", None, "away")


def test_a_machine_on_the_agents_phone_is_hung_up_on_and_never_bridged(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    _, agent_leg = _queued_and_offered(app, db, clock, settings)
    hangup = twilio.post(f"{SIM}/Calls/{LEG_SID}.json", json=call_json(sid=LEG_SID))
    entry, agent = _rows(db)
    agent_leg.post(
        f"{PUBLIC}/twilio/desk/agent/amd?entry={entry.id}&agent={agent.id}",
        {"AnsweredBy": "machine_start"},
    )
    assert agent_leg.status == 204 and hangup.call_count == 1
    entry, agent = _rows(db)
    assert (entry.status, agent.state) == ("waiting", "away")
    # A machine "pressing" 1 later (a tone in its greeting) bridges nothing.
    agent_leg.post(
        f"{PUBLIC}/twilio/desk/agent?entry={entry.id}&agent={agent.id}&step=key", {"Digits": "1"}
    )
    assert agent_leg.doc.find("Dial") is None
    assert _rows(db)[0].status == "waiting"


def test_no_answer_sends_the_agent_away(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    _, agent_leg = _queued_and_offered(app, db, clock, settings)
    entry, agent = _rows(db)
    agent_leg.post(
        f"{PUBLIC}/twilio/desk/agent/status?entry={entry.id}&agent={agent.id}",
        {"CallStatus": "no-answer"},
    )
    entry, agent = _rows(db)
    assert (entry.status, agent.state) == ("waiting", "away")


def test_a_caller_who_hung_up_while_the_agent_was_rung_is_never_bridged(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    caller, agent_leg = _queued_and_offered(app, db, clock, settings)
    entry, _ = _rows(db)
    caller.post(f"{PUBLIC}/twilio/desk/dequeued?entry={entry.id}", {"QueueResult": "hangup"})
    agent_leg.press("1")
    assert agent_leg.doc.find("Dial") is None
    assert "no longer waiting" in agent_leg.spoken()
    entry, agent = _rows(db)
    assert (entry.status, entry.bridged_at, agent.state) == ("abandoned", None, "available")


def test_a_caller_the_carrier_cannot_move_goes_back_and_the_agent_is_told(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    caller, agent_leg = _queued_and_offered(app, db, clock, settings)
    twilio.post(
        f"{SIM}/Queues/{QUEUE_SID}/Members/{caller.call_sid}.json",
        json={"code": 20404, "message": "not found", "status": 404},
        status=404,
    )
    agent_leg.press("1")
    assert agent_leg.doc.find("Dial") is None and "no longer waiting" in agent_leg.spoken()
    entry, agent = _rows(db)
    assert (entry.status, entry.bridged_at, agent.state) == ("waiting", None, "wrap_up")


def test_a_supervisor_listens_in_muted_after_pressing_1(
    app: Flask,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    twilio: responses.RequestsMock,
) -> None:
    caller, agent_leg = _queued_and_offered(app, db, clock, settings)
    twilio.post(
        f"{SIM}/Queues/{QUEUE_SID}/Members/{caller.call_sid}.json",
        json=member_json(call_sid=caller.call_sid, queue_sid=QUEUE_SID),
    )
    agent_leg.press("1")
    with db.session() as s:
        boss = add_agent(
            s,
            name="Bo",
            role="supervisor",
            phone="+14155550199",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        wanted = ask(s, agent_name="Ana", supervisor_name="Bo", now=clock.now(), actor="t")
        boss_id = boss.id
    assert wanted.supervisor_id == boss_id
    leg = Caller(app.test_client(), from_="+15005550006", to="+14155550199")
    leg.post(f"{PUBLIC}/twilio/desk/agent?entry={wanted.entry_id}&agent={boss_id}&step=listen")
    assert "listen to Ana's call. Press 1 to join it, muted" in leg.spoken()
    assert leg.doc.find("Dial") is None  # nothing heard before the key: a machine never joins
    leg.press("1")
    conference = leg.doc.find("Dial/Conference")
    assert conference is not None and conference.text == f"agent-{LEG_SID}"
    assert conference.get("muted") == "true" and conference.get("endConferenceOnExit") == "false"
    with db.session(readonly=True) as s:
        (audit,) = s.scalars(select(AuditLog).where(AuditLog.action == "desk_listen_in")).all()
        assert audit.entity_id == str(wanted.entry_id)


def test_only_a_supervisor_listens_and_only_to_a_call(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        add_agent(
            s,
            name="Bo",
            role="agent",
            phone="+14155550199",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        with pytest.raises(AgentError, match="not a supervisor"):
            ask(s, agent_name="Ana", supervisor_name="Bo", now=clock.now(), actor="t")
        with pytest.raises(AgentError, match="not on a call"):
            ask(
                s,
                agent_name="Ana",
                supervisor_name=_supervisor(s, clock),
                now=clock.now(),
                actor="t",
            )


def _supervisor(s: Session, clock: FixedClock) -> str:
    add_agent(
        s,
        name="Cy",
        role="supervisor",
        phone="+14155550198",
        languages=("en-US",),
        password="password1",
        now=clock.now(),
        actor="t",
    )
    return "Cy"


def test_a_fault_on_the_agents_leg_hangs_up_with_valid_twiml(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(app.extensions["duecall.desk"].rules, "agent_answer", broken)
    leg = Caller(app.test_client(), from_="+15005550006", to=ANA, call_sid=LEG_SID)
    leg.post(f"{PUBLIC}/twilio/desk/agent?entry=1&agent=1")
    assert leg.status == 200
    assert [child.tag for child in leg.doc] == ["Hangup"]
