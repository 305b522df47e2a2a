"""The outbox job: carry out the effects the web app recorded (the IVR's confirmation SMS).

The IVR never calls Twilio inside a webhook; it writes an ``outbox`` row in the transaction that
stored the promise. This job claims due rows one at a time (a conditional UPDATE that leases the
row: ``available_at`` moves into the future and ``tries`` goes up, so a second worker skips it and
a worker that dies leaves it to be retried), asks the contact policy for the SMS channel (consent,
suppressions, window), records the attempt and commits, then sends, then stores the SID -- the same
record-commit-act order as the dispatcher. A denial the clock lifts (the window, a holiday)
puts the row back until the policy's next allowed instant, so a confirmation asked for at 20:58
goes out when the window opens; any other denial is final: the row is marked ``denied`` with the
reason; an SMS whose fate is unknown (a timeout after the request left) is not sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns.suppressions import add_suppression
from dialer import attempts
from dialer.compliance import check_contact
from dialer.config import DialerSettings
from dialer.pacing import SMS_BUDGET, reserve_slot
from dialer.profiles import PolicyBook
from dialer.sqlutil import rowcount
from dialer.windows import validity_period
from store.clock import Clock
from store.db import Database
from store.models import Account, Attempt, OutboxItem, Phone
from telephony.errors import ConfigurationError, OptOutError, PermanentError, TransientError
from telephony.port import OutboundSms, Telephony

log = logging.getLogger(__name__)

Wait = Callable[[float], bool]
#: A confirmation text the web app asks the worker to send (the IVR's promise confirmation).
SMS_CONFIRMATION = "sms.promise_confirmation"
#: A payment reminder the reminders job queued (dialer.reminders).
SMS_REMINDER = "sms.payment_reminder"
SMS_KINDS = frozenset({SMS_CONFIRMATION, SMS_REMINDER})
LEASE = timedelta(minutes=5)


def enqueue_sms(
    session: Session,
    *,
    account_id: str,
    number: str,
    body: str,
    purpose: str,
    dedupe_key: str,
    now: datetime,
    detail: Mapping[str, object] | None = None,
    kind: str = SMS_CONFIRMATION,
) -> bool:
    """Record a text for the outbox job to send after this transaction commits (never inside a
    webhook: the job asks the contact policy first). False when ``dedupe_key`` was recorded
    before (a replayed request)."""
    if session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == dedupe_key)):
        return False
    session.add(
        OutboxItem(
            kind=kind,
            account_id=account_id,
            number=number,
            payload={"body": body, "purpose": purpose, **(detail or {})},
            dedupe_key=dedupe_key[:120],
            status="pending",
            created_at=now,
            available_at=now,
        )
    )
    return True


@dataclass
class OutboxReport:
    sent: int = 0
    deferred: int = 0
    denied: int = 0
    failed: int = 0
    retried: int = 0


class Outbox:
    """Drains due outbox rows through the contact policy."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        policy: PolicyBook,
        wait: Wait,
    ) -> None:
        self.db = db
        self.telephony = telephony
        self.clock = clock
        self.settings = settings
        self.policy = policy
        self.wait = wait

    def run(self) -> OutboxReport:
        report = OutboxReport()
        now = self.clock.now()
        with self.db.session(readonly=True) as session:
            due = session.scalars(
                select(OutboxItem.id)
                .where(OutboxItem.status == "pending", OutboxItem.available_at <= now)
                .order_by(OutboxItem.available_at, OutboxItem.id)
                .limit(self.settings.outbox_batch)
            ).all()
        for item_id in due:
            try:
                self.process(item_id, report)
            except Exception:
                log.exception("outbox item %s failed; retried later", item_id)
                report.retried += 1
        return report

    def process(self, item_id: int, report: OutboxReport) -> None:
        """Claim, pace, check, record, send one item."""
        now = self.clock.now()
        with self.db.session() as session:
            claimed = rowcount(
                session.execute(
                    update(OutboxItem)
                    .where(
                        OutboxItem.id == item_id,
                        OutboxItem.status == "pending",
                        OutboxItem.available_at <= now,
                    )
                    .values(available_at=now + LEASE, tries=OutboxItem.tries + 1)
                )
            )
        if claimed != 1:
            return
        with self.db.session() as session:
            slot = reserve_slot(
                session,
                SMS_BUDGET,
                rate=self.settings.sms_per_second,
                now=now,
                horizon=timedelta(seconds=self.settings.outbox_interval_seconds),
            )
        waited = slot is not None and (
            slot <= now or self.wait((slot - self.clock.now()).total_seconds())
        )
        now = self.clock.now()
        with self.db.session() as session:
            item = session.get(OutboxItem, item_id)
            assert item is not None
            if not waited:
                # The SMS budget is spent (or the worker stops): back in the queue, untried.
                item.available_at = now
                item.tries -= 1
                report.retried += 1
                return
            if item.kind not in SMS_KINDS:
                _finish(item, "failed", f"unknown outbox kind {item.kind!r}", now)
                report.failed += 1
                return
            account = session.get(Account, item.account_id)
            body = str(item.payload.get("body") or "")
            number = item.number or session.scalar(
                select(Phone.number).where(
                    Phone.account_id == item.account_id, Phone.kind == "primary"
                )
            )
            if account is None or not number or not body.strip():
                _finish(item, "failed", "no account, number or body", now)
                report.failed += 1
                return
            profile = self.policy.for_number(number)
            decision, decision_row = check_contact(
                session, account, number, "sms", now=now, profile=profile, context="outbox"
            )
            if not decision.allowed and decision.next_allowed_at is not None:
                # The window (or a holiday) says not now: sent when it opens, never dropped.
                item.available_at = decision.next_allowed_at
                item.tries -= 1
                item.last_error = f"deferred: {decision.rule}: {decision.reason}"
                report.deferred += 1
                log.info(
                    "outbox item %s deferred by the contact policy (%s) to %s",
                    item_id,
                    decision.rule,
                    decision.next_allowed_at.isoformat(),
                )
                return
            if not decision.allowed:
                _finish(item, "denied", f"{decision.rule}: {decision.reason}", now)
                report.denied += 1
                log.info("outbox item %s denied by the contact policy (%s)", item_id, decision.rule)
                return
            attempt = attempts.record(
                session,
                account,
                channel="sms",
                purpose=str(item.payload.get("purpose") or "confirmation"),
                number=number,
                now=now,
            )
            decision_row.attempt_id = attempt.id
            item.attempt_id = attempt.id
            attempt_id, tries = attempt.id, item.tries
            validity = validity_period(number, account.timezone, now, profile)
        # Committed: the attempt exists before Twilio hears of it.
        self._send(item_id, attempt_id, number, body, validity, tries, report)

    def _send(
        self,
        item_id: int,
        attempt_id: int,
        number: str,
        body: str,
        validity: int | None,
        tries: int,
        report: OutboxReport,
    ) -> None:
        status, sid, error, code = "done", None, None, None
        retry = False
        try:
            info = self.telephony.send_sms(
                OutboundSms(to=number, body=body, attempt_id=attempt_id, validity_period=validity)
            )
            sid = info.sid
        except OptOutError as exc:
            status, error, code = "denied", "the recipient has opted out (21610)", exc.code
        except (PermanentError, ConfigurationError) as exc:
            status, error, code = "failed", exc.message, exc.code
        except TransientError as exc:
            code = exc.code
            if exc.outcome_unknown:
                status, error = "failed", "outcome unknown; not resent to avoid a duplicate"
            else:
                retry = tries < self.settings.outbox_max_tries
                status, error = ("pending" if retry else "failed"), exc.message
        now = self.clock.now()
        with self.db.session() as session:
            item = session.get(OutboxItem, item_id)
            attempt = session.get(Attempt, attempt_id)
            assert item is not None and attempt is not None
            if sid is not None:
                attempts.mark_placed(attempt, sid=sid, status="queued", now=now)
                _finish(item, "done", None, now)
                report.sent += 1
                return
            if status == "failed" and error and error.startswith("outcome unknown"):
                attempts.mark_unknown(attempt)
            else:
                attempts.fail_send(
                    attempt,
                    now=now,
                    error_code=code,
                    outcome="opted_out" if code == 21610 else "failed",
                )
            if code == 21610:
                add_suppression(
                    session,
                    kind="optout-sms",
                    number=number,
                    reason="Twilio 21610: the recipient has opted out",
                    actor="dialer",
                    source="twilio",
                    now=now,
                )
            if retry:
                item.available_at = now + timedelta(seconds=self.settings.transient_retry_seconds)
                item.last_error = error
                item.attempt_id = None
                report.retried += 1
            else:
                _finish(item, status, error, now)
                report.failed += int(status == "failed")
                report.denied += int(status == "denied")


def _finish(item: OutboxItem, status: str, error: str | None, now: datetime) -> None:
    item.status = status
    item.last_error = error
    item.processed_at = now
