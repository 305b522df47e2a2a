"""Queues, Queue Members, Conferences and Participants over the REST API: every request is one
Twilio's OpenAPI description accepts, every answer has the shape it declares."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import Client as WerkzeugClient
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WerkzeugResponse

from simulator import Persona
from tests.contract.twilio_contract import violations
from tests.simulator.desk_app import AGENT, CALLER, HOTLINE, Desk, build_desk
from tests.simulator.harness import ACCOUNT_SID
from tests.simulator.test_rest_api import basic

BASE = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
SPEC = Path(__file__).resolve().parents[1] / "contract" / "twilio_api_v2010_subset.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    # One correction, from the description itself: reason_conference_ended "When a conference is
    # in progress, will be `null`", but its enum schema is not marked nullable.
    corrected = copy.deepcopy(spec)
    reason = corrected["components"]["schemas"]["conference_enum_reason_conference_ended"]
    reason["nullable"] = True
    reason["enum"] = [*reason["enum"], None]
    return OpenAPI.from_dict(corrected)


class Api:
    """REST requests to the simulator, each checked against Twilio's description both ways."""

    def __init__(self, desk: Desk, openapi: OpenAPI, spec: dict[str, Any]) -> None:
        self.client = WerkzeugClient(desk.sim.wsgi_app)
        self.openapi = openapi
        self.schemas = spec["components"]["schemas"]

    def send(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        schema: str | None = None,
        items: str | None = None,
        status: int = 200,
    ) -> Any:
        body = urlencode(form).encode() if form else None
        assert violations(method, BASE + path, body) == []
        response = self.client.open(BASE + path, method=method, data=form, headers=basic())
        assert response.status_code == status, response.get_data(as_text=True)
        if schema is not None:
            self.check(method, path, response, schema, items)
        return response.json if status != 204 else None

    def check(
        self, method: str, path: str, response: WerkzeugResponse, schema: str, items: str | None
    ) -> None:
        """openapi-core on the answer, and every declared field present, nothing undeclared."""
        environ = EnvironBuilder(path=BASE + path, base_url="https://api.twilio.com", method=method)
        self.openapi.validate_response(
            WerkzeugOpenAPIRequest(Request(environ.get_environ())),
            WerkzeugOpenAPIResponse(response),
        )
        declared = set(self.schemas[schema]["properties"])
        body = response.json
        assert body is not None
        resources = body[items] if items else [body]
        assert resources, "nothing to check"
        for resource in resources:
            assert set(resource) == declared, set(resource) ^ declared
            for key in ("date_created", "date_updated", "date_enqueued"):
                if resource.get(key):
                    datetime.strptime(resource[key], "%a, %d %b %Y %H:%M:%S %z")


@pytest.fixture
def desk() -> Desk:
    return build_desk()


@pytest.fixture
def api(desk: Desk, openapi: OpenAPI, spec: dict[str, Any]) -> Api:
    return Api(desk, openapi, spec)


QUEUE = "api.v2010.account.queue"
MEMBER = "api.v2010.account.queue.member"
CONFERENCE = "api.v2010.account.conference"
PARTICIPANT = "api.v2010.account.conference.participant"


def test_queues_are_created_fetched_listed_and_updated(api: Api) -> None:
    created = api.send(
        "POST",
        "/Queues.json",
        {"FriendlyName": "fraud", "MaxSize": "50"},
        schema=QUEUE,
        status=201,
    )
    assert created["sid"].startswith("QU") and len(created["sid"]) == 34
    assert created["max_size"] == 50 and created["current_size"] == 0
    api.send("POST", "/Queues.json", {"FriendlyName": "collections-en"}, schema=QUEUE, status=201)

    fetched = api.send("GET", f"/Queues/{created['sid']}.json", schema=QUEUE)
    assert fetched["friendly_name"] == "fraud"
    listed = api.send("GET", "/Queues.json", schema=QUEUE, items="queues")
    assert [q["friendly_name"] for q in listed["queues"]] == ["fraud", "collections-en"]
    updated = api.send("POST", f"/Queues/{created['sid']}.json", {"MaxSize": "10"}, schema=QUEUE)
    assert updated["max_size"] == 10
    # The same name twice, or a size Twilio refuses, is a 400 with Twilio's error body.
    again = api.client.post(f"{BASE}/Queues.json", data={"FriendlyName": "fraud"}, headers=basic())
    assert again.status_code == 400 and again.json["code"] == 22208  # type: ignore[index]
    huge = api.client.post(
        f"{BASE}/Queues/{created['sid']}.json", data={"MaxSize": "5001"}, headers=basic()
    )
    assert huge.status_code == 400
    missing = api.client.get(f"{BASE}/Queues/QU{'0' * 32}.json", headers=basic())
    assert missing.status_code == 404 and missing.json["code"] == 20404  # type: ignore[index]


