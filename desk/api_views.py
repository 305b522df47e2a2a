"""The JSON API's HTTP handling: ``/api/...`` with ``Authorization: Bearer <token>``.

Each view checks the token (:mod:`desk.tokens`), parses the query or body, calls one rule of
:mod:`desk.api`, lets its session scope commit and answers JSON. Every answer under ``/api/``
is JSON, errors included (``{"error": {"code", "message"}}``, ``fields`` for a body's
problems); no stack trace ever leaves. The routes and their answers are described in
docs/api/openapi.yaml, which a test holds the running app to.

The desk's Twilio routes are in ``webhooks/desk.py``; these are not Twilio's, carry no Twilio
signature, and are the desk's own (the architecture in the README: the desk holds its console
and its JSON API; ``webhooks`` and ``desk`` never import each other).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from campaigns.plan_settings import PlanSettings
from campaigns.plans import evaluate_plans
from campaigns.promises import evaluate_promises
from desk import api
from desk.config import DeskSettings
from desk.errors import ApiError
from desk.tokens import authenticate
from store.audit import record_audit
from store.clock import Clock
from store.db import Database

EXTENSION = "duecall.desk.api"
#: A payment is a few hundred bytes; anything near this is not one (413).
MAX_BODY_BYTES = 16 * 1024
#: Each route and the methods it answers (any other method is 405 with ``Allow``).
ROUTES: dict[str, tuple[str, ...]] = {
    "/api/queue": ("GET",),
    "/api/promises": ("GET",),
    "/api/payments": ("POST",),
}
#: Stable error codes for Werkzeug's HTTP errors.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiConfig:
    """What the API needs, filled in by the composition root (``duecall/app.py``)."""

    db: Database
    clock: Clock
    desk: DeskSettings
    #: ``promises.grace_days`` and ``plans``: the lifecycle evaluation a payment triggers, as
    #: after a payments import.
    grace_days: int
    plans: PlanSettings


def init_app(app: Flask, config: ApiConfig) -> Blueprint:
    """Register ``/api/...`` on ``app``; returns the blueprint, which the console's CSRF
    protection must exempt (a bearer token is not a browser session)."""
    app.extensions[EXTENSION] = config
    bp = Blueprint("api", __name__, url_prefix="/api")
    bp.before_request(_before)
    bp.after_request(_after)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(Exception, _unexpected)
    bp.add_url_rule("/queue", "queue", _queue, methods=["GET"])
    bp.add_url_rule("/promises", "promises", _promises, methods=["GET"])
    bp.add_url_rule("/payments", "payments", _payments, methods=["POST"])
    # Everything else under /api is answered here, so a wrong path or method is JSON too
    # (the app's own 404 and 405 pages are HTML and not the blueprint's to change).
    every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    bp.add_url_rule("/", "other_root", _other, methods=every, defaults={"rest": ""})
    bp.add_url_rule("/<path:rest>", "other", _other, methods=every)
    app.register_blueprint(bp)
    return bp


def _config() -> ApiConfig:
    found: ApiConfig = current_app.extensions[EXTENSION]
    return found


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> Response:
    """The one shape of every API error."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    response.status_code = status
    if status == 401:
        # RFC 6750 section 3: a 401 names the scheme, and the error once a token was sent.
        sent = request.headers.get("Authorization") is not None
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="duecall", error="invalid_token"' if sent else 'Bearer realm="duecall"'
        )
    return response


def _before() -> Response | None:
    request.max_content_length = MAX_BODY_BYTES
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return error_response(401, "unauthorized", "send Authorization: Bearer <token>")
    config = _config()
    with config.db.session() as session:
        name = authenticate(session, token, now=config.clock.now())
    if name is None:
        return error_response(401, "invalid_token", "the token is unknown or revoked")
    g.api_token = name
    return None


def _after(response: Response) -> Response:
    # Every call, in the log (no PII: the path, never the query or the body).
    log.info(
        "api %s %s -> %d (token %s)",
        request.method,
        request.path,
        response.status_code,
        g.get("api_token", "-"),
    )
    return response


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    response = error_response(
        status, _HTTP_CODES.get(status, "http_error"), exc.description or exc.name
    )
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("api %s %s failed", request.method, request.path)
    return error_response(500, "internal", "the server failed; nothing was stored")


def _other(rest: str) -> Response:
    allowed = ROUTES.get(request.path.rstrip("/"))
    if allowed is None:
        return error_response(404, "not_found", f"no such API route: {request.path}")
    response = error_response(
        405, "method_not_allowed", f"{request.path} answers {', '.join(allowed)}"
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _queue() -> Response:
    config = _config()
    hours = api.parse_hours(request.args.get("hours"))
    with config.db.session(readonly=True) as session:
        body = api.queue_view(session, config.desk, now=config.clock.now(), hours=hours)
    return jsonify(body)


def _promises() -> Response:
    config = _config()
    since_text = request.args.get("since")
    since = api.parse_since(since_text)
    limit = api.parse_limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    after_id = api.decode_cursor(cursor)
    if not cursor:
        # The start of a read settles the promises first, as `duecall export promises` does,
        # so a promise past its date and grace reads broken, not open.
        _settle(config)
    with config.db.session(readonly=True) as session:
        items, next_cursor = api.promises_view(session, since=since, after_id=after_id, limit=limit)
    query: dict[str, Any] = {"limit": limit, "cursor": next_cursor}
    if since_text:
        query["since"] = since_text
    return jsonify(
        items=items,
        next_cursor=next_cursor,
        next=url_for("api.promises", **query) if next_cursor else None,
    )


def _payments() -> Response:
    config = _config()
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the payment as application/json")
    data = request.get_data(cache=False)
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    now = config.clock.now()
    try:
        row = api.parse_payment(body)
        with config.db.session() as session:
            created, payment = api.record_payment(session, row, now=now)
            record_audit(
                session,
                at=now,
                actor=f"api:{g.api_token}",
                action="payment.api_created" if created else "payment.api_replayed",
                entity_type="payment",
                entity_id=payment["payment_id"],
                detail={"account_id": payment["account_id"], "amount": payment["amount"]},
            )
    except ApiError as exc:
        _audit_refusal(config, body, exc)
        raise
    if created:
        # After the commit, as after a payments import: the payment is kept even if this
        # fails, and the next import, report or export settles again.
        _settle(config)
    response = jsonify(payment)
    response.status_code = 201 if created else 200
    return response


def _audit_refusal(config: ApiConfig, body: Any, exc: ApiError) -> None:
    """A refused payment in the audit trail too, in a session of its own (the refused one
    rolled back): who tried to post what, and why it was refused."""
    payment_id = body.get("payment_id") if isinstance(body, dict) else None
    with config.db.session() as session:
        record_audit(
            session,
            at=config.clock.now(),
            actor=f"api:{g.api_token}",
            action="payment.api_refused",
            entity_type="payment",
            entity_id=str(payment_id)[:64] if isinstance(payment_id, str) else "-",
            detail={"status": exc.status, "code": exc.code},
        )


def _settle(config: ApiConfig) -> None:
    now = config.clock.now()
    try:
        with config.db.session() as session:
            evaluate_promises(session, now=now, grace_days=config.grace_days)
            evaluate_plans(session, config.plans, now=now)
    except SQLAlchemyError:
        log.exception("settling promises and plans failed; the next run settles them")
