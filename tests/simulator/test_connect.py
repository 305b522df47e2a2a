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


# <Dial><Number url=whisper> ---------------------------------------------------------------------

DIAL_AGENT = (
    '<Response><Dial action="/dial-done" timeout="20" callerId="+14155550100">'
    '<Number url="/whisper" statusCallback="/leg-status"'
    ' statusCallbackEvent="initiated ringing answered completed">'
    f"{AGENT}</Number></Dial><Say>After the dial.</Say></Response>"
)
WHISPER = (
    '<Response><Gather numDigits="1" action="/whisper-key" timeout="5">'
    "<Say>Fraud caller, verified. Press 1 to take the call.</Say></Gather><Hangup/></Response>"
)


def whisper_key(params: dict[str, str]) -> str:
    return "<Response/>" if params.get("Digits") == "1" else "<Response><Hangup/></Response>"


def dial_routes(desk: Desk) -> None:
    desk.route("/voice", DIAL_AGENT)
    desk.route("/whisper", WHISPER)
    desk.route("/whisper-key", whisper_key)
    desk.route("/dial-done", "<Response><Say>Thank you.</Say></Response>")


def test_an_agent_who_presses_1_at_the_whisper_is_bridged_until_a_side_hangs_up(
    desk: Desk,
) -> None:
    desk.sim.set_persona(AGENT, Persona.agent_accepts(talk_seconds=45))
    dial_routes(desk)
    sid = call_in(desk)
    desk.sim.run_until_idle()

    caller = desk.sim.calls[sid]
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert desk.sim_errors() == []
    assert leg.parent_call_sid == sid and leg.direction == "outbound-dial"
    assert leg.to == AGENT and leg.from_ == HOTLINE
    assert leg.to_json()["parent_call_sid"] == sid
    assert [c.sid for c in desk.client.calls.list(parent_call_sid=sid)] == [leg.sid]
    # The whisper plays on the agent's leg, with the leg's own CallSid.
    (whisper,) = desk.at("/whisper")
    assert whisper.params["CallSid"] == leg.sid
    assert desk.at("/whisper-key")[0].params["Digits"] == "1"
    assert f"[carrier] bridged with {sid}" in leg.transcript
    assert f"[carrier] bridged with {leg.sid}" in caller.transcript
    # The agent hangs up after talking: the caller goes on at the Dial action.
    (done,) = desk.at("/dial-done")
    assert done.params["CallSid"] == sid
    assert done.params["DialCallStatus"] == "completed"
    assert done.params["DialCallSid"] == leg.sid
    assert int(done.params["DialCallDuration"]) == leg.duration
    assert leg.duration is not None and leg.duration >= 45
    assert "[app] Say(en-US): Thank you." in caller.transcript
    assert not any("After the dial" in line for line in caller.transcript)
    statuses = [h.params["CallStatus"] for h in desk.at("/leg-status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert all(h.params["CallSid"] == leg.sid for h in desk.at("/leg-status"))


@pytest.mark.parametrize("persona", [Persona.agent_declines(), Persona.agent_declines(key="")])
def test_an_agent_who_declines_or_presses_nothing_is_never_bridged(
    desk: Desk, persona: Persona
) -> None:
    desk.sim.set_persona(AGENT, persona)
    dial_routes(desk)
    sid = call_in(desk)
    desk.sim.run_until_idle()

    caller = desk.sim.calls[sid]
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert desk.sim_errors() == []
    assert not any("bridged" in line for line in leg.transcript + caller.transcript)
    assert leg.status == "completed"
    (done,) = desk.at("/dial-done")
    # The leg was answered, then hung up by the whisper: Twilio reports the leg's own status.
    assert done.params["DialCallStatus"] == "completed"
    assert int(done.params["DialCallDuration"]) == leg.duration
    assert "[app] Say(en-US): Thank you." in caller.transcript


@pytest.mark.parametrize(
    ("persona", "status"),
    [(Persona.no_answer(), "no-answer"), (Persona.busy(), "busy"), (Persona.failed(), "failed")],
)
def test_a_leg_that_never_answers_reports_its_status_on_the_dial_action(
    desk: Desk, persona: Persona, status: str
) -> None:
    desk.sim.set_persona(AGENT, persona)
    dial_routes(desk)
    sid = call_in(desk)
    desk.sim.run_until_idle()

    (done,) = desk.at("/dial-done")
    assert done.params["DialCallStatus"] == status
    assert done.params["DialCallDuration"] == "0"
    assert desk.at("/whisper") == []
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert leg.status == status
    if status == "no-answer":
        assert leg.elapsed == 0 and leg.duration == 0


def test_a_voicemail_on_the_agent_phone_is_reported_by_amd_to_the_whisper(desk: Desk) -> None:
    desk.sim.set_persona(AGENT, Persona.voicemail())
    dial_routes(desk)
    desk.route(
        "/voice",
        DIAL_AGENT.replace('url="/whisper"', 'url="/whisper" machineDetection="Enable"'),
    )
    desk.route(
        "/whisper",
        lambda p: "<Response><Hangup/></Response>" if p["AnsweredBy"] != "human" else WHISPER,
    )
    sid = call_in(desk)
    desk.sim.run_until_idle()

    assert desk.at("/whisper")[0].params["AnsweredBy"] == "machine_start"
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert not any("bridged" in line for line in leg.transcript)
    assert desk.at("/dial-done")[0].params["DialCallStatus"] == "completed"
    assert desk.sim_errors() == []


def test_a_caller_who_hangs_up_during_the_bridge_ends_the_agent_leg(desk: Desk) -> None:
    desk.sim.set_persona(AGENT, Persona.agent_accepts(talk_seconds=300))
    dial_routes(desk)
    sid = call_in(desk, keys="wait 20,hangup")
    desk.sim.run_until_idle()

    caller = desk.sim.calls[sid]
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert caller.status == leg.status == "completed"
    assert "[carrier] the caller left the Dial: the leg ends" in leg.transcript
    assert leg.elapsed < 300
    # Twilio still requests the Dial action for a caller who hung up; its answer is ignored.
    (done,) = desk.at("/dial-done")
    assert done.params["CallStatus"] == "completed"
    assert done.params["DialCallStatus"] == "completed"
    assert not any("Thank you" in line for line in caller.transcript)
    assert desk.sim_errors() == []


# <Dial><Queue> ----------------------------------------------------------------------------------


def test_an_agent_dialling_the_queue_gets_the_front_caller_and_both_actions_fire(
    desk: Desk,
) -> None:
    desk.route("/voice", ENQUEUE)
    desk.route(
        "/wait", '<Response><Play loop="0">https://cdn.example.test/hold.mp3</Play></Response>'
    )
    desk.route("/queue-done", "<Response><Say>Thanks for waiting.</Say></Response>")
    desk.route(
        "/agent",
        '<Response><Dial action="/agent-done"><Queue url="/about-to-connect">fraud</Queue>'
        "</Dial></Response>",
    )
    desk.route("/about-to-connect", "<Response><Say>Connecting you now.</Say></Response>")
    desk.route("/agent-done", "<Response><Say>Next caller?</Say></Response>")
    first = call_in(desk)
    assert desk.sim.run_until(lambda: queued(desk))
    second = call_in(desk)
    assert desk.sim.run_until(lambda: queued(desk, size=2))

    desk.sim.set_persona(AGENT, Persona.human(["wait 30", "hangup"]))
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/agent")).sid
    assert desk.sim.run_until(lambda: desk.sim.calls[agent].is_over)

    caller = desk.sim.calls[first]
    # The Queue's url plays on the dequeued caller's leg, with the dequeuer's CallSid.
    (connect,) = desk.at("/about-to-connect")
    assert connect.params["CallSid"] == first
    assert connect.params["DequeingCallSid"] == agent
    assert "[app] Say(en-US): Connecting you now." in caller.transcript
    assert f"[carrier] bridged with {agent}" in caller.transcript
    # The agent hung up: the caller's Enqueue action reports bridged only now, and it goes on.
    assert desk.sim.run_until(lambda: bool(desk.at("/queue-done")))
    (done,) = desk.at("/queue-done")
    assert done.params["CallSid"] == first
    assert done.params["QueueResult"] == "bridged"
    (agent_done,) = desk.at("/agent-done")
    assert agent_done.params["DialCallStatus"] == "completed"
    assert agent_done.params["DialCallSid"] == first
    assert 29 <= int(agent_done.params["DialCallDuration"]) <= 31
    assert desk.sim.run_until(lambda: desk.sim.calls[first].is_over)
    assert "[app] Say(en-US): Thanks for waiting." in caller.transcript
    # The second caller is still waiting, now first in line.
    queue = desk.sim.queue_named("fraud")
    assert queue is not None and [m.call.sid for m in queue.members] == [second]
    assert desk.sim_errors() == []


def test_dialling_a_queue_that_does_not_exist_fails_on_the_action(desk: Desk) -> None:
    desk.route(
        "/agent", '<Response><Dial action="/agent-done"><Queue>nobody</Queue></Dial></Response>'
    )
    desk.route("/agent-done", "<Response/>")
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/agent")).sid
    desk.sim.run_until_idle()
    assert desk.at("/agent-done")[0].params["DialCallStatus"] == "failed"
    assert desk.sim.calls[agent].status == "completed"


# Queue Members REST dequeue into a conference ---------------------------------------------------


def test_a_member_dequeued_by_rest_joins_the_agents_conference(desk: Desk) -> None:
    """The live transfer of issue 17: the agent's leg whispers, the agent presses 1, the app
    moves the front caller with the Members API into a conference named for the agent leg."""
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", '<Response><Say>Please hold.</Say><Pause length="20"/></Response>')
    desk.route(
        "/agent",
        '<Response><Gather numDigits="1" action="/agent-key" timeout="5">'
        "<Say>Fraud caller. Press 1 to take the call.</Say></Gather><Hangup/></Response>",
    )

    def agent_key(params: dict[str, str]) -> str:
        room = f"agent-{params['CallSid']}"
        queue = desk.sim.queue_named("fraud")
        assert queue is not None
        desk.client.queues(queue.sid).members("Front").update(
            url=desk.url(f"/join?room={room}"), method="POST"
        )
        return (
            '<Response><Dial action="/agent-done"><Conference endConferenceOnExit="true"'
            ' statusCallback="/conference-events" statusCallbackEvent="start end join leave">'
            f"{room}</Conference></Dial></Response>"
        )

    desk.route("/agent-key", agent_key)
    desk.route(
        "/join",
        lambda p: (
            '<Response><Dial action="/caller-done"><Conference startConferenceOnEnter="false">'
            f"{p['room']}</Conference></Dial></Response>"
        ),
    )
    desk.route("/caller-done", "<Response><Say>Goodbye.</Say></Response>")
    desk.route("/agent-done", "<Response/>")
    desk.route("/queue-done", "<Response/>")
    caller = call_in(desk)
    assert desk.sim.run_until(lambda: queued(desk))
    desk.sim.set_persona(AGENT, Persona.agent_accepts(talk_seconds=90))
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/agent")).sid
    room = f"agent-{agent}"
    assert desk.sim.run_until(
        lambda: (c := desk.sim.conference_named(room)) is not None and len(c.participants) == 2
    )

    conference = desk.sim.conference_named(room)
    assert conference is not None and conference.status == "in-progress"
    assert conference.hears(agent) == {caller} and conference.hears(caller) == {agent}
    # The Members API took the caller out of the queue at once, so no one else can have them.
    assert queued(desk, size=0)
    assert desk.at("/queue-done")[0].params["QueueResult"] == "redirected"

    desk.sim.run_until_idle()
    # The agent (endConferenceOnExit) hangs up after talking: the conference ends and the
    # caller goes on at its Dial action.
    assert conference.status == "completed"
    assert conference.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert conference.call_sid_ending_conference == agent
    (done,) = desk.at("/caller-done")
    assert done.params["DialCallStatus"] == "completed"
    assert "[app] Say(en-US): Goodbye." in desk.sim.calls[caller].transcript
    # The agent who hung up in the conference still has its Dial action requested.
    (agent_done,) = desk.at("/agent-done")
    assert agent_done.params["CallSid"] == agent
    assert agent_done.params["CallStatus"] == "completed"
    assert agent_done.params["ConferenceSid"] == conference.sid
    assert int(agent_done.params["DialCallDuration"]) >= 90
    events = [h.params["StatusCallbackEvent"] for h in desk.at("/conference-events")]
    assert events == [
        "participant-join",
        "conference-start",
        "participant-join",
        "participant-leave",
        "conference-end",
        "participant-leave",
    ]
    assert desk.sim_errors() == []


# Conferences: mute, hold, coach, kick, end ------------------------------------------------------


def conference_of_three(desk: Desk) -> tuple[str, str, str, str]:
    """A caller and an agent in a conference, and a supervisor coaching the agent."""
    room = "agent-room"
    desk.route(
        "/room",
        '<Response><Dial action="/left"><Conference statusCallback="/conference-events"'
        ' statusCallbackEvent="join leave mute hold modify end">'
        f"{room}</Conference></Dial><Say>Out of the room.</Say></Response>",
    )
    desk.route("/left", "<Response><Say>You left the room.</Say></Response>")
    desk.route(
        "/coach",
        lambda p: (
            f'<Response><Dial><Conference coach="{p["Agent"]}" muted="false">{room}'
            "</Conference></Dial></Response>"
        ),
    )
    caller = desk.sim.place_inbound_call(CALLER, HOTLINE, url=desk.url("/room"), run=False).sid
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/room")).sid
    assert desk.sim.run_until(
        lambda: (c := desk.sim.conference_named(room)) is not None and len(c.participants) == 2
    )
    supervisor = desk.client.calls.create(
        to=SUPERVISOR, from_=HOTLINE, url=desk.url(f"/coach?Agent={agent}")
    ).sid
    assert desk.sim.run_until(lambda: len(desk.sim.conference_named(room).participants) == 3)  # type: ignore[union-attr]
    conference = desk.sim.conference_named(room)
    assert conference is not None
    return conference.sid, caller, agent, supervisor


def test_a_coach_is_heard_by_the_agent_only_and_rest_updates_mute_hold_and_coach(
    desk: Desk,
) -> None:
    sid, caller, agent, supervisor = conference_of_three(desk)
    conference = desk.sim.switchboard.conferences[sid]
    assert conference.hears(agent) == {caller, supervisor}
    assert conference.hears(caller) == {agent}
    participants = desk.client.conferences(sid).participants
    coach = participants(supervisor).fetch()
    assert coach.coaching is True and coach.call_sid_to_coach == agent

    participants(caller).update(muted=True)
    assert conference.hears(agent) == {supervisor}
    assert [p.call_sid for p in participants.list(muted=True)] == [caller]
    participants(caller).update(muted=False, hold=True)
    assert conference.hears(agent) == {supervisor} and conference.hears(caller) == set()
    participants(caller).update(hold=False)
    # The supervisor barges in: no longer coaching, everyone hears them.
    participants(supervisor).update(coaching=False)
    assert conference.hears(caller) == {agent, supervisor}
    assert participants(supervisor).fetch().call_sid_to_coach is None

    events = [h.params["StatusCallbackEvent"] for h in desk.at("/conference-events")]
    assert events[-5:] == [
        "participant-mute",
        "participant-unmute",
        "participant-hold",
        "participant-unhold",
        "participant-modify",
    ]
    assert "[carrier] participant update: muted=True" in desk.sim.calls[caller].transcript
    assert desk.sim_errors() == []


def test_a_kicked_participant_goes_on_at_its_dial_action_and_the_rest_stay(desk: Desk) -> None:
    sid, caller, agent, supervisor = conference_of_three(desk)
    desk.client.conferences(sid).participants(supervisor).delete()
    assert desk.sim.run_until(lambda: desk.sim.calls[supervisor].is_over)

    conference = desk.sim.switchboard.conferences[sid]
    assert set(conference.participants) == {caller, agent}
    assert conference.status == "in-progress"
    # The supervisor's Dial had no action: it goes on with the verb after the Dial (none).
    assert "[carrier] leaves conference agent-room: removed from the conference" in (
        desk.sim.calls[supervisor].transcript
    )
    assert desk.client.conferences(sid).participants(supervisor).fetch().status == "complete"


def test_ending_the_conference_by_rest_sends_everyone_to_their_dial_action(desk: Desk) -> None:
    sid, caller, agent, supervisor = conference_of_three(desk)
    desk.client.conferences(sid).update(status="completed")
    assert desk.sim.run_until(lambda: len(desk.at("/left")) == 2)

    fetched = desk.client.conferences(sid).fetch()
    assert fetched.status == "completed"
    assert fetched.reason_conference_ended == "conference-ended-via-api"
    assert {h.params["CallSid"] for h in desk.at("/left")} == {caller, agent}
    assert all(h.params["DialCallStatus"] == "completed" for h in desk.at("/left"))
    assert [c.sid for c in desk.client.conferences.list(status="completed")] == [sid]
    # The supervisor's Dial had no action: its TwiML ran out, so its call ended.
    assert desk.sim.run_until(lambda: desk.sim.calls[supervisor].is_over)
    assert "[carrier] end of TwiML: hangs up" in desk.sim.calls[supervisor].transcript
    assert desk.sim_errors() == []


def test_a_rest_redirect_of_a_bridged_caller_hangs_up_the_dialled_leg(desk: Desk) -> None:
    desk.sim.set_persona(AGENT, Persona.agent_accepts(talk_seconds=600))
    dial_routes(desk)
    desk.route("/survey", "<Response><Say>Please rate the call.</Say></Response>")
    sid = call_in(desk)
    assert desk.sim.run_until(
        lambda: any("bridged" in line for line in desk.sim.calls[sid].transcript)
    )
    desk.client.calls(sid).update(url=desk.url("/survey"))
    desk.sim.run_until_idle()

    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert leg.status == "completed" and leg.elapsed < 600
    assert "[app] Say(en-US): Please rate the call." in desk.sim.calls[sid].transcript
    assert desk.sim.switchboard.bridges == {}
    assert desk.sim_errors() == []


# Threaded mode ----------------------------------------------------------------------------------


def test_in_threaded_mode_a_queued_caller_is_bridged_to_an_agent_in_real_time() -> None:
    desk = build_desk(threaded=True, time_scale=0.005)
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", '<Response><Say>Please hold.</Say><Pause length="5"/></Response>')
    desk.route("/queue-done", "<Response><Say>Goodbye.</Say></Response>")
    desk.route("/agent", "<Response><Dial><Queue>fraud</Queue></Dial></Response>")
    desk.sim.set_persona(AGENT, Persona.human(["wait 10", "hangup"]))
    caller = desk.sim.place_inbound_call(CALLER, HOTLINE, url=desk.url("/voice"))
    assert desk.sim.run_until(lambda: queued(desk))
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/agent")).sid

    assert desk.sim.run_until(lambda: caller.is_over and desk.sim.calls[agent].is_over)
    assert desk.at("/queue-done")[0].params["QueueResult"] == "bridged"
    assert "[app] Say(en-US): Goodbye." in caller.transcript
    assert desk.sim_errors() == []


def test_a_caller_who_hangs_up_while_the_leg_rings_cancels_it(desk: Desk) -> None:
    desk.sim.set_persona(AGENT, Persona.no_answer())
    dial_routes(desk)
    sid = call_in(desk, persona=Persona(max_call_seconds=8))
    desk.sim.run_until_idle()

    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert leg.status == "canceled" and leg.duration == 0
    (done,) = desk.at("/dial-done")
    assert done.params["DialCallStatus"] == "canceled"
    assert done.params["CallStatus"] == "completed"
    assert desk.sim_errors() == []


def test_a_verb_twilio_forbids_in_a_whisper_fails_loudly_and_never_bridges(desk: Desk) -> None:
    desk.sim.set_persona(AGENT, Persona.agent_accepts())
    dial_routes(desk)
    desk.route("/whisper", "<Response><Enqueue>fraud</Enqueue></Response>")
    sid = call_in(desk)
    desk.sim.run_until_idle()

    assert [e.kind for e in desk.sim.errors] == ["twiml"]
    assert "<Enqueue> is not allowed in whisper TwiML" in desk.sim.errors[0].message
    (leg,) = [c for c in desk.sim.calls.values() if c.sid != sid]
    assert desk.sim.errors[0].call_sid == leg.sid
    assert not any("bridged" in line for line in leg.transcript)
    assert desk.at("/dial-done")[0].params["DialCallStatus"] == "completed"


def test_keys_for_a_live_caller_through_the_control_endpoint(desk: Desk) -> None:
    from werkzeug.test import Client as WerkzeugClient

    from tests.simulator.test_rest_api import basic

    desk.route("/voice", ENQUEUE)
    desk.route(
        "/wait",
        '<Response><Gather numDigits="1" action="/wait-key" timeout="5">'
        "<Say>Press 1 to be called back.</Say></Gather></Response>",
    )
    desk.route("/wait-key", "<Response><Leave/></Response>")
    desk.route("/queue-done", "<Response/>")
    sid = call_in(desk)
    assert desk.sim.run_until(lambda: queued(desk))
    client = WerkzeugClient(desk.sim.wsgi_app)

    bad = client.post(f"/_simulator/calls/{sid}/keys", data={"Keys": "x"}, headers=basic())
    assert bad.status_code == 400
    ok = client.post(f"/_simulator/calls/{sid}/keys", data={"Keys": "1"}, headers=basic())
    assert ok.status_code == 200
    assert desk.sim.run_until(lambda: bool(desk.at("/queue-done")))
    assert desk.at("/queue-done")[0].params["QueueResult"] == "leave"


@pytest.mark.parametrize(
    "wait",
    [
        "<Response/>",
        "<Response><Redirect>/wait</Redirect></Response>",
    ],
)
def test_wait_twiml_that_plays_nothing_is_an_error_not_an_endless_fetch_loop(
    desk: Desk, wait: str
) -> None:
    desk.route("/voice", ENQUEUE)
    desk.route("/wait", wait)
    desk.route("/queue-done", "<Response/>")
    call_in(desk)
    desk.sim.run_until_idle()

    assert [e.kind for e in desk.sim.errors] == ["twiml"]
    assert "time" in desk.sim.errors[0].message
    assert desk.at("/queue-done")[0].params["QueueResult"] == "error"


def test_in_threaded_mode_a_whispered_agent_joins_the_callers_conference() -> None:
    desk = build_desk(threaded=True, time_scale=0.005)
    desk.sim.set_persona(AGENT, Persona.agent_accepts(talk_seconds=20))
    dial_routes(desk)
    desk.route(
        "/voice",
        '<Response><Dial action="/dial-done"><Conference endConferenceOnExit="true">room-7'
        "</Conference></Dial></Response>",
    )
    desk.route(
        "/agent-key",
        lambda p: (
            '<Response><Dial><Conference endConferenceOnExit="true">room-7</Conference>'
            "</Dial></Response>"
            if p.get("Digits") == "1"
            else "<Response><Hangup/></Response>"
        ),
    )
    desk.route(
        "/agent",
        '<Response><Gather numDigits="1" action="/agent-key" timeout="5">'
        "<Say>Press 1 to take the call.</Say></Gather><Hangup/></Response>",
    )
    caller = desk.sim.place_inbound_call(CALLER, HOTLINE, url=desk.url("/voice"))
    assert desk.sim.run_until(lambda: desk.sim.conference_named("room-7") is not None)
    agent = desk.client.calls.create(to=AGENT, from_=HOTLINE, url=desk.url("/agent")).sid

    assert desk.sim.run_until(lambda: caller.is_over and desk.sim.calls[agent].is_over)
    (done,) = desk.at("/dial-done")
    assert done.params["DialCallStatus"] == "completed"
    conference = desk.sim.switchboard.conferences[done.params["ConferenceSid"]]
    assert conference.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert conference.call_sid_ending_conference == agent
    assert desk.sim_errors() == []


def test_a_cold_transfer_redirects_the_caller_out_of_the_conference_into_a_queue(
    desk: Desk,
) -> None:
    sid, caller, agent, supervisor = conference_of_three(desk)
    desk.route("/requeue", '<Response><Enqueue waitUrl="/wait">fraud</Enqueue></Response>')
    desk.route("/wait", '<Response><Pause length="30"/></Response>')
    desk.client.calls(caller).update(url=desk.url("/requeue"))
    assert desk.sim.run_until(lambda: queued(desk))

    conference = desk.sim.switchboard.conferences[sid]
    assert set(conference.participants) == {agent, supervisor}
    assert conference.status == "in-progress"
    assert desk.client.conferences(sid).participants(caller).fetch().status == "complete"
    assert "participant-leave" in [
        h.params["StatusCallbackEvent"] for h in desk.at("/conference-events")
    ]
    assert desk.sim_errors() == []
