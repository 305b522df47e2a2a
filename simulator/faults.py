"""Fault knobs: the local carrier misbehaving on purpose, the way Twilio and networks do.

Every :class:`~simulator.engine.Simulator` has a :class:`Faults` at ``sim.faults``. Its rules
apply to the REST endpoints Twilio serves and to the status callbacks the simulator sends; every
fault actually injected is kept in ``sim.faults.injected`` (:class:`InjectedFault`), so a test
asserts what happened rather than what it asked for. All methods are safe across threads.

REST endpoints, by name (``"*"`` is all six; the ``/_simulator/...`` control endpoints never
fail):

* ``calls.create`` — ``POST .../Calls.json``;  ``calls.list`` — ``GET .../Calls.json``;
* ``calls.fetch`` — ``GET .../Calls/{Sid}.json``;  ``calls.update`` — ``POST .../Calls/{Sid}.json``;
* ``messages.create`` — ``POST .../Messages.json``;
  ``messages.fetch`` — ``GET .../Messages/{Sid}.json``.

Python API::

    sim.faults.fail("calls.create", status=429, retry_after=2, times=5)  # 429, code 20429
    sim.faults.fail("calls.create", status=400, code=21211)            # until cleared
    sim.faults.fail("calls.create", status=502, code=20500, created=True)  # call made, then 502
    sim.faults.fail_rate("messages.create", 0.1, status=503)           # 10% (seeded), code 20503
    sim.faults.fail("*", status=500, after=5, for_seconds=10)          # a 10-second outage, 5 s on
    sim.faults.delay("*", (0.1, 0.3))                                  # 100-300 ms per request
    sim.faults.drop("calls.create", created=True, times=1)             # call made, no response
    sim.faults.drop("calls.create", created=False)                     # dropped before creation
    sim.faults.drop("calls.fetch", hang=30)                            # silent 30 s, then closed
    sim.faults.lose_callbacks(events=["completed"], to="+14155550123") # that callee's final one
    sim.faults.duplicate_callbacks(0.2)                                # 20% sent twice
    sim.faults.delay_callbacks((5, 60), p=0.1)                         # 10% sent 5-60 s late
    sim.faults.callbacks(lose=0.05, duplicate=0.05, delay=(1, 30))     # all three at once
    sim.faults.injected      # [InjectedFault(kind="rest", action="error", target="calls.create",
                             #   status=429, code=20429, retry_after=2, ...), ...]
    sim.faults.clear()       # every rule gone; requests held by a delay or a hang are released

Every rule takes ``p`` (the probability it applies to a matching request or callback, drawn
from the rule's own RNG, seeded from the simulator's seed and the rule's number, so the same plan
over the same sequence of requests injects the same faults) and ``times`` (at most that many
injections, then the rule is spent). REST rules also take ``after`` (the rule starts that many
seconds from now) and ``for_seconds`` (then stops that many seconds later). Every method returns
the rule's id; ``remove(id)`` takes one rule away.

* ``fail``: Twilio's JSON error body ``{"code", "message", "more_info", "status"}`` with HTTP
  ``status`` and Twilio ``code`` (defaults: 429 -> 20429, 500 -> 20500, 503 -> 20503; any other
  status needs a code), and a ``Retry-After`` header of ``retry_after`` whole seconds. Nothing is
  created, unless ``created=True``: then the request runs and its answer is replaced by the error,
  like a gateway failing on the way back.
* ``delay``: the request is held ``seconds`` (a number, or ``(lo, hi)`` drawn uniformly) before it
  is handled, in the request's own server thread, so concurrent requests overlap; several delay
  rules add up. Wall-clock seconds: ``time_scale`` does not apply to REST latency.
* ``drop``: the connection is closed without an answer. ``created=True`` (the default) runs the
  request first (the call or text exists, the client never learns its SID); ``created=False``
  drops it before anything was created. ``hang`` keeps the connection silent that many seconds
  before closing it, so a client with a shorter timeout sees a read timeout instead. On werkzeug's
  server (``serve``, ``make_server``) the socket is shut down; an in-process caller of
  ``sim.wsgi_app`` gets :class:`~simulator.errors.ConnectionDroppedError` raised instead.

The first error or drop rule that applies to a request decides it; delays apply on top.

Status callbacks (call progress events, SMS statuses; ``"amd"``, the asynchronous AMD verdict,
only when named in ``events``): ``lose`` never sends it, ``duplicate`` sends it twice,
``delay`` sends it ``seconds`` later while the call goes on, so it arrives after the callbacks that
followed it. A late or repeated callback carries its original parameters (``SequenceNumber``,
``Timestamp``), as Twilio's would. Delays are in call time: multiplied by ``time_scale`` in the
threaded mode; in the synchronous mode the delayed callbacks are sent once nothing else is
queued, in the order they fall due, the virtual clock moved to each one's due time.
Callback rules narrow with ``sid`` (a call or message SID), ``to`` (the callee's number) and
``events``. A lost callback wins over the other rules.

Plans as data (``create_simulator(..., faults=...)``, ``serve(..., faults=...)``, a YAML or
JSON file through :func:`load_faults`, or over HTTP), the same keys as the methods' arguments::

    seed: 7                         # optional; reseeds every rule
    rest:
      - {endpoint: calls.create, action: error, status: 429, retry_after: 2, times: 5}
      - {endpoint: messages.create, action: error, status: 503, p: 0.1}
      - {endpoint: "*", action: delay, seconds: [0.1, 0.3]}
      - {endpoint: calls.create, action: drop, created: true, times: 1}
    callbacks:
      - {action: lose, events: [completed], p: 0.05}
      - {action: duplicate, p: 0.05}
      - {action: delay, seconds: [1, 30], p: 0.1}

Over HTTP (Basic auth as the REST API): ``POST /_simulator/faults`` adds a plan's rules,
``PUT`` replaces them, ``DELETE`` clears them, ``GET`` returns ``{"plan", "injected",
"holding"}``. A bad plan is refused whole with 400 and the reason.

Unknown endpoints, events, actions or keys and out-of-range values raise ``ValueError`` with the
reason, before any rule of the plan is added.
"""

