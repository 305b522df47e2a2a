"""The IVR's routes: ``/twilio/voice``, ``/twilio/voice/outbound``, ``/twilio/voice/amd``.

Each view verifies Twilio's signature (the guard), parses the request into a typed object, calls
one method of :class:`ivr.service.IvrService`, hands the effects it returned to their owners
(:mod:`webhooks.effects`) in the same transaction, lets the boundary commit, and answers with the
TwiML it returned. GET and POST are both accepted: a Gather action or Redirect may be configured
with either, and Twilio signs a GET over the URL with its query string.

A request that loses a race for its call's session (the version check, or two first requests)
is run again on a fresh read, where it is recognised as a replay. The AMD view first receives the
verdict like every other callback (stored once, deduplicated, recorded on the attempt by its
lifecycle: :func:`dialer.callbacks.apply_amd_event`); a repeat of it changes nothing and redirects
nothing. It redirects the live call through the REST API only after its transaction committed,
with the adapter's timeout: async AMD works that way, and the redirect is one quick request.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dialer.callbacks import AmdEvent, apply_amd_event
from ivr.service import AmdRequest, Decision, IvrService, RequestKind, VoiceRequest
from ivr.session import AgentWanted, CallbackRequested, Direction, Effect, Flow
from telephony import routes
from telephony.port import Telephony
from webhooks.effects import TextRules, book_callback, carry_out
from webhooks.forms import call_sid, e164, twilio_form, word
from webhooks.guard import Kind
from webhooks.services import EXTENSION as SERVICES_EXTENSION
from webhooks.services import WebhookServices, services

log = logging.getLogger(__name__)

bp = Blueprint("twilio_voice", __name__)

EXTENSION = "duecall.ivr"
ATTEMPTS = 3

_KEYS = re.compile(r"^[0-9*#]{0,64}$")
_NUMBER = re.compile(r"^[0-9]{1,9}$")

T = TypeVar("T")


#: The desk's answer to a caller who wants a person: the ``<Enqueue>`` TwiML when an agent who
#: serves them is on shift (the caller's queue record is written in the same transaction), else
#: None and the IVR's own fallback (the callback offer) stands. Installed by the composition
#: root, so the web edge needs no import of the desk.
Escalate = Callable[[Session, str, AgentWanted, datetime], str | None]


@dataclass(frozen=True)
class VoiceConfig:
    """What the voice routes need: the call flow, what the texts its effects send must carry,
    a way to build the carrier port for the AMD redirect (never at import or app creation:
    serving the hotline needs no account SID), and the desk's escalation, if any."""

    flow: Flow
    texts: TextRules
    telephony: Callable[[], Telephony] | None = None
    escalate: Escalate | None = None


@dataclass
class VoiceWiring:
    """The IVR service and, for the AMD redirect, a way to build the carrier port lazily."""

    service: IvrService
    texts: TextRules
    telephony_factory: Callable[[], Telephony] | None = None
    escalate: Escalate | None = None
    _telephony: Telephony | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def telephony(self) -> Telephony:
        """The carrier port, built on first use (never at import or app creation)."""
        with self._lock:
            if self._telephony is None:
                if self.telephony_factory is None:
                    raise RuntimeError("no telephony configured for the AMD redirect")
                self._telephony = self.telephony_factory()
            return self._telephony


def init_app(app: Flask, config: VoiceConfig) -> None:
    """Register the voice routes and install the IVR's fault answer on the Twilio guard; the
    webhook services must already be installed."""
    wiring = VoiceWiring(
        IvrService(config.flow), config.texts, config.telephony, escalate=config.escalate
    )
    app.extensions[EXTENSION] = wiring
    hooks: WebhookServices = app.extensions[SERVICES_EXTENSION]
    # The guard's documented hook: what a voice caller hears when a view fails.
    hooks.guard.voice_fault = _voice_fault
    app.register_blueprint(bp)


def _wiring() -> VoiceWiring:
    found: VoiceWiring = current_app.extensions[EXTENSION]
    return found


def _twilio(kind: Kind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The app's guard around a view (looked up per request: the guard belongs to the app; no
    decorator is built per request)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return services().guard.call(kind, view, *args, **kwargs)

        return wrapped

    return decorate


