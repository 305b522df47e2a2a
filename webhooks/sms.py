"""Inbound SMS: ``POST /twilio/sms`` (opt-out and opt-in keywords, help, the agents' inbox)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, handle_inbound_sms
from telephony import routes
from webhooks.forms import e164, message_sid, twilio_form
from webhooks.services import services, services_of

EXTENSION = "duecall.sms"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsWebhookConfig:
    sms: SmsSettings
    business_name: str
    support_number: str


def init_app(app: Flask, config: SmsWebhookConfig) -> None:
    """Register ``/twilio/sms``; the services must already be installed."""
    app.extensions[EXTENSION] = config
    view = services_of(app).guard.webhook("sms")(_inbound)
    app.add_url_rule(routes.SMS_INBOUND, "twilio_sms_inbound", view, methods=["POST"])


def _inbound() -> Response:
    svc = services()
    config: SmsWebhookConfig = current_app.extensions[EXTENSION]
    form = twilio_form(request.form)
    response = MessagingResponse()
    sid, sender = message_sid(form), e164(form.get("From"))
    if sid is None or sender is None:
        # Not a text from a phone number (a WhatsApp or channel address, or junk): nothing of
        # it can be stored against a cardholder's number.
        log.info("inbound message without a usable MessageSid or an E.164 sender: ignored")
        return Response(str(response), mimetype="application/xml")
    sms = InboundSms(
        message_sid=sid,
        from_number=sender,
        to_number=e164(form.get("To")) or "",
        body=form.get("Body", ""),
    )
    with svc.db.session() as session:
        result = handle_inbound_sms(
            session,
            sms,
            now=svc.clock.now(),
            config=config.sms,
            business_name=config.business_name,
            support_number=config.support_number,
        )
    if result.reply:
        response.message(result.reply)
    return Response(str(response), mimetype="application/xml")
