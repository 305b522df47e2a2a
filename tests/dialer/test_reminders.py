"""A month, day by day on the test clock: payment reminders on the right local days through the
worker's reminders and outbox jobs and the simulator, one plan completed, one broken, a promise
reminded, and the broken plan's account back in a campaign's segment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from campaigns.plans import NewPlan, create_plan
from campaigns.promises import NewPromise, record_promise
from campaigns.segments import segment_query
from dialer.reminders import PaymentReminders
from store.clock import FixedClock
from store.db import Database
from store.models import Attempt, OutboxItem, Phone, Plan, PlanInstallment
from tests import factories
from tests.dialer.dialer_rig import Rig, add_account, build_rig, settings_for

NY, SH = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
PAYER, LAPSER, PROMISER = "+12125550101", "+8613800138001", "+12125550103"


def after_break() -> dict[str, object]:
    return {
        "name": "after-break",
        "channel": "sms",
        "segment": {"dpd_min": 1, "dpd_max": 500, "broken_within_days": 30},
        "schedule": {"cron": "0 10 * * *", "timezone": "America/New_York"},
        "sms_template": {
            "en-US": "{business_name}: {first_name}, please call us about your account.",
            "zh-CN": "{business_name}：{first_name}您好，请致电我们。",
        },
    }


@pytest.fixture
def rig(db: Database, clock: FixedClock) -> Iterator[Rig]:
    # 2026-11-29 15:00 UTC: 10:00 in New York, 23:00 in Shanghai.
    add_account(db, clock, "A1", PAYER, balance="900.00")
    add_account(
        db, clock, "B2", LAPSER, balance="600.00", language="zh-CN", timezone="Asia/Shanghai"
    )
    add_account(db, clock, "C3", PROMISER, balance="400.00")
    yield from build_rig(db, clock, settings_for([after_break()]))


def agree(rig: Rig, account_id: str, count: int, first: date) -> None:
    with rig.db.session() as s:
        plan = create_plan(
            s,
            rig.settings.plans,
            NewPlan(account_id, count, "weekly", first, "agent", "agent:kim", f"plan-{account_id}"),
            now=rig.clock.now(),
        )
        assert isinstance(plan, Plan)


def texts_by_local_day(rig: Rig) -> dict[str, list[tuple[str, date]]]:
    """Each account's texts sent: (purpose, the cardholder's local date it went)."""
    zones = {"A1": NY, "B2": SH, "C3": NY}
    found: dict[str, list[tuple[str, date]]] = defaultdict(list)
    with rig.db.session(readonly=True) as s:
        for attempt in s.scalars(
            select(Attempt).where(Attempt.channel == "sms").order_by(Attempt.id)
        ):
            assert attempt.placed_at is not None
            local = attempt.placed_at.astimezone(zones[attempt.account_id]).date()
            found[attempt.account_id].append((attempt.purpose, local))
    return found


def test_a_month_of_reminders_one_plan_completed_one_broken_and_the_broken_one_back_in_a_segment(
    rig: Rig,
) -> None:
    reminders = rig.worker.reminders
    assert isinstance(reminders, PaymentReminders)
    agree(rig, "A1", 3, date(2026, 12, 3))  # 300.00 on Dec 3, 10, 17 (New York)
    agree(rig, "B2", 2, date(2026, 12, 5))  # 300.00 on Dec 5, 12 (Shanghai)
    with rig.db.session() as s:
        record_promise(
            s,
            NewPromise("C3", date(2026, 12, 10), Decimal("100.00"), "USD", "agent", "kim", "p3"),
            now=rig.clock.now(),
        )
    segment = rig.settings.campaigns[0].segment.model_copy(update={"broken_within_days": None})
    with rig.db.session(readonly=True) as s:
        selected = {
            row[0]
            for row in s.execute(
                segment_query(segment, today=date(2026, 11, 30), after=None, through=None)
            )
        }
        # An active plan or an open promise keeps an account out of a reminder campaign.
        assert selected == set()
    payments = {
        # A1 pays the first on its date, the second two days early, the third on its date.
        datetime(2026, 12, 3, 17, tzinfo=UTC): ("P1", date(2026, 12, 3)),
        datetime(2026, 12, 8, 17, tzinfo=UTC): ("P2", date(2026, 12, 8)),
        datetime(2026, 12, 17, 17, tzinfo=UTC): ("P3", date(2026, 12, 17)),
    }
    end = datetime(2026, 12, 29, 15, tzinfo=UTC)
    while rig.clock.now() < end:
        for at, (payment_id, paid_on) in list(payments.items()):
            if rig.clock.now() >= at:
                with rig.db.session() as s:
                    s.add(factories.payment(payment_id, "A1", "300.00", paid_on=paid_on))
                del payments[at]
        reminders.run()
        rig.worker.outbox.run()
        rig.sim.run_until_idle()
        rig.clock.advance(timedelta(hours=2))
    assert rig.sim_errors() == []

    sent = texts_by_local_day(rig)
    assert sent["A1"] == [
        ("installment_reminder", date(2026, 12, 2)),
        # None before December 10: paid on the 8th.
        ("installment_reminder", date(2026, 12, 16)),
    ]
    assert sent["B2"] == [
        ("installment_reminder", date(2026, 12, 4)),
        # Missed on the 9th (December 5 plus 3 days' grace): one "we did not receive" text,
        # and the plan broken with it, so no reminder for December 12.
        ("missed_reminder", date(2026, 12, 9)),
    ]
    assert sent["C3"] == [("promise_reminder", date(2026, 12, 9))]
    with rig.db.session(readonly=True) as s:
        plans = {p.account_id: p for p in s.scalars(select(Plan))}
        assert (plans["A1"].status, plans["A1"].resolved_on) == ("completed", date(2026, 12, 17))
        assert (plans["B2"].status, plans["B2"].resolved_on) == ("broken", date(2026, 12, 9))
        assert [
            i.status
            for i in s.scalars(
                select(PlanInstallment)
                .where(PlanInstallment.plan_id == plans["A1"].id)
                .order_by(PlanInstallment.seq)
            )
        ] == ["paid"] * 3
        bodies = {
            o.payload["purpose"]: o.payload["body"]
            for o in s.scalars(select(OutboxItem).where(OutboxItem.account_id == "B2"))
        }
        assert "我们未收到您于12月5日到期的分期还款" in bodies["missed_reminder"]
        assert "回复TD退订" in bodies["missed_reminder"]

    # After the break, the campaign for broken promises and plans takes B2 (and C3's broken
    # promise); A1 paid everything and is not taken.
    recent = segment.model_copy(update={"broken_within_days": 7})
    with rig.db.session(readonly=True) as s:
        query = segment_query(recent, today=date(2026, 12, 29), after=None, through=None)
        # Both broke more than 7 days before December 29.
        assert s.execute(query).all() == []
    result = rig.worker.launch_now("after-break", "test")
    assert result.created
    assert set(rig.contacts()) == {"B2", "C3"}


def test_a_reminder_goes_through_the_contact_policy_once_and_never_for_what_is_paid(
    rig: Rig,
) -> None:
    # C3 has no SMS consent recorded on its number: its reminder is denied by the policy.
    with rig.db.session() as s:
        s.execute(update(Phone).where(Phone.number == PROMISER).values(sms_consent=False))
        for account_id, promised in (("C3", date(2026, 12, 1)), ("A1", date(2026, 12, 1))):
            record_promise(
                s,
                NewPromise(
                    account_id, promised, Decimal("50.00"), "USD", "agent", "kim", account_id
                ),
                now=rig.clock.now(),
            )
        # A1 pays its promise in full before the reminder day.
        s.add(factories.payment("P1", "A1", "50.00", paid_on=date(2026, 11, 29)))
    reminders = rig.worker.reminders
    assert reminders is not None
    rig.clock.advance(timedelta(days=1))  # November 30, 10:00 in New York: the lead day
    first = reminders.run()
    again = reminders.run()
    rig.worker.outbox.run()
    rig.sim.run_until_idle()
    assert (first.queued, again.queued) == (1, 0)
    with rig.db.session(readonly=True) as s:
        [item] = s.scalars(select(OutboxItem)).all()
        assert (item.account_id, item.status) == ("C3", "denied")
        assert item.last_error is not None and "consent" in item.last_error
    assert rig.sim.messages == {}