def _xml(twiml: str) -> Response:
    return Response(twiml, status=200, mimetype="application/xml")


def _transact(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; on a lost race run it again on a fresh read."""
    db = services().db
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.session() as session:
                return work(session)
        except (StaleDataError, IntegrityError) as exc:
            if attempt == ATTEMPTS:
                raise
            log.info("ivr: %s, retrying (%s of %s)", type(exc).__name__, attempt, ATTEMPTS)
    raise AssertionError("unreachable")


# --- parsing -------------------------------------------------------------------------------------


def _small_int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if _NUMBER.fullmatch(value) else None


def _form() -> dict[str, str]:
    # request.values: a Gather action may be a GET, with Digits in the query string.
    return twilio_form(request.values)


def parse_voice(direction: Direction) -> VoiceRequest | None:
    """The voice request as a typed object; None without a usable CallSid."""
    values = _form()
    sid = call_sid(values)
    if sid is None:
        return None
    step = _small_int("step")
    kind: RequestKind
    if step is None:
        kind = "start"
    elif "Digits" in values:
        kind = "input"
    elif "miss" in request.args:
        kind = "miss"
    elif "hold" in request.args:
        kind = "hold"
    else:
        kind = "show"
    digits = values.get("Digits", "")
    if not _KEYS.fullmatch(digits):
        digits = "*"  # junk from a forged or broken request: an invalid choice, nothing more
    finished = values.get("FinishedOnKey", "")
    return VoiceRequest(
        call_sid=sid,
        direction=direction,
        kind=kind,
        caller=e164(values.get("From") if direction == "inbound" else values.get("To")),
        attempt_id=_small_int("attempt"),
        step=step,
        digits=digits,
        finished_on_key=finished if finished in ("#", "*") else "",
        params=values,
    )


def parse_amd() -> AmdRequest | None:
    values = _form()
    sid = call_sid(values)
    if sid is None:
        return None
    return AmdRequest(
        call_sid=sid,
        attempt_id=_small_int("attempt"),
        answered_by=word(values.get("AnsweredBy")) or "unknown",
        caller=e164(values.get("To")),
        params=values,
    )


# --- views ---------------------------------------------------------------------------------------


def _voice(direction: Direction) -> Response:
    parsed = parse_voice(direction)
    wiring = _wiring()
    if parsed is None:
        log.warning("ivr: %s request without a valid CallSid", direction)
        return _xml(wiring.service.fault_twiml(wiring.service.flow.languages, speak=False))
    now = services().clock.now()

    def store(session: Session, decision: Decision) -> str:
        served = wiring.service.store(session, decision, now)
        effects, twiml = served.effects, served.twiml
        queued = _escalate(session, wiring, parsed.call_sid, effects, now)
        if queued is not None:
            # The caller goes to a person now: the callback the IVR fell back on is not booked.
            effects = tuple(e for e in effects if not isinstance(e, CallbackRequested))
            wiring.service.hand_over(session, parsed.call_sid, queued, now)
            twiml = queued
        carry_out(
            session,
            served.session,
            effects,
            now=now,
            texts=wiring.texts,
            plans=wiring.service.flow.plans,
            concessions=wiring.service.flow.concessions,
        )
        return twiml

    def decide(session: Session) -> Decision:
        return wiring.service.decide(session, parsed, now)

    if services().db.is_sqlite:
        return _xml(_decide_then_store(decide, store))
    return _xml(_transact(lambda session: store(session, decide(session))))


def _decide_then_store(
    decide: Callable[[Session], Decision], store: Callable[[Session, Decision], str]
) -> str:
    """SQLite: decide on a read (no lock: WAL readers wait for nobody), then store in a write
    transaction of its own; a lost race runs both again, as :func:`_transact` does.

    SQLite has one write lock, and a step that took it first (``BEGIN IMMEDIATE``) held it
    while it read the call, ran the machine and rendered the answer, so every other web worker
    waited that long. The version check on the call's session (and the primary key of a first
    one) is what keeps two steps of a call apart, not the lock: a step whose read went stale
    fails on store and is decided again. PostgreSQL locks rows, not the database, and keeps one
    transaction (:func:`_transact`).
    """
    db = services().db
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.session(readonly=True) as reading:
                decision = decide(reading)
            if decision.served is not None:  # a replay: nothing to store
                return decision.served.twiml
            with db.session() as writing:
                return store(writing, decision)
        except (StaleDataError, IntegrityError) as exc:
            if attempt == ATTEMPTS:
                raise
            log.info("ivr: %s, retrying (%s of %s)", type(exc).__name__, attempt, ATTEMPTS)
    raise AssertionError("unreachable")


def _escalate(
    session: Session,
    wiring: VoiceWiring,
    sid: str,
    effects: tuple[Effect, ...],
    now: datetime,
) -> str | None:
    """The desk's ``<Enqueue>`` answer when the step asked for a person and one is there."""
    if wiring.escalate is None:
        return None
    wanted = next((e for e in effects if isinstance(e, AgentWanted)), None)
    if wanted is None:
        return None
    return wiring.escalate(session, sid, wanted, now)


