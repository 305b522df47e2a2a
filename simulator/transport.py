"""How the simulator reaches the app: signed webhook requests over a pluggable transport.

:func:`build_request` turns (method, url, params) into exactly what Twilio sends: a POST carries
the parameters as a form body and is signed over URL + sorted parameters; a GET appends the
parameters to the URL's query string (after any query the app put there, byte for byte) and is
signed over that full URL alone. Both are signed with ``X-Twilio-Signature`` by the SDK's
``RequestValidator``.

Transports then carry the request unchanged:

* :class:`HttpTransport` — real sockets through ``requests``, with Twilio's webhook timeouts.
* :class:`WsgiTransport` — in process, into a WSGI app through werkzeug's test client, with the same
  scheme, host, path, raw query string, body and headers, so the app cannot tell the difference.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator
from werkzeug.test import Client

from simulator.errors import TransportError

USER_AGENT = "TwilioProxy/1.1"
# Twilio gives a webhook 10 s to connect and 15 s for the response before it logs error 11200/11205.
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class WebhookRequest:
    """One signed request as it goes on the wire."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResponse:
    """The app's answer: HTTP status, body text and content type."""

    status: int
    body: str
    content_type: str = ""

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300


def build_request(
    method: str, url: str, params: Mapping[str, str], auth_token: str
) -> WebhookRequest:
    """Encode and sign a webhook the way Twilio does. ``method`` is GET or POST."""
    method = method.upper()
    validator = RequestValidator(auth_token)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Cache-Control": "max-age=259200"}
    if method == "GET":
        query = urlencode(list(params.items()))
        full = url
        if query:
            full = f"{url}{'&' if urlsplit(url).query else '?'}{query}"
        headers["X-Twilio-Signature"] = validator.compute_signature(full, {})
        return WebhookRequest("GET", full, b"", headers, dict(params))
    body = urlencode(list(params.items())).encode("ascii")
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    headers["X-Twilio-Signature"] = validator.compute_signature(url, dict(params))
    return WebhookRequest(method, url, body, headers, dict(params))


class Transport(Protocol):
    """Delivers a signed :class:`WebhookRequest` and returns the app's response.

    Raises :class:`TransportError` when no HTTP response was obtained.
    """

    def send(self, request: WebhookRequest) -> WebhookResponse: ...


class HttpTransport:
    """Sends webhooks over real sockets with ``requests`` (one session, thread-safe enough for the
    simulator's per-call threads)."""

    def __init__(
        self,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self._timeout = (connect_timeout, read_timeout)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def send(self, request: WebhookRequest) -> WebhookResponse:
        """POST/GET ``request`` as is; redirects are not followed (Twilio does not follow them
        for webhooks either)."""
        try:
            response = self._session().request(
                request.method,
                request.url,
                data=request.body or None,
                headers=request.headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{request.method} {request.url}: {exc}") from exc
        return WebhookResponse(
            response.status_code, response.text, response.headers.get("Content-Type", "")
        )


class WsgiTransport:
    """Sends webhooks into a WSGI app in this process, as the same HTTP request would arrive.

    The URL's scheme and host become the request's ``wsgi.url_scheme`` and ``Host``; the path and
    the raw query string are passed through untouched.
    """

    def __init__(self, app: object) -> None:
        self._app = app

    def send(self, request: WebhookRequest) -> WebhookResponse:
        """Run ``request`` through the app; an exception inside the app becomes a 500, as it would
        behind a real server."""
        parts = urlsplit(request.url)
        base_url = f"{parts.scheme}://{parts.netloc}"
        path = parts.path or "/"
        client = Client(self._app)  # type: ignore[arg-type]
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
        try:
            response = client.open(
                path,
                base_url=base_url,
                query_string=parts.query,
                method=request.method,
                data=request.body if request.method != "GET" else None,
                content_type=request.headers.get("Content-Type"),
                headers=headers,
            )
        except Exception as exc:  # the app crashed: a real server answers 500
            return WebhookResponse(500, f"{type(exc).__name__}: {exc}", "text/plain")
        try:
            return WebhookResponse(
                response.status_code,
                response.get_data(as_text=True),
                response.headers.get("Content-Type", ""),
            )
        finally:
            response.close()
