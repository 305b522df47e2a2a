"""Concessions in the store: the one writer of ``concessions``.

The decision path: :func:`propose` asks :func:`campaigns.concession_rules.decide` and stores a
request that is ``granted`` (within the proposer's limit) or ``pending`` (a supervisor must
approve it); a refusal (ineligible, bad terms, above every limit) stores nothing and says why.
:func:`approve` and :func:`decline` are a supervisor's, with a reason; approving checks the
account again as it is then, so a request for an account that has since become ineligible (a
dispute opened, the fees paid) is ``refused`` instead. Every stored decision writes one audit row
with who decided, in which role, and why. The caller's boundary commits.

The facts are read here (:func:`account_facts`); the rules are pure
(:mod:`campaigns.concession_rules`), so :func:`campaigns.concession_rules.self_service_offers`
can list what a caller may accept by phone from the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from campaigns.accounts import paid_since_as_of
from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import (
    AccountFacts,
    Actor,
    Agreed,
    Refusal,
    SelfServiceOffer,
    Terms,
    decide,
    self_service_offers,
)
from campaigns.localtime import cardholder_zone
from store.audit import record_audit
from store.models import Account, Phone, Plan, Suppression
from store.models_concessions import Concession

ZERO = Decimal("0.00")
#: The statuses that count toward "at most one per account per N days".
GIVEN = ("granted", "pending")


class ConcessionError(Exception):
    """Raised when a request cannot be acted on; ``code`` says which rule, the message why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(ConcessionError):
    """Raised for an account, an offer or a concession that does not exist."""


class NotAllowedError(ConcessionError):
    """Raised when the actor may not do this: an agent approving, a supervisor approving their
    own request, a decision without a reason."""


class NotPendingError(ConcessionError):
    """Raised when approving or declining a request that was already decided."""


@dataclass(frozen=True)
class Outcome:
    """What happened: ``status`` is the stored status (``granted``, ``pending``, ``declined``,
    ``refused``); ``concession_id`` None when nothing was stored (a refused proposal)."""

    status: str
    concession_id: int | None
    agreed: Agreed | None = None
    refusal: Refusal | None = None


def account_facts(
    session: Session, account_id: str, *, now: datetime, exclude_id: int | None = None
) -> AccountFacts | None:
    """The account as the rules see it at ``now``; None when there is no such account.

    ``exclude_id`` leaves one concession out of the history (the request being approved).
    """
    row = session.execute(
        select(Account, paid_since_as_of()).where(Account.account_id == account_id)
    ).first()
    if row is None:
        return None
    account, paid = row
    numbers = list(
        session.scalars(
            select(Phone.number).where(Phone.account_id == account_id).order_by(Phone.id)
        )
    )
    zone = cardholder_zone(account.timezone, numbers[0] if numbers else None)
    suppressions = frozenset(
        session.scalars(
            select(Suppression.kind)
            .where(
                Suppression.removed_at.is_(None),
                or_(Suppression.account_id == account_id, Suppression.number.in_(numbers)),
            )
            .distinct()
        )
    )
    history = select(Concession.offer, Concession.status, Concession.id, Concession.effective_date)
    history = history.where(Concession.account_id == account_id, Concession.status.in_(GIVEN))
    if exclude_id is not None:
        history = history.where(Concession.id != exclude_id)
    last_given: dict[str, date] = {}
    pending: dict[str, int] = {}
    for offer, status, concession_id, effective in session.execute(history):
        if offer not in last_given or effective > last_given[offer]:
            last_given[offer] = effective
        if status == "pending":
            pending[offer] = concession_id
    return AccountFacts(
        account_id=account.account_id,
        customer_id=account.customer_id,
        status=account.status,
        currency=account.currency,
        balance=max(account.balance - paid, ZERO),
        days_past_due=account.days_past_due,
        today=now.astimezone(zone).date(),
        fees_due=account.fees_due,
        interest_due=account.interest_due,
        suppressions=suppressions,
        last_given=last_given,
        pending=pending,
    )


def offers_by_phone(
    session: Session, account_id: str, settings: ConcessionSettings, *, now: datetime
) -> tuple[SelfServiceOffer, ...]:
    """:func:`~campaigns.concession_rules.self_service_offers` for a stored account; () when
    there is no such account."""
    facts = account_facts(session, account_id, now=now)
    return () if facts is None else self_service_offers(settings.offers, facts)