@bp.route(routes.VOICE_INBOUND, methods=["GET", "POST"])
@_twilio("voice")
def inbound() -> Response:
    """The hotline (the number's Voice URL) and every step of its calls."""
    return _voice("inbound")


@bp.route(routes.VOICE_OUTBOUND, methods=["GET", "POST"])
@_twilio("voice")
def outbound() -> Response:
    """An answered reminder call (``?attempt=<id>``) and every step of it."""
    return _voice("outbound")


@bp.route(routes.VOICE_AMD, methods=["GET", "POST"])
@_twilio("callback")
def amd() -> Response:
    """Twilio's asynchronous AMD verdict: record it, then redirect the live call."""
    parsed = parse_amd()
    if parsed is None:
        return Response("", status=204)
    wiring = _wiring()
    now = services().clock.now()

    def verdict(session: Session) -> str | None:
        received = apply_amd_event(
            session,
            AmdEvent(
                call_sid=parsed.call_sid,
                answered_by=parsed.answered_by,
                attempt_id=parsed.attempt_id,
                raw=parsed.params,
            ),
            now=now,
        )
        if received.effect == "duplicate":
            # Twilio delivered the verdict again: the call was redirected the first time.
            log.info("ivr %s: repeated AMD verdict ignored", parsed.call_sid)
            return None
        served = wiring.service.amd(session, parsed, now)
        carry_out(
            session,
            served.session,
            served.effects,
            now=now,
            texts=wiring.texts,
            plans=wiring.service.flow.plans,
            concessions=wiring.service.flow.concessions,
        )
        return served.redirect_url

    url = _transact(verdict)
    if url is not None:
        try:
            wiring.telephony().redirect_call(parsed.call_sid, url)
        except Exception:
            # The call may have ended meanwhile; otherwise its silent hold runs out into the
            # limited-content message. Either way the caller hears nothing wrong.
            log.warning("ivr %s: redirect after AMD failed", parsed.call_sid, exc_info=True)
    return Response("", status=204)


# --- the fault answer ----------------------------------------------------------------------------


def _voice_fault() -> str:
    """After an exception in a voice view: apologise in the caller's language and ask an agent
    to call back (best effort: when the store is what failed, the apology still goes out, in
    every language). A reminder call not known to have a person on it just hangs up."""
    service = _wiring().service
    languages = service.flow.languages
    values = _form()
    sid = call_sid(values)
    direction: Direction = "outbound" if request.path.endswith("/outbound") else "inbound"
    number = e164(values.get("From" if direction == "inbound" else "To"))
    speak = direction == "inbound"
    language: str | None = None
    try:
        with services().db.session() as session:
            found, language = (None, None)
            if sid is not None:
                found, language = service.fault_language(session, sid)
            speak = service.person_on_line(found, direction)
            if speak and sid is not None and number:
                book_callback(
                    session,
                    sid,
                    service.fault_callback(number=number, session=found),
                    now=services().clock.now(),
                    key="fault",
                )
    except Exception:
        log.exception("ivr %s: could not record a callback after a fault", sid or "-")
    chosen = (language,) if language in languages else languages
    return service.fault_twiml(tuple(c for c in chosen if c), speak=speak)
