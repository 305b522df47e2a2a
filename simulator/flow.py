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
        #: Set when the call ends inside a ``<Dial>``: what its action is told (Twilio still
        #: requests it for a caller who hung up).
        self.dial_outcome: dict[str, str] | None = None


class Redirected(Exception):  # noqa: N818 - control flow, not an error
    """A REST update replaced the call's TwiML; the current document stops."""

    def __init__(self, target: Next) -> None:
        super().__init__(str(target))
        self.target = target


def describe(target: Next) -> str:
    """``POST https://...`` for a fetched document, ``inline TwiML`` otherwise."""
    return f"{target.method} {target.url}" if isinstance(target, Fetch) else "inline TwiML"


class AppError(CallEnds):
    """The app's TwiML could not be played (a failed fetch, invalid TwiML, a verb not allowed
    where it appeared); already recorded. Ends the call, except inside a queue's wait music,
    where the caller leaves the queue with ``QueueResult=error``."""

    def __init__(self, line: str) -> None:
        super().__init__("completed", line)


class LeftQueue(Exception):  # noqa: N818 - control flow, not an error
    """``<Leave>`` in a queue's wait TwiML: the caller leaves the queue."""


class Dequeued(Exception):  # noqa: N818 - control flow, not an error
    """Another call dequeued this one with ``<Dial><Queue>``: ``bridge`` joins them once the
    ``url`` TwiML (if any) has played on this call."""

    def __init__(self, bridge: object, url: str | None, method: str, params: dict[str, str]):
        super().__init__("dequeued")
        self.bridge = bridge
        self.url = url
        self.method = method
        self.params = params


class LegEnded(Exception):  # noqa: N818 - control flow, not an error
    """The call's bridge or conference ended around it (the other party hung up, the conference
    ended, it was kicked); the call goes on with its next TwiML."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConferenceStarted(Exception):  # noqa: N818 - control flow, not an error
    """The conference a participant waits in has started: its wait music stops."""
