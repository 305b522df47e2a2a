"""The live transfer's job: which caller is offered to which agent, paced, claimed once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import responses

from desk.agents import add_agent, move
from desk.config import DeskSettings, Shift
from desk.escalation import Desk
from desk.queueing import Caller, enqueue, set_queue_sid
from desk.transfer import Transfer
from desk.words import Words
from ivr.catalogue import load_catalogues
from ivr.config import IvrSettings
from ivr.session import DEFAULT_LEGAL
from store.clock import FixedClock
from store.db import Database
from store.models_desk import DeskAgent, QueueEntry
from telephony.twilio_adapter import TwilioAdapter
from tests.contract.twilio_payloads import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLS_PATH,
    TWILIO,
    call_json,
)

MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
PUBLIC = "https://duecall.test"
ANA, BO = "+14155550142", "+14155550143"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def twilio() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _desk(roster: tuple[str, ...] = ("Ana", "Bo")) -> Desk:
    return Desk(
        settings=DeskSettings(shifts={"always": Shift(agents=roster)}, offer_timeout_seconds=20),
        words=Words(load_catalogues(("en-US", "zh-CN")), IvrSettings().voices),
        public_url=PUBLIC,
        legal=DEFAULT_LEGAL,
    )


def _transfer(db: Database, clock: FixedClock, waits: list[float] | None = None) -> Transfer:
    adapter = TwilioAdapter(ACCOUNT_SID, AUTH_TOKEN, public_url=PUBLIC, caller_id="+14155550100")

    def wait(seconds: float) -> bool:
        if waits is not None:
            waits.append(seconds)
        return True

    return Transfer(db, adapter, clock, _desk(), calls_per_second=1.0, wait=wait)


def _agent(db: Database, clock: FixedClock, name: str, phone: str, *langs: str) -> int:
    with db.session() as s:
        agent = add_agent(
            s,
            name=name,
            role="agent",
            phone=phone,
            languages=langs,
            password="password1",
            now=clock.now(),
            actor="t",
        )
        assert move(s, agent.id, "available", now=clock.now())
        return agent.id


def _caller(db: Database, queue: str, sid: str, at: datetime, language: str = "en-US") -> int:
    with db.session() as s:
        reason = "fraud" if queue == "fraud" else "agent"
        entry = enqueue(s, queue, Caller(sid, "+12125550123", language, reason, True), now=at)
        set_queue_sid(s, entry, "QU" + "a" * 32)  # the first wait request brought it
        return entry.id


def _rows(db: Database) -> tuple[dict[int, QueueEntry], dict[int, DeskAgent]]:
    with db.session(readonly=True) as s:
        entries = {e.id: e for e in s.query(QueueEntry)}
        agents = {a.id: a for a in s.query(DeskAgent)}
        return entries, agents


def _calls(mock: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [
        parse_qs(str(c.request.body)) for c in mock.calls if c.request.url.endswith("Calls.json")
    ]


def test_the_fraud_caller_is_offered_first_and_the_agent_is_rung(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(sid="CA" + "b" * 32), status=201)
    ana = _agent(db, clock, "Ana", ANA, "en-US")
    early = _caller(db, "collections-en", "CA" + "1" * 32, MONDAY - timedelta(minutes=5))
    fraud = _caller(db, "fraud", "CA" + "2" * 32, MONDAY - timedelta(minutes=1))
    assert _transfer(db, clock).tick() == 1
    entries, agents = _rows(db)
    assert entries[fraud].status == "offered" and entries[fraud].agent_id == ana
    assert entries[fraud].agent_leg_sid == "CA" + "b" * 32
    assert entries[early].status == "waiting"
    assert agents[ana].state == "offered" and agents[ana].entry_id == fraud
    (call,) = _calls(twilio)
    assert call["To"] == [ANA]
    assert call["Url"] == [f"{PUBLIC}/twilio/desk/agent?entry={fraud}&agent={ana}"]
    assert call["MachineDetection"] == ["Enable"]


def test_an_agent_is_offered_only_callers_in_a_language_they_speak(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    bo = _agent(db, clock, "Bo", BO, "zh-CN")
    _caller(db, "collections-en", "CA" + "1" * 32, MONDAY - timedelta(minutes=5))
    zh = _caller(db, "collections-zh", "CA" + "3" * 32, MONDAY, "zh-CN")
    assert _transfer(db, clock).tick() == 1
    entries, _ = _rows(db)
    assert entries[zh].agent_id == bo


def test_one_caller_and_two_agents_rings_one_agent(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    ana = _agent(db, clock, "Ana", ANA, "en-US")
    bo = _agent(db, clock, "Bo", BO, "en-US")
    entry = _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    first, second = _transfer(db, clock), _transfer(db, clock)  # two workers
    assert first.tick() + second.tick() == 1
    entries, agents = _rows(db)
    assert entries[entry].agent_id in (ana, bo)
    assert sorted(a.state for a in agents.values()) == ["available", "offered"]
    assert len(_calls(twilio)) == 1


def test_agents_calls_are_paced_by_the_dialers_budget(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    _agent(db, clock, "Ana", ANA, "en-US")
    _agent(db, clock, "Bo", BO, "en-US")
    _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    _caller(db, "collections-en", "CA" + "2" * 32, MONDAY)
    waits: list[float] = []
    assert _transfer(db, clock, waits).tick() == 2
    # 1 call per second: the second agent's call waits for the next slot.
    assert waits == [1.0]


def test_a_refused_agent_call_leaves_the_caller_queued_and_the_agent_away(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(
        f"{TWILIO}{CALLS_PATH}",
        json={"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
        status=400,
    )
    ana = _agent(db, clock, "Ana", ANA, "en-US")
    entry = _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    assert _transfer(db, clock).tick() == 0
    entries, agents = _rows(db)
    assert entries[entry].status == "waiting" and entries[entry].agent_id is None
    assert agents[ana].state == "away"


def test_an_offer_nobody_reported_on_lapses(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    ana = _agent(db, clock, "Ana", ANA, "en-US")
    entry = _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    transfer = _transfer(db, clock)
    assert transfer.tick() == 1
    clock.advance(timedelta(seconds=69))
    transfer.tick()
    assert _rows(db)[1][ana].state == "offered"
    clock.advance(timedelta(seconds=2))
    transfer.tick()
    entries, agents = _rows(db)
    assert agents[ana].state == "away" and entries[entry].status == "waiting"


def test_nobody_off_shift_is_rung(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    _agent(db, clock, "Cy", ANA, "en-US")  # available, but on no shift
    _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    assert _transfer(db, clock).tick() == 0
    assert _calls(twilio) == []


def test_two_workers_ticking_at_once_ring_one_agent_for_one_caller(
    db: Database, clock: FixedClock, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    _agent(db, clock, "Ana", ANA, "en-US")
    _agent(db, clock, "Bo", BO, "en-US")
    entry = _caller(db, "collections-en", "CA" + "1" * 32, MONDAY)
    workers = [_transfer(db, clock), _transfer(db, clock)]
    start = threading.Barrier(2)
    rung: list[int] = []

    def run(transfer: Transfer) -> None:
        start.wait()
        rung.append(transfer.tick())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(rung) == [0, 1]
    entries, agents = _rows(db)
    assert entries[entry].status == "offered"
    assert sorted(a.state for a in agents.values()) == ["available", "offered"]
    assert len(_calls(twilio)) == 1
