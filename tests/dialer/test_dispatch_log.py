"""The dispatch tick's log line: why contacts were deferred, and no repeat every second."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from dialer.dispatch import TickReport
from store.clock import FixedClock
from store.db import Database
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for, voice_campaign

#: Mobile numbers in Shanghai: 23:00 there at the test clock's 15:00 UTC, outside the window.
SHANGHAI = [f"+86138001380{n:02d}" for n in range(17)]


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    for i, number in enumerate(SHANGHAI):
        add_account(db, clock, f"S{i}", number, language="zh-CN", timezone="Asia/Shanghai")
    yield from build_rig(db, clock, settings_for([voice_campaign()]))


def _tick_lines(rig: Rig, caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    caplog.clear()
    rig.worker.dispatcher.tick()
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "dialer.dispatch" and r.getMessage().startswith("dispatch:")
    ]


def test_the_line_names_the_rule_and_an_unchanged_tick_is_logged_at_debug(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.worker.launch_scheduled("voice-mid")
    caplog.set_level(logging.DEBUG, logger="dialer.dispatch")
    # Five calls per second and one-second ticks: five contacts claimed, and deferred, a tick.
    line = (
        "dispatch: claimed 5 placed 0 deferred 5 (window 5) closed 0 released 0 unknown 0 failed 0"
    )
    assert _tick_lines(rig, caplog) == [("INFO", line)]
    assert _tick_lines(rig, caplog) == [("DEBUG", f"{line} (unchanged)")]
    rig.clock.advance(timedelta(minutes=1))
    assert _tick_lines(rig, caplog) == [("INFO", line)]
    assert _tick_lines(rig, caplog) == [
        (
            "INFO",
            "dispatch: claimed 2 placed 0 deferred 2 (window 2) closed 0 released 0 unknown 0 "
            "failed 0",
        )
    ]
    # Nothing left to claim: an idle tick says nothing.
    assert _tick_lines(rig, caplog) == []
    assert rig.attempts() == []
    assert {c.next_attempt_at for c in rig.contacts().values()} != {None}


def test_deferrals_are_listed_by_rule_most_frequent_first() -> None:
    report = TickReport(
        claimed=14, placed=2, deferred=12, deferred_by_rule={"cap_7_in_7": 2, "window": 10}
    )
    assert report.summary() == (
        "claimed 14 placed 2 deferred 12 (window 10, cap_7_in_7 2) closed 0 released 0 "
        "unknown 0 failed 0"
    )
    assert "(" not in TickReport(claimed=1, placed=1).summary()
