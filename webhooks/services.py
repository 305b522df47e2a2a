"""What every webhook blueprint reads from the app: the store, the clock, the Twilio guard.

The composition root (``duecall.app.create_app``) builds one :class:`WebhookServices` and puts it
on ``app.extensions``; views get it with :func:`services`. Nothing here is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from store.clock import Clock
from store.db import Database
from webhooks.guard import TwilioGuard

EXTENSION = "duecall.webhooks"


@dataclass(frozen=True)
class WebhookServices:
    db: Database
    clock: Clock
    guard: TwilioGuard
    public_url: str


def install(app: Flask, services: WebhookServices) -> None:
    app.extensions[EXTENSION] = services


def services_of(app: Flask) -> WebhookServices:
    """The services installed on ``app`` (for registering routes at start-up)."""
    found: WebhookServices = app.extensions[EXTENSION]
    return found


def services() -> WebhookServices:
    """The services of the app handling the current request."""
    return services_of(current_app)
