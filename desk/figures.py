"""The supervisor's numbers, computed from the queue records (:mod:`desk.queueing`).

Per queue, over the callers enqueued since ``since``:

- calls waiting now and the longest wait among them;
- average speed of answer: the mean wait of the callers who were bridged;
- abandonment rate: abandoned / (abandoned + bridged) (callers who left for a callback chose
  another way to be served and count in neither);
- service level: bridged within the queue's target seconds / (bridged + abandoned), shown
  against the target percentage (80 % in 20 s).

And the agents by state. Read-only. :func:`service_level_by_hour` gives the service level hour
by hour of one local day, for the report's chart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.config import DeskSettings
from store.models import CallbackRequest
from store.models_desk import AGENT_STATES, DeskAgent, QueueEntry


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    waiting: int
    longest_wait_seconds: int
    answered: int
    abandoned: int
    left: int
    average_answer_seconds: int | None
    abandonment_percent: Decimal | None
    service_level_percent: Decimal | None
    target_percent: int
    target_seconds: int

    @property
    def meets_target(self) -> bool | None:
        if self.service_level_percent is None:
            return None
        return self.service_level_percent >= self.target_percent


@dataclass(frozen=True)
class CallbackFigures:
    """Booked callbacks: still open, due now, open after a try that did not reach the
    cardholder (missed, to be tried again), placed."""

    open: int
    due: int
    missed: int
    done: int


@dataclass(frozen=True)
class DeskFigures:
    queues: tuple[QueueFigures, ...]
    agents_by_state: dict[str, int]
    callbacks: CallbackFigures


def minutes_seconds(value: int | None) -> str:
    """A wait as ``m:ss`` (``1:05``), ``-`` when there is none."""
    if value is None:
        return "-"
    minutes, seconds = divmod(value, 60)
    return f"{minutes}:{seconds:02d}"


def _percent(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _target(settings: DeskSettings, queue: str) -> tuple[int, int]:
    """The queue's service-level target: (seconds, percent); 80 % in 20 s for an unknown one."""
    config = settings.queue(queue)
    if config is None:
        return 20, 80
    return config.service_level.seconds, config.service_level.percent


def _service_level(waits: list[int], abandoned: int, target_seconds: int) -> Decimal | None:
    """Answered within the target / (answered + abandoned); ``waits`` are the answered ones'."""
    return _percent(sum(1 for w in waits if w <= target_seconds), len(waits) + abandoned)


def desk_figures(
    session: Session,
    settings: DeskSettings,
    *,
    now: datetime,
    since: datetime,
    until: datetime | None = None,
) -> DeskFigures:
    """The numbers for every configured queue (and any other queue with records), over the
    callers enqueued from ``since`` up to ``until`` (excluded; None: now). Waiting is now."""
    rows = [
        row
        for row in session.execute(
            select(
                QueueEntry.queue,
                QueueEntry.status,
                QueueEntry.enqueued_at,
                QueueEntry.wait_seconds,
            ).where(
                (QueueEntry.enqueued_at >= since) | QueueEntry.status.in_(("waiting", "offered"))
            )
        ).all()
        if until is None or row.status in ("waiting", "offered") or row.enqueued_at < until
    ]
    by_queue: dict[str, list[tuple[str, datetime, int | None]]] = {
        q.name: [] for q in settings.queues
    }
    for queue, status, enqueued_at, wait in rows:
        by_queue.setdefault(queue, []).append((status, enqueued_at, wait))
    figures = []
    for name, entries in by_queue.items():
        target_seconds, target_percent = _target(settings, name)
        queued = [at for status, at, _ in entries if status in ("waiting", "offered")]
        answered = [w for status, at, w in entries if status in ("bridged", "done") and at >= since]
        abandoned = sum(1 for status, at, _ in entries if status == "abandoned" and at >= since)
        left = sum(1 for status, at, _ in entries if status == "left" and at >= since)
        waits = [w or 0 for w in answered]
        figures.append(
            QueueFigures(
                queue=name,
                waiting=len(queued),
                longest_wait_seconds=max(
                    (int((now - at).total_seconds()) for at in queued), default=0
                ),
                answered=len(answered),
                abandoned=abandoned,
                left=left,
                average_answer_seconds=round(sum(waits) / len(waits)) if waits else None,
                abandonment_percent=_percent(abandoned, abandoned + len(answered)),
                service_level_percent=_service_level(waits, abandoned, target_seconds),
                target_percent=target_percent,
                target_seconds=target_seconds,
            )
        )
    states = Counter(session.scalars(select(DeskAgent.state)))
    return DeskFigures(
        tuple(figures),
        {state: states.get(state, 0) for state in AGENT_STATES},
        _callbacks(session, now),
    )


def service_level_by_hour(
    session: Session, settings: DeskSettings, *, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, tuple[Decimal | None, ...]]:
    """Each queue's service level in each hour (00 to 23 in ``zone``) of the callers enqueued
    from ``start`` to ``end`` (a local day), by the hour they were enqueued in; None for an hour
    in which the queue had no caller answered or abandoned. Only queues with such a caller in
    the day are given: none at all means the desk took no calls."""
    answered: dict[str, list[list[int]]] = {}
    abandoned: dict[str, list[int]] = {}
    for queue, status, enqueued_at, wait in session.execute(
        select(
            QueueEntry.queue, QueueEntry.status, QueueEntry.enqueued_at, QueueEntry.wait_seconds
        ).where(
            QueueEntry.enqueued_at >= start,
            QueueEntry.enqueued_at < end,
            QueueEntry.status.in_(("bridged", "done", "abandoned")),
        )
    ):
        hour = enqueued_at.astimezone(zone).hour
        answered.setdefault(queue, [[] for _ in range(24)])
        abandoned.setdefault(queue, [0] * 24)
        if status == "abandoned":
            abandoned[queue][hour] += 1
        else:
            answered[queue][hour].append(wait or 0)
    order = [q.name for q in settings.queues]
    queues = sorted(answered, key=lambda q: (order.index(q) if q in order else len(order), q))
    return {
        queue: tuple(
            _service_level(
                answered[queue][hour], abandoned[queue][hour], _target(settings, queue)[0]
            )
            for hour in range(24)
        )
        for queue in queues
    }


def _callbacks(session: Session, now: datetime) -> CallbackFigures:
    rows = session.execute(
        select(CallbackRequest.status, CallbackRequest.preferred_at, CallbackRequest.tries)
    ).all()
    opened = [(at, tries) for status, at, tries in rows if status == "open"]
    return CallbackFigures(
        open=len(opened),
        due=sum(1 for at, _ in opened if at is None or at <= now),
        missed=sum(1 for _, tries in opened if tries),
        done=sum(1 for status, _, _ in rows if status == "done"),
    )


def expected_wait_seconds(
    session: Session, settings: DeskSettings, queue: str, position: int, *, since: datetime
) -> int:
    """What a caller at ``position`` may expect to wait: the queue's recent average talk time
    (else ``desk.default_handle_seconds``) per caller ahead, shared by the agents on it."""
    talks = [
        t
        for t in session.scalars(
            select(QueueEntry.talk_seconds).where(
                QueueEntry.queue == queue,
                QueueEntry.status == "done",
                QueueEntry.enqueued_at >= since,
            )
        )
        if t is not None
    ]
    handle = round(sum(talks) / len(talks)) if talks else settings.default_handle_seconds
    agents = session.scalar(
        select(func.count()).select_from(DeskAgent).where(DeskAgent.state != "away")
    )
    agents = max(int(agents or 0), 1)
    return max(position * handle // agents, 0)
