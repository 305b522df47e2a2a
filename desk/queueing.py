"""A caller's life in a queue: the one writer of ``desk_queue_entries``.

The record is written when the caller is enqueued (before the ``<Enqueue>`` TwiML is answered,
in the same transaction), so a restart of the web process or the worker loses no queued caller:
everything the desk knows about them is in the row. Each move is a conditional ``UPDATE ...
WHERE status IN (...)``; Twilio repeats and reorders its requests, and a move that already
happened (or can no longer happen: a caller who hung up is never bridged) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from store.models import Account, CallbackRequest
from store.models_desk import QueueEntry

#: A caller still in the queue (an offered caller still hears the wait music).
QUEUED = ("waiting", "offered")
#: The order callers are served in inside one queue (a cold transfer's lower rank first).
SERVICE_ORDER = (QueueEntry.rank, QueueEntry.enqueued_at, QueueEntry.id)


@dataclass(frozen=True)
class Caller:
    """Who is being enqueued, and why."""

    call_sid: str
    number: str
    language: str
    reason: str
    verified: bool
    account_id: str | None = None


def enqueue(session: Session, queue: str, caller: Caller, *, now: datetime) -> QueueEntry:
    """The caller's record in ``queue``: a new one, or the one a replayed request made."""
    existing = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == caller.call_sid))
    if existing is not None:
        return existing
    account_id = caller.account_id
    if account_id is not None and session.get(Account, account_id) is None:
        account_id = None
    entry = QueueEntry(
        queue=queue,
        call_sid=caller.call_sid,
        account_id=account_id,
        number=caller.number[:16],
        language=caller.language,
        verified=caller.verified,
        reason=caller.reason[:32],
        rank=0,
        status="waiting",
        enqueued_at=now,
        wait_loops=0,
    )
    session.add(entry)
    session.flush()
    return entry


def enqueue_callback(
    session: Session, queue: str, request: CallbackRequest, *, now: datetime
) -> QueueEntry:
    """A booked callback waiting for an agent to place it (no caller on the line yet)."""
    entry = QueueEntry(
        queue=queue,
        call_sid=None,
        callback_id=request.id,
        account_id=request.account_id,
        number=request.number,
        language=request.language,
        verified=request.verified,
        reason=request.reason[:32],
        rank=0,
        status="waiting",
        enqueued_at=now,
        wait_loops=0,
    )
    session.add(entry)
    session.flush()
    return entry


def set_attempt(session: Session, entry: QueueEntry, attempt_id: int) -> None:
    """The attempt that dialled the cardholder for a callback placed agent-first."""
    _moved(session, entry.id, (), {"attempt_id": attempt_id})


def by_call(session: Session, call_sid: str) -> QueueEntry | None:
    return session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))


def _ahead(entry: QueueEntry) -> object:
    """Rows served before ``entry`` in its queue: lower rank, then earlier, then lower id."""
    return or_(
        QueueEntry.rank < entry.rank,
        and_(QueueEntry.rank == entry.rank, QueueEntry.enqueued_at < entry.enqueued_at),
        and_(
            QueueEntry.rank == entry.rank,
            QueueEntry.enqueued_at == entry.enqueued_at,
            QueueEntry.id < entry.id,
        ),
    )


def position(session: Session, entry: QueueEntry) -> int:
    """1 for the next caller to be served in the entry's queue."""
    ahead = session.scalar(
        select(func.count())
        .select_from(QueueEntry)
        .where(
            QueueEntry.queue == entry.queue,
            QueueEntry.status.in_(QUEUED),
            _ahead(entry),  # type: ignore[arg-type]
        )
    )
    return int(ahead or 0) + 1


def queued(session: Session) -> Sequence[QueueEntry]:
    """Everyone still queued, queue by queue, each queue in the order it is served."""
    return session.scalars(
        select(QueueEntry)
        .where(QueueEntry.status.in_(QUEUED))
        .order_by(QueueEntry.queue, *SERVICE_ORDER)
    ).all()


def next_waiting(
    session: Session, queues: Sequence[str], languages: Sequence[str]
) -> QueueEntry | None:
    """The caller to offer next among ``queues`` (most urgent first) in ``languages``: the
    front of the first queue with anyone waiting. A caller is offered only once Twilio has
    confirmed them in the queue (their first wait request brings its QueueSid, which moving
    them to the agent needs); a callback record has no caller to wait for."""
    for queue in queues:
        found = session.scalar(
            select(QueueEntry)
            .where(
                QueueEntry.queue == queue,
                QueueEntry.status == "waiting",
                QueueEntry.language.in_(list(languages)),
                or_(QueueEntry.queue_sid.is_not(None), QueueEntry.callback_id.is_not(None)),
            )
            .order_by(*SERVICE_ORDER)
            .limit(1)
        )
        if found is not None:
            return found
    return None


