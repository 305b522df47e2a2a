"""Status callbacks in Twilio's order and only for subscribed events; async AMD and redirects."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flask import Response, request

from simulator import Persona
from tests.simulator.harness import APP_BASE, CALLEE, Harness

STATUS = f"{APP_BASE}/voice/status"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def test_all_subscribed_events_arrive_in_order_with_sequence_numbers(harness: Harness) -> None:
    call = harness.call(status_callback=STATUS, status_callback_event=ALL_EVENTS)

    hits = harness.recorder.at("/voice/status")
    assert [h.params["CallStatus"] for h in hits] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "1", "2", "3"]
    assert all(h.params["CallbackSource"] == "call-progress-events" for h in hits)
    stamps = [parsedate_to_datetime(h.params["Timestamp"]) for h in hits]
    assert stamps == sorted(stamps)
    assert all(s.utcoffset() is not None for s in stamps)
    completed = hits[-1].params
    assert completed["CallDuration"] == str(call.duration)
    assert completed["Duration"] == "1"  # minutes, rounded up
    assert "CallDuration" not in hits[2].params
    assert all(h.signature_ok for h in hits)
    # The status callbacks interleave with the call's own requests in time order.
    paths = harness.recorder.paths()
    assert paths.index("/voice/outbound") == 3  # after initiated, ringing, answered
    assert paths[-1] == "/voice/status"


def test_only_subscribed_events_are_sent(harness: Harness) -> None:
    harness.call(status_callback=STATUS, status_callback_event=["answered"])

    hits = harness.recorder.at("/voice/status")
    assert [h.params["CallStatus"] for h in hits] == ["in-progress"]
    assert hits[0].params["SequenceNumber"] == "0"


def test_without_events_only_completed_is_sent(harness: Harness) -> None:
    harness.call(status_callback=STATUS)

    hits = harness.recorder.at("/voice/status")
    assert [h.params["CallStatus"] for h in hits] == ["completed"]


def test_status_callback_method_get_is_signed_over_the_query(harness: Harness) -> None:
    harness.call(status_callback=f"{STATUS}?attempt=3", status_callback_method="GET")
    # /voice/status only accepts POST in the test app: a GET there answers 405 and is recorded.
    assert [e.kind for e in harness.sim.errors] == ["http"]
    hit = harness.recorder.at("/voice/status")[0]
    assert hit.method == "GET"
    assert hit.params["attempt"] == "3"
    assert hit.signature_ok


def test_async_amd_posts_the_verdict_during_the_hold_and_a_rest_update_redirects(
    harness: Harness,
) -> None:
    harness.sim.set_persona(CALLEE, Persona.voicemail())

    call = harness.call(
        path="/voice/hold",
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=f"{APP_BASE}/voice/amd",
    )

    assert harness.recorder.paths() == ["/voice/hold", "/voice/amd", "/voice/voicemail"]
    amd = harness.recorder.at("/voice/amd")[0]
    assert amd.params["AnsweredBy"] == "machine_end_beep"
    assert amd.params["MachineDetectionDuration"] == "8000"
    assert amd.params["CallSid"] == call.sid
    assert amd.signature_ok
    assert "AnsweredBy" not in harness.recorder.at("/voice/hold")[0].params
    assert not any("Still holding" in line for line in call.transcript)
    assert any("redirected by REST update" in line for line in call.transcript)
    assert call.answered_by == "machine_end_beep"
    assert call.status == "completed"
    assert harness.sim.errors == []


def test_async_amd_with_enable_reports_machine_start_and_a_human_as_human(
    harness: Harness,
) -> None:
    harness.sim.set_persona(CALLEE, Persona.voicemail())
    harness.sim.set_persona("+14155550124", Persona.human())
    for to in (CALLEE, "+14155550124"):
        harness.call(
            to=to,
            path="/voice/hold",
            machine_detection="Enable",
            async_amd="true",
            async_amd_status_callback=f"{APP_BASE}/voice/amd",
        )

    verdicts = [h.params["AnsweredBy"] for h in harness.recorder.at("/voice/amd")]
    assert verdicts == ["machine_start", "human"]
    assert len(harness.recorder.at("/voice/human")) == 1


def test_synchronous_amd_passes_answered_by_to_the_first_request(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona(answered_by="fax", amd_seconds=1.5))

    harness.call(machine_detection="Enable")

    assert harness.recorder.hits[0].params["AnsweredBy"] == "fax"


def test_rest_completed_hangs_up_a_live_call(harness: Harness) -> None:
    def hang_up_from_amd() -> Response:
        harness.client.calls(request.form["CallSid"]).update(status="completed")
        return Response("", status=204)

    harness.overrides["/voice/custom"] = hang_up_from_amd
    call = harness.call(
        path="/voice/hold",
        machine_detection="Enable",
        async_amd="true",
        async_amd_status_callback=f"{APP_BASE}/voice/custom",
        status_callback=STATUS,
    )
    assert call.status == "completed"
    assert not any("Still holding" in line for line in call.transcript)
    assert harness.recorder.at("/voice/status")[0].params["CallStatus"] == "completed"
