"""Tables of the agent desk: the agents and one record per caller queued for a person.

The writers are in ``desk/``: :mod:`desk.agents` for ``desk_agents`` (the state machine of an
agent, and its sign-in counters), :mod:`desk.queueing` for ``desk_queue_entries`` (a caller's
life in a queue).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, _in
from store.types import UTCDateTime

AGENT_ROLES = ("agent", "supervisor")
AGENT_STATES = ("away", "available", "offered", "on_call", "wrap_up")
QUEUE_STATUSES = ("waiting", "offered", "bridged", "abandoned", "left", "done")


class DeskAgent(Base):
    """A person who takes calls: name, role, phone, the languages they speak and their state.

    ``state`` moves only through :mod:`desk.agents`; ``state_since`` says when, so wrap-up ends
    on time and the supervisor sees how long each agent has been where. ``entry_id`` and
    ``leg_sid`` name the caller offered to (or talking with) the agent and the agent's own call.
    """

    __tablename__ = "desk_agents"
    __table_args__ = (
        CheckConstraint(_in("role", AGENT_ROLES), name="role"),
        CheckConstraint(_in("state", AGENT_STATES), name="state"),
        UniqueConstraint("name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(16))
    #: Comma-separated language tags (``en-US,zh-CN``).
    languages: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="away")
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(Integer)
    leg_sid: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Wrong passwords in a row at the console's sign-in; reset by a good one. Stored, not kept
    #: in a process, so the lockout holds across web workers (:func:`desk.agents.sign_in`).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Until when sign-in is refused after ``desk.console.lockout_attempts`` wrong passwords.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QueueEntry(Base):
    """One caller in one queue, from the moment they were enqueued to the moment they left it.

    ``status`` waiting -> offered (an agent's phone is ringing for them) -> bridged (talking) ->
    done; or abandoned (hung up while queued) or left (to a callback: their choice, the
    maximum wait, the end of the last shift). ``wait_seconds`` is enqueued to bridged (or to
    abandoned/left), ``talk_seconds`` bridged to the end; the supervisor's numbers come from
    these rows (:mod:`desk.figures`).
    """

    __tablename__ = "desk_queue_entries"
    __table_args__ = (
        CheckConstraint(_in("status", QUEUE_STATUSES), name="status"),
        UniqueConstraint("call_sid"),
        UniqueConstraint("callback_id", "enqueued_at"),
        Index(None, "status", "queue", "enqueued_at"),
        Index(None, "queue", "enqueued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    #: The queued caller's CallSid; None for a booked callback waiting for an agent (the
    #: cardholder is not on the line: the agent calls them, agent first).
    call_sid: Mapped[str | None] = mapped_column(String(34))
    #: The callback request this record places agent-first (``campaigns/callbacks.py``), and
    #: the attempt that dialled the cardholder for it (``dialer/attempts.py``).
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"))
    number: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(32))
    #: Lower is served first inside a queue (a cold transfer goes to the front).
    rank: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bridged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the caller left the queue: ``caller`` (pressed 1), ``max_wait``, ``closed``.
    left_reason: Mapped[str | None] = mapped_column(String(16))
    wait_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("desk_agents.id"))
    #: Twilio's QueueSid of the queue the call waits in (from the wait requests): the Queue
    #: Members API moves the caller to the agent with it.
    queue_sid: Mapped[str | None] = mapped_column(String(34))
    #: The agent leg's CallSid: the conference the two are bridged in is named for it.
    agent_leg_sid: Mapped[str | None] = mapped_column(String(34))
    #: Position announcements given so far (the wait TwiML's step, so a replay is the same).
    wait_loops: Mapped[int] = mapped_column(Integer, default=0)
