"""Segments and repayment plans: an active plan keeps an account out until it breaks; a segment
can take accounts whose promise or plan broke in the last N days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from campaigns.config import SegmentSettings
from campaigns.plan_settings import PlanSettings
from campaigns.plans import NewPlan, create_plan
from campaigns.segments import segment_query, still_eligible
from store.db import Database
from store.models import Account, Plan, Promise
from tests import factories

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)


def members(db: Database, segment: SegmentSettings, today: date = TODAY) -> set[str]:
    with db.session(readonly=True) as s:
        query = segment_query(segment, today=today, after=None, through=None)
        return {row[0] for row in s.execute(query)}


def seed(db: Database) -> None:
    with db.session() as s:
        for n, account_id in enumerate(("A1", "A2", "A3")):
            factories.add_account(s, account_id, f"+1212555010{n}", now=NOW, balance="900.00")
        plan = create_plan(
            s,
            PlanSettings(),
            NewPlan("A1", 3, "monthly", date(2026, 12, 6), "agent", "kim", "k1"),
            now=NOW,
        )
        assert isinstance(plan, Plan)


def test_an_active_plan_keeps_its_account_out_until_it_breaks(db: Database) -> None:
    seed(db)
    assert members(db, SegmentSettings()) == {"A2", "A3"}
    with db.session(readonly=True) as s:
        account = s.get_one(Account, "A1")
        assert still_eligible(s, SegmentSettings(), account) == "planned"
        assert still_eligible(s, SegmentSettings(exclude_open_promises=False), account) is None
    with db.session() as s:
        s.execute(update(Plan).values(status="broken", resolved_on=date(2026, 12, 10)))
    assert members(db, SegmentSettings()) == {"A1", "A2", "A3"}


def test_broken_within_days_takes_only_recent_breaks_of_plans_and_promises(db: Database) -> None:
    seed(db)
    with db.session() as s:
        s.execute(update(Plan).values(status="broken", resolved_on=date(2026, 12, 10)))
        s.add(
            Promise(
                account_id="A2",
                customer_id="A2",
                promised_date=date(2026, 12, 1),
                amount=100,
                currency="USD",
                status="broken",
                source="ivr",
                created_at=NOW,
                created_by="ivr",
                resolved_at=datetime(2026, 12, 4, 12, tzinfo=UTC),
            )
        )
    recent = SegmentSettings(broken_within_days=7)
    assert members(db, recent, today=date(2026, 12, 11)) == {"A1", "A2"}
    assert members(db, recent, today=date(2026, 12, 12)) == {"A1"}
    assert members(db, recent, today=date(2026, 12, 10) + timedelta(days=8)) == set()


def test_an_open_promise_past_its_date_keeps_its_account_out_until_judged(db: Database) -> None:
    seed(db)
    with db.session() as s:
        s.add(
            Promise(
                account_id="A2",
                customer_id="A2",
                promised_date=date(2026, 11, 27),
                amount=100,
                currency="USD",
                status="open",
                source="ivr",
                created_at=NOW,
                created_by="ivr",
            )
        )
    # Two days after its date: in its grace, waiting for the payment to post.
    assert members(db, SegmentSettings()) == {"A3"}
    with db.session() as s:
        s.execute(update(Promise).values(status="broken", resolved_at=NOW))
    assert members(db, SegmentSettings()) == {"A2", "A3"}
