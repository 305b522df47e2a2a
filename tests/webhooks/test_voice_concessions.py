"""Self-service concessions after a repayment plan, through the simulator and the real
webhooks: offered one at a time in the caller's language, accepted or declined by key, and
recorded by the concessions' writer as the ``ivr`` actor."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from duecall.app import create_app
from simulator import SimCall, Simulator, WsgiTransport, create_simulator
from store.clock import FixedClock
from store.db import Database
from store.models import Account, AuditLog, Plan
from store.models_concessions import Concession
from tests.ivr.ivr_support import CONCESSIONS
from tests.webhooks.voice_support import (
    ACCOUNT_SID,
    APP_NUMBER,
    EN_PHONE,
    PUBLIC,
    TOKEN,
    ZH_PHONE,
    make_settings,
    seed,
)

EN_VERIFY = "7391,19710326"
ZH_VERIFY = "6058,19830819"


@pytest.fixture
def sim(db: Database, clock: FixedClock) -> Iterator[Simulator]:
    seed(db, clock.now())
    with db.session() as s:
        s.execute(update(Account).values(fees_due=Decimal("39.00")))
    settings = make_settings().model_copy(update={"concessions": CONCESSIONS})
    app = create_app(settings, db=db, clock=clock)
    simulator = create_simulator(ACCOUNT_SID, TOKEN, transport=WsgiTransport(app))
    simulator.voice_url = f"{PUBLIC}/twilio/voice"
    yield simulator
    assert simulator.errors == []


def says(call: SimCall) -> str:
    lines = [line.split("): ", 1)[1] for line in call.transcript if line.startswith("[app] Say(")]
    return " ".join(lines)


def concessions(db: Database) -> list[Concession]:
    with db.session(readonly=True) as s:
        found = list(s.scalars(select(Concession).order_by(Concession.id)).all())
        s.expunge_all()
        return found


def test_an_english_caller_accepts_the_fee_waiver_and_declines_the_rate(
    sim: Simulator, db: Database
) -> None:
    call = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,1,1,1,2,9,hangup")

    heard = says(call)
    assert "your repayment plan is set up" in heard
    assert "We can also waive your late fees of $39.00. To accept, press 1." in heard
    assert "Thank you, that is agreed." in heard
    assert "lower your interest rate to 9.90 percent for 6 months" in heard
    [waiver] = concessions(db)
    assert (waiver.account_id, waiver.offer, waiver.status) == (
        "70000001",
        "late-fee-waiver",
        "granted",
    )
    assert waiver.amount == Decimal("39.00")
    assert (waiver.requested_role, waiver.requested_by) == ("ivr", f"ivr:{call.sid}")
    with db.session(readonly=True) as s:
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_type == "concession")
        ).all()
        assert actions == ["concession.granted"]


def test_a_mandarin_caller_takes_the_reduced_rate_for_the_plans_term(
    sim: Simulator, db: Database
) -> None:
    # A wrong key on the first offer is asked again; 2 declines the waiver, 1 takes the rate.
    call = sim.place_inbound_call(ZH_PHONE, APP_NUMBER, keys=f"{ZH_VERIFY},4,1,1,7,2,1,hangup")

    heard = says(call)
    assert "我们还可以为您免除39.00元的滞纳金" in heard
    assert "抱歉，您的选择无效。" in heard
    assert "将年利率降至9.90%，为期6个月" in heard
    assert "谢谢，已为您办理。" in heard
    [rate] = concessions(db)
    with db.session(readonly=True) as s:
        plan_id = s.scalars(select(Plan.id).where(Plan.account_id == "70000002")).one()
    assert (rate.offer, rate.kind, rate.status) == ("hardship-rate", "reduced_rate", "granted")
    assert (rate.apr_bps, rate.months, rate.plan_id) == (990, 6, plan_id)


def test_no_offer_without_a_plan_agreed_and_none_that_the_account_does_not_qualify_for(
    sim: Simulator, db: Database
) -> None:
    with db.session() as s:
        s.execute(update(Account).values(fees_due=None))
    # The plan is read back and then declined: no plan, so no offer.
    declined = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,1,2,hangup")
    assert "We can also" not in says(declined)
    # No fees on file: only the rate is offered, and the caller goes back to the menu.
    call = sim.place_inbound_call(EN_PHONE, APP_NUMBER, keys=f"{EN_VERIFY},4,1,1,2,hangup")
    heard = says(call)
    assert "late fees" not in heard
    assert "lower your interest rate" in heard
    after_offer = heard[heard.index("lower your interest rate") :]
    assert "For your balance, due date and minimum payment, press 1." in after_offer
    assert concessions(db) == []
