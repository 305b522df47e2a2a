"""One person's contact and decision timeline: what the compliance officer reads to answer "why
was this number called at 20:55 on the 3rd?".

:func:`find_subject` resolves a number or an account to the person (every customer on the
number, or the account's customer) and :func:`build_timeline` gathers, in time order, every call
and text, Twilio callback, contact-policy decision (with its rule, reason and the facts exactly as
the policy stored them), opt-out and other suppression, text the cardholder sent, hotline call,
promise, callback request, fraud report and audit row about that person's accounts and numbers.
The subject carries every zone the policy binds for this person; :mod:`campaigns.audit_view`
renders each entry in UTC and in each of them.

The zone rule is the contact policy's own (``dialer.timezones.resolve_zones``). campaigns/ may not
import the dialer, and a second copy of the rule here could disagree with the policy the audit
is meant to explain, so the caller hands it in as ``zones_for``.

Numbers are shown masked (:func:`store.privacy.mask_phone`) except the subject's own: the number
asked about, or the numbers on file for the account asked about. Read-only; no clock of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.models import (
    Account,
    Attempt,
    AuditLog,
    CallbackRequest,
    ComplianceDecision,
    InboundMessage,
    Phone,
    Plan,
    Promise,
    Suppression,
)
from store.models_concessions import Concession
from store.models_dialer import CallbackEvent
from store.models_ivr import FraudReport, IvrSession
from store.privacy import mask_phone, mask_text

#: The zones the contact policy binds for a number and an account's declared zone, by name.
ZonesFor = Callable[[str, str | None], Sequence[str]]

SubjectKind = Literal["number", "account"]

# Entries at the same instant read in the order things happen: the policy is asked, the attempt
# is recorded, Twilio reports on it; the rest follow.
_ORDER = {
    "decision": 0,
    "call": 1,
    "text": 1,
    "callback": 2,
    "hotline-call": 3,
    "inbound-text": 3,
    "suppression-added": 4,
    "suppression-removed": 4,
    "promise": 5,
    "promise-resolved": 5,
    "callback-request": 6,
    "fraud-report": 6,
    "audit": 9,
}


class UnknownSubjectError(LookupError):
    """Raised by :func:`find_subject` when nothing in the store is about the number or account;
    the message is one sentence fit to show as it is."""


@dataclass(frozen=True)
class SubjectAccount:
    """One account of the person, as the audit's header shows it."""

    account_id: str
    customer_id: str
    name: str
    timezone: str | None
    status: str
    numbers: tuple[str, ...]


@dataclass(frozen=True)
class Subject:
    """Whom the audit is about.

    ``query`` is what was asked (an E.164 number or an account id); ``customers`` every person
    found; ``accounts`` all their accounts; ``numbers`` every number gathered (the one asked about
    and every number on file for those accounts); ``shown`` the numbers printed in full;
    ``zones`` every zone the policy binds for them, in the policy's order, without duplicates.
    """

    query: str
    kind: SubjectKind
    customers: tuple[str, ...]
    accounts: tuple[SubjectAccount, ...]
    numbers: tuple[str, ...]
    shown: frozenset[str]
    zones: tuple[str, ...]

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(a.account_id for a in self.accounts)


@dataclass(frozen=True)
class Entry:
    """One thing that happened: when (aware UTC), what kind, a one-line summary, the rule and
    reason where there is one, the facts, and the row it comes from (``table#id``)."""

    at: datetime
    kind: str
    summary: str
    record: str
    account_id: str | None = None
    rule: str | None = None
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeline:
    """The subject and their entries, oldest first, from ``since`` on (None: all)."""

    subject: Subject
    since: datetime | None
    entries: tuple[Entry, ...]


def _ordered_union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)


def _number_is_known(session: Session, number: str) -> bool:
    for column in (
        Attempt.number,
        ComplianceDecision.number,
        Suppression.number,
        InboundMessage.number,
        CallbackRequest.number,
    ):
        if session.scalar(select(column).where(column == number).limit(1)) is not None:
            return True
    return False


