"""<Enqueue>, <Leave> and <Dial> with <Number>, <Queue> and <Conference>: queues, whispers, bridges
and conferences played as Twilio documents them (docs/simulator.md)."""

from __future__ import annotations

import pytest

from simulator import Persona
from tests.simulator.desk_app import AGENT, CALLER, HOTLINE, SUPERVISOR, Desk, build_desk

ENQUEUE = (
    '<Response><Enqueue waitUrl="/wait" action="/queue-done">fraud</Enqueue>'
    "<Say>Back from the queue.</Say></Response>"
)


@pytest.fixture
def desk() -> Desk:
    return build_desk()


def queued(desk: Desk, name: str = "fraud", size: int = 1) -> bool:
    queue = desk.sim.queue_named(name)
    return queue is not None and queue.size == size


def call_in(desk: Desk, keys: str | None = None, persona: Persona | None = None) -> str:
    call = desk.sim.place_inbound_call(
        CALLER, HOTLINE, url=desk.url("/voice"), keys=keys, persona=persona, run=False
    )
    return call.sid


# <Enqueue> --------------------------------------------------------------------------------------


def test_the_wait_url_is_fetched_again_each_time_its_twiml_ends_until_leave(desk: Desk) -> None:
    fetches: list[dict[str, str]] = []

    def wait(params: dict[str, str]) -> str:
        fetches.append(params)
        if len(fetches) < 3:
            return f"<Response><Say>You are number {params['QueuePosition']}.</Say>" + (
                '<Pause length="10"/></Response>'
            )
        return "<Response><Leave/></Response>"

    desk.route("/voice", ENQUEUE)
    desk.route("/wait", wait)
    desk.route("/queue-done", "<Response><Say>We will call you back.</Say></Response>")
    sid = call_in(desk)
    desk.sim.run_until_idle()

    call = desk.sim.calls[sid]
    assert desk.sim_errors() == []
    assert len(fetches) == 3
    queue = desk.sim.queue_named("fraud")
    assert queue is not None
    for params in fetches:
        assert params["QueueSid"] == queue.sid
        assert params["QueuePosition"] == "1"
        assert params["CurrentQueueSize"] == "1"
        assert params["MaxQueueSize"] == "1000"
        assert params["AvgQueueTime"] == "0"
        assert params["CallSid"] == sid
    times = [int(p["QueueTime"]) for p in fetches]
    assert times[0] == 0 and times[0] < times[1] < times[2]
    (done,) = desk.at("/queue-done")
    assert done.params["QueueResult"] == "leave"
    assert done.params["QueueSid"] == queue.sid
    assert int(done.params["QueueTime"]) == times[2]
    # The action's TwiML is played; the verb after <Enqueue> is not (the action replaced it).
    assert "[app] Say(en-US): We will call you back." in call.transcript
    assert not any("Back from the queue" in line for line in call.transcript)
    assert queue.size == 0 and queue.waits == [times[2]]


def test_without_an_action_leave_goes_on_with_the_verb_after_enqueue(desk: Desk) -> None:
    desk.route(
        "/voice", '<Response><Enqueue waitUrl="/wait">fraud</Enqueue><Say>After.</Say></Response>'
    )
    desk.route("/wait", "<Response><Leave/></Response>")
    sid = call_in(desk)
    desk.sim.run_until_idle()
    assert "[app] Say(en-US): After." in desk.sim.calls[sid].transcript
    assert desk.sim_errors() == []


def test_a_queued_caller_presses_1_in_the_wait_musics_gather_and_leaves(desk: Desk) -> None:
    desk.route("/voice", ENQUEUE)
    desk.route(
        "/wait",
        '<Response><Gather numDigits="1" action="/wait-key" timeout="5">'
        "<Say>Press 1 to be called back instead.</Say></Gather></Response>",
    )
    desk.route(
        "/wait-key",
        lambda p: (
            "<Response><Leave/></Response>"
            if p.get("Digits") == "1"
            else "<Response><Say>Please hold.</Say></Response>"
        ),
    )
    desk.route("/queue-done", "<Response><Say>We will call you back.</Say></Response>")
    sid = call_in(desk)
    assert desk.sim.run_until(lambda: len(desk.at("/wait")) >= 3)
    assert desk.at("/queue-done") == []  # still waiting: nothing pressed yet

    desk.sim.send_keys(sid, "1")
    assert desk.sim.run_until(lambda: bool(desk.at("/queue-done")))

    assert desk.at("/queue-done")[0].params["QueueResult"] == "leave"
    assert desk.at("/wait-key")[-1].params["Digits"] == "1"
    assert queued(desk, size=0)
    assert desk.sim_errors() == []


def test_a_caller_who_hangs_up_while_queued_is_removed_and_the_action_says_hangup(
    desk: Desk,
) -> None:
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", "<Response><Play>https://cdn.example.test/hold.mp3</Play></Response>")
    sid = call_in(desk, persona=Persona(max_call_seconds=40))
    assert desk.sim.run_until(lambda: queued(desk))
    desk.sim.run_until_idle()

    call = desk.sim.calls[sid]
    assert call.status == "completed"
    (done,) = desk.at("/queue-done")
    assert done.params["QueueResult"] == "hangup"
    assert done.params["CallStatus"] == "completed"
    assert 30 <= int(done.params["QueueTime"]) <= 40
    assert queued(desk, size=0)
    assert desk.sim_errors() == []


def test_a_verb_twilio_forbids_in_wait_twiml_is_an_error_and_the_action_says_error(
    desk: Desk,
) -> None:
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", f"<Response><Dial>{AGENT}</Dial></Response>")
    desk.route("/queue-done", "<Response><Say>Sorry.</Say><Hangup/></Response>")
    sid = call_in(desk)
    desk.sim.run_until_idle()

    assert [e.kind for e in desk.sim.errors] == ["twiml"]
    assert "<Dial> is not allowed in wait TwiML" in desk.sim.errors[0].message
    assert desk.at("/queue-done")[0].params["QueueResult"] == "error"
    assert "[app] Say(en-US): Sorry." in desk.sim.calls[sid].transcript
    assert queued(desk, size=0)


def test_a_full_queue_sends_the_caller_to_the_action_at_once(desk: Desk) -> None:
    desk.client.queues.create(friendly_name="fraud", max_size=1)
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", '<Response><Pause length="30"/></Response>')
    first = call_in(desk)
    assert desk.sim.run_until(lambda: queued(desk))
    second = call_in(desk)
    assert desk.sim.run_until(lambda: bool(desk.at("/queue-done")))

    (done,) = desk.at("/queue-done")
    assert done.params["CallSid"] == second
    assert done.params["QueueResult"] == "queue-full"
    assert desk.sim.queue_named("fraud").members[0].call.sid == first  # type: ignore[union-attr]
