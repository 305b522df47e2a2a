"""Tables of the dialer: campaign runs, their contacts, Twilio's callbacks, control and pacing.

Every guarantee the worker gives rests on a row here, not on a process's memory:

- ``campaign_runs``: one row per campaign and slot, UNIQUE on ``(campaign, slot_key)`` -- the
  run-once guarantee across workers and restarts;
- ``contacts``: the work queue, claimed with a conditional UPDATE (SQLite) or ``FOR UPDATE SKIP
  LOCKED`` (PostgreSQL), indexed for that claim;
- ``callback_events``: every status callback as received (masked), UNIQUE on its dedupe key, so a
  repeated callback is recognised;
- ``campaign_controls``: the pause flag and reason each running worker reads before every call,
  and the error streaks that trip an automatic pause;
- ``pacing_budgets``: the next free slot of each calls/SMS-per-second budget, shared by every
  worker;
- ``dialer_workers``: each running worker's lease (a heartbeat), so a worker's death is known
  from the store: its claims, its unfinished snapshot and the attempts it recorded but never
  placed are taken over without waiting for the long timeouts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import ATTEMPT_CHANNELS, Base, BigId, JsonDoc, _in
from store.types import UTCDateTime

RUN_STATUSES = ("snapshotting", "active", "superseded", "cancelled")
CONTACT_STATES = ("pending", "dialing", "waiting", "done")
CALLBACK_KINDS = ("call-status", "amd", "sms-status", "reconciler")

#: The control row that pauses every campaign at once (``campaign pause --all``, an auth failure).
ALL_CAMPAIGNS = "*"


class CampaignRun(Base):
    """One launch of a campaign for one slot of its schedule (or one manual ``run --now``).

    ``slot_key`` is the slot's local wall-clock time in the campaign's zone
    (``2026-11-01T01:30 America/New_York``), so the two firings of a cron at a DST fall-back make
    one run. ``snapshot_cursor`` is the last account snapshotted: a launch interrupted between
    chunks resumes there.
    """

    __tablename__ = "campaign_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        UniqueConstraint("campaign", "slot_key"),
        Index(None, "campaign", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign: Mapped[str] = mapped_column(String(64))
    slot_key: Mapped[str] = mapped_column(String(80))
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="snapshotting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    snapshot_cursor: Mapped[str | None] = mapped_column(String(64))
    snapshot_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snapshot_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The worker writing the snapshot now (the creator, or whoever took an abandoned one over);
    #: each chunk is written only by it.
    snapshot_by: Mapped[str | None] = mapped_column(String(64))
    contacts_total: Mapped[int] = mapped_column(Integer, default=0)


class Contact(Base):
    """An account in a campaign run: the unit the dispatcher claims, dials and retries.

    ``state``: ``pending`` (due at ``next_attempt_at``), ``dialing`` (claimed by ``claimed_by``,
    no attempt recorded yet), ``waiting`` (an attempt is in flight: ``current_attempt_id``),
    ``done`` (``closed_reason`` says why). ``channel`` is the channel of the next attempt: a voice
    contact with SMS fallback switches to ``sms`` when its calls are exhausted.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_in("state", CONTACT_STATES), name="state"),
        CheckConstraint(_in("channel", ATTEMPT_CHANNELS), name="channel"),
        UniqueConstraint("run_id", "account_id"),
        # The claim: due pending contacts of a run, oldest first.
        Index(None, "run_id", "state", "next_attempt_at"),
        # Stale claims and in-flight contacts, found by the reconciler.
        Index(None, "state", "claimed_at"),
        Index(None, "account_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=5)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    closed_reason: Mapped[str | None] = mapped_column(String(40))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # The attempt in flight while ``waiting`` (attempts.contact_id is the authoritative link).
    current_attempt_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackEvent(Base):
    """A status callback (or a reconciler lookup) as received, masked, with what was done with it.

    ``dedupe_key`` is the provider SID with the event's identity (its SequenceNumber, or for events
    that carry none the status or the AMD verdict): a repeated callback collides on it.
    ``effect`` records the state machine's verdict: ``applied``, ``stale``, ``unlinked``...
    """

    __tablename__ = "callback_events"
    __table_args__ = (
        CheckConstraint(_in("kind", CALLBACK_KINDS), name="kind"),
        UniqueConstraint("dedupe_key"),
        Index(None, "attempt_id"),
        Index(None, "provider_sid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    provider_sid: Mapped[str | None] = mapped_column(String(34))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    status: Mapped[str | None] = mapped_column(String(32))
    sequence: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effect: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class CampaignControl(Base):
    """Whether a campaign (or, for ``campaign == "*"``, every campaign) is paused, and why.

    Running workers read it before every call, so a pause stops dispatch at once. The streak
    counters are shared by every worker and trip an automatic pause (see dialer.control).
    """

    __tablename__ = "campaign_controls"

    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(64))
    invalid_number_streak: Mapped[int] = mapped_column(Integer, default=0)
    denial_streak: Mapped[int] = mapped_column(Integer, default=0)
    missing_callback_streak: Mapped[int] = mapped_column(Integer, default=0)
    #: Requests Twilio refused or left unanswered in a row (counted on the ``"*"`` row: a rate
    #: limit is account-wide).
    transient_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: What an automatic pause waits for: ``"carrier"`` is lifted by a successful probe request
    #: (dialer.carrier); None for every other pause, lifted only by ``campaign resume``.
    paused_for: Mapped[str | None] = mapped_column(String(16))


class PacingBudget(Base):
    """A rate budget shared by every worker: the next instant a call (or SMS) may be placed.

    A worker reserves the slot ``next_slot_at`` and moves it one interval (1 / rate) on, in one
    short transaction; it then waits for its slot before calling Twilio.
    """

    __tablename__ = "pacing_budgets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Twilio asked every worker to wait until then (``Retry-After``): a slot reserved earlier
    #: is not used before it.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DialerWorkerLease(Base):
    """A ``duecall dialer`` process: registered at start, its heartbeat renewed while it runs.

    A worker is gone when ``stopped_at`` is set, when ``heartbeat_at`` is older than the lease
    (``dialer.claim_timeout_seconds``), or -- seen from the same host -- when its pid is dead.
    ``claimed`` and ``placed`` count its contacts claimed and attempts placed (operators' view,
    and proof in the tests that the work was shared).
    """

    __tablename__ = "dialer_workers"
    __table_args__ = (Index(None, "heartbeat_at"),)

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    placed: Mapped[int] = mapped_column(Integer, default=0)
