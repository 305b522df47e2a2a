"""Inbound SMS: ``POST /twilio/sms`` (opt-out and opt-in keywords, help, the agents' inbox)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from campaigns.config import SmsSettings
from campaigns.inbound_sms import InboundSms, handle_inbound_sms
from telephony import routes
from webhooks.services import services, services_of

EXTENSION = "duecall.sms"


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
    form = request.form
    sms = InboundSms(
        message_sid=form.get("MessageSid") or form.get("SmsSid") or "",
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        body=form.get("Body", ""),
    )
    response = MessagingResponse()
    if not sms.message_sid or not sms.from_number:
        return Response(str(response), mimetype="application/xml")
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
