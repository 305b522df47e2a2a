"""The supervisor's numbers come from the queue records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns import callbacks
from campaigns.callbacks import CallbackWanted, request_callback
from desk.agents import add_agent, move
from desk.config import DeskSettings
from desk.figures import (
    CallbackFigures,
    desk_figures,
    expected_wait_seconds,
    service_level_by_hour,
)
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


def test_a_window_with_an_end_and_the_service_level_hour_by_hour(
    db: Database, clock: FixedClock
) -> None:
    """Callers of one local day (Shanghai, UTC+8) by the hour they were enqueued in, against
    each queue's target (collections-zh: 30 s); the callers of the next day count in neither."""
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 11, 29, tzinfo=zone).astimezone(UTC)
    end = datetime(2026, 11, 30, tzinfo=zone).astimezone(UTC)
    with db.session() as s:
        agent = add_agent(
            s,
            name="li",
            role="agent",
            phone="+14155550143",
            languages=("zh-CN", "en-US"),
            password="password1",
            now=start,
            actor="t",
        )
        calls = [
            ("collections-zh", start + timedelta(hours=9), 25, "bridged"),  # 09 local, within 30 s
            ("collections-zh", start + timedelta(hours=9, minutes=5), 40, "bridged"),  # after
            ("collections-zh", start + timedelta(hours=15), 10, "abandoned"),
            ("fraud", start + timedelta(hours=15, minutes=1), 3, "bridged"),
            ("collections-zh", end + timedelta(minutes=1), 1, "bridged"),  # the next day
        ]
        for n, (queue, at, wait, outcome) in enumerate(calls):
            entry = enqueue(
                s, queue, Caller(f"CB{n}", "+8613812345678", "zh-CN", "agent", True), now=at
            )
            if outcome == "bridged":
                assert claim(s, entry.id, agent.id, now=at)
                assert bridged(s, entry, now=at + timedelta(seconds=wait))
            else:
                assert abandoned(s, entry, now=at + timedelta(seconds=wait))
        settings = DeskSettings()
        figures = desk_figures(s, settings, now=end + timedelta(hours=1), since=start, until=end)
        hourly = service_level_by_hour(s, settings, start=start, end=end, zone=zone)
    (zh,) = [f for f in figures.queues if f.queue == "collections-zh"]
    assert (zh.answered, zh.abandoned, zh.average_answer_seconds) == (2, 1, 32)
    assert zh.service_level_percent == Decimal("33.3")
    assert list(hourly) == ["fraud", "collections-zh"]  # in the configured order
    assert hourly["collections-zh"][9] == Decimal("50.0")
    assert hourly["collections-zh"][15] == Decimal("0.0")
    assert hourly["fraud"][15] == Decimal("100.0")
    assert [h for h in range(24) if hourly["collections-zh"][h] is not None] == [9, 15]
    with db.session(readonly=True) as s:
        assert service_level_by_hour(s, settings, start=end, end=end, zone=zone) == {}
