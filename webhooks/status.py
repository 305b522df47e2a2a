"""Twilio status callbacks: ``/twilio/voice/status`` and ``/twilio/sms/status`` (the dialer's).

Each view does five things: the guard verifies the signature, the form is
parsed into a typed event, one service of :mod:`dialer.callbacks` applies it, the session scope
commits, and an empty 204 answers (Twilio reads nothing from a status callback's response).
Duplicates, reordering and callbacks for attempts whose SID the dialer never stored are the
service's business, not the view's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, Response, current_app, request

from dialer.attempts import Settling
from dialer.callbacks import CallEvent, SmsEvent, apply_call_event, apply_sms_event
from telephony import routes
from webhooks.services import services, services_of

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


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _form() -> Mapping[str, str]:
    return request.form.to_dict()


def _voice_status() -> Response:
    form = _form()
    sid = form.get("CallSid", "")
    status = form.get("CallStatus", "")
    if not sid or not status:
        return Response(status=204)
    event = CallEvent(
        call_sid=sid,
        status=status,
        attempt_id=_int(request.args.get("attempt")),
        sequence=_int(form.get("SequenceNumber")),
        duration=_int(form.get("CallDuration")),
        answered_by=form.get("AnsweredBy") or None,
        error_code=_int(form.get("ErrorCode")),
        raw=form,
    )
    svc = services()
    with svc.db.session() as session:
        apply_call_event(session, event, now=svc.clock.now(), settling=_settling())
    return Response(status=204)


def _sms_status() -> Response:
    form = _form()
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not status:
        return Response(status=204)
    event = SmsEvent(
        message_sid=sid,
        status=status,
        attempt_id=_int(request.args.get("attempt")),
        error_code=_int(form.get("ErrorCode")),
        raw=form,
    )
    svc = services()
    with svc.db.session() as session:
        apply_sms_event(session, event, now=svc.clock.now(), settling=_settling())
    return Response(status=204)
