"""``create_app(settings)``: the web process (Twilio webhooks, the agents' console, the desk's JSON
API)."""

from __future__ import annotations

from flask import Flask, Response, jsonify

import webhooks.desk
import webhooks.sms
import webhooks.status
import webhooks.voice
from desk import api_views, console
from dialer.attempts import Settling
from duecall.settings import COMMAND_SECRETS, Settings
from duecall.wiring import build_database, build_desk, build_telephony, build_text_rules
from ivr.session import Business, Flow
from store.clock import Clock, SystemClock
from store.db import Database
from webhooks.guard import MAX_BODY_BYTES, TwilioGuard
from webhooks.services import WebhookServices, install


def create_app(
    settings: Settings, *, db: Database | None = None, clock: Clock | None = None
) -> Flask:
    """Build the Flask app from ``settings``; tests pass their own ``db`` and ``clock``.

    Needs the secrets of ``COMMAND_SECRETS["serve"]``: TWILIO_AUTH_TOKEN (to check signatures),
    DUECALL_SECRET_KEY (sessions) and TWILIO_ACCOUNT_SID (redirecting answered reminder calls on
    the answering-machine verdict); raises :class:`duecall.settings.ConfigError` naming whichever
    is missing.
    """
    settings.require(*COMMAND_SECRETS["serve"], command="serve")
    app = Flask("duecall")
    app.config["SECRET_KEY"] = settings.secret("DUECALL_SECRET_KEY")
    app.config["DUECALL_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    database = db or build_database(settings, web=True)
    clock = clock or SystemClock()
    guard = TwilioGuard(settings.secret("TWILIO_AUTH_TOKEN"), settings.server.public_url)
    install(
        app,
        WebhookServices(
            db=database,
            clock=clock,
            guard=guard,
            public_url=settings.server.public_url,
        ),
    )
    legal = settings.policy.built.legal(settings.business.kind)
    desk = build_desk(settings)
    webhooks.voice.init_app(
        app,
        webhooks.voice.VoiceConfig(
            flow=Flow.build(
                settings.ivr,
                Business(
                    name=settings.business.name,
                    agent_name=settings.business.agent_name,
                    callback_number=settings.business.callback_number,
                ),
                settings.languages,
                settings.server.public_url,
                legal,
                settings.plans,
                settings.concessions,
            ),
            texts=build_text_rules(settings),
            # Built on the first AMD verdict, not here: serving the hotline needs no account SID.
            telephony=lambda: build_telephony(settings),
            escalate=desk.escalate,
        ),
    )
    webhooks.desk.init_app(
        app,
        webhooks.desk.DeskWebConfig(
            rules=desk, telephony_factory=lambda: build_telephony(settings)
        ),
    )
    api_views.init_app(
        app,
        api_views.ApiConfig(
            db=database,
            clock=clock,
            desk=settings.desk,
            grace_days=settings.promises.grace_days,
            plans=settings.plans,
        ),
    )
    # The agents' console at /desk/ (desk/console/): sign-in, the agent's screen, the
    # supervisor's page; its CSRF check covers /desk/ only (Twilio signs /twilio/*).
    console.init_app(
        app,
        console.ConsoleConfig(
            db=database,
            clock=clock,
            desk=settings.desk,
            secure_cookies=settings.server.public_url.startswith("https://"),
        ),
    )
    webhooks.status.init_app(
        app, webhooks.status.StatusConfig(Settling.of(settings.dialer, settings.campaigns))
    )
    webhooks.sms.init_app(
        app,
        webhooks.sms.SmsWebhookConfig(
            settings.sms, settings.business.name, settings.business.support_number
        ),
    )

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app


def wsgi_app() -> Flask:
    """The app for a WSGI server, from ``$DUECALL_CONFIG`` / ``./config.yaml`` and the
    environment: ``gunicorn 'duecall.app:wsgi_app()'``. Raises ConfigError like create_app."""
    from duecall.logging import configure_logging
    from duecall.settings import load_settings

    settings = load_settings()
    configure_logging(settings.logging.level, json_lines=settings.logging.json_lines)
    return create_app(settings)
