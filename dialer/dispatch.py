"""The dispatch tick: claim due contacts, check them again, record, commit, then dial.

For each contact, in this order (the README's "Data flow": record, commit, then act):

1. **claim** -- due pending contacts of the campaigns' live runs, in one short transaction, one
   worker per contact, shared between campaigns by priority (:mod:`dialer.claims`).
2. **pace** -- reserve a slot of the shared calls (or SMS) per second budget and wait for it.
3. **check and record** -- in one transaction: the campaign is not paused; the account is still
   eligible (open, not paid down, no new open promise); calls in flight are under the maximum;
   the contact policy allows it *now* (its decision stored); the worker still holds its lease
   (a worker presumed dead must not dial: its attempts are being resolved by others); then the
   attempt row is written and the transaction **commits**. A call whose record could still roll
   back is never placed.
4. **dial** through the Telephony port (every URL carries ``?attempt=<id>``), then **store the
   SID** in a second transaction. A failure is classified: Twilio said no for good (the number
   is closed), said not now (retried later), refused our credentials (every campaign paused), or
   left the outcome unknown -- then the attempt stays open without a SID, counts toward every
   cap, and the contact is not dialed again until the reconciler has resolved it.

A bad carrier day: a request Twilio definitely refused (20429 / 429, 10004, 22005, a connection
that never opened) closes its attempt as ``refused`` -- no cap counts it, no retry of the
campaign's is used, the contact is tried again after ``transient_retry_seconds``. A
``Retry-After`` holds the shared budgets (:func:`dialer.pacing.hold`) so every worker waits, and
this worker gives the rest of its claims back untouched. Refused and unanswered requests in a row
are counted for the account; ``autopause.transient_failures_in_a_row`` of them pause every
campaign until a probe request gets through (:mod:`dialer.carrier`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns.config import CampaignSettings
from campaigns.segments import still_eligible
from campaigns.suppressions import add_suppression
from dialer import attempts, control
from dialer.attempts import Settling, close_unplaced
from dialer.claims import Claims, unclaim
from dialer.compliance import check_contact
from dialer.config import DialerSettings
from dialer.faults import NO_FAULTS, Faults
from dialer.messages import Sender, SmsTooLongError, reminder_text
from dialer.outcomes import BAD_NUMBER, NOT_PLACED, OPTED_OUT, REFUSED, WITHHELD
from dialer.pacing import (
    SMS_BUDGET,
    VOICE_BUDGET,
    budget_row,
    calls_in_flight,
    held,
    hold,
    reserve_slot,
)
from dialer.policy import Decision, Rule
from dialer.profiles import PolicyBook
from dialer.windows import validity_period
from store.clock import Clock
from store.db import Database
from store.models import Account, Attempt
from store.models_dialer import ALL_CAMPAIGNS, CampaignRun, Contact, DialerWorkerLease
from store.privacy import mask_phone
from telephony.errors import (
    INVALID_NUMBER_CODES,
    ConfigurationError,
    OptOutError,
    PermanentError,
    TransientError,
    UnclassifiedError,
)
from telephony.port import OutboundCall, OutboundSms, Telephony

log = logging.getLogger(__name__)

Channel = Literal["voice", "sms"]

#: Denials a clock lifts: the contact is simply tried again when the policy says it may be.
TIME_RULES = frozenset(
    {
        Rule.WINDOW,
        Rule.WINDOW_MARGIN,
        Rule.HOLIDAY,
        Rule.CAP_7_IN_7,
        Rule.AFTER_CONVERSATION_7D,
        Rule.CN_CONNECTED_PER_DAY,
        Rule.CN_ATTEMPTS_PER_NUMBER_PER_DAY,
    }
)
LIVE_RUNS = ("snapshotting", "active")

#: Waits ``seconds``; returns False when the worker is stopping (the tick then gives its claims
#: back). The worker passes an Event's ``wait``; tests pass one that moves a FixedClock.
Wait = Callable[[float], bool]


class LeaseHolder(Protocol):
    """What the dispatcher needs of the worker's lease (:class:`dialer.worker.WorkerLease`)."""

    #: How long the lease lasts without renewal.
    ttl: timedelta

    def hold(self, session: Session, now: datetime) -> bool:
        """Renew the lease in ``session``'s transaction; False when it was already lost."""
        ...


