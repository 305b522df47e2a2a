"""Fault knobs, through the real HTTP server, the stock SDK and duecall's Twilio adapter."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from simulator import (
    ConnectionDroppedError,
    Faults,
    InjectedFault,
    Simulator,
    WsgiTransport,
    create_simulator,
    load_faults,
)
from telephony.errors import PermanentError, TransientError
from telephony.port import OutboundCall, OutboundSms
from telephony.twilio_adapter import TwilioAdapter
from tests.simulator.harness import (
    ACCOUNT_SID,
    APP_BASE,
    APP_NUMBER,
    AUTH_TOKEN,
    CALLEE,
    Harness,
    Hit,
    Recorder,
    SimulatorHttpClient,
    build_ivr_app,
    serve_on_socket,
)

pytestmark = pytest.mark.slow

OTHER = "+14155550124"
STATUS = f"{APP_BASE}/voice/status"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


@dataclass
class Carrier:
    """The simulator on a socket, the test IVR behind it, and clients that reach it over HTTP."""

    sim: Simulator
    client: Client
    url: str
    recorder: Recorder

    @property
    def faults(self) -> Faults:
        return self.sim.faults

    def adapter(self, timeout: float = 10.0) -> TwilioAdapter:
        return TwilioAdapter(
            ACCOUNT_SID,
            AUTH_TOKEN,
            public_url=APP_BASE,
            caller_id=APP_NUMBER,
            api_url=self.url,
            timeout=timeout,
        )

    def call(self, to: str = CALLEE) -> str:
        created = self.client.calls.create(
            to=to,
            from_=APP_NUMBER,
            url=f"{APP_BASE}/voice/outbound",
            status_callback=STATUS,
            status_callback_event=ALL_EVENTS,
        )
        return str(created.sid)

    def status_hits(self, sid: str | None = None) -> list[Hit]:
        hits = self.recorder.at("/voice/status")
        return [h for h in hits if sid is None or h.params["CallSid"] == sid]

    def statuses(self, sid: str | None = None) -> list[str]:
        return [h.params["CallStatus"] for h in self.status_hits(sid)]

    def control(self, method: str, body: str | None = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/_simulator/faults",
            data=body,
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            timeout=10,
        )


@contextlib.contextmanager
def running(
    faults: Any = None, *, threaded: bool = False, time_scale: float = 1.0
) -> Iterator[Carrier]:
    recorder = Recorder()
    holder: dict[str, Client] = {}
    app = build_ivr_app(recorder, lambda: holder["client"])
    sim = create_simulator(
        ACCOUNT_SID,
        AUTH_TOKEN,
        transport=WsgiTransport(app),
        threaded=threaded,
        time_scale=time_scale,
        faults=faults,
    )
    server, url = serve_on_socket(sim.wsgi_app)
    holder["client"] = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=SimulatorHttpClient(url))
    try:
        yield Carrier(sim, holder["client"], url, recorder)
    finally:
        sim.faults.clear()  # releases any request still held
        if threaded:
            sim.wait_until_idle(30)
        server.shutdown()


@pytest.fixture
def carrier() -> Iterator[Carrier]:
    with running() as started:
        yield started


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for an event another thread causes; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


# Errors -----------------------------------------------------------------------------------------


def test_a_429_with_retry_after_answers_the_next_n_creates_and_creates_nothing(
    carrier: Carrier,
) -> None:
    rule = carrier.faults.fail("calls.create", status=429, retry_after=2, times=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            carrier.call()
        assert (raised.value.status, raised.value.code) == (429, 20429)
        response = carrier.client.http_client.last_response
        assert response.headers["Retry-After"] == "2"
        assert response.headers["Content-Type"] == "application/json"
    assert carrier.sim.calls == {}

    sid = carrier.call()  # the rule is spent
    assert list(carrier.sim.calls) == [sid]
    assert (
        carrier.faults.injected
        == [
            InjectedFault(
                "rest",
                "error",
                "calls.create",
                rule,
                status=429,
                code=20429,
                retry_after=2,
                created=False,
            )
        ]
        * 2
    )


def test_the_adapter_sees_a_429_as_transient_and_known_not_to_have_run(carrier: Carrier) -> None:
    carrier.faults.fail("calls.create", status=429, retry_after=1, times=1)
    adapter = carrier.adapter()
    headers: list[Mapping[str, str]] = []
    adapter.http_client.request_hooks = {
        "response": [lambda r, *_, **__: headers.append(r.headers)]
    }

    with pytest.raises(TransientError) as raised:
        adapter.place_call(OutboundCall(CALLEE, attempt_id=1))

    assert raised.value.outcome_unknown is False
    assert (raised.value.status, raised.value.code) == (429, 20429)
    assert headers[-1]["Retry-After"] == "1"
    assert carrier.sim.calls == {}
    placed = adapter.place_call(OutboundCall(CALLEE, attempt_id=1))
    assert list(carrier.sim.calls) == [placed.sid]


@pytest.mark.parametrize(
    ("status", "code", "expected_code", "error", "outcome_unknown"),
    [
        (503, None, 20503, TransientError, True),
        (500, None, 20500, TransientError, True),
        (400, 21211, 21211, PermanentError, None),
    ],
)
def test_the_adapter_classifies_injected_errors_by_twilios_code(
    carrier: Carrier,
    status: int,
    code: int | None,
    expected_code: int,
    error: type[Exception],
    outcome_unknown: bool | None,
) -> None:
    carrier.faults.fail("messages.create", status=status, code=code)

    with pytest.raises(error) as raised:
        carrier.adapter().send_sms(OutboundSms(CALLEE, "Your payment is due.", attempt_id=3))

    assert getattr(raised.value, "code", None) == expected_code
    assert getattr(raised.value, "status", None) == status
    assert getattr(raised.value, "outcome_unknown", None) is outcome_unknown
    assert carrier.sim.messages == {}


def test_an_error_after_creation_leaves_the_call_behind(carrier: Carrier) -> None:
    carrier.faults.fail("calls.create", status=502, code=20500, created=True, times=1)

    with pytest.raises(TransientError) as raised:
        carrier.adapter().place_call(OutboundCall(CALLEE, attempt_id=4))

    assert raised.value.outcome_unknown is True
    (call,) = carrier.sim.calls.values()
    assert call.to == CALLEE
    (fault,) = carrier.faults.injected
    assert (fault.action, fault.status, fault.sid, fault.created) == ("error", 502, call.sid, True)


def _operations(carrier: Carrier) -> dict[str, Callable[[], object]]:
    call_sid = carrier.call()
    message = carrier.client.messages.create(to=CALLEE, from_=APP_NUMBER, body="hi")
    client = carrier.client
    return {
        "calls.create": carrier.call,
        "calls.list": lambda: client.calls.list(to=CALLEE),
        "calls.fetch": lambda: client.calls(call_sid).fetch(),
        "calls.update": lambda: client.calls(call_sid).update(url=f"{APP_BASE}/voice/outbound"),
        "messages.create": lambda: client.messages.create(to=CALLEE, from_=APP_NUMBER, body="x"),
        "messages.fetch": lambda: client.messages(message.sid).fetch(),
    }


def _failing(operations: dict[str, Callable[[], object]]) -> list[str]:
    failed = []
    for name, operation in operations.items():
        try:
            operation()
        except TwilioRestException as exc:
            assert (exc.status, exc.code) == (503, 20503)
            failed.append(name)
        except TwilioException as exc:  # the SDK's list() reports a failed page this way
            assert "HTTP 503" in str(exc) and '"code": 20503' in str(exc)
            failed.append(name)
    return failed


@pytest.mark.parametrize(
    "endpoint",
    [
        "calls.create",
        "calls.list",
        "calls.fetch",
        "calls.update",
        "messages.create",
        "messages.fetch",
    ],
)
def test_each_endpoint_fails_alone(carrier: Carrier, endpoint: str) -> None:
    operations = _operations(carrier)
    carrier.faults.fail(endpoint, status=503)

    assert _failing(operations) == [endpoint]
    assert [f.target for f in carrier.faults.injected] == [endpoint]


def test_the_wildcard_fails_every_twilio_endpoint_but_not_the_control_endpoints(
    carrier: Carrier,
) -> None:
    operations = _operations(carrier)
    carrier.faults.fail("*", status=503)

    assert _failing(operations) == list(operations)
    assert carrier.control("GET").status_code == 200


def _fetch_pattern(seed: int) -> tuple[list[bool], int]:
    plan = {
        "seed": seed,
        "rest": [{"endpoint": "calls.fetch", "action": "error", "status": 503, "p": 0.3}],
    }
    with running(plan) as started:
        sid = started.call()
        outcomes = []
        for _ in range(40):
            try:
                started.client.calls(sid).fetch()
                outcomes.append(True)
            except TwilioRestException:
                outcomes.append(False)
        return outcomes, len(started.faults.injected)


def test_a_failure_rate_is_a_fraction_of_requests_and_the_seed_repeats_it() -> None:
    outcomes, injected = _fetch_pattern(7)

    failures = outcomes.count(False)
    assert 0 < failures < 40
    assert injected == failures
    assert _fetch_pattern(7) == (outcomes, injected)
    assert _fetch_pattern(8)[0] != outcomes


def test_an_error_window_opens_and_closes_on_the_clock() -> None:
    now = [100.0]
    faults = Faults(clock=lambda: now[0])
    with running(faults) as started:
        faults.fail("calls.list", status=500, after=10, for_seconds=5)

        def fails() -> bool:
            try:
                started.client.calls.list()
            except TwilioException as exc:  # the SDK's list() reports a failed page this way
                assert "HTTP 500" in str(exc)
                return True
            return False

        assert not fails()
        now[0] = 110.0
        assert fails()
        now[0] = 114.9
        assert fails()
        now[0] = 115.0
        assert not fails()


# Latency ----------------------------------------------------------------------------------------


def test_a_delay_holds_the_request_in_wall_clock_time_whatever_the_time_scale() -> None:
    with running(threaded=True, time_scale=0.01) as started:
        sid = started.call()
        started.faults.delay("calls.fetch", 0.3)

        began = time.monotonic()
        assert started.client.calls(sid).fetch().sid == sid
        held = time.monotonic() - began

        assert held >= 0.3  # not 0.003: REST latency is not scaled
        (fault,) = started.faults.injected
        assert (fault.action, fault.target, fault.seconds) == ("delay", "calls.fetch", 0.3)


def test_a_delay_range_is_drawn_per_request_and_stops_after_times(carrier: Carrier) -> None:
    carrier.faults.delay("calls.list", (0.01, 0.05), times=5)

    for _ in range(6):
        carrier.client.calls.list()

    drawn = [f.seconds for f in carrier.faults.injected]
    assert len(drawn) == 5
    assert all(s is not None and 0.01 <= s <= 0.05 for s in drawn)
    assert len(set(drawn)) > 1


def test_delayed_requests_overlap_in_the_threaded_server(carrier: Carrier) -> None:
    sid = carrier.call()
    carrier.faults.delay("calls.fetch", 600)
    results: list[str] = []

    def fetch() -> None:
        results.append(carrier.client.calls(sid).fetch().sid)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    # All four are held at once: each request waits in its own server thread.
    wait_for(lambda: carrier.faults.holding == 4, "four requests held together")
    assert results == []

    carrier.faults.clear()
    for thread in threads:
        thread.join(20)
    assert results == [sid] * 4
    assert carrier.faults.holding == 0


# Dropped connections ----------------------------------------------------------------------------


def test_a_response_dropped_after_creation_is_an_unknown_outcome_and_the_call_exists(
    carrier: Carrier,
) -> None:
    rule = carrier.faults.drop("calls.create", created=True, times=1)

    with pytest.raises(TransientError) as raised:
        carrier.adapter().place_call(OutboundCall(CALLEE, attempt_id=5))

    assert raised.value.outcome_unknown is True
    (call,) = carrier.sim.calls.values()
    assert call.to == CALLEE
    assert carrier.faults.injected == [
        InjectedFault("rest", "drop", "calls.create", rule, sid=call.sid, created=True, seconds=0)
    ]


def test_the_stock_sdk_sees_a_dropped_connection_as_a_connection_error(carrier: Carrier) -> None:
    carrier.faults.drop("messages.create", created=True, times=1)

    with pytest.raises(requests.exceptions.ConnectionError):
        carrier.client.messages.create(to=CALLEE, from_=APP_NUMBER, body="hi")

    assert len(carrier.sim.messages) == 1


def test_a_connection_dropped_before_creation_creates_nothing(carrier: Carrier) -> None:
    carrier.faults.drop("calls.create", created=False, times=1)

    with pytest.raises(TransientError) as raised:
        carrier.adapter().place_call(OutboundCall(CALLEE, attempt_id=6))

    # The client cannot tell the two drops apart: it must reconcile either way.
    assert raised.value.outcome_unknown is True
    assert carrier.sim.calls == {}
    (fault,) = carrier.faults.injected
    assert (fault.action, fault.sid, fault.created) == ("drop", None, False)


def test_a_hanging_connection_is_a_read_timeout_after_the_call_was_created(
    carrier: Carrier,
) -> None:
    carrier.faults.drop("calls.create", hang=600, times=1)

    with pytest.raises(TransientError) as raised:
        carrier.adapter(timeout=0.5).place_call(OutboundCall(CALLEE, attempt_id=7))

    assert "timed out" in raised.value.message
    assert raised.value.outcome_unknown is True
    wait_for(lambda: carrier.faults.holding == 1, "the hanging request")
    (call,) = carrier.sim.calls.values()
    assert call.to == CALLEE
    carrier.faults.clear()
    wait_for(lambda: carrier.faults.holding == 0, "the hanging request to be released")


def test_in_process_a_dropped_connection_is_raised(harness: Harness) -> None:
    harness.sim.faults.drop("messages.create", created=True)

    with pytest.raises(ConnectionDroppedError):
        harness.client.messages.create(to=CALLEE, from_=APP_NUMBER, body="hi")
    assert len(harness.sim.messages) == 1


# Status callbacks -------------------------------------------------------------------------------


def test_a_lost_callback_never_arrives(carrier: Carrier) -> None:
    rule = carrier.faults.lose_callbacks(events=["completed"])

    sid = carrier.call()
    carrier.sim.run_until_idle()

    assert carrier.statuses() == ["initiated", "ringing", "in-progress"]
    assert carrier.sim.calls[sid].status == "completed"
    assert carrier.faults.injected == [InjectedFault("callback", "lose", "completed", rule, sid)]


def test_a_duplicated_callback_arrives_twice_with_the_same_parameters(carrier: Carrier) -> None:
    carrier.faults.duplicate_callbacks(events=["answered"])

    carrier.call()
    carrier.sim.run_until_idle()

    assert carrier.statuses() == ["initiated", "ringing", "in-progress", "in-progress", "completed"]
    first, second = carrier.status_hits()[2:4]
    assert first.params == second.params
    assert second.signature_ok


def test_a_delayed_callback_arrives_after_the_later_ones(carrier: Carrier) -> None:
    carrier.faults.delay_callbacks(30, events=["ringing"])

    sid = carrier.call()
    carrier.sim.run_until_idle()

    hits = carrier.status_hits()
    assert carrier.statuses() == ["initiated", "in-progress", "completed", "ringing"]
    late, completed = hits[-1].params, hits[-2].params
    # It keeps what it said when it was due: the app can tell it is stale.
    assert (late["SequenceNumber"], completed["SequenceNumber"]) == ("1", "3")
    assert parsedate_to_datetime(late["Timestamp"]) <= parsedate_to_datetime(completed["Timestamp"])
    (fault,) = carrier.faults.injected
    assert (fault.action, fault.target, fault.sid, fault.seconds) == ("delay", "ringing", sid, 30)


def test_callback_faults_can_target_one_callee(carrier: Carrier) -> None:
    carrier.faults.lose_callbacks(to=OTHER)

    kept, lost = carrier.call(CALLEE), carrier.call(OTHER)
    carrier.sim.run_until_idle()

    assert carrier.statuses(kept) == ["initiated", "ringing", "in-progress", "completed"]
    assert carrier.statuses(lost) == []
    assert {f.sid for f in carrier.faults.injected} == {lost}


def test_callback_faults_can_target_one_sid(carrier: Carrier) -> None:
    first, second = carrier.call(), carrier.call()
    carrier.faults.duplicate_callbacks(sid=second, events=["completed"])
    carrier.sim.run_until_idle()

    assert carrier.statuses(first).count("completed") == 1
    assert carrier.statuses(second).count("completed") == 2


def test_sms_status_callbacks_are_lost_and_duplicated(carrier: Carrier) -> None:
    carrier.faults.lose_callbacks(events=["sent"])
    carrier.faults.duplicate_callbacks(events=["delivered"])

    carrier.client.messages.create(
        to=CALLEE, from_=APP_NUMBER, body="hi", status_callback=f"{APP_BASE}/sms/status"
    )
    carrier.sim.run_until_idle()

    statuses = [h.params["MessageStatus"] for h in carrier.recorder.at("/sms/status")]
    assert statuses == ["queued", "delivered", "delivered"]


def _lost_fraction(seed: int) -> set[tuple[int, str]]:
    with running({"seed": seed}) as started:
        started.faults.callbacks(lose=0.3)
        sids = [started.call() for _ in range(10)]
        started.sim.run_until_idle()
        received = {(h.params["CallSid"], h.params["CallStatus"]) for h in started.status_hits()}
        lost = {(f.sid, f.target) for f in started.faults.injected}
        assert len(started.status_hits()) == len(received)  # none twice
        assert len(received) + len(lost) == 40  # every callback either arrived or was lost
        return {(sids.index(str(sid)), event) for sid, event in lost}


def test_a_fraction_of_callbacks_is_lost_and_the_seed_repeats_it() -> None:
    lost = _lost_fraction(3)

    assert 0 < len(lost) < 40
    assert _lost_fraction(3) == lost


def test_async_amd_verdicts_are_touched_only_when_named(carrier: Carrier) -> None:
    carrier.faults.lose_callbacks()  # every status callback, not the AMD verdict
    rule = carrier.faults.lose_callbacks(events=["amd"], times=1)

    sid = carrier.client.calls.create(
        to=CALLEE,
        from_=APP_NUMBER,
        url=f"{APP_BASE}/voice/hold",
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=f"{APP_BASE}/voice/amd",
        status_callback=STATUS,
    ).sid
    carrier.sim.run_until_idle()

    assert carrier.recorder.at("/voice/amd") == []
    assert carrier.statuses() == []
    assert InjectedFault("callback", "lose", "amd", rule, sid) in carrier.faults.injected


def test_threaded_callback_delays_are_in_call_time_and_waited_for() -> None:
    with running(threaded=True, time_scale=0.001) as started:
        started.faults.delay_callbacks(500, events=["initiated"])  # half a second of real time

        sid = started.call()
        assert started.sim.wait_until_idle(30)

        assert sorted(started.statuses(sid)) == sorted(
            ["initiated", "ringing", "in-progress", "completed"]
        )
        (fault,) = started.faults.injected
        assert (fault.target, fault.seconds) == ("initiated", 500)


# Plans, HTTP control and validation -------------------------------------------------------------


def test_faults_are_set_read_and_cleared_over_http(carrier: Carrier) -> None:
    plan = (
        '{"rest": [{"endpoint": "calls.create", "action": "error", "status": 429,'
        ' "retry_after": 3}]}'
    )
    added = carrier.control("POST", plan)
    assert added.status_code == 201
    assert added.json()["rules"] == [1]

    with pytest.raises(TwilioRestException) as raised:
        carrier.call()
    assert raised.value.status == 429

    state = carrier.control("GET").json()
    assert state["plan"]["rest"] == [
        {
            "endpoint": "calls.create",
            "action": "error",
            "status": 429,
            "code": 20429,
            "message": "Too Many Requests",
            "retry_after": 3,
        }
    ]
    assert state["injected"] == [
        {
            "kind": "rest",
            "action": "error",
            "target": "calls.create",
            "rule": 1,
            "status": 429,
            "code": 20429,
            "retry_after": 3,
            "created": False,
        }
    ]

    replaced = carrier.control("PUT", '{"callbacks": [{"action": "lose"}]}')
    assert replaced.status_code == 200
    assert replaced.json()["plan"]["rest"] == []
    assert replaced.json()["plan"]["callbacks"] == [{"action": "lose"}]

    assert carrier.control("DELETE").json()["plan"] == {"seed": 0, "rest": [], "callbacks": []}
    carrier.call()


def test_a_bad_plan_over_http_is_refused_whole_with_the_reason(carrier: Carrier) -> None:
    plan = (
        '{"rest": [{"endpoint": "calls.create", "action": "error"},'
        ' {"endpoint": "calls.delete", "action": "error"}]}'
    )
    refused = carrier.control("POST", plan)

    assert refused.status_code == 400
    assert refused.json()["code"] == 20001
    assert "rest[1]: unknown endpoint 'calls.delete'" in refused.json()["message"]
    assert carrier.faults.rules == {}
    assert carrier.control("POST", "not json").status_code == 400


def test_the_control_endpoint_needs_the_credentials(carrier: Carrier) -> None:
    response = requests.delete(f"{carrier.url}/_simulator/faults", timeout=10)
    assert response.status_code == 401


def test_a_plan_file_is_loaded_by_create_simulator(tmp_path: Path) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text(
        "seed: 5\n"
        "rest:\n"
        "  - {endpoint: '*', action: delay, seconds: [0.1, 0.3]}\n"
        "  - {endpoint: calls.create, action: drop, created: false, times: 1}\n"
        "callbacks:\n"
        "  - {action: duplicate, p: 0.1, events: [completed]}\n",
        encoding="utf-8",
    )

    sim = create_simulator(ACCOUNT_SID, AUTH_TOKEN, faults=plan)

    assert sim.faults.seed == 5
    assert sim.faults.to_dict() == {
        "seed": 5,
        "rest": [
            {"endpoint": "*", "action": "delay", "seconds": [0.1, 0.3]},
            {"endpoint": "calls.create", "action": "drop", "times": 1},
        ],
        "callbacks": [{"action": "duplicate", "p": 0.1, "events": ["completed"]}],
    }
    again = Faults()
    again.load(load_faults(plan))
    assert again.rules == sim.faults.rules


@pytest.mark.parametrize(
    ("knob", "reason"),
    [
        (lambda f: f.fail("calls.delete"), "unknown endpoint 'calls.delete'"),
        (lambda f: f.fail_rate("calls.create", 1.5), "probability"),
        (lambda f: f.fail("calls.create", status=400), "needs a Twilio code"),
        (lambda f: f.fail("calls.create", status=200), "400-599"),
        (lambda f: f.fail("calls.create", retry_after=1.5), "whole seconds"),
        (lambda f: f.delay("calls.fetch", -0.1), "at least 0"),
        (lambda f: f.delay("calls.fetch", (0.3, 0.1)), "above high"),
        (lambda f: f.drop("calls.create", times=0), "times"),
        (lambda f: f.drop("calls.create", for_seconds=float("inf")), "finite"),
        (lambda f: f.lose_callbacks(events=["answred"]), "unknown callback event"),
        (lambda f: f.lose_callbacks(to="not a number"), "to:"),
        (lambda f: f.callbacks(), "give lose, duplicate or delay"),
        (lambda f: f.load({"rest": [{"endpoint": "*", "action": "eror"}]}), "unknown REST"),
        (
            lambda f: f.load({"rest": [{"endpoint": "*", "action": "error", "stauts": 429}]}),
            "unknown key(s) ['stauts']",
        ),
        (lambda f: f.load({"rest": [{"action": "delay", "seconds": 1}]}), "['endpoint']"),
        (lambda f: f.load({"callbacks": [{"action": "delay"}]}), "seconds is required"),
        (lambda f: f.load({"callback": []}), "unknown key(s) ['callback']"),
        (lambda f: f.load({"seed": "x"}), "seed must be an integer"),
    ],
)
def test_bad_knobs_fail_loudly_and_add_nothing(knob: Callable[[Faults], Any], reason: str) -> None:
    faults = Faults()
    with pytest.raises(ValueError) as raised:
        knob(faults)
    assert reason in str(raised.value)
    assert faults.rules == {}


def test_create_simulator_refuses_a_bad_plan() -> None:
    with pytest.raises(ValueError, match="rest must be a list"):
        create_simulator(ACCOUNT_SID, AUTH_TOKEN, faults={"rest": "calls.create"})
