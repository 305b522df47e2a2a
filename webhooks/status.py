"""Twilio status callbacks: ``/twilio/voice/status`` and ``/twilio/sms/status`` (dialer's)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("twilio_status", __name__)


def init_app(app: Flask) -> None:
    """Register the status callback routes; the services must already be installed."""
    app.register_blueprint(bp)