#: A tick whose log line is the previous busy tick's is logged at INFO at most this often.
SAME_LINE_INFO_EVERY = timedelta(minutes=1)


@dataclass
class TickReport:
    """What one tick did, for the log and the tests."""

    claimed: int = 0
    placed: int = 0
    released: int = 0
    closed: int = 0
    deferred: int = 0
    unknown: int = 0
    failed: int = 0
    by_campaign: dict[str, int] = field(default_factory=dict)
    #: Deferrals by the policy rule that deferred them (``window``, ``cap_7_in_7``...).
    deferred_by_rule: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: the counts, with the deferrals broken down by rule, most frequent first."""
        deferred = f"deferred {self.deferred}"
        if self.deferred_by_rule:
            rules = sorted(self.deferred_by_rule.items(), key=lambda item: (-item[1], item[0]))
            deferred += f" ({', '.join(f'{rule} {count}' for rule, count in rules)})"
        return (
            f"claimed {self.claimed} placed {self.placed} {deferred} closed {self.closed} "
            f"released {self.released} unknown {self.unknown} failed {self.failed}"
        )


@dataclass(frozen=True)
class _Prepared:
    attempt_id: int
    contact_id: int
    campaign: str
    channel: Channel
    to: str
    body: str | None = None
    validity: int | None = None
    #: time.monotonic() when the attempt was committed.
    recorded: float = 0.0


class Dispatcher:
    """Places the calls and SMS of the configured campaigns, paced, one tick at a time."""

    def __init__(
        self,
        db: Database,
        telephony: Telephony,
        clock: Clock,
        *,
        settings: DialerSettings,
        campaigns: Sequence[CampaignSettings],
        policy: PolicyBook,
        sender: Sender,
        worker_id: str,
        wait: Wait,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.db = db
        self.telephony = telephony
        self.clock = clock
        self.settings = settings
        self.campaigns: Mapping[str, CampaignSettings] = {c.name: c for c in campaigns}
        self.policy = policy
        self.sender = sender
        self.worker_id = worker_id
        self.wait = wait
        self.settling = Settling.of(settings, campaigns)
        self._halted = False
        self._pool: ThreadPoolExecutor | None = None
        self.faults = faults
        self.claims = Claims(db, worker_id=worker_id, wait=wait, faults=faults)
        #: Set by the worker once it registered (``None``: an unregistered, in-process caller).
        self.lease: LeaseHolder | None = None
        #: The rule of the last deferral :meth:`_denied` made (read by the tick's report).
        self._deferred_rule = ""
        #: The last busy tick's log line, and when a line was last logged at INFO.
        self._last_line: str | None = None
        self._last_info_at: datetime | None = None

    # --- the tick -----------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Claim and dial what is due now, within this tick's share of the budgets."""
        report = TickReport()
        self._halted = False
        now = self.clock.now()
        with self.db.session(readonly=True) as session:
            paused = control.pauses(session)
            if ALL_CAMPAIGNS in paused:
                return report
            runs = session.execute(
                select(CampaignRun.campaign, CampaignRun.id).where(
                    CampaignRun.status.in_(LIVE_RUNS)
                )
            ).all()
            in_flight = calls_in_flight(session, now)
        run_ids: dict[str, list[int]] = {}
        for name, run_id in runs:
            campaign = self.campaigns.get(name)
            if campaign is not None and campaign.active and name not in paused:
                run_ids.setdefault(name, []).append(run_id)
        if not run_ids:
            return report
        weights = {name: self.campaigns[name].priority for name in run_ids}
        tick = self.settings.tick_seconds
        budgets: list[tuple[Channel, int]] = [
            (
                "voice",
                min(
                    self.settings.max_concurrent_calls - in_flight,
                    math.ceil(self.settings.calls_per_second * tick),
                ),
            ),
            ("sms", math.ceil(self.settings.sms_per_second * tick)),
        ]
        for channel, slots in budgets:
            if slots <= 0 or self._halted:
                continue
            claimed = self.claims.by_share(channel, slots, weights, run_ids, now)
            report.claimed += len(claimed)
            placing: list[tuple[str, Future[str]]] = []
            for index, (contact_id, token, campaign_name) in enumerate(claimed):
                if self._halted:
                    for rest_id, rest_token, _ in claimed[index:]:
                        self._release(rest_id, rest_token)
                        report.released += 1
                    break
                outcome = self._dial_one(contact_id, token, channel)
                if isinstance(outcome, Future):
                    placing.append((campaign_name, outcome))
                    continue
                self._count(report, outcome, campaign_name)
            # Every request of the tick has its answer (and its SID stored) before the next.
            for campaign_name, future in placing:
                self._count(report, future.result(), campaign_name)
        if report.claimed:
            self._log_tick(report, now)
        return report

    def _count(self, report: TickReport, result: str, campaign_name: str) -> None:
        setattr(report, result, getattr(report, result) + 1)
        if result == "placed":
            report.by_campaign[campaign_name] = report.by_campaign.get(campaign_name, 0) + 1
        elif result == "deferred":
            rule = self._deferred_rule
            report.deferred_by_rule[rule] = report.deferred_by_rule.get(rule, 0) + 1

    def close(self) -> None:
        """Wait for the requests in flight, then let the placing threads go."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _log_tick(self, report: TickReport, now: datetime) -> None:
        """Log a busy tick: at INFO when its line is new, else at DEBUG (INFO once a minute).

        A worker ticks every second; a campaign whose contacts wait for the calling window can
        claim and defer the same number every tick, and the same line every second buries the
        lines that say something.
        """
        line = report.summary()
        repeated = line == self._last_line and (
            self._last_info_at is not None and now - self._last_info_at < SAME_LINE_INFO_EVERY
        )
        self._last_line = line
        if repeated:
            log.debug("dispatch: %s (unchanged)", line)
            return
        self._last_info_at = now
        log.info("dispatch: %s", line)

    def claim(
        self, run_ids: Sequence[int], channel: Channel, limit: int, now: datetime
    ) -> list[tuple[int, str]]:
        """Claim up to ``limit`` due pending contacts of ``run_ids`` (:meth:`Claims.claim`)."""
        return self.claims.claim(run_ids, channel, limit, now)

    # --- one contact --------------------------------------------------------------------------

    def _dial_one(self, contact_id: int, token: str, channel: Channel) -> str | Future[str]:
        """Pace, check, record and commit one contact, then place it: at once, or -- with
        ``place_concurrency`` above 1 -- on a placing thread, returning its future, so the next
        contact is paced and recorded while this request waits for Twilio's answer."""
        budget, rate = (
            (VOICE_BUDGET, self.settings.calls_per_second)
            if channel == "voice"
            else (SMS_BUDGET, self.settings.sms_per_second)
        )
        with self.db.session() as session:
            slot = reserve_slot(
                session,
                budget,
                rate=rate,
                now=self.clock.now(),
                horizon=timedelta(seconds=self.settings.tick_seconds),
            )
        if slot is None or not self._wait_until(slot):
            self._release(contact_id, token)
            return "released"
        with self.db.session(readonly=True) as session:
            held_until = held(session, budget, self.clock.now())
        if held_until is not None:
            # Another worker heard a Retry-After while this one waited for its slot.
            self._halted = True
            self._release(contact_id, token)
            return "released"
        try:
            prepared = self._prepare(contact_id, token, channel)
        except Exception:
            # A poison contact (bad data, a bug) is pushed forward, never crash-looped on.
            log.exception("contact %s: could not be prepared; retried later", contact_id)
            self._release(
                contact_id, token, delay=timedelta(seconds=self.settings.transient_retry_seconds)
            )
            return "failed"
        if isinstance(prepared, str):
            return prepared
        self.faults.hit("after_attempt_commit", prepared.channel)
        if self.settings.place_concurrency <= 1:
            return self._place(prepared)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.settings.place_concurrency, thread_name_prefix="dialer-place"
            )
        return self._pool.submit(self._place_unless_halted, prepared)

    def _place_unless_halted(self, prepared: _Prepared) -> str:
        """A queued request whose worker has since been told to stop (credentials refused, a
        Retry-After, a lost lease): the attempt is closed as withheld -- certainly never sent, so
        no cap counts it -- and the contact retried."""
        if self._halted:
            self._record_failure(prepared, WITHHELD, None)
            return "failed"
        return self._place(prepared)

    def _wait_until(self, slot: datetime) -> bool:
        delay = (slot - self.clock.now()).total_seconds()
        return delay <= 0 or self.wait(delay)

    def _prepare(self, contact_id: int, token: str, channel: Channel) -> _Prepared | str:
        """Step 3: check and record, in one transaction that commits before any dial."""
        now = self.clock.now()
        with self.db.session() as session:
            contact = session.get(Contact, contact_id, with_for_update=True)
            if contact is None or contact.state != "dialing" or contact.claim_token != token:
                return "released"
            campaign = self.campaigns.get(contact.campaign)
            if campaign is None:
                return _close(contact, "campaign_removed", now)
            if not campaign.active or control.paused_reason(session, campaign.name):
                unclaim(contact, now)
                return "released"
            account = session.get(Account, contact.account_id)
            if account is None:
                return _close(contact, "account_missing", now)
            why = still_eligible(session, campaign.segment, account)
            if why is not None:
                log.info("contact %s: no longer eligible (%s), not dialed", contact.id, why)
                return _close(contact, f"ineligible_{why}", now)
            if channel == "voice":
                # The budget row's lock serialises this count between PostgreSQL workers.
                budget_row(session, VOICE_BUDGET, now)
                # Read the time again under the lock: every call that ended before this count
                # then ended before this attempt's created_at, as the stored rows tell it.
                now = self.clock.now()
                if calls_in_flight(session, now) >= self.settings.max_concurrent_calls:
                    unclaim(contact, now)
                    return "released"
            if self.lease is not None and not self.lease.hold(session, now):
                # Presumed dead by the others (a long stall): they may be resolving this
                # worker's attempts now. Dial nothing more; the worker stops.
                log.critical("worker %s lost its lease; not dialing", self.worker_id)
                self._halted = True
                unclaim(contact, now)
                return "released"
            body: str | None = None
            if channel == "sms":
                # The text is built (and measured) before the policy is asked: no decision is
                # stored for a text that will never be sent.
                template = campaign.sms_template.get(account.language)
                if template is None:
                    return _close(contact, "no_sms_template", now)
                try:
                    body = reminder_text(session, account, template, self.sender)
                except SmsTooLongError as exc:
                    log.warning("contact %s: not sent: %s", contact.id, exc)
                    return _close(contact, "sms_too_long", now)
            profile = self.policy.for_number(contact.number)
            decision, decision_row = check_contact(
                session,
                account,
                contact.number,
                channel,
                now=now,
                profile=profile,
                context=f"campaign:{campaign.name}",
            )
            if not decision.allowed:
                return self._denied(session, contact, campaign, decision, now)
            control.reset(session, campaign.name, "denial_streak", now)
            validity: int | None = None
            if channel == "sms":
                validity = validity_period(contact.number, account.timezone, now, profile)
            attempt = attempts.record(
                session,
                account,
                channel=channel,
                purpose="reminder" if channel == campaign.first_channel else "sms_fallback",
                number=contact.number,
                now=now,
                contact_id=contact.id,
            )
            decision_row.attempt_id = attempt.id
            contact.state = "waiting"
            contact.current_attempt_id = attempt.id
            contact.attempts_made += 1
            contact.updated_at = now
            prepared = _Prepared(
                attempt_id=attempt.id,
                contact_id=contact.id,
                campaign=campaign.name,
                channel=channel,
                to=contact.number,
                body=body,
                validity=validity,
            )
        return replace(prepared, recorded=time.monotonic())

    def _denied(
        self,
        session: Session,
        contact: Contact,
        campaign: CampaignSettings,
        decision: Decision,
        now: datetime,
    ) -> str:
        if decision.rule not in TIME_RULES:
            control.bump(
                session,
                campaign.name,
                "denial_streak",
                threshold=self.settings.autopause.denials_in_a_row,
                reason=f"the contact policy keeps denying contacts (last: {decision.rule})",
                now=now,
            )
        if decision.next_allowed_at is not None:
            contact.state = "pending"
            contact.next_attempt_at = decision.next_allowed_at
            contact.claimed_by = contact.claim_token = None
            contact.updated_at = now
            self._deferred_rule = str(decision.rule)
            return "deferred"
        return _close(contact, f"denied_{decision.rule}", now)

    def _place(self, prepared: _Prepared) -> str:
        """Step 4: the REST request, then its result stored in a second transaction."""
        if self.lease is not None and (
            time.monotonic() - prepared.recorded > self.lease.ttl.total_seconds() / 2
        ):
            # Stalled between the commit and the request for half a lease: another worker may
            # soon find this attempt orphaned and close it as never placed. Never race it.
            self._record_failure(prepared, NOT_PLACED, None)
            return "failed"
        try:
            if prepared.channel == "voice":
                info_sid, info_status = _call(self.telephony, prepared)
            else:
                info_sid, info_status = _sms(self.telephony, prepared)
        except OptOutError as exc:
            self._record_failure(prepared, OPTED_OUT, exc.code, opted_out=True)
            return "closed"
        except ConfigurationError as exc:
            self._record_failure(prepared, NOT_PLACED, exc.code)
            self._halted = True
            with self.db.session() as session:
                control.pause(
                    session,
                    ALL_CAMPAIGNS,
                    reason=(
                        f"Twilio refused duecall's credentials ({exc.code or exc.status}): "
                        "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, then "
                        "`duecall campaign resume --all`"
                    ),
                    actor="auto-pause",
                    now=self.clock.now(),
                )
            return "failed"
        except UnclassifiedError as exc:
            self._record_failure(prepared, "rejected", exc.code)
            return "failed"
        except PermanentError as exc:
            self._record_failure(prepared, BAD_NUMBER, exc.code)
            return "closed"
        except TransientError as exc:
            if exc.outcome_unknown:
                self._record_unknown(prepared)
                result = "unknown"
            else:
                self._record_failure(prepared, REFUSED, exc.code)
                result = "failed"
            self._carrier_trouble(exc)
            return result
        except ValueError as exc:
            # Refused before anything was sent (a malformed number in the store).
            log.error("attempt %s: not sent: %s", prepared.attempt_id, exc)
            self._record_failure(prepared, BAD_NUMBER, None)
            return "closed"
        except Exception:
            # Anything else may have happened after Twilio acted: never guess, reconcile.
            log.exception("attempt %s: placing failed unexpectedly", prepared.attempt_id)
            self._record_unknown(prepared)
            return "unknown"
        self.faults.hit("after_request_before_sid", prepared.channel)
        now = self.clock.now()
        with self.db.session() as session:
            attempt = session.get(Attempt, prepared.attempt_id, with_for_update=True)
            if attempt is None:  # pragma: no cover - rows are never deleted
                return "placed"
            attempts.mark_placed(attempt, sid=info_sid, status=info_status, now=now)
            control.reset(session, prepared.campaign, "invalid_number_streak", now)
            control.reset(session, ALL_CAMPAIGNS, "transient_streak", now)
            session.execute(
                update(DialerWorkerLease)
                .where(DialerWorkerLease.worker_id == self.worker_id)
                .values(placed=DialerWorkerLease.placed + 1)
            )
        self.faults.hit("after_sid_stored", prepared.channel)
        log.info(
            "attempt %s: %s to %s placed (%s)",
            prepared.attempt_id,
            prepared.channel,
            mask_phone(prepared.to),
            info_sid,
        )
        return "placed"

    def _carrier_trouble(self, exc: TransientError) -> None:
        """Twilio refused a request or left it unanswered: honour its Retry-After for every
        worker, and count it toward the account-wide pause."""
        now = self.clock.now()
        with self.db.session() as session:
            if exc.retry_after:
                until = now + timedelta(seconds=exc.retry_after)
                hold(session, (VOICE_BUDGET, SMS_BUDGET), until=until, now=now)
            paused = control.bump_transient(
                session,
                threshold=self.settings.autopause.transient_failures_in_a_row,
                label=_label(exc),
                retry_after=exc.retry_after,
                now=now,
            )
        if exc.retry_after or paused:
            # The rest of this tick's claims go back untouched: dialing them now would only
            # be refused again.
            self._halted = True
            log.warning(
                "Twilio asked to wait %s s; this tick's other contacts are given back",
                f"{exc.retry_after:g}" if exc.retry_after else "-",
            )

    def _record_unknown(self, prepared: _Prepared) -> None:
        with self.db.session() as session:
            attempt = session.get(Attempt, prepared.attempt_id, with_for_update=True)
            if attempt is not None:
                attempts.mark_unknown(attempt)
        log.warning(
            "attempt %s: outcome unknown; the reconciler resolves it before any redial",
            prepared.attempt_id,
        )

    def _record_failure(
        self, prepared: _Prepared, outcome: str, code: int | None, *, opted_out: bool = False
    ) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            attempt = session.get(Attempt, prepared.attempt_id, with_for_update=True)
            if attempt is None:  # pragma: no cover
                return
            if opted_out:
                add_suppression(
                    session,
                    kind=f"optout-{prepared.channel}",
                    number=prepared.to,
                    reason=f"Twilio {code}: the recipient has opted out",
                    actor="dialer",
                    source="twilio",
                    now=now,
                )
            close_unplaced(
                session,
                attempt,
                now=now,
                settling=self.settling,
                outcome=outcome,
                error_code=code,
            )
            if outcome == BAD_NUMBER and code in INVALID_NUMBER_CODES:
                control.bump(
                    session,
                    prepared.campaign,
                    "invalid_number_streak",
                    threshold=self.settings.autopause.invalid_numbers_in_a_row,
                    reason=f"Twilio rejects the numbers as invalid (last: {code})",
                    now=now,
                )
        log.warning(
            "attempt %s: not placed (%s, Twilio %s)", prepared.attempt_id, outcome, code or "-"
        )

    def _release(self, contact_id: int, token: str, delay: timedelta | None = None) -> None:
        self.claims.release(contact_id, token, self.clock.now(), delay)


def _call(telephony: Telephony, prepared: _Prepared) -> tuple[str, str]:
    info = telephony.place_call(OutboundCall(to=prepared.to, attempt_id=prepared.attempt_id))
    return info.sid, info.status


def _sms(telephony: Telephony, prepared: _Prepared) -> tuple[str, str]:
    assert prepared.body is not None
    info = telephony.send_sms(
        OutboundSms(
            to=prepared.to,
            body=prepared.body,
            attempt_id=prepared.attempt_id,
            validity_period=prepared.validity,
        )
    )
    return info.sid, info.status


def _label(exc: TransientError) -> str:
    """What Twilio answered, for the pause's reason: a telling code (10004, 22005), else the
    HTTP status (429, 503), else that nothing came back."""
    if exc.code is not None and exc.code not in (20429, 20500, 20503):
        return str(exc.code)
    if exc.status is not None:
        return str(exc.status)
    return "no response"


def _close(contact: Contact, reason: str, now: datetime) -> str:
    contact.state = "done"
    contact.closed_reason = reason[:40]
    contact.claimed_by = contact.claim_token = None
    contact.updated_at = now
    return "closed"
