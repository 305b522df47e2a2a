"""Menu key 4, a repayment plan: the offers, a keyed number of installments, the read-back.

After verification the caller hears the plans the account qualifies for (the configured offers,
the whole balance, first due ``plans.ivr_first_date_days`` from today), each on a key of its own,
or, after ``plans.ivr_count_key``, keys a number of installments of their own; hears the chosen
plan read back; confirms (the ``accept`` key) or goes back to the offers (``decline``). A caller
who may have no plan hears why in plain words (catalogue ``plan_refused_<reason>``) and is
offered a person: the callback path key 4 always had. The rules are
:mod:`campaigns.plan_schedule`'s, the same the store applies again when :mod:`campaigns.plans`
records the :class:`ivr.session.PlanAgreed` effect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from campaigns.plan_schedule import (
    PlanAccount,
    Refusal,
    Schedule,
    account_refusal,
    check_plan,
    ivr_first_date,
    plan_offers,
)
from campaigns.plan_settings import PlanSettings
from ivr import concession_steps, speech
from ivr.session import AccountFacts, AttemptUpdate, CallSession, Context, PlanAgreed, State, Turn

if TYPE_CHECKING:
    from ivr.machine import CallFlow, _Reply


def plan_account(facts: AccountFacts) -> PlanAccount:
    """What the plan rules read of the caller's account."""
    return PlanAccount(
        account_id=facts.account_id,
        currency=facts.currency,
        balance=facts.balance,
        status=facts.status,
        days_past_due=facts.days_past_due,
        today=facts.today,
        active_plan=facts.active_plan,
    )


def offers(flow: CallFlow, facts: AccountFacts) -> tuple[Schedule, ...]:
    # Keyed 1, 2, ... in the configured order (at most 8, plans.offers checks).
    return plan_offers(flow.flow.plans, plan_account(facts))


def refusal_text(flow: CallFlow, session: CallSession, refusal: Refusal) -> str:
    """Why, in plain words, in the caller's language."""
    rules = flow.flow.plans
    return flow.renderer.text(
        session,
        f"plan_refused_{refusal.reason.value}",
        minimum=rules.min_installments,
        maximum=rules.max_installments,
    )


def start(
    flow: CallFlow, session: CallSession, facts: AccountFacts, ctx: Context, reply: _Reply
) -> Turn:
    """Key 4 in the menu: the offers, or why not and a person."""
    language = flow.renderer.language(session)
    rules = flow.flow.plans
    account = plan_account(facts)
    refused = account_refusal(rules, account)
    if refused is None and not offers(flow, facts):
        # No configured offer fits: the fewest installments allowed says why, or (when they
        # fit) the caller keys a number of their own.
        fewest = check_plan(
            rules,
            account,
            installments=rules.min_installments,
            frequency=rules.keyed_frequency,
            first_date=ivr_first_date(rules, facts.today),
        )
        if isinstance(fewest, Refusal):
            refused = fewest
        else:
            return flow._to(replace(session, state=State.PLAN_COUNT), ctx, reply)
    if refused is not None:
        reply.say(refusal_text(flow, session, refused), language)
        return flow._to(
            replace(session, state=State.CALLBACK_TIME, callback_reason="repayment_plan"),
            ctx,
            reply,
        )
    return flow._to(replace(session, state=State.PLAN_CHOOSE), ctx, reply)


def choose(flow: CallFlow, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
    facts = ctx.account(session.account_id)
    if facts is None:
        return flow._exhausted(session, ctx, reply)
    if keys == flow.flow.plans.ivr_count_key:
        return flow._to(replace(session, misses=0, state=State.PLAN_COUNT), ctx, reply)
    available = offers(flow, facts)
    index = int(keys) - 1 if keys.isdigit() and len(keys) == 1 else -1
    if not 0 <= index < len(available):
        return flow._miss(session, ctx, reply, "invalid")
    return _chosen(flow, session, available[index], ctx, reply)


def count(flow: CallFlow, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
    facts = ctx.account(session.account_id)
    if facts is None:
        return flow._exhausted(session, ctx, reply)
    rules = flow.flow.plans
    if not (keys.isascii() and keys.isdigit()) or len(keys) > 3:
        return flow._miss(session, ctx, reply, "invalid")
    checked = check_plan(
        rules,
        plan_account(facts),
        installments=int(keys),
        frequency=rules.keyed_frequency,
        first_date=ivr_first_date(rules, facts.today),
    )
    if isinstance(checked, Refusal):
        reply.say(refusal_text(flow, session, checked), flow.renderer.language(session))
        return flow._miss(session, ctx, reply, None)
    return _chosen(flow, session, checked, ctx, reply)


def _chosen(
    flow: CallFlow, session: CallSession, schedule: Schedule, ctx: Context, reply: _Reply
) -> Turn:
    return flow._to(
        replace(
            session,
            misses=0,
            state=State.PLAN_CONFIRM,
            plan_count=schedule.count,
            plan_frequency=schedule.frequency,
            plan_first=schedule.first_date,
        ),
        ctx,
        reply,
    )


def schedule_of(rules: PlanSettings, session: CallSession, facts: AccountFacts) -> Schedule | None:
    """The plan the session holds, as the rules build it now; None when it no longer passes."""
    if session.plan_count is None or session.plan_first is None:
        return None
    frequency = next((f for f in rules.frequencies if f == session.plan_frequency), None)
    if frequency is None:
        return None
    checked = check_plan(
        rules,
        plan_account(facts),
        installments=session.plan_count,
        frequency=frequency,
        first_date=session.plan_first,
    )
    return checked if isinstance(checked, Schedule) else None


def confirm(flow: CallFlow, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
    choice = flow.settings.keys.choice
    facts = ctx.account(session.account_id)
    schedule = schedule_of(flow.flow.plans, session, facts) if facts is not None else None
    if facts is None or schedule is None:
        return flow._exhausted(session, ctx, reply)
    cleared = replace(session, plan_count=None, plan_frequency=None, plan_first=None, misses=0)
    if keys == choice.decline:
        return flow._to(replace(cleared, state=State.PLAN_CHOOSE), ctx, reply)
    if keys != choice.accept:
        return flow._miss(session, ctx, reply, "invalid")
    language = flow.renderer.language(session)
    reply.effects.append(
        PlanAgreed(
            account_id=facts.account_id,
            installments=schedule.count,
            frequency=schedule.frequency,
            first_date=schedule.first_date,
            total=schedule.total,
            currency=schedule.currency,
            language=language,
            sms_body=flow.renderer.plan_confirmation_sms(session, schedule),
        )
    )
    if session.direction == "outbound":
        # A plan is a commitment to pay: the reminder call's outcome is "promise", as the
        # attempt lifecycle ranks outcomes and the report counts right-party contacts.
        reply.effects.append(AttemptUpdate(outcome="promise"))
    recorded = "plan_recorded_text" if facts.can_text else "plan_recorded"
    reply.say(flow.renderer.text(session, recorded), language)
    # Then the concessions the caller may accept by phone, if any; else the menu.
    return concession_steps.offer_next(flow, cleared, ctx, reply, after=None)


def describe_in(language: str, schedule: Schedule, frequency: str) -> dict[str, str | int]:
    """The values a plan's prompts and texts fill in: amounts and dates as spoken,
    ``frequency`` the catalogue's word for it."""
    return {
        "count": schedule.count,
        "frequency": frequency,
        "amount": speech.money(schedule.regular, schedule.currency, language),
        "last_amount": speech.money(schedule.last_amount, schedule.currency, language),
        "first_date": speech.day(schedule.first_date, language),
        "last_date": speech.day(schedule.last_date, language),
    }
