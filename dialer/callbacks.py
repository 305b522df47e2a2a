"""Twilio's callbacks received: stored once, linked to their attempt, handed to its lifecycle.

Twilio repeats callbacks and delivers them out of order; the IVR may also answer a call the
dialer never stored the SID of (it died between the REST request and the commit). So every
callback -- a call status, an AMD verdict, an SMS status, or what the reconciler learnt from the
REST API -- takes one receive step here:

- it is stored as received (masked) in ``callback_events``, with a dedupe key -- the SID and
  Twilio's ``SequenceNumber``, or for events without one (AMD verdicts, the reconciler's
  lookups, SMS statuses) the SID and the status or verdict -- and a repeat changes nothing;
- ``?attempt=<id>`` on every callback URL links a CallSid the worker never stored;
- what it means for the attempt is decided by the attempt lifecycle (:mod:`dialer.attempts`),
  the one writer of attempts: statuses move forward only, the first AMD verdict wins, a final
  attempt settles its contact.

Nothing here knows Flask: webhooks/status.py and webhooks/voice.py parse the forms and call
these functions; the reconciler feeds them what it learns from Twilio's REST API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialer import attempts, control
from dialer.attempts import Settling
from store.models import Attempt
from store.models_dialer import CallbackEvent, Contact
from store.privacy import mask_mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallEvent:
    """One call status callback, parsed (``CallStatus``, ``SequenceNumber``, ...)."""

    call_sid: str
    status: str
    attempt_id: int | None = None
    sequence: int | None = None
    duration: int | None = None
    answered_by: str | None = None
    error_code: int | None = None
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AmdEvent:
    """An asynchronous answering-machine-detection verdict (``AnsweredBy``)."""

    call_sid: str
    answered_by: str
    attempt_id: int | None = None
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SmsEvent:
    """One SMS status callback (``MessageStatus``, ``ErrorCode``)."""

    message_sid: str
    status: str
    attempt_id: int | None = None
    error_code: int | None = None
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """The state machine's verdict on one event: ``applied``, ``duplicate``, ``stale``,
    ``unlinked`` (no attempt known for it) or ``mismatch`` (the attempt has another SID)."""

    effect: str
    attempt_id: int | None = None
    final: bool = False


def apply_call_event(
    session: Session,
    event: CallEvent,
    *,
    now: datetime,
    settling: Settling,
    source: str = "call-status",
) -> Applied:
    """Apply one call status event; the caller's boundary commits."""
    key = (
        f"{event.call_sid}:seq:{event.sequence}"
        if event.sequence is not None
        else f"{event.call_sid}:{source}:{event.status}"
    )
    received = _receive(
        session,
        kind=source,
        key=key,
        sid=event.call_sid,
        attempt_id=event.attempt_id,
        channel="voice",
        status=event.status,
        sequence=event.sequence,
        raw=event.raw,
        now=now,
    )
    if isinstance(received, Applied):
        return received
    attempt, stored = received.attempt, received.stored

    if source == "call-status":
        _callbacks_arrive(session, attempt, now)
    moved = attempts.apply_call_status(
        session,
        attempt,
        status=event.status,
        sequence=event.sequence,
        duration=event.duration,
        answered_by=event.answered_by,
        error_code=event.error_code,
        now=now,
        settling=settling,
    )
    stored.effect = "applied" if moved else "stale"
    return Applied(stored.effect, attempt.id, attempt.final)


def apply_amd_event(session: Session, event: AmdEvent, *, now: datetime) -> Applied:
    """Receive an AMD verdict: stored once (a repeat is a ``duplicate``), then recorded on the
    attempt by its lifecycle (the first verdict wins; once the call is final it is kept, unused)."""
    received = _receive(
        session,
        kind="amd",
        key=f"{event.call_sid}:amd",
        sid=event.call_sid,
        attempt_id=event.attempt_id,
        channel="voice",
        status=event.answered_by,
        sequence=None,
        raw=event.raw,
        now=now,
    )
    if isinstance(received, Applied):
        return received
    attempt, stored = received.attempt, received.stored
    moved = attempts.apply_amd_verdict(attempt, event.answered_by)
    stored.effect = "applied" if moved else "stale"
    return Applied(stored.effect, attempt.id, attempt.final)


