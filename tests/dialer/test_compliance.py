"""The compliance gate loads the facts from the store, decides, and records every decision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.suppressions import add_suppression, remove_suppression
from dialer.compliance import check_contact
from dialer.policy import PolicyProfile
from store.db import Database
from store.models import Account, Attempt, ComplianceDecision
from tests import factories

NUMBER = "+12125550123"  # New York
# 2026-12-01 15:00 UTC = 10:00 in New York, a Tuesday.
NOON_ISH = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PROFILE = PolicyProfile.us_reg_f()


@pytest.fixture
def account(db: Database) -> Account:
    """A1 (customer C1) and its New York number: voice consent from the agreement, no SMS."""
    with db.session() as s:
        return factories.add_account(
            s,
            "A1",
            NUMBER,
            now=NOON_ISH,
            sms_consent=False,
            customer_id="C1",
            name="Pat Lee",
            timezone=None,
            balance="500.00",
            minimum_due="25.00",
            due_date=date(2026, 11, 1),
            days_past_due=30,
            birth_date=date(1980, 1, 2),
            balance_as_of=date(2026, 11, 30),
        )


def check(db: Database, channel: str = "voice", now: datetime = NOON_ISH) -> ComplianceDecision:
    with db.session() as s:
        acct = s.get_one(Account, "A1")
        _, row = check_contact(
            s,
            acct,
            NUMBER,
            channel,
            now=now,
            profile=PROFILE,
            context="test",  # type: ignore[arg-type]
        )
        return row


def test_an_allowed_call_is_recorded_with_its_rule_and_facts(
    db: Database, account: Account
) -> None:
    row = check(db)
    assert (row.allowed, row.rule) == (True, "allowed")
    with db.session(readonly=True) as s:
        stored = s.scalars(select(ComplianceDecision)).one()
        assert stored.number == NUMBER and stored.profile == "us_reg_f"
        assert stored.context == "test"
        assert "America/New_York" in str(stored.facts)


def test_missing_sms_consent_denies_and_is_recorded(db: Database, account: Account) -> None:
    row = check(db, "sms")
    assert (row.allowed, row.rule) == (False, "no_consent")


def test_a_suppression_added_then_removed_changes_the_decision(
    db: Database, account: Account
) -> None:
    with db.session() as s:
        add_suppression(
            s, kind="dnc", number=NUMBER, reason="asked", actor="t", source="test", now=NOON_ISH
        )
    assert check(db).rule == "dnc"
    with db.session() as s:
        add_suppression(
            s, kind="dispute", account_id="A1", reason="x", actor="t", source="test", now=NOON_ISH
        )
        assert (
            remove_suppression(
                s, kind="dnc", number=NUMBER, reason="resolved", actor="t", now=NOON_ISH
            )
            == 1
        )
    assert check(db).rule == "dispute"
    with db.session() as s:
        remove_suppression(
            s, kind="dispute", account_id="A1", reason="done", actor="t", now=NOON_ISH
        )
    assert check(db).rule == "allowed"


def test_attempts_in_the_store_feed_the_frequency_cap(db: Database, account: Account) -> None:
    with db.session() as s:
        for day in range(7):
            s.add(
                Attempt(
                    account_id="A1",
                    customer_id="C1",
                    channel="voice",
                    purpose="reminder",
                    number=NUMBER,
                    status="no-answer",
                    created_at=NOON_ISH - timedelta(days=day, hours=1),
                    final=True,
                )
            )
    row = check(db)
    assert (row.allowed, row.rule) == (False, "cap_7_in_7")
    assert row.next_allowed_at is not None and row.next_allowed_at > NOON_ISH


def test_an_unresolved_attempt_without_a_sid_counts_too(db: Database, account: Account) -> None:
    with db.session() as s:
        for day in range(7):
            s.add(
                Attempt(
                    account_id="A1",
                    customer_id="C1",
                    channel="voice",
                    purpose="reminder",
                    number=NUMBER,
                    status="created",  # recorded, never confirmed by Twilio
                    created_at=NOON_ISH - timedelta(days=day, hours=2),
                )
            )
    assert check(db).rule == "cap_7_in_7"


def test_a_closed_account_is_denied(db: Database, account: Account) -> None:
    with db.session() as s:
        s.get_one(Account, "A1").status = "charged_off"
    assert check(db).rule == "account_status"
