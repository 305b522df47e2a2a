"""A queued caller's wait: what the ``waitUrl`` answers, the callback offer, and the end.

Twilio fetches the ``waitUrl`` when the caller is enqueued and again each time its TwiML ends;
each answer here says the caller's position and expected wait (every
``desk.announce_every_seconds``), every ``desk.callback_offer_every``-th time offers "press 1
to be called back instead", then holds (the hold audio, or silence) and redirects to the next
stretch. Never an empty document. ``<Leave>`` takes the caller out when they press 1, when the
maximum wait has passed, or when nobody who serves them is on shift any more; the ``<Enqueue>``
action then books the callback (:func:`dequeued`) at a time inside their calling window. A
caller who hangs up while queued is recorded as abandoned (and can no longer be bridged).

Every answer depends on the queue record and the request, never on a counter kept in a
process: a replayed request gets the same answer, and a restarted web process loses nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from campaigns.callbacks import CallbackWanted, request_callback
from desk import queueing
from desk.escalation import Desk, queue_open
from desk.figures import expected_wait_seconds
from ivr import speech
from store.models import Account
from store.models_desk import QueueEntry
from telephony import desk_twiml, routes
from telephony.zones import is_known_zone, number_zones

#: Twilio's QueueResult values for a caller who left the queue for a reason of ours or theirs,
#: which the callback offer follows (Enqueue docs: ``leave``, ``queue-full``, ``error``,
#: ``system-error``); ``hangup`` is an abandon; ``bridged`` and ``redirected`` ended elsewhere.
_TO_CALLBACK = frozenset({"leave", "queue-full", "error", "system-error"})
_OVER = frozenset({"bridged", "bridging-in-process", "redirected"})


def _entry(session: Session, entry_id: int | None, call_sid: str) -> QueueEntry | None:
    """The record ``entry_id`` if it is ``call_sid``'s (anything else is not this call's)."""
    if entry_id is None:
        return None
    entry = session.get(QueueEntry, entry_id)
    return (
        entry
        if entry is not None and entry.call_sid is not None and entry.call_sid == call_sid
        else None
    )


def must_leave(session: Session, desk: Desk, entry: QueueEntry, now: datetime) -> str | None:
    """Why the waiting caller must leave for a callback now, or None."""
    queue = desk.settings.queue(entry.queue)
    if queue is None:
        return "closed"
    if now - entry.enqueued_at >= timedelta(seconds=queue.max_wait_seconds):
        return "max_wait"
    if not queue_open(session, desk.settings, queue, entry.language, now, present=False):
        # The queue's hours are over, or the last shift that serves the caller ended.
        return "closed"
    return None


def wait(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    call_sid: str,
    loop: int,
    queue_sid: str | None,
    now: datetime,
) -> str:
    """The ``waitUrl``'s answer for stretch ``loop`` (0 when Twilio first fetches it)."""
    entry = _entry(session, entry_id, call_sid)
    if entry is None or entry.status not in queueing.QUEUED:
        return desk_twiml.leave()
    if queue_sid and entry.queue_sid != queue_sid:
        queueing.set_queue_sid(session, entry, queue_sid)
    if entry.status == "waiting":
        why = must_leave(session, desk, entry, now)
        if why is not None:
            queueing.left(session, entry, why, now=now)
            return desk_twiml.leave()
    settings = desk.settings
    words = desk.words
    language = entry.language
    position = queueing.position(session, entry)
    expected = expected_wait_seconds(
        session, settings, entry.queue, position, since=now - timedelta(days=1)
    )
    lines = [
        words.line(
            language,
            "desk_position",
            position=position,
            minutes=max(1, math.ceil(expected / 60)),
        )
    ]
    offer = loop % settings.callback_offer_every == settings.callback_offer_every - 1
    queueing.count_loop(session, entry, loop)
    return desk_twiml.wait(
        lines,
        hold_audio_url=settings.hold_audio_url,
        hold_seconds=settings.announce_every_seconds,
        next_url=desk.url(routes.DESK_WAIT, entry=entry.id, loop=loop + 1),
        offer=[words.line(language, "desk_callback_offer")] if offer else (),
        offer_url=desk.url(routes.DESK_WAIT, entry=entry.id, loop=loop, offer=1) if offer else None,
    )


