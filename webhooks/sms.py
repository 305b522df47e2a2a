"""Inbound SMS: ``/twilio/sms`` (opt-out keywords, help, the agents' inbox)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("twilio_sms", __name__)


def init_app(app: Flask) -> None:
    """Register the inbound SMS route; the services must already be installed."""
    app.register_blueprint(bp)
