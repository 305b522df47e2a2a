"""The JSON API over HTTP: bearer tokens, the live queue, promises page by page, payments
posted idempotently and settling promises (desk/api_views.py, desk/api.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from store.clock import FixedClock
from store.db import Database
from store.models import AuditLog, Payment, Promise
from store.models_api import ApiToken
from tests.desk.api_rig import (
    EN_ACCOUNT,
    MONDAY,
    ZH_ACCOUNT,
    build_app,
    call,
    escalate,
    new_token,
    promise,
    revoke,
)
from tests.webhooks.voice_support import EN_PHONE


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> Flask:
    return build_app(db, clock, tmp_path)


@pytest.fixture
def token(db: Database, clock: FixedClock, app: Flask) -> str:
    return new_token(db, clock)


def _error(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()["error"]
    return body


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("path", ["/api/queue", "/api/promises"])
def test_an_api_call_without_a_token_is_401_with_a_bearer_challenge(app: Flask, path: str) -> None:
    response = call(app, "GET", path, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _error(response)["code"] == "unauthorized"


def test_a_payment_without_a_token_is_401_and_stores_nothing(app: Flask, db: Database) -> None:
    response = call(
        app,
        "POST",
        "/api/payments",
        None,
        json={
            "payment_id": "P1",
            "account_id": EN_ACCOUNT,
            "amount": "5.00",
            "paid_at": "2026-12-07",
        },
    )
    assert response.status_code == 401
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    "header", ["Bearer dc_not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "bearer  "]
)
def test_a_wrong_token_or_scheme_is_401(app: Flask, token: str, header: str) -> None:
    response = app.test_client().get("/api/queue", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _error(response)["code"] in ("unauthorized", "invalid_token")


def test_a_revoked_token_is_401_from_its_next_call(
    app: Flask, db: Database, clock: FixedClock, token: str
) -> None:
    assert call(app, "GET", "/api/queue", token).status_code == 200
    revoke(db, clock)
    response = call(app, "GET", "/api/queue", token)
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_call_stamps_the_tokens_last_use(
    app: Flask, db: Database, clock: FixedClock, token: str
) -> None:
    clock.set(MONDAY + timedelta(minutes=5))
    assert call(app, "GET", "/api/queue", token).status_code == 200
    with db.session(readonly=True) as s:
        row = s.scalars(select(ApiToken)).one()
    assert row.last_used_at == MONDAY + timedelta(minutes=5)
    assert token not in (row.token_hash, row.name)


# --------------------------------------------------------------------------- errors


def test_an_unknown_route_and_a_wrong_method_are_json(app: Flask, token: str) -> None:
    missing = call(app, "GET", "/api/nothing", token)
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong = call(app, "DELETE", "/api/queue", token)
    assert wrong.status_code == 405 and _error(wrong)["code"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "GET"
    get_payments = call(app, "GET", "/api/payments", token)
    assert get_payments.status_code == 405 and get_payments.headers["Allow"] == "POST"


# --------------------------------------------------------------------------- GET /api/queue


def test_the_queue_shows_an_escalated_caller_masked_with_position_and_wait(
    app: Flask, clock: FixedClock, token: str
) -> None:
    caller = escalate(app)
    clock.set(MONDAY + timedelta(seconds=95))
    response = call(app, "GET", "/api/queue", token)
    assert response.status_code == 200
    body = response.get_json()
    queues = {q["name"]: q for q in body["queues"]}
    en = queues["collections-en"]
    assert en["waiting"] == 1 and en["longest_wait_seconds"] == 95
    (waiting,) = en["callers"]
    assert waiting == {
        "position": 1,
        "kind": "caller",
        "status": "waiting",
        "number": "+1******0123",
        "language": "en-US",
        "verified": True,
        "reason": "agent",
        "enqueued_at": "2026-12-07T15:00:00+00:00",
        "waiting_seconds": 95,
    }
    text = response.get_data(as_text=True)
    assert EN_PHONE not in text and caller.call_sid not in text
    assert body["agents_by_state"]["available"] == 1
    assert body["agents"] == [
        {"name": "Ana", "state": "available", "since": "2026-12-07T15:00:00+00:00"}
    ]


def test_the_queue_refuses_a_bad_hours_value(app: Flask, token: str) -> None:
    response = call(app, "GET", "/api/queue?hours=0", token)
    assert response.status_code == 400 and _error(response)["code"] == "bad_parameter"


# --------------------------------------------------------------------------- GET /api/promises


def _five_promises(db: Database) -> list[int]:
    """Five promises made an hour apart on Monday, alternating the two accounts (each new one
    on an account replaces its open one, as every promise does)."""
    ids = []
    for n in range(5):
        when = MONDAY + timedelta(hours=n)
        account = EN_ACCOUNT if n % 2 == 0 else ZH_ACCOUNT
        ids.append(promise(db, when, account_id=account, amount=f"{10 + n}.50"))
    return ids


def test_promises_page_by_keyset_cursor_without_skipping_or_repeating(
    app: Flask, db: Database, clock: FixedClock, token: str
) -> None:
    ids = _five_promises(db)
    clock.set(MONDAY + timedelta(hours=6))
    first = call(app, "GET", "/api/promises?limit=2", token).get_json()
    assert [p["id"] for p in first["items"]] == ids[:2]
    assert first["items"][0] == {
        "id": ids[0],
        "account_id": EN_ACCOUNT,
        "promised_date": "2026-12-11",
        "amount": "10.50",
        "currency": "USD",
        "status": "cancelled",  # replaced by the account's later promise
        "source": "ivr",
        "created_at": "2026-12-07T15:00:00+00:00",
        "paid_amount": "0.00",
        "resolved_at": "2026-12-07T17:00:00+00:00",
    }
    # A promise made between pages lands on a later page, never shifts this one.
    later = promise(db, MONDAY + timedelta(hours=6), account_id=ZH_ACCOUNT, key="late")
    second = call(app, "GET", first["next"], token).get_json()
    assert [p["id"] for p in second["items"]] == ids[2:4]
    third = call(app, "GET", f"/api/promises?limit=2&cursor={second['next_cursor']}", token)
    rest = third.get_json()
    assert [p["id"] for p in rest["items"]] == [ids[4], later]
    assert rest["next"] is None and rest["next_cursor"] is None


def test_promises_since_keeps_those_made_at_or_after_it_across_pages(
    app: Flask, db: Database, token: str
) -> None:
    ids = _five_promises(db)
    since = (MONDAY + timedelta(hours=2)).isoformat()
    page = call(app, "GET", "/api/promises", token, query_string={"since": since, "limit": 2})
    body = page.get_json()
    assert [p["id"] for p in body["items"]] == ids[2:4]
    assert "since=" in body["next"]
    rest = call(app, "GET", body["next"], token).get_json()
    assert [p["id"] for p in rest["items"]] == ids[4:]
    whole_day = call(app, "GET", "/api/promises?since=2026-12-08", token).get_json()
    assert whole_day["items"] == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("since=yesterday", "bad_parameter"),
        ("since=2026-12-07T10:00:00", "bad_parameter"),  # no offset: ambiguous
        ("limit=0", "bad_parameter"),
        ("limit=501", "bad_parameter"),
        ("cursor=bm90LWEtY3Vyc29y", "bad_cursor"),
        ("cursor=%%%", "bad_cursor"),
    ],
)
def test_bad_paging_parameters_are_400(app: Flask, token: str, query: str, code: str) -> None:
    response = call(app, "GET", f"/api/promises?{query}", token)
    assert response.status_code == 400 and _error(response)["code"] == code


# --------------------------------------------------------------------------- POST /api/payments

PAYMENT = {
    "payment_id": "BANK-1001",
    "account_id": EN_ACCOUNT,
    "amount": "50.00",
    "paid_at": "2026-12-07T09:30:00-05:00",
}


def test_a_payment_is_201_then_the_same_body_is_200_with_the_same_answer(
    app: Flask, db: Database, token: str
) -> None:
    created = call(app, "POST", "/api/payments", token, json=PAYMENT)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json() == {
        "payment_id": "BANK-1001",
        "account_id": EN_ACCOUNT,
        "amount": "50.00",
        "currency": "USD",
        "paid_at": "2026-12-07T14:30:00+00:00",
        "paid_on": "2026-12-07",
        "created_at": "2026-12-07T15:00:00+00:00",
    }
    again = call(app, "POST", "/api/payments", token, json=PAYMENT)
    assert again.status_code == 200
    assert again.get_json() == created.get_json()
    with db.session(readonly=True) as s:
        stored = s.scalars(select(Payment)).one()
        assert stored.amount == Decimal("50.00") and stored.import_batch_id is None
        audit = s.scalars(select(AuditLog).where(AuditLog.entity_type == "payment")).all()
    assert [(a.actor, a.action) for a in audit] == [
        ("api:crm", "payment.api_created"),
        ("api:crm", "payment.api_replayed"),
    ]


@pytest.mark.parametrize(
    "change", [{"amount": "50.01"}, {"paid_at": "2026-12-06"}, {"currency": "CNY"}]
)
def test_other_content_for_a_known_payment_id_is_409_and_changes_nothing(
    app: Flask, db: Database, token: str, change: dict[str, str]
) -> None:
    assert call(app, "POST", "/api/payments", token, json=PAYMENT).status_code == 201
    conflict = call(app, "POST", "/api/payments", token, json={**PAYMENT, **change})
    assert conflict.status_code == 409 and _error(conflict)["code"] == "payment_conflict"
    with db.session(readonly=True) as s:
        stored = s.scalars(select(Payment)).one()
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "payment.api_refused")).one()
    assert (stored.amount, stored.currency) == (Decimal("50.00"), None)
    assert (refused.actor, refused.entity_id, refused.detail) == (
        "api:crm",
        "BANK-1001",
        {"status": 409, "code": "payment_conflict"},
    )


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"amount": 50.0}, "amount", "not a JSON number"),
        ({"amount": 50}, "amount", "not a JSON number"),
        ({"amount": "50.005"}, "amount", "at most 2 decimals"),
        ({"amount": "-5.00"}, "amount", "negative"),
        ({"amount": "0.00"}, "amount", "greater than zero"),
        ({"paid_at": "2026-12-09"}, "paid_at", "in the future"),
        ({"paid_at": "7 Dec"}, "paid_at", "not an ISO date"),
        ({"currency": "XXX"}, "currency", "unsupported"),
        ({"payment_id": "bad id!"}, "payment_id", ""),
        ({"account_id": 70000001}, "account_id", "must be a string"),
        ({"note": "hi"}, "note", "unknown field"),
    ],
)
def test_a_payment_the_import_would_reject_is_422_naming_the_field(
    app: Flask, db: Database, token: str, change: dict[str, object], field: str, reason: str
) -> None:
    response = call(app, "POST", "/api/payments", token, json={**PAYMENT, **change})
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_payment"
    assert reason in error["fields"][field]
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_missing_field_is_422(app: Flask, token: str) -> None:
    body = {k: v for k, v in PAYMENT.items() if k != "paid_at"}
    response = call(app, "POST", "/api/payments", token, json=body)
    assert response.status_code == 422 and _error(response)["fields"] == {"paid_at": "required"}


def test_a_payment_for_an_unknown_account_is_422(app: Flask, db: Database, token: str) -> None:
    response = call(app, "POST", "/api/payments", token, json={**PAYMENT, "account_id": "99999999"})
    assert response.status_code == 422
    assert _error(response)["code"] == "unknown_account"
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_body_that_is_not_json_is_400_415_or_413(app: Flask, token: str) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    form = client.post("/api/payments", headers=auth, data={"payment_id": "P1"})
    assert form.status_code == 415 and _error(form)["code"] == "unsupported_media_type"
    broken = client.post(
        "/api/payments", headers=auth, data="{not json", content_type="application/json"
    )
    assert broken.status_code == 400 and _error(broken)["code"] == "bad_json"
    listed = client.post("/api/payments", headers=auth, json=[PAYMENT])
    assert listed.status_code == 400 and _error(listed)["code"] == "bad_json"
    huge = client.post(
        "/api/payments",
        headers=auth,
        data=json.dumps({**PAYMENT, "note": "x" * 20_000}),
        content_type="application/json",
    )
    assert huge.status_code == 413 and _error(huge)["code"] == "body_too_large"


def test_a_payment_settles_the_open_promise_at_once(
    app: Flask, db: Database, clock: FixedClock, token: str
) -> None:
    made = promise(db, MONDAY - timedelta(hours=1), amount="50.00")
    response = call(app, "POST", "/api/payments", token, json=PAYMENT)
    assert response.status_code == 201
    with db.session(readonly=True) as s:
        kept = s.get(Promise, made)
        assert kept is not None
        assert (kept.status, kept.paid_amount) == ("kept", Decimal("50.00"))
    listed = call(app, "GET", "/api/promises", token).get_json()["items"]
    assert [(p["id"], p["status"], p["paid_amount"]) for p in listed] == [(made, "kept", "50.00")]


def test_a_read_without_a_cursor_breaks_a_promise_past_its_grace(
    app: Flask, db: Database, clock: FixedClock, token: str
) -> None:
    made = promise(db, MONDAY, amount="50.00")
    clock.set(datetime(2026, 12, 15, 15, 0, tzinfo=UTC))  # due the 11th, two days' grace
    (item,) = call(app, "GET", "/api/promises", token).get_json()["items"]
    assert (item["id"], item["status"]) == (made, "broken")


def test_a_failure_inside_the_api_is_a_json_500_without_a_trace(
    app: Flask, db: Database, token: str
) -> None:
    with db.session() as s:  # a real fault: the queue records are gone
        s.execute(text("DROP TABLE desk_queue_entries"))
    response = call(app, "GET", "/api/queue", token)
    assert response.status_code == 500
    assert _error(response) == {
        "code": "internal",
        "message": "the server failed; nothing was stored",
    }
    assert "Traceback" not in response.get_data(as_text=True)