def propose(
    session: Session,
    account_id: str,
    offer_name: str,
    terms: Terms,
    *,
    by: Actor,
    settings: ConcessionSettings,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """Propose offer ``offer_name`` on ``terms`` for the account, as ``by``.

    Granted within ``by``'s limit, pending above it (an agent's, up to the supervisor's limit),
    refused otherwise (nothing stored, ``refusal`` says why). Raises :class:`NotFoundError` for an
    unknown account or offer.
    """
    _named(by)
    offer = settings.offers.get(offer_name)
    if offer is None:
        known = ", ".join(settings.offers) or "none configured"
        raise NotFoundError("unknown_offer", f"no offer {offer_name!r} (offers: {known})")
    _lock_account(session, account_id)
    facts = account_facts(session, account_id, now=now)
    if facts is None:
        raise NotFoundError("unknown_account", f"no account {account_id!r}")
    decision = decide(offer_name, offer, facts, terms, by)
    if decision.agreed is None:
        return Outcome("refused", None, refusal=decision.refusal)
    agreed = decision.agreed
    wrong_plan = _plan_refusal(session, facts.account_id, agreed.plan_id)
    if wrong_plan is not None:
        return Outcome("refused", None, refusal=wrong_plan)
    row = Concession(
        account_id=facts.account_id,
        customer_id=facts.customer_id,
        offer=offer_name,
        kind=agreed.kind,
        status=decision.status,
        currency=agreed.currency,
        requested_by=by.name,
        requested_role=by.role,
        requested_at=now,
        note=note,
    )
    _apply(row, agreed)
    if decision.status == "granted":
        row.decided_by, row.decided_role, row.decided_at = by.name, by.role, now
        row.reason = note or f"within the {by.role}'s limit"
    session.add(row)
    session.flush()
    _audit(session, row, by, action=f"concession.{'granted' if row.decided_at else 'requested'}")
    return Outcome(row.status, row.id, agreed=agreed)


def _plan_refusal(session: Session, account_id: str, plan_id: int | None) -> Refusal | None:
    """A reduced rate runs with one of the account's active repayment plans, or with none."""
    if plan_id is None:
        return None
    status = session.scalar(
        select(Plan.status).where(Plan.id == plan_id, Plan.account_id == account_id)
    )
    if status is None:
        return Refusal("no_plan", f"the account has no repayment plan {plan_id}")
    if status != "active":
        return Refusal("plan_not_active", f"repayment plan {plan_id} is {status}, not active")
    return None


def approve(
    session: Session,
    concession_id: int,
    *,
    by: Actor,
    reason: str,
    settings: ConcessionSettings,
    now: datetime,
) -> Outcome:
    """A supervisor grants pending request ``concession_id``, saying why.

    The account is checked again as it is now and the terms worked out again from today (the
    amount or percentage asked for is kept; the effective and end dates start today): a request
    the account no longer qualifies for, or whose offer has gone from the settings, becomes
    ``refused`` with the reason. Raises :class:`NotAllowedError` (not a supervisor, no reason,
    the requester approving their own request), :class:`NotFoundError`,
    :class:`NotPendingError`.
    """
    row = _pending(session, concession_id, by, reason)
    if row.requested_by == by.name:
        raise NotAllowedError(
            "own_request", "a request is approved by someone other than its author"
        )
    offer = settings.offers.get(row.offer)
    facts = account_facts(session, row.account_id, now=now, exclude_id=row.id)
    if offer is None:
        refusal = Refusal("unknown_offer", f"the offer {row.offer!r} is no longer configured")
        return _refuse(session, row, by, refusal, now)
    if facts is None:  # the foreign key keeps the account; read as "nothing to grant"
        refusal = Refusal("unknown_account", f"no account {row.account_id!r}")
        return _refuse(session, row, by, refusal, now)
    terms = Terms(
        amount=row.amount if row.percent_bps is None else None,
        percent=None if row.percent_bps is None else Decimal(row.percent_bps) / 100,
        apr_bps=row.apr_bps,
        months=row.months,
        plan_id=row.plan_id,
    )
    decision = decide(row.offer, offer, facts, terms, by)
    if decision.status != "granted" or decision.agreed is None:
        refusal = decision.refusal or Refusal(
            "above_limit", "above what a supervisor may grant for this offer"
        )
        return _refuse(session, row, by, refusal, now)
    wrong_plan = _plan_refusal(session, row.account_id, decision.agreed.plan_id)
    if wrong_plan is not None:
        return _refuse(session, row, by, wrong_plan, now)
    _apply(row, decision.agreed)
    row.status = "granted"
    row.decided_by, row.decided_role, row.decided_at, row.reason = by.name, by.role, now, reason
    session.flush()
    _audit(session, row, by, action="concession.approved")
    return Outcome("granted", row.id, agreed=decision.agreed)


def decline(
    session: Session, concession_id: int, *, by: Actor, reason: str, now: datetime
) -> Outcome:
    """A supervisor declines pending request ``concession_id``, saying why. Raises as
    :func:`approve` does."""
    row = _pending(session, concession_id, by, reason)
    row.status = "declined"
    row.decided_by, row.decided_role, row.decided_at, row.reason = by.name, by.role, now, reason
    session.flush()
    _audit(session, row, by, action="concession.declined")
    return Outcome("declined", row.id)


def list_concessions(
    session: Session, *, status: str | None = None, account_id: str | None = None
) -> Sequence[Concession]:
    """Concessions, newest first, optionally of one status or one account."""
    query = select(Concession).order_by(Concession.requested_at.desc(), Concession.id.desc())
    if status is not None:
        query = query.where(Concession.status == status)
    if account_id is not None:
        query = query.where(Concession.account_id == account_id)
    return session.scalars(query).all()


# --------------------------------------------------------------------------- helpers


def _lock_account(session: Session, account_id: str) -> None:
    # Two agents proposing the same offer at once: the second waits for the first's commit and
    # then sees its request ("already pending", "once every N days"). SQLite's write
    # transactions are serial already (begun IMMEDIATE).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Account.account_id).where(Account.account_id == account_id).with_for_update()
        )


