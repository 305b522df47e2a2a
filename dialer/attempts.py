"""The attempt lifecycle: the one writer of an attempt's status, outcome, ``connected`` and verdict.

Every change to an ``attempts`` row goes through a function here, whoever learnt it: the
dispatcher and the outbox record an attempt and commit before Twilio is asked, then store the SID
(:func:`record`, :func:`mark_placed`, :func:`mark_unknown`, :func:`close_unplaced`); Twilio's
status and AMD callbacks, stored and deduplicated by :mod:`dialer.callbacks`, move it on
(:func:`apply_call_status`, :func:`apply_amd_verdict`, :func:`apply_sms_status`); the IVR's
effects say what the call learnt (:func:`apply_ivr_outcome`); the reconciler feeds what Twilio's
REST API says through the same functions. So each rule is written once:

- a call's status only moves forward, by rank (created < queued/initiated < ringing <
  in-progress < a final status) and by Twilio's ``SequenceNumber`` (``last_sequence``); a final
  status never changes; a late event may still fill a time left empty (``answered_at``);
- Twilio reports the ``answered`` event as ``CallStatus=in-progress``;
- the first AMD verdict wins;
- an outcome the IVR recorded is only ever replaced by a stronger one (a promise made on a call
  is also a right-party contact), and the dialer's default outcome fills only an empty one;
- when an attempt becomes final its contact is settled by the retry policy
  (:func:`dialer.outcomes.settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.config import CampaignSettings
from dialer.config import DialerSettings
from dialer.outcomes import MACHINE_VERDICTS, default_outcome, settle
from store.models import Account, Attempt

log = logging.getLogger(__name__)

Channel = Literal["voice", "sms"]

CALL_FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
CALL_RANK: dict[str, int] = {
    "created": 0,
    "unknown": 0,
    "queued": 1,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    **dict.fromkeys(CALL_FINAL, 4),
}
SMS_FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
SMS_RANK: dict[str, int] = {
    "created": 0,
    "unknown": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    **dict.fromkeys(SMS_FINAL, 4),
}

# Outcomes the IVR records, by how much they say: a weaker one never replaces a stronger one.
IVR_OUTCOME_RANK = {"fax": 1, "voicemail_left": 1, "wrong_party": 2, "rpc": 3, "promise": 4}


@dataclass(frozen=True)
class Settling:
    """What settling a final attempt needs: the campaigns by name and the transient delay."""

    campaigns: Mapping[str, CampaignSettings]
    transient_retry: timedelta = timedelta(minutes=5)

    @classmethod
    def of(cls, dialer: DialerSettings, campaigns: Sequence[CampaignSettings]) -> Settling:
        """The one way to build it from the settings (the worker, the web app, the tests)."""
        return cls(
            {c.name: c for c in campaigns}, timedelta(seconds=dialer.transient_retry_seconds)
        )


# --- recording and placing -------------------------------------------------------------------


def record(
    session: Session,
    account: Account,
    *,
    channel: Channel,
    purpose: str,
    number: str,
    now: datetime,
    contact_id: int | None = None,
) -> Attempt:
    """Add the attempt row (flushed, so it has an id) before anything is sent; the caller's
    boundary commits it, and only then may Twilio be asked."""
    attempt = Attempt(
        account_id=account.account_id,
        customer_id=account.customer_id,
        channel=channel,
        purpose=purpose[:32],
        number=number,
        status="created",
        created_at=now,
        contact_id=contact_id,
        last_sequence=-1,
        connected=False,
        final=False,
    )
    session.add(attempt)
    session.flush()
    return attempt


def mark_placed(attempt: Attempt, *, sid: str, status: str, now: datetime) -> None:
    """Twilio accepted the request: keep its SID (unless a callback linked one first) and the
    status it answered with, when that moves the attempt forward."""
    if attempt.provider_sid is None:
        attempt.provider_sid = sid
    elif attempt.provider_sid != sid:
        log.error(
            "attempt %s: Twilio answered %s but a callback linked %s",
            attempt.id,
            sid,
            attempt.provider_sid,
        )
    attempt.placed_at = now
    rank = CALL_RANK if attempt.channel == "voice" else SMS_RANK
    if not attempt.final and rank.get(status, -1) > rank.get(attempt.status, 0):
        attempt.status = status


def mark_unknown(attempt: Attempt) -> None:
    """The request may or may not have reached Twilio: the reconciler resolves it."""
    if not attempt.final and attempt.provider_sid is None:
        attempt.status = "unknown"


def link_sid(attempt: Attempt, sid: str) -> None:
    """Keep a SID learnt from a callback or from Twilio's REST API (the dialer never stored it)."""
    if attempt.provider_sid is None:
        attempt.provider_sid = sid
        log.info("attempt %s: linked %s", attempt.id, sid)


def close_unplaced(
    session: Session,
    attempt: Attempt,
    *,
    now: datetime,
    settling: Settling,
    status: str = "failed",
    outcome: str,
    error_code: int | None = None,
) -> None:
    """Close an attempt Twilio never placed (or that the dialer gave up on) and settle it."""
    if attempt.final:
        return
    attempt.status = status
    attempt.final = True
    attempt.ended_at = now
    attempt.error_code = error_code
    if attempt.outcome is None:
        attempt.outcome = outcome
    settle(session, attempt, settling.campaigns, now=now, transient_retry=settling.transient_retry)


# --- what Twilio reports -------------------------------------------------------------------------


