"""The desk's configuration section (``desk:`` in config.yaml): the roster and the queues.

A shift is days and hours in a named zone with the agents who work it; a queue takes the callers
escalated for some reasons in some languages, in its opening hours, up to a maximum wait, and is
measured against a service-level target. The fraud queue always comes first: a caller reporting
fraud is served before anyone else (the check below refuses another order).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Why a caller wants a person: a fraud report, the agent key (0), failed verification, a
#: repayment plan, a booked callback placed agent-first.
Reason = Literal["fraud", "agent", "verification", "repayment_plan", "no_input", "callback"]
LANGUAGES = ("en-US", "zh-CN")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hours(_Section):
    """Days and hours in a named zone. ``end`` at or before ``start`` runs past midnight into
    the next day (a late shift 16:00-01:00 belongs to the day it starts)."""

    days: tuple[Day, ...] = DAYS
    start: time = time(0, 0)
    end: time = time(0, 0)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. America/New_York)"
            ) from None
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[Day, ...]) -> tuple[Day, ...]:
        if not value:
            raise ValueError("at least one day is required")
        return value

    def period_end(self, instant: datetime) -> datetime | None:
        """When the period that covers ``instant`` ends (UTC), or None when it is closed."""
        zone = zoneinfo.ZoneInfo(self.timezone)
        local = instant.astimezone(zone)
        for back in (0, 1):  # today's period, or yesterday's that runs past midnight
            day = local.date() - timedelta(days=back)
            if DAYS[day.weekday()] not in self.days:
                continue
            start = datetime.combine(day, self.start, tzinfo=zone)
            end_day = day if self.end > self.start else day + timedelta(days=1)
            end = datetime.combine(end_day, self.end, tzinfo=zone)
            if start <= local < end:
                return end.astimezone(instant.tzinfo)
        return None

    def is_open(self, instant: datetime) -> bool:
        return self.period_end(instant) is not None


class Shift(Hours):
    """One shift of the roster: its hours and the agents (by name) who work it."""

    agents: tuple[str, ...] = ()


class ServiceLevel(_Section):
    """``percent`` of the callers answered within ``seconds`` (80 % in 20 s)."""

    percent: int = Field(default=80, ge=1, le=100)
    seconds: int = Field(default=20, ge=1, le=3600)


class QueueSettings(_Section):
    """One queue. ``hours`` None: open whenever an agent serving it is on shift."""

    name: str = Field(min_length=1, max_length=64)
    reasons: tuple[Reason, ...]
    languages: tuple[str, ...] = LANGUAGES
    hours: Hours | None = None
    max_wait_seconds: int = Field(default=600, ge=30, le=3600)
    service_level: ServiceLevel = ServiceLevel()

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [lang for lang in value if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; known: {list(LANGUAGES)}")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # Twilio's queue FriendlyName: at most 64 characters; kept to URL-safe words here.
        if not all(c.isalnum() or c in "-_" for c in value):
            raise ValueError("letters, digits, - and _ only")
        return value


_WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
_COLLECTIONS: tuple[Reason, ...] = ("agent", "verification", "repayment_plan", "no_input")


def _default_queues() -> tuple[QueueSettings, ...]:
    return (
        QueueSettings(name="fraud", reasons=("fraud",), max_wait_seconds=300),
        QueueSettings(
            name="collections-en",
            reasons=_COLLECTIONS,
            languages=("en-US",),
            hours=Hours(
                days=(*_WEEKDAYS, "sat"),
                start=time(8),
                end=time(21),
                timezone="America/New_York",
            ),
        ),
        QueueSettings(
            name="collections-zh",
            reasons=_COLLECTIONS,
            languages=("zh-CN",),
            service_level=ServiceLevel(seconds=30),
        ),
        QueueSettings(name="callbacks", reasons=("callback",)),
    )


def _default_shifts() -> dict[str, Shift]:
    """The shipped roster's shifts, with nobody on them until agents are named."""
    zone = "America/New_York"
    return {
        "early": Shift(days=_WEEKDAYS, start=time(8), end=time(16), timezone=zone),
        "late": Shift(days=_WEEKDAYS, start=time(13), end=time(21), timezone=zone),
        "weekend": Shift(days=("sat", "sun"), start=time(9), end=time(17), timezone=zone),
    }


