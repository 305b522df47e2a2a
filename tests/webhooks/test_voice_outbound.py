"""Answered reminder calls through the simulator: placed by the Twilio adapter, AMD redirects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import responses
from requests import PreparedRequest
from sqlalchemy import select
from werkzeug.test import Client

from duecall.wiring import build_telephony
from simulator import Persona, SimCall, Simulator, WsgiTransport, create_simulator, parse_key_script
from store.clock import FixedClock
from store.db import Database
from store.models import Attempt
from store.models_dialer import CallbackEvent
from store.models_ivr import IvrSession
from telephony.port import OutboundCall
from tests.webhooks.voice_support import (
    ACCOUNT_SID,
    EN_PHONE,
    PUBLIC,
    TOKEN,
    ZH_PHONE,
    add_attempt,
    make_app,
    make_settings,
    seed,
    sign,
)


@dataclass
class Carrier:
    sim: Simulator
    db: Database
    now: FixedClock

    def call(self, account_id: str, number: str, persona: Persona) -> tuple[SimCall, Attempt]:
        """Record the attempt, place the call with the adapter, play it to its end."""
        self.sim.set_persona(number, persona)
        attempt_id = add_attempt(self.db, self.now.now(), account_id, number)
        info = build_telephony(make_settings()).place_call(
            OutboundCall(to=number, attempt_id=attempt_id)
        )
        self.sim.run_until_idle()
        with self.db.session(readonly=True) as s:
            attempt = s.get(Attempt, attempt_id)
            assert attempt is not None
            s.expunge(attempt)
        return self.sim.calls[info.sid], attempt


@pytest.fixture
def carrier(db: Database, clock: FixedClock) -> Iterator[Carrier]:
    seed(db, clock.now())
    app = make_app(db, clock)
    sim = create_simulator(ACCOUNT_SID, TOKEN, transport=WsgiTransport(app))
    rest = Client(sim.wsgi_app)

    def forward(request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        # The HTTP seam: the adapter's requests go to the simulator's REST app in process.
        parts = urlsplit(request.url or "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = rest.open(
            parts.path,
            method=request.method or "GET",
            query_string=parts.query,
            data=body or b"",
            headers=dict(request.headers),
        )
        return answer.status_code, dict(answer.headers), answer.get_data()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(r"http://sim\.test/.*"), callback=forward)
        yield Carrier(sim, db, clock)
    assert sim.errors == []


def says(call: SimCall) -> list[str]:
    return [line.split("): ", 1)[1] for line in call.transcript if line.startswith("[app] Say(")]


def test_a_machine_gets_the_limited_content_message_and_the_call_hangs_up(
    carrier: Carrier,
) -> None:
    call, attempt = carrier.call("70000001", EN_PHONE, Persona.voicemail())
    assert says(call) == [
        "Hello, this is Alex Morgan from Northwind Card Services. Please call us back at "
        "8 0 0, 5 5 5, 0 1 0 0. Thank you."
    ]
    assert "[app] Hangup" in call.transcript
    assert not any("Marguerite" in line for line in call.transcript)
    assert (attempt.answered_by, attempt.outcome, attempt.connected) == (
        "machine_end_beep",
        "voicemail_left",
        False,
    )


def test_a_person_is_verified_then_hears_the_reminder_and_the_menu(carrier: Carrier) -> None:
    persona = Persona(answered_by="human", keys=parse_key_script("1,7391,19710326,1,hangup"))
    call, attempt = carrier.call("70000001", EN_PHONE, persona)
    heard = says(call)
    assert heard[0].startswith(
        "Hello, this is Northwind Card Services. This call is for Marguerite."
    )
    assert "Your balance is $4,823.17." in heard
    assert heard.index("Your balance is $4,823.17.") > heard.index("Thank you, you are verified.")
    assert any("redirected by REST update" in line for line in call.transcript)
    assert (attempt.answered_by, attempt.connected, attempt.outcome) == ("human", True, "rpc")


def test_a_wrong_party_in_mandarin_hears_nothing_about_the_account(carrier: Carrier) -> None:
    persona = Persona(answered_by="unknown", keys=parse_key_script("2"))
    call, attempt = carrier.call("70000002", ZH_PHONE, persona)
    heard = says(call)
    assert len(heard) == 2 and "这通电话是找欧阳娜娜的" in heard[0]
    assert heard[1] == "谢谢您告知，打扰您了，再见。"
    assert not any("元" in line or "6058" in line for line in heard)
    assert (attempt.connected, attempt.outcome) == (True, "wrong_party")


def test_a_late_amd_verdict_is_recorded_and_changes_nothing(carrier: Carrier) -> None:
    # The verdict comes after the bounded hold ran out (20 x 2 s): the call already got the
    # limited-content message; the verdict is stored on the attempt, the call is not redirected.
    persona = Persona(answered_by="human", amd_seconds=45.0)
    call, attempt = carrier.call("70000001", EN_PHONE, persona)
    heard = says(call)
    assert len(heard) == 1 and heard[0].startswith("Hello, this is Alex Morgan")
    assert any("AMD verdict human" in line for line in call.transcript)
    assert not any("redirected by REST update" in line for line in call.transcript)
    assert (attempt.answered_by, attempt.outcome) == ("human", "voicemail_left")
    with carrier.db.session(readonly=True) as s:
        session = s.get(IvrSession, call.sid)
        assert session is not None and session.state == "voicemail"


def test_an_amd_verdict_is_a_callback_event_stored_once_however_often_it_comes(
    carrier: Carrier,
) -> None:
    # Production's AMD route takes the receive step of every callback: stored (masked), linked,
    # deduplicated. Twilio delivering the verdict again stores nothing and redirects nothing.
    persona = Persona(answered_by="human", keys=parse_key_script("2"))
    call, attempt = carrier.call("70000001", EN_PHONE, persona)
    app = make_app(carrier.db, carrier.now)
    with carrier.db.session(readonly=True) as s:
        before = s.get(IvrSession, call.sid)
        assert before is not None
        step = before.step
    url = f"{PUBLIC}/twilio/voice/amd?attempt={attempt.id}"
    form = {"CallSid": call.sid, "AnsweredBy": "human", "To": EN_PHONE, "From": "+15005550006"}
    for _ in range(2):
        answer = app.test_client().post(
            url, data=form, headers={"X-Twilio-Signature": sign(url, form)}
        )
        assert answer.status_code == 204
    with carrier.db.session(readonly=True) as s:
        events = s.scalars(select(CallbackEvent).where(CallbackEvent.kind == "amd")).all()
        assert [(e.provider_sid, e.attempt_id, e.status, e.effect) for e in events] == [
            (call.sid, attempt.id, "human", "applied")
        ]
        assert EN_PHONE not in str(events[0].payload)
        after = s.get(IvrSession, call.sid)
        assert after is not None and after.step == step
