"""What the agent's screen shows: the live queue and the screen pop. Read-only, except that
opening an account is audited.

The live queue masks the caller's number (``store.privacy.mask_phone``): the agent sees who is
waiting, not whom to ring. The screen pop is the account of the caller bridged to the agent
(the bridge moment is ``desk_queue_entries.bridged_at``), with what the caller did in the IVR
(their stored IVR session) and the account's history: attempts and texts, promises, plans,
opt-outs and flags (docs/desk.md, "The console"). Nothing of the account is shown for a
caller who did not verify: no balance before verification, on the screen as on the phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.audit import record_audit
from store.models import Account, Attempt, Phone, Plan, Promise, Suppression
from store.models_desk import DeskAgent, QueueEntry
from store.models_ivr import FraudReport, IvrSession
from store.privacy import mask_phone

#: How many of each history the screen pop lists, newest first.
HISTORY = 20
#: The IVR session's fields the screen pop shows, in the order a call goes through them.
IVR_FIELDS = (
    "direction",
    "language",
    "state",
    "step",
    "verified",
    "failures",
    "misses",
    "callback_reason",
    "promise_date",
    "promise_amount",
    "plan_count",
    "plan_frequency",
    "plan_first",
    "concession_offer",
)


@dataclass(frozen=True)
class Waiting:
    """One caller in the live queue, as the agent's screen lists them."""

    entry_id: int
    queue: str
    caller: str
    language: str
    verified: bool
    reason: str
    status: str
    waiting_seconds: int


def live_queue(session: Session, *, now: datetime, urgency: list[str]) -> list[Waiting]:
    """Callers waiting or being offered, most urgent queue first (``urgency``: queue names in
    the configured order), then by rank and arrival, as the live transfer serves them."""
    rows = session.scalars(
        select(QueueEntry)
        .where(QueueEntry.status.in_(("waiting", "offered")))
        .order_by(QueueEntry.rank, QueueEntry.enqueued_at, QueueEntry.id)
    ).all()
    order = {name: index for index, name in enumerate(urgency)}
    rows = sorted(rows, key=lambda e: order.get(e.queue, len(order)))
    return [
        Waiting(
            entry_id=e.id,
            queue=e.queue,
            caller=mask_phone(e.number),
            language=e.language,
            verified=e.verified,
            reason=e.reason,
            status=e.status,
            waiting_seconds=max(int((now - e.enqueued_at).total_seconds()), 0),
        )
        for e in rows
    ]


def bridged_entry(session: Session, agent: DeskAgent) -> QueueEntry | None:
    """The caller ``agent`` is talking with now: their queue record, bridged to them."""
    if agent.state not in ("on_call", "wrap_up") or agent.entry_id is None:
        return None
    entry = session.get(QueueEntry, agent.entry_id)
    if entry is None or entry.agent_id != agent.id or entry.bridged_at is None:
        return None
    return entry


@dataclass(frozen=True)
class ScreenPop:
    """Everything the agent sees about the caller bridged to them (read-only in this version)."""

    entry: QueueEntry
    account: Account | None
    ivr: dict[str, Any]
    attempts: list[Attempt]
    promises: list[Promise]
    plans: list[Plan]
    suppressions: list[Suppression]
    fraud_reports: list[FraudReport]


def open_account(
    session: Session, agent: DeskAgent, entry: QueueEntry, *, now: datetime, why: str
) -> ScreenPop:
    """The screen pop for ``entry``, and one audit row saying who opened which account, when
    and why (``why``: the queue record's reason, e.g. ``bridged call, reason agent``).

    The account is shown only for a verified caller; an unverified one shows the queue record
    and the IVR path, and nothing is audited because no account was opened.
    """
    account = session.get(Account, entry.account_id) if entry.account_id else None
    ivr = _ivr_path(session, entry.call_sid)
    if account is None or not entry.verified:
        return ScreenPop(entry, None, ivr, [], [], [], [], [])
    record_audit(
        session,
        at=now,
        actor=agent.name,
        action="desk_account_opened",
        entity_type="account",
        entity_id=account.account_id,
        detail={"agent_id": agent.id, "entry_id": entry.id, "why": why},
    )
    numbers = list(
        session.scalars(select(Phone.number).where(Phone.account_id == account.account_id))
    )
    return ScreenPop(
        entry=entry,
        account=account,
        ivr=ivr,
        attempts=list(
            session.scalars(
                select(Attempt)
                .where(Attempt.account_id == account.account_id)
                .order_by(Attempt.created_at.desc(), Attempt.id.desc())
                .limit(HISTORY)
            )
        ),
        promises=list(
            session.scalars(
                select(Promise)
                .where(Promise.account_id == account.account_id)
                .order_by(Promise.created_at.desc())
                .limit(HISTORY)
            )
        ),
        plans=list(
            session.scalars(
                select(Plan)
                .where(Plan.account_id == account.account_id)
                .order_by(Plan.created_at.desc())
                .limit(HISTORY)
            )
        ),
        suppressions=list(
            session.scalars(
                select(Suppression)
                .where(
                    or_(
                        Suppression.account_id == account.account_id,
                        Suppression.number.in_(numbers),
                    )
                )
                .order_by(Suppression.created_at.desc())
                .limit(HISTORY)
            )
        ),
        fraud_reports=list(
            session.scalars(
                select(FraudReport)
                .where(FraudReport.account_id == account.account_id)
                .order_by(FraudReport.created_at.desc())
                .limit(HISTORY)
            )
        ),
    )


def _ivr_path(session: Session, call_sid: str | None) -> dict[str, Any]:
    """What the caller did in the IVR, from their stored session: where the call got to, in
    how many steps, verified or not, failures, and what they were agreeing when they asked for
    a person. The caller's number is masked; no verification digits are stored in it."""
    if call_sid is None:
        return {}
    row = session.get(IvrSession, call_sid)
    if row is None:
        return {}
    data = dict(row.data or {})
    shown = {k: data[k] for k in IVR_FIELDS if data.get(k) not in (None, "", 0, False)}
    shown["verified"] = bool(data.get("verified"))
    return shown