class ConsoleSettings(_Section):
    """The agents' web console (``desk.console``): how long a session lasts without a request
    and how many wrong passwords in a row lock an agent out, for how long."""

    #: A signed-in agent who sends no request for this long must sign in again.
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: Wrong passwords in a row that lock the agent's sign-in ...
    lockout_attempts: int = Field(default=5, ge=1, le=100)
    #: ... for this long (a right password is refused too until then).
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: How often the agent's screen asks for the live queue and the screen pop, in seconds.
    poll_seconds: float = Field(default=2.0, ge=0.5, le=60)


class DeskSettings(_Section):
    """Shifts, queues and the timings of the live transfer."""

    #: After a call, an agent is in wrap-up this long before the next caller may be offered.
    wrap_up_seconds: int = Field(default=30, ge=0, le=3600)
    #: An agent's phone rings this long, and then the agent has as long again to press 1,
    #: before the offer lapses (the agent goes away, the caller stays queued).
    offer_timeout_seconds: int = Field(default=20, ge=5, le=120)
    #: How often the dialer worker offers waiting callers to available agents, in seconds.
    tick_seconds: float = Field(default=2.0, ge=0.2, le=60)
    #: Hold audio played while a caller waits (an MP3 or WAV URL Twilio can fetch); None: silence.
    hold_audio_url: str | None = None
    #: Seconds of hold between two announcements of position and expected wait.
    announce_every_seconds: int = Field(default=30, ge=10, le=600)
    #: Every how many announcements the caller is offered a callback instead (1: every time).
    callback_offer_every: int = Field(default=2, ge=1, le=20)
    #: What an answer is expected to take, for the expected wait before any call was answered.
    default_handle_seconds: int = Field(default=240, ge=10, le=7200)
    shifts: dict[str, Shift] = Field(default_factory=_default_shifts)
    queues: tuple[QueueSettings, ...] = Field(default_factory=_default_queues)
    console: ConsoleSettings = ConsoleSettings()

    @field_validator("hold_audio_url")
    @classmethod
    def _audio(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL Twilio can fetch")
        return value

    @field_validator("queues")
    @classmethod
    def _queues_in_order(cls, value: tuple[QueueSettings, ...]) -> tuple[QueueSettings, ...]:
        names = [q.name for q in value]
        for index, queue in enumerate(value):
            if names.index(queue.name) != index:
                raise ValueError(f"two queues are named {queue.name!r}")
            if "fraud" in queue.reasons and index != 0:
                raise ValueError(
                    f"queue {index} ({queue.name}) takes fraud reports, so it must come first "
                    "(fraud is always served first)"
                )
        if value and "fraud" not in value[0].reasons:
            raise ValueError(f"the first queue ({value[0].name}) must be the one for fraud reports")
        return value

    def queue(self, name: str) -> QueueSettings | None:
        return next((q for q in self.queues if q.name == name), None)

    def queue_for(self, reason: str, language: str) -> QueueSettings | None:
        """The first queue that takes ``reason`` in ``language`` (config order is urgency)."""
        return next(
            (q for q in self.queues if reason in q.reasons and language in q.languages), None
        )

    def urgency(self, name: str) -> int:
        """A queue's place in the order agents are offered callers (0 most urgent)."""
        names = [q.name for q in self.queues]
        return names.index(name) if name in names else len(names)

    def on_shift(self, instant: datetime) -> dict[str, datetime]:
        """Each agent on shift at ``instant`` -> when their (latest-ending) shift ends."""
        found: dict[str, datetime] = {}
        for shift in self.shifts.values():
            end = shift.period_end(instant)
            if end is None:
                continue
            for agent in shift.agents:
                found[agent] = max(end, found.get(agent, end))
        return found
