"""The REST API subset, under Twilio's own paths, as a WSGI application.

``/2010-04-01/Accounts/{AccountSid}/``:

* ``Calls.json`` — POST create, GET list (filters ``To``, ``From``, ``Status``, ``ParentCallSid``,
  ``StartTime``, ``StartTime>`` / ``StartTime<`` — what ``StartTime>=2024-05-01`` in a query
  string parses to —, ``PageSize``, ``Page``);
* ``Calls/{Sid}.json`` — GET fetch, POST update (``Url``/``Method``/``Twiml`` redirect of a live
  call, ``Status=completed|canceled``);
* ``Messages.json`` — POST create; ``Messages/{Sid}.json`` — GET fetch;
* ``Queues.json`` — POST create (``FriendlyName``, ``MaxSize``), GET list; ``Queues/{Sid}.json`` —
  GET fetch, POST update;
* ``Queues/{QueueSid}/Members.json`` — GET list; ``Members/{CallSid}.json`` (or ``Front``) — GET
  fetch, POST update (``Url``, ``Method``: dequeue the member to that TwiML);
* ``Conferences.json`` — GET list (``FriendlyName``, ``Status``); ``Conferences/{Sid}.json`` —
  GET fetch, POST update (``Status=completed`` ends it);
* ``Conferences/{Sid}/Participants.json`` — GET list (``Muted``, ``Hold``, ``Coaching``);
  ``Participants/{CallSid}.json`` — GET fetch, POST update (``Muted``, ``Hold``, ``Coaching``,
  ``CallSidToCoach``, ``EndConferenceOnExit``), DELETE (kick).

Every request needs HTTP Basic auth with the simulator's account SID and auth token, else 401 with
Twilio's error 20003. Errors carry Twilio's body ``{"code", "message", "more_info", "status"}``.

Parameters Twilio accepts but the simulator does not simulate (``Record``, ``SendDigits``...) and
parameters Twilio does not know (a misspelt ``StatusCalback``) are accepted, as Twilio would, and
recorded in ``Simulator.errors`` (kind ``api``) so a test notices them.

Control endpoints for tools (same auth), not part of Twilio's API:

* ``POST /_simulator/inbound/calls`` — form ``From``, ``To``, optional ``Url``, ``Method``,
  ``Keys`` (comma-separated key script); places an inbound call to the app, returns the call JSON
  plus ``transcript`` (synchronous mode: the finished call).
* ``POST /_simulator/inbound/messages`` — form ``From``, ``To``, ``Body``, optional ``Url``.
* ``GET /_simulator/calls/{Sid}/transcript`` — the call's transcript and errors.
* ``POST /_simulator/calls/{Sid}/keys`` — form ``Keys`` (a key script): the live caller presses
  them at its next ``<Gather>`` (a queued caller answering the wait music's menu).
* ``/_simulator/faults`` — the fault knobs (:mod:`simulator.faults`): ``GET`` the plan and the
  faults injected, ``POST`` a JSON plan to add its rules, ``PUT`` to replace them, ``DELETE`` to
  clear them.

The six Twilio endpoints go through the fault knobs first: a request may be held (latency),
answered with an injected error, or have its connection dropped before or after it ran.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import socket
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import phonenumbers
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulator.errors import ApiError, ConnectionDroppedError, PersonaError
from simulator.faults import Faults, InjectedError, InjectedFault, RestDecision, endpoint_for
from simulator.models import API_VERSION, CALL_EVENTS, SimCall, SimMessage
from simulator.personas import normalize_number
from simulator.switchboard import (
    MAX_QUEUE_SIZE,
    Conference,
    Participant,
    QueueMember,
    SimQueue,
    Switchboard,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Parameters of Calls create in Twilio's OpenAPI description (twilio_api_v2010.json).
CALL_CREATE_DECLARED = frozenset(
    [
        "To",
        "From",
        "Method",
        "FallbackUrl",
        "FallbackMethod",
        "StatusCallback",
        "StatusCallbackEvent",
        "StatusCallbackMethod",
        "SendDigits",
        "Timeout",
        "Record",
        "RecordingChannels",
        "RecordingStatusCallback",
        "RecordingStatusCallbackMethod",
        "SipAuthUsername",
        "SipAuthPassword",
        "MachineDetection",
        "MachineDetectionTimeout",
        "RecordingStatusCallbackEvent",
        "Trim",
        "CallerId",
        "MachineDetectionSpeechThreshold",
        "MachineDetectionSpeechEndThreshold",
        "MachineDetectionSilenceTimeout",
        "AsyncAmd",
        "AsyncAmdStatusCallback",
        "AsyncAmdStatusCallbackMethod",
        "Byoc",
        "CallReason",
        "CallToken",
        "RecordingTrack",
        "TimeLimit",
        "ClientNotificationUrl",
        "Url",
        "Twiml",
        "ApplicationSid",
    ]
)
CALL_CREATE_SIMULATED = frozenset(
    [
        "To",
        "From",
        "Url",
        "Twiml",
        "Method",
        "StatusCallback",
        "StatusCallbackEvent",
        "StatusCallbackMethod",
        "Timeout",
        "TimeLimit",
        "MachineDetection",
        "AsyncAmd",
        "AsyncAmdStatusCallback",
        "AsyncAmdStatusCallbackMethod",
        "MachineDetectionTimeout",
    ]
)
CALL_UPDATE_DECLARED = frozenset(
    [
        "Url",
        "Method",
        "Status",
        "FallbackUrl",
        "FallbackMethod",
        "StatusCallback",
        "StatusCallbackMethod",
        "Twiml",
        "TimeLimit",
    ]
)
CALL_UPDATE_SIMULATED = frozenset(["Url", "Method", "Status", "Twiml"])
MESSAGE_CREATE_DECLARED = frozenset(
    [
        "To",
        "StatusCallback",
        "ApplicationSid",
        "MaxPrice",
        "ProvideFeedback",
        "Attempt",
        "ValidityPeriod",
        "ForceDelivery",
        "ContentRetention",
        "AddressRetention",
        "SmartEncoded",
        "PersistentAction",
        "TrafficType",
        "ShortenUrls",
        "ScheduleType",
        "SendAt",
        "SendAsMms",
        "ContentVariables",
        "RiskCheck",
        "From",
        "FallbackFrom",
        "MessagingServiceSid",
        "Body",
        "MediaUrl",
        "ContentSid",
    ]
)
# ValidityPeriod is accepted and kept: every simulated delivery is immediate, so no message
# outlives it.
MESSAGE_CREATE_SIMULATED = frozenset(
    ["To", "From", "MessagingServiceSid", "Body", "MediaUrl", "StatusCallback", "ValidityPeriod"]
)
CALL_LIST_PARAMS = frozenset(
    [
        "To",
        "From",
        "Status",
        "ParentCallSid",
        "StartTime",
        "StartTime<",
        "StartTime>",
        "PageSize",
        "Page",
        "PageToken",
    ]
)
MAX_BODY = 1600

_ACCOUNT = "/2010-04-01/Accounts/<account_sid>"


class Backend(Protocol):
    """The simulator behind the REST API: its credentials, resources and the operations the API
    exposes (:class:`~simulator.engine.Simulator` is one)."""

    @property
    def account_sid(self) -> str:
        """The only account the API serves; also the Basic auth user."""
        ...

    @property
    def auth_token(self) -> str:
        """The Basic auth password."""
        ...

    @property
    def calls(self) -> Mapping[str, SimCall]:
        """Every call, by SID."""
        ...

    @property
    def faults(self) -> Faults:
        """The fault knobs the REST endpoints obey."""
        ...

    @property
    def messages(self) -> Mapping[str, SimMessage]:
        """Every SMS, by SID."""
        ...

    @property
    def switchboard(self) -> Switchboard:
        """Queues and conferences."""
        ...

    @property
    def lock(self) -> threading.RLock:
        """Held while the switchboard is read or changed."""
        ...

    def now(self) -> datetime:
        """The simulator's current time."""
        ...

    def dequeue_member(self, member: QueueMember, url: str, method: str) -> None:
        """Take the member out of its queue and redirect its call to ``url``."""
        ...

    def update_participant(self, participant: Participant, changes: Mapping[str, object]) -> None:
        """Mute, hold or coach a participant."""
        ...

    def kick_participant(self, participant: Participant) -> None:
        """Remove a participant from its conference."""
        ...

    def end_conference(self, conference: Conference) -> None:
        """End a conference (``Status=completed``)."""
        ...

    def send_keys(self, call: SimCall, keys: str) -> None:
        """Queue key presses for a live call's next Gather; PersonaError for a bad script."""
        ...

    def record_error(self, kind: str, message: str, call: SimCall | None = None) -> None:
        """Keep an error (kind ``api`` for the REST API)."""
        ...

    def place_call(
        self,
        *,
        to: str,
        from_: str,
        url: str | None = ...,
        method: str = ...,
        twiml: str | None = ...,
        status_callback: str | None = ...,
        status_callback_method: str = ...,
        status_callback_events: Iterable[str] = ...,
        machine_detection: str | None = ...,
        async_amd: bool = ...,
        amd_callback: str | None = ...,
        amd_callback_method: str = ...,
        ring_timeout: float = ...,
        time_limit: float = ...,
    ) -> SimCall:
        """Create an outbound call from validated parameters and schedule it."""
        ...

    def update_call(
        self,
        call: SimCall,
        *,
        url: str | None = ...,
        method: str = ...,
        twiml: str | None = ...,
        status: str | None = ...,
    ) -> None:
        """Redirect a live call, or end it with ``status``."""
        ...

    def send_message(
        self,
        *,
        to: str,
        from_: str | None,
        body: str,
        status_callback: str | None = ...,
        messaging_service_sid: str | None = ...,
        num_media: int = ...,
    ) -> SimMessage:
        """Create an outbound SMS and schedule its delivery; ApiError 21610 when opted out."""
        ...

    def place_inbound_call(
        self,
        from_number: str,
        to_number: str,
        *,
        url: str | None = ...,
        method: str = ...,
        keys: str | None = ...,
    ) -> SimCall:
        """Call the app; ValueError or PersonaError for a bad request."""
        ...

    def send_inbound_sms(
        self, from_number: str, to_number: str, body: str, *, url: str | None = ...
    ) -> SimMessage:
        """Text the app; ValueError when there is nowhere to send it."""
        ...


