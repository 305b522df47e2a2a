"""The desk's exceptions; the CLI and the web edge turn them into messages and exit codes."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error the desk raises on purpose."""


class AgentError(DeskError):
    """Raised when an agent cannot be created or moved as asked (the message says why)."""


class TokenError(DeskError):
    """Raised when an API token cannot be created or revoked as asked (the message says why)."""


class ApiError(DeskError):
    """Raised by the JSON API's rules (:mod:`desk.api`) for a request they refuse: ``status``
    is the HTTP status, ``code`` a stable machine-readable word, ``fields`` the problems per
    field of the body when there are several (docs/api/openapi.yaml lists them)."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