def offer_key(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    call_sid: str,
    digits: str,
    loop: int,
    queue_sid: str | None,
    now: datetime,
) -> str:
    """The caller answered the callback offer: 1 leaves the queue for a callback; any other
    key is the next stretch of the wait."""
    entry = _entry(session, entry_id, call_sid)
    # A replayed "1" finds the caller already left: the same answer.
    if (
        entry is not None
        and digits == "1"
        and (queueing.left(session, entry, "caller", now=now) or entry.status == "left")
    ):
        return desk_twiml.leave()
    return wait(
        session,
        desk,
        entry_id=entry_id,
        call_sid=call_sid,
        loop=loop + 1,
        queue_sid=queue_sid,
        now=now,
    )


def dequeued(
    session: Session,
    desk: Desk,
    *,
    entry_id: int | None,
    call_sid: str,
    result: str,
    now: datetime,
) -> str:
    """The ``<Enqueue>`` action: book the callback of a caller who left, record an abandon."""
    entry = _entry(session, entry_id, call_sid)
    if entry is None:
        return desk_twiml.say_then_hang_up(())
    if result == "hangup":
        queueing.abandoned(session, entry, now=now)
        return desk_twiml.say_then_hang_up(())
    if result in _OVER and entry.status == "bridged" and entry.agent_leg_sid:
        # Moved to the agent by the Queue Members API: the new URL is what the call runs, but
        # should this answer be played instead, it leads to the same conference.
        return desk_twiml.conference(f"agent-{entry.agent_leg_sid}")
    if result in _OVER or result not in _TO_CALLBACK:
        return desk_twiml.say_then_hang_up(())
    if entry.status in queueing.QUEUED:
        queueing.left(session, entry, "caller" if result == "leave" else "error", now=now)
    at = callback_time(session, desk, entry, now)
    request_callback(
        session,
        CallbackWanted(
            number=entry.number,
            reason=entry.reason,
            language=entry.language,
            priority=desk.settings.urgency(entry.queue),
            dedupe_key=f"desk-callback:{entry.call_sid}",
            account_id=entry.account_id,
            preferred_at=at,
            call_sid=entry.call_sid,
            verified=entry.verified,
        ),
        now=now,
    )
    words = desk.words
    lines = []
    if entry.left_reason in ("max_wait", "closed", "error"):
        lines.append(words.line(entry.language, "desk_busy"))
    if at is None:
        lines.append(words.line(entry.language, "callback_asap"))
    else:
        zone = _zones(session, entry.number, entry.account_id)[0]
        local = at.astimezone(ZoneInfo(zone)).time()
        spoken = speech.clock(local, words.language(entry.language))
        lines.append(words.line(entry.language, "callback_at", time=spoken))
    return desk_twiml.say_then_hang_up(lines)


def _zones(session: Session, number: str, account_id: str | None) -> tuple[str, ...]:
    declared = None
    if account_id is not None:
        account = session.get(Account, account_id)
        declared = account.timezone if account is not None else None
    zones = tuple(
        dict.fromkeys(z for z in (declared, *number_zones(number)) if z and is_known_zone(z))
    )
    return zones or ("UTC",)


def window_time(
    session: Session, desk: Desk, number: str, account_id: str | None, now: datetime
) -> datetime | None:
    """None when ``now`` is inside the calling window of ``number`` in every zone of the
    cardholder; else the next quarter hour that is (within three days), else None."""
    profile = desk.legal.for_number(number)
    zones = [ZoneInfo(z) for z in _zones(session, number, account_id)]

    def inside(instant: datetime) -> bool:
        return all(
            profile.window_start <= instant.astimezone(zone).time() < profile.window_close
            for zone in zones
        )

    if inside(now):
        return None
    start = now.replace(second=0, microsecond=0)
    start += timedelta(minutes=15 - start.minute % 15)
    for step in range(4 * 24 * 3):
        candidate = start + timedelta(minutes=15 * step)
        if inside(candidate):
            return candidate
    return None


def callback_time(
    session: Session, desk: Desk, entry: QueueEntry, now: datetime
) -> datetime | None:
    """When to call the caller back: None (as soon as possible) when now is inside their
    calling window in every zone of theirs, else the next quarter hour that is."""
    return window_time(session, desk, entry.number, entry.account_id, now)