def find_subject(
    session: Session,
    *,
    number: str | None = None,
    account_id: str | None = None,
    zones_for: ZonesFor,
) -> Subject:
    """The person behind ``number`` (E.164) or ``account_id``; exactly one must be given.

    Raises :class:`UnknownSubjectError` when no account has the number and no record mentions
    it, or when there is no such account.
    """
    if (number is None) == (account_id is None):
        raise ValueError("give a number or an account id, not both")
    kind: SubjectKind
    if number is not None:
        customers = tuple(
            sorted(
                set(
                    session.scalars(
                        select(Account.customer_id)
                        .join(Phone, Phone.account_id == Account.account_id)
                        .where(Phone.number == number)
                    )
                )
            )
        )
        if not customers and not _number_is_known(session, number):
            raise UnknownSubjectError(f"no account and no record has the number {number}")
        query, kind = number, "number"
    elif account_id is not None:
        found = session.get(Account, account_id)
        if found is None:
            raise UnknownSubjectError(f"no account {account_id}")
        customers = (found.customer_id,)
        query, kind = account_id, "account"

    rows = session.scalars(
        select(Account).where(Account.customer_id.in_(customers)).order_by(Account.account_id)
    ).all()
    phones: dict[str, list[str]] = {}
    for account_of, phone_number in session.execute(
        select(Phone.account_id, Phone.number)
        .where(Phone.account_id.in_([a.account_id for a in rows]))
        .order_by(Phone.account_id, Phone.kind.desc(), Phone.id)  # primary before alt
    ):
        phones.setdefault(account_of, []).append(phone_number)
    accounts = tuple(
        SubjectAccount(
            account_id=a.account_id,
            customer_id=a.customer_id,
            name=a.name,
            timezone=a.timezone,
            status=a.status,
            numbers=tuple(phones.get(a.account_id, ())),
        )
        for a in rows
    )
    numbers = _ordered_union([[number] if number else [], *(a.numbers for a in accounts)])
    if number is not None:
        shown = frozenset({number})
    else:
        shown = frozenset(n for a in accounts if a.account_id == account_id for n in a.numbers)
    # Every zone the policy would bind for a contact of this person: each account's declared zone
    # with each of its numbers, and the number asked about with the declared zone of each account.
    pairs = [(n, a.timezone) for a in accounts for n in a.numbers]
    if number is not None:
        pairs += [(number, a.timezone) for a in accounts] or [(number, None)]
    zones = _ordered_union(zones_for(n, declared) for n, declared in pairs)
    return Subject(
        query=query,
        kind=kind,
        customers=customers,
        accounts=accounts,
        numbers=numbers,
        shown=shown,
        zones=zones,
    )


# Every number duecall stores is E.164; matching only that shape keeps dates and times in the
# policy's reasons and facts ("2026-12-03 20:55") readable, which free-text masking would not.
_E164_RE = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)")


