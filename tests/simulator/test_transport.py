"""Signing and transports: what goes on the wire is what Twilio would send."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from simulator import (
    PersonaError,
    WebhookRequest,
    WsgiTransport,
    build_request,
    serve,
)
from tests.simulator.harness import ACCOUNT_SID, AUTH_TOKEN

PARAMS = {
    "CallSid": "CA" + "1" * 32,
    "Digits": "12#",
    "Timestamp": "Sun, 01 Mar 2026 09:00:00 +0000",
}


def test_a_post_is_form_encoded_and_signed_over_url_and_sorted_params() -> None:
    url = "https://app.example.test/twilio/voice?attempt=7&x=a%20b"
    request = build_request("POST", url, PARAMS, AUTH_TOKEN)

    assert request.url == url
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert b"Digits=12%23" in request.body
    assert RequestValidator(AUTH_TOKEN).validate(url, PARAMS, request.headers["X-Twilio-Signature"])
    assert not RequestValidator("other").validate(
        url, PARAMS, request.headers["X-Twilio-Signature"]
    )


def test_a_get_appends_params_to_the_raw_query_and_signs_the_full_url() -> None:
    url = "https://app.example.test/twilio/voice?attempt=7&x=a%20b"
    request = build_request("get", url, PARAMS, AUTH_TOKEN)

    assert request.method == "GET"
    assert request.body == b""
    assert request.url.startswith(url + "&CallSid=")
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.validate(request.url, {}, request.headers["X-Twilio-Signature"])
    assert not validator.validate(url, {}, request.headers["X-Twilio-Signature"])


def test_the_wsgi_transport_delivers_scheme_host_path_raw_query_body_and_headers() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<Response/>"]

    request = build_request(
        "POST", "https://app.example.test/twilio/voice?attempt=7&x=a%20b", PARAMS, AUTH_TOKEN
    )
    response = WsgiTransport(app).send(request)

    assert (response.status, response.body, response.content_type) == (
        200,
        "<Response/>",
        "text/xml",
    )
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "app.example.test"
    assert seen["PATH_INFO"] == "/twilio/voice"
    assert seen["QUERY_STRING"] == "attempt=7&x=a%20b"
    assert seen["body"] == request.body
    assert seen["HTTP_X_TWILIO_SIGNATURE"] == request.headers["X-Twilio-Signature"]


def test_the_wsgi_transport_turns_an_app_crash_into_a_500() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise RuntimeError("boom")

    request = WebhookRequest("GET", "https://app.example.test/x", b"", {})
    assert WsgiTransport(app).send(request).status == 500


def test_serve_refuses_a_bad_personas_file_before_binding(tmp_path: Path) -> None:
    path = tmp_path / "personas.yaml"
    path.write_text("personas:\n  '+14155550101': grumpy\n", encoding="utf-8")
    with pytest.raises(PersonaError, match="grumpy"):
        serve("127.0.0.1", 0, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, personas_file=path)
