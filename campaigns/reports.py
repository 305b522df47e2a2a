"""The collections report: what the dialer, the IVR and the policy did, today and all time.

Pure queries returning dataclasses; :mod:`campaigns.report_view` lays them out as sections, which
``duecall report`` prints in the terminal and writes as HTML. Windowed figures come twice: for one
calendar day in a named zone (a :class:`ReportDay`, 00:00 to 24:00 local; the CLI's default is
today in the first campaign's zone) and all time. What each figure counts:

- attempts by channel and outcome, by ``created_at`` (an attempt with no outcome yet is in
  flight);
- right-party contacts: reminder calls whose outcome is ``rpc`` or ``promise`` (the verified
  cardholder was reached) and hotline calls in which the caller verified, by start time;
- promises by status and currency, by ``created_at``: how many, their amounts and what was paid
  toward them (amounts of different currencies are never added together);
- the kept rate: of the promises resolved in the window (by ``resolved_at``; kept, partial or
  broken -- cancelled ones were replaced, not resolved), the share kept;
- compliance decisions by rule, allowed and denied, by decision time;
- suppressions by kind: added in the window, and in force now;
- concessions granted by kind and currency, by ``decided_at``: how many, and the money given up
  (waived, or forgiven by a settlement: the balance less the lump sum); a reduced rate gives up
  no amount the store knows;
- by hour of the day (00 to 23 in the report's zone; on a DST change the repeated hour counts
  in one bucket): calls and texts placed, promises made, promises kept (by ``resolved_at``) and
  repayment plans agreed -- the figures the HTML report charts;
- now, whatever the window: open callback requests, texts waiting in the inbox, concession
  requests waiting for a supervisor, and the campaign runs still working or launched on the day
  with their contacts done and pending.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from campaigns.plan_report import foreign_payment_count, plan_lines, plans_kept
from store.models import (
    Attempt,
    CallbackRequest,
    ComplianceDecision,
    InboundMessage,
    Plan,
    Promise,
    Suppression,
)
from store.models_concessions import Concession
from store.models_dialer import CampaignRun, Contact
from store.models_ivr import IvrSession
from store.types import Money

ZERO = Decimal("0.00")
RPC_OUTCOMES = ("rpc", "promise")
RESOLVED = ("kept", "partial", "broken")
IN_FLIGHT = "(in flight)"
#: At most this many campaign runs are listed (newest first).
MAX_RUNS = 50


@dataclass(frozen=True)
class ReportDay:
    """The calendar day a report's windowed figures count: ``day`` from 00:00 to 24:00 in
    ``zone`` (23 or 25 hours on a DST change), as UTC instants."""

    day: date
    zone: ZoneInfo

    @classmethod
    def containing(cls, instant: datetime, zone: ZoneInfo) -> ReportDay:
        """The day in ``zone`` at ``instant`` (an aware datetime)."""
        return cls(instant.astimezone(zone).date(), zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next day's start: the window excludes it."""
        following = self.day + timedelta(days=1)
        return datetime.combine(following, time.min, tzinfo=self.zone).astimezone(UTC)

    def includes(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Pair:
    """A count on the report's day and all time."""

    today: int
    all_time: int


@dataclass(frozen=True)
class AttemptLine:
    channel: str
    outcome: str
    today: int
    all_time: int


@dataclass(frozen=True)
class PromiseLine:
    """Promises of one status in one currency: count and amount today and all time, and what was
    paid toward all of them."""

    status: str
    currency: str
    today: int
    amount_today: Decimal
    all_time: int
    amount_all_time: Decimal
    paid_all_time: Decimal


@dataclass(frozen=True)
class KeptRate:
    """Promises resolved in a window and how many of them were kept."""

    kept: int
    resolved: int

    @property
    def rate(self) -> float | None:
        """The share kept, 0 to 1; None when nothing was resolved."""
        return self.kept / self.resolved if self.resolved else None


@dataclass(frozen=True)
class DecisionLine:
    rule: str
    allowed_today: int
    denied_today: int
    allowed_all_time: int
    denied_all_time: int


@dataclass(frozen=True)
class SuppressionLine:
    kind: str
    added_today: int
    added_all_time: int
    in_force: int


@dataclass(frozen=True)
class RunLine:
    id: int
    campaign: str
    slot_key: str
    status: str
    created_at: datetime
    contacts: int
    done: int
    pending: int


@dataclass(frozen=True)
class ConcessionLine:
    """Concessions of one kind in one currency granted: count and money given up."""

    kind: str
    currency: str
    today: int
    given_up_today: Decimal
    all_time: int
    given_up_all_time: Decimal


@dataclass(frozen=True)
class HourLine:
    """One hour of the report's day (``hour`` 0 to 23, local): what happened in it."""

    hour: int
    calls: int = 0
    texts: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    plans_agreed: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.calls
            or self.texts
            or self.promises_made
            or self.promises_kept
            or self.plans_agreed
        )


