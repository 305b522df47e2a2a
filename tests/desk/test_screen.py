"""desk.screen: the live queue's order and the screen pop's IVR path and history."""

from __future__ import annotations

from datetime import timedelta

from desk.agents import move
from desk.screen import bridged_entry, live_queue, open_account
from store.db import Database
from store.models_desk import DeskAgent, QueueEntry
from store.models_ivr import IvrSession
from tests.desk.console.console_support import (
    AGENT,
    MONDAY,
    agent_row,
    bridge,
    console_settings,
    queue_caller,
    seed_desk,
)

CALL = "CA" + "1" * 32


def test_the_live_queue_lists_the_fraud_queue_first_whatever_the_arrival(db: Database) -> None:
    seed_desk(db, MONDAY)
    queue_caller(db, MONDAY)
    with db.session() as s:
        s.add(
            QueueEntry(
                queue="fraud",
                call_sid="CA" + "5" * 32,
                number="+12125550123",
                language="en-US",
                verified=True,
                reason="fraud",
                rank=0,
                status="waiting",
                enqueued_at=MONDAY + timedelta(seconds=5),
                wait_loops=0,
            )
        )
    with db.session(readonly=True) as s:
        rows = live_queue(
            s, now=MONDAY + timedelta(seconds=10), urgency=["fraud", "collections-en"]
        )
    assert [(w.queue, w.waiting_seconds) for w in rows] == [
        ("fraud", 5),
        ("collections-en", 10),
    ]


def test_the_screen_pop_carries_the_ivr_path_the_caller_took(db: Database) -> None:
    seed_desk(db, MONDAY)
    entry_id = queue_caller(db, MONDAY, call_sid=CALL)
    with db.session() as s:
        s.add(
            IvrSession(
                call_sid=CALL,
                direction="inbound",
                state="queued",
                step=7,
                language="en-US",
                account_id="70000001",
                verified=True,
                data={
                    "call_sid": CALL,
                    "direction": "inbound",
                    "state": "queued",
                    "step": 7,
                    "language": "en-US",
                    "verified": True,
                    "failures": 1,
                    "callback_reason": None,
                },
                last_twiml="<Response/>",
                last_request={},
                version=1,
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
        agent = s.query(DeskAgent).filter_by(name=AGENT).one()
        move(s, agent.id, "available", now=MONDAY)
    bridge(db, console_settings(), entry_id, AGENT, MONDAY)
    with db.session() as s:
        agent = s.get(DeskAgent, agent_row(db, AGENT).id)
        assert agent is not None
        entry = bridged_entry(s, agent)
        assert entry is not None and entry.id == entry_id
        pop = open_account(s, agent, entry, now=MONDAY, why="test")
        assert pop.account is not None and pop.account.account_id == "70000001"
        assert pop.ivr == {
            "direction": "inbound",
            "language": "en-US",
            "state": "queued",
            "step": 7,
            "verified": True,
            "failures": 1,
        }
