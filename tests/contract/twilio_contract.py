"""Check REST requests against Twilio's own OpenAPI description (the vendored subset).

Any test that captures what duecall sends to Twilio can check it here::

    from tests.contract.twilio_contract import assert_request_conforms

    with responses.RequestsMock() as mock:
        ...
        for call in mock.calls:
            assert_request_conforms(call.request)   # a requests.PreparedRequest

or, without ``requests`` (the simulator checking what it receives)::

    problems = violations("POST", "/2010-04-01/Accounts/AC.../Calls.json", body_bytes)

What is checked, and why a stock validator is not enough (README.md beside this file):

1. the operation exists: method and path match a path template of the subset (the host is
   ignored, since ``DUECALL_TWILIO_API_URL`` and regions change it), path parameters match
   their declared patterns (``AccountSid`` ``^AC[0-9a-fA-F]{32}$``...);
2. every query and body key is a *declared* parameter of that operation (validators silently
   drop undeclared keys, so a misspelt ``StatusCalback`` would pass);
3. a scalar parameter appears at most once; an array parameter is sent as repeated keys
   (``StatusCallbackEvent=initiated&StatusCallbackEvent=ringing``), the way the SDK sends lists;
4. each value has its declared type (integer, boolean as ``true``/``false``...), enum, pattern,
   length and range, after the tightenings below, validated with openapi-schema-validator;
5. formats: ``phone-number`` is E.164, ``endpoint`` is E.164 or a ``sip:``/``client:`` address,
   ``uri`` is an absolute http(s) URL whose host has no underscore, ``date-time`` is RFC 3339
   or the ``YYYY-MM-DD`` Twilio's own examples use;
6. required fields, including a required body (the spec never marks one), and the one-of rules
   the spec states only in prose: exactly one of Url / Twiml / ApplicationSid per call; From or
   MessagingServiceSid, and Body, MediaUrl or ContentSid, per message;
7. independently, openapi-core validates the request against the tightened description.

The tightenings are facts from Twilio's parameter descriptions and docs, applied at load time so
the vendored file stays byte-for-byte Twilio's (see :data:`TIGHTENINGS`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import FormatChecker
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest
from openapi_schema_validator import OAS30Validator

__all__ = [
    "SPEC_PATH",
    "ContractError",
    "Operation",
    "assert_conforms",
    "assert_request_conforms",
    "form_fields",
    "operation_for",
    "tightened_spec",
    "violations",
]

SPEC_PATH = Path(__file__).with_name("twilio_api_v2010_subset.json")
FORM = "application/x-www-form-urlencoded"

# What Twilio documents but its OpenAPI description does not say, per operationId and parameter.
# Each entry is merged into the parameter's schema (for arrays: into `items` where marked).
TIGHTENINGS: dict[str, dict[str, dict[str, Any]]] = {
    "CreateCall": {
        # "Can be: `Enable` or `DetectMessageEnd`" (parameter description; AMD docs).
        "MachineDetection": {"enum": ["Enable", "DetectMessageEnd"]},
        # "Can be: `true` or `false`." The spec types it as a free string.
        "AsyncAmd": {"enum": ["true", "false"]},
        # "Can be: `initiated`, `ringing`, `answered`, and `completed`."
        "StatusCallbackEvent": {
            "items": {"enum": ["initiated", "ringing", "answered", "completed"]}
        },
        # "The default is `60` seconds and the maximum is `600` seconds."
        "Timeout": {"minimum": 1, "maximum": 600},
        # AMD docs: MachineDetectionTimeout 3-59 s; thresholds in ms.
        "MachineDetectionTimeout": {"minimum": 3, "maximum": 59},
        "MachineDetectionSpeechThreshold": {"minimum": 1000, "maximum": 6000},
        "MachineDetectionSpeechEndThreshold": {"minimum": 500, "maximum": 5000},
        "MachineDetectionSilenceTimeout": {"minimum": 2000, "maximum": 10000},
        # "Max 4000 characters."
        "Twiml": {"maxLength": 4000},
    },
    "UpdateCall": {
        "Twiml": {"maxLength": 4000},
    },
    "CreateMessage": {
        # "Accepted values are integers from `1` to `36000`."
        "ValidityPeriod": {"minimum": 1, "maximum": 36000},
        # "Can be up to 1,600 characters in length."
        "Body": {"maxLength": 1600},
    },
}

# Rules the description states only in prose: (operationId, kind, fields).
# kind "exactly-one": exactly one of the fields; "at-least-one": one or more of them.
ONE_OF_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # Calls API: the call's instructions come from exactly one of a URL, inline TwiML or an
    # Application ("If both `twiml` and `url` are provided then `twiml` parameter will be ignored"
    # - silently; duecall never relies on that).
    ("CreateCall", "exactly-one", ("Url", "Twiml", "ApplicationSid")),
    # Messages API: a sender (From, or a Messaging Service picking one) ...
    ("CreateMessage", "at-least-one", ("From", "MessagingServiceSid")),
    # ... and content.
    ("CreateMessage", "at-least-one", ("Body", "MediaUrl", "ContentSid")),
    # An update that changes nothing is a bug on our side.
    ("UpdateCall", "at-least-one", ("Url", "Twiml", "Status")),
)

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class ContractError(AssertionError):
    """A request Twilio's description does not allow; ``problems`` lists every violation."""

    def __init__(self, request_line: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{request_line} breaks Twilio's API description:\n{listing}")


@dataclass(frozen=True)
class Operation:
    """One operation of the subset: its id, path template and the compiled path matcher."""

    operation_id: str
    method: str
    template: str
    matcher: re.Pattern[str]
    spec: Mapping[str, Any]


# --- the description ----------------------------------------------------------------------------


@functools.cache
def tightened_spec() -> dict[str, Any]:
    """The vendored subset with :data:`TIGHTENINGS`, required bodies and form encodings added."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for path_item in spec["paths"].values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "delete") or "requestBody" not in operation:
                continue
            operation["requestBody"]["required"] = True
            media = operation["requestBody"]["content"][FORM]
            properties = media["schema"]["properties"]
            # Twilio sends lists as repeated keys; say so, or a validator keeps the last value.
            encoding = media.setdefault("encoding", {})
            for name, schema in properties.items():
                if schema.get("type") == "array":
                    encoding[name] = {"style": "form", "explode": True}
            for name, extra in TIGHTENINGS.get(operation["operationId"], {}).items():
                target = properties[name]
                for key, value in extra.items():
                    if key == "items":
                        target["items"] = {**target["items"], **value}
                    else:
                        target[key] = value
    return spec


@functools.cache
def _operations() -> tuple[Operation, ...]:
    spec = tightened_spec()
    found = []
    for template, path_item in spec["paths"].items():
        pattern = re.sub(r"\\\{[A-Za-z]+\\\}", "([^/]+)", re.escape(template))
        matcher = re.compile(f"^{pattern}$")
        for method, operation in path_item.items():
            if method in ("get", "post", "delete", "put", "patch"):
                found.append(
                    Operation(
                        operation["operationId"], method.upper(), template, matcher, operation
                    )
                )
    return tuple(found)


@functools.cache
def _openapi() -> OpenAPI:
    # Twilio's own formats are unknown to openapi-core; give it the same checks as ours.
    formats = {
        "phone-number": _is_phone_number,
        "endpoint": _is_endpoint,
        "uri": _is_absolute_http_url,
        "date-time": _is_date_time,
        "twiml": _is_twiml,
        "http-method": lambda value: value in ("GET", "POST"),
    }
    config = Config(extra_format_validators=formats)
    return OpenAPI.from_dict(copy.deepcopy(tightened_spec()), config=config)


def _resolve(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Inline ``#/components/schemas`` references (the subset's request schemas are acyclic)."""
    components = tightened_spec()["components"]["schemas"]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(components[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    resolved: dict[str, Any] = walk(schema)
    return resolved


def operation_for(method: str, url: str) -> Operation | None:
    """The subset's operation for ``method`` and ``url`` (absolute or a bare path), or None."""
    path = urlsplit(url).path
    for operation in _operations():
        if operation.method == method.upper() and operation.matcher.match(path):
            return operation
    return None


# --- formats ------------------------------------------------------------------------------------

_formats = FormatChecker(formats=())


def _is_phone_number(value: object) -> bool:
    return not isinstance(value, str) or bool(_E164.fullmatch(value))


def _is_endpoint(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if value.startswith(("sip:", "client:")):
        return len(value.split(":", 1)[1]) > 0
    return bool(_E164.fullmatch(value))


def _is_absolute_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        # "URLs must contain a valid hostname (underscores are not permitted)."
        and "_" not in (parts.hostname or "")
        and not any(ch.isspace() for ch in value)
    )


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                return False
    except ValueError:
        return False
    return True


def _is_twiml(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        root = ET.fromstring(value)  # test input we built ourselves
    except ET.ParseError:
        return False
    return root.tag == "Response"


for _name, _check in (
    ("phone-number", _is_phone_number),
    ("endpoint", _is_endpoint),
    ("uri", _is_absolute_http_url),
    ("date-time", _is_date_time),
    ("twiml", _is_twiml),
):
    _formats.checks(_name)(_check)


# --- values -------------------------------------------------------------------------------------


def _coerce(name: str, raw: str, schema: Mapping[str, Any], problems: list[str]) -> Any:
    """Turn a form/query string into the JSON value its schema describes, or record why not."""
    kind = schema.get("type")
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            problems.append(f"{name}={raw!r} is not an integer")
            return None
        return int(raw)
    if kind == "number":
        if not _NUMBER.fullmatch(raw):
            problems.append(f"{name}={raw!r} is not a number")
            return None
        return float(raw)
    if kind == "boolean":
        # The SDK serializes booleans as lowercase `true` / `false`.
        if raw not in ("true", "false"):
            problems.append(f"{name}={raw!r} is not a boolean (true/false)")
            return None
        return raw == "true"
    return raw


def _check_value(
    name: str, values: list[str], schema: Mapping[str, Any], problems: list[str]
) -> None:
    if schema.get("type") == "array":
        item_schema = schema.get("items", {})
        coerced = [_coerce(name, raw, item_schema, problems) for raw in values]
        value: Any = coerced
    else:
        if len(values) > 1:
            problems.append(f"{name} is sent {len(values)} times but is not a list parameter")
        value = _coerce(name, values[-1], schema, problems)
    if value is None or (isinstance(value, list) and None in value):
        return
    validator = OAS30Validator(dict(schema), format_checker=_formats)
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
        where = "".join(f"[{p}]" for p in error.path)
        problems.append(f"{name}{where}: {error.message}")


def _pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, strict_parsing=False)


def form_fields(body: bytes | str | None) -> dict[str, list[str]]:
    """A form-encoded body as ``{key: [values...]}``, repeated keys kept in order."""
    if body is None:
        return {}
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    fields: dict[str, list[str]] = {}
    for key, value in _pairs(text):
        fields.setdefault(key, []).append(value)
    return fields


def _check_fields(
    where: str,
    fields: Mapping[str, list[str]],
    declared: Mapping[str, Mapping[str, Any]],
    required: Iterable[str],
    problems: list[str],
) -> None:
    for name in fields:
        if name not in declared:
            problems.append(f"{name} is not a declared {where} parameter")
    for name in required:
        if name not in fields:
            problems.append(f"required {where} parameter {name} is missing")
    for name, values in fields.items():
        if name in declared:
            _check_value(name, values, _resolve(declared[name]), problems)


# --- the check ----------------------------------------------------------------------------------


def violations(
    method: str,
    url: str,
    body: bytes | str | None = None,
    content_type: str | None = FORM,
) -> list[str]:
    """Every way the request breaks Twilio's description; an empty list means it conforms.

    ``url`` may be absolute or a path, with its query string; ``body`` is the raw
    form-encoded body as sent.
    """
    operation = operation_for(method, url)
    if operation is None:
        return [f"{method.upper()} {urlsplit(url).path} is not an operation of the vendored subset"]
    problems: list[str] = []
    parts = urlsplit(url)
    op = operation.spec

    # Path parameters.
    match = operation.matcher.match(parts.path)
    assert match is not None
    names = re.findall(r"\{([A-Za-z]+)\}", operation.template)
    path_params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
    for name, raw in zip(names, match.groups(), strict=True):
        _check_value(name, [raw], _resolve(path_params[name]["schema"]), problems)

    # Query parameters.
    query_params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    query = form_fields(parts.query)
    _check_fields(
        "query",
        query,
        {name: p["schema"] for name, p in query_params.items()},
        [name for name, p in query_params.items() if p.get("required")],
        problems,
    )

    # Body.
    text = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
    request_body = op.get("requestBody")
    if request_body is None:
        if text:
            problems.append(f"{operation.operation_id} takes no body, but one was sent")
    else:
        if content_type is None or content_type.split(";")[0].strip().lower() != FORM:
            problems.append(f"body must be {FORM}, got {content_type!r}")
        schema = request_body["content"][FORM]["schema"]
        fields = form_fields(text)
        if not fields:
            problems.append(f"{operation.operation_id} requires a body, but none was sent")
        _check_fields("body", fields, schema["properties"], schema.get("required", []), problems)
        for op_id, kind, group in ONE_OF_RULES:
            if op_id != operation.operation_id:
                continue
            present = [name for name in group if name in fields]
            if kind == "exactly-one" and len(present) != 1:
                problems.append(f"exactly one of {'/'.join(group)} is required, got {present}")
            if kind == "at-least-one" and not present:
                problems.append(f"one of {'/'.join(group)} is required")

    problems.extend(_openapi_core_problems(operation, parts.path, parts.query, text, content_type))
    return problems


def _openapi_core_problems(
    operation: Operation, path: str, query: str, body: str, content_type: str | None
) -> list[str]:
    """The same request through openapi-core, as an independent check of types and enums."""
    request = MockRequest(
        "https://api.twilio.com",
        operation.method.lower(),
        path,
        args=form_fields(query) if query else None,
        data=body.encode("utf-8") if body else None,
        content_type=content_type or FORM,
        # Twilio's operations all require HTTP basic auth; any well-formed header satisfies it.
        headers={"Authorization": "Basic QUN4eHg6dG9rZW4="},
    )
    result = _openapi().unmarshal_request(request)
    found = []
    for error in result.errors:
        cause = error.__cause__ or error.__context__
        found.append(f"openapi-core: {type(error).__name__}: {cause or error}")
    return found


def assert_conforms(
    method: str, url: str, body: bytes | str | None = None, content_type: str | None = FORM
) -> None:
    """Raise :class:`ContractError` unless the request conforms (see :func:`violations`)."""
    problems = violations(method, url, body, content_type)
    if problems:
        raise ContractError(f"{method.upper()} {urlsplit(url).path}", problems)


def assert_request_conforms(request: Any) -> None:
    """Check a captured ``requests.PreparedRequest`` (``responses`` keeps them in ``calls``)."""
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    content_type = request.headers.get("Content-Type") if body else None
    assert_conforms(request.method, request.url, body, content_type or FORM)
