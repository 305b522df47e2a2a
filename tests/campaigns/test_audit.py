"""One person's timeline: every record about them, in order, with rules, facts and local times."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from campaigns.audit import Timeline, UnknownSubjectError, build_timeline, find_subject
from campaigns.audit_view import render_html, timeline_document
from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, handle_inbound_sms
from campaigns.promises import NewPromise, record_promise
from dialer import attempts
from dialer.compliance import load_facts, load_history, record_decision
from dialer.policy import PolicyProfile, decide
from dialer.timezones import resolve_zones
from store.db import Database
from store.models import Account
from store.models_ivr import IvrSession
from tests.factories import add_account, phone

#: The subject's number: a Seattle number (America/Los_Angeles) for a cardholder who declared
#: New York.
NUMBER = "+12065550173"
ALT = "+12125550199"
STRANGER = "+14155550100"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOTLINE_AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 New York
PROMISE_AT = datetime(2026, 12, 3, 15, 5, tzinfo=UTC)
STOP_AT = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
ALLOWED_AT = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)  # 14:00 New York, 11:00 Seattle
DENIED_AT = datetime(2026, 12, 4, 1, 55, tzinfo=UTC)  # 20:55 New York on the 3rd


def zones_for(number: str, declared: str | None) -> Sequence[str]:
    return resolve_zones(number, declared).names


def _ask_policy(s: Session, account_id: str, number: str, at: datetime) -> tuple[bool, int | None]:
    """Ask the real contact policy for a call and store its decision the way dispatch does:
    an allowed call gets its attempt recorded with the decision."""
    account = s.get(Account, account_id)
    assert account is not None
    profile = PolicyProfile.us_reg_f()
    facts = load_facts(s, account, number, "voice")
    decision = decide(facts, load_history(s, account, number, at, profile), at, profile)
    attempt_id = None
    if decision.allowed:
        attempt = attempts.record(
            s, account, channel="voice", purpose="reminder", number=number, now=at
        )
        attempts.mark_placed(attempt, sid=f"CA{attempt.id:032d}", status="queued", now=at)
        attempt.status, attempt.outcome, attempt.answered_by = "completed", "rpc", "human"
        attempt.connected, attempt.final = True, True
        attempt.answered_at, attempt.ended_at = (
            at + timedelta(seconds=20),
            at + timedelta(minutes=3),
        )
        attempt_id = attempt.id
    record_decision(
        s, decision, facts, now=at, profile=profile, context="dispatch", attempt_id=attempt_id
    )
    s.flush()
    return decision.allowed, attempt_id


def seed_person(db: Database, *, name: str = "Jane Doe") -> None:
    """Customer C1 with accounts A1 and A2 on one number (A1 also has an alt number), plus a
    stranger on another number: a verified hotline call, a promise, a STOP text, an allowed
    call and a call denied at 20:55 New York."""
    with db.session() as s:
        add_account(s, "A1", NUMBER, now=NOW, customer_id="C1", name=name)
        add_account(s, "A2", NUMBER, now=NOW, customer_id="C1", name=name)
        s.add(phone("A1", ALT, kind="alt", now=NOW))
        add_account(s, "B1", STRANGER, now=NOW, customer_id="C2", name="Other Person")
        s.flush()
        s.add(
            IvrSession(
                call_sid="CA" + "2" * 32,
                direction="inbound",
                state="menu",
                step=4,
                language="en-US",
                account_id="A2",
                verified=True,
                data={"caller": NUMBER, "call_sid": "CA" + "2" * 32},
                last_twiml="<Response/>",
                last_request={},
                created_at=HOTLINE_AT,
                updated_at=HOTLINE_AT + timedelta(minutes=4),
            )
        )
        record_promise(
            s,
            NewPromise(
                account_id="A2",
                promised_date=date(2026, 12, 10),
                amount=Decimal("120.00"),
                currency="USD",
                source="ivr",
                created_by="ivr",
                dedupe_key="promise-1",
                call_sid="CA" + "2" * 32,
            ),
            now=PROMISE_AT,
        )
        handle_inbound_sms(
            s,
            InboundSms(message_sid="SM" + "3" * 32, from_number=NUMBER, to_number=ALT, body="STOP"),
            now=STOP_AT,
            config=SmsSettings(),
            business_name="Acme",
            support_number="+18005550100",
        )
        assert _ask_policy(s, "A1", NUMBER, ALLOWED_AT)[0]
        assert not _ask_policy(s, "A1", NUMBER, DENIED_AT)[0]
        # Someone else's call on their own number: not part of C1's story.
        _ask_policy(s, "B1", STRANGER, ALLOWED_AT)


def timeline_of(
    db: Database,
    *,
    number: str | None = None,
    account_id: str | None = None,
    since: datetime | None = None,
) -> Timeline:
    with db.session(readonly=True) as s:
        subject = find_subject(s, number=number, account_id=account_id, zones_for=zones_for)
        return build_timeline(s, subject, since=since)


def test_a_number_resolves_to_the_person_and_every_zone_the_policy_binds(db: Database) -> None:
    seed_person(db)
    subject = timeline_of(db, number=NUMBER).subject
    assert subject.customers == ("C1",)
    assert subject.account_ids == ("A1", "A2")
    assert subject.numbers == (NUMBER, ALT)
    assert subject.zones == ("America/New_York", "America/Los_Angeles")


def test_the_timeline_lists_every_record_in_order_with_its_kind(db: Database) -> None:
    seed_person(db)
    entries = timeline_of(db, number=NUMBER).entries
    story = [(e.at, e.kind) for e in entries if e.kind != "audit"]
    assert story == [
        (HOTLINE_AT, "hotline-call"),
        (PROMISE_AT, "promise"),
        (STOP_AT, "inbound-text"),
        (STOP_AT, "suppression-added"),
        (ALLOWED_AT, "decision"),
        (ALLOWED_AT, "call"),
        (DENIED_AT, "decision"),
    ]
    audits = [e.summary for e in entries if e.kind == "audit"]
    assert any(s.startswith("ivr.promise on promise") for s in audits)
    assert any(s.startswith("suppression.add on suppression") for s in audits)
    assert all(e.account_id != "B1" for e in entries)
    assert "verified as account A2" in entries[0].summary
    stop = next(e for e in entries if e.kind == "inbound-text")
    assert stop.rule == "optout" and "STOP" in stop.summary
    added = next(e for e in entries if e.kind == "suppression-added")
    assert added.rule == "optout-sms" and added.facts["source"] == "sms"


def test_a_denied_call_carries_its_rule_reason_and_the_facts_the_policy_stored(
    db: Database,
) -> None:
    seed_person(db)
    denied = timeline_of(db, number=NUMBER).entries[-1]
    assert denied.kind == "decision"
    assert denied.rule == "us_reg_f/window_margin"
    assert denied.reason is not None and "20:55 America/New_York" in denied.reason
    assert denied.facts["allowed"] is False
    stored = denied.facts["facts"]
    assert stored["zones"] == ["America/New_York", "America/Los_Angeles"]
    assert stored["local_times"]["America/New_York"] == "2026-12-03T20:55:00-05:00"
    assert stored["local_times"]["America/Los_Angeles"] == "2026-12-03T17:55:00-08:00"
    assert stored["number"] == NUMBER  # the subject's own number is shown in full
    assert "policy denied a voice contact to +12065550173" in denied.summary


def test_the_allowed_call_shows_its_outcome_and_provider_sid(db: Database) -> None:
    seed_person(db)
    entries = timeline_of(db, number=NUMBER).entries
    decision, call = (e for e in entries if e.at == ALLOWED_AT)
    assert decision.rule == "us_reg_f/allowed"
    assert decision.facts["attempt_id"] == int(call.record.split("#")[1])
    assert call.facts["provider_sid"] == f"CA{int(call.record.split('#')[1]):032d}"
    assert call.facts["answered_by"] == "human" and call.facts["connected"] is True
    assert "outcome rpc" in call.summary


def test_json_renders_each_instant_in_utc_and_in_each_local_zone(db: Database) -> None:
    seed_person(db)
    document = timeline_document(timeline_of(db, number=NUMBER), generated_at=DENIED_AT)
    parsed = json.loads(json.dumps(document))
    assert parsed["subject"]["zones"] == ["America/New_York", "America/Los_Angeles"]
    assert parsed["subject"]["numbers"] == [NUMBER, "+1******0199"]
    last = parsed["entries"][-1]
    assert last["at"] == "2026-12-04T01:55:00+00:00"
    assert last["local"] == {
        "America/New_York": "2026-12-03T20:55:00-05:00",
        "America/Los_Angeles": "2026-12-03T17:55:00-08:00",
    }
    assert {"kind", "summary", "rule", "reason", "facts", "record", "account_id"} <= set(last)


def test_an_account_is_the_same_person_and_numbers_not_asked_about_are_masked(
    db: Database,
) -> None:
    seed_person(db)
    with db.session() as s:
        # A call about A2 to A1's alt number: denied (no consent there), its reason names it.
        _ask_policy(s, "A2", ALT, ALLOWED_AT + timedelta(hours=1))
    by_number = timeline_of(db, number=NUMBER)
    by_account = timeline_of(db, account_id="A2")
    assert by_account.subject.customers == ("C1",)
    assert [e.record for e in by_account.entries] == [e.record for e in by_number.entries]
    text = json.dumps(timeline_document(by_number, generated_at=NOW))
    assert ALT not in text and "+1******0199" in text
    assert NUMBER in text
    # Asked about A2, only A2's own number is in full.
    text = json.dumps(timeline_document(by_account, generated_at=NOW))
    assert NUMBER in text and ALT not in text


def test_since_keeps_what_happened_on_or_after_that_instant(db: Database) -> None:
    seed_person(db)
    since = datetime(2026, 12, 4, tzinfo=UTC)
    entries = timeline_of(db, number=NUMBER, since=since).entries
    assert [(e.at, e.kind) for e in entries] == [(DENIED_AT, "decision")]


def test_an_unknown_number_or_account_is_said_in_one_sentence(db: Database) -> None:
    seed_person(db)
    with pytest.raises(UnknownSubjectError, match=r"^no account and no record has the number"):
        timeline_of(db, number="+12065550999")
    with pytest.raises(UnknownSubjectError, match=r"^no account ZZ9$"):
        timeline_of(db, account_id="ZZ9")


def test_a_number_with_records_but_no_account_still_has_a_timeline(db: Database) -> None:
    seed_person(db)
    with db.session() as s:
        handle_inbound_sms(
            s,
            InboundSms(
                message_sid="SM" + "4" * 32,
                from_number="+13125550142",
                to_number=ALT,
                body="who is this?",
            ),
            now=STOP_AT,
            config=SmsSettings(),
            business_name="Acme",
            support_number="+18005550100",
        )
    timeline = timeline_of(db, number="+13125550142")
    assert timeline.subject.accounts == ()
    assert timeline.subject.zones == ("America/Chicago",)
    assert [e.kind for e in timeline.entries] == ["inbound-text"]


def test_html_is_one_escaped_page_without_scripts_or_external_assets(db: Database) -> None:
    seed_person(db, name="<script>alert(1)</script> `Jane`")
    page = render_html(timeline_of(db, number=NUMBER), title="audit", generated_at=DENIED_AT)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "`" not in page
    assert not re.search(r"(src|href)=", page)
    assert "2026-12-03 20:55 EST" in page and "2026-12-03 17:55 PST" in page
    assert page.count('<tr class="denied">') == 1


def test_a_repayment_plan_and_its_outcomes_are_in_the_accounts_trail(db: Database) -> None:
    from campaigns.plan_settings import PlanSettings
    from campaigns.plans import NewPlan, create_plan, evaluate_plans

    with db.session() as s:
        add_account(s, "P1", "+12125550177", now=NOW, customer_id="CP", balance="600.00")
        create_plan(
            s,
            PlanSettings(),
            NewPlan("P1", 2, "weekly", date(2026, 12, 3), "agent", "agent:kim", "kp"),
            now=NOW,
        )
    with db.session() as s:
        evaluate_plans(s, PlanSettings(), now=NOW + timedelta(days=10))
    summaries = [e.summary for e in timeline_of(db, account_id="P1").entries]
    assert "agent.plan on plan 1 by agent:kim" in summaries
    assert "installment.missed on plan 1 by plan-lifecycle" in summaries
    assert "plan.broken on plan 1 by plan-lifecycle" in summaries
