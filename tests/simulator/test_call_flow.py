"""A multi-step Flask IVR played end to end through the in-process transport."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from simulator import Persona
from tests.simulator.harness import ACCOUNT_SID, APP_BASE, APP_NUMBER, CALLEE, Harness


def test_a_silent_callee_times_out_then_the_redirect_fetches_the_get_url_with_its_query(
    harness: Harness,
) -> None:
    call = harness.call()

    assert harness.recorder.paths() == ["/voice/outbound", "/voice/goodbye"]
    goodbye = harness.recorder.at("/voice/goodbye")[0]
    assert goodbye.method == "GET"
    query = urlsplit(goodbye.url).query
    assert query.startswith("attempt=7&x=a%20b&"), query
    assert parse_qs(query)["x"] == ["a b"]
    assert goodbye.params["CallSid"] == call.sid
    assert call.status == "completed"
    assert call.transcript == [
        f"[carrier] outbound-api call {APP_NUMBER} -> {CALLEE}",
        "[callee] answers",
        "[app] Say(en-US, voice=Polly.Joanna): Hello from the bank.",
        "[app] Gather(timeout=4, numDigits=1, finishOnKey='#')",
        "[app] Say(en-US): Press 1 for your balance.",
        "[caller] no input: Gather times out after 4s",
        "[app] Say(en-US): We did not get your choice.",
        f"[app] Redirect GET {APP_BASE}/voice/goodbye?attempt=7&x=a%20b",
        "[app] Say(en-US): Goodbye.",
        "[app] Hangup",
        f"[carrier] call completed, {call.duration}s",
    ]
    assert harness.sim.errors == []


def test_keys_walk_the_menu_and_the_get_action_gets_digits_appended_to_its_query(
    harness: Harness,
) -> None:
    harness.sim.set_persona(CALLEE, Persona.human(["1", "wait 2", "1234#"]))

    call = harness.call()

    assert harness.recorder.paths() == ["/voice/outbound", "/voice/menu", "/voice/pin"]
    menu = harness.recorder.at("/voice/menu")[0]
    assert menu.method == "POST"
    assert menu.params["Digits"] == "1"
    assert menu.params["FinishedOnKey"] == ""
    pin = harness.recorder.at("/voice/pin")[0]
    assert pin.method == "GET"
    parsed = parse_qs(urlsplit(pin.url).query, keep_blank_values=True)
    assert parsed["attempt"] == ["7"]
    assert parsed["x"] == ["a b"]
    assert parsed["Digits"] == ["1234"]
    assert parsed["FinishedOnKey"] == ["#"]
    assert "[app] Say(en-US): You entered 4 digits. Goodbye." in call.transcript
    assert "[caller] presses 1" in call.transcript
    assert "[caller] waits 2s" in call.transcript
    assert "[caller] presses 1234#" in call.transcript
    assert harness.sim.errors == []


def test_every_webhook_carries_twilios_call_parameters(harness: Harness) -> None:
    harness.sim.set_persona(CALLEE, Persona.human(["1", "99#"]))

    call = harness.call()

    for hit in harness.recorder.hits:
        assert hit.params["AccountSid"] == ACCOUNT_SID
        assert hit.params["CallSid"] == call.sid
        assert hit.params["From"] == hit.params["Caller"] == APP_NUMBER
        assert hit.params["To"] == hit.params["Called"] == CALLEE
        assert hit.params["Direction"] == "outbound-api"
        assert hit.params["CallStatus"] == "in-progress"
        assert hit.params["ApiVersion"] == "2010-04-01"


def test_every_webhook_is_signed_with_the_auth_token_and_fails_with_another(
    harness: Harness,
) -> None:
    harness.sim.set_persona(CALLEE, Persona.human(["1", "99#"]))

    harness.call(status_callback=f"{APP_BASE}/voice/status")

    assert len(harness.recorder.hits) == 4  # outbound, menu, pin (GET), status
    assert all(hit.signature_ok for hit in harness.recorder.hits)
    assert not any(hit.signature_with_wrong_token_ok for hit in harness.recorder.hits)


def test_timings_are_virtual_so_a_long_call_finishes_instantly_with_its_simulated_duration(
    harness: Harness,
) -> None:
    call = harness.call(path="/voice/hold")

    # Say (~1 s) + Pause 20 + Say (~1 s), no real sleeping.
    assert 21 <= (call.duration or 0) <= 24
    assert call.end_time is not None and call.start_time is not None
    assert (call.end_time - call.start_time).total_seconds() >= 21
