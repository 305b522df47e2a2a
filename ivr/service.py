"""The IVR's I/O half: load a call's session, run one step of the machine, store what it decided.

The web boundary (webhooks/voice.py) opens the database session, calls one method here, and
commits; nothing here commits. Each method is safe to retry as a whole: when two requests for the
same call race, the loser raises (:class:`sqlalchemy.orm.exc.StaleDataError` from the session's
version check, or :class:`sqlalchemy.exc.IntegrityError` from a duplicate first insert) and the
boundary runs it again on a fresh read, where it is recognised as a replay.

Replays: every document handed to Twilio carries its ``step``; a request for the current step is
processed once (step + 1), a repeat of the request that produced the current document gets that
same document back and stores nothing, and anything older gets the current document.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from campaigns.accounts import outstanding
from ivr.machine import CallFlow
from ivr.session import (
    PERSON_VERDICTS,
    PRIORITY_FAULT,
    SECRET_STATES,
    AccountFacts,
    AmdVerdict,
    AttemptUpdate,
    CallbackRequested,
    CallSession,
    Context,
    Digits,
    Direction,
    Effect,
    Event,
    Flow,
    FraudReported,
    HoldTick,
    NoInput,
    PromiseMade,
    Start,
    Turn,
    VerificationFailed,
    VerificationSucceeded,
)
from store.audit import record_audit
from store.models import Account, Attempt, CallbackRequest, OutboxItem, Phone, Promise
from store.models_ivr import FraudReport, IvrSession, VerificationFailure, VerificationLock
from store.privacy import mask_phone

log = logging.getLogger(__name__)

ACTOR = "ivr"
SMS_KIND = "sms.promise_confirmation"

RequestKind = Literal["start", "input", "miss", "hold", "show"]

# Attempt outcomes the IVR sets, by how much they say; a weaker one never replaces a stronger one
# (a promise made on a call is also a right-party contact).
_OUTCOME_RANK = {"fax": 1, "voicemail_left": 1, "wrong_party": 2, "rpc": 3, "promise": 4}


@dataclass(frozen=True)
class VoiceRequest:
    """One voice webhook, parsed. ``caller`` is the cardholder's side of the call (From on the
    hotline, To on a reminder call); ``step`` None means the call's first request; ``params``
    are the raw parameters, kept (masked) as the session's last request."""

    call_sid: str
    direction: Direction
    kind: RequestKind
    caller: str | None = None
    attempt_id: int | None = None
    step: int | None = None
    digits: str = ""
    finished_on_key: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AmdRequest:
    """An asynchronous AMD callback (``AnsweredBy``) for a reminder call."""

    call_sid: str
    attempt_id: int | None
    answered_by: str
    caller: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