def test_members_are_listed_fetched_by_call_sid_or_front_and_dequeued_to_a_url(
    desk: Desk, api: Api
) -> None:
    desk.route(
        "/voice",
        '<Response><Enqueue waitUrl="/wait" action="/queue-done">fraud</Enqueue></Response>',
    )
    desk.route("/wait", '<Response><Pause length="15"/></Response>')
    desk.route("/picked", "<Response><Say>An agent will speak to you now.</Say></Response>")
    first = desk.sim.place_inbound_call(CALLER, HOTLINE, url=desk.url("/voice"), run=False).sid
    second = desk.sim.place_inbound_call(AGENT, HOTLINE, url=desk.url("/voice"), run=False).sid
    assert desk.sim.run_until(
        lambda: (q := desk.sim.queue_named("fraud")) is not None and q.size == 2
    )
    desk.sim.run_for(20)
    queue = desk.sim.queue_named("fraud")
    assert queue is not None

    listed = api.send(
        "GET", f"/Queues/{queue.sid}/Members.json", schema=MEMBER, items="queue_members"
    )
    assert [(m["call_sid"], m["position"]) for m in listed["queue_members"]] == [
        (first, 1),
        (second, 2),
    ]
    assert listed["queue_members"][0]["wait_time"] >= 20
    front = api.send("GET", f"/Queues/{queue.sid}/Members/Front.json", schema=MEMBER)
    assert front["call_sid"] == first
    assert (
        api.send("GET", f"/Queues/{queue.sid}/Members/{second}.json", schema=MEMBER)["position"]
        == 2
    )
    queue_json = api.send("GET", f"/Queues/{queue.sid}.json", schema=QUEUE)
    assert queue_json["current_size"] == 2

    dequeued = api.send(
        "POST",
        f"/Queues/{queue.sid}/Members/Front.json",
        {"Url": desk.url("/picked"), "Method": "POST"},
        schema=MEMBER,
    )
    assert dequeued["call_sid"] == first
    # Out of the queue at once: the next Front is the second caller.
    assert api.send("GET", f"/Queues/{queue.sid}/Members/Front.json")["call_sid"] == second
    assert desk.sim.run_until(lambda: desk.sim.calls[first].is_over)
    assert "[app] Say(en-US): An agent will speak to you now." in desk.sim.calls[first].transcript
    done = [h for h in desk.at("/queue-done") if h.params["CallSid"] == first]
    assert done[0].params["QueueResult"] == "redirected"
    gone = api.client.get(f"{BASE}/Queues/{queue.sid}/Members/{first}.json", headers=basic())
    assert gone.status_code == 404


def test_conferences_and_participants_have_twilios_shapes(desk: Desk, api: Api) -> None:
    desk.route(
        "/room",
        '<Response><Dial><Conference endConferenceOnExit="true">room-1</Conference></Dial>'
        "</Response>",
    )
    desk.sim.set_persona(AGENT, Persona.human(["wait 600", "hangup"]))
    caller = desk.sim.place_inbound_call(CALLER, HOTLINE, url=desk.url("/room"), run=False).sid
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/room")).sid
    assert desk.sim.run_until(
        lambda: (c := desk.sim.conference_named("room-1")) is not None and len(c.participants) == 2
    )
    conference = desk.sim.conference_named("room-1")
    assert conference is not None
    sid = conference.sid

    listed = api.send(
        "GET",
        "/Conferences.json?" + urlencode({"FriendlyName": "room-1"}),
        schema=CONFERENCE,
        items="conferences",
    )
    assert [c["sid"] for c in listed["conferences"]] == [sid]
    fetched = api.send("GET", f"/Conferences/{sid}.json", schema=CONFERENCE)
    assert fetched["status"] == "in-progress"
    participants = api.send(
        "GET", f"/Conferences/{sid}/Participants.json", schema=PARTICIPANT, items="participants"
    )
    assert {p["call_sid"] for p in participants["participants"]} == {caller, agent}
    muted = api.send(
        "POST",
        f"/Conferences/{sid}/Participants/{caller}.json",
        {"Muted": "true", "Hold": "false"},
        schema=PARTICIPANT,
    )
    assert muted["muted"] is True and muted["end_conference_on_exit"] is True
    coach = api.client.post(
        f"{BASE}/Conferences/{sid}/Participants/{caller}.json",
        data={"Coaching": "true"},
        headers=basic(),
    )
    assert coach.status_code == 400  # coaching needs someone to coach
    api.send("DELETE", f"/Conferences/{sid}/Participants/{caller}.json", status=204)
    assert desk.sim.run_until(lambda: conference.status == "completed")
    ended = api.send("GET", f"/Conferences/{sid}.json", schema=CONFERENCE)
    assert ended["reason_conference_ended"] == "participant-with-end-conference-on-exit-kicked"
    assert ended["call_sid_ending_conference"] == caller
    left = api.send("GET", f"/Conferences/{sid}/Participants/{caller}.json", schema=PARTICIPANT)
    assert left["status"] == "complete"
    assert desk.sim_errors() == []