from __future__ import annotations

import inspect
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from simulator.errors import ApiError, PersonaError
from simulator.personas import normalize_number

#: REST endpoint names and the (routing endpoint, HTTP method) of :mod:`simulator.rest` each is.
ENDPOINTS: Mapping[str, tuple[str, str]] = {
    "calls.create": ("calls", "POST"),
    "calls.list": ("calls", "GET"),
    "calls.fetch": ("call", "GET"),
    "calls.update": ("call", "POST"),
    "messages.create": ("messages", "POST"),
    "messages.fetch": ("message", "GET"),
}
ANY_ENDPOINT = "*"
_BY_ROUTE = {route: name for name, route in ENDPOINTS.items()}

CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
SMS_EVENTS = ("queued", "sent", "delivered", "undelivered", "failed")
AMD_EVENT = "amd"
CALLBACK_EVENTS = frozenset([*CALL_EVENTS, *SMS_EVENTS, AMD_EVENT])

#: Twilio's codes for the statuses a gateway or the rate limiter answers with.
DEFAULT_CODES: Mapping[int, int] = {429: 20429, 500: 20500, 503: 20503}
_MESSAGES: Mapping[int, str] = {
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
}

RestAction = Literal["error", "delay", "drop"]
CallbackAction = Literal["lose", "duplicate", "delay"]
Seconds = float | tuple[float, float]


def endpoint_for(route: str, method: str) -> str | None:
    """The fault name of a REST route and method, None for routes faults never touch."""
    return _BY_ROUTE.get((route, method.upper()))