def _named(by: Actor) -> None:
    # The audit trail's "who": a name a person can be found by, stored in 64 characters.
    if not by.name.strip() or len(by.name) > 64:
        raise NotAllowedError("no_name", "who decides needs a name of 1 to 64 characters")


def _pending(session: Session, concession_id: int, by: Actor, reason: str) -> Concession:
    _named(by)
    if by.role != "supervisor":
        raise NotAllowedError(
            "not_supervisor", f"only a supervisor decides a request, not an {by.role}"
        )
    if not reason.strip():
        raise NotAllowedError("no_reason", "a decision needs a reason")
    row = session.get(Concession, concession_id, with_for_update=True)
    if row is None:
        raise NotFoundError("unknown_concession", f"no concession #{concession_id}")
    if row.status != "pending":
        raise NotPendingError(
            "not_pending", f"concession #{concession_id} is {row.status}, not pending"
        )
    return row


def _refuse(
    session: Session, row: Concession, by: Actor, refusal: Refusal, now: datetime
) -> Outcome:
    row.status = "refused"
    row.decided_by, row.decided_role, row.decided_at = by.name, by.role, now
    row.reason, row.reason_code = refusal.reason, refusal.code
    session.flush()
    _audit(session, row, by, action="concession.refused")
    return Outcome("refused", row.id, refusal=refusal)


def _apply(row: Concession, agreed: Agreed) -> None:
    row.amount = agreed.amount
    row.base = agreed.base
    row.percent_bps = agreed.percent_bps if agreed.percent_bps is not None else row.percent_bps
    row.apr_bps = agreed.apr_bps
    row.months = agreed.months
    row.plan_id = agreed.plan_id
    row.effective_date = agreed.effective_date
    row.end_date = agreed.end_date


def _audit(session: Session, row: Concession, by: Actor, *, action: str) -> None:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    record_audit(
        session,
        at=row.decided_at or row.requested_at,
        actor=by.name,
        action=action,
        entity_type="concession",
        entity_id=str(row.id),
        detail={
            "role": by.role,
            "reason": row.reason,
            "reason_code": row.reason_code,
            "account_id": row.account_id,
            "offer": row.offer,
            "kind": row.kind,
            "status": row.status,
            "currency": row.currency,
            "amount": text(row.amount),
            "base": text(row.base),
            "percent_bps": row.percent_bps,
            "apr_bps": row.apr_bps,
            "months": row.months,
            "plan_id": row.plan_id,
            "effective_date": row.effective_date.isoformat(),
            "end_date": text(row.end_date and row.end_date.isoformat()),
            "requested_by": row.requested_by,
            "requested_role": row.requested_role,
        },
    )
