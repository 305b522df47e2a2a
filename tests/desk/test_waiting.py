"""When a caller who left the queue is called back: inside their calling window."""

from __future__ import annotations

from datetime import UTC, datetime

from desk.config import DeskSettings
from desk.escalation import Desk
from desk.queueing import Caller, enqueue
from desk.waiting import callback_time
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
