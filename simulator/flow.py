"""Control flow inside a call, shared by the call engine and the TwiML player.

:class:`Fetch` and :class:`Inline` say which document a live call plays next. :class:`CallEnds`
and :class:`Redirected` cut the current document short: the engine raises them when time runs out
or a REST update arrives, the player when the app or the callee hangs up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Fetch:
    """Next document: fetch ``url`` with ``method``, adding ``params`` (Gather results)."""

    url: str
    method: str = "POST"
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Inline:
    """Next document: this TwiML text (a REST ``Twiml`` update or create)."""

    twiml: str


Next: TypeAlias = Fetch | Inline


class CallEnds(Exception):  # noqa: N818 - control flow, not an error
    """The call ends now with ``status``; ``line`` goes into the transcript."""

    def __init__(self, status: str, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


class Redirected(Exception):  # noqa: N818 - control flow, not an error
    """A REST update replaced the call's TwiML; the current document stops."""

    def __init__(self, target: Next) -> None:
        super().__init__(str(target))
        self.target = target


def describe(target: Next) -> str:
    """``POST https://...`` for a fetched document, ``inline TwiML`` otherwise."""
    return f"{target.method} {target.url}" if isinstance(target, Fetch) else "inline TwiML"