class InjectedError(ApiError):
    """A Twilio error the fault knobs answer with; ``retry_after`` becomes the header."""

    def __init__(self, status: int, code: int, message: str, retry_after: int | None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RestFault:
    """A rule for REST requests (see the module docstring for each field)."""

    endpoint: str
    action: RestAction
    status: int | None = None
    code: int | None = None
    message: str | None = None
    retry_after: int | None = None
    created: bool = False
    seconds: tuple[float, float] | None = None
    hang: float = 0.0
    p: float = 1.0
    times: int | None = None
    after: float = 0.0
    for_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as a plan entry (defaults left out)."""
        return _without_defaults(self, RestFault(self.endpoint, self.action))


@dataclass(frozen=True)
class CallbackFault:
    """A rule for status callbacks (see the module docstring for each field)."""

    action: CallbackAction
    seconds: tuple[float, float] | None = None
    p: float = 1.0
    times: int | None = None
    sid: str | None = None
    to: str | None = None
    events: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as a plan entry (defaults left out)."""
        return _without_defaults(self, CallbackFault(self.action))


@dataclass(frozen=True)
class InjectedFault:
    """One fault the simulator injected.

    ``kind`` is ``rest`` or ``callback``; ``action`` the rule's (``error``, ``delay``, ``drop``;
    ``lose``, ``duplicate``, ``delay``); ``target`` the endpoint name or the callback's event;
    ``rule`` the rule's id; ``sid`` the call or message concerned when known (the one created for
    ``created=True``); ``seconds`` the delay or hang drawn.
    """

    kind: Literal["rest", "callback"]
    action: str
    target: str
    rule: int
    sid: str | None = None
    status: int | None = None
    code: int | None = None
    retry_after: int | None = None
    created: bool | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (None left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class RestDecision:
    """What the faults decided for one REST request: delays to hold, then at most one error or
    drop (``outcome``, from rule ``outcome_rule``)."""

    delays: tuple[tuple[int, float], ...] = ()
    outcome: RestFault | None = None
    outcome_rule: int = 0


@dataclass(frozen=True)
class CallbackDecision:
    """What the faults decided for one callback: lost, or ``copies`` sent ``delay`` s late."""

    lost: bool = False
    copies: int = 1
    delay: float = 0.0


def _without_defaults(
    rule: RestFault | CallbackFault, default: RestFault | CallbackFault
) -> dict[str, Any]:
    values = asdict(rule)
    defaults = asdict(default)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("endpoint", "action") or value != defaults[key]:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


# Validation -------------------------------------------------------------------------------------


def _number(value: object, what: str, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if value < low:
        raise ValueError(f"{what} must be at least {low:g}, got {value!r}")
    return float(value)


def _probability(value: object, what: str = "p") -> float:
    number = _number(value, what)
    if number > 1:
        raise ValueError(f"{what} must be a probability from 0 to 1, got {value!r}")
    return number


def _count(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number of at least 1, got {value!r}")
    return value


def _seconds(value: object, what: str = "seconds") -> tuple[float, float]:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{what} must be a number or a [low, high] pair, got {value!r}")
        low, high = _number(value[0], what), _number(value[1], what)
        if low > high:
            raise ValueError(f"{what}: low {low:g} is above high {high:g}")
        return low, high
    fixed = _number(value, what)
    return fixed, fixed


def _endpoint(value: object) -> str:
    if value != ANY_ENDPOINT and value not in ENDPOINTS:
        known = ", ".join([*ENDPOINTS, ANY_ENDPOINT])
        raise ValueError(f"unknown endpoint {value!r}; one of {known}")
    return str(value)


def _events(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"events must be a list of event names, got {value!r}")
    events = tuple(value)
    bad = [e for e in events if e not in CALLBACK_EVENTS]
    if bad or not events:
        known = ", ".join(sorted(CALLBACK_EVENTS))
        raise ValueError(f"unknown callback event(s) {bad or events!r}; one of {known}")
    return events


def rest_fault(
    endpoint: str,
    action: str,
    *,
    status: int | None = None,
    code: int | None = None,
    message: str | None = None,
    retry_after: int | None = None,
    created: bool | None = None,
    seconds: object = None,
    hang: float = 0.0,
    p: float = 1.0,
    times: int | None = None,
    after: float = 0.0,
    for_seconds: float | None = None,
) -> RestFault:
    """A validated :class:`RestFault`; ``ValueError`` with the reason otherwise."""
    if action not in get_args(RestAction):
        raise ValueError(f"unknown REST action {action!r}; one of error, delay, drop")
    spec: dict[str, Any] = {
        "p": _probability(p),
        "times": _count(times, "times"),
        "after": _number(after, "after"),
        "for_seconds": None if for_seconds is None else _number(for_seconds, "for_seconds"),
    }
    given = {
        "status": status,
        "code": code,
        "message": message,
        "retry_after": retry_after,
        "seconds": seconds,
    }
    allowed = {"error": {"status", "code", "message", "retry_after"}, "delay": {"seconds"}}
    stray = [k for k, v in given.items() if v is not None and k not in allowed.get(action, ())]
    if action != "drop" and hang:
        stray.append("hang")
    if action == "delay" and created is not None:
        stray.append("created")
    if stray:
        raise ValueError(f"{action} rule: {', '.join(stray)} do(es) not apply")
    if action == "error":
        if status is None:
            status = 429
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status 400-599, got {status!r}")
        if code is None:
            if status not in DEFAULT_CODES:
                raise ValueError(f"status {status} needs a Twilio code (for example 21211)")
            code = DEFAULT_CODES[status]
        if isinstance(code, bool) or not isinstance(code, int) or code < 1:
            raise ValueError(f"code must be a positive Twilio error code, got {code!r}")
        if message is not None and not isinstance(message, str):
            raise ValueError(f"message must be text, got {message!r}")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
        ):
            # Retry-After is delay-seconds, a whole number (RFC 9110 section 10.2.3).
            raise ValueError(f"retry_after must be whole seconds >= 0, got {retry_after!r}")
        spec.update(
            status=status,
            code=code,
            message=message or _MESSAGES.get(code, f"Injected error {code}"),
            retry_after=retry_after,
        )
    elif action == "delay":
        if seconds is None:
            raise ValueError("delay rule needs seconds")
        spec["seconds"] = _seconds(seconds)
    else:
        spec["hang"] = _number(hang, "hang")
    if action != "delay":
        created = action == "drop" if created is None else created
        if not isinstance(created, bool):
            raise ValueError(f"created must be true or false, got {created!r}")
        spec["created"] = created
    return RestFault(_endpoint(endpoint), action, **spec)  # type: ignore[arg-type]


def callback_fault(
    action: str,
    *,
    seconds: object = None,
    p: float = 1.0,
    times: int | None = None,
    sid: str | None = None,
    to: str | None = None,
    events: Iterable[str] | None = None,
) -> CallbackFault:
    """A validated :class:`CallbackFault`; ``ValueError`` with the reason otherwise."""
    if action not in get_args(CallbackAction):
        raise ValueError(f"unknown callback action {action!r}; one of lose, duplicate, delay")
    if (seconds is None) == (action == "delay"):
        raise ValueError("seconds is required for a delay rule and applies to nothing else")
    if sid is not None and not isinstance(sid, str):
        raise ValueError(f"sid must be a call or message SID, got {sid!r}")
    if to is not None:
        try:
            to = normalize_number(str(to))
        except PersonaError as exc:
            raise ValueError(f"to: {exc}") from None
    return CallbackFault(
        action,  # type: ignore[arg-type]
        seconds=None if seconds is None else _seconds(seconds),
        p=_probability(p),
        times=_count(times, "times"),
        sid=sid,
        to=to,
        events=_events(events),
    )


def parse_plan(plan: Mapping[str, Any]) -> tuple[int | None, list[RestFault | CallbackFault]]:
    """Validate a plan document: its seed (None when absent) and its rules, REST ones first."""
    if not isinstance(plan, Mapping):
        raise ValueError(f"a fault plan must be a mapping, got {type(plan).__name__}")
    unknown = sorted(set(plan) - {"seed", "rest", "callbacks"})
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in fault plan; use seed, rest, callbacks")
    seed = plan.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    rules: list[RestFault | CallbackFault] = []
    for section in ("rest", "callbacks"):
        entries = plan.get(section) or []
        if not isinstance(entries, list):
            raise ValueError(f"{section} must be a list of rules")
        for index, entry in enumerate(entries):
            try:
                rules.append(_plan_rule(section, entry))
            except ValueError as exc:
                raise ValueError(f"{section}[{index}]: {exc}") from None
    return seed, rules


def _plan_rule(section: str, entry: object) -> RestFault | CallbackFault:
    build: Callable[..., RestFault | CallbackFault]
    build, required = (
        (rest_fault, {"endpoint", "action"}) if section == "rest" else (callback_fault, {"action"})
    )
    if not isinstance(entry, Mapping):
        raise ValueError(f"a rule is a mapping, got {entry!r}")
    missing = sorted(required - set(entry))
    unknown = sorted(set(entry) - set(inspect.signature(build).parameters))
    if missing or unknown:
        raise ValueError(f"missing key(s) {missing}, unknown key(s) {unknown}")
    return build(**entry)


def load_faults(path: str | Path) -> dict[str, Any]:
    """Read a plan file (``.json``, else YAML); ``ValueError`` naming the file when it is bad."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{source}: {exc}") from None
    try:
        parse_plan(data)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    return dict(data)


# The knobs --------------------------------------------------------------------------------------


class _Armed:
    """A rule in force: its id, window, remaining injections and RNG."""

    def __init__(self, rule_id: int, spec: RestFault | CallbackFault, seed: int, now: float):
        self.id = rule_id
        self.spec = spec
        self.remaining = spec.times
        self.rng = random.Random(f"{seed}/{rule_id}")
        # Callback rules have no window: they hold from the moment they are added.
        after = spec.after if isinstance(spec, RestFault) else -math.inf
        span = spec.for_seconds if isinstance(spec, RestFault) else None
        self.starts = now + after
        self.ends = None if span is None else self.starts + span

    def live(self, now: float) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.starts <= now and (self.ends is None or now < self.ends)

    def draw(self) -> bool:
        # Always draw, so whether this rule fires never depends on the other rules.
        return self.rng.random() < self.spec.p

    def seconds(self) -> float:
        low, high = self.spec.seconds or (0.0, 0.0)
        return low if low == high else self.rng.uniform(low, high)

    def spend(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class Faults:
    """The simulator's fault knobs (see the module docstring). ``seed`` seeds every rule's RNG;
    ``clock`` (monotonic seconds) times the REST rules' ``after`` / ``for_seconds`` windows."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []
        self._next_id = 1
        self._injected: list[InjectedFault] = []
        self._release = threading.Event()
        self._holding = 0

    # Adding rules ------------------------------------------------------------------------------

    def fail(
        self,
        endpoint: str,
        status: int = 429,
        code: int | None = None,
        *,
        message: str | None = None,
        retry_after: int | None = None,
        created: bool = False,
        times: int | None = None,
        p: float = 1.0,
        after: float = 0.0,
        for_seconds: float | None = None,
    ) -> int:
        """Answer requests to ``endpoint`` with Twilio's error ``code`` and HTTP ``status``."""
        return self.add(
            rest_fault(
                endpoint,
                "error",
                status=status,
                code=code,
                message=message,
                retry_after=retry_after,
                created=created,
                times=times,
                p=p,
                after=after,
                for_seconds=for_seconds,
            )
        )

    def fail_rate(
        self,
        endpoint: str,
        p: float,
        status: int = 429,
        code: int | None = None,
        **options: Any,
    ) -> int:
        """:meth:`fail` for a fraction ``p`` of the requests (seeded)."""
        return self.fail(endpoint, status, code, p=p, **options)

    def delay(
        self,
        endpoint: str,
        seconds: Seconds,
        *,
        times: int | None = None,
        p: float = 1.0,
        after: float = 0.0,
        for_seconds: float | None = None,
    ) -> int:
        """Hold requests to ``endpoint`` ``seconds`` (or uniformly from ``(lo, hi)``), wall
        clock, before handling them."""
        return self.add(
            rest_fault(
                endpoint,
                "delay",
                seconds=seconds,
                times=times,
                p=p,
                after=after,
                for_seconds=for_seconds,
            )
        )

    def drop(
        self,
        endpoint: str,
        *,
        created: bool = True,
        hang: float = 0.0,
        times: int | None = None,
        p: float = 1.0,
        after: float = 0.0,
        for_seconds: float | None = None,
    ) -> int:
        """Close the connection without an answer, after the request ran (``created``) or
        before, once ``hang`` seconds of silence have passed."""
        return self.add(
            rest_fault(
                endpoint,
                "drop",
                created=created,
                hang=hang,
                times=times,
                p=p,
                after=after,
                for_seconds=for_seconds,
            )
        )

    def lose_callbacks(
        self,
        p: float = 1.0,
        *,
        sid: str | None = None,
        to: str | None = None,
        events: Iterable[str] | None = None,
        times: int | None = None,
    ) -> int:
        """Never send the matching status callbacks."""
        return self.add(callback_fault("lose", p=p, sid=sid, to=to, events=events, times=times))

    def duplicate_callbacks(
        self,
        p: float = 1.0,
        *,
        sid: str | None = None,
        to: str | None = None,
        events: Iterable[str] | None = None,
        times: int | None = None,
    ) -> int:
        """Send the matching status callbacks twice."""
        return self.add(
            callback_fault("duplicate", p=p, sid=sid, to=to, events=events, times=times)
        )

    def delay_callbacks(
        self,
        seconds: Seconds,
        p: float = 1.0,
        *,
        sid: str | None = None,
        to: str | None = None,
        events: Iterable[str] | None = None,
        times: int | None = None,
    ) -> int:
        """Send the matching status callbacks ``seconds`` of call time late."""
        return self.add(
            callback_fault(
                "delay", seconds=seconds, p=p, sid=sid, to=to, events=events, times=times
            )
        )

    def callbacks(
        self,
        *,
        lose: float = 0.0,
        duplicate: float = 0.0,
        delay: Seconds | None = None,
        delay_p: float = 1.0,
        sid: str | None = None,
        to: str | None = None,
        events: Iterable[str] | None = None,
    ) -> list[int]:
        """Lose a fraction ``lose``, duplicate a fraction ``duplicate`` and delay a fraction
        ``delay_p`` by ``delay`` of the matching callbacks; returns the rules' ids."""
        narrowing: dict[str, Any] = {
            "sid": sid,
            "to": to,
            "events": None if events is None else list(events),
        }
        rules: list[RestFault | CallbackFault] = []
        if _probability(lose, "lose"):
            rules.append(callback_fault("lose", p=lose, **narrowing))
        if _probability(duplicate, "duplicate"):
            rules.append(callback_fault("duplicate", p=duplicate, **narrowing))
        if delay is not None:
            rules.append(callback_fault("delay", seconds=delay, p=delay_p, **narrowing))
        if not rules:
            raise ValueError("callbacks: give lose, duplicate or delay")
        return self._add_all(rules)

    def add(self, rule: RestFault | CallbackFault) -> int:
        """Put a rule (built by :func:`rest_fault` / :func:`callback_fault`) in force."""
        return self._add_all([rule])[0]

    def load(self, plan: Mapping[str, Any], *, replace: bool = False) -> list[int]:
        """Add a plan's rules (all or none); ``replace`` clears the current ones first."""
        seed, rules = parse_plan(plan)
        with self._lock:
            if replace:
                self._clear_locked()
            if seed is not None:
                self._seed = seed
                for armed in self._rules:
                    armed.rng.seed(f"{seed}/{armed.id}")
        return self._add_all(rules)

    def _add_all(self, rules: list[RestFault | CallbackFault]) -> list[int]:
        with self._lock:
            now = self._clock()
            ids = []
            for spec in rules:
                self._rules.append(_Armed(self._next_id, spec, self._seed, now))
                ids.append(self._next_id)
                self._next_id += 1
            return ids

    def remove(self, rule_id: int) -> None:
        """Take rule ``rule_id`` out of force; ``KeyError`` when there is none."""
        with self._lock:
            for index, armed in enumerate(self._rules):
                if armed.id == rule_id:
                    del self._rules[index]
                    return
        raise KeyError(rule_id)

    def clear(self) -> None:
        """Remove every rule and release the requests a delay or a hang is holding. Rule ids
        count from 1 again; ``injected`` is kept (see :meth:`clear_injected`)."""
        with self._lock:
            self._clear_locked()

    def _clear_locked(self) -> None:
        self._rules.clear()
        self._next_id = 1
        self._release.set()
        self._release = threading.Event()

    def clear_injected(self) -> None:
        """Forget the faults injected so far."""
        with self._lock:
            self._injected.clear()

    def reseed(self, seed: int) -> None:
        """Restart every rule's RNG from ``seed``."""
        self.load({"seed": seed})

    # Reading -----------------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        """The seed the rules' RNGs derive from."""
        return self._seed

    @property
    def rules(self) -> dict[int, RestFault | CallbackFault]:
        """The rules in force (spent ones included), by id."""
        with self._lock:
            return {armed.id: armed.spec for armed in self._rules}

    @property
    def injected(self) -> list[InjectedFault]:
        """Every fault injected so far, in order (a copy)."""
        with self._lock:
            return list(self._injected)

    @property
    def holding(self) -> int:
        """How many requests a delay or a hang is holding right now."""
        with self._lock:
            return self._holding

    def to_dict(self) -> dict[str, Any]:
        """The rules in force as a plan document."""
        with self._lock:
            specs = [armed.spec for armed in self._rules]
        return {
            "seed": self._seed,
            "rest": [s.to_dict() for s in specs if isinstance(s, RestFault)],
            "callbacks": [s.to_dict() for s in specs if isinstance(s, CallbackFault)],
        }

    # Used by the REST API and the engine -------------------------------------------------------

    def record(self, fault: InjectedFault) -> None:
        """Keep an injected fault."""
        with self._lock:
            self._injected.append(fault)

    def decide_rest(self, endpoint: str) -> RestDecision | None:
        """Draw the faults for one request to ``endpoint``; None when none applies. Delays are
        recorded here; the caller records the outcome once it knows the SID."""
        with self._lock:
            now = self._clock()
            delays: list[tuple[int, float]] = []
            outcome: tuple[int, RestFault] | None = None
            for armed in self._rules:
                spec = armed.spec
                if not isinstance(spec, RestFault) or spec.endpoint not in (endpoint, "*"):
                    continue
                if not armed.live(now) or not armed.draw():
                    continue
                if spec.action == "delay":
                    seconds = armed.seconds()
                    armed.spend()
                    delays.append((armed.id, seconds))
                    self._injected.append(
                        InjectedFault("rest", "delay", endpoint, armed.id, seconds=seconds)
                    )
                elif outcome is None:
                    armed.spend()
                    outcome = (armed.id, spec)
            if not delays and outcome is None:
                return None
            if outcome is None:
                return RestDecision(tuple(delays))
            return RestDecision(tuple(delays), outcome[1], outcome[0])

    def decide_callback(self, event: str, *, sid: str, to: str) -> CallbackDecision | None:
        """Draw the faults for one callback (``event`` of ``sid`` to ``to``) and record them;
        None when none applies."""
        with self._lock:
            now = self._clock()
            hits: list[_Armed] = []
            for armed in self._rules:
                spec = armed.spec
                if not isinstance(spec, CallbackFault) or not armed.live(now):
                    continue
                if spec.events is None and event == AMD_EVENT:
                    continue
                if spec.events is not None and event not in spec.events:
                    continue
                if (spec.sid is not None and spec.sid != sid) or (
                    spec.to is not None and spec.to != to
                ):
                    continue
                if armed.draw():
                    hits.append(armed)
            if not hits:
                return None
            lost = next((a for a in hits if a.spec.action == "lose"), None)
            if lost is not None:
                lost.spend()
                self._injected.append(InjectedFault("callback", "lose", event, lost.id, sid=sid))
                return CallbackDecision(lost=True)
            copies, delay = 1, 0.0
            for armed in hits:
                armed.spend()
                seconds = armed.seconds() if armed.spec.action == "delay" else None
                if seconds is None:
                    copies += 1
                else:
                    delay += seconds
                self._injected.append(
                    InjectedFault(
                        "callback", armed.spec.action, event, armed.id, sid=sid, seconds=seconds
                    )
                )
            return CallbackDecision(copies=copies, delay=delay)

    def hold(self, seconds: float) -> None:
        """Block the calling thread ``seconds``, or until :meth:`clear`."""
        if seconds <= 0:
            return
        with self._lock:
            release = self._release
            self._holding += 1
        try:
            release.wait(seconds)
        finally:
            with self._lock:
                self._holding -= 1
