"""A campaign on a bad carrier day: real workers, the simulator's fault knobs, one worker killed.

:func:`run_chaos` seeds ``contacts`` accounts on PostgreSQL, starts three ``duecall dialer``
processes (one armed to SIGKILL itself at a seeded kill point, restarted once it died) against
the simulator over HTTP with faults on from the start -- some 503s, connections dropped before
and after the call was created, lost, duplicated and late status callbacks -- and, once a
seeded share of the contacts has been tried, a 429 storm with ``Retry-After`` on every REST
endpoint long enough to pause the campaigns. It waits (for progress, never for a fixed time)
until every contact is done, then :func:`violations` checks by naive code over the stored rows
and the simulator's own records what must hold. Used by ``tests/dialer/test_chaos.py`` and
``python -m bench chaos``.
"""

from __future__ import annotations

import itertools
import random
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from simulator import Simulator
from simulator.faults import InjectedFault
from store.db import Database
from store.models import Attempt, AuditLog
from store.models_dialer import ALL_CAMPAIGNS, CampaignControl, Contact
from tests.dialer.scaleout_rig import (
    Progress,
    Workers,
    afternoon_zone,
    concurrency_violations,
    dialer_config,
    migrated,
    pace_violations,
    progress,
    seed_accounts,
    settled,
    start_carrier,
    start_workers,
    stored,
    wait_for_progress,
    window_violations,
)

CPS = 20.0
#: Above what the carrier's pace keeps open: an unknown outcome holds its slot until the reconciler
#: resolves it (a minute at least), and the faults leave a dozen of those.
MAX_CONCURRENT = 40
#: Refused or unanswered requests in a row that pause every campaign.
STORM_THRESHOLD = 6
STORM_RETRY_AFTER = 1
#: How long the storm refuses every request: long enough for the pause and a refused probe.
STORM_SECONDS = 10.0
#: Reg F: 7 calls per person in 7 days (refused requests excluded).
CAP_7_IN_7 = 7
KILL_POINTS = (
    "after_claim",
    "after_attempt_commit",
    "after_request_before_sid",
    "after_sid_stored",
)


@dataclass
class ChaosRun:
    """What a run stored and saw, for :func:`violations` and the report."""

    contacts: int
    seed: int
    zone: str
    kill_point: str
    kill_nth: int
    attempts: list[Attempt]
    contact_rows: list[Contact]
    audit: list[AuditLog]
    carrier_row: CampaignControl | None
    calls: list[tuple[str, str, datetime | None, datetime | None]]
    injected: list[InjectedFault]
    log_of_doomed: str
    seconds: float
    storm_started_after: Progress | None = None
    timeline: list[str] = field(default_factory=list)


def _config(now: datetime) -> dict[str, Any]:
    return dialer_config(
        now=now,
        dialer={
            "calls_per_second": CPS,
            "max_concurrent_calls": MAX_CONCURRENT,
            "snapshot_chunk": 100,
            "autopause": {
                "transient_failures_in_a_row": STORM_THRESHOLD,
                "probe_interval_seconds": 1,
            },
        },
    )


def _plan(sim: Simulator, seed: int) -> None:
    faults = sim.faults
    faults.reseed(seed)
    faults.fail_rate("calls.create", 0.02, status=503)
    faults.drop("calls.create", created=True, p=0.02)
    faults.drop("calls.create", created=False, p=0.02)
    faults.fail("calls.create", 502, 20502, created=True, p=0.02)
    faults.callbacks(lose=0.05, duplicate=0.05, delay=(5, 60), delay_p=0.05)


