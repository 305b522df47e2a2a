"""Booked callbacks placed agent first: the agent is rung, hears whom to call, presses 1, and
only then is the cardholder dialled -- from the agent's own leg, so nobody waits in silence.

A due callback request (``campaigns/callbacks.py``: ``open``, its time come) becomes a record
in its queue (``callbacks``: no caller on the line, ``call_sid`` empty) when the cardholder's
calling window is open in every zone of theirs and an agent for it is on shift; the live
transfer's job then offers it like a waiting caller. On the agent's 1 the contact policy is
asked (at dial time, with the cardholder's own request as the consent Reg F 1006.14(b)(3)
honours) and the decision stored; allowed, the cardholder's leg is an attempt like any other
(``dialer/attempts.py``: recorded before it is dialled, its status callbacks on
``/twilio/voice/status?attempt=<id>``). Reached, the request is done; not reached (no answer,
busy, the agent declined, the policy said not now), it is opened again for a later time inside
the window, its tries counted, and ``duecall report`` shows it among the open requests.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import callbacks
from desk import agents, queueing
from desk.escalation import Desk, queue_open
from desk.waiting import window_time
from dialer import attempts
from dialer.compliance import check_contact
from store.models import Account, Attempt, CallbackRequest
from store.models_desk import DeskAgent, QueueEntry
from telephony import desk_twiml, routes
from telephony.desk_twiml import LegAnswer

log = logging.getLogger(__name__)

#: A callback not reached is tried again this much later (inside the window).
RETRY_AFTER = timedelta(minutes=15)
#: How long the cardholder's phone rings.
RING_SECONDS = 30
#: Attempt statuses that mean the cardholder picked up.
REACHED = frozenset({"in-progress", "completed"})


def enqueue_due(session: Session, desk: Desk, *, now: datetime) -> int:
    """Due callbacks that can be placed now become queue records; how many."""
    queued = 0
    for request in callbacks.due(session, now=now):
        if request.account_id is None:
            continue  # no account to check the policy against: for a person to handle
        queue = desk.settings.queue_for("callback", request.language)
        if queue is None or not queue_open(session, desk.settings, queue, request.language, now):
            continue
        if window_time(session, desk, request.number, request.account_id, now) is not None:
            continue  # the cardholder's window is closed: later
        if not callbacks.take(session, request.id):
            continue
        queueing.enqueue_callback(session, queue.name, request, now=now)
        queued += 1
    return queued


def give_back_closed(session: Session, desk: Desk, *, now: datetime) -> int:
    """Callback records still waiting when the cardholder's window has closed go back to
    their requests, for the next window."""
    given = 0
    waiting = session.scalars(
        select(QueueEntry).where(
            QueueEntry.status == "waiting", QueueEntry.callback_id.is_not(None)
        )
    ).all()
    for entry in waiting:
        at = window_time(session, desk, entry.number, entry.account_id, now)
        if at is None or entry.callback_id is None:
            continue
        if queueing.left(session, entry, "closed", now=now):
            callbacks.retry(session, entry.callback_id, at=at, note="the calling window closed")
            given += 1
    return given


def dial(
    session: Session, desk: Desk, entry: QueueEntry, agent: DeskAgent, *, now: datetime
) -> LegAnswer:
    """The agent pressed 1 for the callback ``entry``: ask the policy, record the attempt,
    dial the cardholder from the agent's leg."""
    request = session.get(CallbackRequest, entry.callback_id) if entry.callback_id else None
    account = session.get(Account, entry.account_id) if entry.account_id else None
    language = agent.languages.split(",")[0]
    if request is None or account is None or desk.policy is None:
        return LegAnswer(desk_twiml.say_then_hang_up(()))
    decision, decision_row = check_contact(
        session,
        account,
        entry.number,
        "voice",
        now=now,
        profile=desk.policy.for_number(entry.number),
        context="desk_callback",
        consented_callback_at=request.preferred_at or request.created_at,
        consented_callback_requested_at=request.created_at,
    )
    if not decision.allowed:
        queueing.left(session, entry, "policy", now=now)
        agents.move(session, agent.id, "available", now=now, expect="offered")
        at = decision.next_allowed_at
        note = f"not placed: {decision.rule}: {decision.reason}"
        if at is None:
            callbacks.cancel(session, request.id, note=note)
        else:
            callbacks.retry(session, request.id, at=at, note=note)
        log.info("desk: callback %s not placed (%s)", request.id, decision.rule)
        return LegAnswer(
            desk_twiml.say_then_hang_up([desk.words.line(language, "desk_callback_denied")])
        )
    attempt = attempts.record(
        session, account, channel="voice", purpose="callback", number=entry.number, now=now
    )
    decision_row.attempt_id = attempt.id
    queueing.set_attempt(session, entry, attempt.id)
    queueing.bridged(session, entry, now=now)
    agents.move(session, agent.id, "on_call", now=now, expect="offered")
    return LegAnswer(
        desk_twiml.dial_number(
            entry.number,
            caller_id=desk.caller_id,
            action_url=desk.url(routes.DESK_AGENT, entry=entry.id, agent=agent.id, step="after"),
            status_url=desk.url(routes.VOICE_STATUS, attempt=attempt.id),
            timeout=RING_SECONDS,
        )
    )


def finish(
    session: Session, desk: Desk, entry: QueueEntry, *, dial_status: str | None, now: datetime
) -> None:
    """The agent's ``<Dial>`` to the cardholder ended (``dial_status``: Twilio's
    ``DialCallStatus``; None when the agent hung up and only the leg's status says so)."""
    if entry.callback_id is None:
        return
    reached = dial_status in ("completed", "answered")
    if dial_status is None and entry.attempt_id is not None:
        attempt = session.get(Attempt, entry.attempt_id)
        reached = attempt is not None and attempt.status in REACHED
    queueing.ended(session, entry, now=now)
    if reached:
        callbacks.close(session, entry.callback_id, note="called back by an agent")
        return
    at = window_time(session, desk, entry.number, entry.account_id, now + RETRY_AFTER)
    callbacks.retry(
        session,
        entry.callback_id,
        at=at or now + RETRY_AFTER,
        note=f"not reached: {dial_status or 'the agent hung up'}",
    )
