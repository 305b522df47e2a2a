"""``/twilio/voice/status`` and ``/twilio/sms/status``: signed, idempotent, order-tolerant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from duecall.app import create_app
from store.clock import FixedClock
from store.db import Database
from store.models import Attempt
from store.models_dialer import CallbackEvent, CampaignRun, Contact
from tests.dialer.dialer_rig import (
    AUTH_TOKEN,
    PUBLIC_URL,
    add_account,
    settings_for,
    voice_campaign,
)

SID = "CA" + "a" * 32
NUMBER = "+12125550142"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> FlaskClient:
    app = create_app(settings_for([voice_campaign()]), db=db, clock=clock)
    return app.test_client()


@pytest.fixture
def attempt_id(db: Database, clock: FixedClock) -> int:
    """A call attempt of a waiting contact, recorded and committed, its SID never stored."""
    add_account(db, clock, "A1", NUMBER)
    now = clock.now()
    with db.session() as s:
        run = CampaignRun(
            campaign="voice-mid",
            slot_key="k",
            slot_at=now,
            trigger="manual",
            status="active",
            created_at=now,
            created_by="t",
            contacts_total=1,
        )
        s.add(run)
        s.flush()
        contact = Contact(
            run_id=run.id,
            campaign="voice-mid",
            account_id="A1",
            customer_id="A1",
            number=NUMBER,
            language="en-US",
            channel="voice",
            state="waiting",
            next_attempt_at=now,
            attempts_made=1,
            created_at=now,
            updated_at=now,
        )
        s.add(contact)
        s.flush()
        attempt = Attempt(
            account_id="A1",
            customer_id="A1",
            channel="voice",
            purpose="reminder",
            number=NUMBER,
            status="created",
            created_at=now,
            contact_id=contact.id,
        )
        s.add(attempt)
        s.flush()
        contact.current_attempt_id = attempt.id
        return attempt.id


def post(client: FlaskClient, attempt: int, form: dict[str, str], *, sign: bool = True) -> int:
    path = f"/twilio/voice/status?attempt={attempt}"
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{PUBLIC_URL}{path}", form
        )
    return client.post(path, data=form, headers=headers).status_code


def event(status: str, sequence: int, **extra: str) -> dict[str, str]:
    return {
        "CallSid": SID,
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "To": NUMBER,
        "From": "+18005550199",
        "CallbackSource": "call-progress-events",
        **extra,
    }


def stored(db: Database, attempt_id: int) -> tuple[Attempt, Contact, list[CallbackEvent]]:
    with db.session(readonly=True) as s:
        attempt = s.get(Attempt, attempt_id)
        assert attempt is not None and attempt.contact_id is not None
        contact = s.get(Contact, attempt.contact_id)
        assert contact is not None
        events = list(s.scalars(select(CallbackEvent).order_by(CallbackEvent.id)))
        s.expunge_all()
    return attempt, contact, events


def test_the_first_callback_links_the_sid_and_answered_arrives_as_in_progress(
    client: FlaskClient, db: Database, attempt_id: int
) -> None:
    assert post(client, attempt_id, event("initiated", 0)) == 204
    assert post(client, attempt_id, event("ringing", 1)) == 204
    assert post(client, attempt_id, event("in-progress", 2)) == 204
    attempt, contact, _ = stored(db, attempt_id)
    assert (attempt.provider_sid, attempt.status, attempt.final) == (SID, "in-progress", False)
    assert attempt.answered_at is not None and attempt.connected
    assert contact.state == "waiting"


def test_repeated_and_reordered_callbacks_never_double_count_nor_go_backwards(
    client: FlaskClient, db: Database, clock: FixedClock, attempt_id: int
) -> None:
    # "completed" overtakes the progress events, then everything is delivered again.
    post(client, attempt_id, event("completed", 3, CallDuration="42"))
    clock.advance(timedelta(seconds=5))
    for form in (
        event("ringing", 1),
        event("in-progress", 2),
        event("completed", 3, CallDuration="42"),
        event("initiated", 0),
        event("completed", 3, CallDuration="42"),
    ):
        assert post(client, attempt_id, form) == 204
    attempt, contact, events = stored(db, attempt_id)
    assert (attempt.status, attempt.final, attempt.duration_seconds) == ("completed", True, 42)
    assert attempt.last_sequence == 3
    assert attempt.outcome == "answered" and attempt.connected
    # The contact was settled once, by the first final event.
    assert (contact.state, contact.closed_reason) == ("done", "connected")
    assert [(e.sequence, e.effect) for e in events] == [
        (3, "applied"),
        (1, "stale"),
        (2, "stale"),
        (0, "stale"),
    ]
    # The late "in-progress" still told when the call was answered.
    assert attempt.answered_at is not None
    # Raw payloads are kept, numbers masked.
    assert events[0].payload["CallStatus"] == "completed"
    assert NUMBER not in str(events[0].payload) and "0142" in events[0].payload["To"]


def test_a_busy_call_is_retried_by_the_campaigns_rule(
    client: FlaskClient, db: Database, clock: FixedClock, attempt_id: int
) -> None:
    post(client, attempt_id, event("initiated", 0))
    post(client, attempt_id, event("busy", 1))
    attempt, contact, _ = stored(db, attempt_id)
    assert (attempt.status, attempt.outcome, attempt.connected) == ("busy", "busy", False)
    assert contact.state == "pending"
    assert contact.next_attempt_at == clock.now() + timedelta(minutes=30)


def test_an_unsigned_or_forged_callback_is_refused_and_changes_nothing(
    client: FlaskClient, db: Database, attempt_id: int
) -> None:
    assert post(client, attempt_id, event("completed", 3), sign=False) == 403
    forged = event("completed", 3)
    path = f"/twilio/voice/status?attempt={attempt_id}"
    signature = RequestValidator("wrong").compute_signature(f"{PUBLIC_URL}{path}", forged)
    assert (
        client.post(path, data=forged, headers={"X-Twilio-Signature": signature}).status_code == 403
    )
    attempt, _, events = stored(db, attempt_id)
    assert (attempt.status, attempt.provider_sid, events) == ("created", None, [])


def test_sms_status_moves_forward_only(
    client: FlaskClient, db: Database, clock: FixedClock, attempt_id: int
) -> None:
    with db.session() as s:
        attempt = s.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.channel = "sms"
    path = f"/twilio/sms/status?attempt={attempt_id}"
    for status in ("queued", "delivered", "sent", "delivered"):
        form = {"MessageSid": "SM" + "b" * 32, "MessageStatus": status, "To": NUMBER}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{path}", form)
        assert (
            client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code
            == 204
        )
    attempt, contact, events = stored(db, attempt_id)
    assert (attempt.status, attempt.final, attempt.outcome) == ("delivered", True, "delivered")
    assert contact.closed_reason == "sms_delivered"
    assert [e.effect for e in events] == ["applied", "applied", "stale"]


def test_an_undelivered_sms_keeps_its_error_code_and_is_retried_by_the_campaigns_rule(
    client: FlaskClient, db: Database, clock: FixedClock, attempt_id: int
) -> None:
    with db.session() as s:
        attempt = s.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.channel = "sms"
    path = f"/twilio/sms/status?attempt={attempt_id}"
    sid = "SM" + "c" * 32
    # Twilio reorders and repeats: the final status arrives first, then the stale ones.
    for status, code in (("undelivered", "30003"), ("sent", ""), ("undelivered", "30003")):
        form = {"MessageSid": sid, "MessageStatus": status, "To": NUMBER}
        if code:
            form["ErrorCode"] = code
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{path}", form)
        client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    attempt, contact, events = stored(db, attempt_id)
    assert (attempt.status, attempt.error_code, attempt.final) == ("undelivered", 30003, True)
    assert [e.effect for e in events] == ["applied", "stale"]  # the repeat was not stored again
    # 30003 (handset unreachable) may pass: the contact waits for the rule's delay (240 min).
    assert contact.state == "pending"
    assert contact.next_attempt_at == clock.now() + timedelta(minutes=240)
