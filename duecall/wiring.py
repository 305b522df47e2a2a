"""Building the long-lived collaborators from the settings (never at import time)."""

from __future__ import annotations

from dialer.twilio_adapter import TwilioAdapter
from duecall.settings import Settings
from store.db import Database


def build_database(settings: Settings) -> Database:
    return Database(
        settings.database.url,
        echo=settings.database.echo,
        busy_timeout_ms=settings.database.sqlite_busy_timeout_ms,
    )


def build_telephony(settings: Settings) -> TwilioAdapter:
    """The Twilio adapter; ``settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", ...)``
    must have passed first."""
    t = settings.twilio
    return TwilioAdapter(
        settings.secret("TWILIO_ACCOUNT_SID"),
        settings.secret("TWILIO_AUTH_TOKEN"),
        public_url=settings.server.public_url,
        caller_id=t.caller_id,
        messaging_service_sid=t.messaging_service_sid,
        api_url=t.api_url,
        region=t.region,
        edge=t.edge,
        timeout=t.timeout_seconds,
        ring_timeout=t.ring_timeout_seconds,
    )
