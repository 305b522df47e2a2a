"""The IVR's I/O half: load a call's session, run one step of the machine, store the session.

The IVR writes only its own tables: the call sessions, the verification failures and the
verification locks (with their audit rows). Everything else a step decides -- a promise, a
callback request, a fraud report, a confirmation text, what the call learnt about its reminder
attempt -- comes back as an effect in :class:`Served`, and the web boundary (webhooks/voice.py)
hands each one to the package that owns its table, in the same transaction.

The web boundary opens the database session, calls one method here, carries out the effects and
commits; nothing here commits. Each method is safe to retry as a whole: when two requests for the
same call race, the loser raises (:class:`sqlalchemy.orm.exc.StaleDataError` from the session's
version check, or :class:`sqlalchemy.exc.IntegrityError` from a duplicate first insert) and the
boundary runs it again on a fresh read, where it is recognised as a replay.

Replays: every document handed to Twilio carries its ``step``; a request for the current step is
processed once (step + 1), a repeat of the request that produced the current document gets that
same document back and stores nothing, and anything older gets the current document.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from twilio.twiml.voice_response import VoiceResponse

from campaigns.accounts import accounts_of_caller, cardholder_contact
from campaigns.concession_config import ConcessionSettings
from campaigns.concession_rules import SelfServiceOffer
from campaigns.concessions import offers_by_phone
from campaigns.legal import LegalProfile, LegalProfiles
from ivr import twiml
from ivr.machine import CallFlow
from ivr.session import (
    PERSON_VERDICTS,
    PRIORITY_FAULT,
    SECRET_STATES,
    TERMINAL_STATES,
    AccountFacts,
    AmdVerdict,
    CallbackRequested,
    CallSession,
    Context,
    Digits,
    Direction,
    Effect,
    Event,
    Flow,
    HoldTick,
    NoInput,
    Start,
    State,
    Turn,
    VerificationFailed,
    VerificationSucceeded,
)
from store.audit import record_audit
from store.db import commit_without_waiting_for_disk
from store.models import Attempt
from store.models_ivr import IvrSession, VerificationFailure, VerificationLock
from store.privacy import mask_phone
from telephony.zones import is_known_zone, number_zones

log = logging.getLogger(__name__)

ACTOR = "ivr"

RequestKind = Literal["start", "input", "miss", "hold", "show"]


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
    """:class:`ivr.session.AccountDirectory` over the store, for one request (cached)."""

    def __init__(
        self,
        session: Session,
        now: datetime,
        legal: LegalProfiles,
        caller: str | None = None,
        *,
        profile_of: Callable[[str | None], LegalProfile] | None = None,
        concessions: ConcessionSettings | None = None,
    ) -> None:
        self._session = session
        self._now = now
        self._legal = legal
        # The legal profile of a number (the service passes a cached one).
        self._profile_of = profile_of or legal.for_number
        self._caller = caller
        self._cache: dict[str, AccountFacts | None] = {}
        self._concessions = concessions or ConcessionSettings()

    def account(self, account_id: str) -> AccountFacts | None:
        if account_id not in self._cache:
            self._cache[account_id] = self._load(account_id)
        return self._cache[account_id]

    def concession_offers(self, account_id: str) -> tuple[SelfServiceOffer, ...]:
        # Read only where the flow offers concessions (after a plan), never on every step.
        if not self._concessions.offers:
            return ()
        return offers_by_phone(self._session, account_id, self._concessions, now=self._now)

    def _load(self, account_id: str) -> AccountFacts | None:
        contact = cardholder_contact(self._session, account_id, self._caller, now=self._now)
        if contact is None:
            return None
        found = contact.cardholder
        profile = self._profile_of(found.primary_number)
        zones = _zones(found.declared_zone, found.primary_number)
        return AccountFacts(
            account_id=found.account_id,
            name=found.name,
            language=found.language,
            currency=found.currency,
            balance=found.balance,
            minimum_due=found.minimum_due,
            due_date=found.due_date,
            last4=found.last4,
            birth_date=found.birth_date,
            status=found.status,
            today=found.today,
            zone=found.zone,
            locked=_locked(self._session, account_id),
            zones=zones or (found.zone,),
            window_start=profile.window_start,
            window_close=profile.window_close,
            disclosure=profile.disclosure,
            can_text=contact.can_text,
            days_past_due=found.days_past_due,
            active_plan=found.active_plan,
        )


@functools.lru_cache(maxsize=4096)
def _zones(declared: str | None, number: str | None) -> tuple[str, ...]:
    """Every known zone of a cardholder: the declared one and the number's. Cached: parsing a
    number costs tens of microseconds, and a call's steps ask about the same number."""
    return tuple(
        dict.fromkeys(z for z in (declared, *number_zones(number or "")) if z and is_known_zone(z))
    )


