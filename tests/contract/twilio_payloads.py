"""Twilio-shaped response bodies for tests that mock Twilio at the HTTP seam with ``responses``.

Shapes follow the examples in Twilio's OpenAPI description (``api.v2010.account.call`` ...)
and, for errors, Twilio's error documentation: ``{"code", "message", "more_info", "status"}``.
Import as ``from tests.contract.twilio_payloads import ...`` (pytest's importlib mode
resolves ``tests.`` from the rootdir).
"""

from __future__ import annotations

from typing import Any

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "s3cr3t-auth-token-0123456789abcdef"  # a test value
CALL_SID = "CA" + "1" * 32
OTHER_CALL_SID = "CA" + "2" * 32
MESSAGE_SID = "SM" + "3" * 32
QUEUE_SID = "QU" + "4" * 32
MESSAGING_SERVICE_SID = "MG" + "5" * 32

TWILIO = "https://api.twilio.com"
ACCOUNT_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
CALLS_PATH = f"{ACCOUNT_PATH}/Calls.json"
MESSAGES_PATH = f"{ACCOUNT_PATH}/Messages.json"


def call_path(sid: str = CALL_SID) -> str:
    return f"{ACCOUNT_PATH}/Calls/{sid}.json"


def message_path(sid: str = MESSAGE_SID) -> str:
    return f"{ACCOUNT_PATH}/Messages/{sid}.json"


def member_path(call_sid: str = CALL_SID, queue_sid: str = QUEUE_SID) -> str:
    return f"{ACCOUNT_PATH}/Queues/{queue_sid}/Members/{call_sid}.json"


def call_json(
    *,
    sid: str = CALL_SID,
    status: str = "queued",
    to: str = "+14155550123",
    from_: str = "+14155550100",
    start_time: str | None = None,
    end_time: str | None = None,
    duration: str | None = None,
    answered_by: str | None = None,
) -> dict[str, Any]:
    """A Call resource as Twilio returns it (RFC 2822 times, numbers as strings)."""
    return {
        "account_sid": ACCOUNT_SID,
        "answered_by": answered_by,
        "api_version": "2010-04-01",
        "caller_name": None,
        "date_created": "Sun, 29 Nov 2026 15:00:00 +0000",
        "date_updated": "Sun, 29 Nov 2026 15:00:00 +0000",
        "direction": "outbound-api",
        "duration": duration,
        "end_time": end_time,
        "forwarded_from": None,
        "from": from_,
        "from_formatted": from_,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": start_time,
        "status": status,
        "subresource_uris": {},
        "to": to,
        "to_formatted": to,
        "trunk_sid": None,
        "uri": f"{ACCOUNT_PATH}/Calls/{sid}.json",
    }


def calls_page_json(calls: list[dict[str, Any]], page_size: int = 100) -> dict[str, Any]:
    """One (last) page of the Calls list."""
    return {
        "calls": calls,
        "end": len(calls) - 1,
        "first_page_uri": f"{CALLS_PATH}?PageSize={page_size}&Page=0",
        "next_page_uri": None,
        "page": 0,
        "page_size": page_size,
        "previous_page_uri": None,
        "start": 0,
        "uri": f"{CALLS_PATH}?PageSize={page_size}&Page=0",
    }


def message_json(
    *,
    sid: str = MESSAGE_SID,
    status: str = "queued",
    to: str = "+14155550123",
    from_: str | None = "+14155550100",
    messaging_service_sid: str | None = None,
    error_code: int | None = None,
    error_message: str | None = None,
) -> dict[str, Any]:
    """A Message resource as Twilio returns it."""
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": "Reminder",
        "date_created": "Sun, 29 Nov 2026 15:00:00 +0000",
        "date_sent": None,
        "date_updated": "Sun, 29 Nov 2026 15:00:00 +0000",
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": error_message,
        "from": from_,
        "messaging_service_sid": messaging_service_sid,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {},
        "to": to,
        "uri": f"{ACCOUNT_PATH}/Messages/{sid}.json",
    }


def member_json(
    *, call_sid: str = CALL_SID, queue_sid: str = QUEUE_SID, position: int = 1, wait_time: int = 42
) -> dict[str, Any]:
    """A Queue Member resource as Twilio returns it."""
    return {
        "call_sid": call_sid,
        "date_enqueued": "Sun, 29 Nov 2026 14:59:18 +0000",
        "position": position,
        "queue_sid": queue_sid,
        "uri": f"{ACCOUNT_PATH}/Queues/{queue_sid}/Members/{call_sid}.json",
        "wait_time": wait_time,
    }


def participant_json(
    *, call_sid: str = CALL_SID, conference_sid: str = "CF" + "6" * 32
) -> dict[str, Any]:
    """A Conference Participant resource as Twilio returns it."""
    return {
        "account_sid": ACCOUNT_SID,
        "call_sid": call_sid,
        "label": None,
        "call_sid_to_coach": None,
        "coaching": False,
        "conference_sid": conference_sid,
        "date_created": "Sun, 29 Nov 2026 14:59:18 +0000",
        "date_updated": "Sun, 29 Nov 2026 15:00:00 +0000",
        "end_conference_on_exit": False,
        "muted": False,
        "hold": False,
        "start_conference_on_enter": True,
        "status": "connected",
        "queue_time": "0",
        "uri": f"{ACCOUNT_PATH}/Conferences/{conference_sid}/Participants/{call_sid}.json",
    }


def error_json(code: int, status: int, message: str) -> dict[str, Any]:
    """A Twilio REST error body (https://www.twilio.com/docs/usage/twilios-response)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
