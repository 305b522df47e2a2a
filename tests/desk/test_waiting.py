"""When a caller who left the queue is called back: inside their calling window."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from desk.agents import add_agent, move
from desk.config import DeskSettings, Shift
from desk.escalation import Desk
from desk.queueing import Caller, enqueue
from desk.waiting import callback_time, wait
from desk.words import Words
from ivr.catalogue import load_catalogues
from ivr.config import IvrSettings
from ivr.session import DEFAULT_LEGAL
from store.db import Database

DESK = Desk(
    settings=DeskSettings(),
    words=Words(load_catalogues(("en-US",)), IvrSettings().voices),
    public_url="https://duecall.test",
    legal=DEFAULT_LEGAL,
)


def test_inside_the_window_the_callback_is_as_soon_as_possible(db: Database) -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York
    with db.session() as s:
        entry = enqueue(
            s, "collections-en", Caller("CA1", "+12125550123", "en-US", "agent", True), now=now
        )
        assert callback_time(s, DESK, entry, now) is None


def test_after_the_window_closes_the_callback_is_the_next_morning_in_every_zone(
    db: Database,
) -> None:
    # 20:55 in New York: past the window's close (20:50 with the margin).
    now = datetime(2026, 12, 8, 1, 55, tzinfo=UTC)
    with db.session() as s:
        ny = enqueue(
            s, "collections-en", Caller("CA1", "+12125550123", "en-US", "agent", True), now=now
        )
        assert callback_time(s, DESK, ny, now) == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
        # A +1 208 number is Boise and Los Angeles; at 21:00 in Boise (20:00 in Los Angeles)
        # the window is closed there, and 08:00 in Los Angeles is the first time inside it in
        # both.
        now = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
        idaho = enqueue(
            s, "collections-en", Caller("CA2", "+12085550123", "en-US", "agent", False), now=now
        )
        assert callback_time(s, DESK, idaho, now) == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)


def test_the_wait_plays_the_hold_audio_and_speaks_the_callers_language(
    db: Database,
) -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    desk = Desk(
        settings=DeskSettings(
            hold_audio_url="https://cdn.example.com/hold.mp3",
            shifts={"always": Shift(agents=("Wei",))},
        ),
        words=Words(load_catalogues(("en-US", "zh-CN")), IvrSettings().voices),
        public_url="https://duecall.test",
        legal=DEFAULT_LEGAL,
    )
    with db.session() as s:
        agent = add_agent(
            s,
            name="Wei",
            role="agent",
            phone="+14155550142",
            languages=("zh-CN",),
            password="password1",
            now=now,
            actor="t",
        )
        assert move(s, agent.id, "available", now=now)
        entry = enqueue(
            s,
            "collections-zh",
            Caller("CA" + "1" * 32, "+8613800138000", "zh-CN", "agent", True),
            now=now,
        )
        twiml = wait(
            s,
            desk,
            entry_id=entry.id,
            call_sid="CA" + "1" * 32,
            loop=0,
            queue_sid="QU" + "a" * 32,
            now=now,
        )
    doc = ET.fromstring(twiml)
    assert [child.tag for child in doc] == ["Say", "Play", "Redirect"]
    assert doc.find("Play").text == "https://cdn.example.com/hold.mp3"  # type: ignore[union-attr]
    say = doc.find("Say")
    assert say is not None and "您排在第1位" in (say.text or "")
    assert say.get("voice") == IvrSettings().voices["zh-CN"].voice
