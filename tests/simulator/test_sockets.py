"""The simulator and the app on real sockets (127.0.0.1, ephemeral ports), threaded, sped up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from simulator import HttpTransport, Persona, Simulator, create_simulator
from tests.simulator.harness import (
    ACCOUNT_SID,
    APP_NUMBER,
    AUTH_TOKEN,
    CALLEE,
    Recorder,
    SimulatorHttpClient,
    build_ivr_app,
    serve_on_socket,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def live() -> Iterator[tuple[Simulator, Client, Recorder, str]]:
    recorder = Recorder()
    holder: dict[str, Client] = {}
    app_server, app_url = serve_on_socket(build_ivr_app(recorder, lambda: holder["client"]))
    sim = create_simulator(
        ACCOUNT_SID, AUTH_TOKEN, transport=HttpTransport(), threaded=True, time_scale=0.01
    )
    sim_server, sim_url = serve_on_socket(sim.wsgi_app)
    holder["client"] = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=SimulatorHttpClient(sim_url))
    try:
        yield sim, holder["client"], recorder, app_url
    finally:
        sim.wait_until_idle(10)
        sim_server.shutdown()
        app_server.shutdown()


def test_the_stock_sdk_places_a_call_over_http_and_the_flow_runs_on_sockets(
    live: tuple[Simulator, Client, Recorder, str],
) -> None:
    sim, client, recorder, app_url = live
    sim.set_persona(CALLEE, Persona.human(["1", "1234#"]))

    created = client.calls.create(
        to=CALLEE,
        from_=APP_NUMBER,
        url=f"{app_url}/voice/outbound",
        status_callback=f"{app_url}/voice/status",
        status_callback_event=["initiated", "answered", "completed"],
    )
    assert created.status == "queued"
    assert sim.calls[created.sid].wait(10)

    assert recorder.paths() == [
        "/voice/status",
        "/voice/status",
        "/voice/outbound",
        "/voice/menu",
        "/voice/pin",
        "/voice/status",
    ]
    assert all(hit.signature_ok for hit in recorder.hits)
    assert client.calls(created.sid).fetch().status == "completed"
    assert sim.errors == []


def test_async_amd_redirects_a_live_call_through_the_rest_api_on_sockets(
    live: tuple[Simulator, Client, Recorder, str],
) -> None:
    sim, client, recorder, app_url = live
    sim.set_persona(CALLEE, Persona.voicemail())

    created = client.calls.create(
        to=CALLEE,
        from_=APP_NUMBER,
        url=f"{app_url}/voice/hold",
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=f"{app_url}/voice/amd",
    )
    assert sim.calls[created.sid].wait(10)

    assert recorder.paths() == ["/voice/hold", "/voice/amd", "/voice/voicemail"]
    assert sim.calls[created.sid].answered_by == "machine_end_beep"
    assert sim.errors == []


def test_the_stock_sdk_sends_an_sms_and_gets_401_with_a_wrong_token(
    live: tuple[Simulator, Client, Recorder, str],
) -> None:
    sim, client, recorder, app_url = live
    message = client.messages.create(
        to=CALLEE, from_=APP_NUMBER, body="Hello", status_callback=f"{app_url}/sms/status"
    )
    assert sim.wait_until_idle(10)
    assert [h.params["MessageStatus"] for h in recorder.at("/sms/status")] == [
        "queued",
        "sent",
        "delivered",
    ]
    assert client.messages(message.sid).fetch().status == "delivered"

    base = client.http_client.base_url
    intruder = Client(ACCOUNT_SID, "wrong-token", http_client=SimulatorHttpClient(base))
    with pytest.raises(TwilioRestException) as raised:
        intruder.messages.create(to=CALLEE, from_=APP_NUMBER, body="x")
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_an_unreachable_app_is_recorded_as_an_http_error(
    live: tuple[Simulator, Client, Recorder, str],
) -> None:
    sim, client, _, _ = live
    created = client.calls.create(to=CALLEE, from_=APP_NUMBER, url="http://127.0.0.1:9/voice")
    assert sim.calls[created.sid].wait(20)
    assert [e.kind for e in sim.errors] == ["http"]
    assert sim.calls[created.sid].status == "completed"
