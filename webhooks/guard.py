"""The gate in front of every ``/twilio/...`` route: Twilio's signature, then a fault barrier.

Twilio signs each request with HMAC-SHA1 over the URL it called plus, for a POST, the sorted form
parameters (``X-Twilio-Signature``). The URL must be rebuilt exactly as Twilio saw it: the
configured public base URL (the app usually sits behind a proxy, so ``request.host`` is not it),
the path, and the query string **as sent** -- Werkzeug's ``request.url`` re-encodes the query and
breaks the signature of a GET whose query carried percent-escapes.

A request that fails the check gets 403 and a log line naming the URL that was checked. A request
that passes but then raises anywhere in the view still gets HTTP 200 with valid TwiML (an apology
and a way to a person), because Twilio turns a 5xx into dead air or an error message for the
caller (error 11200) and never retries a voice webhook.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any, Literal

from flask import Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import RequestEntityTooLarge

log = logging.getLogger(__name__)

#: What a failing view answers: ``voice`` the caller's apology (see ``voice_fault``), ``sms``
#: an empty reply, ``callback`` an empty 200, ``hangup`` valid TwiML that ends the call (a leg
#: with no caller on it, such as an agent's).
Kind = Literal["voice", "sms", "callback", "hangup"]

#: The largest request body accepted: Twilio's webhooks are a few KB, an SMS at most 1,600
#: characters. The app sets the same as Flask's MAX_CONTENT_LENGTH, so a body sent without a
#: Content-Length is cut off at the limit too.
MAX_BODY_BYTES = 64 * 1024
FaultTwiml = Callable[[], str]


def default_voice_fault() -> str:
    """What a caller hears when a voice webhook fails: an apology and the way to a person."""
    response = VoiceResponse()
    response.say(
        "We are sorry, something went wrong on our side. Please call us back, or stay on the line "
        "to be connected to an agent.",
        language="en-US",
    )
    response.hangup()
    return str(response)


class TwilioGuard:
    """Checks signatures against ``public_url`` with ``auth_token`` and wraps views in a barrier.

    ``voice_fault`` renders the TwiML a voice caller gets after an exception; the IVR installs
    one that speaks the caller's language and hands the call to an agent.
    """

    def __init__(
        self,
        auth_token: str,
        public_url: str,
        *,
        voice_fault: FaultTwiml = default_voice_fault,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self._validator = RequestValidator(auth_token)
        self.max_body = max_body
        self.public_url = public_url.rstrip("/")
        self.voice_fault = voice_fault

    def url_for_request(self) -> str:
        """The URL Twilio signed: public base + path + the raw query string as sent."""
        raw_query = request.environ.get("QUERY_STRING", "")
        url = f"{self.public_url}{request.path}"
        return f"{url}?{raw_query}" if raw_query else url

    def is_valid(self) -> bool:
        """Whether the request carries Twilio's signature for it. Anything unexpected while
        checking -- a repeated field, an undecodable body -- makes it invalid, never a 500."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        try:
            # Twilio signs every value of a repeated field; the SDK's validator reads them all
            # through the form's own getlist.
            params = request.form if request.method == "POST" else {}
            url = self.url_for_request()
            # One HMAC for the URL as configured, which is what Twilio signs when the public
            # URL is written as Twilio calls it; the SDK's validate() computes two (the URL
            # with and without its port) and is asked only when this one does not match, so
            # exactly the same requests pass.
            expected = self._validator.compute_signature(url, params)
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return True
            return bool(self._validator.validate(url, params, signature))
        except RequestEntityTooLarge:
            raise
        except Exception:
            log.warning("signature check failed on a malformed %s request", request.path)
            return False

    def webhook(self, kind: Kind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a Twilio view: 403 on a bad signature; TwiML on any exception."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return self.call(kind, view, *args, **kwargs)

            return wrapped

        return decorate

    def call(self, kind: Kind, view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``view`` behind the guard (what :meth:`webhook` wraps a view in)."""
        if request.content_length is not None and (request.content_length > self.max_body):
            # Refused before the body is read (Twilio's requests are a few KB).
            abort(413)
        if not self.is_valid():
            log.warning(
                "rejected %s %s: missing or invalid X-Twilio-Signature (checked URL %s)",
                request.method,
                request.path,
                self.url_for_request(),
            )
            abort(403)
        try:
            return view(*args, **kwargs)
        except Exception:
            call = request.values.get("CallSid") or request.values.get("MessageSid") or "-"
            log.exception("webhook %s failed for %s", request.path, call)
            return self._fault(kind)

    def _fault(self, kind: Kind) -> Response:
        if kind == "voice":
            try:
                body = self.voice_fault()
            except Exception:
                log.exception("the voice fault handler itself failed; using the default")
                body = default_voice_fault()
            return Response(body, status=200, mimetype="application/xml")
        if kind == "sms":
            return Response(str(MessagingResponse()), status=200, mimetype="application/xml")
        if kind == "hangup":
            response = VoiceResponse()
            response.hangup()
            return Response(str(response), status=200, mimetype="application/xml")
        # A status callback: 200 with an empty body. Twilio does not retry it anyway; the
        # reconciler closes what the callback could not.
        return Response("", status=200)
