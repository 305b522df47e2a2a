"""A worker SIGKILLed at each point of a launch and a dial, then restarted: nothing lost, nothing
dialed twice, every attempt resolved by a callback or the reconciler.

Each kill point gets a fresh PostgreSQL schema and a small campaign. One worker runs with
``DUECALL_FAULT=<point>:<n>`` until it kills itself; two workers then take over (a restart and a
scale-out at once); the same naive checks as the scale-out test run over what they stored and
what the carrier saw.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialer.faults import Faults, FaultSpecError
from store.db import Database
from tests.dialer.scaleout_rig import (
    Carrier,
    Workers,
    afternoon_zone,
    concurrency_violations,
    dialer_config,
    migrated,
    pace_violations,
    seed_accounts,
    start_carrier,
    start_workers,
    stored,
    wait_until_settled,
    window_violations,
)

ACCOUNTS = 40
CPS = 10.0
MAX_CONCURRENT = 8

#: point -> which time it fires (mid-campaign; a launch of 40 in chunks of 10 has 4 chunks).
KILL_POINTS = {
    "after_claim": 3,
    "after_attempt_commit": 6,
    "after_request_before_sid": 6,
    "after_sid_stored": 6,
    "mid_launch": 2,
}


@pytest.fixture
def rig(pg_url: str, tmp_path: Path) -> Iterator[tuple[Database, Carrier, Workers, str]]:
    now = datetime.now(UTC)
    zone, number = afternoon_zone(now)
    db = migrated(pg_url)
    seed_accounts(db, [number(i) for i in range(ACCOUNTS)], zone)
    config = dialer_config(
        now=now,
        dialer={
            "calls_per_second": CPS,
            "max_concurrent_calls": MAX_CONCURRENT,
            "snapshot_chunk": 10,
        },
    )
    try:
        for carrier in start_carrier(db, config):
            for workers in start_workers(pg_url, carrier.url, config, tmp_path):
                yield db, carrier, workers, zone
    finally:
        db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_worker_killed_at_any_point_loses_nothing_and_dials_nothing_twice(
    point: str, rig: tuple[Database, Carrier, Workers, str]
) -> None:
    db, carrier, workers, zone = rig
    doomed = workers.start("doomed", DUECALL_FAULT=f"{point}:{KILL_POINTS[point]}")
    try:
        assert doomed.wait(60) == -signal.SIGKILL
    except Exception:
        print(workers.log_of("doomed")[-3000:])
        raise
    assert f"SIGKILL at {point}" in workers.log_of("doomed")
    at_death = stored(db)
    if point == "after_claim":
        # Died holding claims: released at once, its pid being seen dead on this host.
        assert any(c.state == "dialing" and c.claimed_by == "doomed" for c in at_death.contacts)
    if point == "mid_launch":
        (run,) = at_death.runs
        assert run.status == "snapshotting" and 0 < run.contacts_total < ACCOUNTS

    workers.start("r1")
    workers.start("r2")
    try:
        wait_until_settled(db, ACCOUNTS)
    except AssertionError:
        for name in workers.procs:
            print(f"--- {name}\n{workers.log_of(name)[-3000:]}")
        raise
    assert set(workers.stop_all().values()) <= {0, -signal.SIGKILL}

    rows = stored(db)
    # No contact lost, none dialed twice: the carrier saw exactly one call per account.
    calls = carrier.calls_by_number()
    assert len(calls) == ACCOUNTS and set(calls.values()) == {1}, calls
    assert len(rows.runs) == 1 and rows.runs[0].contacts_total == len(rows.contacts) == ACCOUNTS
    assert {c.state for c in rows.contacts} == {"done"}
    # Every attempt resolved; an attempt never placed is closed as such, and only then retried.
    assert all(a.final for a in rows.attempts)
    placed = [a for a in rows.attempts if a.outcome != "not_placed"]
    unplaced = [a for a in rows.attempts if a.outcome == "not_placed"]
    assert Counter(a.contact_id for a in placed) == Counter({c.id: 1 for c in rows.contacts})
    assert all(a.provider_sid for a in placed)
    assert all(a.provider_sid is None for a in unplaced)
    if point == "after_attempt_commit":
        # The committed attempt the worker never sent: the reconciler found no call to its
        # number and closed it; its contact was dialed once afterwards.
        (orphan,) = unplaced
        assert orphan.id == max(a.id for a in at_death.attempts)
        assert any(a.contact_id == orphan.contact_id for a in placed)
    else:
        assert unplaced == []
    if point == "after_request_before_sid":
        # The SID never stored by the worker was linked from the callbacks' ?attempt=.
        last = max(at_death.attempts, key=lambda a: a.id)
        linked = next(a for a in rows.attempts if a.id == last.id)
        assert linked.provider_sid in carrier.sim.calls
    if point == "mid_launch":
        assert rows.runs[0].snapshot_by in {"r1", "r2"}
    doomed_row = next(w for w in rows.workers if w.worker_id == "doomed")
    assert doomed_row.stopped_at is None, "it never said goodbye"

    assert window_violations(rows.attempts, zone) == []
    assert pace_violations(rows.attempts, CPS) == []
    assert concurrency_violations(rows.attempts, MAX_CONCURRENT) == []


#: SMS point -> which text it fires on.
SMS_KILL_POINTS = {
    "sms_after_attempt_commit": 6,
    "sms_after_request_before_sid": 6,
    "sms_after_sid_stored": 6,
}
SMS_TEMPLATE = "{business_name}: {first_name}, your payment of {minimum_due} is past due."


@pytest.fixture
def sms_rig(pg_url: str, tmp_path: Path) -> Iterator[tuple[Database, Carrier, Workers, str]]:
    now = datetime.now(UTC)
    zone, number = afternoon_zone(now)
    db = migrated(pg_url)
    seed_accounts(db, [number(i) for i in range(ACCOUNTS)], zone)
    config = dialer_config(now=now, dialer={"sms_per_second": CPS, "snapshot_chunk": 10})
    (campaign,) = config["campaigns"]
    config["campaigns"] = [
        {
            **{k: v for k, v in campaign.items() if k != "retry"},
            "channel": "sms",
            "sms_template": {"en-US": SMS_TEMPLATE},
            "retry": {"sms_undelivered": {"delay_minutes": 60, "max": 1}},
        }
    ]
    try:
        for carrier in start_carrier(db, config):
            for workers in start_workers(pg_url, carrier.url, config, tmp_path):
                yield db, carrier, workers, zone
    finally:
        db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("point", list(SMS_KILL_POINTS))
def test_a_worker_killed_in_the_middle_of_a_text_sends_nothing_twice(
    point: str, sms_rig: tuple[Database, Carrier, Workers, str]
) -> None:
    db, carrier, workers, _zone = sms_rig
    doomed = workers.start("doomed", DUECALL_FAULT=f"{point}:{SMS_KILL_POINTS[point]}")
    try:
        assert doomed.wait(60) == -signal.SIGKILL
    except Exception:
        print(workers.log_of("doomed")[-3000:])
        raise
    assert f"SIGKILL at {point}" in workers.log_of("doomed")
    at_death = stored(db)
    last = max(at_death.attempts, key=lambda a: a.id)
    assert last.channel == "sms"
    if point == "sms_after_attempt_commit":
        assert last.provider_sid is None and last.status == "created"
    # (After the request, a status callback may already have linked the SID the worker never
    # stored: the race the ?attempt= parameter exists for.)

    workers.start("r1")
    workers.start("r2")
    try:
        wait_until_settled(db, ACCOUNTS)
    except AssertionError:
        for name in workers.procs:
            print(f"--- {name}\n{workers.log_of(name)[-3000:]}")
        raise
    assert set(workers.stop_all().values()) <= {0, -signal.SIGKILL}

    rows = stored(db)
    sent = Counter(m.to for m in list(carrier.sim.messages.values()))
    assert all(n == 1 for n in sent.values()), f"a number texted twice: {sent}"
    assert all(a.final for a in rows.attempts)
    by_contact = Counter(a.contact_id for a in rows.attempts)
    assert set(by_contact.values()) == {1}, "no text is ever sent again after a crash"
    reasons = Counter(c.closed_reason for c in rows.contacts)
    if point == "sms_after_attempt_commit":
        # Whether the request left cannot be told (no lookup of texts by number): the attempt
        # is closed unresolved and never resent -- a missing reminder, not a duplicate one.
        (orphan,) = [a for a in rows.attempts if a.id == last.id]
        assert (orphan.status, orphan.outcome) == ("unknown", "unresolved")
        assert len(sent) == ACCOUNTS - 1 and reasons["sms_unresolved"] == 1
    else:
        # The SID never stored was linked by the status callbacks' ?attempt=.
        assert len(sent) == ACCOUNTS
        assert {a.provider_sid for a in rows.attempts} == set(carrier.sim.messages)
        assert reasons == Counter({"sms_delivered": ACCOUNTS})


def test_the_fault_spec_is_read_from_the_environment() -> None:
    assert not Faults.from_env({})
    faults = Faults.from_env({"DUECALL_FAULT": "after_claim:3", "DUECALL_CLAIM_JITTER_MS": "20"})
    assert (faults.point, faults.nth, faults.claim_jitter_ms) == ("after_claim", 3, 20)
    assert 0 <= faults.jitter_seconds() <= 0.02
    faults.hit("after_sid_stored")  # another point: nothing happens
    faults.hit("after_claim")
    faults.hit("after_claim")  # the 1st and 2nd time: nothing happens either
    sms = Faults.from_env({"DUECALL_FAULT": "sms_after_attempt_commit:2"})
    sms.hit("after_attempt_commit", "voice")  # a call: not counted
    sms.hit("after_attempt_commit", "voice")
    sms.hit("after_attempt_commit", "sms")  # the 1st text: nothing happens
    assert sms._seen == 1
    for bad in ("nowhere", "after_claim:x", "after_claim:0"):
        with pytest.raises(FaultSpecError):
            Faults.from_env({"DUECALL_FAULT": bad})
