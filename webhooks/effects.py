"""The IVR's effects handed to the packages that own their tables, in the request's transaction.

The IVR writes only its own tables; what else a step decides comes back as effects
(:mod:`ivr.machine`), and the voice views give each to its owner here:

- a promise to pay: :func:`campaigns.promises.record_promise`, and its confirmation text to the
  dialer's outbox (:func:`dialer.outbox.enqueue_sms`), which sends it through the contact policy
  after the transaction commits -- the configured opt-out notice appended
  (:func:`campaigns.sms.with_opt_out_notice`);
- a repayment plan: :func:`campaigns.plans.create_plan` (the rules checked again against the
  store; a refusal stores nothing and sends nothing), its confirmation text as for a promise;
- a self-service concession the caller accepted after a plan:
  :func:`campaigns.concessions.propose` as the ``ivr`` actor (decided again, audited);
- a callback request: :func:`campaigns.callbacks.request_callback`;
- a fraud or lost-card report: :func:`campaigns.fraud.report_fraud`;
- what the call learnt about its reminder attempt: the attempt lifecycle
  (:func:`dialer.attempts.apply_ivr_outcome`);
- a hotline caller who verified: a conversation in the contact ledger
  (:func:`dialer.attempts.record_inbound`), which the contact policy reads;
- "stop these calls" (menu key 8): a voice opt-out for the number
  (:func:`campaigns.suppressions.add_suppression`), honoured before the next call.

Every write carries a dedupe key made of the CallSid and the step that decided it, so a request
replayed after a lost race stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.accounts import text_number
from campaigns.callbacks import CallbackWanted, request_callback
from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import Actor, Terms
from campaigns.concessions import propose
from campaigns.fraud import report_fraud
from campaigns.legal import LegalProfiles
from campaigns.plan_schedule import Refusal
from campaigns.plan_settings import PlanSettings
from campaigns.plans import NewPlan, create_plan
from campaigns.promises import NewPromise, record_promise
from campaigns.sms import opt_out_notice, with_opt_out_notice
from campaigns.suppressions import add_suppression
from dialer.attempts import apply_ivr_outcome, record_inbound
from dialer.outbox import enqueue_sms
from ivr.session import (
    AgentWanted,
    AttemptUpdate,
    CallbackRequested,
    CallSession,
    ConcessionAccepted,
    ConversationHeld,
    Effect,
    FraudReported,
    PlanAgreed,
    PromiseMade,
    VoiceOptOut,
)
from store.models import Account, Plan
from store.models_concessions import Concession

log = logging.getLogger(__name__)

ACTOR = "ivr"


@dataclass(frozen=True)
class TextRules:
    """What every text the IVR's effects send must carry: the opt-out notice per language
    (``sms.opt_out_notice``), and, where the cardholder's legal profile says so, that it comes
    from a debt collector (``sms.collector_disclosure``; a text is never a limited-content
    message, Reg F 1006.18(e))."""

    opt_out_notices: Mapping[str, str]
    legal: LegalProfiles
    collector_notices: Mapping[str, str] = field(default_factory=dict)

    def body(self, text: str, language: str, number: str) -> str:
        if self.legal.for_number(number).texts_need_collector_notice:
            notice = self.collector_notices.get(language) or self.collector_notices.get("en-US")
            if notice and notice not in text:
                text = with_opt_out_notice(text, notice)
        return with_opt_out_notice(text, opt_out_notice(self.opt_out_notices, language))


def carry_out(
    s: Session,
    session: CallSession | None,
    effects: Iterable[Effect],
    *,
    now: datetime,
    texts: TextRules,
    plans: PlanSettings | None = None,
    concessions: ConcessionSettings | None = None,
) -> None:
    """Hand each effect of the step that left the call in ``session`` to its owner.
    ``plans``: the rules a plan agreed on the call is checked against again, ``concessions``
    the offers a caller accepted (default: the defaults, no offers)."""
    for effect in effects:
        if session is None:  # effects always come with the session that decided them
            raise ValueError(f"an IVR effect without its call: {type(effect).__name__}")
        if isinstance(effect, PromiseMade):
            _promise(s, session, effect, now, texts)
        elif isinstance(effect, PlanAgreed):
            _plan(s, session, effect, now, texts, plans)
        elif isinstance(effect, ConcessionAccepted):
            _concession(s, session, effect, now, concessions or ConcessionSettings())
        elif isinstance(effect, CallbackRequested):
            book_callback(s, session.call_sid, effect, now=now, key=f"{session.step}")
        elif isinstance(effect, FraudReported):
            report_fraud(
                s,
                account_id=effect.account_id,
                number=effect.number,
                language=effect.language,
                source="ivr",
                actor=ACTOR,
                dedupe_key=f"ivr-fraud:{session.call_sid}:{session.step}",
                call_sid=session.call_sid,
                now=now,
            )
        elif isinstance(effect, AttemptUpdate):
            apply_ivr_outcome(
                s,
                session.attempt_id,
                answered_by=effect.answered_by,
                connected=effect.connected,
                conversation=effect.conversation,
                outcome=effect.outcome,
            )
        elif isinstance(effect, ConversationHeld):
            account = s.get(Account, effect.account_id)
            if account is not None:
                record_inbound(
                    s,
                    account,
                    number=session.caller,
                    call_sid=session.call_sid,
                    conversation=True,
                    now=now,
                )
        elif isinstance(effect, VoiceOptOut):
            target = (
                {"number": effect.number} if effect.number else {"account_id": effect.account_id}
            )
            add_suppression(
                s,
                kind="optout-voice",
                reason="asked on the hotline to stop these calls (menu key)",
                actor="cardholder",
                source="ivr",
                now=now,
                **target,
            )
        elif isinstance(effect, AgentWanted):
            # Decided by the voice view before the effects are carried out: the desk either
            # queued the caller (and the fallback callback was dropped) or had nobody for them.
            continue
        else:  # an effect the IVR stores itself never reaches here
            raise TypeError(f"no owner for the IVR effect {type(effect).__name__}")


def book_callback(
    s: Session, call_sid: str, effect: CallbackRequested, *, now: datetime, key: str
) -> bool:
    """Book the callback ``effect`` asks for, once per call and ``key``."""
    return request_callback(
        s,
        CallbackWanted(
            number=effect.number or "",
            reason=effect.reason,
            language=effect.language,
            priority=effect.priority,
            dedupe_key=f"ivr-callback:{call_sid}:{key}:{effect.reason}",
            account_id=effect.account_id,
            preferred_at=effect.preferred_at,
            call_sid=call_sid,
            verified=effect.verified,
        ),
        now=now,
    )


def _promise(
    s: Session,
    session: CallSession,
    effect: PromiseMade,
    now: datetime,
    texts: TextRules,
) -> None:
    promise = record_promise(
        s,
        NewPromise(
            account_id=effect.account_id,
            promised_date=effect.promised_date,
            amount=effect.amount,
            currency=effect.currency,
            source="ivr",
            created_by=ACTOR,
            dedupe_key=f"ivr-promise:{session.call_sid}:{session.step}",
            call_sid=session.call_sid,
            attempt_id=session.attempt_id,
        ),
        now=now,
    )
    if promise is None:
        return
    number = text_number(s, effect.account_id, session.caller)
    if number is None:
        log.info("ivr %s: no number to confirm the promise to", session.call_sid)
        return
    enqueue_sms(
        s,
        account_id=effect.account_id,
        number=number,
        body=texts.body(effect.sms_body, effect.language, number),
        purpose="promise_confirmation",
        dedupe_key=f"ivr-sms:{session.call_sid}:{session.step}",
        now=now,
        detail={
            "language": effect.language,
            "promise_id": promise.id,
            "call_sid": session.call_sid,
        },
    )


def _concession(
    s: Session,
    session: CallSession,
    effect: ConcessionAccepted,
    now: datetime,
    settings: ConcessionSettings,
) -> None:
    offer = settings.offers.get(effect.offer)
    if offer is None:  # the configuration changed during the call
        log.warning("ivr %s: offer %s no longer configured", session.call_sid, effect.offer)
        return
    actor = Actor("ivr", f"{ACTOR}:{session.call_sid}"[:64])
    if s.scalar(
        select(Concession.id).where(
            Concession.requested_by == actor.name, Concession.offer == effect.offer
        )
    ):
        return  # a replayed request: this call accepted it already
    # A reduced rate runs with the plan agreed earlier on the call: the account's active one.
    plan_id = (
        s.scalar(
            select(Plan.id).where(Plan.account_id == effect.account_id, Plan.status == "active")
        )
        if offer.kind == "reduced_rate"
        else None
    )
    decided = propose(
        s,
        effect.account_id,
        effect.offer,
        Terms(plan_id=plan_id),
        by=actor,
        settings=settings,
        now=now,
        note="accepted by the verified caller on the hotline",
    )
    if decided.status != "granted":
        # The account changed between the offer and the key (a payment, another concession).
        why = decided.refusal.code if decided.refusal else decided.status
        log.warning("ivr %s: concession %s not granted: %s", session.call_sid, effect.offer, why)


def _plan(
    s: Session,
    session: CallSession,
    effect: PlanAgreed,
    now: datetime,
    texts: TextRules,
    plans: PlanSettings | None,
) -> None:
    plan = create_plan(
        s,
        plans or PlanSettings(),
        NewPlan(
            account_id=effect.account_id,
            installments=effect.installments,
            frequency=effect.frequency,
            first_date=effect.first_date,
            total=effect.total,
            source="ivr",
            created_by=ACTOR,
            dedupe_key=f"ivr-plan:{session.call_sid}:{session.step}",
            call_sid=session.call_sid,
        ),
        now=now,
    )
    if plan is None:
        return
    if isinstance(plan, Refusal):
        # The account changed between the offer and the confirmation (a payment, a status).
        log.warning("ivr %s: plan refused on storing: %s", session.call_sid, plan.reason.value)
        return
    number = text_number(s, effect.account_id, session.caller)
    if number is None:
        log.info("ivr %s: no number to confirm the plan to", session.call_sid)
        return
    enqueue_sms(
        s,
        account_id=effect.account_id,
        number=number,
        body=texts.body(effect.sms_body, effect.language, number),
        purpose="plan_confirmation",
        dedupe_key=f"ivr-sms:{session.call_sid}:{session.step}",
        now=now,
        detail={"language": effect.language, "plan_id": plan.id, "call_sid": session.call_sid},
    )
