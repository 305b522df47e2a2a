"""Where a phone number may be: the time zones libphonenumber maps it to.

One lookup for the whole product: the contact policy's calling windows (every zone of the number
binds) and the cardholder's local date (:mod:`campaigns.localtime`) both start here.
"""

from __future__ import annotations

import functools
import zoneinfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

#: What libphonenumber returns for a number it cannot place (an invalid number, for one).
UNKNOWN_ZONE = "Etc/Unknown"

# Keys ``zoneinfo.available_timezones()`` lists that do not name a place.
_NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory", UNKNOWN_ZONE})


@functools.cache
def _known_zone_names() -> frozenset[str]:
    # Read lazily and once: the list comes from the tz database on disk.
    return frozenset(zoneinfo.available_timezones()) - _NOT_A_PLACE


def is_known_zone(name: str) -> bool:
    """True when ``name`` is an IANA zone of the installed tz database (not ``Etc/Unknown``)."""
    return name in _known_zone_names()


def number_zones(number: str) -> tuple[str, ...]:
    """Every zone libphonenumber maps an E.164 number to; ``("Etc/Unknown",)`` if unparseable."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return (UNKNOWN_ZONE,)
    return tuple(str(name) for name in phone_timezone.time_zones_for_number(parsed))
