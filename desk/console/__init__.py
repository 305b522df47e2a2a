"""The agents' web console at ``/desk/``: sign-in, the agent's screen, the supervisor's page.

The HTTP edge of the desk, as ``webhooks/`` is Twilio's: views parse the request, call one
function of the desk's rules (:mod:`desk.agents`, :mod:`desk.screen`, :mod:`desk.figures`),
let the request's session scope commit, and render a template. ``duecall.app`` wires it with
:func:`init_app`; it never imports ``webhooks`` (README, "Architecture").

Sessions are Flask-Login's in Flask's signed cookie (``DUECALL_SECRET_KEY``); CSRF is
Flask-WTF's, checked on every POST under ``/desk/`` only, so ``/twilio/*`` (signed by Twilio)
and ``/api/*`` (Bearer tokens) are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from campaigns.sms import format_money
from desk.config import DeskSettings
from store.clock import Clock
from store.db import Database
from store.privacy import mask_phone

#: Where the console's objects live on ``app.extensions``.
EXTENSION = "duecall_console"


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs: the store, the clock, the desk's settings, and whether the
    public URL is https (then the session cookie is ``Secure``)."""

    db: Database
    clock: Clock
    desk: DeskSettings
    secure_cookies: bool


def init_app(app: Flask, config: ConsoleConfig) -> None:
    """Register the console's blueprint, Flask-Login and Flask-WTF's CSRF on ``app``.

    ``app.secret_key`` must be set (``create_app`` requires DUECALL_SECRET_KEY before this).
    """
    from desk.console import auth, views

    if not app.secret_key:
        raise RuntimeError("the console needs DUECALL_SECRET_KEY (Flask's secret key)")
    minutes = config.desk.console.session_minutes
    app.config.update(
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=minutes),
        # Checked by the console's own before_request, not app-wide: /twilio/* and /api/* are
        # authenticated otherwise and must never need a token.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the session (whose idle timeout is desk.console).
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions[EXTENSION] = config
    app.add_template_filter(mask_phone, "mask_phone")
    app.add_template_filter(format_money, "money")
    csrf = CSRFProtect(app)
    login = LoginManager(app)
    auth.install(app, login, csrf, config)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(views.blueprint)
