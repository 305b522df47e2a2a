"""A bad carrier day, in process: refused requests cost no cap, Retry-After holds every worker,
a storm pauses every campaign and a probe that gets through resumes them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dialer import control
from dialer.compliance import load_history
from dialer.pacing import VOICE_BUDGET, budget_row, held, hold, reserve_slot
from store.clock import FixedClock
from store.db import Database
from store.models import Account, AuditLog, ComplianceDecision
from store.models_dialer import ALL_CAMPAIGNS, CampaignControl, PacingBudget
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for, voice_campaign

NUMBERS = [f"+1212555{n:04d}" for n in range(130, 140)]


@pytest.fixture
def rigs() -> Iterator[Callable[..., Rig]]:
    opened: list[Iterator[Rig]] = []

    def build(db: Database, clock: FixedClock, accounts: int, dialer: dict[str, Any]) -> Rig:
        for i, number in enumerate(NUMBERS[:accounts]):
            add_account(db, clock, f"A{i}", number)
        settings = settings_for([voice_campaign()], {"transient_retry_seconds": 1, **dialer})
        generator = build_rig(db, clock, settings)
        opened.append(generator)
        return next(generator)

    yield build
    for generator in opened:
        generator.close()


def _tick(rig: Rig, seconds: float = 2.0) -> None:
    rig.clock.advance(timedelta(seconds=seconds))
    rig.worker.dispatcher.tick()
    rig.sim.run_until_idle()


def _carrier_row(db: Database) -> CampaignControl | None:
    with db.session(readonly=True) as s:
        row = s.get(CampaignControl, ALL_CAMPAIGNS)
        if row is not None:
            s.expunge(row)
    return row


def test_refused_calls_count_toward_no_cap_and_use_no_retry(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    # One cardholder, and Twilio refuses the first nine calls to them: under Reg F's 7-in-7 the
    # eighth would be denied for a week if a refusal counted as a call.
    rig = rigs(db, clock, 1, {"autopause": {"transient_failures_in_a_row": 0}})
    rig.sim.faults.fail("calls.create", 429, retry_after=1, times=9)
    rig.worker.launch_scheduled("voice-mid")
    for _ in range(30):
        _tick(rig)
        if rig.sim.calls:
            break
    attempts = rig.attempts()
    refused = [a for a in attempts if a.outcome == "refused"]
    assert len(refused) == 9 and all(a.error_code == 20429 and a.final for a in refused)
    assert len(rig.sim.calls) == 1, "the tenth request went through"
    contact = rig.contacts()["A0"]
    assert contact.state in ("waiting", "done"), contact.closed_reason
    with db.session(readonly=True) as s:
        denials = s.scalars(select(ComplianceDecision.rule).where(~ComplianceDecision.allowed))
        assert list(denials) == [], "no cap denied the contact"
        account = s.get(Account, "A0")
        assert account is not None
        history = load_history(
            s, account, NUMBERS[0], clock.now(), rig.worker.dispatcher.policy.for_number(NUMBERS[0])
        )
    assert len(history.attempts) == 1, "only the call that was placed counts"


def test_an_unknown_outcome_still_counts(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(db, clock, 1, {"autopause": {"transient_failures_in_a_row": 0}})
    # A 503 may come back after Twilio created the call: it may have rung.
    rig.sim.faults.fail("calls.create", 503, times=1)
    rig.worker.launch_scheduled("voice-mid")
    _tick(rig)
    (attempt,) = rig.attempts()
    assert (attempt.status, attempt.outcome, attempt.final) == ("unknown", None, False)
    with db.session(readonly=True) as s:
        account = s.get(Account, "A0")
        assert account is not None
        history = load_history(
            s, account, NUMBERS[0], clock.now(), rig.worker.dispatcher.policy.for_number(NUMBERS[0])
        )
    assert len(history.attempts) == 1
    row = _carrier_row(db)
    assert row is not None and row.transient_streak == 1


def test_retry_after_holds_every_worker_and_the_rest_of_the_tick_goes_back_untouched(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(db, clock, 4, {"calls_per_second": 10, "autopause": {}})
    rig.sim.faults.fail("calls.create", 429, retry_after=30, times=1)
    rig.worker.launch_scheduled("voice-mid")
    before = {c.account_id: c.next_attempt_at for c in rig.contacts().values()}
    heard_at = clock.now()
    report = rig.worker.dispatcher.tick()
    assert (report.claimed, report.failed, report.released, report.placed) == (4, 1, 3, 0)
    contacts = rig.contacts()
    (refused,) = [c for c in contacts.values() if c.last_outcome == "refused"]
    untouched = [c for c in contacts.values() if c is not refused]
    assert all(c.state == "pending" and c.attempts_made == 0 for c in untouched)
    assert all(c.next_attempt_at == before[c.account_id] for c in untouched)
    with db.session() as s:
        until = held(s, VOICE_BUDGET, clock.now())
        assert until is not None and until >= heard_at + timedelta(seconds=30)
        # Any worker reserving now gets nothing within a tick: the shared slot moved past it.
        slot = reserve_slot(s, VOICE_BUDGET, rate=10, now=clock.now(), horizon=timedelta(seconds=1))
        assert slot is None
    # Ticks inside the wait dial nobody.
    _tick(rig, 10)
    assert len(rig.attempts()) == 1
    _tick(rig, 25)
    _tick(rig, 2)
    assert len(rig.sim.calls) == 4
    assert all(a.created_at >= heard_at + timedelta(seconds=30) for a in rig.attempts()[1:])


def test_a_slot_reserved_before_a_retry_after_is_not_used(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    with db.session() as s:
        slot = reserve_slot(s, VOICE_BUDGET, rate=1, now=now, horizon=timedelta(seconds=5))
    assert slot == now
    with db.session() as s:
        hold(s, [VOICE_BUDGET], until=now + timedelta(seconds=20), now=now)
        hold(s, [VOICE_BUDGET], until=now + timedelta(seconds=5), now=now)  # never shortened
    with db.session(readonly=True) as s:
        assert held(s, VOICE_BUDGET, now) == now + timedelta(seconds=20)
        assert held(s, VOICE_BUDGET, now + timedelta(seconds=21)) is None
    with db.session() as s:
        assert budget_row(s, VOICE_BUDGET, now).next_slot_at == now + timedelta(seconds=20)
        assert s.scalar(select(PacingBudget.held_until)) == now + timedelta(seconds=20)


def test_a_storm_pauses_every_campaign_until_a_probe_gets_through(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(
        db,
        clock,
        3,
        {"autopause": {"transient_failures_in_a_row": 4, "probe_interval_seconds": 5}},
    )
    storm = rig.sim.faults.fail("*", 429, retry_after=2)
    rig.worker.launch_scheduled("voice-mid")
    for _ in range(20):
        _tick(rig, 3)
        row = _carrier_row(db)
        if row is not None and row.paused:
            break
    row = _carrier_row(db)
    assert row is not None and row.paused and row.paused_for == "carrier"
    assert row.reason == (
        "Twilio is refusing requests (429 x4, last Retry-After 2 s); "
        "resumes by itself when a probe succeeds"
    )
    with db.session(readonly=True) as s:
        shown = control.paused_reason(s, "voice-mid")
    assert shown is not None and shown.startswith("all campaigns: Twilio is refusing requests")
    refused = len(rig.attempts())
    assert refused == 4
    # Paused: ticks dial nobody, and a probe Twilio still refuses keeps the pause.
    _tick(rig, 3)
    assert len(rig.attempts()) == refused
    assert rig.worker.carrier.run() is False
    assert rig.worker.carrier.run() is None, "not again before the probe interval"
    assert _carrier_row(db).paused  # type: ignore[union-attr]
    # Twilio recovers: the next probe resumes every campaign, with an audit row saying so.
    rig.sim.faults.remove(storm)
    clock.advance(timedelta(seconds=6))
    assert rig.worker.carrier.run() is True
    row = _carrier_row(db)
    assert row is not None and not row.paused and row.transient_streak == 0
    with db.session(readonly=True) as s:
        audit = s.scalars(
            select(AuditLog).where(AuditLog.action == "campaign.resume").order_by(AuditLog.id)
        ).all()
    assert [(a.actor, a.entity_id) for a in audit] == [("carrier-probe", ALL_CAMPAIGNS)]
    for _ in range(10):
        _tick(rig, 2)
    # Every contact dialed once, none closed by the storm, no retry of the campaign's used.
    assert sorted(c.to for c in rig.sim.calls.values()) == sorted(NUMBERS[:3])
    contacts = rig.contacts()
    assert all(
        c.closed_reason not in ("exhausted_not_placed", "refused") for c in contacts.values()
    )


def test_no_probe_lifts_an_operator_pause_and_resume_all_clears_the_storm(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(db, clock, 1, {"autopause": {"transient_failures_in_a_row": 2}})
    now = clock.now()
    with db.session() as s:
        control.pause(s, ALL_CAMPAIGNS, reason="ops", actor="t", now=now)
        assert not control.bump_transient(s, threshold=2, label="429", retry_after=None, now=now)
        assert not control.bump_transient(s, threshold=2, label="429", retry_after=None, now=now)
    assert rig.worker.carrier.run() is None, "an operator's pause is not the probe's to lift"
    with db.session() as s:
        control.resume(s, ALL_CAMPAIGNS, actor="t", now=now)
        assert not control.bump_transient(s, threshold=2, label="503", retry_after=None, now=now)
        assert control.bump_transient(s, threshold=2, label="503", retry_after=None, now=now)
    row = _carrier_row(db)
    assert row is not None and row.paused and "(503 x2)" in (row.reason or "")
    with db.session() as s:
        assert control.resume(s, ALL_CAMPAIGNS, actor="ops", now=now)
    row = _carrier_row(db)
    assert row is not None and (row.paused, row.paused_for, row.transient_streak) == (
        False,
        None,
        0,
    )