@dataclass(frozen=True)
class Report:
    """The whole report; see the module docstring for what each figure counts."""

    generated_at: datetime
    day: ReportDay
    attempts: tuple[AttemptLine, ...]
    rpc_calls: Pair
    rpc_hotline: Pair
    promises: tuple[PromiseLine, ...]
    kept_today: KeptRate
    kept_all_time: KeptRate
    decisions: tuple[DecisionLine, ...]
    suppressions: tuple[SuppressionLine, ...]
    callbacks_open: int
    inbox_waiting: int
    runs: tuple[RunLine, ...]
    #: Repayment plans by status and currency (the promises' line shape: count, total, paid).
    plans: tuple[PromiseLine, ...] = ()
    plans_kept_today: KeptRate = KeptRate(0, 0)
    plans_kept_all_time: KeptRate = KeptRate(0, 0)
    #: Payments not applied to a plan: their currency is not the plan's.
    foreign_payments: int = 0
    concessions: tuple[ConcessionLine, ...] = ()
    concessions_pending: int = 0
    #: The day hour by hour, 24 lines (00 to 23 local).
    hours: tuple[HourLine, ...] = ()

    @property
    def commitments_kept_today(self) -> KeptRate:
        """Promises and plans together: kept or completed, of those resolved."""
        return _together(self.kept_today, self.plans_kept_today)

    @property
    def commitments_kept_all_time(self) -> KeptRate:
        return _together(self.kept_all_time, self.plans_kept_all_time)

    @property
    def is_today(self) -> bool:
        """True when the report's day is the current one in its zone."""
        return self.day.includes(self.generated_at)

    @property
    def attempts_total(self) -> Pair:
        return Pair(
            sum(line.today for line in self.attempts),
            sum(line.all_time for line in self.attempts),
        )


def _together(promises: KeptRate, plans: KeptRate) -> KeptRate:
    return KeptRate(promises.kept + plans.kept, promises.resolved + plans.resolved)


def build_report(session: Session, *, now: datetime, day: ReportDay) -> Report:
    """Read the report from the store as of ``now``, its windowed figures for ``day``.

    Read-only. Any day may be asked for: one after ``now`` simply counts nothing yet.
    """
    return Report(
        generated_at=now,
        day=day,
        attempts=_attempts(session, day),
        rpc_calls=_pair(
            session,
            select(func.count()).select_from(Attempt).where(Attempt.outcome.in_(RPC_OUTCOMES)),
            Attempt.created_at,
            day,
        ),
        rpc_hotline=_pair(
            session,
            select(func.count())
            .select_from(IvrSession)
            .where(IvrSession.direction == "inbound", IvrSession.verified.is_(True)),
            IvrSession.created_at,
            day,
        ),
        promises=_promises(session, day),
        kept_today=_kept(session, _within(Promise.resolved_at, day)),
        kept_all_time=_kept(session, true()),
        decisions=_decisions(session, day),
        suppressions=_suppressions(session, day),
        callbacks_open=_count(
            session,
            select(func.count())
            .select_from(CallbackRequest)
            .where(CallbackRequest.status == "open"),
        ),
        inbox_waiting=_count(
            session,
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.kind == "message", InboundMessage.handled_at.is_(None)),
        ),
        runs=_runs(session, day),
        plans=tuple(
            PromiseLine(str(st), str(cur), int(n1), _money(a1), int(n), _money(a), _money(p))
            for st, cur, n1, a1, n, a, p in plan_lines(session, _within(Plan.created_at, day))
        ),
        plans_kept_today=KeptRate(*plans_kept(session, _within(Plan.resolved_at, day))),
        plans_kept_all_time=KeptRate(*plans_kept(session)),
        foreign_payments=foreign_payment_count(session),
        concessions=_concessions(session, day),
        concessions_pending=_count(
            session,
            select(func.count()).select_from(Concession).where(Concession.status == "pending"),
        ),
        hours=_hours(session, day),
    )


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(query) or 0)


