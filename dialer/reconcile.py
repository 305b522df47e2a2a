"""The reconciler: close what the callbacks did not, release what dead workers left claimed.

An attempt with no final status ``reconcile_after_minutes`` after it was recorded is looked up at
Twilio: by its SID, or -- when the worker died (or the REST request timed out) before the SID was
stored -- by listing the calls to its number that started since the attempt was recorded. What
Twilio says goes through the same state machine as a callback (:mod:`dialer.callbacks`), so the
contact is settled by the same retry policy. Until then the contact stays ``waiting`` and is
never redialed: an unresolved attempt may be a call that rang.

A worker that died leaves two things behind, both resolved here once the store knows it is gone
(its lease expired or, on its own host, its pid is dead -- ``dialer.worker.gone_workers``):
contacts it had claimed (``dialing``) go back to ``pending`` at once, and attempts it had recorded
but never got a result for (status ``created``, no SID) are looked up as soon as they are
``claim_timeout_seconds`` old instead of ``reconcile_after_minutes``. A gone worker sends nothing
more (a worker that finds its lease lost dials nothing, and never sends a request half a lease
after its commit), and Twilio starts a paced call within seconds, so by then the lookup by number
tells whether the request reached Twilio: a call found is linked and followed, none found closes
the attempt as never placed and the contact is retried.

A call that ended without a single status callback reaching duecall counts toward the campaign's
missing-callback streak: many in a row mean Twilio's callbacks are refused (403 on a wrong public
URL or auth token) or lost, and the campaign pauses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dialer import attempts, control
from dialer.attempts import CALL_FINAL, Settling, close_unplaced
from dialer.callbacks import CallEvent, SmsEvent, apply_call_event, apply_sms_event
from dialer.config import DialerSettings
from dialer.outcomes import NOT_PLACED
from dialer.sqlutil import rowcount
from store.clock import Clock
from store.db import Database
from store.models import Attempt
from store.models_dialer import CallbackEvent, Contact
from telephony.errors import PermanentError, TelephonyError
from telephony.port import CallInfo, Telephony

log = logging.getLogger(__name__)

# Calls may start a little before the attempt row's clock says (clock skew between hosts).
START_SLACK = timedelta(minutes=1)
BATCH = 200
SMS_DONE_AT_RECONCILE = frozenset({"sent"})

#: The ids of the workers known to be gone at ``now`` (``dialer.worker.gone_workers``).
GoneWorkers = Callable[[Session, datetime], set[str]]


@dataclass
class ReconcileReport:
    released: int = 0
    orphans: int = 0
    closed: int = 0
    linked: int = 0
    still_open: int = 0
    errors: int = 0


class Reconciler:
    """Resolves stale attempts and stale claims; one ``run()`` per scheduler firing."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        settling: Settling,
        gone: GoneWorkers | None = None,
    ) -> None:
        self.db = db
        self.telephony = telephony
        self.clock = clock
        self.settings = settings
        self.settling = settling
        self.gone = gone

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        now = self.clock.now()
        claim_timeout = timedelta(seconds=self.settings.claim_timeout_seconds)
        with self.db.session() as session:
            gone = self.gone(session, now) if self.gone is not None else set()
            abandoned = Contact.claimed_at < now - claim_timeout
            if gone:
                abandoned = abandoned | Contact.claimed_by.in_(gone)
            report.released = rowcount(
                session.execute(
                    update(Contact)
                    .where(Contact.state == "dialing", abandoned)
                    .values(state="pending", claimed_by=None, claim_token=None, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
            )
        if report.released:
            log.warning("reconcile: released %d contacts claimed by dead workers", report.released)
        cutoff = now - timedelta(minutes=self.settings.reconcile_after_minutes)
        with self.db.session(readonly=True) as session:
            stale = list(
                session.scalars(
                    select(Attempt.id)
                    .where(Attempt.final.is_(False), Attempt.created_at < cutoff)
                    .order_by(Attempt.created_at)
                    .limit(BATCH)
                ).all()
            )
            orphans: list[int] = []
            if gone:
                orphans = list(
                    session.scalars(
                        select(Attempt.id)
                        .join(Contact, Contact.id == Attempt.contact_id)
                        .where(
                            Attempt.final.is_(False),
                            Attempt.status == "created",
                            Attempt.provider_sid.is_(None),
                            Attempt.created_at < now - claim_timeout,
                            Attempt.created_at >= cutoff,
                            Contact.claimed_by.in_(gone),
                        )
                        .order_by(Attempt.created_at)
                        .limit(BATCH)
                    ).all()
                )
        if orphans:
            report.orphans = len(orphans)
            log.warning(
                "reconcile: %d attempts recorded by dead workers and never placed by them",
                len(orphans),
            )
        for attempt_id in [*stale, *orphans]:
            try:
                self.resolve(attempt_id, report)
            except TelephonyError as exc:
                report.errors += 1
                log.warning("reconcile: attempt %s not resolved now: %s", attempt_id, exc.message)
            except Exception:
                report.errors += 1
                log.exception("reconcile: attempt %s failed; tried again next run", attempt_id)
        return report

    def resolve(self, attempt_id: int, report: ReconcileReport) -> None:
        """Look one attempt up at Twilio and close it if Twilio knows its end."""
        with self.db.session(readonly=True) as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None or attempt.final:
                return
            channel, sid, number, created_at = (
                attempt.channel,
                attempt.provider_sid,
                attempt.number,
                attempt.created_at,
            )
            others = set(
                session.scalars(
                    select(Attempt.provider_sid).where(
                        Attempt.number == number,
                        Attempt.created_at >= created_at - START_SLACK,
                        Attempt.provider_sid.is_not(None),
                        Attempt.id != attempt_id,
                    )
                ).all()
            )
        if channel == "sms":
            self._resolve_sms(attempt_id, sid, report)
            return
        info: CallInfo | None
        if sid is not None:
            try:
                info = self.telephony.fetch_call(sid)
            except PermanentError:
                info = None  # Twilio has no such call (404): close it below as unknown.
        else:
            calls = self.telephony.list_calls(
                to=number, started_after=created_at - START_SLACK, started_before=self.clock.now()
            )
            candidates = sorted(
                (c for c in calls if c.sid not in others and c.start_time is not None),
                key=lambda c: c.start_time or created_at,
            )
            info = candidates[0] if candidates else None
            if info is not None:
                report.linked += 1
                log.warning(
                    "reconcile: attempt %s linked to %s found by number", attempt_id, info.sid
                )
        now = self.clock.now()
        with self.db.session() as session:
            attempt = session.get(Attempt, attempt_id, with_for_update=True)
            if attempt is None or attempt.final:
                return
            if info is None:
                # Twilio has no call for it: the request never reached Twilio (or was refused).
                close_unplaced(
                    session, attempt, now=now, settling=self.settling, outcome=NOT_PLACED
                )
                report.closed += 1
                log.warning("reconcile: attempt %s was never placed; closed", attempt_id)
                return
            if info.status not in CALL_FINAL:
                attempts.link_sid(attempt, info.sid)
                report.still_open += 1
                return
            heard = session.scalar(
                select(func.count())
                .select_from(CallbackEvent)
                .where(CallbackEvent.attempt_id == attempt_id, CallbackEvent.kind == "call-status")
            )
            apply_call_event(
                session,
                CallEvent(
                    call_sid=info.sid,
                    status=info.status,
                    attempt_id=attempt_id,
                    duration=info.duration,
                    answered_by=info.answered_by,
                    raw={"Status": info.status, "Sid": info.sid, "Source": "reconciler"},
                ),
                now=now,
                settling=self.settling,
                source="reconciler",
            )
            report.closed += 1
            if not heard and attempt.contact_id is not None:
                campaign = session.scalar(
                    select(Contact.campaign).where(Contact.id == attempt.contact_id)
                )
                if campaign is not None:
                    control.bump(
                        session,
                        campaign,
                        "missing_callback_streak",
                        threshold=self.settings.autopause.missing_callbacks_in_a_row,
                        reason=(
                            "Twilio's status callbacks are not reaching duecall (calls closed "
                            "only by the reconciler): check DUECALL_PUBLIC_URL and the auth "
                            "token the web app checks signatures with (403s)"
                        ),
                        now=now,
                    )

    def _resolve_sms(self, attempt_id: int, sid: str | None, report: ReconcileReport) -> None:
        status: str | None = None
        code: int | None = None
        if sid is not None:
            try:
                message = self.telephony.fetch_message(sid)
                status, code = message.status, message.error_code
            except PermanentError:
                status = None
        now = self.clock.now()
        with self.db.session() as session:
            attempt = session.get(Attempt, attempt_id, with_for_update=True)
            if attempt is None or attempt.final:
                return
            if status is None:
                # No SID (or Twilio does not know it): whether it went out cannot be told, and
                # a duplicate reminder is worse than a missing one -- closed, not resent.
                close_unplaced(
                    session,
                    attempt,
                    now=now,
                    settling=self.settling,
                    status="unknown",
                    outcome="unresolved",
                )
                report.closed += 1
                return
            if status in SMS_DONE_AT_RECONCILE:
                # Carriers do not always report delivery; "sent" this late is as final as it gets.
                close_unplaced(
                    session, attempt, now=now, settling=self.settling, status=status, outcome=status
                )
                report.closed += 1
                return
            applied = apply_sms_event(
                session,
                SmsEvent(
                    message_sid=sid or "",
                    status=status,
                    attempt_id=attempt_id,
                    error_code=code,
                    raw={"MessageStatus": status, "Source": "reconciler"},
                ),
                now=now,
                settling=self.settling,
                source="reconciler",
            )
            report.closed += int(applied.final)
            report.still_open += int(not applied.final)
