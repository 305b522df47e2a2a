"""SMS campaigns end to end through the simulator: the notice, the validity, opt-outs between
sends, Twilio's 21610, and delivery failures that are retried or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.sms import count_segments
from simulator import Persona
from store.clock import FixedClock
from store.db import Database
from store.models import ComplianceDecision, Suppression
from tests.dialer.dialer_rig import PUBLIC_URL, Rig, add_account, build_rig, settings_for

READY, STOPPER, LANDLINE, OFF, BLOCKED = (
    "+12125550121",
    "+12125550122",
    "+12125550123",
    "+12125550124",
    "+12125550125",
)
CALLER_ID = "+18005550199"


def sms_campaign() -> dict[str, object]:
    return {
        "name": "sms-early",
        "channel": "sms",
        "segment": {"dpd_min": 1, "dpd_max": 29},
        "schedule": {"cron": "0 10 * * *", "timezone": "America/New_York"},
        "sms_template": {
            "en-US": "{business_name}: {first_name}, your payment of {minimum_due} is past due.",
            "zh-CN": "{business_name}：{first_name}您好，您的最低还款额{minimum_due}已逾期。",
        },
        "retry": {"sms_undelivered": {"delay_minutes": 60, "max": 1}},
        "max_attempts": 3,
    }


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    # clock: 2026-11-29 15:00 UTC = 10:00 in New York, the campaign's slot.
    for account_id, number in (
        ("S1", READY),
        ("S2", STOPPER),
        ("S3", LANDLINE),
        ("S4", OFF),
        ("S5", BLOCKED),
    ):
        add_account(db, clock, account_id, number, dpd=10)
    personas = {
        LANDLINE: Persona.no_sms("failed"),  # 30006: never retried
        OFF: Persona.no_sms("undelivered"),  # 30003: handset off, retried once
    }
    yield from build_rig(db, clock, settings_for([sms_campaign()]), personas)


def outbound_texts(rig: Rig, number: str) -> list[str]:
    return [
        m.body
        for m in rig.sim.messages.values()
        if m.direction == "outbound-api" and m.to == number
    ]


def run_day(rig: Rig, hours: float) -> None:
    end = rig.clock.now() + timedelta(hours=hours)
    while rig.clock.now() < end:
        rig.tick_until_idle()
        rig.worker.reconciler.run()
        rig.clock.advance(timedelta(minutes=15))


def test_an_sms_campaign_sends_with_the_notice_and_handles_every_delivery_outcome(
    rig: Rig,
) -> None:
    # Twilio already blocks one recipient (they texted STOP to the number long ago, before
    # duecall knew them): the send fails with 21610 and becomes a suppression.
    rig.sim.opted_out.add((BLOCKED, CALLER_ID))
    assert rig.worker.launch_scheduled("sms-early") is not None
    run_day(rig, hours=3)
    assert rig.sim_errors() == []

    (text,) = outbound_texts(rig, READY)
    assert text.endswith("Reply STOP to opt out.")
    assert text.startswith("Northwind Card Services: Jane, your payment of $35.00 is past due.")
    assert count_segments(text).count == 1

    # Undelivered because the handset was off (30003): retried once, an hour later, then given up.
    assert len(outbound_texts(rig, OFF)) == 2
    # A landline (30006): not retried.
    assert len(outbound_texts(rig, LANDLINE)) == 1
    assert outbound_texts(rig, BLOCKED) == []

    contacts = rig.contacts()
    assert contacts["S1"].closed_reason == "sms_delivered"
    assert contacts["S3"].closed_reason == "sms_failed"
    assert contacts["S4"].closed_reason == "sms_undelivered"
    assert contacts["S5"].state == "done"
    sms = {a.number: a for a in rig.attempts(channel="sms") if a.number != OFF}
    assert sms[LANDLINE].error_code == 30006
    assert sms[BLOCKED].error_code == 21610
    with rig.db.session(readonly=True) as s:
        kinds = s.execute(select(Suppression.number, Suppression.kind, Suppression.source)).all()
    assert [tuple(k) for k in kinds] == [(BLOCKED, "optout-sms", "twilio")]


def test_every_reminder_carries_a_validity_that_ends_with_the_calling_window(rig: Rig) -> None:
    sent: list[dict[str, list[str]]] = []
    original = rig.adapter.http_client.request

    def spy(method: str, url: str, params=None, data=None, **kwargs):  # type: ignore[no-untyped-def]
        if url.endswith("/Messages.json"):
            sent.append({k: [str(v)] for k, v in (data or {}).items()})
        return original(method, url, params, data, **kwargs)

    rig.adapter.http_client.request = spy  # type: ignore[method-assign]
    rig.worker.launch_scheduled("sms-early")
    rig.tick_until_idle()
    assert sent, "no SMS was sent"
    # 10:00 in New York, the window ends at 21:00: eleven hours, clamped to Twilio's ten.
    assert {s["ValidityPeriod"][0] for s in sent} == {"36000"}


def test_a_stop_between_two_campaign_sends_stops_the_second(rig: Rig) -> None:
    rig.worker.launch_scheduled("sms-early")
    run_day(rig, hours=1)
    assert len(outbound_texts(rig, STOPPER)) == 1

    message = rig.sim.send_inbound_sms(STOPPER, CALLER_ID, "stop", url=f"{PUBLIC_URL}/twilio/sms")
    assert message.reply is not None and "<Message>" not in message.reply  # Twilio confirms

    rig.clock.set(datetime(2026, 11, 30, 15, 5, tzinfo=UTC))  # the next day's 10:00 slot
    assert rig.worker.launch_scheduled("sms-early") is not None
    run_day(rig, hours=1)
    assert len(outbound_texts(rig, STOPPER)) == 1  # no second text
    assert len(outbound_texts(rig, READY)) == 2  # the others got theirs
    with rig.db.session(readonly=True) as s:
        denied = s.scalars(
            select(ComplianceDecision.rule).where(
                ComplianceDecision.number == STOPPER, ComplianceDecision.allowed.is_(False)
            )
        ).all()
    assert denied == ["optout_sms"]


def test_a_text_too_long_even_without_the_name_is_never_sent_and_closes_its_contact(
    rig: Rig,
) -> None:
    # A limit the real values cannot meet (here one segment for a text of two): the dispatcher
    # measures the text before it asks the policy, so no decision is stored and nothing is sent.
    rig.worker.dispatcher.sender = replace(rig.worker.dispatcher.sender, max_segments=1)
    campaign = rig.worker.dispatcher.campaigns["sms-early"]
    long = campaign.model_copy(
        update={"sms_template": {"en-US": "{business_name}: " + "x" * 150, "zh-CN": "x"}}
    )
    rig.worker.dispatcher.campaigns = {"sms-early": long}
    rig.worker.launch_scheduled("sms-early")
    rig.tick_until_idle()
    assert rig.sim.messages == {}
    assert {c.closed_reason for c in rig.contacts().values()} == {"sms_too_long"}
    with rig.db.session(readonly=True) as s:
        assert s.scalars(select(ComplianceDecision)).all() == []
