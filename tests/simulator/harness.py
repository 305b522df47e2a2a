"""Helpers for the simulator's tests: a small Flask IVR written here, driven by the simulator.

The IVR is deliberately independent of duecall's own ivr/ and webhooks/ packages, so that these
tests pin the simulator against Twilio's documented behaviour, not against the app.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import Client as WerkzeugClient

from simulator import SimCall, Simulator

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "simulator-test-token"
APP_BASE = "https://ivr.example.test"
APP_NUMBER = "+14155550100"
CALLEE = "+14155550123"


@dataclass
class Hit:
    """One webhook request the test app received."""

    method: str
    path: str
    url: str
    params: dict[str, str]
    signature_ok: bool
    signature_with_wrong_token_ok: bool


@dataclass
class Recorder:
    """Every request the app received, in order."""

    hits: list[Hit] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


def _xml(response: VoiceResponse | MessagingResponse | str) -> Response:
    return Response(str(response), mimetype="text/xml")


def build_ivr_app(
    recorder: Recorder,
    rest_client: Callable[[], Client],
    overrides: dict[str, Callable[[], Response]] | None = None,
) -> Flask:
    """A multi-step IVR: greeting with a menu, balance, PIN entry by GET, AMD redirect, callbacks.

    ``overrides`` replaces the answer of a path (``/voice/custom`` is free for one-off TwiML).
    """
    app = Flask("simulator_test_ivr")
    good = RequestValidator(AUTH_TOKEN)
    wrong = RequestValidator("not-the-token")
    handlers = overrides if overrides is not None else {}

    @app.before_request
    def record() -> None:
        params = request.form.to_dict() if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        merged = {**request.args.to_dict(), **request.form.to_dict()}
        # Signatures cover the URL as sent: rebuild it from the raw query string, as duecall's
        # webhooks do (werkzeug's request.url re-quotes characters such as %2C).
        raw_query = request.query_string.decode("latin-1")
        url = f"{request.scheme}://{request.host}{request.path}"
        url += f"?{raw_query}" if raw_query else ""
        recorder.hits.append(
            Hit(
                request.method,
                request.path,
                url,
                merged,
                good.validate(url, params, signature),
                wrong.validate(url, params, signature),
            )
        )

    def maybe_override() -> Response | None:
        handler = handlers.get(request.path)
        return handler() if handler else None

    @app.route("/voice/outbound", methods=["POST"])
    def outbound() -> Response:
        if (custom := maybe_override()) is not None:
            return custom
        twiml = VoiceResponse()
        twiml.say("Hello from the bank.", language="en-US", voice="Polly.Joanna")
        gather = Gather(num_digits=1, action="/voice/menu", timeout=4)
        gather.say("Press 1 for your balance.")
        twiml.append(gather)
        twiml.say("We did not get your choice.")
        twiml.redirect("/voice/goodbye?attempt=7&x=a%20b", method="GET")
        return _xml(twiml)

    @app.route("/voice/menu", methods=["POST"])
    def menu() -> Response:
        twiml = VoiceResponse()
        if request.form.get("Digits") == "1":
            twiml.say("Your balance is 120 dollars.")
            gather = Gather(action="/voice/pin?attempt=7&x=a%20b", method="GET", finish_on_key="#")
            gather.say("Enter your PIN, then pound.")
            twiml.append(gather)
        else:
            twiml.say("Sorry, I did not understand.")
        twiml.hangup()
        return _xml(twiml)

    @app.route("/voice/pin", methods=["GET"])
    def pin() -> Response:
        twiml = VoiceResponse()
        twiml.say(f"You entered {len(request.args.get('Digits', ''))} digits. Goodbye.")
        twiml.hangup()
        return _xml(twiml)

    @app.route("/voice/goodbye", methods=["GET"])
    def goodbye() -> Response:
        twiml = VoiceResponse()
        twiml.say("Goodbye.")
        twiml.hangup()
        return _xml(twiml)

    @app.route("/voice/hold", methods=["POST"])
    def hold() -> Response:
        twiml = VoiceResponse()
        twiml.say("Please hold.")
        twiml.pause(length=20)
        twiml.say("Still holding.")
        return _xml(twiml)

    @app.route("/voice/amd", methods=["POST"])
    def amd() -> Response:
        target = "/voice/voicemail" if request.form["AnsweredBy"] != "human" else "/voice/human"
        base = f"{request.scheme}://{request.host}"
        rest_client().calls(request.form["CallSid"]).update(url=base + target)
        return Response("", status=204)

    @app.route("/voice/voicemail", methods=["POST"])
    def voicemail() -> Response:
        twiml = VoiceResponse()
        twiml.say("This is a message for the account holder. Please call us back.")
        twiml.hangup()
        return _xml(twiml)

    @app.route("/voice/human", methods=["POST"])
    def human() -> Response:
        twiml = VoiceResponse()
        twiml.say("Am I speaking with the account holder?")
        twiml.hangup()
        return _xml(twiml)

    @app.route("/voice/custom", methods=["GET", "POST"])
    def custom() -> Response:
        result = maybe_override()
        assert result is not None, "set overrides['/voice/custom']"
        return result

    @app.route("/voice/status", methods=["POST"])
    @app.route("/sms/status", methods=["POST"])
    def status() -> Response:
        return Response("", status=204)

    @app.route("/sms", methods=["POST"])
    def sms() -> Response:
        reply = MessagingResponse()
        reply.message(f"Got: {request.form['Body']}")
        return _xml(reply)

    return app


class WsgiTwilioHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no stubs
    """Lets the plain twilio SDK talk to a WSGI app in process: same path, query, form, auth."""

    def __init__(self, app: Any) -> None:
        super().__init__(logger=None, is_async=False)
        self._client = WerkzeugClient(app)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        all_headers = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        query = urlencode([(k, str(v)) for k, v in (params or {}).items() if v is not None])
        if "?" in uri:
            uri, _, existing = uri.partition("?")
            query = f"{existing}&{query}" if query else existing
        response = self._client.open(
            uri,
            method=method,
            query_string=query,
            data={k: v for k, v in (data or {}).items() if v is not None},
            headers=all_headers,
        )
        return TwilioResponse(
            response.status_code, response.get_data(as_text=True), response.headers
        )


class SimulatorHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no stubs
    """The stock SDK HTTP client with https://api.twilio.com replaced by the simulator's URL."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        url = url.replace("https://api.twilio.com", self.base_url)
        response: TwilioResponse = super().request(method, url, *args, **kwargs)
        self.last_response = response  # kept before the SDK raises for an error status
        return response


def serve_on_socket(app: Any) -> tuple[BaseWSGIServer, str]:
    """Serve ``app`` on 127.0.0.1 (an ephemeral port) with werkzeug's threaded server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def sdk_client(sim: Simulator) -> Client:
    """A plain twilio ``Client`` whose requests go to ``sim.wsgi_app`` in process."""
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=WsgiTwilioHttpClient(sim.wsgi_app))


@dataclass
class Harness:
    """A synchronous simulator wired to the test IVR in process."""

    sim: Simulator
    recorder: Recorder
    client: Client
    overrides: dict[str, Callable[[], Response]]

    def call(self, to: str = CALLEE, path: str = "/voice/outbound", **kwargs: Any) -> SimCall:
        """Create a call through the SDK, play it to the end, return the fetched resource."""
        created = self.client.calls.create(to=to, from_=APP_NUMBER, url=APP_BASE + path, **kwargs)
        self.sim.run_until_idle()
        return self.sim.calls[created.sid]
