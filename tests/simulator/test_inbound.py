"""Inbound calls and SMS from the simulator to the app's Voice and Messaging URLs."""

from __future__ import annotations

import base64

from werkzeug.test import Client as WerkzeugClient

from simulator import Persona
from tests.simulator.harness import ACCOUNT_SID, APP_BASE, APP_NUMBER, AUTH_TOKEN, Harness

CALLER = "+14155550177"


def test_an_inbound_call_follows_the_key_script_and_is_signed(harness: Harness) -> None:
    call = harness.sim.place_inbound_call(
        CALLER, APP_NUMBER, url=f"{APP_BASE}/voice/outbound", keys="1,wait 1,55#"
    )

    assert harness.recorder.paths() == ["/voice/outbound", "/voice/menu", "/voice/pin"]
    first = harness.recorder.hits[0]
    assert first.params["Direction"] == "inbound"
    assert first.params["From"] == first.params["Caller"] == CALLER
    assert first.params["To"] == first.params["Called"] == APP_NUMBER
    assert all(h.signature_ok for h in harness.recorder.hits)
    assert call.direction == "inbound"
    assert call.status == "completed"
    assert "[caller] presses 55#" in call.transcript


def test_an_inbound_call_uses_the_configured_voice_url_and_the_callers_persona(
    harness: Harness,
) -> None:
    harness.sim.voice_url = f"{APP_BASE}/voice/outbound"
    harness.sim.set_persona(CALLER, Persona.hangs_up_after(1))

    call = harness.sim.place_inbound_call(CALLER, APP_NUMBER)

    assert call.transcript[-2] == "[callee] hangs up after 1 prompt(s)"


def test_an_inbound_sms_posts_twilios_parameters_and_keeps_the_reply(harness: Harness) -> None:
    message = harness.sim.send_inbound_sms(CALLER, APP_NUMBER, "STOP", url=f"{APP_BASE}/sms")

    hit = harness.recorder.at("/sms")[0]
    assert hit.signature_ok and not hit.signature_with_wrong_token_ok
    assert hit.params["Body"] == "STOP"
    assert hit.params["From"] == CALLER
    assert hit.params["To"] == APP_NUMBER
    assert hit.params["MessageSid"] == hit.params["SmsSid"] == message.sid
    assert hit.params["AccountSid"] == ACCOUNT_SID
    assert hit.params["NumMedia"] == "0"
    assert message.reply is not None and "Got: STOP" in message.reply
    assert message.direction == "inbound"


def test_the_control_endpoint_places_an_inbound_call_and_returns_its_transcript(
    harness: Harness,
) -> None:
    auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    response = WerkzeugClient(harness.sim.wsgi_app).post(
        "/_simulator/inbound/calls",
        data={"From": CALLER, "To": APP_NUMBER, "Url": f"{APP_BASE}/voice/outbound", "Keys": "1"},
        headers={"Authorization": f"Basic {auth}"},
    )
    assert response.status_code == 201
    body = response.json
    assert body is not None
    assert body["direction"] == "inbound"
    assert "[caller] presses 1" in body["transcript"]
    transcript = WerkzeugClient(harness.sim.wsgi_app).get(
        f"/_simulator/calls/{body['sid']}/transcript", headers={"Authorization": f"Basic {auth}"}
    )
    assert transcript.json is not None and transcript.json["status"] == "completed"
    unauthenticated = WerkzeugClient(harness.sim.wsgi_app).post("/_simulator/inbound/calls")
    assert unauthenticated.status_code == 401


def test_stop_blocks_later_texts_with_21610_until_start(harness: Harness) -> None:
    """Twilio's default opt-out handling on long codes, which duecall must cope with."""
    from twilio.base.exceptions import TwilioRestException

    harness.sim.send_inbound_sms(CALLER, APP_NUMBER, " Stop. ", url=f"{APP_BASE}/sms")
    try:
        harness.client.messages.create(to=CALLER, from_=APP_NUMBER, body="reminder")
    except TwilioRestException as exc:
        assert (exc.status, exc.code) == (400, 21610)
    else:
        raise AssertionError("a text to an opted-out recipient was accepted")
    # Another sender is not blocked; START lifts the block.
    assert harness.client.messages.create(to=CALLER, from_="+15005550007", body="x").sid
    harness.sim.send_inbound_sms(CALLER, APP_NUMBER, "START", url=f"{APP_BASE}/sms")
    sent = harness.client.messages.create(
        to=CALLER, from_=APP_NUMBER, body="reminder", validity_period=600
    )
    assert sent.status == "queued"
    harness.sim.run_until_idle()
    assert harness.sim.errors == []  # ValidityPeriod is understood, not flagged
