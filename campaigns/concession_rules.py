"""Concession rules: who may have an offer, on what terms, and who may grant them. Pure.

Everything here works on plain values (:class:`AccountFacts`, the configured
:class:`~campaigns.concession_config.Offer`) and touches no store, so the IVR, the agent desk
and the CLI ask the same questions and get the same answers. :mod:`campaigns.concessions`
reads the facts and stores what :func:`decide` decided.

Amounts are exact: ``Decimal`` to the cent (the store keeps integer minor units). The rounding
rules, chosen so that a concession never gives more than the percentage agreed:

- a waiver of a percentage of what is due is rounded *down* to the cent
  (10 % of 0.15 is 0.01), so it never exceeds that percentage nor what is due; a waiver of an
  amount is that amount, refused when it is above what is due, except the offer's standard
  amount, which waives at most what is due;
- a settlement's lump sum for a percentage of the balance is rounded *up* to the cent, so the
  cardholder pays at least that percentage and what is forgiven (balance less lump sum) is
  exact and never more than the percentage forgiven;
- a reduced rate runs from its effective date for ``months`` calendar months: its end date is
  the day before the same day ``months`` later (the month's last day when that day is missing).

Limits compare exactly, without rounding: a share is checked as
``given_up * 100 <= base * max_percent``.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Literal

from campaigns.concession_config import WAIVERS, Offer, RoleLimit
from store.types import CENT

ActorRole = Literal["ivr", "agent", "supervisor"]
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Actor:
    """Who proposes or decides: ``ivr`` (a verified caller accepting a self-service offer),
    ``agent`` or ``supervisor``, and their name as the audit trail shows it."""

    role: ActorRole
    name: str


@dataclass(frozen=True)
class Terms:
    """The terms asked for; a term left out is the offer's standard one.

    ``amount``: the money to waive (waivers) or the lump sum to pay (settlement); ``percent``:
    the share of what is due to waive, or of the balance to pay; ``apr_bps`` and ``months``: a
    reduced rate; ``plan_id``: the repayment plan a reduced rate runs with.
    """

    amount: Decimal | None = None
    percent: Decimal | None = None
    apr_bps: int | None = None
    months: int | None = None
    plan_id: int | None = None

    @property
    def standard(self) -> bool:
        return (
            self.amount is None
            and self.percent is None
            and self.apr_bps is None
            and (self.months is None)
        )


@dataclass(frozen=True)
class AccountFacts:
    """What the rules need to know about an account, as of the cardholder's ``today``.

    ``balance`` is what is still owed (payments since the balance date deducted);
    ``fees_due``/``interest_due`` None when the accounts file does not give them;
    ``suppressions`` the kinds in force on the account or its numbers; ``last_given`` the
    effective date of the latest granted or pending concession by offer name; ``pending`` the
    offers with a request waiting for a supervisor, by name, with the request's id.
    """

    account_id: str
    customer_id: str
    status: str
    currency: str
    balance: Decimal
    days_past_due: int
    today: date
    fees_due: Decimal | None = None
    interest_due: Decimal | None = None
    suppressions: frozenset[str] = frozenset()
    last_given: Mapping[str, date] = field(default_factory=dict)
    pending: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Agreed:
    """The terms worked out for one account: what the card system must apply.

    ``amount``: waived, or the lump sum to pay; ``base``: what it was computed against (fees or
    interest due, the balance); ``given_up``: the money waived or forgiven (None for a rate);
    ``percent_bps``: the percentage asked for, in basis points, if one was.
    """

    offer: str
    kind: str
    currency: str
    effective_date: date
    end_date: date | None = None
    amount: Decimal | None = None
    base: Decimal | None = None
    given_up: Decimal | None = None
    percent_bps: int | None = None
    apr_bps: int | None = None
    months: int | None = None
    plan_id: int | None = None


@dataclass(frozen=True)
class Refusal:
    """Why not: a stable ``code`` for programs and ``reason`` in plain words for people."""

    code: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` decided: ``granted`` (within the actor's limit), ``pending`` (a
    supervisor must approve it) or ``refused`` (``refusal`` says why; nothing is stored)."""

    status: Literal["granted", "pending", "refused"]
    agreed: Agreed | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class SelfServiceOffer:
    """An offer a verified caller may accept by phone, with its standard terms worked out.

    Money is in minor units (cents, fen) of ``currency``: ``amount_minor`` is what is waived or
    the lump sum to pay, ``base_minor`` what it was computed against.
    """

    offer: str
    kind: str
    description: str
    currency: str
    effective_date: date
    end_date: date | None
    amount_minor: int | None
    base_minor: int | None
    percent_bps: int | None
    apr_bps: int | None
    months: int | None


