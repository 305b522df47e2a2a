"""Twilio status callbacks: ``/twilio/voice/status`` and ``/twilio/sms/status`` (the dialer's).

Each view does five things: the guard verifies the signature, the form is
parsed into a typed event, one service of :mod:`dialer.callbacks` applies it, the session scope
commits, and an empty 204 answers (Twilio reads nothing from a status callback's response).
Duplicates, reordering and callbacks for attempts whose SID the dialer never stored are the
service's business, not the view's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, current_app, request

from dialer.attempts import Settling
from dialer.callbacks import CallEvent, SmsEvent, apply_call_event, apply_sms_event
from telephony import routes
from webhooks.forms import (
    MAX_DURATION,
    MAX_SEQUENCE,
    call_sid,
    message_sid,
    small_int,
    twilio_form,
    word,
)
from webhooks.services import services, services_of

log = logging.getLogger(__name__)

EXTENSION = "duecall.status"


@dataclass(frozen=True)
class StatusConfig:
    """What the status routes need: how a final attempt settles its contact."""

    settling: Settling


def init_app(app: Flask, config: StatusConfig) -> None:
    """Register the status callback routes; the services must already be installed."""
    app.extensions[EXTENSION] = config
    guard = services_of(app).guard
    app.add_url_rule(
        routes.VOICE_STATUS,
        "twilio_voice_status",
        guard.webhook("callback")(_voice_status),
        methods=["POST"],
    )
    app.add_url_rule(
        routes.SMS_STATUS,
        "twilio_sms_status",
        guard.webhook("callback")(_sms_status),
        methods=["POST"],
    )


def _settling() -> Settling:
    config: StatusConfig = current_app.extensions[EXTENSION]
    return config.settling


# Twilio's error codes are five digits; attempt ids are the store's keys.
_MAX_CODE = 99_999
_MAX_ID = 2**62


def _attempt_id() -> int | None:
    return small_int(request.args.get("attempt"), maximum=_MAX_ID)


def _voice_status() -> Response:
    form = twilio_form(request.form)
    sid = call_sid(form)
    status = word(form.get("CallStatus"))
    if sid is None or status is None:
        log.info("voice status callback without a usable CallSid or CallStatus: ignored")
        return Response(status=204)
    event = CallEvent(
        call_sid=sid,
        status=status,
        attempt_id=_attempt_id(),
        sequence=small_int(form.get("SequenceNumber"), maximum=MAX_SEQUENCE),
        duration=small_int(form.get("CallDuration"), maximum=MAX_DURATION),
        answered_by=word(form.get("AnsweredBy")),
        error_code=small_int(form.get("ErrorCode"), maximum=_MAX_CODE),
        raw=form,
    )
    svc = services()
    with svc.db.session() as session:
        apply_call_event(session, event, now=svc.clock.now(), settling=_settling())
    return Response(status=204)


def _sms_status() -> Response:
    form = twilio_form(request.form)
    sid = message_sid(form)
    status = word(form.get("MessageStatus") or form.get("SmsStatus"))
    if sid is None or status is None:
        log.info("SMS status callback without a usable MessageSid or MessageStatus: ignored")
        return Response(status=204)
    event = SmsEvent(
        message_sid=sid,
        status=status,
        attempt_id=_attempt_id(),
        error_code=small_int(form.get("ErrorCode"), maximum=_MAX_CODE),
        raw=form,
    )
    svc = services()
    with svc.db.session() as session:
        apply_sms_event(session, event, now=svc.clock.now(), settling=_settling())
    return Response(status=204)