def _error(status: int, code: int, message: str) -> ApiError:
    return ApiError(status, code, message)


def _e164(value: str, field: str, code: int) -> str:
    """Parse a phone number Twilio would accept into E.164, else ApiError ``code``."""
    try:
        parsed = phonenumbers.parse(value, "US" if not value.startswith("+") else None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise _error(400, code, f"The '{field}' number {value} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _method(form: MultiDict[str, str], key: str) -> str:
    value = form.get(key, "POST").upper()
    if value not in ("GET", "POST"):
        raise _error(400, 20001, f"{key} must be GET or POST")
    return value


def _url(form: MultiDict[str, str], key: str) -> str | None:
    value = form.get(key)
    if value is None or value == "":
        return None
    if not value.startswith(("http://", "https://")):
        raise _error(400, 21205, f"Url is not a valid URL: {value}")
    return value


def _filter_time(value: str, key: str) -> datetime | date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise _error(400, 20001, f"Invalid {key}: {value}") from None


def _matches_time(start: datetime | None, bound: datetime | date, op: str) -> bool:
    if start is None:
        return False
    if op == "=":  # "calls that started on this date", whatever time the SDK appends
        day = bound.date() if isinstance(bound, datetime) else bound
        return start.date() == day
    left: datetime | date = start
    if not isinstance(bound, datetime):
        left = start.date()
    return left >= bound if op == ">" else left <= bound


class RestApi:
    """WSGI callable serving the REST subset for one simulator (a :class:`Backend`)."""

    def __init__(self, sim: Backend) -> None:
        self.sim = sim
        self.url_map = Map(
            [
                Rule(f"{_ACCOUNT}/Calls.json", endpoint="calls", methods=["GET", "POST"]),
                Rule(f"{_ACCOUNT}/Calls/<sid>.json", endpoint="call", methods=["GET", "POST"]),
                Rule(f"{_ACCOUNT}/Messages.json", endpoint="messages", methods=["POST"]),
                Rule(f"{_ACCOUNT}/Messages/<sid>.json", endpoint="message", methods=["GET"]),
                Rule("/_simulator/inbound/calls", endpoint="inbound_call", methods=["POST"]),
                Rule("/_simulator/inbound/messages", endpoint="inbound_sms", methods=["POST"]),
                Rule(f"{_ACCOUNT}/Queues.json", endpoint="queues", methods=["GET", "POST"]),
                Rule(f"{_ACCOUNT}/Queues/<sid>.json", endpoint="queue", methods=["GET", "POST"]),
                Rule(
                    f"{_ACCOUNT}/Queues/<queue_sid>/Members.json",
                    endpoint="members",
                    methods=["GET"],
                ),
                Rule(
                    f"{_ACCOUNT}/Queues/<queue_sid>/Members/<call_sid>.json",
                    endpoint="member",
                    methods=["GET", "POST"],
                ),
                Rule(f"{_ACCOUNT}/Conferences.json", endpoint="conferences", methods=["GET"]),
                Rule(
                    f"{_ACCOUNT}/Conferences/<sid>.json",
                    endpoint="conference",
                    methods=["GET", "POST"],
                ),
                Rule(
                    f"{_ACCOUNT}/Conferences/<conference_sid>/Participants.json",
                    endpoint="participants",
                    methods=["GET"],
                ),
                Rule(
                    f"{_ACCOUNT}/Conferences/<conference_sid>/Participants/<call_sid>.json",
                    endpoint="participant",
                    methods=["GET", "POST", "DELETE"],
                ),
                Rule("/_simulator/calls/<sid>/transcript", endpoint="transcript", methods=["GET"]),
                Rule("/_simulator/calls/<sid>/keys", endpoint="keys", methods=["POST"]),
                Rule(
                    "/_simulator/faults",
                    endpoint="faults",
                    methods=["GET", "POST", "PUT", "DELETE"],
                ),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route, authenticate and run one request; every failure becomes Twilio's error body.

        Raises :class:`~simulator.errors.ConnectionDroppedError` when a fault drops the connection.
        """
        headers: dict[str, str] = {}
        try:
            self._authenticate(request)
            adapter = self.url_map.bind_to_environ(request.environ)
            endpoint, matched = adapter.match()
            args = dict(matched)
            account = args.pop("account_sid", self.sim.account_sid)
            if account != self.sim.account_sid:
                raise _error(404, 20404, f"The requested resource {request.path} was not found")
            handler = getattr(self, f"_{endpoint}_{request.method.lower()}")
            name = endpoint_for(endpoint, request.method)
            decision = self.sim.faults.decide_rest(name) if name else None
            if decision is None:
                status, body = handler(request, **args)
            else:
                status, body = self._with_faults(decision, str(name), request, handler, args)
        except ApiError as exc:
            status, body = exc.status, exc.body()
            if isinstance(exc, InjectedError) and exc.retry_after is not None:
                headers["Retry-After"] = str(exc.retry_after)
        except NotFound:
            status = 404
            body = _error(404, 20404, f"The requested resource {request.path} was not found").body()
        except MethodNotAllowed:
            status, body = 405, _error(405, 20004, "Method not allowed").body()
        except HTTPException as exc:
            status = exc.code or 400
            body = _error(status, 20001, exc.description or "Bad request").body()
        if status == 204:
            return Response(status=204)
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers.update(headers)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response

    def _with_faults(
        self,
        decision: RestDecision,
        name: str,
        request: Request,
        handler: Any,
        args: Mapping[str, str],
    ) -> tuple[int, Any]:
        """Run a request under the faults drawn for it: hold it for the delays, then answer with
        the error or drop the connection, before or after the handler ran."""
        faults = self.sim.faults
        faults.hold(sum(seconds for _, seconds in decision.delays))
        fault = decision.outcome
        if fault is None:
            result: tuple[int, Any] = handler(request, **args)
            return result
        sid: str | None = None
        if fault.created:
            try:
                status, body = handler(request, **args)
            except ApiError as exc:  # refused anyway: nothing was created
                status, body = exc.status, exc.body()
            if isinstance(body, dict) and status < 400:
                sid = body.get("sid")
        faults.record(
            InjectedFault(
                "rest",
                fault.action,
                name,
                decision.outcome_rule,
                sid=sid,
                status=fault.status,
                code=fault.code,
                retry_after=fault.retry_after,
                created=sid is not None,
                seconds=fault.hang if fault.action == "drop" else None,
            )
        )
        if fault.action == "drop":
            self._drop(request, fault.hang)
        assert fault.status is not None and fault.code is not None  # an error rule has both
        raise InjectedError(fault.status, fault.code, fault.message or "", fault.retry_after)

    def _drop(self, request: Request, hang: float) -> None:
        """Close the client's connection without an answer, after ``hang`` seconds of silence."""
        request.get_data()  # read the body, so the client sees the connection close, not a reset
        self.sim.faults.hold(hang)
        sock = request.environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # the client may have gone first
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionDroppedError(f"{request.method} {request.path}: dropped by a fault")

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        ok = False
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            ok = hmac.compare_digest(user, self.sim.account_sid) and hmac.compare_digest(
                password, self.sim.auth_token
            )
        if not ok:
            raise _error(401, 20003, "Authenticate")

    def _note_params(
        self, form: Iterable[str], declared: frozenset[str], simulated: frozenset[str], what: str
    ) -> None:
        for key in sorted(set(form)):
            if key not in declared:
                self.sim.record_error(
                    "api", f"{what}: unknown parameter {key!r} (Twilio ignores it)"
                )
            elif key not in simulated:
                self.sim.record_error("api", f"{what}: parameter {key!r} is not simulated")

    def _get_call(self, sid: str) -> SimCall:
        call = self.sim.calls.get(sid)
        if call is None:
            raise _error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return call

    # Calls -------------------------------------------------------------------------------------

    def _calls_post(self, request: Request) -> tuple[int, Any]:
        form = request.form
        self._note_params(form, CALL_CREATE_DECLARED, CALL_CREATE_SIMULATED, "Calls create")
        if not form.get("To"):
            raise _error(400, 21201, "No 'To' number is specified")
        to = _e164(form["To"], "To", 21211)
        if not form.get("From"):
            raise _error(400, 21213, "No 'From' number is specified")
        from_ = _e164(form["From"], "From", 21212)
        url, twiml = _url(form, "Url"), form.get("Twiml") or None
        if url is None and twiml is None:
            raise _error(400, 21205, "Url parameter is required.")
        if url is not None and twiml is not None:
            # Twilio documents that Twiml is ignored when Url is given; flag the ambiguity.
            self.sim.record_error("api", "Calls create: both Url and Twiml given; Twiml ignored")
            twiml = None
        if twiml is not None and len(twiml) > 4000:
            raise _error(400, 21221, "Twiml exceeds 4000 characters")
        events = form.getlist("StatusCallbackEvent")
        expanded = [e for value in events for e in value.split()]
        bad = [e for e in expanded if e not in CALL_EVENTS]
        if bad:
            raise _error(400, 21626, f"Invalid 'StatusCallbackEvent': {', '.join(bad)}")
        machine_detection = form.get("MachineDetection") or None
        if machine_detection not in (None, "Enable", "DetectMessageEnd"):
            raise _error(400, 20001, "MachineDetection must be Enable or DetectMessageEnd")
        async_amd = form.get("AsyncAmd", "false").lower() == "true"
        timeout = self._int(form, "Timeout", 60, 1, 600)
        time_limit = self._int(form, "TimeLimit", 14400, 1, 86400)
        call = self.sim.place_call(
            to=to,
            from_=from_,
            url=url,
            method=_method(form, "Method"),
            twiml=twiml,
            status_callback=_url(form, "StatusCallback"),
            status_callback_method=_method(form, "StatusCallbackMethod"),
            status_callback_events=expanded,
            machine_detection=machine_detection,
            async_amd=async_amd,
            amd_callback=_url(form, "AsyncAmdStatusCallback"),
            amd_callback_method=_method(form, "AsyncAmdStatusCallbackMethod"),
            ring_timeout=float(timeout),
            time_limit=float(time_limit),
        )
        return 201, call.to_json()

    @staticmethod
    def _int(form: MultiDict[str, str], key: str, default: int, low: int, high: int) -> int:
        raw = form.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _error(400, 20001, f"{key} must be an integer") from None
        return min(max(value, low), high)

    def _calls_get(self, request: Request) -> tuple[int, Any]:
        args = request.args
        unknown = sorted(set(args) - CALL_LIST_PARAMS)
        if unknown:
            self.sim.record_error("api", f"Calls list: unknown filter(s) {unknown}")
        calls = sorted(self.sim.calls.values(), key=lambda c: c.date_created, reverse=True)
        if "To" in args:
            to = self._maybe_e164(args["To"])
            calls = [c for c in calls if c.to == to]
        if "From" in args:
            from_ = self._maybe_e164(args["From"])
            calls = [c for c in calls if c.from_ == from_]
        if "Status" in args:
            calls = [c for c in calls if c.status == args["Status"]]
        if "ParentCallSid" in args:
            calls = [c for c in calls if c.parent_call_sid == args["ParentCallSid"]]
        for key, op in (("StartTime", "="), ("StartTime>", ">"), ("StartTime<", "<")):
            if key in args:
                bound = _filter_time(args[key], key)
                calls = [c for c in calls if _matches_time(c.start_time, bound, op)]
        size = self._int(args, "PageSize", 50, 1, 1000)
        page = self._int(args, "Page", 0, 0, 1_000_000)
        chunk = calls[page * size : (page + 1) * size]
        filters = [
            (k, args[k])
            for k in (
                "To",
                "From",
                "Status",
                "ParentCallSid",
                "StartTime",
                "StartTime>",
                "StartTime<",
            )
            if k in args
        ]
        base = f"/{API_VERSION}/Accounts/{self.sim.account_sid}/Calls.json"

        def page_uri(number: int, token: str | None = None) -> str:
            query = [*filters, ("PageSize", str(size)), ("Page", str(number))]
            if token:
                query.append(("PageToken", token))
            return f"{base}?{urlencode(query)}"

        has_next = len(calls) > (page + 1) * size
        start = page * size
        body = {
            "calls": [c.to_json() for c in chunk],
            "end": start + len(chunk) - 1 if chunk else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, f"PA{chunk[-1].sid}") if has_next else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1, f"PB{chunk[0].sid}")
            if page and chunk
            else None,
            "start": start,
            "uri": page_uri(page),
        }
        return 200, body

    @staticmethod
    def _maybe_e164(value: str) -> str:
        try:
            return normalize_number(value)
        except PersonaError:
            return value

    def _call_get(self, request: Request, sid: str) -> tuple[int, Any]:
        return 200, self._get_call(sid).to_json()

    def _call_post(self, request: Request, sid: str) -> tuple[int, Any]:
        call = self._get_call(sid)
        form = request.form
        self._note_params(form, CALL_UPDATE_DECLARED, CALL_UPDATE_SIMULATED, "Calls update")
        status = form.get("Status") or None
        if status not in (None, "completed", "canceled"):
            raise _error(400, 20001, f"Status must be completed or canceled, not {status}")
        url, twiml = _url(form, "Url"), form.get("Twiml") or None
        if status is not None:
            # Twilio: canceled only affects a queued or ringing call; completed ends any live call.
            live = call.status in ("queued", "ringing") or (
                status == "completed" and call.status == "in-progress"
            )
            if live:
                self.sim.update_call(call, status=status)
        elif url is not None or twiml is not None:
            if call.is_over:
                raise _error(400, 21220, "Call is not in-progress. Cannot redirect.")
            if url is not None and twiml is not None:
                self.sim.record_error(
                    "api", "Calls update: both Url and Twiml given; Twiml ignored"
                )
                twiml = None
            self.sim.update_call(call, url=url, method=_method(form, "Method"), twiml=twiml)
        return 200, call.to_json()

    # Messages ----------------------------------------------------------------------------------

    def _messages_post(self, request: Request) -> tuple[int, Any]:
        form = request.form
        self._note_params(
            form, MESSAGE_CREATE_DECLARED, MESSAGE_CREATE_SIMULATED, "Messages create"
        )
        if not form.get("To"):
            raise _error(400, 21604, "A 'To' phone number is required.")
        to = _e164(form["To"], "To", 21211)
        service = form.get("MessagingServiceSid") or None
        from_raw = form.get("From") or None
        if from_raw is None and service is None:
            raise _error(400, 21603, "A 'From' phone number is required.")
        from_ = _e164(from_raw, "From", 21212) if from_raw else None
        body = form.get("Body", "")
        media = form.getlist("MediaUrl")
        if not body and not media:
            raise _error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        message = self.sim.send_message(
            to=to,
            from_=from_,
            body=body,
            status_callback=_url(form, "StatusCallback"),
            messaging_service_sid=service,
            num_media=len(media),
        )
        return 201, message.to_json()

    def _message_get(self, request: Request, sid: str) -> tuple[int, Any]:
        message = self.sim.messages.get(sid)
        if message is None:
            raise _error(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        return 200, message.to_json()

    # Queues and members ------------------------------------------------------------------------

    def _page(
        self,
        request: Request,
        key: str,
        path: str,
        items: list[dict[str, object]],
        filters: list[tuple[str, str]],
    ) -> dict[str, object]:
        """A list answer in Twilio's page shape (``PageSize``, ``Page``)."""
        size = self._int(request.args, "PageSize", 50, 1, 1000)
        page = self._int(request.args, "Page", 0, 0, 1_000_000)
        chunk = items[page * size : (page + 1) * size]
        base = f"/{API_VERSION}/Accounts/{self.sim.account_sid}/{path}"

        def page_uri(number: int) -> str:
            query = [*filters, ("PageSize", str(size)), ("Page", str(number))]
            return f"{base}?{urlencode(query)}"

        start = page * size
        return {
            key: chunk,
            "end": start + len(chunk) - 1 if chunk else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if len(items) > (page + 1) * size else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page else None,
            "start": start,
            "uri": page_uri(page),
        }

    def _check_params(self, params: Iterable[str], known: frozenset[str], what: str) -> None:
        """Every parameter these resources take is simulated: anything else is recorded."""
        for key in sorted(set(params) - known):
            self.sim.record_error("api", f"{what}: parameter {key!r} is not simulated")

    def _get_queue(self, sid: str) -> SimQueue:
        queue = self.sim.switchboard.queues.get(sid)
        if queue is None:
            raise _error(404, 20404, f"The requested resource /Queues/{sid}.json was not found")
        return queue

    def _max_size(self, form: MultiDict[str, str]) -> int | None:
        if not form.get("MaxSize"):
            return None
        size = self._int(form, "MaxSize", 0, -1, 10**9)
        if not 1 <= size <= MAX_QUEUE_SIZE:
            raise _error(400, 20001, f"MaxSize must be 1 to {MAX_QUEUE_SIZE}")
        return size

    def _queues_post(self, request: Request) -> tuple[int, Any]:
        form = request.form
        self._check_params(form, frozenset({"FriendlyName", "MaxSize"}), "Queues create")
        name = form.get("FriendlyName", "")
        if not name or len(name) > 64:
            raise _error(400, 20001, "FriendlyName is required, at most 64 characters")
        with self.sim.lock:
            if self.sim.switchboard.queue_named(name) is not None:
                raise _error(400, 22208, f"A queue named {name} already exists")
            queue = self.sim.switchboard.create_queue(name, self.sim.now(), self._max_size(form))
        return 201, queue.to_json()

    def _queues_get(self, request: Request) -> tuple[int, Any]:
        self._check_params(request.args, frozenset({"PageSize", "Page"}), "Queues list")
        queues = sorted(self.sim.switchboard.queues.values(), key=lambda q: q.date_created)
        return 200, self._page(request, "queues", "Queues.json", [q.to_json() for q in queues], [])

    def _queue_get(self, request: Request, sid: str) -> tuple[int, Any]:
        return 200, self._get_queue(sid).to_json()

    def _queue_post(self, request: Request, sid: str) -> tuple[int, Any]:
        form = request.form
        self._check_params(form, frozenset({"FriendlyName", "MaxSize"}), "Queues update")
        queue = self._get_queue(sid)
        with self.sim.lock:
            if form.get("FriendlyName"):
                queue.friendly_name = form["FriendlyName"]
            size = self._max_size(form)
            if size is not None:
                queue.max_size = size
            queue.date_updated = self.sim.now()
        return 200, queue.to_json()

    def _members_get(self, request: Request, queue_sid: str) -> tuple[int, Any]:
        self._check_params(request.args, frozenset({"PageSize", "Page"}), "Members list")
        queue = self._get_queue(queue_sid)
        now = self.sim.now()
        with self.sim.lock:
            members = [m.to_json(now) for m in queue.members]
        path = f"Queues/{queue_sid}/Members.json"
        return 200, self._page(request, "queue_members", path, members, [])

    def _get_member(self, queue_sid: str, call_sid: str) -> QueueMember:
        member = self._get_queue(queue_sid).member(call_sid)
        if member is None:
            raise _error(
                404,
                20404,
                f"The requested resource /Queues/{queue_sid}/Members/{call_sid}.json was not found",
            )
        return member

    def _member_get(self, request: Request, queue_sid: str, call_sid: str) -> tuple[int, Any]:
        return 200, self._get_member(queue_sid, call_sid).to_json(self.sim.now())

    def _member_post(self, request: Request, queue_sid: str, call_sid: str) -> tuple[int, Any]:
        form = request.form
        self._check_params(form, frozenset({"Url", "Method"}), "Members update")
        url = _url(form, "Url")
        if url is None:
            raise _error(400, 20001, "Missing required parameter Url in the post body")
        method = _method(form, "Method")
        with self.sim.lock:
            member = self._get_member(queue_sid, call_sid)
            body = member.to_json(self.sim.now())
            self.sim.dequeue_member(member, url, method)
        return 200, body

    # Conferences and participants -------------------------------------------------------------

    def _get_conference(self, sid: str) -> Conference:
        conference = self.sim.switchboard.conferences.get(sid)
        if conference is None:
            raise _error(
                404, 20404, f"The requested resource /Conferences/{sid}.json was not found"
            )
        return conference

    def _conferences_get(self, request: Request) -> tuple[int, Any]:
        args = request.args
        self._check_params(
            args, frozenset({"FriendlyName", "Status", "PageSize", "Page"}), "Conferences list"
        )
        conferences = sorted(
            self.sim.switchboard.conferences.values(), key=lambda c: c.date_created, reverse=True
        )
        if "FriendlyName" in args:
            conferences = [c for c in conferences if c.friendly_name == args["FriendlyName"]]
        if "Status" in args:
            conferences = [c for c in conferences if c.status == args["Status"]]
        filters = [(k, args[k]) for k in ("FriendlyName", "Status") if k in args]
        items = [c.to_json() for c in conferences]
        return 200, self._page(request, "conferences", "Conferences.json", items, filters)

    def _conference_get(self, request: Request, sid: str) -> tuple[int, Any]:
        return 200, self._get_conference(sid).to_json()

    def _conference_post(self, request: Request, sid: str) -> tuple[int, Any]:
        form = request.form
        self._check_params(form, frozenset({"Status"}), "Conferences update")
        conference = self._get_conference(sid)
        status = form.get("Status")
        if status is not None and status != "completed":
            raise _error(400, 20001, f"Status must be completed, not {status}")
        if status == "completed":
            self.sim.end_conference(conference)
        return 200, conference.to_json()

    def _get_participant(self, conference_sid: str, call_sid: str) -> Participant:
        conference = self._get_conference(conference_sid)
        participant = conference.history.get(call_sid)
        if participant is None:
            raise _error(
                404,
                20404,
                f"The requested resource /Conferences/{conference_sid}/Participants/"
                f"{call_sid}.json was not found",
            )
        return participant

    @staticmethod
    def _bool(form: MultiDict[str, str], key: str) -> bool | None:
        raw = form.get(key)
        if raw is None or raw == "":
            return None
        if raw.lower() not in ("true", "false"):
            raise _error(400, 20001, f"{key} must be true or false")
        return raw.lower() == "true"

    def _participants_get(self, request: Request, conference_sid: str) -> tuple[int, Any]:
        args = request.args
        self._check_params(
            args, frozenset({"Muted", "Hold", "Coaching", "PageSize", "Page"}), "Participants list"
        )
        conference = self._get_conference(conference_sid)
        with self.sim.lock:
            participants = list(conference.participants.values())
        for key, name in (("Muted", "muted"), ("Hold", "hold"), ("Coaching", "coaching")):
            wanted = self._bool(args, key)
            if wanted is not None:
                participants = [p for p in participants if getattr(p, name) == wanted]
        filters = [(k, args[k]) for k in ("Muted", "Hold", "Coaching") if k in args]
        path = f"Conferences/{conference_sid}/Participants.json"
        items = [p.to_json() for p in participants]
        return 200, self._page(request, "participants", path, items, filters)

    def _participant_get(
        self, request: Request, conference_sid: str, call_sid: str
    ) -> tuple[int, Any]:
        return 200, self._get_participant(conference_sid, call_sid).to_json()

    def _participant_post(
        self, request: Request, conference_sid: str, call_sid: str
    ) -> tuple[int, Any]:
        form = request.form
        fields = {
            "Muted": "muted",
            "Hold": "hold",
            "Coaching": "coaching",
            "EndConferenceOnExit": "end_conference_on_exit",
        }
        self._check_params(form, frozenset({*fields, "CallSidToCoach"}), "Participants update")
        participant = self._get_participant(conference_sid, call_sid)
        if participant.status != "connected":
            raise _error(400, 20001, f"Participant {call_sid} is no longer in the conference")
        changes: dict[str, object] = {}
        for key, name in fields.items():
            value = self._bool(form, key)
            if value is not None:
                changes[name] = value
        coach = form.get("CallSidToCoach") or None
        if coach is not None:
            if coach not in participant.conference.participants:
                raise _error(400, 20001, f"CallSidToCoach {coach} is not in the conference")
            changes["call_sid_to_coach"] = coach
        if changes.get("coaching") and not (coach or participant.call_sid_to_coach):
            raise _error(400, 20001, "Coaching=true needs CallSidToCoach")
        if changes.get("coaching") is False:
            changes["call_sid_to_coach"] = None
        self.sim.update_participant(participant, changes)
        return 200, participant.to_json()

    def _participant_delete(
        self, request: Request, conference_sid: str, call_sid: str
    ) -> tuple[int, Any]:
        participant = self._get_participant(conference_sid, call_sid)
        if participant.status != "connected":
            raise _error(404, 20404, f"Participant {call_sid} is no longer in the conference")
        self.sim.kick_participant(participant)
        return 204, None

    # Control endpoints -------------------------------------------------------------------------

    def _keys_post(self, request: Request, sid: str) -> tuple[int, Any]:
        call = self._get_call(sid)
        if call.is_over:
            raise _error(400, 21220, "Call is not in-progress.")
        try:
            self.sim.send_keys(call, request.form.get("Keys", ""))
        except PersonaError as exc:
            raise _error(400, 20001, str(exc)) from exc
        return 200, {"sid": call.sid, "keys": request.form.get("Keys", "")}

    def _inbound_call_post(self, request: Request) -> tuple[int, Any]:
        form = request.form
        for key in ("From", "To"):
            if not form.get(key):
                raise _error(400, 20001, f"{key} is required")
        try:
            call = self.sim.place_inbound_call(
                _e164(form["From"], "From", 21212),
                _e164(form["To"], "To", 21211),
                url=_url(form, "Url"),
                method=_method(form, "Method"),
                keys=form.get("Keys") or None,
            )
        except (ValueError, PersonaError) as exc:
            raise _error(400, 20001, str(exc)) from exc
        return 201, {**call.to_json(), "transcript": call.transcript}

    def _inbound_sms_post(self, request: Request) -> tuple[int, Any]:
        form = request.form
        for key in ("From", "To", "Body"):
            if not form.get(key):
                raise _error(400, 20001, f"{key} is required")
        try:
            message = self.sim.send_inbound_sms(
                form["From"], form["To"], form["Body"], url=_url(form, "Url")
            )
        except ValueError as exc:
            raise _error(400, 20001, str(exc)) from exc
        return 201, {**message.to_json(), "reply": message.reply}

    def _faults_get(self, request: Request) -> tuple[int, Any]:
        faults = self.sim.faults
        return 200, {
            "plan": faults.to_dict(),
            "injected": [fault.to_dict() for fault in faults.injected],
            "holding": faults.holding,
        }

    def _faults_post(self, request: Request, *, replace: bool = False) -> tuple[int, Any]:
        try:
            plan = json.loads(request.get_data(as_text=True) or "{}")
            ids = self.sim.faults.load(plan, replace=replace)
        except ValueError as exc:  # JSONDecodeError is one
            raise _error(400, 20001, f"Invalid fault plan: {exc}") from exc
        return 201 if not replace else 200, {"rules": ids, "plan": self.sim.faults.to_dict()}

    def _faults_put(self, request: Request) -> tuple[int, Any]:
        return self._faults_post(request, replace=True)

    def _faults_delete(self, request: Request) -> tuple[int, Any]:
        self.sim.faults.clear()
        return 200, {"plan": self.sim.faults.to_dict()}

    def _transcript_get(self, request: Request, sid: str) -> tuple[int, Any]:
        call = self._get_call(sid)
        return 200, {
            "sid": call.sid,
            "status": call.status,
            "transcript": call.transcript,
            "errors": [e.message for e in call.errors],
        }
