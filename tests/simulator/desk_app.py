"""A tiny app for the simulator's queue, dial and conference tests: each path answers with the
TwiML a test sets for it, and every request is recorded.

Independent of duecall's own desk and webhooks, like the rest of tests/simulator: these tests pin
the simulator against Twilio's documented behaviour (docs/simulator.md), not against the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, request
from twilio.rest import Client

from simulator import Simulator, WsgiTransport, create_simulator
from tests.simulator.harness import ACCOUNT_SID, AUTH_TOKEN, sdk_client

BASE = "https://desk.example.test"
HOTLINE = "+14155550100"
CALLER = "+14155550111"
AGENT = "+14155550122"
SUPERVISOR = "+14155550133"

Answer = Callable[[dict[str, str]], str]


@dataclass
class Hit:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class Desk:
    """The simulator, the app's routes and what the app received."""

    sim: Simulator
    client: Client
    routes: dict[str, Answer | str] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def route(self, path: str, answer: Answer | str) -> None:
        self.routes[path] = answer

    def url(self, path: str) -> str:
        return BASE + path

    def sim_errors(self) -> list[str]:
        return [f"{e.kind}: {e.message}" for e in self.sim.errors]


def build_desk(*, threaded: bool = False, time_scale: float = 1.0) -> Desk:
    app = Flask("simulator_desk_test")
    holder: dict[str, Desk] = {}

    @app.route("/<path:path>", methods=["GET", "POST"])
    def any_path(path: str) -> Response:
        desk = holder["desk"]
        params = {**request.args.to_dict(), **request.form.to_dict()}
        desk.hits.append(Hit(request.method, "/" + path, params))
        answer = desk.routes.get("/" + path)
        if answer is None:
            return Response("", status=204)
        body = answer(params) if callable(answer) else answer
        return Response(body, mimetype="text/xml")

    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        transport=WsgiTransport(app),
        threaded=threaded,
        time_scale=time_scale,
    )
    desk = Desk(sim, sdk_client(sim))
    holder["desk"] = desk
    return desk
