"""From the IVR to a queue: whether a caller who wants a person can have one, and where.

A caller is enqueued when their reason and language have a queue, the queue is open, and an
agent who serves it is on shift and not away (available, ringing for someone else, talking,
or wrapping up: they will be free in a while). Otherwise the IVR's fallback stands: the
callback offer, as before the desk existed. The queue record is written before the
``<Enqueue>`` answer leaves, in the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.legal import LegalProfiles
from desk.agents import speaks
from desk.config import DeskSettings, QueueSettings
from desk.queueing import Caller, enqueue
from desk.words import Words
from dialer.profiles import PolicyBook
from ivr.session import AgentWanted
from store.models_desk import DeskAgent
from telephony import desk_twiml, routes


@dataclass(frozen=True)
class Desk:
    """The desk's rules and words, built once per process by the composition root."""

    settings: DeskSettings
    words: Words
    public_url: str
    legal: LegalProfiles
    #: The contact policy, asked before an agent dials a cardholder back (agent first).
    policy: PolicyBook | None = None
    #: The number the cardholder sees when an agent calls them back.
    caller_id: str = "+15005550006"

    def url(self, path: str, **params: int | str) -> str:
        return f"{self.public_url}{path}?{urlencode(params)}"


def agents_for(
    session: Session,
    desk: DeskSettings,
    queue: QueueSettings,
    language: str,
    now: datetime,
    *,
    present: bool = True,
) -> list[DeskAgent]:
    """The agents on shift who speak ``language`` (a queue takes only languages its agents
    speak, so speaking it is serving it); ``present``: and not away."""
    on_shift = desk.on_shift(now)
    if not on_shift or language not in queue.languages:
        return []
    query = select(DeskAgent).where(DeskAgent.name.in_(list(on_shift)))
    if present:
        query = query.where(DeskAgent.state != "away")
    return [agent for agent in session.scalars(query) if speaks(agent, language)]


def queue_open(
    session: Session,
    desk: DeskSettings,
    queue: QueueSettings,
    language: str,
    now: datetime,
    *,
    present: bool = True,
) -> bool:
    """Whether a caller in ``language`` may wait in ``queue`` now: its hours, and an agent
    for them on shift (``present``: at the desk, not away -- what a new caller needs; a
    caller already waiting waits on while anyone for them is on shift at all)."""
    if queue.hours is not None and not queue.hours.is_open(now):
        return False
    return bool(agents_for(session, desk, queue, language, now, present=present))


def escalate(
    session: Session, desk: Desk, call_sid: str, wanted: AgentWanted, now: datetime
) -> str | None:
    """The ``<Enqueue>`` TwiML for a caller who wants a person, or None when nobody is there
    for them (the IVR's callback offer stands)."""
    queue = desk.settings.queue_for(wanted.reason, wanted.language)
    if queue is None or not queue_open(session, desk.settings, queue, wanted.language, now):
        return None
    entry = enqueue(
        session,
        queue.name,
        Caller(
            call_sid=call_sid,
            number=wanted.number or "",
            language=wanted.language,
            reason=wanted.reason,
            verified=wanted.verified,
            account_id=wanted.account_id,
        ),
        now=now,
    )
    return desk_twiml.enqueue(
        queue.name,
        wait_url=desk.url(routes.DESK_WAIT, entry=entry.id),
        action_url=desk.url(routes.DESK_DEQUEUED, entry=entry.id),
        before=[desk.words.line(wanted.language, "desk_connecting")],
    )
