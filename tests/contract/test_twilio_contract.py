"""The contract checker itself, and every request the Twilio adapter can send, against the spec.

The negative controls prove the checker can fail: a misspelt parameter, a missing ``To``, an
enum value Twilio does not accept, a list sent as one value... each must be reported. The trap
tests show why a stock validator is not enough on Twilio's description.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

from telephony.port import AgentCall, AmdSettings, OutboundCall, OutboundSms
from telephony.twilio_adapter import TwilioAdapter
from tests.contract.twilio_contract import (
    SPEC_PATH,
    ContractError,
    assert_conforms,
    assert_request_conforms,
    operation_for,
    violations,
)
from tests.contract.twilio_payloads import (
    ACCOUNT_PATH,
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALL_SID,
    CALLS_PATH,
    MESSAGE_SID,
    MESSAGES_PATH,
    MESSAGING_SERVICE_SID,
    QUEUE_SID,
    TWILIO,
    call_json,
    call_path,
    calls_page_json,
    member_json,
    member_path,
    message_json,
    message_path,
    participant_json,
)

CARDHOLDER = "+14155550123"
CALLER_ID = "+14155550100"
PUBLIC_URL = "https://duecall.example.com"

VALID_CALL: list[tuple[str, str]] = [
    ("To", CARDHOLDER),
    ("From", CALLER_ID),
    ("Url", f"{PUBLIC_URL}/twilio/voice/outbound?attempt=1"),
    ("StatusCallback", f"{PUBLIC_URL}/twilio/voice/status?attempt=1"),
    ("StatusCallbackEvent", "initiated"),
    ("StatusCallbackEvent", "completed"),
    ("MachineDetection", "DetectMessageEnd"),
    ("AsyncAmd", "true"),
    ("Timeout", "30"),
]


def call_problems(pairs: list[tuple[str, str]]) -> list[str]:
    return violations("POST", f"{TWILIO}{CALLS_PATH}", urlencode(pairs))


def replaced(pairs: list[tuple[str, str]], key: str, value: str | None) -> list[tuple[str, str]]:
    """``pairs`` with ``key`` removed, then added once with ``value`` (unless None)."""
    kept = [(k, v) for k, v in pairs if k != key]
    return kept if value is None else [*kept, (key, value)]


def mentions(problems: list[str], *words: str) -> bool:
    return any(all(w in p for w in words) for p in problems)


# --- the checker accepts what Twilio accepts ------------------------------------------------


def test_a_well_formed_call_conforms() -> None:
    assert call_problems(VALID_CALL) == []


def test_a_queue_member_can_be_addressed_as_front() -> None:
    body = urlencode({"Url": f"{PUBLIC_URL}/desk/bridge", "Method": "POST"})
    assert violations("POST", member_path("Front"), body) == []


def test_list_filters_accept_the_date_form_twilio_documents() -> None:
    query = urlencode({"To": CARDHOLDER, "StartTime>": "2026-11-29", "PageSize": "50"})
    assert violations("GET", f"{TWILIO}{CALLS_PATH}?{query}") == []


# --- negative controls ----------------------------------------------------------------------


def test_a_misspelt_parameter_is_caught() -> None:
    pairs = [*VALID_CALL, ("StatusCalback", f"{PUBLIC_URL}/twilio/voice/status")]

    problems = call_problems(pairs)

    assert mentions(problems, "StatusCalback", "not a declared")


def test_a_missing_to_is_caught() -> None:
    problems = call_problems(replaced(VALID_CALL, "To", None))

    assert mentions(problems, "required", "To")


def test_a_machine_detection_mode_twilio_does_not_know_is_caught() -> None:
    problems = call_problems(replaced(VALID_CALL, "MachineDetection", "Sometimes"))

    assert mentions(problems, "MachineDetection", "Sometimes")


def test_status_callback_events_joined_into_one_value_are_caught() -> None:
    pairs = [(k, v) for k, v in VALID_CALL if k != "StatusCallbackEvent"]
    problems = call_problems([*pairs, ("StatusCallbackEvent", "initiated,completed")])

    assert mentions(problems, "StatusCallbackEvent", "initiated,completed")


def test_a_scalar_parameter_sent_twice_is_caught() -> None:
    problems = call_problems([*VALID_CALL, ("Timeout", "45")])

    assert mentions(problems, "Timeout", "2 times")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("Timeout", "thirty", ("Timeout", "integer")),
        ("Timeout", "601", ("Timeout", "maximum")),
        ("AsyncAmd", "True", ("AsyncAmd",)),
        ("To", "4155550123", ("To", "endpoint")),
        ("Url", "/twilio/voice/outbound", ("Url", "uri")),
        ("Url", "https://due_call.example.com/x", ("Url", "uri")),
        ("StatusCallbackMethod", "PUT", ("StatusCallbackMethod",)),
    ],
)
def test_a_value_of_the_wrong_type_format_or_range_is_caught(
    key: str, value: str, words: tuple[str, ...]
) -> None:
    problems = call_problems(replaced(VALID_CALL, key, value))

    assert mentions(problems, *words), problems


@pytest.mark.parametrize(
    "extra",
    [[("Twiml", "<Response><Say>Hi</Say></Response>")], [("ApplicationSid", "AP" + "0" * 32)]],
)
def test_a_call_with_two_sources_of_instructions_is_caught(extra: list[tuple[str, str]]) -> None:
    problems = call_problems([*VALID_CALL, *extra])

    assert mentions(problems, "exactly one of Url/Twiml/ApplicationSid")


def test_a_call_with_no_instructions_is_caught() -> None:
    problems = call_problems(replaced(VALID_CALL, "Url", None))

    assert mentions(problems, "exactly one of Url/Twiml/ApplicationSid")


def test_an_empty_body_is_caught() -> None:
    problems = violations("POST", f"{TWILIO}{CALLS_PATH}", "")

    assert mentions(problems, "requires a body")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"To": CARDHOLDER, "Body": "Hi"}, ("From/MessagingServiceSid",)),
        ({"To": CARDHOLDER, "From": CALLER_ID}, ("Body/MediaUrl/ContentSid",)),
        ({"To": "+1 415 555 0123", "From": CALLER_ID, "Body": "Hi"}, ("To", "phone-number")),
        (
            {"To": CARDHOLDER, "From": CALLER_ID, "Body": "Hi", "ValidityPeriod": "36001"},
            ("ValidityPeriod", "maximum"),
        ),
        (
            {"To": CARDHOLDER, "MessagingServiceSid": "MG1", "Body": "Hi"},
            ("MessagingServiceSid",),
        ),
    ],
)
def test_malformed_messages_are_caught(fields: dict[str, str], words: tuple[str, ...]) -> None:
    problems = violations("POST", f"{TWILIO}{MESSAGES_PATH}", urlencode(fields))

    assert mentions(problems, *words), problems


def test_path_parameters_are_checked() -> None:
    problems = violations("GET", f"{TWILIO}{call_path('CA123')}")

    assert mentions(problems, "Sid", "CA123")


def test_undeclared_query_parameters_and_bodies_on_reads_are_caught() -> None:
    problems = violations("GET", f"{TWILIO}{CALLS_PATH}?To={CARDHOLDER[1:]}&Sort=asc", "x=1")

    assert mentions(problems, "Sort", "not a declared")
    assert mentions(problems, "takes no body")


def test_an_operation_outside_the_subset_is_caught() -> None:
    assert (
        operation_for("DELETE", f"{TWILIO}/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json") is None
    )
    problems = violations("POST", f"{TWILIO}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls")

    assert mentions(problems, "not an operation")


def test_assert_conforms_lists_every_problem() -> None:
    body = urlencode([*replaced(VALID_CALL, "To", None), ("StatusCalback", "x")])

    with pytest.raises(ContractError) as raised:
        assert_conforms("POST", f"{TWILIO}{CALLS_PATH}", body)

    assert "StatusCalback" in str(raised.value)
    assert "To" in str(raised.value)
    assert len(raised.value.problems) >= 2


# --- the traps: why a stock validator is not enough ------------------------------------------


def test_a_stock_validator_on_twilios_description_misses_all_of_this() -> None:
    """Pins the traps README.md lists: if this starts failing, re-read the README."""
    api = OpenAPI.from_dict(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    bad_bodies = [
        urlencode([*VALID_CALL, ("StatusCalback", "https://x.example.com")]),  # undeclared key
        urlencode(replaced(VALID_CALL, "MachineDetection", "Sometimes")),  # no enum declared
        urlencode([*VALID_CALL, ("Twiml", "<Response/>")]),  # one-of only in prose
        "",  # body not marked required
    ]
    for body in bad_bodies:
        request = MockRequest(
            TWILIO,
            "post",
            CALLS_PATH,
            data=body.encode() or None,
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": "Basic QUN4eHg6dG9rZW4="},
        )
        assert api.unmarshal_request(request).errors == [], body
        assert violations("POST", f"{TWILIO}{CALLS_PATH}", body) != [], body


# --- every request the adapter can send -----------------------------------------------------


@pytest.fixture
def twilio() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def adapter(**overrides: Any) -> TwilioAdapter:
    options: dict[str, Any] = {"public_url": PUBLIC_URL, "caller_id": CALLER_ID}
    options.update(overrides)
    return TwilioAdapter(ACCOUNT_SID, AUTH_TOKEN, **options)


AFTER = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
AGENT_URL = f"{PUBLIC_URL}/twilio/voice/outbound?attempt=3"

ADAPTER_REQUESTS: dict[str, tuple[str, str, Any, Callable[[TwilioAdapter], object]]] = {
    "agent call offering a queued caller": (
        "POST",
        CALLS_PATH,
        call_json(),
        lambda a: a.place_agent_call(AgentCall(to=CARDHOLDER, entry_id=3, agent_id=2, timeout=20)),
    ),
    "reminder call": (
        "POST",
        CALLS_PATH,
        call_json(),
        lambda a: a.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1)),
    ),
    "reminder call ringing the longest Twilio allows": (
        "POST",
        CALLS_PATH,
        call_json(),
        lambda a: a.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1, timeout=600)),
    ),
    "call without AMD": (
        "POST",
        CALLS_PATH,
        call_json(),
        lambda a: a.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1, machine_detection=False)),
    ),
    "sms from the caller id": (
        "POST",
        MESSAGES_PATH,
        message_json(),
        lambda a: a.send_sms(OutboundSms(to=CARDHOLDER, body="Paid? Thanks.", attempt_id=2)),
    ),
    "sms with validity period": (
        "POST",
        MESSAGES_PATH,
        message_json(),
        lambda a: a.send_sms(
            OutboundSms(to=CARDHOLDER, body="您好", attempt_id=2, validity_period=36000)
        ),
    ),
    "redirect": (
        "POST",
        call_path(),
        call_json(),
        lambda a: a.redirect_call(CALL_SID, AGENT_URL),
    ),
    "hang up": ("POST", call_path(), call_json(), lambda a: a.hangup_call(CALL_SID)),
    "fetch call": ("GET", call_path(), call_json(), lambda a: a.fetch_call(CALL_SID)),
    "fetch message": (
        "GET",
        message_path(),
        message_json(),
        lambda a: a.fetch_message(MESSAGE_SID),
    ),
    "list calls since": (
        "GET",
        CALLS_PATH,
        calls_page_json([]),
        lambda a: a.list_calls(to=CARDHOLDER, started_after=AFTER),
    ),
    "list calls in a window": (
        "GET",
        CALLS_PATH,
        calls_page_json([]),
        lambda a: a.list_calls(to=CARDHOLDER, started_after=AFTER, started_before=BEFORE),
    ),
    "fetch queue member": (
        "GET",
        member_path(),
        member_json(),
        lambda a: a.fetch_queue_member(QUEUE_SID, CALL_SID),
    ),
    "let an agent leave a conference without ending it": (
        "POST",
        f"{ACCOUNT_PATH}/Conferences/CF{'6' * 32}/Participants/{CALL_SID}.json",
        participant_json(),
        lambda a: a.keep_conference_after("CF" + "6" * 32, CALL_SID),
    ),
    "dequeue a member": (
        "POST",
        member_path(),
        member_json(),
        lambda a: a.update_queue_member(QUEUE_SID, CALL_SID, AGENT_URL),
    ),
    "dequeue the front with GET": (
        "POST",
        member_path("Front"),
        member_json(),
        lambda a: a.update_queue_member(QUEUE_SID, "Front", AGENT_URL, "GET"),
    ),
}

ADAPTER_CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "messaging service, amd tuning, simulator host, region": {
        "messaging_service_sid": MESSAGING_SERVICE_SID,
        "amd": AmdSettings(
            timeout=59, speech_threshold=1000, speech_end_threshold=5000, silence_timeout=2000
        ),
        "api_url": "http://127.0.0.1:8765",
        "region": "ie1",
        "edge": "dublin",
    },
}


@pytest.mark.parametrize("configuration", ADAPTER_CONFIGURATIONS)
@pytest.mark.parametrize("name", ADAPTER_REQUESTS)
def test_every_request_the_adapter_sends_conforms_to_twilios_description(
    name: str, configuration: str, twilio: responses.RequestsMock
) -> None:
    method, path, reply, act = ADAPTER_REQUESTS[name]
    options = ADAPTER_CONFIGURATIONS[configuration]
    base = options.get("api_url", TWILIO)
    twilio.add(method, f"{base}{path}", json=reply, status=201 if method == "POST" else 200)

    act(adapter(**options))

    assert len(twilio.calls) == 1
    assert_request_conforms(twilio.calls[0].request)


def test_the_adapter_covers_every_operation_of_the_subset_it_needs() -> None:
    # A new port method must come with a new entry in ADAPTER_REQUESTS.
    operations = set()
    for method, path, _reply, _act in ADAPTER_REQUESTS.values():
        found = operation_for(method, path)
        assert found is not None
        operations.add(found.operation_id)
    assert operations == {
        "CreateCall",
        "UpdateCall",
        "FetchCall",
        "ListCall",
        "CreateMessage",
        "FetchMessage",
        "FetchMember",
        "UpdateMember",
        "UpdateParticipant",
    }


# --- the vendored file ----------------------------------------------------------------------


def test_the_vendored_subset_is_in_the_scripts_canonical_form_with_its_license() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    spec = json.loads(text)

    assert text == json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    vendored = spec["info"]["x-duecall-vendored"]
    assert vendored["commit"] == "d50069b44ea8cd23141385bdb6db48f16ff75bb5"
    assert set(vendored["paths"]) == set(spec["paths"])
    license_text = SPEC_PATH.with_name("LICENSE").read_text(encoding="utf-8")
    assert "Twilio" in license_text
    assert "MIT" in license_text or "Permission is hereby granted" in license_text
