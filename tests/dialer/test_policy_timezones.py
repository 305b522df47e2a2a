"""Local-time arithmetic under the contact policy: wall clocks that skip or repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dialer.policy import ContactFacts, ContactHistory, PolicyProfile, Rule, decide
from dialer.timezones import (
    earliest_open,
    first_instant_of_day,
    instants_at_wall,
    resolve_zones,
    transitions,
)

NY = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")


def test_a_skipped_wall_time_is_first_passed_at_the_transition() -> None:
    # 2026-03-08 02:30 does not exist in New York: 02:00 EST is followed by 03:00 EDT (07:00 UTC).
    assert instants_at_wall(NY, datetime(2026, 3, 8, 2, 30)) == [
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    ]
    # 08:00 that day exists once, in EDT.
    assert instants_at_wall(NY, datetime(2026, 3, 8, 8, 0)) == [
        datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    ]


def test_a_repeated_wall_time_has_two_instants() -> None:
    # 2026-11-01 01:30 happens in EDT (05:30 UTC) and again in EST (06:30 UTC).
    assert instants_at_wall(NY, datetime(2026, 11, 1, 1, 30)) == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    ]


def test_a_day_whose_midnight_is_skipped_starts_at_one() -> None:
    # Chile moves 00:00 -> 01:00 on 2026-09-06; the day begins at 01:00 -03 = 04:00 UTC.
    assert first_instant_of_day(SANTIAGO, date(2026, 9, 6)) == datetime(2026, 9, 6, 4, tzinfo=UTC)
    assert transitions(
        SANTIAGO, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 10, tzinfo=UTC)
    ) == [datetime(2026, 9, 6, 4, tzinfo=UTC)]


def test_a_window_starting_in_the_gap_opens_at_the_transition() -> None:
    profile = PolicyProfile.us_reg_f(window_start=time(2, 30))
    contact = ContactFacts(
        channel="voice",
        account_id="A1",
        customer_id="C1",
        number="+12125550100",
        declared_timezone=None,
        account_status="open",
        consent=True,
    )
    one_am = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    decision = decide(contact, ContactHistory(), one_am, profile)
    assert decision.rule is Rule.WINDOW
    assert decision.next_allowed_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert decide(contact, ContactHistory(), decision.next_allowed_at, profile).allowed


def test_earliest_open_is_exact_to_the_second() -> None:
    opens = earliest_open(
        datetime(2026, 6, 15, 11, 59, 59, 500000, tzinfo=UTC), [NY], time(8), time(20, 50)
    )
    assert opens == datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    inside = datetime(2026, 6, 15, 12, 0, 0, 1, tzinfo=UTC)
    assert earliest_open(inside, [NY], time(8), time(20, 50)) == inside


def test_zone_sets_keep_the_declared_zone_first_without_duplicates() -> None:
    zones = resolve_zones("+12085550123", "America/Los_Angeles")
    assert zones.names == ("America/Los_Angeles", "America/Boise")
    assert zones.problem is None
    assert resolve_zones("+12125550100", "localtime").problem is not None
    assert resolve_zones("+12125550100", "Etc/Unknown").problem is not None


def test_falling_back_can_reopen_a_window_at_the_transition() -> None:
    # A window 00:00-01:30 in New York on 2026-11-01: 01:45 EDT is past it, but at 06:00 UTC the
    # clock falls back to 01:00 EST and the window is open again until 01:30 EST.
    assert earliest_open(
        datetime(2026, 11, 1, 5, 45, tzinfo=UTC), [NY], time(0), time(1, 30)
    ) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
