"""Dispatch: eligibility at dial time, pause and resume, unknown outcomes and the reconciler,
auto-pause, pacing -- all through the simulator."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import responses
from sqlalchemy import select

from dialer import control
from simulator import Persona
from store.clock import FixedClock
from store.db import Database
from store.models import Suppression
from store.models_dialer import CampaignControl
from telephony.errors import TransientError
from telephony.port import CallInfo, OutboundCall
from telephony.twilio_adapter import TwilioAdapter
from tests import factories
from tests.dialer.dialer_rig import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    PUBLIC_URL,
    Rig,
    add_account,
    build_rig,
    settings_for,
    voice_campaign,
)

NUMBERS = [f"+1212555{n:04d}" for n in range(110, 120)]


def make_rig(
    db: Database,
    clock: FixedClock,
    *,
    accounts: int = 3,
    dialer: dict[str, Any] | None = None,
    personas: dict[str, Persona] | None = None,
    auth_token: str = AUTH_TOKEN,
    numbers: list[str] | None = None,
) -> Iterator[Rig]:
    for i, number in enumerate((numbers or NUMBERS)[:accounts]):
        add_account(db, clock, f"A{i}", number)
    settings = settings_for([voice_campaign()], dialer)
    yield from build_rig(db, clock, settings, personas, auth_token=auth_token)


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    yield from make_rig(db, clock)


@pytest.fixture
def rigs() -> Iterator[Callable[..., Rig]]:
    """Build a rig with options; each is torn down after the test."""
    opened: list[Iterator[Rig]] = []

    def build(*args: Any, **kwargs: Any) -> Rig:
        generator = make_rig(*args, **kwargs)
        opened.append(generator)
        return next(generator)

    yield build
    for generator in opened:
        generator.close()


def test_a_payment_imported_between_launch_and_dial_stops_the_call(rig: Rig) -> None:
    rig.worker.launch_scheduled("voice-mid")
    with rig.db.session() as s:
        s.add(
            factories.payment(
                "P1", "A0", "500.00", paid_on=date(2026, 11, 28), paid_at=rig.clock.now()
            )
        )
        s.add(
            Suppression(
                kind="dnc",
                number=NUMBERS[1],
                reason="asked",
                source="cli",
                created_by="t",
                created_at=rig.clock.now(),
            )
        )
    rig.tick_until_idle()
    assert [a.number for a in rig.attempts()] == [NUMBERS[2]]
    contacts = rig.contacts()
    assert contacts["A0"].closed_reason == "ineligible_paid"
    assert contacts["A1"].closed_reason == "denied_dnc"
    assert len(rig.sim.calls) == 1


def test_pause_stops_dispatch_at_once_and_resume_restarts_it(rig: Rig) -> None:
    rig.worker.launch_scheduled("voice-mid")
    with rig.db.session() as s:
        control.pause(s, "voice-mid", reason="ops", actor="t", now=rig.clock.now())
    assert rig.tick_until_idle() == 0
    # A worker that claimed before the pause still checks it before dialing.
    claimed = rig.worker.dispatcher.claim(_run_ids(rig), "voice", 1, rig.clock.now())
    with rig.db.session() as s:
        control.resume(s, "voice-mid", actor="t", now=rig.clock.now())
        control.pause(s, "*", reason="all stop", actor="t", now=rig.clock.now())
    assert rig.worker.dispatcher._dial_one(*claimed[0], "voice") == "released"
    assert rig.attempts() == []
    with rig.db.session() as s:
        control.resume(s, "*", actor="t", now=rig.clock.now())
    assert rig.tick_until_idle() == 3
    assert len(rig.attempts()) == 3


def _run_ids(rig: Rig) -> list[int]:
    return sorted({c.run_id for c in rig.contacts().values()})


class TimesOutAfterPlacing:
    """The adapter, except that the first place_call's answer is lost after Twilio acted."""

    def __init__(self, rig: Rig) -> None:
        self.inner = rig.adapter
        self.lost = 0

    def place_call(self, call: OutboundCall) -> CallInfo:
        info = self.inner.place_call(call)
        if self.lost == 0:
            self.lost += 1
            raise TransientError("place call: read timed out", outcome_unknown=True)
        return info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_lost_answer_is_linked_by_the_first_callback_and_never_redialed(rig: Rig) -> None:
    rig.worker.dispatcher.telephony = TimesOutAfterPlacing(rig)  # type: ignore[assignment]
    rig.worker.launch_scheduled("voice-mid")
    report = rig.worker.dispatcher.tick()
    assert report.unknown == 1
    unknown = [a for a in rig.attempts() if a.status == "unknown"]
    assert len(unknown) == 1 and unknown[0].provider_sid is None
    assert rig.tick_until_idle() == 0, "the unresolved contact is not dialed again"
    rig.sim.run_until_idle()
    (linked,) = [a for a in rig.attempts() if a.id == unknown[0].id]
    assert linked.provider_sid in rig.sim.calls and linked.final
    assert len(rig.sim.calls) == 3


