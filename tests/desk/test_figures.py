"""The supervisor's numbers come from the queue records."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from campaigns import callbacks
from campaigns.callbacks import CallbackWanted, request_callback
from desk.agents import add_agent, move
from desk.config import DeskSettings
from desk.figures import CallbackFigures, desk_figures, expected_wait_seconds
from desk.queueing import Caller, abandoned, bridged, claim, ended, enqueue, left
from store.clock import FixedClock
from store.db import Database


def test_waiting_speed_of_answer_abandonment_and_service_level(
    db: Database, clock: FixedClock
) -> None:
    t = clock.now()
    with db.session() as s:
        agent = add_agent(
            s,
            name="ana",
            role="agent",
            phone="+14155550142",
            languages=("en-US",),
            password="password1",
            now=t,
            actor="t",
        )
        assert move(s, agent.id, "available", now=t)
        for n, (wait, outcome) in enumerate(
            [(10, "bridged"), (30, "bridged"), (50, "abandoned"), (5, "left"), (None, "waiting")]
        ):
            entry = enqueue(
                s,
                "collections-en",
                Caller(f"CA{n}", "+14155550123", "en-US", "agent", True),
                now=t - timedelta(seconds=100 - n),
            )
            if outcome == "bridged":
                assert claim(s, entry.id, agent.id, now=entry.enqueued_at)
                assert bridged(s, entry, now=entry.enqueued_at + timedelta(seconds=wait or 0))
                assert ended(s, entry, now=entry.enqueued_at + timedelta(seconds=200))
            elif outcome == "abandoned":
                assert abandoned(s, entry, now=entry.enqueued_at + timedelta(seconds=wait or 0))
            elif outcome == "left":
                assert left(s, entry, "caller", now=entry.enqueued_at + timedelta(seconds=5))
        figures = desk_figures(s, DeskSettings(), now=t, since=t - timedelta(hours=1))
    (q,) = [f for f in figures.queues if f.queue == "collections-en"]
    assert (q.waiting, q.longest_wait_seconds, q.answered, q.abandoned, q.left) == (1, 96, 2, 1, 1)
    assert q.average_answer_seconds == 20
    assert q.abandonment_percent == Decimal("33.3")
    assert q.service_level_percent == Decimal("33.3")  # 1 of 3 answered within 20 s
    assert q.meets_target is False
    assert figures.agents_by_state["available"] == 1
    (fraud,) = [f for f in figures.queues if f.queue == "fraud"]
    assert (fraud.waiting, fraud.service_level_percent) == (0, None)


def test_the_expected_wait_grows_with_the_position(db: Database, clock: FixedClock) -> None:
    with db.session() as s:
        since = clock.now() - timedelta(hours=1)
        settings = DeskSettings(default_handle_seconds=120)
        assert expected_wait_seconds(s, settings, "fraud", 1, since=since) == 120
        assert expected_wait_seconds(s, settings, "fraud", 3, since=since) == 360


def test_missed_callbacks_are_counted(db: Database, clock: FixedClock) -> None:
    t = clock.now()
    with db.session() as s:
        for key, at in (("a", None), ("b", t + timedelta(hours=1))):
            request_callback(
                s,
                CallbackWanted(
                    number="+14155550123",
                    reason="agent",
                    language="en-US",
                    priority=3,
                    dedupe_key=key,
                    preferred_at=at,
                ),
                now=t,
            )
        (first,) = [r for r in callbacks.due(s, now=t)]
        assert callbacks.take(s, first.id)
        assert callbacks.retry(s, first.id, at=t + timedelta(minutes=15), note="no-answer")
        figures = desk_figures(s, DeskSettings(), now=t, since=t - timedelta(hours=1))
    assert figures.callbacks == CallbackFigures(open=2, due=0, missed=1, done=0)
