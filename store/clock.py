"""Time as a dependency.

Policy, dispatch and lifecycle code receive a :class:`Clock` instead of calling ``datetime.now()``,
so the tests and the demo can drive time (a DST change, a calling window closing) deterministically.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told; thread-safe so a test can advance it under a worker."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = _aware(when)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class OffsetClock:
    """Real time shifted by a fixed offset and optionally sped up (the demo's accelerated day)."""

    def __init__(self, start: datetime, speed: float = 1.0, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._origin = self._base.now()
        self._start = _aware(start)
        self._speed = speed

    def now(self) -> datetime:
        elapsed = self._base.now() - self._origin
        return self._start + elapsed * self._speed


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return when.astimezone(UTC)
