"""The simulator and the app on real sockets (127.0.0.1, ephemeral ports), threaded, sped up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from werkzeug.serving import BaseWSGIServer, make_server

from simulator import HttpTransport, Persona, Simulator, create_simulator
from tests.simulator.harness import (
    ACCOUNT_SID,
    APP_NUMBER,
    AUTH_TOKEN,
    CALLEE,
    Recorder,
    build_ivr_app,
)

pytestmark = pytest.mark.slow


class SimulatorHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no stubs
    """The stock SDK HTTP client with https://api.twilio.com replaced by the simulator's URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        url = url.replace("https://api.twilio.com", self.base_url)
        return super().request(method, url, *args, **kwargs)


def _serve(app: Any) -> tuple[BaseWSGIServer, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live() -> Iterator[tuple[Simulator, Client, Recorder, str]]:
    recorder = Recorder()
    holder: dict[str, Client] = {}
    app_server, app_url = _serve(build_ivr_app(recorder, lambda: holder["client"]))
    sim = create_simulator(
        ACCOUNT_SID, AUTH_TOKEN, transport=HttpTransport(), threaded=True, time_scale=0.01
    )
    sim_server, sim_url = _serve(sim.wsgi_app)
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