def minor_units(amount: Decimal | None) -> int | None:
    """``amount`` in cents (fen): the integer the store keeps."""
    return None if amount is None else int(amount.quantize(CENT) * 100)


def waive_share(due: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of ``due``, rounded down to the cent: never more than that share."""
    return (due * percent / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)


def settlement_sum(balance: Decimal, percent: Decimal) -> Decimal:
    """The lump sum for ``percent`` of ``balance``, rounded up to the cent: never less."""
    return (balance * percent / HUNDRED).quantize(CENT, rounding=ROUND_UP)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rate_end(start: date, months: int) -> date:
    """The last day a rate starting on ``start`` for ``months`` months applies."""
    return add_months(start, months) - timedelta(days=1)


def eligibility(name: str, offer: Offer, facts: AccountFacts) -> Refusal | None:
    """Why the account may not have offer ``name``, or None when it may."""
    rules = offer.eligibility
    if facts.status not in rules.statuses:
        return Refusal(
            "status",
            f"the account is {facts.status}; this offer is for {', '.join(rules.statuses)} "
            "accounts",
        )
    if facts.days_past_due < rules.min_days_past_due:
        return Refusal(
            "days_past_due",
            f"the account is {facts.days_past_due} days past due; this offer starts at "
            f"{rules.min_days_past_due}",
        )
    if rules.max_days_past_due is not None and facts.days_past_due > rules.max_days_past_due:
        return Refusal(
            "days_past_due",
            f"the account is {facts.days_past_due} days past due; this offer ends at "
            f"{rules.max_days_past_due}",
        )
    if facts.balance < rules.min_balance:
        return Refusal(
            "balance",
            f"the balance owed is {facts.balance} {facts.currency}; this offer needs at least "
            f"{rules.min_balance}",
        )
    if rules.max_balance is not None and facts.balance > rules.max_balance:
        return Refusal(
            "balance",
            f"the balance owed is {facts.balance} {facts.currency}; this offer is for "
            f"balances up to {rules.max_balance}",
        )
    blocking = sorted(set(rules.blocked_by) & facts.suppressions)
    if blocking:
        return Refusal(
            "suppressed", f"a {' and a '.join(blocking)} is in force on the account or its number"
        )
    if name in facts.pending:
        return Refusal(
            "already_pending",
            f"request #{facts.pending[name]} for this offer is waiting for a supervisor",
        )
    last = facts.last_given.get(name)
    if rules.once_every_days is not None and last is not None:
        next_day = last + timedelta(days=rules.once_every_days)
        if facts.today < next_day:
            return Refusal(
                "too_soon",
                f"this offer was given on {last.isoformat()}; at most once every "
                f"{rules.once_every_days} days (next from {next_day.isoformat()})",
            )
    return None


def agreed_terms(name: str, offer: Offer, facts: AccountFacts, terms: Terms) -> Agreed | Refusal:
    """The terms worked out for the account, or why they cannot be (bad or empty terms)."""
    if offer.kind in WAIVERS:
        return _waiver(name, offer, facts, terms)
    if offer.kind == "settlement":
        return _settlement(name, offer, facts, terms)
    return _rate(name, offer, facts, terms)


def _foreign(terms: Terms, kind: str, *names: str) -> Refusal | None:
    for term in names:
        if getattr(terms, term) is not None:
            return Refusal("bad_terms", f"{term} is not a term of a {kind}")
    return None


def _bad_percent(percent: Decimal) -> Refusal | None:
    if not (ZERO < percent <= HUNDRED) or percent != percent.quantize(CENT):
        return Refusal("bad_terms", "a percentage is above 0 and at most 100, to 2 decimals")
    return None


def _bad_amount(amount: Decimal) -> Refusal | None:
    if amount <= ZERO or amount != amount.quantize(CENT):
        return Refusal("bad_terms", "an amount is above zero, to the cent")
    return None


def _waiver(name: str, offer: Offer, facts: AccountFacts, terms: Terms) -> Agreed | Refusal:
    what = "late fees" if offer.kind == "fee_waiver" else "interest"
    wrong = _foreign(terms, offer.kind, "apr_bps", "months", "plan_id")
    if wrong is not None:
        return wrong
    due = facts.fees_due if offer.kind == "fee_waiver" else facts.interest_due
    if due is None:
        return Refusal("not_on_file", f"the accounts file does not give the {what} due")
    if due <= ZERO:
        return Refusal("nothing_due", f"no {what} are due")
    percent_bps = None
    if terms.amount is not None and terms.percent is not None:
        return Refusal("bad_terms", "give an amount or a percentage, not both")
    if terms.amount is not None:
        problem = _bad_amount(terms.amount)
        if problem is not None:
            return problem
        if terms.amount > due:
            return Refusal(
                "above_due", f"{terms.amount} is more than the {what} due ({due} {facts.currency})"
            )
        amount = terms.amount
    else:
        percent = terms.percent if terms.percent is not None else offer.percent
        if percent is None:
            # The standard amount waives at most what is due.
            assert offer.amount is not None  # the settings require amount or percent
            amount = min(offer.amount, due)
        else:
            problem = _bad_percent(percent)
            if problem is not None:
                return problem
            amount = waive_share(due, percent)
            percent_bps = int(percent * 100)
    if amount <= ZERO:
        return Refusal("nothing_due", f"the share asked for of the {what} due is less than a cent")
    return Agreed(
        offer=name,
        kind=offer.kind,
        currency=facts.currency,
        effective_date=facts.today,
        amount=amount,
        base=due,
        given_up=amount,
        percent_bps=percent_bps,
    )


def _settlement(name: str, offer: Offer, facts: AccountFacts, terms: Terms) -> Agreed | Refusal:
    wrong = _foreign(terms, offer.kind, "apr_bps", "months", "plan_id")
    if wrong is not None:
        return wrong
    balance = facts.balance
    if balance <= ZERO:
        return Refusal("nothing_due", "nothing is owed")
    percent_bps = None
    if terms.amount is not None and terms.percent is not None:
        return Refusal("bad_terms", "give an amount or a percentage, not both")
    if terms.amount is not None:
        problem = _bad_amount(terms.amount)
        if problem is not None:
            return problem
        lump = terms.amount
    else:
        percent = terms.percent if terms.percent is not None else offer.percent
        assert percent is not None  # the settings require a settlement's percent
        problem = _bad_percent(percent)
        if problem is not None:
            return problem
        lump = settlement_sum(balance, percent)
        percent_bps = int(percent * 100)
    if lump >= balance:
        return Refusal(
            "bad_terms",
            f"a settlement is for less than the balance owed ({balance} {facts.currency})",
        )
    assert offer.due_within_days is not None  # required by the settings
    return Agreed(
        offer=name,
        kind=offer.kind,
        currency=facts.currency,
        effective_date=facts.today,
        end_date=facts.today + timedelta(days=offer.due_within_days),
        amount=lump,
        base=balance,
        given_up=balance - lump,
        percent_bps=percent_bps,
    )


def _rate(name: str, offer: Offer, facts: AccountFacts, terms: Terms) -> Agreed | Refusal:
    wrong = _foreign(terms, offer.kind, "amount", "percent")
    if wrong is not None:
        return wrong
    apr = terms.apr_bps if terms.apr_bps is not None else offer.apr_bps
    months = terms.months if terms.months is not None else offer.months
    assert apr is not None and months is not None  # required by the settings
    if not 0 <= apr <= 10_000:
        return Refusal("bad_terms", "an APR is 0 to 10000 basis points (0 to 100 %)")
    if not 1 <= months <= 120:
        return Refusal("bad_terms", "a reduced rate runs 1 to 120 months")
    return Agreed(
        offer=name,
        kind=offer.kind,
        currency=facts.currency,
        effective_date=facts.today,
        end_date=rate_end(facts.today, months),
        apr_bps=apr,
        months=months,
        plan_id=terms.plan_id,
    )


def within(agreed: Agreed, limit: RoleLimit | None) -> bool:
    """Whether ``limit`` covers ``agreed``; no limit at all (None) covers nothing."""
    if limit is None:
        return False
    if agreed.apr_bps is not None and agreed.months is not None:
        return (limit.min_apr_bps is None or agreed.apr_bps >= limit.min_apr_bps) and (
            limit.max_months is None or agreed.months <= limit.max_months
        )
    given_up = agreed.given_up if agreed.given_up is not None else ZERO
    base = agreed.base if agreed.base is not None else ZERO
    return (limit.max_amount is None or given_up <= limit.max_amount) and (
        limit.max_percent is None or given_up * HUNDRED <= base * limit.max_percent
    )


def _standard(offer: Offer, terms: Terms) -> bool:
    """Whether ``terms`` are the offer's standard ones (what self-service may accept)."""
    if terms.standard:
        return True
    return (
        terms.amount in (None, offer.amount)
        and terms.percent in (None, offer.percent)
        and terms.apr_bps in (None, offer.apr_bps)
        and terms.months in (None, offer.months)
    )


def decide(name: str, offer: Offer, facts: AccountFacts, terms: Terms, by: Actor) -> Decision:
    """Whether ``by`` may give offer ``name`` on ``terms`` to the account.

    Refused when the account is not eligible, the terms are bad, the caller asks for anything
    but a self-service offer's standard terms (or those are above the agent's limit: a machine
    gives no more than an agent), or the terms are above what a supervisor may grant; granted
    within the actor's limit; otherwise pending a supervisor.
    """
    refusal = eligibility(name, offer, facts)
    if refusal is not None:
        return Decision("refused", refusal=refusal)
    if by.role == "ivr" and not (offer.self_service and _standard(offer, terms)):
        return Decision(
            "refused",
            refusal=Refusal(
                "not_self_service", "only a self-service offer's standard terms by phone"
            ),
        )
    worked = agreed_terms(name, offer, facts, terms)
    if isinstance(worked, Refusal):
        return Decision("refused", refusal=worked)
    if by.role == "ivr":
        # A machine gives no more than an agent could: standard terms above the agent's limit
        # need a person.
        if within(worked, offer.limits.get("agent")):
            return Decision("granted", agreed=worked)
        return Decision(
            "refused",
            refusal=Refusal("above_limit", "above what may be given without a person"),
        )
    if within(worked, offer.limits.get(by.role)):
        return Decision("granted", agreed=worked)
    if by.role == "agent" and within(worked, offer.limits["supervisor"]):
        return Decision("pending", agreed=worked)
    return Decision(
        "refused",
        refusal=Refusal("above_limit", "above what a supervisor may grant for this offer"),
    )


def self_service_offers(
    offers: Mapping[str, Offer], facts: AccountFacts
) -> tuple[SelfServiceOffer, ...]:
    """The offers a verified caller may accept by phone now, standard terms worked out, in the
    configured order: self-service, eligible, and with something to give."""
    found = []
    for name, offer in offers.items():
        if not offer.self_service:
            continue
        decision = decide(name, offer, facts, Terms(), Actor("ivr", "ivr"))
        if decision.agreed is None:
            continue
        agreed = decision.agreed
        found.append(
            SelfServiceOffer(
                offer=name,
                kind=offer.kind,
                description=offer.description,
                currency=agreed.currency,
                effective_date=agreed.effective_date,
                end_date=agreed.end_date,
                amount_minor=minor_units(agreed.amount),
                base_minor=minor_units(agreed.base),
                percent_bps=agreed.percent_bps,
                apr_bps=agreed.apr_bps,
                months=agreed.months,
            )
        )
    return tuple(found)