def _within(
    at: SQLColumnExpression[datetime] | SQLColumnExpression[datetime | None], day: ReportDay
) -> ColumnElement[bool]:
    return and_(at >= day.start, at < day.end)


def _pair(
    session: Session, query: Select[Any], at: SQLColumnExpression[datetime], day: ReportDay
) -> Pair:
    return Pair(_count(session, query.where(_within(at, day))), _count(session, query))


def _today(at: SQLColumnExpression[datetime], day: ReportDay) -> ColumnElement[int]:
    """How many rows of the group are from the day: next to ``count()``, both in one pass."""
    return func.coalesce(func.sum(case((_within(at, day), 1), else_=0)), 0)


def _attempts(session: Session, day: ReportDay) -> tuple[AttemptLine, ...]:
    outcome = func.coalesce(Attempt.outcome, IN_FLIGHT)
    rows = session.execute(
        select(Attempt.channel, outcome, _today(Attempt.created_at, day), func.count())
        # Calls and texts placed; the hotline's own calls are counted as hotline RPCs.
        .where(Attempt.direction == "outbound")
        .group_by(Attempt.channel, outcome)
        .order_by(Attempt.channel, func.count().desc(), outcome)
    ).all()
    return tuple(AttemptLine(ch, out, int(today), int(n)) for ch, out, today, n in rows)


def _promises(session: Session, day: ReportDay) -> tuple[PromiseLine, ...]:
    today = _within(Promise.created_at, day)
    rows = session.execute(
        select(
            Promise.status,
            Promise.currency,
            _today(Promise.created_at, day),
            func.sum(case((today, Promise.amount), else_=None), type_=Money),
            func.count(),
            func.sum(Promise.amount),
            func.sum(Promise.paid_amount),
        )
        .group_by(Promise.status, Promise.currency)
        .order_by(Promise.status, Promise.currency)
    ).all()
    return tuple(
        PromiseLine(
            status=status,
            currency=currency,
            today=int(n_today),
            amount_today=_money(amount_today),
            all_time=int(n),
            amount_all_time=_money(amount),
            paid_all_time=_money(paid),
        )
        for status, currency, n_today, amount_today, n, amount, paid in rows
    )


def _kept(session: Session, window: ColumnElement[bool]) -> KeptRate:
    counts = dict(
        session.execute(
            select(Promise.status, func.count())
            .where(Promise.status.in_(RESOLVED), window)
            .group_by(Promise.status)
        ).all()
    )
    return KeptRate(kept=int(counts.get("kept", 0)), resolved=int(sum(counts.values())))


def _decisions(session: Session, day: ReportDay) -> tuple[DecisionLine, ...]:
    rows = session.execute(
        select(
            ComplianceDecision.rule,
            ComplianceDecision.allowed,
            _today(ComplianceDecision.at, day),
            func.count(),
        ).group_by(ComplianceDecision.rule, ComplianceDecision.allowed)
    ).all()
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for rule, allowed, today, n in rows:
        line = found[rule]
        offset = 0 if allowed else 1
        line[offset] += int(today)
        line[2 + offset] += int(n)
    return tuple(
        DecisionLine(rule, *found[rule])
        for rule in sorted(found, key=lambda r: (-(found[r][2] + found[r][3]), r))
    )


