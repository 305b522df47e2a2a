"""The escalation to the desk's queue and a caller's wait, through signed requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from desk.agents import add_agent, move
from duecall.app import create_app
from duecall.settings import load_settings
from store.clock import FixedClock
from store.db import Database
from store.models import CallbackRequest
from store.models_desk import QueueEntry
from tests.webhooks.voice_support import EN_PHONE, ENV, PUBLIC, ZH_PHONE, Caller, seed, sign

# Monday 7 December 2026, 10:00 in New York: the collections queue is open.
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
QUEUE_SID = "QU" + "a" * 32


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


def _app(
    db: Database, clock: FixedClock, tmp_path: Path, *, roster: str = "[Ana]", hours: str = ""
) -> Flask:
    config = tmp_path / "config.yaml"
    config.write_text(
        "logging:\n  level: WARNING\n"
        f"desk:\n  callback_offer_every: 2\n  shifts:\n    always:\n      agents: {roster}\n"
        + hours,
        encoding="utf-8",
    )
    return create_app(load_settings(config, ENV), db=db, clock=clock)


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> Flask:
    seed(db, clock.now())
    with db.session() as s:
        agent = add_agent(
            s,
            name="Ana",
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        assert move(s, agent.id, "available", now=clock.now())
    return _app(db, clock, tmp_path)


def _verified(app: Flask, phone: str = EN_PHONE) -> Caller:
    caller = Caller(app.test_client(), from_=phone)
    caller.start()
    last4, born = ("7391", "19710326") if phone == EN_PHONE else ("6058", "19830819")
    caller.press(last4)
    caller.press(born)
    return caller


def _enqueue(caller: Caller) -> tuple[str, str]:
    """The caller's Enqueue: its wait and action URLs."""
    enqueue = caller.doc.find("Enqueue")
    assert enqueue is not None, caller.body
    return enqueue.get("waitUrl", ""), enqueue.get("action", "")


def _entry(db: Database, sid: str) -> QueueEntry:
    with db.session(readonly=True) as s:
        return s.scalars(select(QueueEntry).where(QueueEntry.call_sid == sid)).one()


def test_key_0_with_an_agent_on_shift_enqueues_the_verified_caller(
    app: Flask, db: Database
) -> None:
    caller = _verified(app)
    caller.press("0")
    assert caller.status == 200
    enqueue = caller.doc.find("Enqueue")
    assert enqueue is not None and enqueue.text == "collections-en"
    assert "connect you to an agent" in caller.spoken()
    entry = _entry(db, caller.call_sid)
    assert (entry.queue, entry.verified, entry.account_id, entry.status, entry.reason) == (
        "collections-en",
        True,
        "70000001",
        "waiting",
        "agent",
    )
    wait_url, action = _enqueue(caller)
    assert wait_url == f"{PUBLIC}/twilio/desk/wait?entry={entry.id}"
    assert action == f"{PUBLIC}/twilio/desk/dequeued?entry={entry.id}"
    # No callback is booked: the caller is talking to a person instead.
    with db.session(readonly=True) as s:
        assert s.scalars(select(CallbackRequest)).all() == []


def test_the_wait_says_position_and_wait_then_offers_a_callback(app: Flask, db: Database) -> None:
    first = _verified(app)
    first.press("0")
    second = _verified(app)
    second.press("0")
    wait_url, action = _enqueue(second)
    second.post(wait_url, {"QueueSid": QUEUE_SID, "QueuePosition": "2"})
    assert second.status == 200
    assert "number 2 in line" in second.spoken() and "about 8 minutes" in second.spoken()
    assert second.doc.find("Gather") is None  # not every time
    assert second.doc.find("Pause") is not None  # no hold audio configured: silence
    next_url = second.redirect()
    assert next_url.endswith("&loop=1")
    second.post(next_url, {"QueueSid": QUEUE_SID})
    gather = second.doc.find("Gather")
    assert gather is not None and "press 1" in second.spoken()
    assert _entry(db, second.call_sid).queue_sid == QUEUE_SID
    # 1: out of the queue; the Enqueue action books the callback.
    second.press("1")
    assert second.doc.find("Leave") is not None
    assert _entry(db, second.call_sid).status == "left"
    heard = second.post(action, {"QueueResult": "leave", "QueueTime": "40"})
    assert "call you back as soon as possible" in second.spoken()
    again = second.post(action, {"QueueResult": "leave", "QueueTime": "40"})
    assert again == heard  # a replayed action: the same answer, one callback
    with db.session(readonly=True) as s:
        (callback,) = s.scalars(select(CallbackRequest)).all()
        assert (callback.reason, callback.verified, callback.account_id) == (
            "agent",
            True,
            "70000001",
        )
        assert callback.dedupe_key == f"desk-callback:{second.call_sid}"
    entry = _entry(db, second.call_sid)
    assert (entry.status, entry.left_reason) == ("left", "caller")


