"""Exports for the bank's systems: exact columns and values, --since, streaming, empty tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from campaigns import exports
from campaigns.exports import COLUMNS, export_rows, export_value
from store.db import Database
from store.models import Account, Attempt, Promise, Suppression
from store.models_dialer import CampaignRun, Contact
from tests import factories


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _account(account_id: str, currency: str, timezone: str | None) -> Account:
    return factories.account(
        account_id,
        now=at(1, 0),
        name=f"Holder {account_id}",
        language="zh-CN" if currency == "CNY" else "en-US",
        timezone=timezone,
        currency=currency,
        balance="2000.00",
        minimum_due="50.00",
        due_date=date(2026, 11, 1),
        days_past_due=28,
        birth_date=date(1980, 1, 1),
        balance_as_of=date(2026, 11, 1),
    )


def _promise(
    account_id: str,
    amount: str,
    currency: str,
    due: date,
    created_at: datetime,
    status: str = "open",
) -> Promise:
    return Promise(
        account_id=account_id,
        customer_id=account_id,
        promised_date=due,
        amount=Decimal(amount),
        currency=currency,
        status=status,
        source="ivr",
        created_at=created_at,
        created_by="ivr",
        resolved_at=created_at if status == "cancelled" else None,
    )


def seed_store(db: Database, campaign: str = "mid-stage-voice") -> None:
    """Three accounts with attempts, promises, payments and suppressions, around 2026-11-29.

    Settled on 2026-11-29 with a grace of 2 days, the promises become: A1's 600.00 USD kept
    (paid that day), A2's 1,200.50 CNY broken (due 11-25), A3's 250.00 USD still open (100.00
    paid), and A1's earlier 50.00 stays cancelled.
    """
    with db.session() as s:
        s.add_all(
            [
                _account("A1", "USD", "America/New_York"),
                _account("A2", "CNY", "Asia/Shanghai"),
                _account("A3", "USD", None),
            ]
        )
        s.flush()
        run = CampaignRun(
            campaign=campaign,
            slot_key="2026-11-29T09:00 America/New_York",
            slot_at=at(29, 14),
            trigger="schedule",
            status="active",
            created_at=at(29, 14),
            created_by="worker-1",
            contacts_total=2,
        )
        s.add(run)
        s.flush()
        contacts = [
            Contact(
                run_id=run.id,
                campaign=campaign,
                account_id=account_id,
                customer_id=account_id,
                number=number,
                language="en-US",
                channel="voice",
                state=state,
                next_attempt_at=at(29, 14),
                created_at=at(29, 14),
                updated_at=at(29, 14),
            )
            for account_id, number, state in (
                ("A1", "+14155550123", "done"),
                ("A3", "+12125550199", "waiting"),
            )
        ]
        s.add_all(contacts)
        s.flush()
        s.add_all(
            [
                Attempt(
                    account_id="A1",
                    customer_id="A1",
                    channel="voice",
                    purpose="reminder",
                    number="+14155550123",
                    status="completed",
                    outcome="promise",
                    answered_by="human",
                    connected=True,
                    created_at=at(29, 14, 0),
                    ended_at=at(29, 14, 2),
                    duration_seconds=95,
                    contact_id=contacts[0].id,
                ),
                Attempt(
                    account_id="A2",
                    customer_id="A2",
                    channel="sms",
                    purpose="promise_confirmation",
                    number="+8613812345678",
                    status="undelivered",
                    outcome="failed",
                    connected=False,
                    error_code=30003,
                    created_at=at(28, 9),
                ),
                Attempt(
                    account_id="A3",
                    customer_id="A3",
                    channel="voice",
                    purpose="reminder",
                    number="+12125550199",
                    status="created",
                    created_at=at(29, 14, 30),
                    contact_id=contacts[1].id,
                ),
            ]
        )
        s.add_all(
            [
                _promise("A1", "50.00", "USD", date(2026, 12, 1), at(27, 16), "cancelled"),
                _promise("A1", "600.00", "USD", date(2026, 12, 5), at(29, 10)),
                _promise("A2", "1200.50", "CNY", date(2026, 11, 25), at(20, 3)),
                _promise("A3", "250.00", "USD", date(2026, 12, 10), at(28, 18)),
            ]
        )
        s.add_all(
            [
                factories.payment(pid, account_id, amount, paid_on=date(2026, 11, day))
                for pid, account_id, amount, day in (
                    ("PAY1", "A1", "600.00", 29),
                    ("PAY3", "A3", "100.00", 29),
                )
            ]
        )
        s.add_all(
            [
                Suppression(
                    kind="dnc",
                    account_id="A2",
                    reason="asked on the phone",
                    source="cli",
                    created_by="maria",
                    created_at=at(20, 9),
                    removed_at=at(25, 9),
                    removed_by="li",
                    removed_reason="consent given again",
                ),
                Suppression(
                    kind="optout-sms",
                    number="+12125550199",
                    reason="texted STOP",
                    source="sms",
                    created_by="cardholder",
                    created_at=at(29, 12),
                ),
            ]
        )


def rows(
    db: Database, kind: exports.ExportKind, since: date | None = None
) -> list[dict[str, exports.Value]]:
    with db.session(readonly=True) as s:
        return list(export_rows(s, kind, since=since))


def test_promises_export_exact_values_in_id_order(db: Database) -> None:
    seed_store(db)
    found = rows(db, "promises")
    assert [r["id"] for r in found] == [1, 2, 3, 4]
    assert found[1] == {
        "id": 2,
        "account_id": "A1",
        "promised_date": "2026-12-05",
        "amount": "600.00",
        "currency": "USD",
        "status": "open",
        "source": "ivr",
        "created_at": "2026-11-29T10:00:00+00:00",
        "paid_amount": "0.00",
        "resolved_at": None,
    }
    assert found[2]["amount"] == "1200.50"
    assert found[0]["resolved_at"] == "2026-11-27T16:00:00+00:00"
    assert all(tuple(r) == COLUMNS["promises"] for r in found)


def test_attempts_export_full_numbers_and_the_campaign_through_the_contact(db: Database) -> None:
    seed_store(db)
    found = rows(db, "attempts")
    assert found[0] == {
        "id": 1,
        "account_id": "A1",
        "channel": "voice",
        "purpose": "reminder",
        "number": "+14155550123",
        "status": "completed",
        "outcome": "promise",
        "answered_by": "human",
        "connected": True,
        "error_code": None,
        "created_at": "2026-11-29T14:00:00+00:00",
        "ended_at": "2026-11-29T14:02:00+00:00",
        "duration_seconds": 95,
        "campaign": "mid-stage-voice",
        "direction": "outbound",
        "conversation": False,
    }
    assert (found[1]["campaign"], found[1]["error_code"], found[1]["number"]) == (
        None,
        30003,
        "+8613812345678",
    )
    assert found[2]["outcome"] is None
    assert found[2]["campaign"] == "mid-stage-voice"


def test_optouts_export_every_suppression_with_its_removal(db: Database) -> None:
    seed_store(db)
    found = rows(db, "optouts")
    assert found == [
        {
            "id": 1,
            "kind": "dnc",
            "number": None,
            "account_id": "A2",
            "reason": "asked on the phone",
            "source": "cli",
            "created_by": "maria",
            "created_at": "2026-11-20T09:00:00+00:00",
            "removed_at": "2026-11-25T09:00:00+00:00",
            "removed_by": "li",
        },
        {
            "id": 2,
            "kind": "optout-sms",
            "number": "+12125550199",
            "account_id": None,
            "reason": "texted STOP",
            "source": "sms",
            "created_by": "cardholder",
            "created_at": "2026-11-29T12:00:00+00:00",
            "removed_at": None,
            "removed_by": None,
        },
    ]


def test_since_keeps_rows_created_on_or_after_that_utc_date(db: Database) -> None:
    seed_store(db)
    day = date(2026, 11, 29)
    assert [r["id"] for r in rows(db, "promises", day)] == [2]
    assert [r["id"] for r in rows(db, "attempts", day)] == [1, 3]
    assert [r["id"] for r in rows(db, "optouts", day)] == [2]
    assert [r["id"] for r in rows(db, "attempts", date(2026, 11, 28))] == [1, 2, 3]
    assert rows(db, "attempts", date(2026, 11, 30)) == []


def test_rows_stream_in_partitions_across_yield_per(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_store(db)
    monkeypatch.setattr(exports, "YIELD_PER", 2)
    with db.session(readonly=True) as s:
        stream = export_rows(s, "attempts")
        first = next(stream)
        assert first["id"] == 1
        assert [r["id"] for r in stream] == [2, 3]


def test_an_empty_table_exports_no_rows(db: Database) -> None:
    assert rows(db, "promises") == []
    assert rows(db, "attempts") == []
    assert rows(db, "optouts") == []


def test_values_are_converted_once_for_every_format() -> None:
    assert export_value(Decimal("600")) == "600.00"
    assert export_value(Decimal("0.10")) == "0.10"
    assert export_value(date(2026, 1, 2)) == "2026-01-02"
    assert (
        export_value(datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)) == "2026-01-02T03:04:05+00:00"
    )
    assert export_value(True) is True
    assert export_value(None) is None
    with pytest.raises(ValueError, match="naive"):
        export_value(datetime(2026, 1, 2))
