"""The cardholder's local date: one rule for every "today" the product reads.

A promise's date, whether it is due or broken, whether an account with a promise due today may be
reminded, and the dates the IVR offers are all read in the cardholder's calendar, never in UTC's:
at 20:30 in New York, UTC is already tomorrow. The zone is the account's declared one (the CSV's
``timezone``), else the first zone of the account's number (libphonenumber: a +1 212 number is
New York), else UTC. The contact policy's windows go further and bind *every* zone a number may be
in (:mod:`dialer.timezones`); a date needs one answer, and this is it.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from telephony.zones import is_known_zone, number_zones

UTC_ZONE = zoneinfo.ZoneInfo("UTC")

# The earliest calendar date anywhere on Earth at a given instant is the one at UTC-12.
_EARLIEST_OFFSET = timedelta(hours=12)


def cardholder_zone(declared: str | None, number: str | None) -> zoneinfo.ZoneInfo:
    """The zone a cardholder's dates are read in (see the module docstring)."""
    if declared and is_known_zone(declared):
        return zoneinfo.ZoneInfo(declared)
    if number:
        for name in number_zones(number):
            if is_known_zone(name):
                return zoneinfo.ZoneInfo(name)
    return UTC_ZONE


def cardholder_today(now: datetime, declared: str | None, number: str | None) -> date:
    """The cardholder's date at ``now`` (an aware instant)."""
    return now.astimezone(cardholder_zone(declared, number)).date()


def earliest_today(now: datetime) -> date:
    """The earliest date any cardholder can be living at ``now``: what a query over many
    accounts compares with when it cannot read each one's zone (a promise dated on or after it
    may still be due somewhere)."""
    return (now.astimezone(UTC_ZONE) - _EARLIEST_OFFSET).date()
