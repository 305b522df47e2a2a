"""The Twilio adapter, against Twilio mocked at the HTTP seam with ``responses``.

Pins what each request carries, where it goes (``DUECALL_TWILIO_API_URL``, regions, edges),
how Twilio's answers become value types and how its errors become typed exceptions.
Every request captured here is also checked against Twilio's OpenAPI description.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import urllib3.exceptions

from store.privacy import mask_phone
from telephony.errors import (
    ConfigurationError,
    OptOutError,
    PermanentError,
    TelephonyError,
    TransientError,
    UnclassifiedError,
    is_invalid_number,
)
from telephony.port import (
    AgentCall,
    AmdSettings,
    CallInfo,
    OutboundCall,
    OutboundSms,
    Telephony,
)
from telephony.twilio_adapter import TwilioAdapter, classify_twilio_error, parse_retry_after
from tests.contract.twilio_contract import assert_request_conforms
from tests.contract.twilio_payloads import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALL_SID,
    CALLS_PATH,
    MESSAGE_SID,
    MESSAGES_PATH,
    MESSAGING_SERVICE_SID,
    OTHER_CALL_SID,
    QUEUE_SID,
    TWILIO,
    call_json,
    call_path,
    calls_page_json,
    error_json,
    member_json,
    member_path,
    message_json,
    message_path,
)

PUBLIC_URL = "https://duecall.example.com"
CALLER_ID = "+14155550100"
CARDHOLDER = "+14155550123"


def make_adapter(**overrides: Any) -> TwilioAdapter:
    options: dict[str, Any] = {"public_url": PUBLIC_URL, "caller_id": CALLER_ID}
    options.update(overrides)
    return TwilioAdapter(ACCOUNT_SID, AUTH_TOKEN, **options)


@pytest.fixture
def twilio() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def sent(mock: responses.RequestsMock, index: int = 0) -> dict[str, list[str]]:
    """The form body of the index-th request, repeated keys kept; checked against the spec."""
    request = mock.calls[index].request
    assert_request_conforms(request)
    body = request.body or ""
    text = body.decode() if isinstance(body, bytes) else body
    return parse_qs(text, keep_blank_values=True, strict_parsing=True)


# --- what a call carries --------------------------------------------------------------------


def test_a_reminder_call_carries_routes_events_and_async_amd(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)

    make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=42))

    form = sent(twilio)
    assert form["To"] == [CARDHOLDER]
    assert form["From"] == [CALLER_ID]
    assert form["Url"] == [f"{PUBLIC_URL}/twilio/voice/outbound?attempt=42"]
    assert form["Method"] == ["POST"]
    assert form["StatusCallback"] == [f"{PUBLIC_URL}/twilio/voice/status?attempt=42"]
    assert form["StatusCallbackMethod"] == ["POST"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert form["MachineDetection"] == ["DetectMessageEnd"]
    assert form["AsyncAmd"] == ["true"]
    assert form["AsyncAmdStatusCallback"] == [f"{PUBLIC_URL}/twilio/voice/amd?attempt=42"]
    assert form["AsyncAmdStatusCallbackMethod"] == ["POST"]
    assert form["Timeout"] == ["30"]
    assert "Twiml" not in form
    assert "ApplicationSid" not in form


def test_an_agent_call_carries_the_desks_routes_and_fast_amd(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)

    make_adapter().place_agent_call(AgentCall(to=CARDHOLDER, entry_id=5, agent_id=2, timeout=20))

    form = sent(twilio)
    assert form["Url"] == [f"{PUBLIC_URL}/twilio/desk/agent?entry=5&agent=2"]
    assert form["StatusCallback"] == [f"{PUBLIC_URL}/twilio/desk/agent/status?entry=5&agent=2"]
    assert form["AsyncAmdStatusCallback"] == [f"{PUBLIC_URL}/twilio/desk/agent/amd?entry=5&agent=2"]
    assert form["MachineDetection"] == ["Enable"] and form["AsyncAmd"] == ["true"]
    assert form["Timeout"] == ["20"] and form["From"] == [CALLER_ID]


def test_status_callback_events_go_as_repeated_keys_not_one_joined_value(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)

    make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))

    body = twilio.calls[0].request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert text.count("StatusCallbackEvent=") == 4


def test_a_call_without_machine_detection_sends_no_amd_parameters(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)

    make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=7, machine_detection=False))

    form = sent(twilio)
    assert not {k for k in form if k.startswith(("MachineDetection", "AsyncAmd"))}
    assert form["Url"] == [f"{PUBLIC_URL}/twilio/voice/outbound?attempt=7"]


def test_ring_timeout_comes_from_the_call_or_the_configured_default(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    adapter = make_adapter(ring_timeout=25)

    adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))
    adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=2, timeout=45))

    assert sent(twilio, 0)["Timeout"] == ["25"]
    assert sent(twilio, 1)["Timeout"] == ["45"]


def test_amd_tuning_is_sent_only_when_configured(twilio: responses.RequestsMock) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    amd = AmdSettings(timeout=20, speech_threshold=2000, speech_end_threshold=1500)

    make_adapter(amd=amd).place_call(OutboundCall(to=CARDHOLDER, attempt_id=3))

    form = sent(twilio)
    assert form["MachineDetectionTimeout"] == ["20"]
    assert form["MachineDetectionSpeechThreshold"] == ["2000"]
    assert form["MachineDetectionSpeechEndThreshold"] == ["1500"]
    assert "MachineDetectionSilenceTimeout" not in form


def test_a_public_url_with_a_trailing_slash_or_a_prefix_builds_clean_callbacks(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)

    make_adapter(public_url="https://example.com/collections/").place_call(
        OutboundCall(to=CARDHOLDER, attempt_id=9)
    )

    assert sent(twilio)["Url"] == [
        "https://example.com/collections/twilio/voice/outbound?attempt=9"
    ]


def test_place_call_returns_the_call_as_twilio_accepted_it(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(status="queued"), status=201)

    info = make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))

    assert info == CallInfo(
        sid=CALL_SID,
        status="queued",
        to=CARDHOLDER,
        from_=CALLER_ID,
        direction="outbound-api",
        date_created=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
    )


# --- what an SMS carries --------------------------------------------------------------------


def test_an_sms_carries_its_status_callback_and_the_caller_id(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{MESSAGES_PATH}", json=message_json(), status=201)

    info = make_adapter().send_sms(OutboundSms(to=CARDHOLDER, body="Your payment", attempt_id=8))

    form = sent(twilio)
    assert form == {
        "To": [CARDHOLDER],
        "From": [CALLER_ID],
        "Body": ["Your payment"],
        "StatusCallback": [f"{PUBLIC_URL}/twilio/sms/status?attempt=8"],
    }
    assert (info.sid, info.status, info.num_segments) == (MESSAGE_SID, "queued", 1)


def test_an_sms_goes_through_the_messaging_service_when_one_is_configured(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(
        f"{TWILIO}{MESSAGES_PATH}",
        json=message_json(from_=None, messaging_service_sid=MESSAGING_SERVICE_SID),
        status=201,
    )
    adapter = make_adapter(messaging_service_sid=MESSAGING_SERVICE_SID)

    info = adapter.send_sms(
        OutboundSms(to=CARDHOLDER, body="Reminder", attempt_id=8, validity_period=3600)
    )

    form = sent(twilio)
    assert form["MessagingServiceSid"] == [MESSAGING_SERVICE_SID]
    assert "From" not in form  # the service picks a sender from its pool
    assert form["ValidityPeriod"] == ["3600"]
    assert info.from_ is None
    assert info.messaging_service_sid == MESSAGING_SERVICE_SID


def test_fetch_message_reports_the_delivery_error_code(twilio: responses.RequestsMock) -> None:
    twilio.get(
        f"{TWILIO}{message_path()}",
        json=message_json(status="undelivered", error_code=30006, error_message="Landline"),
    )

    info = make_adapter().fetch_message(MESSAGE_SID)

    assert (info.status, info.error_code) == ("undelivered", 30006)
    assert_request_conforms(twilio.calls[0].request)


# --- updating and reading calls and queue members -------------------------------------------


def test_redirect_posts_the_new_twiml_url(twilio: responses.RequestsMock) -> None:
    twilio.post(f"{TWILIO}{call_path()}", json=call_json(status="in-progress"))
    url = f"{PUBLIC_URL}/twilio/voice/outbound?attempt=5&step=lcm"

    info = make_adapter().redirect_call(CALL_SID, url)

    assert sent(twilio) == {"Url": [url], "Method": ["POST"]}
    assert info.status == "in-progress"


def test_hangup_sets_status_completed(twilio: responses.RequestsMock) -> None:
    twilio.post(f"{TWILIO}{call_path()}", json=call_json(status="completed"))

    make_adapter().hangup_call(CALL_SID)

    assert sent(twilio) == {"Status": ["completed"]}


def test_fetch_call_converts_times_duration_and_amd_verdict(
    twilio: responses.RequestsMock,
) -> None:
    twilio.get(
        f"{TWILIO}{call_path()}",
        json=call_json(
            status="completed",
            start_time="Sun, 29 Nov 2026 15:00:05 +0000",
            end_time="Sun, 29 Nov 2026 15:01:10 +0000",
            duration="65",
            answered_by="machine_end_beep",
        ),
    )

    info = make_adapter().fetch_call(CALL_SID)

    assert info.start_time == datetime(2026, 11, 29, 15, 0, 5, tzinfo=UTC)
    assert info.end_time == datetime(2026, 11, 29, 15, 1, 10, tzinfo=UTC)
    assert info.duration == 65
    assert info.answered_by == "machine_end_beep"
    assert twilio.calls[0].request.method == "GET"
    assert_request_conforms(twilio.calls[0].request)


def test_list_calls_queries_by_number_and_day_and_trims_to_the_exact_window(
    twilio: responses.RequestsMock,
) -> None:
    inside = call_json(sid=CALL_SID, start_time="Sun, 29 Nov 2026 14:30:00 +0000")
    too_early = call_json(sid=OTHER_CALL_SID, start_time="Sun, 29 Nov 2026 09:00:00 +0000")
    not_started = call_json(sid="CA" + "9" * 32, start_time=None)
    twilio.get(f"{TWILIO}{CALLS_PATH}", json=calls_page_json([inside, too_early, not_started]))
    new_york = timezone(timedelta(hours=-5))

    calls = make_adapter().list_calls(
        to=CARDHOLDER,
        started_after=datetime(2026, 11, 29, 9, 0, tzinfo=new_york),  # 14:00 UTC
        started_before=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
    )

    assert [c.sid for c in calls] == [CALL_SID]
    request = twilio.calls[0].request
    assert_request_conforms(request)
    query = parse_qs(urlsplit(str(request.url)).query)
    assert query["To"] == [CARDHOLDER]
    assert query["StartTime>"] == ["2026-11-29"]
    assert query["StartTime<"] == ["2026-11-30"]


def test_list_calls_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_adapter().list_calls(to=CARDHOLDER, started_after=datetime(2026, 11, 29))


def test_queue_member_fetch_and_dequeue(twilio: responses.RequestsMock) -> None:
    twilio.get(f"{TWILIO}{member_path()}", json=member_json(position=2, wait_time=42))
    twilio.post(f"{TWILIO}{member_path('Front')}", json=member_json(position=1))
    adapter = make_adapter()
    agent_url = f"{PUBLIC_URL}/twilio/voice/outbound?attempt=11"

    member = adapter.fetch_queue_member(QUEUE_SID, CALL_SID)
    adapter.update_queue_member(QUEUE_SID, "Front", agent_url)

    assert (member.call_sid, member.queue_sid, member.position, member.wait_time) == (
        CALL_SID,
        QUEUE_SID,
        2,
        42,
    )
    assert member.date_enqueued == datetime(2026, 11, 29, 14, 59, 18, tzinfo=UTC)
    assert_request_conforms(twilio.calls[0].request)
    assert sent(twilio, 1) == {"Url": [agent_url], "Method": ["POST"]}


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("fetch_call", ("CA123",)),
        ("hangup_call", ("../../Messages",)),
        ("redirect_call", (CALL_SID, "/twilio/voice/outbound")),
        ("fetch_message", (CALL_SID,)),
        ("fetch_queue_member", (QUEUE_SID, "Back")),
        ("update_queue_member", (QUEUE_SID, CALL_SID, "https://x.example.com/", "PUT")),
    ],
)
def test_malformed_arguments_are_refused_before_anything_is_sent(
    call: str, args: tuple[Any, ...], twilio: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError):
        getattr(make_adapter(), call)(*args)
    assert len(twilio.calls) == 0


# --- where requests go ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "region", "edge", "expected_base"),
    [
        (None, None, None, "https://api.twilio.com"),
        (None, "ie1", "dublin", "https://api.dublin.ie1.twilio.com"),
        (None, "au1", None, "https://api.au1.twilio.com"),
        ("http://127.0.0.1:8765", None, None, "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765", "ie1", "dublin", "http://127.0.0.1:8765"),
        (
            "https://twilio-mock.internal:9443/",
            "au1",
            "sydney",
            "https://twilio-mock.internal:9443",
        ),
    ],
)
def test_every_request_goes_to_the_configured_host_with_twilios_path_kept(
    api_url: str | None,
    region: str | None,
    edge: str | None,
    expected_base: str,
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{expected_base}{CALLS_PATH}", json=call_json(), status=201)
    twilio.post(f"{expected_base}{MESSAGES_PATH}", json=message_json(), status=201)
    twilio.get(f"{expected_base}{call_path()}", json=call_json())
    twilio.get(f"{expected_base}{CALLS_PATH}", json=calls_page_json([]))
    twilio.get(f"{expected_base}{member_path()}", json=member_json())
    adapter = make_adapter(api_url=api_url, region=region, edge=edge)

    adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))
    adapter.send_sms(OutboundSms(to=CARDHOLDER, body="Hi", attempt_id=2))
    adapter.fetch_call(CALL_SID)
    adapter.list_calls(to=CARDHOLDER, started_after=datetime(2026, 11, 29, tzinfo=UTC))
    adapter.fetch_queue_member(QUEUE_SID, CALL_SID)

    requested = [urlsplit(str(c.request.url)) for c in twilio.calls]
    assert {f"{u.scheme}://{u.netloc}" for u in requested} == {expected_base}
    assert [u.path for u in requested] == [
        CALLS_PATH,
        MESSAGES_PATH,
        call_path(),
        CALLS_PATH,
        member_path(),
    ]


def test_region_and_edge_from_the_environment_are_ignored(
    twilio: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    twilio.get(f"{TWILIO}{call_path()}", json=call_json())

    make_adapter().fetch_call(CALL_SID)

    assert urlsplit(str(twilio.calls[0].request.url)).netloc == "api.twilio.com"


@pytest.mark.parametrize(
    "api_url",
    [
        "127.0.0.1:8765",
        "ftp://mock",
        "http://mock/2010-04-01",
        "http://mock?x=1",
        "http://u:p@mock",
    ],
)
def test_an_api_url_that_is_not_scheme_host_port_is_refused(api_url: str) -> None:
    with pytest.raises(ValueError, match="DUECALL_TWILIO_API_URL"):
        make_adapter(api_url=api_url)


def test_every_request_has_the_configured_timeout(twilio: responses.RequestsMock) -> None:
    twilio.get(f"{TWILIO}{call_path()}", json=call_json())

    make_adapter(timeout=4.5).fetch_call(CALL_SID)

    # responses records the keyword arguments requests was called with.
    assert getattr(twilio.calls[0].request, "req_kwargs")["timeout"] == 4.5  # noqa: B009


@pytest.mark.slow
def test_a_twilio_that_never_answers_raises_a_transient_error_after_the_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    adapter = make_adapter(api_url=f"http://127.0.0.1:{port}", timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(TransientError) as raised:
            adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))
        elapsed = time.monotonic() - started
    finally:
        for conn in accepted:
            conn.close()
        listener.close()
    assert elapsed < 5
    assert raised.value.outcome_unknown  # the request was sent; Twilio may have placed the call


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (21211, 400, PermanentError),
        (21214, 400, PermanentError),
        (21217, 400, PermanentError),
        (21612, 400, PermanentError),
        (21614, 400, PermanentError),
        (21635, 400, PermanentError),
        (13224, 400, PermanentError),
        (30006, 400, PermanentError),
        (21610, 400, OptOutError),
        (20429, 429, TransientError),
        (10004, 400, TransientError),
        (22005, 400, TransientError),
        (20500, 500, TransientError),
        (20503, 503, TransientError),
        (20003, 401, ConfigurationError),
        (20005, 403, ConfigurationError),
        (20404, 404, UnclassifiedError),
        (21205, 400, UnclassifiedError),
    ],
)
def test_twilio_errors_become_typed_exceptions_that_keep_code_and_status(
    code: int, status: int, expected: type[TelephonyError], twilio: responses.RequestsMock
) -> None:
    message = f"The 'To' number {CARDHOLDER} is not valid."
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=error_json(code, status, message), status=status)

    with pytest.raises(TelephonyError) as raised:
        make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=77))

    error = raised.value
    assert type(error) is expected
    assert (error.code, error.status) == (code, status)
    assert error.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert error.carrier_message == f"The 'To' number {mask_phone(CARDHOLDER)} is not valid."
    assert "attempt=77" in str(error)
    assert CARDHOLDER not in str(error)
    assert CARDHOLDER not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_an_opt_out_is_also_a_permanent_error(twilio: responses.RequestsMock) -> None:
    twilio.post(
        f"{TWILIO}{MESSAGES_PATH}",
        json=error_json(21610, 400, "Attempt to send to unsubscribed recipient"),
        status=400,
    )

    with pytest.raises(PermanentError) as raised:
        make_adapter().send_sms(OutboundSms(to=CARDHOLDER, body="Hi", attempt_id=3))

    assert isinstance(raised.value, OptOutError)


def test_a_rejected_rate_limited_request_was_not_executed(twilio: responses.RequestsMock) -> None:
    twilio.post(
        f"{TWILIO}{CALLS_PATH}", json=error_json(20429, 429, "Too Many Requests"), status=429
    )

    with pytest.raises(TransientError) as raised:
        make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))

    assert raised.value.outcome_unknown is False


def test_a_rate_limited_request_carries_the_retry_after_twilio_asked_for(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(
        f"{TWILIO}{CALLS_PATH}",
        json=error_json(20429, 429, "Too Many Requests"),
        status=429,
        headers={"Retry-After": "30"},
    )
    twilio.post(
        f"{TWILIO}{CALLS_PATH}", json=error_json(20429, 429, "Too Many Requests"), status=429
    )
    adapter = make_adapter()

    with pytest.raises(TransientError) as first:
        adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))
    with pytest.raises(TransientError) as second:
        adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=2))

    assert (first.value.retry_after, first.value.outcome_unknown) == (30.0, False)
    assert second.value.retry_after is None, "a header is never carried over to the next request"


def test_retry_after_is_read_as_seconds_or_a_date_and_capped() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after("Tue, 01 Dec 2026 12:00:45 GMT", now) == 45.0
    assert parse_retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("86400", now) == 3600.0
    assert parse_retry_after("-5", now) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(unreadable, now) is None


def test_a_5xx_without_a_twilio_body_is_transient_with_an_unknown_outcome(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", body="<html>Bad Gateway</html>", status=502)

    with pytest.raises(TransientError) as raised:
        make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))

    assert (raised.value.status, raised.value.code) == (502, None)
    assert raised.value.outcome_unknown


def test_a_401_without_a_code_is_a_configuration_error(twilio: responses.RequestsMock) -> None:
    twilio.get(f"{TWILIO}{call_path()}", json={"message": "Unauthorized"}, status=401)

    with pytest.raises(ConfigurationError) as raised:
        make_adapter().fetch_call(CALL_SID)

    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("failure", "outcome_unknown"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), False),
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (
            requests.exceptions.ConnectionError(
                urllib3.exceptions.MaxRetryError(
                    None,  # type: ignore[arg-type]
                    "/2010-04-01",
                    urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
                )
            ),
            False,
        ),
        (requests.exceptions.ConnectionError("Connection aborted."), True),
    ],
)
def test_timeouts_and_connection_errors_are_transient(
    failure: Exception, outcome_unknown: bool, twilio: responses.RequestsMock
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", body=failure)

    with pytest.raises(TransientError) as raised:
        make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=5))

    assert raised.value.outcome_unknown is outcome_unknown
    assert raised.value.code is None
    assert "attempt=5" in str(raised.value)


def test_a_2xx_with_an_unreadable_body_is_transient_with_an_unknown_outcome(
    twilio: responses.RequestsMock,
) -> None:
    twilio.post(f"{TWILIO}{CALLS_PATH}", body="not json", status=201)

    with pytest.raises(TransientError) as raised:
        make_adapter().place_call(OutboundCall(to=CARDHOLDER, attempt_id=5))

    assert raised.value.outcome_unknown


def test_neither_the_auth_token_nor_a_full_number_reaches_the_logs(
    twilio: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio.post(f"{TWILIO}{CALLS_PATH}", json=call_json(), status=201)
    twilio.get(f"{TWILIO}{CALLS_PATH}", json=calls_page_json([]))
    twilio.post(
        f"{TWILIO}{MESSAGES_PATH}",
        json=error_json(21211, 400, f"The 'To' number {CARDHOLDER} is not valid"),
        status=400,
    )
    adapter = make_adapter()

    adapter.place_call(OutboundCall(to=CARDHOLDER, attempt_id=1))
    adapter.list_calls(to=CARDHOLDER, started_after=datetime(2026, 11, 29, tzinfo=UTC))
    with pytest.raises(PermanentError):
        adapter.send_sms(OutboundSms(to=CARDHOLDER, body="Hi", attempt_id=2))

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the adapter did log
    assert AUTH_TOKEN not in logged
    assert CARDHOLDER not in logged
    assert CARDHOLDER.replace("+", "%2B") not in logged
    assert AUTH_TOKEN not in repr(adapter)


# --- the port and the value types -----------------------------------------------------------


def test_the_adapter_satisfies_the_telephony_port() -> None:
    port: Telephony = make_adapter()
    assert isinstance(port, Telephony)


@pytest.mark.parametrize(
    "build",
    [
        lambda: OutboundCall(to="4155550123", attempt_id=1),
        lambda: OutboundCall(to=CARDHOLDER, attempt_id=0),
        lambda: OutboundCall(to=CARDHOLDER, attempt_id=True),
        lambda: OutboundCall(to=CARDHOLDER, attempt_id=1, timeout=601),
        lambda: OutboundSms(to=CARDHOLDER, body="", attempt_id=1),
        lambda: OutboundSms(to=CARDHOLDER, body="x" * 1601, attempt_id=1),
        lambda: OutboundSms(to=CARDHOLDER, body="Hi", attempt_id=1, validity_period=36001),
        lambda: AmdSettings(timeout=60),
        lambda: AmdSettings(silence_timeout=1999),
    ],
)
def test_requests_that_twilio_would_reject_are_refused_when_built(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "overrides",
    [
        {"caller_id": "4155550100"},
        {"public_url": "duecall.example.com"},
        {"public_url": "https://due_call.example.com"},
        {"messaging_service_sid": "MG123"},
        {"timeout": 0},
        {"ring_timeout": 0},
    ],
)
def test_settings_that_cannot_work_are_refused_at_construction(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_adapter(**overrides)


def test_construction_with_a_malformed_account_sid_is_refused() -> None:
    with pytest.raises(ValueError, match="account_sid"):
        TwilioAdapter("AC123", AUTH_TOKEN, public_url=PUBLIC_URL, caller_id=CALLER_ID)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+14155550123", "+1******0123"),
        ("+8613800138000", "+86*******8000"),
        ("+447700900123", "+44******0123"),
        (None, ""),
    ],
)
def test_the_adapter_masks_numbers_with_the_one_masker_of_the_store(
    number: str | None, masked: str
) -> None:
    # The port once had a masker of its own (last two digits kept) beside the store's (last
    # four): a log line and the audit trail disagreed about the same number. One rule now, and
    # the adapter's error messages use it (test_a_rejected_number_is_masked_in_the_message).
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("code", "status", "invalid"),
    [
        (21211, 400, True),
        (21217, 400, True),
        (13224, 400, True),
        (21610, 400, False),
        (21612, 400, False),
        (20429, 429, False),
        (None, 503, False),
    ],
)
def test_invalid_numbers_are_told_apart_from_every_other_refusal(
    code: int | None, status: int, invalid: bool
) -> None:
    error = classify_twilio_error(status=status, code=code, message="refused")
    assert is_invalid_number(error) is invalid
