"""The simulator's exception tree.

Only the simulator's edges (its REST WSGI app and ``serve``) turn these into HTTP responses or log
lines; everything inside raises them.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""


class PersonaError(SimulatorError):
    """Raised when a persona definition (in code or in a personas file) is invalid."""


class TwimlError(SimulatorError):
    """Raised when a TwiML document is malformed or uses a verb or attribute the simulator does
    not implement. Twilio rejects unknown TwiML at runtime (error 12100/12200); the simulator
    records the error on the call and hangs up instead of guessing."""


class TransportError(SimulatorError):
    """Raised by a webhook transport when the request could not be completed (connection refused,
    timeout). Carries no HTTP status: a response with a 4xx/5xx status is not a transport error."""


class ApiError(SimulatorError):
    """A REST API request Twilio would refuse; rendered as Twilio's error body.

    ``code`` is Twilio's error code (for example 21211), ``status`` the HTTP status.
    """

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        """Twilio's error document: ``{"code", "message", "more_info", "status"}``."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


class ConnectionDroppedError(SimulatorError, ConnectionAbortedError):
    """Raised out of the REST WSGI app when a fault drops the connection without an answer.

    A ``ConnectionError``, so werkzeug's server treats it as a connection the client lost and
    writes nothing; an in-process caller of the WSGI app sees it raised.
    """