def _moved(
    session: Session, entry_id: int, where: Sequence[object], values: dict[str, object]
) -> bool:
    """One conditional UPDATE of the row ``entry_id``; the loaded row, if any, is expired so the
    next read sees what the database holds (whoever won)."""
    result = session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == entry_id, *where)  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(identity_key(QueueEntry, entry_id))
    if loaded is not None:
        session.expire(loaded)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, entry_id: int, agent_id: int, *, now: datetime) -> bool:
    """Offer the waiting caller ``entry_id`` to ``agent_id``; False when another agent got
    them first (or they left): the conditional update is the claim, so two agents offered
    at once never get the same caller."""
    return _moved(
        session,
        entry_id,
        (QueueEntry.status == "waiting",),
        {"status": "offered", "offered_at": now, "agent_id": agent_id},
    )


def set_agent_leg(session: Session, entry_id: int, leg_sid: str) -> None:
    """Remember the agent leg's CallSid once the carrier gave it."""
    _moved(session, entry_id, (), {"agent_leg_sid": leg_sid})


def release(session: Session, entry_id: int) -> bool:
    """An offer that was not taken: the caller waits again, in their old place."""
    return _moved(
        session,
        entry_id,
        (QueueEntry.status == "offered",),
        {"status": "waiting", "agent_id": None, "agent_leg_sid": None, "offered_at": None},
    )


def bridged(session: Session, entry: QueueEntry, *, now: datetime) -> bool:
    """The agent took the call: the moment of the bridge and the caller's wait are recorded."""
    wait = int((now - entry.enqueued_at).total_seconds())
    return _moved(
        session,
        entry.id,
        (QueueEntry.status == "offered",),
        {"status": "bridged", "bridged_at": now, "wait_seconds": max(wait, 0)},
    )


def abandoned(session: Session, entry: QueueEntry, *, now: datetime) -> bool:
    """The caller hung up while queued: never bridged after this."""
    wait = int((now - entry.enqueued_at).total_seconds())
    return _moved(
        session,
        entry.id,
        (QueueEntry.status.in_(QUEUED),),
        {"status": "abandoned", "abandoned_at": now, "wait_seconds": max(wait, 0)},
    )


def left(session: Session, entry: QueueEntry, reason: str, *, now: datetime) -> bool:
    """The caller left the queue for a callback (``caller``, ``max_wait``, ``closed``)."""
    wait = int((now - entry.enqueued_at).total_seconds())
    return _moved(
        session,
        entry.id,
        (QueueEntry.status.in_(QUEUED),),
        {"status": "left", "left_at": now, "left_reason": reason, "wait_seconds": max(wait, 0)},
    )


def ended(session: Session, entry: QueueEntry, *, now: datetime) -> bool:
    """The bridged call ended: the talk time is recorded."""
    start = entry.bridged_at or now
    return _moved(
        session,
        entry.id,
        (QueueEntry.status == "bridged",),
        {
            "status": "done",
            "ended_at": now,
            "talk_seconds": max(int((now - start).total_seconds()), 0),
        },
    )


def count_loop(session: Session, entry: QueueEntry, loop: int) -> None:
    """The wait TwiML's announcement ``loop`` was served (kept to the highest)."""
    _moved(session, entry.id, (QueueEntry.wait_loops < loop,), {"wait_loops": loop})


def set_queue_sid(session: Session, entry: QueueEntry, queue_sid: str) -> None:
    """Remember Twilio's QueueSid of the caller's queue (the wait requests carry it)."""
    _moved(session, entry.id, (), {"queue_sid": queue_sid[:34]})


def unbridge(session: Session, entry: QueueEntry) -> bool:
    """The caller could not be moved to the agent who took them: back to waiting (their
    hang-up, which is why, then records the abandon)."""
    return _moved(
        session,
        entry.id,
        (QueueEntry.status == "bridged",),
        {"status": "waiting", "bridged_at": None, "wait_seconds": None, "agent_id": None},
    )


def requeue(session: Session, entry: QueueEntry, queue: str) -> bool:
    """A cold transfer: the bridged caller goes back to waiting, in ``queue``, at its front
    (rank -1), with no agent; their original enqueue time is kept."""
    return _moved(
        session,
        entry.id,
        (QueueEntry.status == "bridged",),
        {
            "status": "waiting",
            "queue": queue,
            "rank": -1,
            "agent_id": None,
            "agent_leg_sid": None,
            "offered_at": None,
            # Twilio's SID of the new queue comes with the caller's first wait request there.
            "queue_sid": None,
        },
    )


def hand_to(session: Session, entry: QueueEntry, agent_id: int) -> bool:
    """A warm transfer: the bridged caller is ``agent_id``'s now."""
    return _moved(session, entry.id, (QueueEntry.status == "bridged",), {"agent_id": agent_id})