def apply_sms_event(
    session: Session,
    event: SmsEvent,
    *,
    now: datetime,
    settling: Settling,
    source: str = "sms-status",
) -> Applied:
    """Apply one SMS status event (delivery details belong to the SMS feature; this keeps the
    attempt's status moving forward only and closes it on a final status)."""
    received = _receive(
        session,
        kind=source,
        key=f"{event.message_sid}:{source}:{event.status}",
        sid=event.message_sid,
        attempt_id=event.attempt_id,
        channel="sms",
        status=event.status,
        sequence=None,
        raw=event.raw,
        now=now,
    )
    if isinstance(received, Applied):
        return received
    attempt, stored = received.attempt, received.stored
    moved = attempts.apply_sms_status(
        session,
        attempt,
        status=event.status,
        error_code=event.error_code,
        now=now,
        settling=settling,
    )
    stored.effect = "applied" if moved else "stale"
    return Applied(stored.effect, attempt.id, attempt.final)


@dataclass
class _Received:
    """An event stored and linked to its attempt, ready to apply (see :func:`_receive`)."""

    attempt: Attempt
    stored: CallbackEvent


def _receive(
    session: Session,
    *,
    kind: str,
    key: str,
    sid: str,
    attempt_id: int | None,
    channel: str,
    status: str | None,
    sequence: int | None,
    raw: Mapping[str, str],
    now: datetime,
) -> _Received | Applied:
    """Store the event and find its attempt; an :class:`Applied` when there is nothing more to
    do (a repeat, no attempt, or an attempt the event does not belong to)."""
    attempt, effect = _link(session, attempt_id, sid, channel)
    stored = _store_event(
        session,
        kind=kind,
        key=key,
        sid=sid,
        attempt=attempt,
        status=status,
        sequence=sequence,
        raw=raw,
        now=now,
    )
    if stored is None:
        return Applied("duplicate", attempt.id if attempt else None)
    if attempt is None or effect != "linked":
        stored.effect = effect
        return Applied(effect, attempt.id if attempt else None)
    return _Received(attempt, stored)


def _link(
    session: Session, attempt_id: int | None, sid: str, channel: str
) -> tuple[Attempt | None, str]:
    """The attempt an event is about: by ``?attempt=`` (linking the SID if the dialer never
    stored it), else by SID. Returns (attempt, "linked" | "unlinked" | "mismatch")."""
    attempt: Attempt | None = None
    if attempt_id is not None:
        attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        attempt = session.scalars(
            select(Attempt).where(Attempt.provider_sid == sid).with_for_update()
        ).first()
        if attempt is None:
            log.warning(
                "callback for unknown %s (attempt %s): stored, not applied", sid, attempt_id
            )
            return None, "unlinked"
    if attempt.channel != channel:
        return attempt, "mismatch"
    if attempt.provider_sid is None:
        taken = session.scalar(select(Attempt.id).where(Attempt.provider_sid == sid))
        if taken is not None:
            return attempt, "mismatch"
        attempts.link_sid(attempt, sid)
    elif attempt.provider_sid != sid:
        log.error("attempt %s has %s; a callback names %s", attempt.id, attempt.provider_sid, sid)
        return attempt, "mismatch"
    return attempt, "linked"


def _store_event(
    session: Session,
    *,
    kind: str,
    key: str,
    sid: str,
    attempt: Attempt | None,
    status: str | None,
    sequence: int | None,
    raw: Mapping[str, str],
    now: datetime,
) -> CallbackEvent | None:
    """Store the event; None when its dedupe key was stored before (a repeat)."""
    if session.scalar(select(CallbackEvent.id).where(CallbackEvent.dedupe_key == key)):
        return None
    row = CallbackEvent(
        kind=kind,
        dedupe_key=key[:120],
        provider_sid=sid,
        attempt_id=attempt.id if attempt else None,
        status=status,
        sequence=sequence,
        received_at=now,
        effect="received",
        payload=mask_mapping(raw),
    )
    try:
        # A savepoint: a concurrent twin (two web workers) loses here without aborting the
        # request's transaction.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def _callbacks_arrive(session: Session, attempt: Attempt, now: datetime) -> None:
    """Twilio's callbacks reach us: the missing-callback streak of the campaign starts again."""
    if attempt.contact_id is None:
        return
    campaign = session.scalar(select(Contact.campaign).where(Contact.id == attempt.contact_id))
    if campaign is not None:
        control.reset(session, campaign, "missing_callback_streak", now)
