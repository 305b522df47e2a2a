"""The concession rules, pure: exact amounts, eligibility in plain words, limits per role, and
the offers a caller may accept by phone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.concession_config import Offer
from campaigns.concession_rules import (
    AccountFacts,
    Actor,
    Terms,
    add_months,
    decide,
    rate_end,
    self_service_offers,
    settlement_sum,
    waive_share,
    within,
)

TODAY = date(2026, 11, 29)
AGENT = Actor("agent", "ana")
SUPERVISOR = Actor("supervisor", "sam")
IVR = Actor("ivr", "ivr")

cents = st.integers(min_value=1, max_value=10**11).map(lambda n: Decimal(n) / 100)
percents = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 100)


def facts(**changes: Any) -> AccountFacts:
    values: dict[str, Any] = {
        "account_id": "A1",
        "customer_id": "C1",
        "status": "open",
        "currency": "USD",
        "balance": Decimal("1000.00"),
        "days_past_due": 60,
        "today": TODAY,
        "fees_due": Decimal("39.00"),
        "interest_due": Decimal("120.00"),
    }
    values.update(changes)
    return AccountFacts(**values)


def offer(**fields: Any) -> Offer:
    return Offer.model_validate(fields)


FEE = offer(
    kind="fee_waiver",
    percent=100,
    self_service=True,
    limits={"agent": {"max_amount": "50.00"}, "supervisor": {"max_amount": "500.00"}},
)
INTEREST = offer(
    kind="interest_waiver",
    percent=50,
    limits={"agent": {"max_percent": 50}, "supervisor": {"max_percent": 100}},
)
RATE = offer(
    kind="reduced_rate",
    apr_bps=990,
    months=6,
    limits={
        "agent": {"min_apr_bps": 990, "max_months": 6},
        "supervisor": {"min_apr_bps": 0, "max_months": 12},
    },
)
SETTLE = offer(
    kind="settlement",
    percent=60,
    due_within_days=30,
    eligibility={"min_days_past_due": 90},
    limits={"agent": {"max_percent": 40}, "supervisor": {"max_percent": 60}},
)


# --- amounts ---------------------------------------------------------------------------------


@given(due=cents, percent=percents)
def test_a_waived_share_never_exceeds_the_share_nor_what_is_due(
    due: Decimal, percent: Decimal
) -> None:
    waived = waive_share(due, percent)
    assert waived == waived.quantize(Decimal("0.01"))
    assert waived * 100 <= due * percent  # never more than the share
    assert (waived + Decimal("0.01")) * 100 > due * percent  # and short of it by under a cent
    assert waived <= due


@given(balance=cents, percent=percents)
def test_a_settlement_sum_is_the_share_rounded_up_and_the_rest_forgiven_exactly(
    balance: Decimal, percent: Decimal
) -> None:
    lump = settlement_sum(balance, percent)
    assert lump == lump.quantize(Decimal("0.01"))
    assert lump * 100 >= balance * percent
    assert (lump - Decimal("0.01")) * 100 < balance * percent
    assert lump <= balance
    assert lump + (balance - lump) == balance


@given(due=cents, percent=percents, amount=cents)
def test_a_waiver_decided_never_exceeds_what_is_due(
    due: Decimal, percent: Decimal, amount: Decimal
) -> None:
    account = facts(fees_due=due, interest_due=due)
    for terms in (Terms(percent=percent), Terms(amount=amount), Terms()):
        for the_offer in (FEE, INTEREST):
            decision = decide("w", the_offer, account, terms, SUPERVISOR)
            if decision.agreed is not None:
                assert decision.agreed.amount is not None
                assert Decimal("0.01") <= decision.agreed.amount <= due
                assert decision.agreed.base == due
            elif terms.amount is not None and amount > due:
                assert decision.refusal is not None
                assert decision.refusal.code == "above_due"


@given(balance=cents.filter(lambda b: b >= Decimal("0.02")), percent=percents)
def test_a_settlement_decided_is_exact_and_below_the_balance(
    balance: Decimal, percent: Decimal
) -> None:
    unlimited = offer(kind="settlement", percent=60, due_within_days=30)
    decision = decide("s", unlimited, facts(balance=balance), Terms(percent=percent), SUPERVISOR)
    lump = settlement_sum(balance, percent)
    if lump >= balance:
        assert decision.refusal is not None and decision.refusal.code == "bad_terms"
        return
    agreed = decision.agreed
    assert agreed is not None
    assert agreed.amount == lump
    assert agreed.given_up == balance - lump
    assert agreed.percent_bps == int(percent * 100)
    assert agreed.end_date == date(2026, 12, 29)


def test_the_standard_amount_waives_at_most_what_is_due() -> None:
    flat = offer(kind="fee_waiver", amount="25.00")
    small = decide("f", flat, facts(fees_due=Decimal("10.00")), Terms(), SUPERVISOR)
    assert small.agreed is not None and small.agreed.amount == Decimal("10.00")
    asked = decide(
        "f", flat, facts(fees_due=Decimal("10.00")), Terms(amount=Decimal("25")), SUPERVISOR
    )
    assert asked.refusal is not None and asked.refusal.code == "above_due"


def test_a_share_worth_less_than_a_cent_is_nothing_to_waive() -> None:
    decision = decide("i", INTEREST, facts(interest_due=Decimal("0.01")), Terms(), SUPERVISOR)
    assert decision.refusal is not None and decision.refusal.code == "nothing_due"


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 11, 29), 6, date(2027, 5, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 27)),  # no 31 February: the month's last day, less one
        (date(2027, 12, 1), 1, date(2027, 12, 31)),
        (date(2028, 1, 31), 1, date(2028, 2, 28)),  # 29 Feb 2028 is the end's next day
    ],
)
def test_a_rate_ends_the_day_before_the_same_day_months_later(
    start: date, months: int, end: date
) -> None:
    assert rate_end(start, months) == end


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 120))
def test_add_months_lands_in_the_right_month(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


# --- eligibility -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"status": "bankrupt"}, "status", "the account is bankrupt"),
        ({"days_past_due": 10}, "days_past_due", "10 days past due; this offer starts at 30"),
        ({"balance": Decimal("0.00")}, "balance", "needs at least 0.01"),
        ({"suppressions": frozenset({"dispute"})}, "suppressed", "a dispute is in force"),
        ({"pending": {"fee": 7}}, "already_pending", "request #7"),
        ({"last_given": {"fee": date(2026, 6, 1)}}, "too_soon", "next from 2027-06-01"),
        ({"fees_due": None}, "not_on_file", "does not give the late fees due"),
        ({"fees_due": Decimal("0.00")}, "nothing_due", "no late fees are due"),
    ],
)
def test_an_ineligible_account_is_refused_in_plain_words(
    changes: dict[str, Any], code: str, words: str
) -> None:
    yearly = offer(
        kind="fee_waiver",
        percent=100,
        eligibility={"min_days_past_due": 30, "once_every_days": 365},
        limits={"agent": {}, "supervisor": {}},
    )
    decision = decide("fee", yearly, facts(**changes), Terms(), SUPERVISOR)
    assert decision.status == "refused"
    assert decision.refusal is not None
    assert decision.refusal.code == code
    assert words in decision.refusal.reason


def test_once_a_year_allows_the_same_offer_again_after_the_year() -> None:
    yearly = offer(kind="fee_waiver", percent=100, eligibility={"once_every_days": 365})
    again = facts(last_given={"fee": date(2025, 11, 29)})
    assert decide("fee", yearly, again, Terms(), SUPERVISOR).status == "granted"


# --- limits per role ---------------------------------------------------------------------------


def test_an_agent_within_the_limit_grants_above_it_asks_a_supervisor() -> None:
    assert decide("fee", FEE, facts(), Terms(), AGENT).status == "granted"  # 39.00 <= 50.00
    above = decide("fee", FEE, facts(fees_due=Decimal("80.00")), Terms(), AGENT)
    assert above.status == "pending"
    assert decide("fee", FEE, facts(fees_due=Decimal("80.00")), Terms(), SUPERVISOR).status == (
        "granted"
    )
    huge = decide("fee", FEE, facts(fees_due=Decimal("600.00")), Terms(), AGENT)
    assert huge.status == "refused"
    assert huge.refusal is not None and huge.refusal.code == "above_limit"
    assert decide("fee", FEE, facts(fees_due=Decimal("600.00")), Terms(), SUPERVISOR).status == (
        "refused"
    )


def test_a_percentage_limit_compares_the_share_given_up_exactly() -> None:
    half = decide("i", INTEREST, facts(), Terms(amount=Decimal("60.00")), AGENT)
    assert half.status == "granted"  # exactly 50 %
    more = decide("i", INTEREST, facts(), Terms(amount=Decimal("60.01")), AGENT)
    assert more.status == "pending"


def test_a_rate_limit_is_a_floor_on_the_apr_and_a_ceiling_on_the_months() -> None:
    assert decide("r", RATE, facts(), Terms(), AGENT).status == "granted"
    assert decide("r", RATE, facts(), Terms(apr_bps=500), AGENT).status == "pending"
    assert decide("r", RATE, facts(), Terms(months=9), AGENT).status == "pending"
    assert decide("r", RATE, facts(), Terms(months=13), AGENT).status == "refused"
    granted = decide("r", RATE, facts(), Terms(plan_id=42), AGENT).agreed
    assert granted is not None
    assert (granted.apr_bps, granted.months, granted.plan_id) == (990, 6, 42)
    assert (granted.effective_date, granted.end_date) == (TODAY, date(2027, 5, 28))


def test_a_settlement_limit_is_on_the_share_forgiven() -> None:
    account = facts(days_past_due=120)
    standard = decide("s", SETTLE, account, Terms(), AGENT)  # pays 60 %: 40 % forgiven
    assert standard.status == "granted"
    assert standard.agreed is not None and standard.agreed.amount == Decimal("600.00")
    assert decide("s", SETTLE, account, Terms(percent=Decimal(50)), AGENT).status == "pending"
    assert decide("s", SETTLE, account, Terms(amount=Decimal("399.99")), AGENT).status == "refused"


def test_an_offer_without_an_agent_limit_always_needs_a_supervisor() -> None:
    supervised = offer(kind="fee_waiver", percent=100)
    assert decide("f", supervised, facts(), Terms(), AGENT).status == "pending"


def test_terms_of_another_kind_are_refused() -> None:
    decision = decide("fee", FEE, facts(), Terms(apr_bps=100), SUPERVISOR)
    assert decision.refusal is not None and decision.refusal.code == "bad_terms"


def test_limits_cover_only_what_they_say() -> None:
    agreed = decide("fee", FEE, facts(), Terms(), SUPERVISOR).agreed
    assert agreed is not None
    assert not within(agreed, None)


# --- self-service --------------------------------------------------------------------------------


def test_self_service_lists_only_eligible_self_service_offers_in_minor_units() -> None:
    offers = {"fee": FEE, "interest": INTEREST, "rate": RATE}
    found = self_service_offers(offers, facts())
    assert [o.offer for o in found] == ["fee"]
    fee = found[0]
    assert (fee.amount_minor, fee.base_minor, fee.currency) == (3900, 3900, "USD")
    assert fee.percent_bps == 10_000
    assert fee.effective_date == TODAY
    assert self_service_offers(offers, facts(suppressions=frozenset({"cease"}))) == ()


def test_the_ivr_gives_only_standard_self_service_terms_within_an_agents_limit() -> None:
    assert decide("fee", FEE, facts(), Terms(), IVR).status == "granted"
    assert decide("i", INTEREST, facts(), Terms(), IVR).status == "refused"
    other = decide("fee", FEE, facts(), Terms(amount=Decimal("10.00")), IVR)
    assert other.refusal is not None and other.refusal.code == "not_self_service"
    above = decide("fee", FEE, facts(fees_due=Decimal("80.00")), Terms(), IVR)
    assert above.refusal is not None and above.refusal.code == "above_limit"
    assert self_service_offers({"fee": FEE}, facts(fees_due=Decimal("80.00"))) == ()


@given(
    due=cents,
    agent_cap=st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n) / 100),
    extra=st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n) / 100),
    amount=cents,
)
def test_who_decides_follows_the_caps_exactly(
    due: Decimal, agent_cap: Decimal, extra: Decimal, amount: Decimal
) -> None:
    """Within the agent's cap: granted by the agent; above it and within the supervisor's:
    pending; above both: refused. A supervisor grants within their own cap."""
    supervisor_cap = agent_cap + extra
    capped = offer(
        kind="fee_waiver",
        percent=100,
        limits={
            "agent": {"max_amount": str(agent_cap)},
            "supervisor": {"max_amount": str(supervisor_cap)},
        },
    )
    account = facts(fees_due=due)
    by_agent = decide("f", capped, account, Terms(amount=amount), AGENT)
    by_supervisor = decide("f", capped, account, Terms(amount=amount), SUPERVISOR)
    if amount > due:
        assert by_agent.status == by_supervisor.status == "refused"
    elif amount <= agent_cap:
        assert (by_agent.status, by_supervisor.status) == ("granted", "granted")
    elif amount <= supervisor_cap:
        assert (by_agent.status, by_supervisor.status) == ("pending", "granted")
    else:
        assert (by_agent.status, by_supervisor.status) == ("refused", "refused")
        assert by_agent.refusal is not None and by_agent.refusal.code == "above_limit"
