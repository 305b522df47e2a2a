"""Queue records: one per caller, their order, the claim, and the moves a hang-up forbids."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from desk.agents import add_agent
from desk.queueing import (
    Caller,
    abandoned,
    bridged,
    by_call,
    claim,
    ended,
    enqueue,
    left,
    next_waiting,
    position,
    release,
    set_queue_sid,
)
from store.clock import FixedClock
from store.db import Database
from store.models_desk import QueueEntry


def _caller(sid: str, language: str = "en-US", reason: str = "agent") -> Caller:
    return Caller(
        call_sid=sid, number="+14155550123", language=language, reason=reason, verified=True
    )


def _in(s: Session, queue: str, caller: Caller, *, now: datetime) -> QueueEntry:
    """Enqueued, and confirmed in Twilio's queue by a first wait request."""
    entry = enqueue(s, queue, caller, now=now)
    set_queue_sid(s, entry, "QU" + "a" * 32)
    return entry


def _agent(db: Database, clock: FixedClock, name: str) -> int:
    with db.session() as s:
        return add_agent(
            s,
            name=name,
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        ).id


def test_a_replayed_enqueue_keeps_one_record(db: Database, clock: FixedClock) -> None:
    with db.session() as s:
        first = enqueue(s, "collections-en", _caller("CA1"), now=clock.now())
        again = enqueue(s, "collections-en", _caller("CA1"), now=clock.now() + timedelta(1))
        assert first.id == again.id and again.enqueued_at == clock.now()


def test_position_and_the_next_caller_follow_urgency_then_arrival(
    db: Database, clock: FixedClock
) -> None:
    t = clock.now()
    with db.session() as s:
        a = _in(s, "collections-en", _caller("CA1"), now=t)
        b = _in(s, "collections-en", _caller("CA2"), now=t + timedelta(seconds=5))
        zh = _in(s, "collections-zh", _caller("CA3", "zh-CN"), now=t)
        fraud = _in(s, "fraud", _caller("CA4", reason="fraud"), now=t + timedelta(seconds=9))
        assert (position(s, a), position(s, b), position(s, zh), position(s, fraud)) == (1, 2, 1, 1)
        order = ["fraud", "collections-en", "collections-zh"]
        assert next_waiting(s, order, ["en-US"]) == fraud  # the fraud caller jumps the queue
        assert next_waiting(s, order[1:], ["en-US"]) == a
        assert next_waiting(s, order[1:], ["zh-CN"]) == zh  # only callers they can talk to


def test_two_agents_never_claim_the_same_caller(db: Database, clock: FixedClock) -> None:
    one, two = _agent(db, clock, "one"), _agent(db, clock, "two")
    with db.session() as s:
        entry_id = _in(s, "collections-en", _caller("CA1"), now=clock.now()).id
    with db.session() as s1, db.session() as s2:
        won = claim(s1, entry_id, one, now=clock.now())
        s1.commit()
        lost = claim(s2, entry_id, two, now=clock.now())
    assert (won, lost) == (True, False)
    with db.session() as s:
        entry = s.get(QueueEntry, entry_id)
        assert entry is not None and entry.agent_id == one and entry.status == "offered"


def test_an_offer_not_taken_puts_the_caller_back_in_their_place(
    db: Database, clock: FixedClock
) -> None:
    agent = _agent(db, clock, "one")
    with db.session() as s:
        entry = _in(s, "collections-en", _caller("CA1"), now=clock.now())
        assert claim(s, entry.id, agent, now=clock.now())
        assert next_waiting(s, ["collections-en"], ["en-US"]) is None
        assert release(s, entry.id)
        assert next_waiting(s, ["collections-en"], ["en-US"]) == entry
        assert entry.agent_id is None


def test_a_caller_who_hung_up_is_abandoned_and_never_bridged(
    db: Database, clock: FixedClock
) -> None:
    agent = _agent(db, clock, "one")
    t = clock.now()
    with db.session() as s:
        entry = _in(s, "collections-en", _caller("CA1"), now=t)
        assert claim(s, entry.id, agent, now=t)
        assert abandoned(s, entry, now=t + timedelta(seconds=42))
        assert not bridged(s, entry, now=t + timedelta(seconds=43))
        assert not release(s, entry.id)
        found = by_call(s, "CA1")
        assert found is not None
        assert (found.status, found.wait_seconds, found.bridged_at) == ("abandoned", 42, None)


def test_wait_and_talk_seconds_are_recorded(db: Database, clock: FixedClock) -> None:
    agent = _agent(db, clock, "one")
    t = clock.now()
    with db.session() as s:
        entry = _in(s, "collections-en", _caller("CA1"), now=t)
        assert claim(s, entry.id, agent, now=t + timedelta(seconds=10))
        assert bridged(s, entry, now=t + timedelta(seconds=15))
        assert not left(s, entry, "caller", now=t + timedelta(seconds=16))
        assert ended(s, entry, now=t + timedelta(seconds=195))
        assert (entry.status, entry.wait_seconds, entry.talk_seconds) == ("done", 15, 180)
        assert entry.bridged_at == t + timedelta(seconds=15)


def test_a_caller_twilio_has_not_confirmed_in_the_queue_is_not_offered_yet(
    db: Database, clock: FixedClock
) -> None:
    with db.session() as s:
        entry = enqueue(s, "collections-en", _caller("CA1"), now=clock.now())
        assert next_waiting(s, ["collections-en"], ["en-US"]) is None
        set_queue_sid(s, entry, "QU" + "b" * 32)
        assert next_waiting(s, ["collections-en"], ["en-US"]) == entry