class _Masker:
    """Masks every number except the subject's own ones."""

    def __init__(self, shown: Iterable[str]) -> None:
        self._kept = frozenset(shown)

    def phone(self, number: str | None) -> str:
        if not number:
            return ""
        return number if number in self._kept else mask_phone(number)

    def text(self, value: str) -> str:
        """``value`` with every E.164 number but the subject's masked (stored reasons, facts)."""
        return _E164_RE.sub(lambda found: self.phone(found.group(0)), value)

    def free_text(self, value: str) -> str:
        """What a person wrote (a text's body, a note): card numbers and anything phone-shaped
        masked, except the subject's own numbers written in E.164."""
        kept: dict[str, str] = {}

        def keep(found: re.Match[str]) -> str:
            number = found.group(0)
            if number not in self._kept:
                return number
            # Letters only, so the placeholder is never phone-shaped itself.
            token = f"\x00{''.join(chr(ord('a') + int(d)) for d in str(len(kept)))}\x00"
            kept[token] = number
            return token

        masked = mask_text(_E164_RE.sub(keep, value))
        for token, number in kept.items():
            masked = masked.replace(token, number)
        return masked

    def doc(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.doc(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.doc(v) for v in value]
        return value


def shown_number(subject: Subject, number: str | None) -> str:
    """``number`` as the audit of ``subject`` prints it: in full when it is the subject's own,
    else masked."""
    return _Masker(subject.shown).phone(number)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _attempt_entries(
    attempts: Sequence[Attempt], verified: Mapping[int, bool], m: _Masker
) -> list[Entry]:
    entries = []
    for a in attempts:
        if a.direction == "inbound":
            # The contact ledger's row of a hotline call: what the policy reads.
            entries.append(
                Entry(
                    at=a.created_at,
                    kind="conversation" if a.conversation else "hotline-ledger",
                    summary=(
                        f"hotline call from {m.phone(a.number)} in the contact ledger"
                        + (
                            ": a conversation, starting the 7-day quiet period "
                            "(Reg F 1006.14(b)(2)(i)(B))"
                            if a.conversation
                            else ""
                        )
                    ),
                    record=f"attempts#{a.id}",
                    account_id=a.account_id,
                    facts={
                        "direction": a.direction,
                        "conversation": a.conversation,
                        "number": m.phone(a.number),
                        "provider_sid": a.provider_sid,
                        "created_at": _iso(a.created_at),
                    },
                )
            )
            continue
        what = "call" if a.channel == "voice" else "text"
        parts = [f"{a.purpose} {what} to {m.phone(a.number)}: {a.status}"]
        if a.outcome:
            parts.append(f"outcome {a.outcome}")
        if a.answered_by:
            parts.append(f"answered by {a.answered_by}")
        if a.connected:
            parts.append("connected")
        if a.conversation:
            parts.append("a conversation")
        if a.id in verified:
            parts.append("right party verified" if verified[a.id] else "not verified")
        if a.error_code is not None:
            parts.append(f"error {a.error_code}")
        entries.append(
            Entry(
                at=a.created_at,
                kind=what,
                summary=", ".join(parts),
                record=f"attempts#{a.id}",
                account_id=a.account_id,
                facts={
                    "channel": a.channel,
                    "purpose": a.purpose,
                    "number": m.phone(a.number),
                    "status": a.status,
                    "outcome": a.outcome,
                    "answered_by": a.answered_by,
                    "connected": a.connected,
                    "conversation": a.conversation,
                    "error_code": a.error_code,
                    "provider_sid": a.provider_sid,
                    "created_at": _iso(a.created_at),
                    "placed_at": _iso(a.placed_at),
                    "answered_at": _iso(a.answered_at),
                    "ended_at": _iso(a.ended_at),
                    "duration_seconds": a.duration_seconds,
                    "contact_id": a.contact_id,
                },
            )
        )
    return entries


def _decision_entries(decisions: Sequence[ComplianceDecision], m: _Masker) -> list[Entry]:
    entries = []
    for d in decisions:
        verdict = "allowed" if d.allowed else "denied"
        summary = f"policy {verdict} a {d.channel} contact to {m.phone(d.number)} ({d.context})"
        if not d.allowed and d.next_allowed_at is not None:
            summary += f"; next allowed {_iso(d.next_allowed_at)}"
        entries.append(
            Entry(
                at=d.at,
                kind="decision",
                summary=summary,
                record=f"compliance_decisions#{d.id}",
                account_id=d.account_id,
                rule=f"{d.profile}/{d.rule}",
                reason=m.text(d.reason),
                # The facts exactly as the policy stored them, numbers other than the
                # subject's masked.
                facts={
                    "allowed": d.allowed,
                    "profile": d.profile,
                    "rule": d.rule,
                    "context": d.context,
                    "attempt_id": d.attempt_id,
                    "next_allowed_at": _iso(d.next_allowed_at),
                    "facts": m.doc(d.facts),
                },
            )
        )
    return entries


def _callback_entries(
    events: Sequence[CallbackEvent], accounts: Mapping[int, str], m: _Masker
) -> list[Entry]:
    return [
        Entry(
            at=e.received_at,
            kind="callback",
            summary=(
                f"{e.kind} callback for attempt {e.attempt_id}: {e.status or '-'} ({e.effect})"
            ),
            record=f"callback_events#{e.id}",
            account_id=accounts.get(e.attempt_id) if e.attempt_id is not None else None,
            facts={
                "kind": e.kind,
                "provider_sid": e.provider_sid,
                "status": e.status,
                "sequence": e.sequence,
                "effect": e.effect,
                "payload": m.doc(e.payload),
            },
        )
        for e in events
    ]


def _suppression_entries(rows: Sequence[Suppression], m: _Masker) -> list[Entry]:
    entries = []
    for s in rows:
        target = f"number {m.phone(s.number)}" if s.number else f"account {s.account_id}"
        facts = {
            "kind": s.kind,
            "number": m.phone(s.number) or None,
            "account_id": s.account_id,
            "source": s.source,
            "created_by": s.created_by,
        }
        entries.append(
            Entry(
                at=s.created_at,
                kind="suppression-added",
                summary=f"{s.kind} on {target} by {s.created_by} (source {s.source})",
                record=f"suppressions#{s.id}",
                account_id=s.account_id,
                rule=s.kind,
                reason=m.free_text(s.reason),
                facts=facts,
            )
        )
        if s.removed_at is not None:
            entries.append(
                Entry(
                    at=s.removed_at,
                    kind="suppression-removed",
                    summary=f"{s.kind} lifted on {target} by {s.removed_by or '-'}",
                    record=f"suppressions#{s.id}",
                    account_id=s.account_id,
                    rule=s.kind,
                    reason=m.free_text(s.removed_reason or ""),
                    facts={**facts, "removed_by": s.removed_by},
                )
            )
    return entries


def _inbound_text_entries(rows: Sequence[InboundMessage], m: _Masker) -> list[Entry]:
    return [
        Entry(
            at=msg.received_at,
            kind="inbound-text",
            summary=f"text from {m.phone(msg.number)} ({msg.kind}): {m.free_text(msg.body)}",
            record=f"inbound_messages#{msg.id}",
            account_id=msg.account_id,
            rule=msg.kind,
            facts={
                "kind": msg.kind,
                "number": m.phone(msg.number),
                "message_sid": msg.message_sid,
                "body": m.free_text(msg.body),
                "handled_at": _iso(msg.handled_at),
                "handled_by": msg.handled_by,
            },
        )
        for msg in rows
    ]


def inbound_call_entries(
    session: Session, account_ids: Sequence[str], numbers: Sequence[str], m: _Masker
) -> list[Entry]:
    """Calls the cardholder made to the hotline, verified or not: today read from
    ``ivr_sessions`` (inbound sessions on the person's accounts or from their numbers)."""
    rows = session.scalars(
        select(IvrSession).where(
            IvrSession.direction == "inbound",
            or_(
                IvrSession.account_id.in_(account_ids),
                IvrSession.data["caller"].as_string().in_(numbers),
            ),
        )
    ).all()
    entries = []
    for s in rows:
        caller = s.data.get("caller") if isinstance(s.data, Mapping) else None
        who = f"verified as account {s.account_id}" if s.verified else "not verified"
        entries.append(
            Entry(
                at=s.created_at,
                kind="hotline-call",
                summary=f"hotline call from {m.phone(caller) or 'a withheld number'}, {who}",
                record=f"ivr_sessions#{s.call_sid}",
                account_id=s.account_id,
                facts={
                    "call_sid": s.call_sid,
                    "direction": s.direction,
                    "caller": m.phone(caller) or None,
                    "verified": s.verified,
                    "state": s.state,
                    "language": s.language,
                    "created_at": _iso(s.created_at),
                    "updated_at": _iso(s.updated_at),
                },
            )
        )
    return entries


def _promise_entries(rows: Sequence[Promise]) -> list[Entry]:
    entries = []
    for p in rows:
        facts = {
            "promised_date": p.promised_date.isoformat(),
            "amount": str(p.amount),
            "currency": p.currency,
            "source": p.source,
            "created_by": p.created_by,
            "call_sid": p.call_sid,
            "attempt_id": p.attempt_id,
            "status": p.status,
            "paid_amount": str(p.paid_amount),
        }
        entries.append(
            Entry(
                at=p.created_at,
                kind="promise",
                summary=(
                    f"promise to pay {p.amount} {p.currency} by {p.promised_date.isoformat()} "
                    f"({p.source}); now {p.status}"
                ),
                record=f"promises#{p.id}",
                account_id=p.account_id,
                facts=facts,
            )
        )
        if p.resolved_at is not None:
            entries.append(
                Entry(
                    at=p.resolved_at,
                    kind="promise-resolved",
                    summary=f"promise {p.id} {p.status}: {p.paid_amount} of {p.amount} paid",
                    record=f"promises#{p.id}",
                    account_id=p.account_id,
                    rule=p.status,
                    facts=facts,
                )
            )
    return entries


def _request_entries(rows: Sequence[CallbackRequest], m: _Masker) -> list[Entry]:
    return [
        Entry(
            at=r.created_at,
            kind="callback-request",
            summary=(
                f"callback requested to {m.phone(r.number)} ({r.reason})"
                + (f" for {_iso(r.preferred_at)}" if r.preferred_at else "")
                + f"; {r.status}"
            ),
            record=f"callback_requests#{r.id}",
            account_id=r.account_id,
            rule=r.reason,
            facts={
                "number": m.phone(r.number),
                "reason": r.reason,
                "preferred_at": _iso(r.preferred_at),
                "status": r.status,
                "verified": r.verified,
                "call_sid": r.call_sid,
                "note": m.free_text(r.note) if r.note else None,
            },
        )
        for r in rows
    ]


def _fraud_entries(rows: Sequence[FraudReport], m: _Masker) -> list[Entry]:
    return [
        Entry(
            at=f.created_at,
            kind="fraud-report",
            summary=f"{f.kind} reported ({f.source}); {f.status}",
            record=f"fraud_reports#{f.id}",
            account_id=f.account_id,
            facts={
                "kind": f.kind,
                "source": f.source,
                "status": f.status,
                "number": m.phone(f.number) or None,
                "call_sid": f.call_sid,
                "note": m.free_text(f.note) if f.note else None,
            },
        )
        for f in rows
    ]


def _audit_entries(rows: Sequence[AuditLog], m: _Masker) -> list[Entry]:
    return [
        Entry(
            at=a.at,
            kind="audit",
            summary=f"{a.action} on {a.entity_type} {a.entity_id} by {a.actor}",
            record=f"audit_log#{a.id}",
            account_id=a.entity_id if a.entity_type == "account" else None,
            facts=m.doc(a.detail),
        )
        for a in rows
    ]


def build_timeline(session: Session, subject: Subject, *, since: datetime | None) -> Timeline:
    """Every entry about ``subject`` at or after ``since`` (aware; None: from the start),
    oldest first."""
    m = _Masker(subject.shown)
    accounts = list(subject.account_ids)
    customers = list(subject.customers)
    numbers = list(subject.numbers)

    attempts = session.scalars(
        select(Attempt).where(
            or_(
                Attempt.customer_id.in_(customers),
                Attempt.account_id.in_(accounts),
                Attempt.number.in_(numbers),
            )
        )
    ).all()
    attempt_ids = [a.id for a in attempts]
    verified = {
        attempt_id: is_verified
        for attempt_id, is_verified in session.execute(
            select(IvrSession.attempt_id, IvrSession.verified).where(
                IvrSession.attempt_id.in_(attempt_ids)
            )
        )
        if attempt_id is not None
    }
    decisions = session.scalars(
        select(ComplianceDecision).where(
            or_(
                ComplianceDecision.customer_id.in_(customers),
                ComplianceDecision.account_id.in_(accounts),
                ComplianceDecision.number.in_(numbers),
            )
        )
    ).all()
    events = session.scalars(
        select(CallbackEvent).where(CallbackEvent.attempt_id.in_(attempt_ids))
    ).all()
    suppressions = session.scalars(
        select(Suppression).where(
            or_(Suppression.number.in_(numbers), Suppression.account_id.in_(accounts))
        )
    ).all()
    inbound = session.scalars(
        select(InboundMessage).where(
            or_(InboundMessage.number.in_(numbers), InboundMessage.account_id.in_(accounts))
        )
    ).all()
    promises = session.scalars(
        select(Promise).where(
            or_(Promise.account_id.in_(accounts), Promise.customer_id.in_(customers))
        )
    ).all()
    requests = session.scalars(
        select(CallbackRequest).where(
            or_(CallbackRequest.account_id.in_(accounts), CallbackRequest.number.in_(numbers))
        )
    ).all()
    frauds = session.scalars(select(FraudReport).where(FraudReport.account_id.in_(accounts))).all()
    # Concessions are in the trail through their audit rows: who proposed and decided, in which
    # role, why, and the terms.
    concessions = [
        str(i)
        for i in session.scalars(select(Concession.id).where(Concession.account_id.in_(accounts)))
    ]
    # Repayment plans likewise: agreed (by whom, the terms), each installment paid or missed,
    # the plan completed or broken, in the cardholder's local date.
    plans = [str(i) for i in session.scalars(select(Plan.id).where(Plan.account_id.in_(accounts)))]
    audit_rows = session.scalars(
        select(AuditLog).where(
            or_(
                (AuditLog.entity_type == "account") & AuditLog.entity_id.in_(accounts),
                (AuditLog.entity_type == "suppression")
                & AuditLog.entity_id.in_([str(s.id) for s in suppressions]),
                (AuditLog.entity_type == "promise")
                & AuditLog.entity_id.in_([str(p.id) for p in promises]),
                (AuditLog.entity_type == "concession") & AuditLog.entity_id.in_(concessions),
                (AuditLog.entity_type == "plan") & AuditLog.entity_id.in_(plans),
            )
        )
    ).all()

    entries = [
        *_decision_entries(decisions, m),
        *_attempt_entries(attempts, verified, m),
        *_callback_entries(events, {a.id: a.account_id for a in attempts}, m),
        *_suppression_entries(suppressions, m),
        *_inbound_text_entries(inbound, m),
        *inbound_call_entries(session, accounts, numbers, m),
        *_promise_entries(promises),
        *_request_entries(requests, m),
        *_fraud_entries(frauds, m),
        *_audit_entries(audit_rows, m),
    ]
    if since is not None:
        entries = [e for e in entries if e.at >= since]
    entries.sort(key=lambda e: (e.at, _ORDER.get(e.kind, 8), e.record))
    return Timeline(subject=subject, since=since, entries=tuple(entries))
