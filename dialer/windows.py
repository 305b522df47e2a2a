"""How long a contact allowed now stays inside the calling window.

Used for an SMS's ``ValidityPeriod``: Twilio may hold a message in its queue (up to 10 hours by
default); with the validity set to the seconds left before the window closes in every zone of the
consumer, a message that could not go out in time expires at Twilio (error 30036) instead of
arriving at night (Reg F 1006.6(b)(1): electronic messages are judged when sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialer.policy import PolicyProfile
from dialer.timezones import instants_at_wall, resolve_zones, wall

# Twilio accepts ValidityPeriod from 1 to 36,000 seconds (10 hours).
MIN_VALIDITY = 1
MAX_VALIDITY = 36_000


def seconds_until_window_end(
    number: str, declared_timezone: str | None, now: datetime, profile: PolicyProfile
) -> int | None:
    """Whole seconds from ``now`` until the window ends (``profile.window_end``) in the first of
    the consumer's zones to reach it; None when a zone is unknown or ``now`` is outside the window
    somewhere (the policy would have denied the contact)."""
    zone_set = resolve_zones(number, declared_timezone)
    if zone_set.problem is not None or not zone_set.names:
        return None
    left: list[timedelta] = []
    for zone in zone_set.zones:
        local = wall(now, zone)
        end_local = datetime.combine(local.date(), profile.window_end)
        if not profile.window_start <= local.time() < profile.window_end:
            return None
        ends = instants_at_wall(zone, end_local)
        left.append(min(ends) - now)
    return max(0, int(min(left).total_seconds()))


def validity_period(
    number: str, declared_timezone: str | None, now: datetime, profile: PolicyProfile
) -> int | None:
    """The ``ValidityPeriod`` to send with an SMS, clamped to Twilio's range; None if unknown."""
    seconds = seconds_until_window_end(number, declared_timezone, now, profile)
    if seconds is None:
        return None
    return max(MIN_VALIDITY, min(MAX_VALIDITY, seconds))