def _suppressions(session: Session, day: ReportDay) -> tuple[SuppressionLine, ...]:
    in_force = Suppression.removed_at.is_(None)
    rows = session.execute(
        select(
            Suppression.kind,
            _today(Suppression.created_at, day),
            func.count(),
            func.coalesce(func.sum(case((in_force, 1), else_=0)), 0),
        )
        .group_by(Suppression.kind)
        .order_by(Suppression.kind)
    ).all()
    return tuple(SuppressionLine(k, int(t), int(n), int(f)) for k, t, n, f in rows)


def _runs(session: Session, day: ReportDay) -> tuple[RunLine, ...]:
    runs = session.execute(
        select(
            CampaignRun.id,
            CampaignRun.campaign,
            CampaignRun.slot_key,
            CampaignRun.status,
            CampaignRun.created_at,
        )
        .where(
            or_(
                CampaignRun.status.in_(("snapshotting", "active")),
                _within(CampaignRun.created_at, day),
            )
        )
        .order_by(CampaignRun.created_at.desc(), CampaignRun.id.desc())
        .limit(MAX_RUNS)
    ).all()
    if not runs:
        return ()
    states: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, state, n in session.execute(
        select(Contact.run_id, Contact.state, func.count())
        .where(Contact.run_id.in_([r.id for r in runs]))
        .group_by(Contact.run_id, Contact.state)
    ):
        states[run_id][state] = int(n)
    lines = []
    for run in runs:
        by_state = states.get(run.id, {})
        done = by_state.get("done", 0)
        lines.append(
            RunLine(
                id=run.id,
                campaign=run.campaign,
                slot_key=run.slot_key,
                status=run.status,
                created_at=run.created_at,
                contacts=sum(by_state.values()),
                done=done,
                pending=sum(by_state.values()) - done,
            )
        )
    return tuple(lines)


def _concessions(session: Session, day: ReportDay) -> tuple[ConcessionLine, ...]:
    decided = Concession.decided_at
    given_up = case(
        (Concession.kind == "settlement", Concession.base - Concession.amount),
        else_=Concession.amount,
    )
    rows = session.execute(
        select(
            Concession.kind,
            Concession.currency,
            func.coalesce(func.sum(case((_within(decided, day), 1), else_=0)), 0),
            func.sum(case((_within(decided, day), given_up), else_=None), type_=Money),
            func.count(),
            func.sum(given_up, type_=Money),
        )
        .where(Concession.status == "granted")
        .group_by(Concession.kind, Concession.currency)
        .order_by(Concession.kind, Concession.currency)
    ).all()
    return tuple(
        ConcessionLine(kind, currency, int(n_today), _money(today), int(n), _money(total))
        for kind, currency, n_today, today, n, total in rows
    )


def _money(value: Decimal | None) -> Decimal:
    # SUM over no row (or only NULLs) is NULL: no money is zero money.
    return ZERO if value is None else value


def _hours(session: Session, day: ReportDay) -> tuple[HourLine, ...]:
    """The day's activity by local hour. The instants are read and bucketed here rather than in
    SQL: the zone's offset (half hours, DST) is Python's to apply, the same on both engines."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 24)

    def tally(key: str, instants: Any) -> None:
        for at in instants:
            counts[key][at.astimezone(day.zone).hour] += 1

    for channel, at in session.execute(
        select(Attempt.channel, Attempt.created_at).where(
            Attempt.direction == "outbound", _within(Attempt.created_at, day)
        )
    ):
        counts["calls" if channel == "voice" else "texts"][at.astimezone(day.zone).hour] += 1
    tally(
        "promises_made",
        session.scalars(select(Promise.created_at).where(_within(Promise.created_at, day))),
    )
    tally(
        "promises_kept",
        session.scalars(
            select(Promise.resolved_at).where(
                Promise.status == "kept", _within(Promise.resolved_at, day)
            )
        ),
    )
    tally(
        "plans_agreed",
        session.scalars(select(Plan.created_at).where(_within(Plan.created_at, day))),
    )
    return tuple(HourLine(hour, **{key: counts[key][hour] for key in counts}) for hour in range(24))