class StoreDirectory:
    """:class:`ivr.machine.AccountDirectory` over the store, for one request (cached)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now
        self._cache: dict[str, AccountFacts | None] = {}

    def account(self, account_id: str) -> AccountFacts | None:
        if account_id not in self._cache:
            self._cache[account_id] = self._load(account_id)
        return self._cache[account_id]

    def _load(self, account_id: str) -> AccountFacts | None:
        s = self._session
        account = s.get(Account, account_id)
        if account is None:
            return None
        owed = outstanding(s, account_id)
        zone = account_zone(s, account)
        locked = (
            s.scalar(
                select(func.count())
                .select_from(VerificationLock)
                .where(
                    VerificationLock.account_id == account_id,
                    VerificationLock.cleared_at.is_(None),
                )
            )
            or 0
        ) > 0
        return AccountFacts(
            account_id=account.account_id,
            name=account.name,
            language=account.language,
            currency=account.currency,
            balance=owed if owed is not None else account.balance,
            minimum_due=account.minimum_due,
            due_date=account.due_date,
            last4=account.card_last4,
            birth_date=account.birth_date,
            status=account.status,
            today=self._now.astimezone(zoneinfo.ZoneInfo(zone)).date(),
            zone=zone,
            locked=locked,
        )


def account_zone(session: Session, account: Account) -> str:
    """The cardholder's zone: the declared one, else the first zone of the primary number,
    else UTC. Used for the cardholder's "today" (promise dates) and callback times."""
    if account.timezone:
        try:
            zoneinfo.ZoneInfo(account.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return account.timezone
    number = session.scalar(
        select(Phone.number)
        .where(Phone.account_id == account.account_id)
        .order_by(Phone.kind.desc())  # "primary" sorts after "alt"
        .limit(1)
    )
    if number:
        try:
            zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            zones = ()
        for name in zones:
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            return str(name)
    return "UTC"


def caller_accounts(session: Session, number: str | None) -> tuple[str, ...]:
    """The accounts of the one customer whose phone is ``number``; () when no customer or
    several (a shared family number) match, so the caller keys an account number instead."""
    if not number or not number.startswith("+"):
        return ()
    customers = session.scalars(
        select(Account.customer_id)
        .join(Phone, Phone.account_id == Account.account_id)
        .where(Phone.number == number)
        .distinct()
    ).all()
    if len(customers) != 1:
        return ()
    return tuple(
        session.scalars(
            select(Account.account_id)
            .where(Account.customer_id == customers[0])
            .order_by(Account.account_id)
        ).all()
    )


class IvrService:
    """Runs the call flow against the store. One instance per app; stateless between calls."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.machine = CallFlow(flow)

    # voice requests -----------------------------------------------------------------------------

    def handle(self, s: Session, request: VoiceRequest, now: datetime) -> str:
        """Serve one voice webhook; returns the TwiML document to answer with."""
        ctx = Context(now=now, directory=StoreDirectory(s, now))
        row = s.get(IvrSession, request.call_sid)
        if row is None:
            start = self._start_event(s, request.direction, request.caller, request.attempt_id)
            if start is None:
                log.warning(
                    "ivr %s: reminder call for unknown attempt %s; hanging up",
                    request.call_sid,
                    request.attempt_id,
                )
                return _hangup()
            turn = self.machine.start(request.call_sid, request.direction, start, ctx)
            self._insert(s, turn, request, now)
            self._apply(s, turn, now)
            return _twiml(turn)
        session = CallSession.from_json(row.data)
        key = f"{request.step}:{request.kind}"
        if request.kind in ("start", "show") or request.step is None:
            return row.last_twiml
        if request.step == session.step:
            turn = self.machine.advance(session, self._event(request), ctx)
            if turn.twiml is None:  # cannot happen for voice events; answer the current prompt
                return row.last_twiml
            self._update(s, row, session, turn, request, key, now)
            self._apply(s, turn, now)
            return turn.twiml
        if request.step == session.step - 1 and row.last_key == key:
            log.info("ivr %s: replay of step %s (%s)", request.call_sid, request.step, key)
            return row.last_twiml
        if request.kind == "hold":
            # A hold loop overtaken by the AMD verdict: wait for the REST redirect, which
            # interrupts this, else fetch the current document.
            response = VoiceResponse()
            response.pause(length=1)
            response.redirect(self.machine.url(session), method="POST")
            return str(response)
        return row.last_twiml

    def amd(self, s: Session, request: AmdRequest, now: datetime) -> str | None:
        """Apply an AMD verdict; returns the URL the live call must be redirected to, or None
        when the verdict changes nothing the callee hears (late, or unknown call)."""
        ctx = Context(now=now, directory=StoreDirectory(s, now))
        row = s.get(IvrSession, request.call_sid)
        if row is None:
            # The verdict overtook the call's first request: open the session here.
            start = self._start_event(s, "outbound", request.caller, request.attempt_id)
            if start is None:
                return None
            opening = self.machine.start(request.call_sid, "outbound", start, ctx)
            row = self._insert(
                s,
                opening,
                VoiceRequest(request.call_sid, "outbound", "start", params=request.params),
                now,
            )
        session = CallSession.from_json(row.data)
        turn = self.machine.advance(session, AmdVerdict(request.answered_by), ctx)
        key = f"{session.step}:amd"
        if turn.twiml is None:
            row.data = turn.session.to_json()
            row.updated_at = now
            s.flush()
            self._apply(s, turn, now)
            return None
        self._update(
            s,
            row,
            session,
            turn,
            VoiceRequest(request.call_sid, "outbound", "show", params=request.params),
            key,
            now,
        )
        self._apply(s, turn, now)
        return self.machine.url(turn.session)

    # the fault barrier --------------------------------------------------------------------------

    def fault_language(self, s: Session, call_sid: str) -> tuple[CallSession | None, str | None]:
        """The session of ``call_sid`` (if any) and the language to apologise in."""
        row = s.get(IvrSession, call_sid)
        if row is None:
            return None, None
        session = CallSession.from_json(row.data)
        return session, session.language

    @staticmethod
    def person_on_line(session: CallSession | None, direction: Direction) -> bool:
        """Whether a person (not a machine, not someone not yet asked) may be on the line: on a
        reminder call only once the AMD said so or a key was pressed."""
        if direction == "inbound":
            return True
        if session is None:
            return False
        return session.keyed or (session.answered_by or "") in PERSON_VERDICTS

    def record_fault_callback(
        self,
        s: Session,
        *,
        call_sid: str,
        number: str,
        session: CallSession | None,
        now: datetime,
    ) -> None:
        """Ask an agent to call back a caller whose call failed on our side (once per call)."""
        key = f"ivr-fault:{call_sid}"
        if s.scalar(select(CallbackRequest.id).where(CallbackRequest.dedupe_key == key)):
            return
        verified = bool(session and session.verified)
        s.add(
            CallbackRequest(
                account_id=session.account_id if session and verified else None,
                number=number[:16],
                reason="ivr_fault",
                language=(session.language if session else None) or self.flow.languages[0],
                priority=PRIORITY_FAULT,
                status="open",
                created_at=now,
                call_sid=call_sid,
                dedupe_key=key,
                verified=verified,
            )
        )

    def fault_twiml(self, languages: tuple[str, ...], *, speak: bool) -> str:
        """An apology in ``languages`` and a hang-up (or only the hang-up when ``speak`` is
        False: a machine or an unasked callee must not hear it)."""
        response = VoiceResponse()
        if speak:
            for language in languages:
                voice = self.flow.settings.voices[language]
                response.say(
                    self.flow.catalogues[language].text("fault"),
                    voice=voice.voice,
                    language=voice.language,
                )
        response.hangup()
        return str(response)

    # internals ----------------------------------------------------------------------------------

    def _start_event(
        self,
        s: Session,
        direction: Direction,
        caller: str | None,
        attempt_id: int | None,
    ) -> Start | None:
        if direction == "inbound":
            return Start(caller=caller, candidates=caller_accounts(s, caller))
        attempt = s.get(Attempt, attempt_id) if attempt_id else None
        if attempt is None or attempt.channel != "voice":
            return None
        if caller and caller != attempt.number:
            log.warning(
                "ivr: attempt %s was for %s, the call is to %s; hanging up",
                attempt.id,
                mask_phone(attempt.number),
                mask_phone(caller),
            )
            return None
        return Start(caller=attempt.number, candidates=(attempt.account_id,), attempt_id=attempt.id)

    @staticmethod
    def _event(request: VoiceRequest) -> Event:
        if request.kind == "input":
            return Digits(request.digits, request.finished_on_key)
        if request.kind == "hold":
            return HoldTick()
        return NoInput()

    def _insert(self, s: Session, turn: Turn, request: VoiceRequest, now: datetime) -> IvrSession:
        session = turn.session
        row = IvrSession(
            call_sid=session.call_sid,
            direction=session.direction,
            state=session.state.value,
            step=session.step,
            language=session.language,
            account_id=session.account_id,
            attempt_id=session.attempt_id,
            verified=session.verified,
            data=session.to_json(),
            last_key=f"{request.step}:{request.kind}",
            last_twiml=_twiml(turn),
            last_request=stored_request(request.params, secret=False),
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()  # a concurrent first request for the same call fails here and is retried
        log.info("ivr %s: %s call opened in %s", session.call_sid, session.direction, row.state)
        return row

    def _update(
        self,
        s: Session,
        row: IvrSession,
        before: CallSession,
        turn: Turn,
        request: VoiceRequest,
        key: str,
        now: datetime,
    ) -> None:
        after = turn.session
        row.state = after.state.value
        row.step = after.step
        row.language = after.language
        row.account_id = after.account_id
        row.verified = after.verified
        row.data = after.to_json()
        row.last_key = key
        row.last_twiml = _twiml(turn)
        row.last_request = stored_request(request.params, secret=before.state in SECRET_STATES)
        row.updated_at = now
        s.flush()  # the version check: a concurrent step for this call fails here, is retried
        log.info("ivr %s: step %s %s -> %s", after.call_sid, before.step, before.state, after.state)

    def _apply(self, s: Session, turn: Turn, now: datetime) -> None:
        session = turn.session
        for effect in turn.effects:
            _APPLY[type(effect)](self, s, session, effect, now)

    def _verified(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, VerificationSucceeded)
        record_audit(
            s,
            at=now,
            actor=ACTOR,
            action="ivr.verified",
            entity_type="account",
            entity_id=effect.account_id,
            detail={"call_sid": session.call_sid, "direction": session.direction},
        )

    def _failed(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, VerificationFailed)
        lockout = self.flow.settings.lockout
        for account_id in effect.account_ids or (None,):
            s.add(VerificationFailure(account_id=account_id, call_sid=session.call_sid, at=now))
        s.flush()
        since = now - timedelta(hours=lockout.window_hours)
        for account_id in effect.account_ids:
            count = (
                s.scalar(
                    select(func.count())
                    .select_from(VerificationFailure)
                    .where(
                        VerificationFailure.account_id == account_id,
                        VerificationFailure.at > since,
                    )
                )
                or 0
            )
            already = s.scalar(
                select(VerificationLock.id).where(
                    VerificationLock.account_id == account_id,
                    VerificationLock.cleared_at.is_(None),
                )
            )
            if count < lockout.per_window or already is not None:
                continue
            s.add(
                VerificationLock(
                    account_id=account_id,
                    locked_at=now,
                    failures=count,
                    reason=(f"{count} failed keypad verifications in {lockout.window_hours} hours"),
                )
            )
            record_audit(
                s,
                at=now,
                actor=ACTOR,
                action="fraud_alert.verification_lockout",
                entity_type="account",
                entity_id=account_id,
                detail={
                    "call_sid": session.call_sid,
                    "failures": count,
                    "window_hours": lockout.window_hours,
                    "caller": mask_phone(session.caller),
                },
            )
            log.warning(
                "ivr %s: account locked to agent-only verification after %s failures",
                session.call_sid,
                count,
            )

    def _promise(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, PromiseMade)
        account = s.get(Account, effect.account_id)
        if account is None:
            return
        # A new promise replaces the account's open ones: only the latest is followed up.
        replaced = s.scalars(
            select(Promise).where(Promise.account_id == effect.account_id, Promise.status == "open")
        ).all()
        for earlier in replaced:
            earlier.status = "cancelled"
            earlier.resolved_at = now
        promise = Promise(
            account_id=effect.account_id,
            customer_id=account.customer_id,
            promised_date=effect.promised_date,
            amount=effect.amount,
            currency=effect.currency,
            status="open",
            source="ivr",
            created_at=now,
            created_by=ACTOR,
            call_sid=session.call_sid,
            attempt_id=session.attempt_id,
            dedupe_key=f"ivr-promise:{session.call_sid}:{session.step}",
        )
        s.add(promise)
        s.flush()
        record_audit(
            s,
            at=now,
            actor=ACTOR,
            action="ivr.promise",
            entity_type="promise",
            entity_id=str(promise.id),
            detail={
                "call_sid": session.call_sid,
                "amount": str(effect.amount),
                "replaces": [earlier.id for earlier in replaced],
            },
        )
        number = _sms_number(s, effect.account_id, session.caller)
        if number is None:
            log.info("ivr %s: no number to confirm the promise to", session.call_sid)
            return
        # Record only: the dialer's outbox job sends it, through the contact policy (consent,
        # hours, caps), after this transaction commits.
        s.add(
            OutboxItem(
                kind=SMS_KIND,
                account_id=effect.account_id,
                number=number,
                payload={
                    "body": effect.sms_body,
                    "purpose": "promise_confirmation",
                    "language": effect.language,
                    "promise_id": promise.id,
                    "call_sid": session.call_sid,
                },
                dedupe_key=f"ivr-sms:{session.call_sid}:{session.step}",
                status="pending",
                created_at=now,
                available_at=now,
            )
        )

    def _callback(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, CallbackRequested)
        s.add(
            CallbackRequest(
                account_id=effect.account_id
                if effect.account_id and s.get(Account, effect.account_id)
                else None,
                number=(effect.number or "")[:16],
                reason=effect.reason,
                language=effect.language,
                priority=effect.priority,
                preferred_at=effect.preferred_at,
                status="open",
                created_at=now,
                call_sid=session.call_sid,
                dedupe_key=f"ivr-callback:{session.call_sid}:{session.step}:{effect.reason}",
                verified=effect.verified,
            )
        )

    def _fraud(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, FraudReported)
        report = FraudReport(
            account_id=effect.account_id,
            kind="lost_stolen_or_fraud",
            source="ivr",
            status="open",
            number=effect.number[:16] if effect.number else None,
            language=effect.language,
            call_sid=session.call_sid,
            created_at=now,
            dedupe_key=f"ivr-fraud:{session.call_sid}:{session.step}",
        )
        s.add(report)
        s.flush()
        record_audit(
            s,
            at=now,
            actor=ACTOR,
            action="fraud_alert.reported",
            entity_type="account",
            entity_id=effect.account_id,
            detail={"call_sid": session.call_sid, "fraud_report_id": report.id},
        )

    def _attempt(self, s: Session, session: CallSession, effect: Effect, now: datetime) -> None:
        assert isinstance(effect, AttemptUpdate)
        if session.attempt_id is None:
            return
        attempt = s.get(Attempt, session.attempt_id)
        if attempt is None:
            return
        if effect.answered_by:
            attempt.answered_by = effect.answered_by[:32]
        if effect.connected:
            attempt.connected = True
        if effect.outcome and _OUTCOME_RANK.get(effect.outcome, 0) >= _OUTCOME_RANK.get(
            attempt.outcome or "", 0
        ):
            attempt.outcome = effect.outcome


_Applier = Callable[[IvrService, Session, CallSession, Effect, datetime], None]
_APPLY: dict[type, _Applier] = {
    VerificationSucceeded: IvrService._verified,
    VerificationFailed: IvrService._failed,
    PromiseMade: IvrService._promise,
    CallbackRequested: IvrService._callback,
    FraudReported: IvrService._fraud,
    AttemptUpdate: IvrService._attempt,
}


# Request parameters that carry a phone number (Twilio's voice request parameters).
_NUMBER_PARAMS = frozenset({"From", "To", "Caller", "Called", "ForwardedFrom"})


def stored_request(params: Mapping[str, str], *, secret: bool) -> dict[str, str]:
    """A webhook's parameters fit for storage: numbers masked, and the keys pressed blanked
    when they answered a verification question (card digits, birth date, account number)."""
    stored: dict[str, str] = {}
    for key, value in params.items():
        if key == "Digits" and secret:
            stored[key] = "***"
        elif key in _NUMBER_PARAMS:
            stored[key] = mask_phone(value)
        else:
            stored[key] = value
    return stored


def _sms_number(s: Session, account_id: str, caller: str | None) -> str | None:
    """Where the confirmation goes: the caller's number when it is one of the account's,
    else the account's primary number."""
    numbers = dict(
        s.execute(select(Phone.number, Phone.kind).where(Phone.account_id == account_id)).all()
    )
    if caller and caller in numbers:
        return caller
    return next((n for n, kind in numbers.items() if kind == "primary"), None)


def _twiml(turn: Turn) -> str:
    return turn.twiml if turn.twiml is not None else _hangup()


def _hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


__all__ = [
    "AmdRequest",
    "IvrService",
    "StoreDirectory",
    "VoiceRequest",
    "account_zone",
    "caller_accounts",
    "stored_request",
]