def run_chaos(
    pg_url: str,
    tmp_path: Path,
    *,
    contacts: int,
    seed: int,
    stall: float = 90,
    faults: bool = True,
) -> ChaosRun:
    """Run the campaign to its end (see the module docstring); ``faults=False`` runs the same
    campaign on a good day (no fault, no storm, no kill: the benchmark's baseline)."""
    rng = random.Random(seed)
    kill_point = rng.choice(KILL_POINTS)
    kill_nth = rng.randint(3, max(4, contacts // 12))
    storm_at = rng.uniform(0.15, 0.4) * contacts
    now = datetime.now(UTC)
    zone, number = afternoon_zone(now)
    db = migrated(pg_url)
    try:
        seed_accounts(db, [number(i) for i in range(contacts)], zone)
        config = _config(now)
        for carrier in start_carrier(db, config):
            if faults:
                _plan(carrier.sim, seed)
            for workers in start_workers(pg_url, carrier.url, config, tmp_path):
                return _drive(
                    db, carrier.sim, workers, contacts, seed, zone,
                    kill_point if faults else None, kill_nth,
                    storm_at if faults else None, stall,
                )  # fmt: skip
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        db.dispose()


def _drive(
    db: Database,
    sim: Simulator,
    workers: Workers,
    contacts: int,
    seed: int,
    zone: str,
    kill_point: str | None,
    kill_nth: int,
    storm_at: float | None,
    stall: float,
) -> ChaosRun:
    started = time.monotonic()
    timeline: list[str] = []
    armed = {"DUECALL_FAULT": f"{kill_point}:{kill_nth}"} if kill_point else {}
    doomed = workers.start("w1", **armed)
    workers.start("w2")
    workers.start("w3")
    state: dict[str, Any] = {
        "storm": None if storm_at is not None else "none",
        "restarted": kill_point is None,
        "storm_ends": None if storm_at is not None else 0.0,
    }

    def note(what: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.1f}s {what}")

    def step() -> bool:
        now = progress(db)
        if state["storm"] is None and storm_at is not None and now.attempts >= storm_at:
            state["storm"] = now
            sim.faults.fail("*", 429, retry_after=STORM_RETRY_AFTER, for_seconds=STORM_SECONDS)
            state["storm_ends"] = time.monotonic() + STORM_SECONDS
            note(f"429 storm starts at {now}")
        if not state["restarted"] and doomed.poll() is not None:
            state["restarted"] = True
            note(f"w1 died ({doomed.returncode}) at {now}; restarted as w1b")
            workers.start("w1b")
        storm_over = state["storm_ends"] is not None and time.monotonic() > state["storm_ends"]
        return bool(state["restarted"] and storm_over and settled(db, contacts))

    def moving() -> object:
        return (progress(db), state["restarted"], state["storm"] is not None)

    try:
        wait_for_progress(step, moving, stall=stall, what=f"{contacts} contacts to be done")
    except AssertionError:
        for name in workers.procs:
            print(f"--- {name}\n{workers.log_of(name)[-3000:]}")
        print("\n".join(timeline))
        raise
    seconds = time.monotonic() - started
    codes = workers.stop_all()
    note(f"stopped: {codes}")
    rows = stored(db)
    with db.session(readonly=True) as s:
        audit = list(s.scalars(select(AuditLog).where(AuditLog.entity_type == "campaign")))
        carrier_row = s.get(CampaignControl, ALL_CAMPAIGNS)
        s.expunge_all()
    calls = [(c.sid, c.to, c.start_time, c.end_time) for c in list(sim.calls.values())]
    return ChaosRun(
        contacts=contacts,
        seed=seed,
        zone=zone,
        kill_point=kill_point or "-",
        kill_nth=kill_nth,
        attempts=rows.attempts,
        contact_rows=rows.contacts,
        audit=audit,
        carrier_row=carrier_row,
        calls=calls,
        injected=sim.faults.injected,
        log_of_doomed=workers.log_of("w1"),
        seconds=seconds,
        storm_started_after=state["storm"] if isinstance(state["storm"], Progress) else None,
        timeline=timeline,
    )


# --- the checks: naive code over what was stored and what the carrier saw ----------------------


def double_dials(run: ChaosRun) -> list[str]:
    """A number the carrier called more often than its contact has attempts with a SID, a call
    no attempt owns, or two calls to one number live at once."""
    found: list[str] = []
    by_number: dict[str, list[tuple[str, datetime | None, datetime | None]]] = defaultdict(list)
    for sid, to, start, end in run.calls:
        by_number[to].append((sid, start, end))
    owned = Counter(a.number for a in run.attempts if a.provider_sid)
    sids = {a.provider_sid for a in run.attempts if a.provider_sid}
    for to, calls in by_number.items():
        if len(calls) != owned[to]:
            found.append(f"{to[-4:]}: {len(calls)} calls for {owned[to]} placed attempts")
        found.extend(f"call {sid} belongs to no attempt" for sid, _, _ in calls if sid not in sids)
        spans = sorted((start or datetime.max.replace(tzinfo=UTC), end) for _, start, end in calls)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if end is None or end > start:
                found.append(f"{to[-4:]}: two calls live at once")
    return found


def lost_contacts(run: ChaosRun) -> list[str]:
    """A contact not done, or done for a reason the storm or a crash explains (none should)."""
    storm_reasons = {"exhausted_not_placed", "superseded"}
    return [
        f"contact {c.id}: {c.state} {c.closed_reason}"
        for c in run.contact_rows
        if c.state != "done" or c.closed_reason in storm_reasons
    ]


def cap_violations(run: ChaosRun) -> list[str]:
    """Pace, concurrency, the calling window, and 7 calls per person and per number in 7 days,
    requests Twilio refused excluded."""
    found = [
        *window_violations(run.attempts, run.zone),
        *pace_violations(run.attempts, CPS),
        *concurrency_violations(run.attempts, MAX_CONCURRENT),
    ]
    counted = [a for a in run.attempts if a.outcome != "refused"]
    for key, what in ((lambda a: a.customer_id, "person"), (lambda a: a.number, "number")):
        per: dict[str, list[datetime]] = defaultdict(list)
        for a in counted:
            per[str(key(a))].append(a.created_at)
        for name, times in per.items():
            times.sort()
            for i, first in enumerate(times):
                inside = [t for t in times[i:] if t < first + timedelta(days=7)]
                if len(inside) > CAP_7_IN_7:
                    found.append(f"7-in-7: {len(inside)} calls to one {what} ({name[-4:]})")
                    break
    return found


def storm_violations(run: ChaosRun) -> list[str]:
    """The storm must have paused every campaign, and a probe (no operator) resumed them."""
    found: list[str] = []
    pauses = [
        a
        for a in run.audit
        if a.action == "campaign.pause"
        and a.entity_id == ALL_CAMPAIGNS
        and (a.detail or {}).get("paused_for") == "carrier"
    ]
    resumes = [a for a in run.audit if a.action == "campaign.resume"]
    if not pauses:
        found.append("the storm never paused the campaigns")
    if not resumes or {a.actor for a in resumes} != {"carrier-probe"}:
        found.append(f"resumed by {[a.actor for a in resumes]}, not by the probe alone")
    if run.carrier_row is None or run.carrier_row.paused:
        found.append("still paused at the end")
    if not any(a.outcome == "refused" for a in run.attempts):
        found.append("no attempt was refused")
    return found


def violations(run: ChaosRun) -> list[str]:
    """Every check at once."""
    return [*double_dials(run), *lost_contacts(run), *cap_violations(run), *storm_violations(run)]


def injected_kinds(run: ChaosRun) -> Counter[str]:
    """How many faults of each kind the simulator injected."""
    return Counter(
        f"{f.kind}:{f.action}:{f.status or ''}{'' if f.created is None else f':{f.created}'}"
        for f in run.injected
    )


def summary(run: ChaosRun) -> Iterator[str]:
    """Lines for the report."""
    outcomes = Counter(a.outcome for a in run.attempts)
    yield f"contacts {run.contacts}, seed {run.seed}, {run.seconds:.1f} s"
    yield f"w1 killed at {run.kill_point}:{run.kill_nth}"
    yield f"attempts {len(run.attempts)} by outcome {dict(outcomes)}"
    yield f"calls at the carrier {len(run.calls)}"
    yield f"faults injected {dict(injected_kinds(run))}"
    for entry in sorted(run.audit, key=lambda a: a.at):
        yield f"{entry.at:%H:%M:%S} {entry.action} {entry.entity_id} by {entry.actor}"
    yield from run.timeline


def killed(run: ChaosRun) -> bool:
    """Whether the armed worker really killed itself where it was told."""
    return f"SIGKILL at {run.kill_point}" in run.log_of_doomed


__all__ = ["ChaosRun", "run_chaos", "signal", "summary", "violations"]
