"""Menu key 4 through the simulator and the real webhooks: a repayment plan agreed on the
hotline in each language, refusals said in plain words, bad keys asked again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from simulator import SimCall, Simulator, WsgiTransport, create_simulator
from store.clock import FixedClock
from store.db import Database
from store.models import Account, AuditLog, OutboxItem, Plan, PlanInstallment, Promise
from tests.webhooks.voice_support import (
    ACCOUNT_SID,
    APP_NUMBER,
    EN_PHONE,
    PUBLIC,
    TOKEN,
    ZH_PHONE,
    make_app,
    seed,
)

EN_VERIFY = "7391,19710326"
ZH_VERIFY = "6058,19830819"


@pytest.fixture
def sim(db: Database, clock: FixedClock) -> Iterator[Simulator]:
    seed(db, clock.now())
    simulator = create_simulator(ACCOUNT_SID, TOKEN, transport=WsgiTransport(make_app(db, clock)))
    simulator.voice_url = f"{PUBLIC}/twilio/voice"
    yield simulator
    assert simulator.errors == []


def says(call: SimCall) -> list[str]:
    return [line.split("): ", 1)[1] for line in call.transcript if line.startswith("[app] Say(")]


def plans(db: Database) -> list[tuple[Plan, list[PlanInstallment]]]:
    with db.session(readonly=True) as s:
        found = []
        for plan in s.scalars(select(Plan).order_by(Plan.id)).all():
            items = s.scalars(
                select(PlanInstallment)
                .where(PlanInstallment.plan_id == plan.id)
                .order_by(PlanInstallment.seq)
            ).all()
            s.expunge_all()
            found.append((plan, list(items)))
        return found


def test_an_english_caller_hears_the_offers_picks_one_and_gets_a_plan_and_its_text(
    sim: Simulator, db: Database
) -> None:
    # Balance 4,823.17; cardholder's today 2026-11-29; first date a week later.
    call = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,1,1,hangup")

    heard = " ".join(says(call))
    assert "For 3 monthly payments of $1,607.72, the last one $1,607.73, first on December 6" in (
        heard
    )
    assert "For 6 monthly payments of $803.86, the last one $803.87, first on December 6" in heard
    assert "You agree to 3 monthly payments of $1,607.72, the last one $1,607.73" in heard
    assert "from December 6 to February 6" in heard
    assert "your repayment plan is set up. We will send you the details by text" in heard
    [(plan, items)] = plans(db)
    assert (plan.account_id, plan.status, plan.source, plan.frequency) == (
        "70000001",
        "active",
        "ivr",
        "monthly",
    )
    assert plan.total == Decimal("4823.17")
    assert [(i.due_date, i.amount) for i in items] == [
        (date(2026, 12, 6), Decimal("1607.72")),
        (date(2027, 1, 6), Decimal("1607.72")),
        (date(2027, 2, 6), Decimal("1607.73")),
    ]
    with db.session(readonly=True) as s:
        [text] = s.scalars(select(OutboxItem)).all()
        assert text.number == EN_PHONE
        assert text.payload["purpose"] == "plan_confirmation"
        assert "3 monthly payments of $1,607.72" in text.payload["body"]
        assert "Reply STOP to opt out." in text.payload["body"]
        assert s.scalar(select(AuditLog.action).where(AuditLog.entity_type == "plan")) == (
            "ivr.plan"
        )


def test_a_mandarin_caller_keys_a_number_of_installments_and_agrees_in_mandarin(
    sim: Simulator, db: Database
) -> None:
    # Balance 18,652.43 CNY in 4 monthly installments; a wrong key at the read-back is asked
    # again, 2 chooses again, then 9 and the count, 1 confirms.
    call = sim.place_inbound_call(
        ZH_PHONE, APP_NUMBER, keys=f"{ZH_VERIFY},4,9,4#,7,2,9,4#,1,hangup"
    )

    heard = " ".join(says(call))
    assert "分3期每月还款" in heard
    assert "您同意分4期每月还款，每期4663.10元，最后一期4663.13元" in heard
    assert "抱歉，您的选择无效。" in heard
    assert "您的分期还款计划已设立" in heard
    [(plan, items)] = plans(db)
    assert (plan.account_id, plan.installments, plan.currency) == ("70000002", 4, "CNY")
    assert sum((i.amount for i in items), Decimal(0)) == Decimal("18652.43")
    with db.session(readonly=True) as s:
        body = s.scalars(select(OutboxItem.payload)).one()["body"]
        assert "分4期每月还款" in body
        assert "回复TD退订" in body


def test_a_plan_replaces_the_open_promise(sim: Simulator, db: Database) -> None:
    sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},2,20261205,600#,1,hangup")
    sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,2,1,hangup")

    [(plan, _)] = plans(db)
    with db.session(readonly=True) as s:
        promise = s.scalars(select(Promise)).one()
        assert promise.status == "cancelled"
        assert plan.replaced_promise_id == promise.id


def test_a_count_out_of_range_is_said_and_asked_again_and_nothing_is_stored(
    sim: Simulator, db: Database
) -> None:
    call = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,9,40#,1#,hangup")

    heard = says(call)
    assert heard.count("Sorry, the number of payments must be from 2 to 12.") == 2
    assert plans(db) == []


def test_a_bankrupt_account_hears_why_and_is_offered_a_person(sim: Simulator, db: Database) -> None:
    with db.session() as s:
        s.execute(update(Account).values(status="bankrupt"))
    call = sim.place_inbound_call(ZH_PHONE, APP_NUMBER, keys=f"{ZH_VERIFY},4,#,hangup")

    heard = " ".join(says(call))
    assert "抱歉，此账户无法通过电话设立分期还款计划。" in heard
    assert "客服人员将尽快给您回电。" in heard
    assert plans(db) == []
    with db.session(readonly=True) as s:
        assert s.scalar(select(OutboxItem.id)) is None


def test_a_second_plan_is_refused_while_one_is_active(sim: Simulator, db: Database) -> None:
    sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,1,1,hangup")
    call = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,#,hangup")

    assert "You already have a repayment plan with us." in says(call)
    assert len(plans(db)) == 1
