"""The desk's Twilio routes: a queued caller's wait and its end (``/twilio/desk/...``).

The HTTP handling lives here, with the rest of the web edge: the guard checks the signature
(403 otherwise) and catches faults, the form is read into typed values, one method of the
desk's rules runs in one transaction, and its TwiML is the answer. The rules themselves are the
desk's (``desk/``), reached through the :class:`DeskRules` protocol the composition root fills
in (``duecall.app``): webhooks and desk never import each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from flask import Flask, Response, current_app, request
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from telephony import routes
from webhooks.forms import call_sid, clean, small_int, twilio_form, word
from webhooks.services import services, services_of

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


@dataclass(frozen=True)
class DeskWebConfig:
    rules: DeskRules


def init_app(app: Flask, config: DeskWebConfig) -> None:
    """Register the desk's routes; the webhook services (and the IVR's fault answer on the
    guard, which books a callback for a caller whose wait failed) must be installed."""
    app.extensions[EXTENSION] = config
    guard = services_of(app).guard
    for path, view in ((routes.DESK_WAIT, _wait), (routes.DESK_DEQUEUED, _dequeued)):
        app.add_url_rule(
            path, f"twilio{path.replace('/', '_')}", guard.webhook("voice")(view), methods=["POST"]
        )


def _rules() -> DeskRules:
    found: DeskWebConfig = current_app.extensions[EXTENSION]
    return found.rules


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


def _leave() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


def _hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
