"""The ValidityPeriod of an SMS ends when the calling window ends, in every zone of the consumer."""

from __future__ import annotations

from datetime import UTC, datetime

from dialer.policy import PolicyProfile
from dialer.windows import seconds_until_window_end, validity_period

US = PolicyProfile.us_reg_f()


def test_validity_runs_to_nine_pm_local_new_york() -> None:
    # 2026-12-01 20:30 EST = 2026-12-02 01:30 UTC: 30 minutes left.
    now = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    assert seconds_until_window_end("+12125550123", None, now, US) == 1800
    assert validity_period("+12125550123", None, now, US) == 1800


def test_the_zone_that_closes_first_sets_the_validity() -> None:
    # A +1 208 number is Boise (Mountain) and Los Angeles (Pacific): Boise closes an hour earlier.
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 20:00 MST, 19:00 PST
    assert seconds_until_window_end("+12085550123", None, now, US) == 3600
    # A declared Pacific zone does not widen it.
    assert seconds_until_window_end("+12085550123", "America/Los_Angeles", now, US) == 3600


def test_validity_is_clamped_to_twilios_ten_hours() -> None:
    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 08:00 in New York: 13 hours left
    assert seconds_until_window_end("+12125550123", None, now, US) == 13 * 3600
    assert validity_period("+12125550123", None, now, US) == 36_000


def test_outside_the_window_or_unknown_zone_has_no_validity() -> None:
    night = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 22:00 in New York
    assert validity_period("+12125550123", None, night, US) is None
    assert validity_period("+999", None, night, US) is None


def test_a_dst_day_counts_real_seconds_not_wall_clock_hours() -> None:
    # 2026-03-08 in New York: clocks jump 02:00 -> 03:00. From 08:00 EDT (12:00 UTC) to 21:00 EDT
    # is 13 real hours; the day itself has 23, which wall-clock arithmetic would get wrong.
    now = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert seconds_until_window_end("+12125550123", None, now, US) == 13 * 3600
