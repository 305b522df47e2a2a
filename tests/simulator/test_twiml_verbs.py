"""Each TwiML verb and attribute the simulator plays, and the ones it refuses loudly."""

from __future__ import annotations

import pytest
from flask import Response, request

from simulator import Persona, SimCall
from tests.simulator.harness import APP_BASE, CALLEE, Harness

CUSTOM = "/voice/custom"


def serve_twiml(harness: Harness, *documents: str) -> None:
    """Answer successive requests to /voice/custom with these documents (the last one repeats)."""
    queue = list(documents)

    def answer() -> Response:
        body = queue.pop(0) if len(queue) > 1 else queue[0]
        return Response(body, mimetype="text/xml")

    harness.overrides[CUSTOM] = answer


def play(harness: Harness, *documents: str, keys: list[str] | None = None) -> SimCall:
    serve_twiml(harness, *documents)
    if keys is not None:
        harness.sim.set_persona(CALLEE, Persona.human(keys))
    return harness.call(path=CUSTOM)


def test_say_reports_language_voice_and_loop_and_counts_its_time(harness: Harness) -> None:
    call = play(
        harness,
        '<Response><Say language="zh-CN" voice="Polly.Zhiyu" loop="3">您好</Say></Response>',
    )
    assert "[app] Say(zh-CN, voice=Polly.Zhiyu, loop=3): 您好" in call.transcript
    assert call.duration == 2  # 3 x 0.5 s, rounded up


def test_play_and_pause_take_their_time(harness: Harness) -> None:
    call = play(
        harness,
        '<Response><Play loop="2">https://cdn.example.test/a.mp3</Play>'
        '<Pause length="7"/><Pause/></Response>',
    )
    assert "[app] Play(loop=2): https://cdn.example.test/a.mp3" in call.transcript
    assert "[app] Pause 7s" in call.transcript
    assert "[app] Pause 1s" in call.transcript
    assert call.duration == 14  # 2 x 3 s + 7 + 1


def test_gather_without_input_falls_through_without_posting(harness: Harness) -> None:
    play(
        harness,
        '<Response><Gather action="/voice/menu"><Say>Menu</Say></Gather>'
        "<Say>Nothing pressed.</Say></Response>",
    )
    assert harness.recorder.paths() == [CUSTOM]


def test_gather_action_on_empty_result_posts_empty_digits(harness: Harness) -> None:
    play(
        harness,
        '<Response><Gather action="/voice/menu" actionOnEmptyResult="true" timeout="2"/>'
        "</Response>",
    )
    assert harness.recorder.paths() == [CUSTOM, "/voice/menu"]
    assert harness.recorder.at("/voice/menu")[0].params["Digits"] == ""


def test_gather_stops_at_num_digits_and_buffers_the_rest_for_the_next_gather(
    harness: Harness,
) -> None:
    play(
        harness,
        '<Response><Gather numDigits="2" action="/voice/custom"/></Response>',
        '<Response><Gather numDigits="3" action="/voice/menu"/></Response>',
        keys=["12345"],
    )
    custom, menu = harness.recorder.at(CUSTOM)[1], harness.recorder.at("/voice/menu")[0]
    assert custom.params["Digits"] == "12"
    assert menu.params["Digits"] == "345"


def test_gather_finish_on_key_is_reported_and_not_part_of_digits(harness: Harness) -> None:
    play(
        harness, '<Response><Gather finishOnKey="*" action="/voice/menu"/></Response>', keys=["42*"]
    )
    menu = harness.recorder.at("/voice/menu")[0]
    assert (menu.params["Digits"], menu.params["FinishedOnKey"]) == ("42", "*")


def test_gather_submits_partial_digits_after_its_timeout(harness: Harness) -> None:
    call = play(
        harness, '<Response><Gather timeout="3" action="/voice/menu"/></Response>', keys=["42"]
    )
    menu = harness.recorder.at("/voice/menu")[0]
    assert (menu.params["Digits"], menu.params["FinishedOnKey"]) == ("42", "")
    assert call.duration is not None and call.duration >= 3


def test_a_wait_longer_than_the_timeout_makes_the_gather_time_out_and_carries_over(
    harness: Harness,
) -> None:
    play(
        harness,
        '<Response><Gather timeout="5" action="/voice/menu"/>'
        '<Gather timeout="5" action="/voice/menu"/>'
        '<Gather timeout="5" action="/voice/menu"/></Response>',
        keys=["wait 7", "9"],
    )
    # The first Gather times out (5 s of 7), the second hears 2 s more silence, then 9.
    assert [h.params["Digits"] for h in harness.recorder.at("/voice/menu")] == ["9"]


def test_gather_without_action_posts_to_the_current_document(harness: Harness) -> None:
    play(
        harness,
        '<Response><Gather numDigits="1"/></Response>',
        "<Response><Hangup/></Response>",
        keys=["5"],
    )
    assert harness.recorder.paths() == [CUSTOM, CUSTOM]
    assert harness.recorder.hits[1].params["Digits"] == "5"


