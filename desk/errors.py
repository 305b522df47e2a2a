"""The desk's exceptions; the CLI and the web edge turn them into messages and exit codes."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error the desk raises on purpose."""


class AgentError(DeskError):
    """Raised when an agent cannot be created or moved as asked (the message says why)."""
