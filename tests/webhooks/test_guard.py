"""Every /twilio route checks Twilio's signature, and a failing view still answers with TwiML."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from webhooks.guard import TwilioGuard

TOKEN = "test-auth-token"
PUBLIC = "https://duecall.example.com"


@pytest.fixture
def app() -> Flask:
    app = Flask("t")
    guard = TwilioGuard(TOKEN, PUBLIC)

    @app.route("/twilio/echo", methods=["GET", "POST"])
    @guard.webhook("voice")
    def echo() -> str:
        response = VoiceResponse()
        response.say("ok")
        return str(response)

    @app.post("/twilio/boom")
    @guard.webhook("voice")
    def boom() -> str:
        raise RuntimeError("database went away")

    @app.post("/twilio/boom-status")
    @guard.webhook("callback")
    def boom_status() -> str:
        raise RuntimeError("nope")

    return app


def sign(url: str, params: dict[str, str] | None = None) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, params or {}))


def test_a_signed_post_passes(app: Flask) -> None:
    form = {"CallSid": "CA1", "From": "+14155550123", "Digits": "1"}
    sig = sign(f"{PUBLIC}/twilio/echo?attempt=7", form)
    r = app.test_client().post(
        "/twilio/echo?attempt=7", data=form, headers={"X-Twilio-Signature": sig}
    )
    assert r.status_code == 200
    assert b"<Say>ok</Say>" in r.data


def test_forged_or_missing_signatures_get_403_and_the_checked_url_is_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    form = {"CallSid": "CA1", "Digits": "1"}
    client = app.test_client()
    assert client.post("/twilio/echo", data=form).status_code == 403
    forged = sign(f"{PUBLIC}/twilio/echo", {**form, "Digits": "2"})
    with caplog.at_level(logging.WARNING, logger="webhooks.guard"):
        r = client.post("/twilio/echo", data=form, headers={"X-Twilio-Signature": forged})
    assert r.status_code == 403
    assert f"checked URL {PUBLIC}/twilio/echo" in caplog.text
    # Signed for another host (e.g. the proxy's internal address): refused.
    other = sign("http://localhost/twilio/echo", form)
    assert (
        client.post("/twilio/echo", data=form, headers={"X-Twilio-Signature": other}).status_code
        == 403
    )


def test_a_signature_over_the_url_with_its_default_port_still_passes(app: Flask) -> None:
    # Twilio sometimes signs https://host:443/...; the guard tries the configured URL first
    # (one HMAC) and falls back to the SDK's check of both forms only when that fails.
    form = {"CallSid": "CA1", "Digits": "1"}
    client = app.test_client()
    with_port = sign("https://duecall.example.com:443/twilio/echo", form)
    assert (
        client.post("/twilio/echo", data=form, headers={"X-Twilio-Signature": with_port})
    ).status_code == 200
    # The same port on another path is still refused.
    elsewhere = sign("https://duecall.example.com:443/twilio/other", form)
    assert (
        client.post("/twilio/echo", data=form, headers={"X-Twilio-Signature": elsewhere})
    ).status_code == 403


def test_a_get_with_an_encoded_query_string_validates_against_the_raw_query(app: Flask) -> None:
    query = urlencode({"attempt": "7", "note": "a b/c&d"})  # attempt=7&note=a+b%2Fc%26d
    url = f"{PUBLIC}/twilio/echo?{query}"
    r = app.test_client().get(f"/twilio/echo?{query}", headers={"X-Twilio-Signature": sign(url)})
    assert r.status_code == 200
    # Negative control: the same query re-encoded differently is not what Twilio signed.
    reencoded = url.replace("a+b", "a%20b")
    r = app.test_client().get(
        f"/twilio/echo?{query}", headers={"X-Twilio-Signature": sign(reencoded)}
    )
    assert r.status_code == 403


def test_an_exception_in_a_voice_view_answers_200_with_an_apology(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    form = {"CallSid": "CA42", "From": "+14155550123"}
    with caplog.at_level(logging.ERROR, logger="webhooks.guard"):
        r = app.test_client().post(
            "/twilio/boom",
            data=form,
            headers={"X-Twilio-Signature": sign(f"{PUBLIC}/twilio/boom", form)},
        )
    assert r.status_code == 200
    assert r.mimetype == "application/xml"
    assert b"<Response><Say" in r.data and b"sorry" in r.data
    assert "CA42" in caplog.text
    assert "+14155550123" not in r.data.decode()


def test_an_exception_in_a_status_callback_answers_an_empty_200(app: Flask) -> None:
    form = {"CallSid": "CA1"}
    r = app.test_client().post(
        "/twilio/boom-status",
        data=form,
        headers={"X-Twilio-Signature": sign(f"{PUBLIC}/twilio/boom-status", form)},
    )
    assert (r.status_code, r.data) == (200, b"")
