"""The IVR's exceptions."""

from __future__ import annotations


class IvrError(Exception):
    """Base class of the IVR's own errors."""


class CatalogueError(IvrError):
    """Raised when a prompt catalogue is missing, malformed, or lacks or adds entries."""


class SessionConflictError(IvrError):
    """Raised when a call's session changed under a request (another request for the same call
    won the race); the boundary retries the request on a fresh read."""