def _locked(session: Session, account_id: str) -> bool:
    """Whether the account is locked to agent-only verification (the IVR's own table)."""
    # Core statements run on the session's connection: the ORM's layer adds nothing to a
    # statement that loads no entities, but costs as much as running it.
    found = session.connection().execute(_locked_statement(), {"account_id": account_id})
    return found.first() is not None


@functools.cache
def _locked_statement() -> Select[int]:
    # Built once, like the session statements below: building one costs more than running it.
    return (
        select(VerificationLock.id)
        .where(
            VerificationLock.account_id == bindparam("account_id"),
            VerificationLock.cleared_at.is_(None),
        )
        .limit(1)
    )


@dataclass(frozen=True)
class _Row:
    """The stored session of one call, as a step reads it (``ivr_sessions``)."""

    call_sid: str
    data: dict[str, Any]
    last_key: str | None
    last_twiml: str
    updated_at: datetime
    version: int


@functools.cache
def _select_session() -> Select[Any]:
    return select(
        IvrSession.call_sid,
        IvrSession.data,
        IvrSession.last_key,
        IvrSession.last_twiml,
        IvrSession.updated_at,
        IvrSession.version,
    ).where(IvrSession.call_sid == bindparam("call_sid"))


_SESSIONS = cast(Table, IvrSession.__table__)


@functools.cache
def _insert_session() -> Insert:
    return insert(_SESSIONS)


@functools.cache
def _update_session() -> Update:
    # The version check the ORM's version counter made: the row changes only if nobody changed
    # it since it was read; a rowcount of 0 means a concurrent step won (StaleDataError).
    table = _SESSIONS
    return (
        update(table)
        .where(table.c.call_sid == bindparam("b_call_sid"))
        .where(table.c.version == bindparam("b_version"))
    )


def _read(s: Session, call_sid: str) -> _Row | None:
    found = s.connection().execute(_select_session(), {"call_sid": call_sid}).first()
    return None if found is None else _Row(*found)


def _write(s: Session, row: _Row, values: dict[str, Any]) -> None:
    """Update ``row`` with ``values`` (and the next version) if nobody changed it since read."""
    result = s.connection().execute(
        _update_session(),
        {
            **values,
            "version": row.version + 1,
            "b_call_sid": row.call_sid,
            "b_version": row.version,
        },
    )
    if result.rowcount != 1:
        raise StaleDataError(
            f"ivr_sessions {row.call_sid}: version {row.version} changed by a concurrent step"
        )


@dataclass(frozen=True)
class Served:
    """One webhook served: the TwiML to answer with and, for the web boundary to hand to their
    owners, the effects the step decided beyond the IVR's own tables. ``session`` is the call's
    session after the step (None when no session was opened)."""

    twiml: str
    session: CallSession | None = None
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Decision:
    """A voice request decided on a read of the store (:meth:`IvrService.decide`): either the
    answer, with nothing to store (``served``), or the step's ``turn`` to store, over ``row``
    (the session as read, ``before``) or as the call's first session (``row`` None)."""

    request: VoiceRequest
    served: Served | None = None
    turn: Turn | None = None
    row: _Row | None = None
    before: CallSession | None = None
    key: str = ""


@dataclass(frozen=True)
class AmdServed:
    """An AMD verdict applied: the URL the live call must be redirected to (None when the
    verdict changes nothing the callee hears), and the effects as in :class:`Served`."""

    redirect_url: str | None
    session: CallSession | None = None
    effects: tuple[Effect, ...] = ()


