"""The REST subset: auth, errors, resources shaped like Twilio's spec, filters, updates."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from werkzeug.test import Client as WerkzeugClient
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WerkzeugResponse

from simulator import Persona, WsgiTransport, create_simulator
from tests.simulator.harness import (
    ACCOUNT_SID,
    APP_BASE,
    APP_NUMBER,
    AUTH_TOKEN,
    CALLEE,
    Harness,
    WsgiTwilioHttpClient,
)

BASE = f"/2010-04-01/Accounts/{ACCOUNT_SID}"

# Twilio's OpenAPI description of the Calls and Messages resources, as vendored (unchanged, with
# its licence) for the contract tests by scripts/vendor_twilio_spec.py.
TWILIO_SPEC = Path(__file__).resolve().parents[1] / "contract" / "twilio_api_v2010_subset.json"


def basic(user: str = ACCOUNT_SID, password: str = AUTH_TOKEN) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def rest(harness: Harness) -> WerkzeugClient:
    return WerkzeugClient(harness.sim.wsgi_app)


# Auth and errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, basic(password="wrong"), basic(user="AC" + "6" * 32), {"Authorization": "Bearer x"}],
)
def test_bad_credentials_get_401_with_twilios_error_body(
    harness: Harness, headers: dict[str, str]
) -> None:
    response = rest(harness).get(f"{BASE}/Calls.json", headers=headers)

    assert response.status_code == 401
    assert response.json == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_the_sdk_with_a_wrong_token_raises_20003(harness: Harness) -> None:
    client = Client(ACCOUNT_SID, "wrong", http_client=WsgiTwilioHttpClient(harness.sim.wsgi_app))
    with pytest.raises(TwilioRestException) as raised:
        client.calls.create(to=CALLEE, from_=APP_NUMBER, url=f"{APP_BASE}/voice/outbound")
    assert (raised.value.status, raised.value.code) == (401, 20003)


@pytest.mark.parametrize("to", ["not-a-number", "+1415555", "+999123456789"])
def test_an_invalid_to_number_is_21211(harness: Harness, to: str) -> None:
    with pytest.raises(TwilioRestException) as raised:
        harness.client.calls.create(to=to, from_=APP_NUMBER, url=f"{APP_BASE}/voice/outbound")
    assert (raised.value.status, raised.value.code) == (400, 21211)
    with pytest.raises(TwilioRestException) as raised_sms:
        harness.client.messages.create(to=to, from_=APP_NUMBER, body="hi")
    assert raised_sms.value.code == 21211
    assert harness.sim.calls == {}
    assert harness.sim.messages == {}


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": APP_NUMBER, "Url": f"{APP_BASE}/x"}, 21201),
        ({"To": CALLEE, "Url": f"{APP_BASE}/x"}, 21213),
        ({"To": CALLEE, "From": APP_NUMBER}, 21205),
        ({"To": CALLEE, "From": APP_NUMBER, "Url": "ftp://x"}, 21205),
        (
            {
                "To": CALLEE,
                "From": APP_NUMBER,
                "Url": f"{APP_BASE}/x",
                "StatusCallbackEvent": "hungup",
            },
            21626,
        ),
    ],
)
def test_call_create_refuses_what_twilio_refuses(
    harness: Harness, form: dict[str, str], code: int
) -> None:
    response = rest(harness).post(f"{BASE}/Calls.json", data=form, headers=basic())
    assert response.status_code == 400
    assert response.json is not None and response.json["code"] == code


def test_unknown_resources_are_20404(harness: Harness) -> None:
    response = rest(harness).get(f"{BASE}/Calls/CA{'0' * 32}.json", headers=basic())
    assert (response.status_code, response.json["code"]) == (404, 20404)  # type: ignore[index]
    other = rest(harness).get(f"/2010-04-01/Accounts/AC{'1' * 32}/Calls.json", headers=basic())
    assert other.status_code == 404


def test_undeclared_or_unsimulated_parameters_are_accepted_but_recorded(harness: Harness) -> None:
    form = {
        "To": CALLEE,
        "From": APP_NUMBER,
        "Url": f"{APP_BASE}/voice/outbound",
        "StatusCalback": f"{APP_BASE}/voice/status",
        "Record": "true",
    }
    response = rest(harness).post(f"{BASE}/Calls.json", data=form, headers=basic())
    assert response.status_code == 201
    messages = [e.message for e in harness.sim.errors]
    assert any("unknown parameter 'StatusCalback'" in m for m in messages)
    assert any("'Record' is not simulated" in m for m in messages)


def test_twiml_on_create_is_played_without_fetching(harness: Harness) -> None:
    created = harness.client.calls.create(
        to=CALLEE, from_=APP_NUMBER, twiml="<Response><Say>Inline</Say></Response>"
    )
    harness.sim.run_until_idle()
    assert harness.recorder.hits == []
    assert "[app] Say(en-US): Inline" in harness.sim.calls[created.sid].transcript


def test_url_and_twiml_together_play_the_url_as_twilio_does_and_are_flagged(
    harness: Harness,
) -> None:
    harness.client.calls.create(
        to=CALLEE, from_=APP_NUMBER, url=f"{APP_BASE}/voice/outbound", twiml="<Response/>"
    )
    harness.sim.run_until_idle()
    assert harness.recorder.paths()[0] == "/voice/outbound"
    assert any("both Url and Twiml" in e.message for e in harness.sim.errors)


# Resources against Twilio's OpenAPI description -------------------------------------------------


@pytest.fixture(scope="module")
def twilio_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(TWILIO_SPEC.read_text(encoding="utf-8"))
    return spec


@pytest.fixture(scope="module")
def openapi(twilio_spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(twilio_spec)


def check_against_spec(
    openapi: OpenAPI,
    spec: dict[str, Any],
    method: str,
    path: str,
    response: WerkzeugResponse,
    schema_name: str,
    items_key: str | None = None,
) -> None:
    """openapi-core validation, plus what validators skip: every returned key must be declared."""
    environ = EnvironBuilder(path=path, base_url="https://api.twilio.com", method=method)
    request = Request(environ.get_environ())
    openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
    declared = set(spec["components"]["schemas"][schema_name]["properties"])
    body = json.loads(response.get_data(as_text=True))
    resources = body[items_key] if items_key else [body]
    assert resources, "nothing to check"
    for resource in resources:
        assert set(resource) <= declared, set(resource) - declared
        assert len(resource["sid"]) == 34
        for key in ("date_created", "date_updated"):
            parsed = datetime.strptime(resource[key], "%a, %d %b %Y %H:%M:%S %z")
            assert parsed.utcoffset() is not None


def test_call_and_message_resources_match_twilios_response_schemas(
    harness: Harness, openapi: OpenAPI, twilio_spec: dict[str, Any]
) -> None:
    client = rest(harness)
    created = client.post(
        f"{BASE}/Calls.json",
        data={"To": CALLEE, "From": APP_NUMBER, "Url": f"{APP_BASE}/voice/outbound"},
        headers=basic(),
    )
    assert created.status_code == 201
    sid = created.json["sid"]  # type: ignore[index]
    assert sid.startswith("CA")
    check_against_spec(
        openapi, twilio_spec, "POST", f"{BASE}/Calls.json", created, "api.v2010.account.call"
    )
    harness.sim.run_until_idle()
    fetched = client.get(f"{BASE}/Calls/{sid}.json", headers=basic())
    assert fetched.json["status"] == "completed"  # type: ignore[index]
    assert fetched.json["duration"] is not None  # type: ignore[index]
    check_against_spec(
        openapi, twilio_spec, "GET", f"{BASE}/Calls/{sid}.json", fetched, "api.v2010.account.call"
    )
    listed = client.get(f"{BASE}/Calls.json", headers=basic())
    check_against_spec(
        openapi, twilio_spec, "GET", f"{BASE}/Calls.json", listed, "api.v2010.account.call", "calls"
    )
    updated = client.post(f"{BASE}/Calls/{sid}.json", data={"Status": "completed"}, headers=basic())
    check_against_spec(
        openapi, twilio_spec, "POST", f"{BASE}/Calls/{sid}.json", updated, "api.v2010.account.call"
    )
    sms = client.post(
        f"{BASE}/Messages.json",
        data={"To": CALLEE, "From": APP_NUMBER, "Body": "Your payment is due."},
        headers=basic(),
    )
    assert sms.status_code == 201
    check_against_spec(
        openapi, twilio_spec, "POST", f"{BASE}/Messages.json", sms, "api.v2010.account.message"
    )
    sms_sid = sms.json["sid"]  # type: ignore[index]
    assert sms_sid.startswith("SM")
    harness.sim.run_until_idle()
    sms_fetched = client.get(f"{BASE}/Messages/{sms_sid}.json", headers=basic())
    assert sms_fetched.json["status"] == "delivered"  # type: ignore[index]
    check_against_spec(
        openapi,
        twilio_spec,
        "GET",
        f"{BASE}/Messages/{sms_sid}.json",
        sms_fetched,
        "api.v2010.account.message",
    )


def test_the_schema_check_catches_an_undeclared_key(
    harness: Harness, openapi: OpenAPI, twilio_spec: dict[str, Any]
) -> None:
    bad = WerkzeugResponse(
        json.dumps({"sid": "CA" + "0" * 32, "callee": "x"}), mimetype="application/json"
    )
    with pytest.raises(AssertionError):
        check_against_spec(
            openapi,
            twilio_spec,
            "GET",
            f"{BASE}/Calls/CA{'0' * 32}.json",
            bad,
            "api.v2010.account.call",
        )


# The plain SDK: create, fetch, list with filters, update ----------------------------------------


def test_the_sdk_lists_calls_filtered_by_to_status_and_start_time_with_paging() -> None:
    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        transport=WsgiTransport(lambda environ, start: []),  # never reached: Twiml calls
        personas={"+14155550199": Persona.busy()},
        start_time=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=WsgiTwilioHttpClient(sim.wsgi_app))
    twiml = "<Response><Pause length='30'/></Response>"
    for _ in range(3):
        client.calls.create(to=CALLEE, from_=APP_NUMBER, twiml=twiml)
    client.calls.create(to="+14155550199", from_=APP_NUMBER, twiml=twiml)
    sim.run_until_idle()

    assert len(client.calls.list(to=CALLEE)) == 3
    assert [c.status for c in client.calls.list(to="+14155550199")] == ["busy"]
    assert len(client.calls.list(status="completed")) == 3
    # The busy call was dialed too, so it has a start time and is listed by it.
    assert len(client.calls.list(start_time=datetime(2026, 3, 1, tzinfo=UTC).date())) == 4
    assert client.calls.list(start_time_after=datetime(2026, 3, 2, tzinfo=UTC).date()) == []
    assert len(client.calls.list(start_time_before=datetime(2026, 3, 1, 10, tzinfo=UTC))) == 4
    assert client.calls.list(start_time_before=datetime(2026, 3, 1, 8, tzinfo=UTC)) == []
    paged = client.calls.list(page_size=2)
    assert len(paged) == 4  # the SDK followed next_page_uri
    page = client.calls.page(page_size=2)
    assert page.next_page_url is not None
    raw = WerkzeugClient(sim.wsgi_app).get(
        f"{BASE}/Calls.json?StartTime>=2026-03-01&StartTime<=2026-03-01", headers=basic()
    )
    assert len(raw.json["calls"]) == 4  # type: ignore[index]
    assert sim.errors == []


def test_an_update_of_an_ended_call_with_a_url_is_21220(harness: Harness) -> None:
    call = harness.call()
    with pytest.raises(TwilioRestException) as raised:
        harness.client.calls(call.sid).update(url=f"{APP_BASE}/voice/goodbye")
    assert raised.value.code == 21220


def test_canceling_a_queued_call_ends_it_canceled_without_fetching(harness: Harness) -> None:
    created = harness.client.calls.create(
        to=CALLEE,
        from_=APP_NUMBER,
        url=f"{APP_BASE}/voice/outbound",
        status_callback=f"{APP_BASE}/voice/status",
    )
    harness.client.calls(created.sid).update(status="canceled")
    harness.sim.run_until_idle()
    assert harness.client.calls(created.sid).fetch().status == "canceled"
    assert harness.recorder.paths() == ["/voice/status"]
    assert harness.recorder.hits[0].params["CallStatus"] == "canceled"