def test_forged_wait_and_action_requests_get_403_and_change_nothing(
    app: Flask, db: Database
) -> None:
    caller = _verified(app)
    caller.press("0")
    wait_url, action = _enqueue(caller)
    client = app.test_client()
    params = {**caller.params(), "QueueResult": "hangup"}
    for url in (wait_url, action):
        response = client.post(
            url.removeprefix(PUBLIC),
            data=params,
            headers={"X-Twilio-Signature": sign(url, {**params, "QueueResult": "leave"})},
        )
        assert response.status_code == 403
    assert _entry(db, caller.call_sid).status == "waiting"


def test_a_caller_who_hangs_up_while_queued_is_abandoned(app: Flask, db: Database) -> None:
    caller = _verified(app)
    caller.press("0")
    _, action = _enqueue(caller)
    caller.post(action, {"QueueResult": "hangup", "QueueTime": "12"})
    assert caller.status == 200 and caller.doc.find("Hangup") is not None
    entry = _entry(db, caller.call_sid)
    assert entry.status == "abandoned" and entry.abandoned_at is not None
    with db.session(readonly=True) as s:
        assert s.scalars(select(CallbackRequest)).all() == []
    # Later wait requests take it out of the queue, never empty TwiML.
    caller.post(f"{PUBLIC}/twilio/desk/wait?entry={entry.id}&loop=3")
    assert caller.doc.find("Leave") is not None


def test_the_maximum_wait_leaves_to_the_callback_offer(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    caller = _verified(app)
    caller.press("0")
    wait_url, action = _enqueue(caller)
    clock.advance(timedelta(seconds=600))
    caller.post(wait_url, {"QueueSid": QUEUE_SID})
    assert caller.doc.find("Leave") is not None
    caller.post(action, {"QueueResult": "leave"})
    assert "still busy" in caller.spoken() and "call you back" in caller.spoken()
    assert (_entry(db, caller.call_sid).left_reason) == "max_wait"


def test_a_fraud_report_goes_to_the_fraud_queue(app: Flask, db: Database) -> None:
    caller = _verified(app)
    caller.press("5")
    enqueue = caller.doc.find("Enqueue")
    assert enqueue is not None and enqueue.text == "fraud"
    with db.session(readonly=True) as s:
        assert s.scalars(select(CallbackRequest)).all() == []  # a person now, not a callback


def test_nobody_is_enqueued_without_an_agent_on_shift_who_speaks_their_language(
    app: Flask, db: Database
) -> None:
    caller = _verified(app, ZH_PHONE)  # Ana speaks English only
    caller.press("0")
    assert caller.doc.find("Enqueue") is None
    assert caller.doc.find("Gather") is not None  # the callback time, as before the desk
    with db.session(readonly=True) as s:
        assert s.scalars(select(QueueEntry)).all() == []


def test_nobody_is_enqueued_outside_every_shift(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    seed(db, clock.now())
    app = _app(db, clock, tmp_path, roster="[]")
    caller = _verified(app)
    caller.press("5")
    assert caller.doc.find("Enqueue") is None and "fraud team will call you back" in (
        caller.spoken()
    )
    with db.session(readonly=True) as s:
        assert s.scalars(select(QueueEntry)).all() == []
        (callback,) = s.scalars(select(CallbackRequest)).all()
        assert callback.reason == "fraud"


def test_the_end_of_the_last_shift_leaves_to_the_callback_offer(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    seed(db, clock.now())
    with db.session() as s:
        agent = add_agent(
            s,
            name="Ana",
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=clock.now(),
            actor="t",
        )
        assert move(s, agent.id, "available", now=clock.now())
    # Ana's shift ends at 10:05 in New York, five minutes after the caller presses 0.
    app = _app(
        db,
        clock,
        tmp_path,
        hours="      start: '08:00'\n      end: '10:05'\n      timezone: America/New_York\n",
    )
    caller = _verified(app)
    caller.press("0")
    wait_url, action = _enqueue(caller)
    caller.post(wait_url, {"QueueSid": QUEUE_SID})
    assert caller.doc.find("Leave") is None
    clock.advance(timedelta(minutes=5))
    caller.post(wait_url, {"QueueSid": QUEUE_SID})
    assert caller.doc.find("Leave") is not None
    caller.post(action, {"QueueResult": "leave"})
    assert "still busy" in caller.spoken()
    assert _entry(db, caller.call_sid).left_reason == "closed"
    with db.session(readonly=True) as s:
        (callback,) = s.scalars(select(CallbackRequest)).all()
        assert callback.reason == "agent"


def test_a_replayed_key_0_gets_the_same_enqueue_and_one_record(app: Flask, db: Database) -> None:
    caller = _verified(app)
    action = caller.action()
    first = caller.press("0")
    again = caller.post(action, {"Digits": "0", "FinishedOnKey": ""})
    assert again == first and caller.doc.find("Enqueue") is not None
    with db.session(readonly=True) as s:
        assert len(s.scalars(select(QueueEntry)).all()) == 1
    # The IVR is done with the call: a later IVR request gets a hangup.
    caller.post(f"{PUBLIC}/twilio/voice")
    assert caller.doc.find("Enqueue") is None
