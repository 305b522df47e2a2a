"""The IVR's routes: ``/twilio/voice``, ``/twilio/voice/outbound``, ``/twilio/voice/amd``."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("twilio_voice", __name__)


def init_app(app: Flask) -> None:
    """Register the voice routes; the services must already be installed."""
    app.register_blueprint(bp)