def apply_call_status(
    session: Session,
    attempt: Attempt,
    *,
    status: str,
    sequence: int | None,
    duration: int | None,
    answered_by: str | None,
    error_code: int | None,
    now: datetime,
    settling: Settling,
) -> bool:
    """Move a call attempt to ``status``; False when the event is stale (changes no status)."""
    stale = attempt.final or (sequence is not None and sequence <= attempt.last_sequence)
    if sequence is not None:
        attempt.last_sequence = max(attempt.last_sequence, sequence)
    if answered_by and attempt.answered_by is None:
        attempt.answered_by = answered_by
    if status == "in-progress" and attempt.answered_at is None:
        attempt.answered_at = now
    if stale or CALL_RANK.get(status, -1) <= CALL_RANK.get(attempt.status, 0):
        return False
    attempt.status = status
    if status == "in-progress":
        # Answered: a person until AMD says otherwise (conservative for the conversation caps).
        attempt.connected = attempt.conversation or attempt.answered_by not in MACHINE_VERDICTS
    if status in CALL_FINAL:
        attempt.final = True
        attempt.ended_at = now
        attempt.duration_seconds = duration
        if error_code is not None:
            attempt.error_code = error_code
        # A conversation (keys pressed, identity confirmed, verified) is never undone by the
        # verdict: AMD misreads people as machines, and a person who talked was talked to.
        attempt.connected = attempt.conversation or (
            status == "completed" and attempt.answered_by not in MACHINE_VERDICTS
        )
        if attempt.outcome is None:
            attempt.outcome = default_outcome(attempt)
        settle(
            session,
            attempt,
            settling.campaigns,
            now=now,
            transient_retry=settling.transient_retry,
        )
    return True


def apply_amd_verdict(attempt: Attempt, answered_by: str) -> bool:
    """Record an AMD verdict: the first one wins, and a final attempt keeps what it has.
    False when the verdict changes nothing."""
    if attempt.final or attempt.answered_by is not None:
        return False
    attempt.answered_by = answered_by[:32]
    if CALL_RANK.get(attempt.status, 0) >= CALL_RANK["in-progress"]:
        attempt.connected = attempt.conversation or answered_by not in MACHINE_VERDICTS
    return True


def apply_sms_status(
    session: Session,
    attempt: Attempt,
    *,
    status: str,
    error_code: int | None,
    now: datetime,
    settling: Settling,
) -> bool:
    """Move an SMS attempt to ``status`` (forward only; final closes it); False when stale."""
    if attempt.final or SMS_RANK.get(status, -1) <= SMS_RANK.get(attempt.status, 0):
        return False
    attempt.status = status
    if status in SMS_FINAL:
        attempt.final = True
        attempt.ended_at = now
        if error_code is not None:
            attempt.error_code = error_code
        if attempt.outcome is None:
            attempt.outcome = default_outcome(attempt)
        settle(
            session, attempt, settling.campaigns, now=now, transient_retry=settling.transient_retry
        )
    return True


def fail_send(attempt: Attempt, *, now: datetime, error_code: int | None, outcome: str) -> None:
    """A text the carrier refused outright (an outbox send outside any campaign): closed."""
    attempt.status, attempt.final, attempt.ended_at = "failed", True, now
    attempt.error_code = error_code
    attempt.outcome = attempt.outcome or outcome


# --- what the call learnt --------------------------------------------------------------------


def record_inbound(
    session: Session,
    account: Account,
    *,
    number: str | None,
    call_sid: str,
    conversation: bool,
    now: datetime,
) -> Attempt | None:
    """A hotline call in the contact ledger: the cardholder called us about ``account``
    (``conversation``: they verified, so we talked with the person -- Reg F 1006.14(b)(2)(i)(B)
    counts a conversation whoever placed the call). Once per call: None when its CallSid is
    already recorded (a conversation learnt later upgrades the row)."""
    existing = session.scalars(
        select(Attempt).where(Attempt.provider_sid == call_sid).with_for_update()
    ).first()
    if existing is not None:
        if conversation and not existing.conversation:
            existing.conversation = existing.connected = True
            existing.outcome = "conversation"
        return None
    attempt = Attempt(
        account_id=account.account_id,
        customer_id=account.customer_id,
        channel="voice",
        direction="inbound",
        purpose="hotline",
        number=(number or "")[:16],
        status="completed",
        provider_sid=call_sid,
        created_at=now,
        placed_at=now,
        answered_at=now,
        ended_at=now,
        connected=conversation,
        conversation=conversation,
        outcome="conversation" if conversation else "hotline",
        last_sequence=-1,
        final=True,
    )
    session.add(attempt)
    session.flush()
    return attempt


def apply_ivr_outcome(
    session: Session,
    attempt_id: int | None,
    *,
    answered_by: str | None = None,
    connected: bool = False,
    conversation: bool = False,
    outcome: str | None = None,
) -> None:
    """What the IVR learnt about its reminder attempt: a verdict (the first one wins), a person
    on the line, a conversation (kept for good), an outcome (never weaker than the one
    recorded)."""
    if attempt_id is None:
        return
    attempt = session.scalars(
        select(Attempt).where(Attempt.id == attempt_id).with_for_update()
    ).first()
    if attempt is None:
        return
    if answered_by and attempt.answered_by is None:
        attempt.answered_by = answered_by[:32]
    if connected or conversation:
        attempt.connected = True
    if conversation:
        attempt.conversation = True
    if outcome and IVR_OUTCOME_RANK.get(outcome, 0) >= IVR_OUTCOME_RANK.get(
        attempt.outcome or "", 0
    ):
        attempt.outcome = outcome