class IvrService:
    """Runs the call flow against the store. One instance per app; stateless between calls."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.machine = CallFlow(flow)
        # A number's legal profile means parsing it: cached, as a call's steps repeat it.
        self._profile_of = functools.lru_cache(maxsize=4096)(flow.legal.for_number)

    def _directory(self, s: Session, now: datetime, caller: str | None) -> StoreDirectory:
        return StoreDirectory(
            s,
            now,
            self.flow.legal,
            caller,
            profile_of=self._profile_of,
            concessions=self.flow.concessions,
        )

    # voice requests -----------------------------------------------------------------------------

    def handle(self, s: Session, request: VoiceRequest, now: datetime) -> Served:
        """Serve one voice webhook: the TwiML to answer with and the step's effects."""
        return self.store(s, self.decide(s, request, now), now)

    def decide(self, s: Session, request: VoiceRequest, now: datetime) -> Decision:
        """Read the call's session and run the step: what to answer and what to store. Only
        reads; :meth:`store` writes (a concurrent step in between is caught there by the
        version check or the primary key)."""
        ctx = Context(now=now, directory=self._directory(s, now, request.caller))
        row = _read(s, request.call_sid)
        if row is None:
            start = self._start_event(s, request.direction, request.caller, request.attempt_id)
            if start is None:
                log.warning(
                    "ivr %s: reminder call for unknown attempt %s; hanging up",
                    request.call_sid,
                    request.attempt_id,
                )
                return Decision(request, Served(_hangup()))
            turn = self.machine.start(request.call_sid, request.direction, start, ctx)
            return Decision(request, turn=turn)
        session = CallSession.from_json(row.data)
        key = f"{request.step}:{request.kind}"
        if request.step is not None and request.step == session.step - 1 and row.last_key == key:
            # The request that produced the current document, again (Twilio retried it): the
            # same document, nothing stored twice.
            log.info("ivr %s: replay of step %s (%s)", request.call_sid, request.step, key)
            return Decision(request, Served(row.last_twiml, session))
        if self._stale(row, now):
            # An abandoned call: a replayed request gets nothing but a hangup.
            return Decision(request, Served(_hangup(), session))
        if request.kind == "show" and request.step == session.step:
            # The AMD verdict's redirect to the current document (the voicemail, the question).
            return Decision(request, Served(row.last_twiml, session))
        if session.state in TERMINAL_STATES:
            return Decision(request, Served(_hangup(), session))
        if request.step is None:
            # A first request again: the first document while the call is still there, else
            # (the call moved on, perhaps past verification) nothing.
            return Decision(
                request, Served(row.last_twiml if session.step <= 1 else _hangup(), session)
            )
        if request.step == session.step:
            turn = self.machine.advance(session, self._event(request), ctx)
            if turn.twiml is None:  # cannot happen for voice events; answer the current prompt
                return Decision(request, Served(row.last_twiml, session))
            return Decision(request, turn=turn, row=row, before=session, key=key)
        if request.kind == "hold":
            # A hold loop overtaken by the AMD verdict: wait for the REST redirect, which
            # interrupts this, else fetch the current document.
            response = VoiceResponse()
            response.pause(length=1)
            response.redirect(self.machine.url(session), method="POST")
            return Decision(request, Served(str(response), session))
        # A request for a step the call has left: Twilio never sends one, a replay does.
        log.info("ivr %s: request for old step %s answered with a hangup", request.call_sid, key)
        return Decision(request, Served(_hangup(), session))

    def store(self, s: Session, decision: Decision, now: datetime) -> Served:
        """Store what :meth:`decide` decided: the call's session (a concurrent step for the
        same call fails here: StaleDataError or IntegrityError, and the whole is run again)
        and the IVR's own effects; the other effects come back for their owners."""
        if decision.served is not None:
            return decision.served
        turn = decision.turn
        assert turn is not None, "a decision stores a turn or answers without one"
        if not turn.effects:
            # Only the call's own session moves (to the next prompt): its commit need not wait
            # for the disk. A step with an effect -- a promise, an opt-out, a callback, a
            # verification outcome -- commits durably (docs/deployment.md).
            commit_without_waiting_for_disk(s)
        if decision.row is None or decision.before is None:
            self._insert(s, turn, decision.request, now)
        else:
            self._update(
                s, decision.row, decision.before, turn, decision.request, decision.key, now
            )
        return self._served(s, turn, now)

    def hand_over(self, s: Session, call_sid: str, twiml: str, now: datetime) -> None:
        """The call left the IVR for the desk's queue with ``twiml``: its session ends here,
        and a replay of the step that decided it gets the same ``twiml`` (a later IVR request
        for the call gets a hangup, as for any ended call)."""
        row = _read(s, call_sid)
        if row is None:
            return
        session = replace(CallSession.from_json(row.data), state=State.ENDED)
        _write(
            s,
            row,
            {
                "state": session.state.value,
                "data": session.to_json(),
                "last_twiml": twiml,
                "updated_at": now,
            },
        )
        log.info("ivr %s: handed over to the desk's queue", call_sid)

    def _stale(self, row: _Row, now: datetime) -> bool:
        """Whether the call's session has not moved for longer than any call lasts."""
        ttl = timedelta(minutes=self.flow.settings.session_ttl_minutes)
        return row.updated_at < now - ttl

    def amd(self, s: Session, request: AmdRequest, now: datetime) -> AmdServed:
        """Apply an AMD verdict to the call's flow (the verdict itself is recorded on the
        attempt by the attempt lifecycle, through the callback's receive step)."""
        ctx = Context(now=now, directory=self._directory(s, now, request.caller))
        row = _read(s, request.call_sid)
        if row is None:
            # The verdict overtook the call's first request: open the session here.
            start = self._start_event(s, "outbound", request.caller, request.attempt_id)
            if start is None:
                return AmdServed(None)
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
            _write(s, row, {"data": turn.session.to_json(), "updated_at": now})
            served = self._served(s, turn, now)
            return AmdServed(None, served.session, served.effects)
        self._update(
            s,
            row,
            session,
            turn,
            VoiceRequest(request.call_sid, "outbound", "show", params=request.params),
            key,
            now,
        )
        served = self._served(s, turn, now)
        return AmdServed(self.machine.url(turn.session), served.session, served.effects)

    # the fault barrier --------------------------------------------------------------------------

    def fault_language(self, s: Session, call_sid: str) -> tuple[CallSession | None, str | None]:
        """The session of ``call_sid`` (if any) and the language to apologise in."""
        row = _read(s, call_sid)
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

    def fault_callback(self, *, number: str, session: CallSession | None) -> CallbackRequested:
        """The callback an agent owes a caller whose call failed on our side (the web boundary
        books it once per call)."""
        verified = bool(session and session.verified)
        return CallbackRequested(
            account_id=session.account_id if session and verified else None,
            number=number,
            reason="ivr_fault",
            priority=PRIORITY_FAULT,
            language=(session.language if session else None) or self.flow.languages[0],
            verified=verified,
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
            return Start(caller=caller, candidates=accounts_of_caller(s, caller))
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

    def _insert(self, s: Session, turn: Turn, request: VoiceRequest, now: datetime) -> _Row:
        session = turn.session
        data = session.to_json()
        twiml = _twiml(turn)
        # A Core INSERT, not the ORM's unit of work: one statement either way, and a concurrent
        # first request for the same call fails here (IntegrityError) and is retried.
        s.connection().execute(
            _insert_session(),
            {
                "call_sid": session.call_sid,
                "direction": session.direction,
                "state": session.state.value,
                "step": session.step,
                "language": session.language,
                "account_id": session.account_id,
                "attempt_id": session.attempt_id,
                "verified": session.verified,
                "data": data,
                "last_key": f"{request.step}:{request.kind}",
                "last_twiml": twiml,
                "last_request": stored_request(request.params, secret=False),
                "version": 1,  # where the ORM's version counter starts
                "created_at": now,
                "updated_at": now,
            },
        )
        # DEBUG, not INFO: a line per step was a tenth of a step's cost, and the access log
        # already has one per request; the session row keeps the call's path.
        log.debug(
            "ivr %s: %s call opened in %s",
            session.call_sid,
            session.direction,
            session.state.value,
        )
        return _Row(session.call_sid, data, f"{request.step}:{request.kind}", twiml, now, 1)

    def _update(
        self,
        s: Session,
        row: _Row,
        before: CallSession,
        turn: Turn,
        request: VoiceRequest,
        key: str,
        now: datetime,
    ) -> None:
        after = turn.session
        # The version check: a concurrent step for this call fails here, and is retried.
        _write(
            s,
            row,
            {
                "state": after.state.value,
                "step": after.step,
                "language": after.language,
                "account_id": after.account_id,
                "verified": after.verified,
                "data": after.to_json(),
                "last_key": key,
                "last_twiml": _twiml(turn),
                "last_request": stored_request(
                    request.params, secret=before.state in SECRET_STATES
                ),
                "updated_at": now,
            },
        )
        log.debug(
            "ivr %s: step %s %s -> %s", after.call_sid, before.step, before.state, after.state
        )

    def _served(self, s: Session, turn: Turn, now: datetime) -> Served:
        """Store what the step decided about the IVR's own tables (verification outcomes);
        return the rest for the web boundary to hand to their owners."""
        session = turn.session
        others: list[Effect] = []
        for effect in turn.effects:
            if isinstance(effect, VerificationSucceeded):
                self._verified(s, session, effect, now)
            elif isinstance(effect, VerificationFailed):
                self._failed(s, session, effect, now)
            else:
                others.append(effect)
        return Served(_twiml(turn), session, tuple(others))

    def _verified(
        self, s: Session, session: CallSession, effect: VerificationSucceeded, now: datetime
    ) -> None:
        record_audit(
            s,
            at=now,
            actor=ACTOR,
            action="ivr.verified",
            entity_type="account",
            entity_id=effect.account_id,
            detail={"call_sid": session.call_sid, "direction": session.direction},
        )

    def _failed(
        self, s: Session, session: CallSession, effect: VerificationFailed, now: datetime
    ) -> None:
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
            stored[key] = _masked(value)
        else:
            stored[key] = value
    return stored


@functools.lru_cache(maxsize=4096)
def _masked(number: str) -> str:
    # mask_phone parses the number (tens of microseconds); a call's steps and every call to
    # the hotline repeat the same few numbers (From and Caller, To and Called).
    return mask_phone(number)


def _twiml(turn: Turn) -> str:
    return turn.twiml if turn.twiml is not None else _hangup()


def _hangup() -> str:
    return twiml.HANGUP_DOCUMENT


__all__ = [
    "AmdRequest",
    "AmdServed",
    "Decision",
    "IvrService",
    "Served",
    "StoreDirectory",
    "VoiceRequest",
    "stored_request",
]
