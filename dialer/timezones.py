"""Consumer-local time for the contact policy.

Two questions, answered without a clock of their own:

* **Which zones can the consumer be in?** The declared zone (CSV ``timezone``) together with every
  zone libphonenumber maps the number to. A number can map to several (a +1 208 number: Boise
  and Los Angeles; a toll-free number: 42 zones), and a declared address can disagree with the
  area code.
  Courts have read "the consumer's location" conservatively when a collector could not know which
  zone applied, so the policy treats every candidate zone as binding (when the address and the
  area code disagree, only the overlap of their windows is safe).
* **When is a set of zones all inside a wall-clock window?** Answered on UTC instants only: each
  instant is converted to every zone's wall clock, so DST gaps and repeated hours are handled by
  ``zoneinfo`` instead of by adding hours to wall-clock times (which breaks on DST days).

Everything here is pure and deterministic.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from telephony.zones import is_known_zone, number_zones

# Offsets are sampled this often to find DST transitions; real zones never change offset twice
# within it.
_TRANSITION_STEP = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class ZoneSet:
    """The zones a contact may be in, and why the set is unusable when it is.

    ``names`` is the declared zone (when valid) followed by the number's zones, without
    duplicates. ``problem`` is ``None`` when every zone is known, else a sentence saying what is
    wrong (an invalid declared name, a number libphonenumber cannot place, an empty set); a
    ZoneSet with a problem must not be used to allow a contact.
    """

    names: tuple[str, ...]
    declared: str | None
    number_zones: tuple[str, ...]
    problem: str | None

    @property
    def zones(self) -> tuple[zoneinfo.ZoneInfo, ...]:
        """The ``ZoneInfo`` objects for ``names`` (only meaningful when ``problem`` is None)."""
        return tuple(zoneinfo.ZoneInfo(name) for name in self.names)


def resolve_zones(number: str, declared: str | None) -> ZoneSet:
    """The zone set for a contact: the declared zone plus every zone of the number.

    Never raises: an unusable input is reported in ``ZoneSet.problem``.
    """
    from_number = number_zones(number)
    names: list[str] = []
    problems: list[str] = []
    if declared is not None:
        if is_known_zone(declared):
            names.append(declared)
        else:
            problems.append(f"declared time zone {declared!r} is not an IANA zone")
    unknown = [name for name in from_number if not is_known_zone(name)]
    if unknown:
        problems.append(f"number {number} maps to unknown zone(s) {', '.join(unknown)}")
    elif not from_number:
        problems.append(f"number {number} maps to no time zone")
    for name in from_number:
        if name not in names and is_known_zone(name):
            names.append(name)
    return ZoneSet(
        names=tuple(names),
        declared=declared,
        number_zones=from_number,
        problem="; ".join(problems) or None,
    )


def wall(instant: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The naive wall-clock reading of ``instant`` in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def local_date(instant: datetime, zone: zoneinfo.ZoneInfo) -> date:
    """The calendar date in ``zone`` at ``instant``."""
    return instant.astimezone(zone).date()


def instants_at_wall(zone: zoneinfo.ZoneInfo, local: datetime) -> list[datetime]:
    """The UTC instants whose wall clock in ``zone`` reads ``local`` (naive).

    Usually one; two when the reading repeats (the hour after a fall-back transition). When the
    reading does not exist (a spring-forward gap: 02:30 on 2026-03-08 in New York), the one
    instant returned is the first whose reading is *later* than ``local`` -- the transition itself
    (07:00 UTC, 03:00 EDT) -- because that is when the wall clock first passes ``local``.
    """
    candidates = [local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    exact = sorted({u for u in candidates if wall(u, zone) == local})
    if exact:
        return exact
    # In a gap zoneinfo maps fold=1 before the transition and fold=0 after it; bisect between.
    lo, hi = min(candidates), max(candidates)
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=1) // 2)
        if wall(mid, zone) >= local:
            hi = mid
        else:
            lo = mid
    return [hi]


def first_instant_of_day(zone: zoneinfo.ZoneInfo, day: date) -> datetime:
    """The first UTC instant whose local date in ``zone`` is ``day`` (midnight may not exist)."""
    return instants_at_wall(zone, datetime.combine(day, time(0)))[0]


def transitions(zone: zoneinfo.ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """The instants in ``[lo, hi)`` at which ``zone`` changes its UTC offset."""
    found: list[datetime] = []
    before = lo
    offset = lo.astimezone(zone).utcoffset()
    while before < hi:
        after = min(before + _TRANSITION_STEP, hi)
        next_offset = after.astimezone(zone).utcoffset()
        if next_offset != offset:
            # Offsets change on whole seconds: bisect over whole seconds for the first instant
            # with the new offset.
            a = before.replace(microsecond=0)
            b = after.replace(microsecond=0) + timedelta(seconds=1 if after.microsecond else 0)
            while b - a > timedelta(seconds=1):
                mid = a + timedelta(seconds=(b - a) // timedelta(seconds=1) // 2)
                if mid.astimezone(zone).utcoffset() == offset:
                    a = mid
                else:
                    b = mid
            if lo <= b < hi:
                found.append(b)
        before, offset = after, next_offset
    return found


def in_window(instant: datetime, zone: zoneinfo.ZoneInfo, start: time, close: time) -> bool:
    """True when ``zone``'s wall clock at ``instant`` is in ``[start, close)``."""
    return start <= wall(instant, zone).time() < close


def earliest_open(
    not_before: datetime,
    zones: Sequence[zoneinfo.ZoneInfo],
    start: time,
    close: time,
    *,
    day_excluded: Callable[[date], bool] | None = None,
    horizon: timedelta = timedelta(days=400),
) -> datetime | None:
    """The earliest UTC instant ``>= not_before`` at which every zone's wall clock is in
    ``[start, close)`` and no zone's local date is excluded (a holiday); ``None`` if there is
    none within ``horizon`` (zones whose windows never overlap).

    Exact to the second, without stepping through wall-clock minutes: the allowed set is a union
    of half-open intervals, so its earliest point is ``not_before`` itself or an instant at which
    some zone *enters* its window -- its wall clock reaches ``start`` (both readings of a repeated
    hour; the transition when ``start`` falls in a gap) or jumps at a DST transition. Only those
    candidates are tested, in order.
    """
    if not zones:
        return None
    chunk = timedelta(days=4)
    lo = not_before.astimezone(UTC)
    end = lo + horizon
    while lo < end:
        hi = lo + chunk
        candidates: set[datetime] = {lo}
        for zone in zones:
            first_day = local_date(lo, zone) - timedelta(days=1)
            last_day = local_date(hi, zone) + timedelta(days=1)
            for offset in range((last_day - first_day).days + 1):
                day = first_day + timedelta(days=offset)
                candidates.update(instants_at_wall(zone, datetime.combine(day, start)))
            candidates.update(transitions(zone, lo, hi))
        for candidate in sorted(c for c in candidates if lo <= c < hi):
            if _open_at(candidate, zones, start, close, day_excluded):
                return candidate
        lo = hi
    return None


def _open_at(
    instant: datetime,
    zones: Iterable[zoneinfo.ZoneInfo],
    start: time,
    close: time,
    day_excluded: Callable[[date], bool] | None,
) -> bool:
    for zone in zones:
        if not in_window(instant, zone, start, close):
            return False
        if day_excluded is not None and day_excluded(local_date(instant, zone)):
            return False
    return True
