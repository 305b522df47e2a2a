"""One worker keeps several REST requests open at once (``dialer.place_concurrency``): each
attempt is still paced, checked, recorded and committed before its request leaves, and every
request has its answer and its SID stored before the tick ends."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from dialer.compliance import load_history
from dialer.policy import PolicyProfile
from store.clock import FixedClock
from store.db import Database
from store.models import Account
from store.models_dialer import CampaignRun
from telephony.port import CallInfo, OutboundCall
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for, voice_campaign

CONTACTS = 24


class Overlap:
    """The adapter, counting how many place_call requests are open at once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.open = 0
        self.most = 0

    def place_call(self, call: OutboundCall) -> CallInfo:
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)
        try:
            info: CallInfo = self.inner.place_call(call)
            return info
        finally:
            with self.lock:
                self.open -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    for i in range(CONTACTS):
        add_account(db, clock, f"C{i:02d}", f"+1212555{i + 300:04d}")
    dialer = {
        "calls_per_second": 30,
        "max_concurrent_calls": 100,
        "place_concurrency": 6,
        "tick_seconds": 1,
    }
    yield from build_rig(db, clock, settings_for([voice_campaign()], dialer))


def test_requests_overlap_and_every_contact_is_placed_once_with_its_sid(rig: Rig) -> None:
    # Twilio answers a create in a quarter of a second, as over the internet.
    rig.sim.faults.delay("calls.create", 0.25)
    overlap = Overlap(rig.worker.dispatcher.telephony)
    rig.worker.dispatcher.telephony = overlap  # type: ignore[assignment]
    rig.worker.launch_scheduled("voice-mid")
    report = rig.worker.dispatcher.tick()
    assert report.placed == CONTACTS, report
    assert 1 < overlap.most <= 6, "several requests open at once, never more than configured"
    attempts = rig.attempts()
    assert len(attempts) == CONTACTS
    assert all(a.provider_sid and a.placed_at for a in attempts), "every SID stored in the tick"
    assert set(Counter(a.contact_id for a in attempts).values()) == {1}
    assert set(Counter(call.to for call in rig.sim.calls.values()).values()) == {1}
    rig.worker.dispatcher.close()


def test_a_request_held_back_after_a_stop_is_never_sent_and_counts_toward_no_cap(
    rig: Rig,
) -> None:
    # Queued behind requests in flight when the worker is told to stop (a Retry-After, refused
    # credentials): its attempt is closed as withheld, nothing is sent, no cap counts it, and the
    # contact is tried again.
    rig.worker.launch_scheduled("voice-mid")
    dispatcher = rig.worker.dispatcher
    ((contact_id, token),) = dispatcher.claim(_run_ids(rig), "voice", 1, rig.clock.now())
    prepared = dispatcher._prepare(contact_id, token, "voice")
    assert not isinstance(prepared, str)
    dispatcher._halted = True
    assert dispatcher._place_unless_halted(prepared) == "failed"
    assert rig.sim.calls == {}
    (attempt,) = rig.attempts()
    assert (attempt.outcome, attempt.final, attempt.provider_sid) == ("withheld", True, None)
    contact = next(c for c in rig.contacts().values() if c.id == contact_id)
    assert contact.state == "pending"
    with rig.db.session(readonly=True) as s:
        account = s.get_one(Account, contact.account_id)
        history = load_history(
            s, account, contact.number, rig.clock.now(), PolicyProfile.us_reg_f()
        )
    assert history.attempts == ()


def _run_ids(rig: Rig) -> list[int]:
    with rig.db.session(readonly=True) as s:
        return list(s.scalars(select(CampaignRun.id)))
