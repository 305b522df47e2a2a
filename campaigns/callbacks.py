"""Callback requests: a caller who asked for (or was offered) a person, to be called back.

The one writer of ``callback_requests``. The IVR decides that a callback is wanted and returns it
as an effect; the web edge hands it here in the same transaction. The agent desk will read these
rows (and add its own) to call cardholders back; ``duecall report`` counts the open ones.

A request is stored once per ``dedupe_key``: a webhook Twilio sends twice, or a step replayed after
a lost race, asks for one callback, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Account, CallbackRequest


@dataclass(frozen=True)
class CallbackWanted:
    """A callback to book. ``preferred_at`` None: as soon as possible; ``verified``: the caller
    passed verification on the call that asked (the desk may then discuss the account)."""

    number: str
    reason: str
    language: str
    priority: int
    dedupe_key: str
    account_id: str | None = None
    preferred_at: datetime | None = None
    call_sid: str | None = None
    verified: bool = False


def request_callback(session: Session, wanted: CallbackWanted, *, now: datetime) -> bool:
    """Book ``wanted`` unless a request with its dedupe key exists; True when this call booked it.

    An account id that names no account is dropped (the caller keyed an unknown number): the
    request is still booked against the number.
    """
    if session.scalar(
        select(CallbackRequest.id).where(CallbackRequest.dedupe_key == wanted.dedupe_key)
    ):
        return False
    account_id = wanted.account_id
    if account_id is not None and session.get(Account, account_id) is None:
        account_id = None
    session.add(
        CallbackRequest(
            account_id=account_id,
            number=wanted.number[:16],
            reason=wanted.reason[:32],
            language=wanted.language,
            priority=wanted.priority,
            preferred_at=wanted.preferred_at,
            status="open",
            created_at=now,
            call_sid=wanted.call_sid,
            dedupe_key=wanted.dedupe_key[:120],
            verified=wanted.verified,
        )
    )
    return True