def test_gather_get_method_puts_the_digits_in_the_query(harness: Harness) -> None:
    play(
        harness,
        '<Response><Gather numDigits="1" method="GET" action="/voice/pin?attempt=7"/></Response>',
        keys=["3"],
    )
    pin = harness.recorder.at("/voice/pin")[0]
    assert pin.method == "GET"
    assert pin.url.startswith(f"{APP_BASE}/voice/pin?attempt=7&")
    assert pin.params["Digits"] == "3"
    assert pin.signature_ok


def test_redirect_resolves_relative_urls_and_uses_its_method(harness: Harness) -> None:
    play(harness, '<Response><Redirect method="GET">goodbye?attempt=1</Redirect></Response>')
    goodbye = harness.recorder.at("/voice/goodbye")[0]
    assert goodbye.method == "GET"
    assert goodbye.params["attempt"] == "1"


def test_hangup_stops_the_document(harness: Harness) -> None:
    call = play(harness, "<Response><Hangup/><Say>never heard</Say></Response>")
    assert not any("never heard" in line for line in call.transcript)
    assert call.status == "completed"


def test_the_end_of_the_document_hangs_up(harness: Harness) -> None:
    call = play(harness, "<Response><Say>Bye</Say></Response>")
    assert "[carrier] end of TwiML: hangs up" in call.transcript


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("<Response><Record/></Response>", "<Record>"),
        ("<Response><Dial><Sip>sip:agent@example.test</Sip></Dial></Response>", "<Sip>"),
        ("<Response><Number>+14155550000</Number></Response>", "<Number>"),
        ('<Response><Enqueue workflowSid="WW1">fraud</Enqueue></Response>', "'workflowSid'"),
        ("<Response><Sya>typo</Sya></Response>", "<Sya>"),
        ('<Response><Say lang="en-US">Hi</Say></Response>', "'lang'"),
        ('<Response><Gather numDigit="1"/></Response>', "'numDigit'"),
        ('<Response><Gather input="speech"/></Response>', "input"),
        ("<Response><Gather><Redirect>/x</Redirect></Gather></Response>", "<Redirect>"),
        ('<Response><Pause length="soon"/></Response>', "length"),
        ("<Response><Say>unclosed</Response>", "malformed"),
        ("<Reply><Say>Hi</Say></Reply>", "<Reply>"),
    ],
)
def test_unknown_verbs_attributes_and_bad_values_fail_loudly(
    harness: Harness, document: str, complaint: str, caplog: pytest.LogCaptureFixture
) -> None:
    call = play(harness, document)

    assert [e.kind for e in harness.sim.errors] == ["twiml"]
    assert complaint in harness.sim.errors[0].message
    assert harness.sim.errors[0].call_sid == call.sid
    assert call.errors == harness.sim.errors
    assert any("invalid TwiML" in line for line in call.transcript)
    assert any(r.levelname == "ERROR" and complaint in r.getMessage() for r in caplog.records)


def test_a_non_xml_answer_is_an_application_error(harness: Harness) -> None:
    harness.overrides[CUSTOM] = lambda: Response("<Response/>", mimetype="text/plain")
    harness.call(path=CUSTOM)
    assert [e.kind for e in harness.sim.errors] == ["twiml"]
    assert "12300" in harness.sim.errors[0].message


def test_a_failing_webhook_is_recorded_and_the_call_ends(harness: Harness) -> None:
    harness.overrides[CUSTOM] = lambda: Response("boom", status=500)
    call = harness.call(path=CUSTOM)
    assert [e.kind for e in harness.sim.errors] == ["http"]
    assert "answered 500" in harness.sim.errors[0].message
    assert call.status == "completed"


def test_a_redirect_loop_is_stopped(harness: Harness) -> None:
    play(harness, "<Response><Redirect>/voice/custom</Redirect></Response>")
    assert [e.kind for e in harness.sim.errors] == ["twiml"]
    assert "documents" in harness.sim.errors[0].message


def test_say_loop_zero_repeats_until_the_callee_hangs_up(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona.voicemail())
    call = play(harness, '<Response><Say loop="0">Please call us.</Say></Response>')
    assert call.duration == 120
    assert call.transcript[-2] == "[callee] hangs up after 120s"


def test_a_rest_update_with_twiml_replaces_the_live_document(harness: Harness) -> None:
    def redirect_inline() -> Response:
        harness.client.calls(request.form["CallSid"]).update(
            twiml="<Response><Say>Replaced.</Say></Response>"
        )
        return Response("", status=204)

    harness.overrides[CUSTOM] = redirect_inline
    harness.sim.set_persona(CALLEE, Persona(amd_seconds=1.0))
    call = harness.call(
        path="/voice/hold",
        machine_detection="Enable",
        async_amd="true",
        async_amd_status_callback=f"{APP_BASE}{CUSTOM}",
    )
    assert "[app] Say(en-US): Replaced." in call.transcript
    assert not any("Still holding" in line for line in call.transcript)
