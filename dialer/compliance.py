"""The compliance gate's I/O half: load the facts, ask the pure policy, store the decision.

Every caller that is about to contact a cardholder (dispatch, the outbox, SMS) goes through
:func:`check_contact`, so every decision, allowed or denied, lands in ``compliance_decisions`` with
the rule, the reason and the facts it used: "why was this number called at 20:55 on the 3rd?" has
an answer row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from campaigns.accounts import has_consent
from campaigns.legal import country_of
from campaigns.suppressions import active_suppressions
from dialer.outcomes import NEVER_SENT
from dialer.policy import (
    Attempt as PastAttempt,
)
from dialer.policy import (
    Channel,
    ContactFacts,
    ContactHistory,
    Decision,
    PolicyProfile,
    decide,
    history_since,
)
from store.models import Account, Attempt, ComplianceDecision


def load_facts(
    session: Session,
    account: Account,
    number: str,
    channel: Channel,
    *,
    consented_callback_at: datetime | None = None,
    consented_callback_requested_at: datetime | None = None,
) -> ContactFacts:
    """The policy's view of one contact, read from the store."""
    return ContactFacts(
        channel=channel,
        account_id=account.account_id,
        customer_id=account.customer_id,
        number=number,
        declared_timezone=account.timezone,
        account_status=account.status,
        consent=has_consent(session, account_id=account.account_id, number=number, channel=channel),
        suppressions=active_suppressions(session, number=number, account_id=account.account_id),
        country=country_of(number),
        consented_callback_at=consented_callback_at,
        consented_callback_requested_at=consented_callback_requested_at,
    )


def load_history(
    session: Session, account: Account, number: str, now: datetime, profile: PolicyProfile
) -> ContactHistory:
    """Every call and text with the person (all their accounts and numbers, both directions:
    a hotline conversation counts) and to ``number`` since the oldest day the profile counts,
    in-flight ones included."""
    since = history_since(now, profile)
    rows = session.execute(
        select(
            Attempt.created_at,
            Attempt.channel,
            Attempt.number,
            Attempt.account_id,
            Attempt.connected,
            Attempt.outcome,
            Attempt.direction,
            Attempt.customer_id,
        ).where(
            Attempt.created_at >= since,
            or_(Attempt.customer_id == account.customer_id, Attempt.number == number),
            # Refused by Twilio on the spot, or never sent: nothing rang, so no cap counts it.
            or_(Attempt.outcome.is_(None), Attempt.outcome.not_in(NEVER_SENT)),
        )
    ).all()
    return ContactHistory(
        attempts=tuple(
            PastAttempt(
                at=at,
                channel="voice" if channel == "voice" else "sms",
                number=num,
                account_id=account_id,
                connected=connected,
                outcome=outcome,
                direction="inbound" if direction == "inbound" else "outbound",
                customer_id=customer_id,
            )
            for at, channel, num, account_id, connected, outcome, direction, customer_id in rows
        )
    )


def record_decision(
    session: Session,
    decision: Decision,
    facts: ContactFacts,
    *,
    now: datetime,
    profile: PolicyProfile,
    context: str,
    attempt_id: int | None = None,
) -> ComplianceDecision:
    """Store one decision; the caller's boundary commits it together with what it acts on."""
    row = ComplianceDecision(
        at=now,
        context=context,
        profile=profile.name,
        channel=facts.channel,
        account_id=facts.account_id,
        customer_id=facts.customer_id,
        number=facts.number,
        allowed=decision.allowed,
        rule=str(decision.rule),
        reason=decision.reason,
        next_allowed_at=decision.next_allowed_at,
        facts=_jsonable(decision.facts_used),
        attempt_id=attempt_id,
    )
    session.add(row)
    return row


def check_contact(
    session: Session,
    account: Account,
    number: str,
    channel: Channel,
    *,
    now: datetime,
    profile: PolicyProfile,
    context: str,
    consented_callback_at: datetime | None = None,
    consented_callback_requested_at: datetime | None = None,
) -> tuple[Decision, ComplianceDecision]:
    """Load, decide, record. Returns the decision and its stored row (flushed, so it has an id)."""
    facts = load_facts(
        session,
        account,
        number,
        channel,
        consented_callback_at=consented_callback_at,
        consented_callback_requested_at=consented_callback_requested_at,
    )
    history = load_history(session, account, number, now, profile)
    decision = decide(facts, history, now, profile)
    row = record_decision(session, decision, facts, now=now, profile=profile, context=context)
    session.flush()
    return decision, row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
