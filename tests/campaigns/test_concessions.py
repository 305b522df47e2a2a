"""Concessions in the store: granted, pending, approved, declined, refused; every stored
decision audited with who, role and reason; refusals store nothing; the export's rows."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from campaigns.audit import build_timeline, find_subject
from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import Actor, Terms
from campaigns.concessions import (
    NotAllowedError,
    NotFoundError,
    NotPendingError,
    Outcome,
    account_facts,
    approve,
    decline,
    list_concessions,
    offers_by_phone,
    propose,
)
from campaigns.exports import COLUMNS, export_rows
from campaigns.plan_settings import PlanSettings
from campaigns.plans import NewPlan, create_plan
from campaigns.reports import ReportDay, build_report
from campaigns.suppressions import add_suppression
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade
from store.models import AuditLog, Plan
from store.models_concessions import Concession
from tests import factories

AGENT = Actor("agent", "ana")
SUPERVISOR = Actor("supervisor", "sam")
OTHER_SUPERVISOR = Actor("supervisor", "sue")

SETTINGS = ConcessionSettings.model_validate(
    {
        "offers": {
            "late-fee-waiver": {
                "kind": "fee_waiver",
                "percent": 100,
                "self_service": True,
                "eligibility": {"min_days_past_due": 30, "once_every_days": 365},
                "limits": {"agent": {"max_amount": "50.00"}, "supervisor": {"max_amount": "500"}},
            },
            "interest-waiver": {
                "kind": "interest_waiver",
                "percent": 50,
                "limits": {"agent": {"max_percent": 50}, "supervisor": {"max_percent": 100}},
            },
            "hardship-rate": {
                "kind": "reduced_rate",
                "apr_bps": 990,
                "months": 6,
                "limits": {
                    "agent": {"min_apr_bps": 990, "max_months": 6},
                    "supervisor": {"min_apr_bps": 0, "max_months": 12},
                },
            },
            "settlement": {
                "kind": "settlement",
                "percent": 60,
                "due_within_days": 30,
                "limits": {"agent": {"max_percent": 40}, "supervisor": {"max_percent": 60}},
            },
        }
    }
)


@pytest.fixture
def seeded(db: Database, clock: FixedClock) -> Database:
    with db.session() as s:
        factories.add_account(
            s,
            "A1",
            "+14155550123",
            now=clock.now(),
            balance="1000.00",
            fees_due="39.00",
            interest_due="120.00",
            days_past_due=60,
            timezone="America/Los_Angeles",
        )
        factories.add_account(
            s, "A2", "+14155550124", now=clock.now(), fees_due="80.00", days_past_due=45
        )
    return db


def count(db: Database, model: type[Concession] | type[AuditLog]) -> int:
    with db.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def audit_rows(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.session(readonly=True) as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.entity_type == "concession").order_by(AuditLog.id)
        ).all()
        return [(a.action, a.actor, a.entity_id, a.detail) for a in rows]


def offer(
    db: Database,
    clock: FixedClock,
    account: str,
    name: str,
    terms: Terms = Terms(),  # noqa: B008 - frozen
    by: Actor = AGENT,
) -> Outcome:
    with db.session() as s:
        return propose(s, account, name, terms, by=by, settings=SETTINGS, now=clock.now())


def test_an_agent_within_the_limit_grants_and_the_terms_and_audit_are_stored(
    seeded: Database, clock: FixedClock
) -> None:
    outcome = offer(seeded, clock, "A1", "late-fee-waiver")
    assert outcome.status == "granted"
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, outcome.concession_id)
        assert (row.kind, row.status, row.amount, row.base) == (
            "fee_waiver",
            "granted",
            Decimal("39.00"),
            Decimal("39.00"),
        )
        assert (row.percent_bps, row.currency, row.customer_id) == (10_000, "USD", "A1")
        # 15:00 UTC is 07:00 in Los Angeles: still the 29th there.
        assert row.effective_date == date(2026, 11, 29)
        assert (row.requested_by, row.requested_role) == ("ana", "agent")
        assert (row.decided_by, row.decided_role, row.decided_at) == ("ana", "agent", clock.now())
        assert row.reason == "within the agent's limit"
    [(action, actor, entity, detail)] = audit_rows(seeded)
    assert (action, actor, entity) == ("concession.granted", "ana", str(row.id))
    assert detail["role"] == "agent"
    assert detail["reason"] == "within the agent's limit"
    assert detail["amount"] == "39.00"


def test_above_the_agents_limit_waits_for_a_supervisor_who_approves_with_a_reason(
    seeded: Database, clock: FixedClock
) -> None:
    pending = offer(seeded, clock, "A2", "late-fee-waiver")  # 80.00 > the agent's 50.00
    assert pending.status == "pending"
    concession_id = pending.concession_id
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, concession_id)
        assert (row.status, row.decided_by, row.amount) == ("pending", None, Decimal("80.00"))
    # A second request for the same offer waits behind the first.
    again = offer(seeded, clock, "A2", "late-fee-waiver")
    assert again.refusal.code == "already_pending"

    clock.advance(timedelta(days=2))
    with seeded.session() as s:
        done = approve(
            s,
            concession_id,
            by=SUPERVISOR,
            reason="long-standing customer",
            settings=SETTINGS,
            now=clock.now(),
        )
    assert done.status == "granted"
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, concession_id)
        assert (row.status, row.decided_by, row.decided_role) == ("granted", "sam", "supervisor")
        assert row.reason == "long-standing customer"
        assert row.effective_date == date(2026, 12, 1)  # from the approval, not the request
    actions = [(a, actor, d["role"], d["reason"]) for a, actor, _, d in audit_rows(seeded)]
    assert actions == [
        ("concession.requested", "ana", "agent", None),
        ("concession.approved", "sam", "supervisor", "long-standing customer"),
    ]


def test_a_supervisor_declines_with_a_reason_and_an_agent_cannot_decide(
    seeded: Database, clock: FixedClock
) -> None:
    pending = offer(seeded, clock, "A2", "late-fee-waiver")
    concession_id = pending.concession_id
    with seeded.session() as s:
        with pytest.raises(NotAllowedError) as info:
            approve(s, concession_id, by=AGENT, reason="ok", settings=SETTINGS, now=clock.now())
        assert info.value.code == "not_supervisor"
        with pytest.raises(NotAllowedError):
            decline(s, concession_id, by=AGENT, reason="no", now=clock.now())
        with pytest.raises(NotAllowedError) as info:
            decline(s, concession_id, by=SUPERVISOR, reason="  ", now=clock.now())
        assert info.value.code == "no_reason"
    with seeded.session() as s:
        outcome = decline(
            s, concession_id, by=SUPERVISOR, reason="paid late twice", now=clock.now()
        )
    assert outcome.status == "declined"
    with seeded.session() as s:
        with pytest.raises(NotPendingError):
            approve(s, concession_id, by=SUPERVISOR, reason="x", settings=SETTINGS, now=clock.now())
        with pytest.raises(NotFoundError):
            decline(s, 999, by=SUPERVISOR, reason="x", now=clock.now())
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, concession_id)
        assert (row.status, row.decided_by, row.reason) == ("declined", "sam", "paid late twice")
    assert [a for a, *_ in audit_rows(seeded)] == ["concession.requested", "concession.declined"]
    # Declined, the offer may be asked for again.
    assert offer(seeded, clock, "A2", "late-fee-waiver").status == "pending"


def test_a_supervisor_does_not_approve_their_own_request(
    seeded: Database, clock: FixedClock
) -> None:
    supervisor_as_agent = Actor("agent", "sam")
    pending = offer(seeded, clock, "A2", "late-fee-waiver", by=supervisor_as_agent)
    with seeded.session() as s, pytest.raises(NotAllowedError) as info:
        approve(
            s,
            pending.concession_id,
            by=SUPERVISOR,
            reason="mine",
            settings=SETTINGS,
            now=clock.now(),
        )
    assert info.value.code == "own_request"


def test_approving_checks_the_account_again_and_refuses_one_no_longer_eligible(
    seeded: Database, clock: FixedClock
) -> None:
    pending = offer(seeded, clock, "A2", "late-fee-waiver")
    concession_id = pending.concession_id
    with seeded.session() as s:
        add_suppression(
            s,
            kind="dispute",
            account_id="A2",
            reason="disputes the fee",
            source="cli",
            actor="ops",
            now=clock.now(),
        )
    with seeded.session() as s:
        outcome = approve(
            s,
            concession_id,
            by=OTHER_SUPERVISOR,
            reason="ok",
            settings=SETTINGS,
            now=clock.now(),
        )
    assert outcome.status == "refused"
    assert outcome.refusal is not None and outcome.refusal.code == "suppressed"
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, concession_id)
        assert (row.status, row.reason_code, row.decided_by) == ("refused", "suppressed", "sue")
        assert "dispute" in (row.reason or "")
    assert audit_rows(seeded)[-1][0] == "concession.refused"


@pytest.mark.parametrize(
    ("account", "name", "terms", "code"),
    [
        ("A1", "settlement", Terms(percent=Decimal("30")), "above_limit"),
        ("A1", "interest-waiver", Terms(amount=Decimal("500.00")), "above_due"),
        ("A2", "interest-waiver", Terms(), "not_on_file"),
        ("A1", "hardship-rate", Terms(amount=Decimal("5.00")), "bad_terms"),
    ],
)
def test_a_refusal_stores_nothing_and_says_why(
    seeded: Database, clock: FixedClock, account: str, name: str, terms: Terms, code: str
) -> None:
    outcome = offer(seeded, clock, account, name, terms)
    assert outcome.status == "refused"
    assert outcome.concession_id is None
    assert outcome.refusal.code == code
    assert outcome.refusal.reason
    assert count(seeded, Concession) == 0
    assert count(seeded, AuditLog) == 0


def test_unknown_offers_and_accounts_are_errors_that_store_nothing(
    seeded: Database, clock: FixedClock
) -> None:
    with pytest.raises(NotFoundError) as info:
        offer(seeded, clock, "A1", "free-money")
    assert "late-fee-waiver" in str(info.value)
    with pytest.raises(NotFoundError):
        offer(seeded, clock, "NOPE", "late-fee-waiver")
    assert count(seeded, Concession) == 0


def test_once_a_year_counts_from_the_last_one_given(seeded: Database, clock: FixedClock) -> None:
    assert offer(seeded, clock, "A1", "late-fee-waiver").status == "granted"
    clock.advance(timedelta(days=364))
    assert offer(seeded, clock, "A1", "late-fee-waiver").refusal.code == "too_soon"
    clock.advance(timedelta(days=1))
    assert offer(seeded, clock, "A1", "late-fee-waiver").status == "granted"


def test_payments_since_the_balance_date_lower_the_settlement(
    seeded: Database, clock: FixedClock
) -> None:
    with seeded.session() as s:
        s.add(factories.payment("P1", "A1", "200.00", paid_on=date(2026, 11, 30)))
    outcome = offer(seeded, clock, "A1", "settlement")
    agreed = outcome.agreed
    assert (agreed.base, agreed.amount, agreed.end_date) == (
        Decimal("800.00"),
        Decimal("480.00"),
        date(2026, 12, 29),
    )


def a_plan(db: Database, clock: FixedClock, account: str = "A1") -> int:
    new = NewPlan(
        account_id=account,
        installments=3,
        frequency="monthly",
        first_date=date(2026, 12, 6),
        source="agent",
        created_by="agent:ana",
        dedupe_key=f"plan-{account}",
    )
    with db.session() as s:
        plan = create_plan(s, PlanSettings(), new, now=clock.now())
        assert isinstance(plan, Plan), plan
        return plan.id


def test_a_reduced_rate_keeps_its_plan_and_dates(seeded: Database, clock: FixedClock) -> None:
    plan_id = a_plan(seeded, clock)
    outcome = offer(seeded, clock, "A1", "hardship-rate", Terms(plan_id=plan_id))
    with seeded.session(readonly=True) as s:
        row = s.get_one(Concession, outcome.concession_id)
        assert (row.apr_bps, row.months, row.plan_id) == (990, 6, plan_id)
        assert (row.effective_date, row.end_date) == (date(2026, 11, 29), date(2027, 5, 28))
        assert row.amount is None


def test_a_reduced_rate_runs_only_with_an_active_plan_of_the_same_account(
    seeded: Database, clock: FixedClock
) -> None:
    other = a_plan(seeded, clock, "A2")
    missing = offer(seeded, clock, "A1", "hardship-rate", Terms(plan_id=other))
    assert missing.refusal is not None and missing.refusal.code == "no_plan"
    plan_id = a_plan(seeded, clock)
    pending = offer(seeded, clock, "A1", "hardship-rate", Terms(apr_bps=0, plan_id=plan_id))
    assert pending.status == "pending"
    with seeded.session() as s:
        s.execute(text("UPDATE plans SET status = 'broken' WHERE id = :id"), {"id": plan_id})
    with seeded.session() as s:
        assert pending.concession_id is not None
        judged = approve(
            s, pending.concession_id, by=SUPERVISOR, reason="ok", settings=SETTINGS, now=clock.now()
        )
    assert judged.status == "refused"
    assert judged.refusal is not None and judged.refusal.code == "plan_not_active"


def test_the_self_service_offers_of_a_stored_account(seeded: Database, clock: FixedClock) -> None:
    with seeded.session(readonly=True) as s:
        [fee] = offers_by_phone(s, "A1", SETTINGS, now=clock.now())
        assert (fee.offer, fee.amount_minor, fee.currency) == ("late-fee-waiver", 3900, "USD")
        # A2's 80.00 is above what an agent, and so the hotline, may give.
        assert offers_by_phone(s, "A2", SETTINGS, now=clock.now()) == ()
        assert offers_by_phone(s, "NOPE", SETTINGS, now=clock.now()) == ()
    offer(seeded, clock, "A1", "late-fee-waiver")
    with seeded.session(readonly=True) as s:
        assert offers_by_phone(s, "A1", SETTINGS, now=clock.now()) == ()  # once a year


def test_a_suppression_on_the_number_counts_for_the_account(
    seeded: Database, clock: FixedClock
) -> None:
    with seeded.session() as s:
        add_suppression(
            s,
            kind="cease",
            number="+14155550123",
            reason="letter",
            source="cli",
            actor="ops",
            now=clock.now(),
        )
    with seeded.session(readonly=True) as s:
        facts = account_facts(s, "A1", now=clock.now())
        assert facts is not None and facts.suppressions == frozenset({"cease"})


def test_the_export_carries_the_agreed_terms_and_the_report_counts_what_was_granted(
    seeded: Database, clock: FixedClock
) -> None:
    offer(seeded, clock, "A1", "late-fee-waiver")
    offer(seeded, clock, "A1", "settlement")
    offer(seeded, clock, "A2", "late-fee-waiver")  # pending
    clock.advance(timedelta(days=1))
    offer(seeded, clock, "A1", "hardship-rate", Terms(months=9))  # pending
    with seeded.session(readonly=True) as s:
        rows = list(export_rows(s, "concessions"))
        assert [tuple(r) for r in rows] == [COLUMNS["concessions"]] * 4
        fee, settle, pending_fee, rate = rows
        assert {k: fee[k] for k in ("account_id", "kind", "amount", "percent", "status")} == {
            "account_id": "A1",
            "kind": "fee_waiver",
            "amount": "39.00",
            "percent": "100.00",
            "status": "granted",
        }
        assert (fee["effective_date"], fee["end_date"]) == ("2026-11-29", None)
        assert fee["decided_at"] == "2026-11-29T15:00:00+00:00"
        assert (settle["amount"], settle["base"], settle["end_date"]) == (
            "600.00",
            "1000.00",
            "2026-12-29",
        )
        assert (pending_fee["status"], pending_fee["decided_by"]) == ("pending", None)
        assert (rate["apr_bps"], rate["months"], rate["amount"]) == (990, 9, None)
        later = list(export_rows(s, "concessions", since=date(2026, 11, 30)))
        assert [r["id"] for r in later] == [rate["id"]]

        report = build_report(
            s, now=clock.now(), day=ReportDay(date(2026, 11, 29), ZoneInfo("America/New_York"))
        )
    lines = {(line.kind, line.currency): line for line in report.concessions}
    assert set(lines) == {("fee_waiver", "USD"), ("settlement", "USD")}
    assert (lines["fee_waiver", "USD"].today, lines["fee_waiver", "USD"].given_up_today) == (
        1,
        Decimal("39.00"),
    )
    assert lines["settlement", "USD"].given_up_all_time == Decimal("400.00")
    assert report.concessions_pending == 2


def test_list_filters_by_status_and_account(seeded: Database, clock: FixedClock) -> None:
    offer(seeded, clock, "A1", "late-fee-waiver")
    offer(seeded, clock, "A2", "late-fee-waiver")
    with seeded.session(readonly=True) as s:
        assert [r.account_id for r in list_concessions(s, status="pending")] == ["A2"]
        assert [r.status for r in list_concessions(s, account_id="A1")] == ["granted"]
        assert len(list_concessions(s)) == 2


def test_the_audit_trail_of_the_account_shows_each_concession_decision(
    seeded: Database, clock: FixedClock
) -> None:
    pending = offer(seeded, clock, "A2", "late-fee-waiver")
    with seeded.session() as s:
        decline(s, pending.concession_id or 0, by=SUPERVISOR, reason="no", now=clock.now())
    with seeded.session(readonly=True) as s:
        subject = find_subject(s, account_id="A2", zones_for=lambda number, declared: ())
        timeline = build_timeline(s, subject, since=None)
    said = [e.summary for e in timeline.entries if e.kind == "audit"]
    concession = pending.concession_id
    assert said == [
        f"concession.requested on concession {concession} by ana",
        f"concession.declined on concession {concession} by sam",
    ]
    declined = next(e for e in timeline.entries if "declined" in e.summary)
    assert declined.facts["role"] == "supervisor"
    assert declined.facts["reason"] == "no"


def test_two_agents_at_once_on_postgresql_give_the_offer_once(
    pg_url: str, clock: FixedClock
) -> None:
    """The second proposal waits for the first's commit (the account row is locked) and then
    sees it: once a year means once, however the two requests interleave."""
    db = Database(pg_url)
    try:
        upgrade(db)
        with db.session() as s:
            factories.add_account(
                s, "A1", "+14155550123", now=clock.now(), fees_due="39.00", days_past_due=60
            )
        second: list[Outcome] = []

        def propose_second() -> None:
            with db.session() as s2:
                second.append(
                    propose(
                        s2,
                        "A1",
                        "late-fee-waiver",
                        Terms(),
                        by=Actor("agent", "bo"),
                        settings=SETTINGS,
                        now=clock.now(),
                    )
                )

        with db.session() as s1:
            first = propose(
                s1,
                "A1",
                "late-fee-waiver",
                Terms(),
                by=AGENT,
                settings=SETTINGS,
                now=clock.now(),
            )
            holder = s1.execute(text("SELECT pg_backend_pid()")).scalar_one()
            thread = threading.Thread(target=propose_second)
            thread.start()
            # Wait until the second transaction is blocked by this one's lock on the account.
            blocked = text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
            )
            with db.engine.connect() as watcher:
                while not watcher.execute(blocked, {"pid": holder}).scalar():
                    assert thread.is_alive(), "the second proposal did not wait for the first"
                    watcher.rollback()
        thread.join()
        assert first.status == "granted"
        [outcome] = second
        assert outcome.status == "refused"
        assert outcome.refusal is not None and outcome.refusal.code == "too_soon"
        assert count(db, Concession) == 1
    finally:
        db.dispose()


def test_who_proposes_or_decides_needs_a_name(seeded: Database, clock: FixedClock) -> None:
    with pytest.raises(NotAllowedError) as info:
        offer(seeded, clock, "A1", "late-fee-waiver", by=Actor("agent", " "))
    assert info.value.code == "no_name"
    pending = offer(seeded, clock, "A2", "late-fee-waiver")
    with seeded.session() as s, pytest.raises(NotAllowedError):
        decline(
            s,
            pending.concession_id or 0,
            by=Actor("supervisor", "x" * 65),
            reason="no",
            now=clock.now(),
        )
    assert count(seeded, Concession) == 1
