"""The web edge under abuse: repeated fields, huge bodies, and values the store would refuse.

Each of these once broke something: a repeated field was an unsigned 500 with a traceback (the
validator got lists inside a plain dict); a 50 MB POST was read and kept in memory; a NUL or an
over-long value was accepted on SQLite and aborted the transaction on PostgreSQL, losing the
opt-out or the final status that came with it. They run on PostgreSQL in CI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from duecall.app import create_app
from store.clock import FixedClock
from store.db import Database
from store.models import Attempt, InboundMessage, Suppression
from store.models_dialer import CallbackEvent
from tests.dialer.dialer_rig import AUTH_TOKEN, PUBLIC_URL, settings_for, voice_campaign
from tests.webhooks.test_status_callbacks import SID, attempt_id, event, stored  # noqa: F401
from webhooks.guard import MAX_BODY_BYTES

ROUTES = [
    "/twilio/voice",
    "/twilio/voice/outbound?attempt=1",
    "/twilio/voice/amd?attempt=1",
    "/twilio/voice/status?attempt=1",
    "/twilio/sms",
    "/twilio/sms/status?attempt=1",
]


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    return create_app(settings_for([voice_campaign()]), db=db, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def signed_post(client: FlaskClient, path: str, pairs: list[tuple[str, str]]) -> tuple[int, str]:
    """POST ``pairs`` (repeats allowed) to ``path`` with Twilio's signature over all of them."""
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)

    class Multi(dict[str, list[str]]):
        def getlist(self, key: str) -> list[str]:
            return self[key]

    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{path}", Multi(form))
    answer = client.post(
        path,
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    return answer.status_code, answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ROUTES)
def test_a_repeated_field_with_any_signature_is_403_never_a_500(
    client: FlaskClient, path: str
) -> None:
    answer = client.post(
        path,
        data="Digits=1&Digits=2&CallSid=CA" + "a" * 32,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "forged"},
    )
    assert answer.status_code == 403


def test_a_correctly_signed_repeated_field_is_served(client: FlaskClient) -> None:
    status, body = signed_post(
        client,
        "/twilio/voice",
        [("CallSid", "CA" + "b" * 32), ("From", "+15550001111"), ("Digits", "1"), ("Digits", "2")],
    )
    assert status == 200
    assert ET.fromstring(body).tag == "Response"


@pytest.mark.parametrize("path", ROUTES)
def test_a_body_above_the_limit_is_refused_before_it_is_read(
    client: FlaskClient, path: str
) -> None:
    body = "Body=" + "x" * (MAX_BODY_BYTES + 1)
    answer = client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "anything"},
    )
    assert answer.status_code == 413


def test_a_text_with_a_nul_still_opts_the_number_out(client: FlaskClient, db: Database) -> None:
    status, _ = signed_post(
        client,
        "/twilio/sms",
        [
            ("MessageSid", "SM" + "c" * 32),
            ("From", "+12125550142"),
            ("To", "+15005550006"),
            ("Body", "STOP\x00"),
        ],
    )
    assert status == 200
    with db.session(readonly=True) as s:
        kinds = s.scalars(select(Suppression.kind).where(Suppression.number == "+12125550142"))
        assert list(kinds) == ["optout-sms"]
        (message,) = s.scalars(select(InboundMessage)).all()
        assert "\x00" not in message.body


def test_a_text_from_a_non_phone_address_is_not_stored(client: FlaskClient, db: Database) -> None:
    status, body = signed_post(
        client,
        "/twilio/sms",
        [
            ("MessageSid", "SM" + "d" * 32),
            ("From", "whatsapp:+12125550142"),
            ("To", "+15005550006"),
            ("Body", "STOP"),
        ],
    )
    assert status == 200 and ET.fromstring(body).tag == "Response"
    with db.session(readonly=True) as s:
        assert s.scalars(select(InboundMessage)).all() == []


def _post_status(client: FlaskClient, attempt: int, pairs: dict[str, str]) -> int:
    status, _ = signed_post(client, f"/twilio/voice/status?attempt={attempt}", list(pairs.items()))
    return status


def test_junk_in_a_status_callback_never_loses_the_final_status(
    client: FlaskClient,
    db: Database,
    attempt_id: int,  # noqa: F811
) -> None:
    assert _post_status(client, attempt_id, event("in-progress", 1, AnsweredBy="x" * 33)) == 204
    final = event("completed", 2, CallDuration="-5", AnsweredBy="human\x00")
    assert _post_status(client, attempt_id, final) == 204
    attempt, _, events = stored(db, attempt_id)
    assert (attempt.status, attempt.final) == ("completed", True)
    assert attempt.duration_seconds is None, "a negative duration is not believed"
    # The 33-character verdict was dropped; the NUL is stripped from the real one.
    assert attempt.answered_by == "human"
    assert all("\x00" not in str(e.payload) for e in events)


def test_a_huge_sequence_number_does_not_block_the_calls_later_callbacks(
    client: FlaskClient,
    db: Database,
    attempt_id: int,  # noqa: F811
) -> None:
    assert _post_status(client, attempt_id, event("ringing", 999_999_999_999)) == 204
    assert _post_status(client, attempt_id, event("in-progress", 2)) == 204
    assert _post_status(client, attempt_id, event("completed", 3, CallDuration="12")) == 204
    attempt, _, _ = stored(db, attempt_id)
    assert (attempt.status, attempt.duration_seconds, attempt.last_sequence) == (
        "completed",
        12,
        3,
    )


def test_a_callsid_that_is_not_one_is_ignored(
    client: FlaskClient,
    db: Database,
    attempt_id: int,  # noqa: F811
) -> None:
    pairs = event("completed", 1)
    pairs["CallSid"] = "CA" + "z" * 40
    assert _post_status(client, attempt_id, pairs) == 204
    with db.session(readonly=True) as s:
        assert s.scalars(select(CallbackEvent)).all() == []
        attempt = s.get(Attempt, attempt_id)
        assert attempt is not None and not attempt.final
