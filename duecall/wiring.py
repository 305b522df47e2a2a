"""Building the long-lived collaborators from the settings (never at import time)."""

from __future__ import annotations

from desk.escalation import Desk
from desk.service import DeskService
from desk.transfer import Transfer
from desk.words import Words
from dialer.dispatch import Wait
from dialer.faults import NO_FAULTS, Faults
from dialer.messages import Sender
from dialer.reminders import PaymentReminders
from dialer.worker import DialerWorker
from duecall.settings import Settings
from ivr.catalogue import load_catalogues
from store.clock import Clock
from store.db import Database, Limits
from telephony.port import Telephony
from telephony.twilio_adapter import TwilioAdapter
from webhooks.effects import TextRules


def build_database(settings: Settings, *, create: bool = True, web: bool = False) -> Database:
    """The store of ``settings``; ``create=False`` never makes a SQLite file or its folder.

    ``web``: the web process's store, whose every wait is bounded by
    ``database.web_timeout_ms`` so a stalled database costs a webhook an apology, never its
    answer (the worker and the CLI may wait as long as a lock takes)."""
    d = settings.database
    return Database(
        d.url,
        echo=d.echo,
        busy_timeout_ms=min(d.sqlite_busy_timeout_ms, d.web_timeout_ms)
        if web
        else d.sqlite_busy_timeout_ms,
        create=create,
        limits=Limits(
            connect_seconds=d.connect_timeout_seconds,
            statement_ms=d.web_timeout_ms if web else None,
            pool_size=d.pool_size,
        ),
    )


def build_telephony(settings: Settings) -> TwilioAdapter:
    """The Twilio adapter; ``settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", ...)``
    must have passed first."""
    t = settings.twilio
    return TwilioAdapter(
        settings.secret("TWILIO_ACCOUNT_SID"),
        settings.secret("TWILIO_AUTH_TOKEN"),
        public_url=settings.server.public_url,
        caller_id=t.caller_id,
        messaging_service_sid=t.messaging_service_sid,
        api_url=t.api_url,
        region=t.region,
        edge=t.edge,
        timeout=t.timeout_seconds,
        ring_timeout=t.ring_timeout_seconds,
    )


def build_sender(settings: Settings) -> Sender:
    """Who the texts come from, the opt-out notice per language, the segment limit."""
    return Sender(
        business_name=settings.business.name,
        callback_number=settings.business.callback_number,
        support_number=settings.business.support_number,
        opt_out_notice=settings.sms.opt_out_notice,
        max_segments=settings.sms.max_segments,
        collector_disclosure=(
            settings.sms.collector_disclosure
            if settings.business.kind == "third_party_collector"
            else {}
        ),
    )


def build_text_rules(settings: Settings) -> TextRules:
    """What every text the IVR's effects send carries: the opt-out notice and, for a
    third-party collector under Regulation F, the debt-collector notice."""
    return TextRules(
        opt_out_notices=settings.sms.opt_out_notice,
        legal=settings.policy.built.legal(settings.business.kind),
        collector_notices=settings.sms.collector_disclosure,
    )


def build_worker(
    settings: Settings,
    db: Database,
    telephony: Telephony,
    clock: Clock,
    *,
    worker_id: str,
    wait: Wait | None = None,
    faults: Faults = NO_FAULTS,
) -> DialerWorker:
    """The dialer worker for ``settings`` (``duecall dialer``, the demo and the tests), with
    the desk's live transfer among its jobs."""
    worker = DialerWorker(
        db,
        telephony,
        clock,
        settings=settings.dialer,
        campaigns=settings.campaigns,
        policy=settings.policy.built,
        sender=build_sender(settings),
        worker_id=worker_id,
        wait=wait,
        faults=faults,
        reminders=PaymentReminders(
            db,
            clock,
            plans=settings.plans,
            promise_grace_days=settings.promises.grace_days,
            templates={
                "promise": settings.sms.promise_reminder,
                "installment": settings.sms.installment_reminder,
                "missed": settings.sms.installment_missed,
            },
            sender=build_sender(settings),
        ),
    )
    transfer = build_transfer(settings, db, telephony, clock, wait=worker.wait)
    worker.add_job("desk-transfer", transfer.tick, every_seconds=settings.desk.tick_seconds)
    return worker


def build_transfer(
    settings: Settings,
    db: Database,
    telephony: Telephony,
    clock: Clock,
    *,
    wait: Wait | None = None,
) -> Transfer:
    """The desk's job that offers waiting callers to available agents (run by the worker)."""
    return Transfer(
        db,
        telephony,
        clock,
        build_desk(settings).desk,
        calls_per_second=settings.dialer.calls_per_second,
        wait=wait,
    )


def build_desk(settings: Settings) -> DeskService:
    """The desk's rules: the roster and queues, its words (the IVR's catalogues and voices),
    the public URL its TwiML points Twilio at, the calling windows a callback must fit."""
    return DeskService(
        Desk(
            settings=settings.desk,
            words=Words(
                load_catalogues(settings.languages),
                settings.ivr.voices,
                fallback=settings.languages[0],
            ),
            public_url=settings.server.public_url,
            legal=settings.policy.built.legal(settings.business.kind),
            policy=settings.policy.built,
            caller_id=settings.twilio.caller_id,
        )
    )
