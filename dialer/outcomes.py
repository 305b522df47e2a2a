"""What an ended attempt means for its contact: done, retry later, or fall back to SMS.

Called once per attempt, when it becomes final (a status callback, the reconciler, or a dial
that failed on the spot). The retry policy is the campaign's: per outcome of a call that reached
nobody (busy, no-answer, failed, machine) a delay and a maximum of retries, and over all a
maximum of attempts per contact in the run. The contact policy still has the last word at the
next dial (caps, windows), so a retry scheduled here is a wish, never a licence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.config import CampaignSettings, RetryOutcome
from store.models import Attempt
from store.models_dialer import CampaignRun, Contact

log = logging.getLogger(__name__)

MACHINE_VERDICTS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
#: Outcomes the IVR records on an answered call (it owns them; the dialer never overwrites).
IVR_MACHINE_OUTCOMES = frozenset({"voicemail_left"})
IVR_CLOSING_OUTCOMES = frozenset({"wrong_party"})
#: Outcomes the dialer records when Twilio refuses a number for good: never retried.
BAD_NUMBER = "bad_number"
OPTED_OUT = "opted_out"
#: Attempts that never reached the carrier: they neither use a retry nor count toward the run's
#: maximum (the contact policy still counts them, conservatively, as calls).
NOT_PLACED = "not_placed"
#: Attempts Twilio definitely refused (a rate limit, 20429 / 429, 10004, 22005, or a connection
#: that never opened): no call can have rung, so unlike ``not_placed`` the contact policy does
#: not count them either (``dialer.compliance.load_history``). Settled like ``not_placed``.
REFUSED = "refused"
#: Attempts recorded but held back before their request left, because the worker was told to stop
#: meanwhile (credentials refused, a Retry-After): like ``refused``, never sent and never counted.
WITHHELD = "withheld"
#: Outcomes of attempts that certainly never reached the carrier: no cap counts them.
NEVER_SENT = frozenset({REFUSED, WITHHELD})
UNPLACED = frozenset({NOT_PLACED, *NEVER_SENT})

Verdict = Literal[
    "connected", "wrong_party", "bad_number", "busy", "no_answer", "failed", "machine", "not_placed"
]


def call_verdict(attempt: Attempt) -> Verdict:
    """Classify a final call attempt for the retry policy."""
    if attempt.outcome in UNPLACED:
        return "not_placed"
    if attempt.outcome in IVR_CLOSING_OUTCOMES:
        return "wrong_party"
    if attempt.outcome in (BAD_NUMBER, OPTED_OUT):
        return "bad_number"
    if attempt.conversation:
        # A person pressed keys or answered: whatever AMD said, they were reached.
        return "connected"
    if attempt.outcome in IVR_MACHINE_OUTCOMES or attempt.answered_by in MACHINE_VERDICTS:
        return "machine"
    if attempt.status == "busy":
        return "busy"
    if attempt.status == "no-answer":
        return "no_answer"
    if attempt.status == "completed":
        return "connected"
    return "failed"


def default_outcome(attempt: Attempt) -> str:
    """The outcome the dialer records when the IVR recorded none (``Attempt.outcome`` is set
    only while still null)."""
    if attempt.channel == "sms":
        return attempt.status
    verdict = call_verdict(attempt)
    return {"connected": "answered", "no_answer": "no_answer"}.get(verdict, verdict)


def settle(
    session: Session,
    attempt: Attempt,
    campaigns: Mapping[str, CampaignSettings],
    *,
    now: datetime,
    transient_retry: timedelta,
) -> str | None:
    """Move ``attempt``'s contact on now that the attempt is final; returns the contact's new
    state (None when there is no contact or it was already moved on)."""
    if attempt.contact_id is None:
        return None
    contact = session.get(Contact, attempt.contact_id, with_for_update=True)
    if contact is None or contact.state != "waiting" or contact.current_attempt_id != attempt.id:
        return None
    contact.current_attempt_id = None
    contact.claimed_by = contact.claim_token = None
    contact.updated_at = now
    contact.last_outcome = attempt.outcome
    campaign = campaigns.get(contact.campaign)
    if campaign is None:
        return _close(contact, "campaign_removed")

    run_status = session.scalar(select(CampaignRun.status).where(CampaignRun.id == contact.run_id))
    if attempt.channel == "sms":
        if attempt.outcome in UNPLACED and run_status != "superseded":
            return _retry(contact, now + transient_retry)
        if sms_may_retry(attempt) and run_status != "superseded":
            sent = _sms_history(session, contact.id)
            retries_used = sum(1 for a in sent if sms_may_retry(a)) - 1
            made = sum(1 for a in sent if a.outcome not in UNPLACED)
            rule = campaign.retry.sms_undelivered
            if retries_used < rule.max and made < campaign.max_attempts:
                return _retry(contact, now + timedelta(minutes=rule.delay_minutes))
        return _close(contact, f"sms_{attempt.outcome or attempt.status}")

    verdict = call_verdict(attempt)
    if verdict in ("connected", "wrong_party", "bad_number"):
        return _close(contact, verdict)
    if verdict == "not_placed":
        if run_status == "superseded":
            return _close(contact, "superseded")
        return _retry(contact, now + transient_retry)

    history = _verdicts(session, contact.id)
    made = sum(1 for v in history if v != "not_placed")
    retries_used = sum(1 for v in history if v == verdict) - 1
    rule = campaign.retry.rule(_retry_outcome(verdict))
    if retries_used < rule.max and made < campaign.max_attempts:
        if run_status == "superseded":
            return _close(contact, "superseded")
        return _retry(contact, now + timedelta(minutes=rule.delay_minutes))
    if campaign.channel == "voice_sms_fallback" and "connected" not in history:
        # The calls are exhausted without reaching anyone: the reminder goes by SMS instead,
        # through the dispatcher (pacing, the contact policy for SMS, consent) like any send.
        contact.channel = "sms"
        log.info("contact %s: calls exhausted (%s), falling back to SMS", contact.id, verdict)
        return _retry(contact, now)
    return _close(contact, f"exhausted_{verdict}")


#: Delivery errors that may pass: 30001 queue overflow, 30003 unreachable handset (switched off,
#: out of coverage), 30008 unknown carrier error, 30036 validity period expired (the window
#: closed before Twilio could send it). Landlines (30006), blocked (30004) and filtered (30007)
#: messages or unknown numbers (30005) would fail again.
SMS_TRANSIENT_ERRORS = frozenset({30001, 30003, 30008, 30036})


def sms_may_retry(attempt: Attempt) -> bool:
    """Whether an SMS attempt ended undelivered for a reason that may pass."""
    return (
        attempt.channel == "sms"
        and attempt.status in ("undelivered", "failed")
        and attempt.error_code in SMS_TRANSIENT_ERRORS
    )


def _sms_history(session: Session, contact_id: int) -> list[Attempt]:
    return list(
        session.scalars(
            select(Attempt).where(
                Attempt.contact_id == contact_id,
                Attempt.channel == "sms",
                Attempt.final.is_(True),
            )
        )
    )


def _retry_outcome(verdict: Verdict) -> RetryOutcome:
    if verdict in ("busy", "no_answer", "machine"):
        return verdict
    return "failed"


def _verdicts(session: Session, contact_id: int) -> list[Verdict]:
    attempts = session.scalars(
        select(Attempt).where(
            Attempt.contact_id == contact_id, Attempt.channel == "voice", Attempt.final.is_(True)
        )
    ).all()
    return [call_verdict(a) for a in attempts]


def _retry(contact: Contact, at: datetime) -> str:
    contact.state = "pending"
    contact.next_attempt_at = at
    return "pending"


def _close(contact: Contact, reason: str) -> str:
    contact.state = "done"
    contact.closed_reason = reason
    return "done"
