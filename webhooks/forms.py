"""What the web edge accepts from a Twilio request: known fields, clean values, typed reads.

A signed request is still input. Twilio's own requests carry a few dozen short fields; anything
else is junk or an attack, and some junk the store refuses: PostgreSQL rejects a NUL character
in text and a value longer than its column, and a refused write aborts the whole transaction --
the opt-out or the final status in it would be lost. So every view reads the form through
:func:`twilio_form`, which keeps only the fields duecall uses (and the few it stores for the
record), drops control characters and caps each value; typed readers then say what a value must
look like (a CallSid is ``CA`` and 32 hex digits, a number is E.164, a duration is a small
non-negative integer) and give None for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

#: The fields duecall reads or keeps from Twilio's voice, status, AMD and messaging requests.
KNOWN_FIELDS = frozenset(
    {
        "AccountSid",
        "AnsweredBy",
        "ApiVersion",
        "Body",
        "CallDuration",
        "CallSid",
        "CallStatus",
        "Called",
        "Caller",
        "Digits",
        "Direction",
        "ErrorCode",
        "FinishedOnKey",
        "ForwardedFrom",
        "From",
        "MachineDetectionDuration",
        "MessageSid",
        "MessageStatus",
        "MessagingServiceSid",
        "NumMedia",
        "NumSegments",
        "SequenceNumber",
        "SmsSid",
        "SmsStatus",
        "StatusCallbackEvent",
        "Timestamp",
        "To",
    }
)
#: Longest value kept of any field but the text of an SMS (Twilio's fields are all short).
MAX_FIELD = 64
#: An SMS body: Twilio's own limit for a message is 1,600 characters.
MAX_BODY = 1600

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_WORD = re.compile(r"^[a-z][a-z_-]{0,31}$")
# Twilio's SequenceNumber counts the callbacks of one call: a handful. A huge one would block
# every later callback of the call (they are applied in sequence), so it is not believed.
MAX_SEQUENCE = 1_000
# A call lasts at most 24 hours at Twilio (the Calls API's TimeLimit); a longer one is junk.
MAX_DURATION = 86_400


def clean(value: str, limit: int = MAX_FIELD) -> str:
    """``value`` without control characters (tabs and newlines kept), at most ``limit`` long."""
    return _CONTROL.sub("", value)[:limit]


def twilio_form(values: MultiDict[str, str]) -> dict[str, str]:
    """The known fields of a request (first value of each), cleaned (see the module docstring)."""
    form: dict[str, str] = {}
    for key in KNOWN_FIELDS:
        value = values.get(key)
        if value is not None:
            form[key] = clean(value, MAX_BODY if key == "Body" else MAX_FIELD)
    return form


def call_sid(form: Mapping[str, str]) -> str | None:
    """The CallSid when it is one (``CA`` and 32 hex digits)."""
    value = form.get("CallSid", "")
    return value if _CALL_SID.fullmatch(value) else None


def message_sid(form: Mapping[str, str]) -> str | None:
    """The MessageSid (or the older SmsSid) when it is one."""
    value = form.get("MessageSid") or form.get("SmsSid") or ""
    return value if _MESSAGE_SID.fullmatch(value) else None


def e164(value: str | None) -> str | None:
    """``value`` when it is an E.164 number (``whatsapp:+1...``, ``client:...`` are not)."""
    return value if value and _E164.fullmatch(value) else None


def word(value: str | None) -> str | None:
    """A status or verdict word (``in-progress``, ``machine_end_beep``), else None."""
    return value if value and _WORD.fullmatch(value) else None


def small_int(value: str | None, *, maximum: int) -> int | None:
    """A non-negative integer no larger than ``maximum``, else None."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    number = int(value)
    return number if number <= maximum else None
