"""After a repayment plan is agreed: the concessions the caller may accept by phone.

``concessions.offers`` marks some offers ``self_service``; the rules of
:mod:`campaigns.concession_rules` decide which of them this account qualifies for and work out
their standard terms within an agent's limit (the hotline never gives more than an agent could).
Each is offered in the configured order, one at a time: the ``accept`` key takes it, ``decline``
passes to the next, and the menu follows the last. Only waivers and a reduced rate for the plan's
term are offered here; a settlement for a lump sum would undo the plan just agreed, so it is an
agent's offer. :mod:`campaigns.concessions` decides an accepted offer again against the store
when it records the :class:`ivr.session.ConcessionAccepted` effect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from campaigns.concession_rules import SelfServiceOffer
from ivr.session import CallSession, ConcessionAccepted, Context, State, Turn

if TYPE_CHECKING:
    from ivr.machine import CallFlow, _Reply

#: The kinds of concession the hotline offers after a plan.
PHONE_KINDS = frozenset({"fee_waiver", "interest_waiver", "reduced_rate"})


def phone_offers(ctx: Context, account_id: str | None) -> tuple[SelfServiceOffer, ...]:
    """The self-service offers of the account that the hotline makes, in configured order."""
    return tuple(o for o in ctx.concession_offers(account_id) if o.kind in PHONE_KINDS)


def current(ctx: Context, session: CallSession) -> SelfServiceOffer | None:
    """The offer the caller is hearing, as the store's rules see it now; None when it has gone."""
    return next(
        (o for o in phone_offers(ctx, session.account_id) if o.offer == session.concession_offer),
        None,
    )


def offer_next(
    flow: CallFlow, session: CallSession, ctx: Context, reply: _Reply, *, after: str | None
) -> Turn:
    """The first offer configured after ``after`` (None: the first of all) that the account
    qualifies for, or the menu when there is none."""
    order = list(flow.flow.concessions.offers)
    rank = order.index(after) if after in order else -1
    for offer in phone_offers(ctx, session.account_id):
        if offer.offer in order and order.index(offer.offer) > rank:
            return flow._to(
                replace(
                    session, misses=0, state=State.CONCESSION_OFFER, concession_offer=offer.offer
                ),
                ctx,
                reply,
            )
    return flow._to(replace(session, misses=0, state=State.MENU, concession_offer=None), ctx, reply)


def answer(flow: CallFlow, session: CallSession, keys: str, ctx: Context, reply: _Reply) -> Turn:
    """The caller's key on the offer they heard."""
    offer = current(ctx, session)
    if offer is None or session.account_id is None:
        return offer_next(flow, session, ctx, reply, after=session.concession_offer)
    choice = flow.settings.keys.choice
    if keys == choice.decline:
        return offer_next(flow, session, ctx, reply, after=offer.offer)
    if keys != choice.accept:
        return flow._miss(session, ctx, reply, "invalid")
    reply.effects.append(ConcessionAccepted(account_id=session.account_id, offer=offer.offer))
    reply.say(flow.renderer.text(session, "concession_recorded"), flow.renderer.language(session))
    return offer_next(flow, session, ctx, reply, after=offer.offer)
