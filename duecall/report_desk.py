"""The desk's figures in ``duecall report``: two sections added to the collections report.

``campaigns`` may not import ``desk`` (the layers in pyproject's import contracts: the desk sits
above the campaigns it uses), so the report's own sections are built there and the desk's here,
from :mod:`desk.figures` (what docs/desk.md, "The supervisor's numbers", defines), over the same
local day: per queue, calls waiting now, answered, abandoned, left for a callback, the average
speed of answer, the abandonment rate and the service level against its target; and the service
level hour by hour, charted. :func:`day_document` is the whole report of a day, as `duecall
report` and the demo print it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.orm import Session

from campaigns.report_charts import Chart, Series
from campaigns.report_view import HOURS, Document, Section, hour_label, report_document
from campaigns.reports import ReportDay, build_report
from desk.config import DeskSettings
from desk.figures import desk_figures, minutes_seconds, service_level_by_hour

NO_DESK_CALLS = "no desk calls this day"


def day_document(
    session: Session, settings: DeskSettings, *, business: str, now: datetime, day: ReportDay
) -> Document:
    """The collections report of ``day`` as of ``now`` with the desk's sections after its own.
    Read-only."""
    report = build_report(session, now=now, day=day)
    label = "today" if report.is_today else day.day.isoformat()
    document = report_document(report, business=business)
    desk = desk_sections(session, settings, now=now, day=day, label=label)
    return dataclasses.replace(document, sections=document.sections + desk)


def desk_sections(
    session: Session, settings: DeskSettings, *, now: datetime, day: ReportDay, label: str
) -> tuple[Section, ...]:
    """The desk's sections for ``day``; ``label`` names the day in column titles ("today" or
    the date, as the report's own sections do)."""
    figures = desk_figures(session, settings, now=now, since=day.start, until=day.end)
    hourly = service_level_by_hour(session, settings, start=day.start, end=day.end, zone=day.zone)
    queues = Section(
        "The desk's queues",
        (
            "queue",
            "waiting now",
            f"answered {label}",
            "abandoned",
            "left for a callback",
            "average speed of answer",
            "abandonment rate",
            "service level",
            "target",
        ),
        tuple(
            (
                q.queue,
                str(q.waiting),
                str(q.answered),
                str(q.abandoned),
                str(q.left),
                minutes_seconds(q.average_answer_seconds),
                "-" if q.abandonment_percent is None else f"{q.abandonment_percent}%",
                "-"
                if q.service_level_percent is None
                else f"{q.service_level_percent}%"
                + (" (below)" if q.meets_target is False else ""),
                f"{q.target_percent}% in {q.target_seconds} s",
            )
            for q in figures.queues
        ),
        note=(
            "Callers enqueued on the day; waiting is now. Average speed of answer: the mean wait "
            "(m:ss) of those answered; abandonment rate: abandoned / (abandoned + answered); "
            "service level: answered within the target / (answered + abandoned). See "
            "`duecall desk queue` for the live queues."
        ),
    )
    names = tuple(hourly)
    service_level = Section(
        "The desk's service level by hour",
        ("hour", *names),
        tuple(
            (
                hour_label(hour),
                *("-" if hourly[q][hour] is None else f"{hourly[q][hour]}%" for q in names),
            )
            for hour in range(24)
            if any(hourly[q][hour] is not None for q in names)
        ),
        note=(
            f"By the hour the caller was enqueued in, {day.zone.key}; hours without an answered "
            "or abandoned caller are left out."
        ),
        chart=Chart(
            title="The desk's service level by hour",
            x_labels=HOURS,
            series=tuple(
                Series(
                    queue,
                    tuple(None if v is None else float(v) for v in hourly[queue]),
                )
                for queue in names
            ),
            y_title="% answered within the target",
            empty=NO_DESK_CALLS,
            zero_is_figure=True,
            y_max=100,
        ),
    )
    return queues, service_level
