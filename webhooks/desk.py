"""The desk's Twilio routes (``/twilio/desk/...``): a queued caller's wait and its end, and
the agent's leg (the whisper, the key, the bridge, the key after the call).

The HTTP handling lives here, with the rest of the web edge: the guard checks the signature
(403 otherwise) and catches faults, the form is read into typed values, one method of the
desk's rules runs in one transaction, and its TwiML is the answer. The rules themselves are the
desk's (``desk/``), reached through the :class:`DeskRules` protocol the composition root fills
in (``duecall.app``): webhooks and desk never import each other. What the carrier must be
asked after an answer (move the caller to the agent, hang up on a machine) is asked once the
answer's transaction committed, with the adapter's timeout.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from flask import Flask, Response, current_app, request
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from telephony import routes
from telephony.desk_twiml import HandOver, LegAnswer
from telephony.port import Telephony
from webhooks.forms import call_sid, clean, small_int, twilio_form, word
from webhooks.guard import Kind
from webhooks.services import services, services_of

log = logging.getLogger(__name__)

EXTENSION = "duecall.desk"
_QUEUE_SID = re.compile(r"^QU[0-9a-fA-F]{32}$")
_DIGITS = re.compile(r"^[0-9*#]{1,8}$")
#: The largest id or loop number believed from a URL.
MAX_ID = 2**62

T = TypeVar("T")


class DeskRules(Protocol):
    """What the desk answers for each of its routes (implemented by ``desk.rules``)."""

    def wait(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        loop: int,
        queue_sid: str | None,
        now: datetime,
    ) -> str: ...

    def offer_key(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        digits: str,
        loop: int,
        queue_sid: str | None,
        now: datetime,
    ) -> str: ...

    def dequeued(
        self,
        session: Session,
        *,
        entry_id: int | None,
        call_sid: str,
        result: str,
        now: datetime,
    ) -> str: ...

    def agent_answer(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_sid: str,
        now: datetime,
    ) -> str: ...

    def agent_key(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_sid: str,
        digits: str,
        now: datetime,
    ) -> LegAnswer: ...

    def bridge_failed(
        self, session: Session, *, entry_id: int | None, agent_id: int | None, now: datetime
    ) -> str: ...

    def agent_after(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        dial_status: str | None,
        now: datetime,
    ) -> str: ...

    def agent_wrap(
        self, session: Session, *, agent_id: int | None, digits: str, now: datetime
    ) -> str: ...

    def agent_status(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        call_status: str,
        now: datetime,
    ) -> None: ...

    def agent_machine(
        self,
        session: Session,
        *,
        entry_id: int | None,
        agent_id: int | None,
        answered_by: str,
        now: datetime,
    ) -> bool: ...

    def join(self, session: Session, *, entry_id: int | None, call_sid: str) -> str: ...

    def requeue(self, session: Session, *, entry_id: int | None, call_sid: str) -> str: ...

    def warm(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        digits: str | None,
        now: datetime,
    ) -> str: ...

    def warm_joined(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        call_sid: str,
        conference_sid: str | None,
        now: datetime,
    ) -> HandOver | None: ...

    def listen(
        self,
        session: Session,
        *,
        entry_id: int | None,
        supervisor_id: int | None,
        digits: str | None,
    ) -> str: ...


@dataclass
class DeskWebConfig:
    """The desk's rules, and a way to build the carrier port on first use (never at app
    creation: serving the hotline needs no account SID)."""

    rules: DeskRules
    telephony_factory: Callable[[], Telephony] | None = None
    _telephony: Telephony | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def telephony(self) -> Telephony:
        with self._lock:
            if self._telephony is None:
                if self.telephony_factory is None:
                    raise RuntimeError("no telephony configured for the desk")
                self._telephony = self.telephony_factory()
            return self._telephony


def init_app(app: Flask, config: DeskWebConfig) -> None:
    """Register the desk's routes; the webhook services (and the IVR's fault answer on the
    guard, which books a callback for a caller whose wait failed) must be installed."""
    app.extensions[EXTENSION] = config
    guard = services_of(app).guard
    views: tuple[tuple[str, Callable[[], Response], Kind], ...] = (
        (routes.DESK_WAIT, _wait, "voice"),
        (routes.DESK_DEQUEUED, _dequeued, "voice"),
        (routes.DESK_JOIN, _join, "voice"),
        (routes.DESK_REQUEUE, _requeue, "voice"),
        # The agent's own leg: a fault hangs up on them (the offer then lapses), it never
        # books a callback for the desk's own number.
        (routes.DESK_AGENT, _agent, "hangup"),
        (routes.DESK_AGENT_STATUS, _agent_status, "callback"),
        (routes.DESK_AGENT_AMD, _agent_amd, "callback"),
    )
    for path, view, kind in views:
        app.add_url_rule(
            path, f"twilio{path.replace('/', '_')}", guard.webhook(kind)(view), methods=["POST"]
        )


def _config() -> DeskWebConfig:
    found: DeskWebConfig = current_app.extensions[EXTENSION]
    return found


def _rules() -> DeskRules:
    return _config().rules


def _xml(twiml: str) -> Response:
    return Response(twiml, status=200, mimetype="application/xml")


def _transact(work: Callable[[Session, datetime], T]) -> T:
    with services().db.session() as session:
        return work(session, services().clock.now())


def _arg(name: str) -> int | None:
    return small_int(request.args.get(name), maximum=MAX_ID)


def _queue_sid() -> str | None:
    value = clean(request.values.get("QueueSid", ""))
    return value if _QUEUE_SID.fullmatch(value) else None


def _wait() -> Response:
    """The ``waitUrl`` (and the callback offer's ``<Gather>`` action, ``&offer=1``)."""
    form = twilio_form(request.values)
    sid = call_sid(form)
    rules = _rules()
    entry_id, loop = _arg("entry"), _arg("loop") or 0
    if sid is None:
        # Nothing to look up: out of the queue; the action says goodbye.
        return _xml(_leave())
    if request.args.get("offer") == "1" and "Digits" in form:
        digits = form["Digits"] if _DIGITS.fullmatch(form["Digits"]) else "*"
        return _xml(
            _transact(
                lambda s, now: rules.offer_key(
                    s,
                    entry_id=entry_id,
                    call_sid=sid,
                    digits=digits,
                    loop=loop,
                    queue_sid=_queue_sid(),
                    now=now,
                )
            )
        )
    return _xml(
        _transact(
            lambda s, now: rules.wait(
                s, entry_id=entry_id, call_sid=sid, loop=loop, queue_sid=_queue_sid(), now=now
            )
        )
    )


def _dequeued() -> Response:
    """The ``<Enqueue>`` action: Twilio's ``QueueResult`` says how the caller left the queue."""
    form = twilio_form(request.values)
    sid = call_sid(form)
    result = word(clean(request.values.get("QueueResult", ""))) or "error"
    entry_id = _arg("entry")
    if sid is None:
        return _xml(_hangup())
    rules = _rules()
    return _xml(
        _transact(
            lambda s, now: rules.dequeued(
                s, entry_id=entry_id, call_sid=sid, result=result, now=now
            )
        )
    )


def _digits(form: dict[str, str]) -> str:
    value = form.get("Digits", "")
    return value if _DIGITS.fullmatch(value) else ""


def _join() -> Response:
    """The queued caller, moved out of the queue by the Queue Members API: to the agent."""
    sid = call_sid(twilio_form(request.values))
    entry_id = _arg("entry")
    if sid is None:
        return _xml(_hangup())
    rules = _rules()
    return _xml(_transact(lambda s, now: rules.join(s, entry_id=entry_id, call_sid=sid)))


def _requeue() -> Response:
    """A caller transferred cold by their agent: back into a queue."""
    sid = call_sid(twilio_form(request.values))
    entry_id = _arg("entry")
    if sid is None:
        return _xml(_hangup())
    rules = _rules()
    return _xml(_transact(lambda s, now: rules.requeue(s, entry_id=entry_id, call_sid=sid)))


def _agent() -> Response:
    """Every step of the agent's leg (``step``: none on answer, ``key``, ``miss``, ``after``,
    ``wrap``) and of a supervisor's listen-in (``listen``, ``listen_key``)."""
    form = twilio_form(request.values)
    sid = call_sid(form)
    if sid is None:
        return _xml(_hangup())
    rules = _rules()
    entry_id, agent_id = _arg("entry"), _arg("agent")
    step = request.args.get("step", "")
    if step in ("key", "miss"):
        digits = _digits(form) if step == "key" else ""
        answer = _transact(
            lambda s, now: rules.agent_key(
                s, entry_id=entry_id, agent_id=agent_id, call_sid=sid, digits=digits, now=now
            )
        )
        return _xml(_move_caller(answer, entry_id, agent_id))
    if step == "after":
        dial_status = word(clean(request.values.get("DialCallStatus", "")))
        return _xml(
            _transact(
                lambda s, now: rules.agent_after(
                    s, entry_id=entry_id, agent_id=agent_id, dial_status=dial_status, now=now
                )
            )
        )
    if step in ("warm", "warm_key"):
        # A supervisor asked to take the call over: who hands it, then (on 1) the conference.
        keys = _digits(form) if step == "warm_key" else None
        return _xml(
            _transact(
                lambda s, now: rules.warm(
                    s, entry_id=entry_id, supervisor_id=agent_id, digits=keys, now=now
                )
            )
        )
    if step == "joined":
        return _joined(entry_id, agent_id, sid)
    if step in ("listen", "listen_key"):
        # A supervisor listening in: the offer, then (on 1) the muted join.
        keys = _digits(form) if step == "listen_key" else None
        return _xml(
            _transact(
                lambda s, now: rules.listen(
                    s, entry_id=entry_id, supervisor_id=agent_id, digits=keys
                )
            )
        )
    if step == "wrap":
        digits = _digits(form)
        return _xml(
            _transact(lambda s, now: rules.agent_wrap(s, agent_id=agent_id, digits=digits, now=now))
        )
    return _xml(
        _transact(
            lambda s, now: rules.agent_answer(
                s, entry_id=entry_id, agent_id=agent_id, call_sid=sid, now=now
            )
        )
    )


_CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")


def _joined(entry_id: int | None, supervisor_id: int | None, sid: str) -> Response:
    """The conference's join event during a warm transfer: once the supervisor is in, the
    agent leaves without ending the conference (after the hand-over is committed)."""
    conference = clean(request.values.get("ConferenceSid", ""))
    conference_sid = conference if _CONFERENCE_SID.fullmatch(conference) else None
    rules = _rules()
    hand_over = _transact(
        lambda s, now: rules.warm_joined(
            s,
            entry_id=entry_id,
            supervisor_id=supervisor_id,
            call_sid=sid,
            conference_sid=conference_sid,
            now=now,
        )
    )
    if hand_over is not None:
        try:
            telephony = _config().telephony()
            telephony.keep_conference_after(hand_over.conference_sid, hand_over.call_sid)
            telephony.redirect_call(hand_over.call_sid, hand_over.url)
        except Exception:
            # The agent stays on with the supervisor; hanging up now ends the conference.
            log.warning(
                "desk: the agent could not leave %s", hand_over.conference_sid, exc_info=True
            )
    return Response("", status=204)


def _move_caller(answer: LegAnswer, entry_id: int | None, agent_id: int | None) -> str:
    """After the bridge was recorded and committed: move the caller into the conference; if
    the carrier cannot (they hung up a moment before), say so to the agent instead."""
    move = answer.move_caller
    if move is None:
        return answer.twiml
    try:
        _config().telephony().update_queue_member(move.queue_sid, move.call_sid, move.url)
    except Exception:
        log.warning("desk: could not move queue record %s to its agent", entry_id, exc_info=True)
        rules = _rules()
        return _transact(
            lambda s, now: rules.bridge_failed(s, entry_id=entry_id, agent_id=agent_id, now=now)
        )
    return answer.twiml


def _agent_status() -> Response:
    form = twilio_form(request.values)
    status = word(form.get("CallStatus"))
    if call_sid(form) is not None and status is not None:
        rules = _rules()
        entry_id, agent_id = _arg("entry"), _arg("agent")
        _transact(
            lambda s, now: rules.agent_status(
                s, entry_id=entry_id, agent_id=agent_id, call_status=status, now=now
            )
        )
    return Response("", status=204)


def _agent_amd() -> Response:
    """The agent leg's AMD verdict: a machine is hung up on, never bridged."""
    form = twilio_form(request.values)
    sid = call_sid(form)
    verdict = word(form.get("AnsweredBy")) or "unknown"
    if sid is None:
        return Response("", status=204)
    rules = _rules()
    entry_id, agent_id = _arg("entry"), _arg("agent")
    hang_up = _transact(
        lambda s, now: rules.agent_machine(
            s, entry_id=entry_id, agent_id=agent_id, answered_by=verdict, now=now
        )
    )
    if hang_up:
        try:
            _config().telephony().hangup_call(sid)
        except Exception:
            # The whisper's own timeout ends the leg anyway; the offer has lapsed already.
            log.warning("desk: could not hang up a machine on %s", sid, exc_info=True)
    return Response("", status=204)


def _leave() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


def _hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
