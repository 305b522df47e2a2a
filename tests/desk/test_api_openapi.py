"""The running app's answers hold to docs/api/openapi.yaml, the API's public description.

Each response of the real app (create_app on a real database) is validated with openapi-core
against the description as shipped, with the request that produced it. A validator that
passes everything would make this test worthless, so the last tests show it refusing answers
that drifted from the description (a float for money, an unmasked number, a missing field).
"""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData
from werkzeug.test import TestResponse

from store.clock import FixedClock
from store.db import Database
from tests.desk.api_rig import (
    EN_ACCOUNT,
    MONDAY,
    build_app,
    call,
    escalate,
    new_token,
    promise,
    revoke,
)

DESCRIPTION = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
HOST = "http://localhost"


@functools.cache
def _openapi() -> OpenAPI:
    # from_file_path validates the description itself against the OpenAPI 3.1 schema first.
    return OpenAPI.from_file_path(str(DESCRIPTION))


def _check(
    method: str,
    url: str,
    response: TestResponse | None = None,
    *,
    token: str | None = None,
    body: Any = None,
    status: int | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Validate the request and the app's ``response`` to it (or the given body and status)."""
    parts = urlsplit(url)
    request = MockRequest(
        HOST,
        method.lower(),
        parts.path,
        args=dict(parse_qsl(parts.query)),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}"} if token else {},
        content_type="application/json",
    )
    if response is not None:
        data, status, headers = response.get_data(), response.status_code, dict(response.headers)
    assert data is not None and status is not None
    _openapi().validate_response(
        request,
        MockResponse(
            data, status_code=status, headers=headers or {}, content_type="application/json"
        ),
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> Flask:
    return build_app(db, clock, tmp_path)


def test_the_queue_answer_holds_to_the_description(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    token = new_token(db, clock)
    escalate(app)
    clock.set(MONDAY + timedelta(seconds=40))
    response = call(app, "GET", "/api/queue", token)
    assert response.status_code == 200
    assert any(q["callers"] for q in response.get_json()["queues"])
    _check("GET", "/api/queue", response, token=token)
    bad = call(app, "GET", "/api/queue?hours=999", token)
    assert bad.status_code == 400
    _check("GET", "/api/queue?hours=999", bad, token=token)


def test_promise_pages_hold_to_the_description(app: Flask, db: Database, clock: FixedClock) -> None:
    token = new_token(db, clock)
    for n in range(3):
        promise(db, MONDAY + timedelta(minutes=n), key=f"p{n}")
    first = call(app, "GET", "/api/promises?limit=2", token)
    assert first.get_json()["next"]
    _check("GET", "/api/promises?limit=2", first, token=token)
    url = first.get_json()["next"]
    last = call(app, "GET", url, token)
    assert last.get_json()["next"] is None and len(last.get_json()["items"]) == 1
    _check("GET", url, last, token=token)


def test_payment_answers_and_errors_hold_to_the_description(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    token = new_token(db, clock)
    body = {
        "payment_id": "B-1",
        "account_id": EN_ACCOUNT,
        "amount": "12.30",
        "paid_at": "2026-12-07",
    }
    for expected, sent in (
        (201, body),
        (200, body),
        (409, {**body, "amount": "12.31"}),
        (422, {**body, "amount": 12.3}),
        (422, {**body, "payment_id": "B-2", "account_id": "404"}),
    ):
        response = call(app, "POST", "/api/payments", token, json=sent)
        assert response.status_code == expected, response.get_data(as_text=True)
        _check("POST", "/api/payments", response, token=token, body=sent)
    revoke(db, clock)
    refused = call(app, "POST", "/api/payments", token, json=body)
    assert refused.status_code == 401
    _check("POST", "/api/payments", refused, token=token, body=body)


def _drifted(app: Flask, db: Database, clock: FixedClock) -> tuple[str, dict[str, Any]]:
    token = new_token(db, clock)
    body = {
        "payment_id": "B-9",
        "account_id": EN_ACCOUNT,
        "amount": "7.00",
        "paid_at": "2026-12-07",
    }
    response = call(app, "POST", "/api/payments", token, json=body)
    assert response.status_code == 201
    answer: dict[str, Any] = response.get_json()
    return token, answer


@pytest.mark.parametrize(
    "drift",
    [
        {"amount": 7.0},  # money as a float
        {"amount": "7"},  # money without its two places
        {"paid_at": "2026-12-07T14:30:00"},  # an instant without its offset
        {"extra": 1},  # a field the description does not know
        {"currency": None},
    ],
)
def test_the_validator_refuses_an_answer_that_drifted(
    app: Flask, db: Database, clock: FixedClock, drift: dict[str, Any]
) -> None:
    token, answer = _drifted(app, db, clock)
    with pytest.raises(InvalidData):
        _check(
            "POST",
            "/api/payments",
            token=token,
            body={
                "payment_id": "B-9",
                "account_id": EN_ACCOUNT,
                "amount": "7.00",
                "paid_at": "2026-12-07",
            },
            data=json.dumps({**answer, **drift}).encode(),
            status=201,
        )


def test_the_validator_refuses_an_unmasked_number_in_the_queue(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    token = new_token(db, clock)
    escalate(app)
    answer = call(app, "GET", "/api/queue", token).get_json()
    (queue,) = [q for q in answer["queues"] if q["callers"]]
    queue["callers"][0]["number"] = "+12125550123"
    with pytest.raises(InvalidData):
        _check("GET", "/api/queue", token=token, data=json.dumps(answer).encode(), status=200)