def test_the_reconciler_closes_an_attempt_whose_sid_was_never_stored(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(
        db,
        clock,
        accounts=2,
        dialer={"autopause": {"missing_callbacks_in_a_row": 2}},
    )
    rig.worker.dispatcher.telephony = TimesOutAfterPlacing(rig)  # type: ignore[assignment]
    # Twilio's callbacks are refused (a wrong public URL: 403s), so only the reconciler learns.
    rig.router.block_status = True
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    attempts = rig.attempts()
    assert sorted((a.status, a.provider_sid is None) for a in attempts) == [
        ("queued", False),
        ("unknown", True),
    ]
    assert rig.worker.reconciler.run().closed == 0, "too early: it may still be ringing"
    clock.advance(timedelta(minutes=16))
    report = rig.worker.reconciler.run()
    assert (report.closed, report.linked) == (2, 1)
    attempts = rig.attempts()
    assert all(a.final and a.status == "completed" for a in attempts)
    assert {a.provider_sid for a in attempts} == set(rig.sim.calls)
    contacts = rig.contacts()
    # No AMD verdict reached the IVR either, so its silent hold ran out into the limited-content
    # message (safe for a machine and a person alike): each contact is retried as a machine.
    assert {(c.state, c.last_outcome) for c in contacts.values()} == {("pending", "voicemail_left")}
    # Two calls in a row ended without a callback reaching us: the campaign pauses, saying why.
    with db.session(readonly=True) as s:
        row = s.get(CampaignControl, "voice-mid")
        assert row is not None and row.paused
        assert "status callbacks are not reaching duecall" in (row.reason or "")


@responses.activate
def test_a_storm_of_invalid_numbers_pauses_the_campaign(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(
        db,
        clock,
        accounts=4,
        dialer={"autopause": {"invalid_numbers_in_a_row": 3}, "calls_per_second": 1},
    )
    # Twilio itself, at the HTTP seam: every call is refused as an invalid 'To' number.
    api = "https://api.twilio.invalid"
    rig.worker.dispatcher.telephony = TwilioAdapter(
        ACCOUNT_SID, AUTH_TOKEN, public_url=PUBLIC_URL, caller_id=CALLER_ID, api_url=api
    )
    responses.add(
        responses.POST,
        f"{api}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        status=400,
        json={
            "code": 21211,
            "message": "Invalid 'To' Phone Number: +1212555XXXX",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    contacts = rig.contacts()
    assert sorted(c.closed_reason or c.state for c in contacts.values()) == [
        "bad_number",
        "bad_number",
        "bad_number",
        "pending",
    ]
    assert all(a.error_code == 21211 and a.final for a in rig.attempts())
    assert len(responses.calls) == 3
    with db.session(readonly=True) as s:
        reason = control.paused_reason(s, "voice-mid")
    assert reason is not None and "21211" in reason and "3 in a row" in reason


def test_twilio_refusing_our_credentials_pauses_every_campaign(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(db, clock, auth_token="not-the-token")
    rig.worker.launch_scheduled("voice-mid")
    report = rig.worker.dispatcher.tick()
    assert report.placed == 0 and report.released >= 1
    with db.session(readonly=True) as s:
        reason = control.paused_reason(s, "voice-mid")
    assert reason is not None and reason.startswith("all campaigns: Twilio refused")
    assert rig.tick_until_idle() == 0
    contacts = rig.contacts()
    assert {c.state for c in contacts.values()} == {"pending"}, "no contact is lost"


def test_calls_are_paced_by_the_shared_budget_without_sleeping(
    db: Database, clock: FixedClock, rigs: Callable[..., Rig]
) -> None:
    rig = rigs(db, clock, accounts=6, dialer={"calls_per_second": 2})
    rig.worker.launch_scheduled("voice-mid")
    rig.tick_until_idle()
    placed = sorted(a.placed_at for a in rig.attempts() if a.placed_at)
    assert len(placed) == 6
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(placed)]
    assert min(gaps) >= 0.5
    assert rig.wait.waited and all(w <= 1.0 for w in rig.wait.waited)
    with db.session(readonly=True) as s:
        assert s.scalar(select(Suppression.id)) is None
