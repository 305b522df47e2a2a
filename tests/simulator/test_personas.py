"""Callees: busy, no answer, failed, voicemail, hang-up after N prompts, key scripts, SMS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Response

from simulator import Persona, PersonaError, load_personas, parse_key_script
from simulator.personas import HangUp, Keys, Wait
from tests.simulator.harness import APP_BASE, APP_NUMBER, CALLEE, Harness

STATUS = f"{APP_BASE}/voice/status"
EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.mark.parametrize(
    ("persona", "status", "events"),
    [
        (Persona.busy(), "busy", ["initiated", "busy"]),
        (Persona.failed(), "failed", ["initiated", "failed"]),
        (Persona.no_answer(), "no-answer", ["initiated", "ringing", "no-answer"]),
    ],
)
def test_unanswered_personas_end_with_their_status_and_never_fetch_the_url(
    harness: Harness, persona: Persona, status: str, events: list[str]
) -> None:
    harness.sim.set_persona(CALLEE, persona)

    call = harness.call(status_callback=STATUS, status_callback_event=EVENTS, timeout=25)

    assert call.status == status
    assert call.duration == 0
    # Dialed calls have a start time (Twilio: "empty if the call has not yet been dialed"), so
    # the reconciler can find a busy or unanswered call by To and StartTime.
    assert (call.start_time is None) == (status == "failed")
    assert harness.recorder.paths() == ["/voice/status"] * len(events)
    assert [h.params["CallStatus"] for h in harness.recorder.hits] == events
    assert harness.recorder.hits[-1].params["CallDuration"] == "0"


def test_no_answer_rings_for_the_calls_timeout(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona.no_answer())
    created = harness.client.calls.create(
        to=CALLEE, from_=APP_NUMBER, url=f"{APP_BASE}/voice/outbound", timeout=25
    )
    before = harness.sim.now()
    harness.sim.run_until_idle()
    assert (harness.sim.now() - before).total_seconds() == 25
    assert harness.sim.calls[created.sid].status == "no-answer"


def test_a_callee_ringing_longer_than_the_timeout_is_no_answer(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona(ring_seconds=30))
    assert harness.call(timeout=20).status == "no-answer"


def test_voicemail_listens_silently_and_hangs_up_after_its_limit(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona.voicemail())
    harness.overrides["/voice/custom"] = lambda: harness_twiml(
        '<Response><Gather timeout="60"/><Redirect>/voice/custom</Redirect></Response>'
    )

    call = harness.call(path="/voice/custom")

    assert call.status == "completed"
    assert call.duration == 120
    assert call.transcript[-2] == "[callee] hangs up after 120s"
    assert harness.sim.errors == []


def harness_twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


@pytest.mark.parametrize(("prompts", "heard"), [(1, 1), (2, 2)])
def test_a_callee_hangs_up_after_n_prompts(harness: Harness, prompts: int, heard: int) -> None:
    harness.sim.set_persona(CALLEE, Persona.hangs_up_after(prompts))

    call = harness.call()

    says = [line for line in call.transcript if line.startswith("[app] Say")]
    # Prompt 1 is the greeting; prompt 2 the Gather (its nested menu Say is heard).
    assert len(says) == heard
    assert call.transcript[-2] == f"[callee] hangs up after {prompts} prompt(s)"
    assert harness.recorder.paths() == ["/voice/outbound"]
    assert call.status == "completed"


def test_a_scripted_hangup_ends_the_call_mid_menu(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona.human(["1", "hangup"]))
    call = harness.call()
    assert harness.recorder.paths() == ["/voice/outbound", "/voice/menu"]
    assert "[caller] hangs up" in call.transcript


def test_the_default_callee_is_a_silent_human(harness: Harness) -> None:
    first = harness.call()
    second = harness.call()
    assert first.transcript[1:] == second.transcript[1:]
    assert any("no input" in line for line in first.transcript)


@pytest.mark.parametrize(
    ("persona", "statuses", "code"),
    [
        (Persona.human(), ["queued", "sent", "delivered"], None),
        (Persona.no_sms(), ["queued", "sent", "undelivered"], "30003"),
        (Persona.no_sms("failed"), ["queued", "failed"], "30006"),
    ],
)
def test_sms_status_callbacks_follow_the_recipients_persona(
    harness: Harness, persona: Persona, statuses: list[str], code: str | None
) -> None:
    harness.sim.set_persona(CALLEE, persona)

    created = harness.client.messages.create(
        to=CALLEE, from_=APP_NUMBER, body="Reminder", status_callback=f"{APP_BASE}/sms/status"
    )
    assert created.status == "queued"
    harness.sim.run_until_idle()

    hits = harness.recorder.at("/sms/status")
    assert [h.params["MessageStatus"] for h in hits] == statuses
    assert all(h.params["MessageSid"] == created.sid for h in hits)
    assert all(h.signature_ok for h in hits)
    assert hits[-1].params.get("ErrorCode") == code
    fetched = harness.client.messages(created.sid).fetch()
    assert fetched.status == statuses[-1]
    assert fetched.error_code == (int(code) if code else None)


def test_key_scripts_parse_digits_waits_and_hangups() -> None:
    assert parse_key_script("1, wait 2.5,1234#,hangup") == (
        Keys("1"),
        Wait(2.5),
        Keys("1234#"),
        HangUp(),
    )
    with pytest.raises(PersonaError, match="'12a'"):
        parse_key_script(["12a"])


def test_personas_load_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "personas.yaml"
    yaml_file.write_text(
        "personas:\n"
        "  default: silent\n"
        "  '+1 415 555 0101': busy\n"
        "  '+14155550102': {preset: voicemail, max_call_seconds: 30}\n"
        "  '+14155550103': {keys: ['1', 'wait 2', '1234#']}\n"
        "  '+14155550104': {hangup_after_prompts: 2}\n"
        "  '+14155550105': no-sms\n",
        encoding="utf-8",
    )
    book = load_personas(yaml_file)
    assert book.for_number("+14155550101") == Persona.busy()
    assert book.for_number("+14155550102").max_call_seconds == 30
    assert book.for_number("+14155550102").answered_by == "machine_end_beep"
    assert book.for_number("+14155550103").keys == (Keys("1"), Wait(2), Keys("1234#"))
    assert book.for_number("+14155550104").hangup_after_prompts == 2
    assert book.for_number("+14155550105").sms == "undelivered"
    assert book.for_number("+14155559999") == Persona.silent()

    json_file = tmp_path / "personas.json"
    json_file.write_text(json.dumps({"personas": {"+14155550101": "no-answer"}}))
    assert load_personas(json_file).for_number("+14155550101").outcome == "no-answer"


def test_agents_are_key_scripts_in_a_personas_file_and_presets_in_code(tmp_path: Path) -> None:
    personas = tmp_path / "agents.yaml"
    personas.write_text(
        "personas:\n"
        "  '+14155550121': {keys: ['1', 'wait 60', 'hangup'], ring_seconds: 3}\n"
        "  '+14155550122': {keys: ['2'], ring_seconds: 3}\n",
        encoding="utf-8",
    )
    book = load_personas(personas)
    assert book.for_number("+14155550121") == Persona.agent_accepts()
    assert book.for_number("+14155550122") == Persona.agent_declines()
    assert Persona.agent_declines(key="").keys == ()
    assert Persona.agent_accepts(talk_seconds=30).keys == (Keys("1"), Wait(30), HangUp())


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("personas:\n  '+14155550101': grumpy\n", "grumpy"),
        ("personas:\n  '+14155550101': {keys: ['x']}\n", "'x'"),
        ("personas:\n  '+14155550101': {patience: 3}\n", "patience"),
        ("personas:\n  'not a number': busy\n", "not a number"),
        ("personas:\n  '+14155550101': {answered_by: robot}\n", "robot"),
        ("callees: {}\n", "personas"),
    ],
)
def test_a_bad_personas_file_names_the_problem(
    tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "personas.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PersonaError, match=complaint):
        load_personas(path)
