"""The tables: columns and constraints only; business rules live in campaigns/ and dialer/.

Money columns are :class:`store.types.Money` (exact), instants are :class:`store.types.UTCDateTime`
(aware UTC), phone numbers are E.164 text. Later features add their tables in their own modules'
migrations; every table is declared on :data:`Base.metadata` so one autogenerate diff covers all.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

from store.types import Money, UTCDateTime

ACCOUNT_STATUSES = ("open", "closed", "charged_off", "recalled", "bankrupt", "deceased")
SUPPRESSION_KINDS = ("optout-voice", "optout-sms", "dnc", "cease", "dispute")
PHONE_KINDS = ("primary", "alt")

# PostgreSQL gets a 64-bit identity; SQLite needs exactly INTEGER PRIMARY KEY to autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class ImportBatch(Base):
    """One run of `accounts import` or `payments import`, with its counts."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(_in("kind", ("accounts", "payments")), name="kind"),
        CheckConstraint(_in("status", ("running", "done", "failed")), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_ok: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class Account(Base):
    """One card account in arrears, keyed by the bank's account number."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_in("status", ACCOUNT_STATUSES), name="status"),
        CheckConstraint("balance >= 0", name="balance_nonnegative"),
        CheckConstraint("minimum_due >= 0", name="minimum_due_nonnegative"),
        CheckConstraint("fees_due >= 0", name="fees_due_nonnegative"),
        CheckConstraint("interest_due >= 0", name="interest_due_nonnegative"),
        CheckConstraint("days_past_due >= 0", name="dpd_nonnegative"),
        Index(None, "status", "days_past_due"),
    )

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[Decimal] = mapped_column(Money)
    minimum_due: Mapped[Decimal] = mapped_column(Money)
    #: Late fees and interest included in the balance (optional import columns): what a fee or
    #: interest waiver is computed against; None when the bank's file does not say.
    fees_due: Mapped[Decimal | None] = mapped_column(Money)
    interest_due: Mapped[Decimal | None] = mapped_column(Money)
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    card_last4: Mapped[str] = mapped_column(String(4))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    balance_as_of: Mapped[date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Phone(Base):
    """A number of an account, with the consent to call and to text it and where that came from.

    TCPA consent is per number: each channel keeps its value, its source and when it was given.
    """

    __tablename__ = "phones"
    __table_args__ = (
        UniqueConstraint("account_id", "kind"),
        CheckConstraint(_in("kind", PHONE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(16), index=True)
    voice_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_consent_source: Mapped[str | None] = mapped_column(String(64))
    voice_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_consent_source: Mapped[str | None] = mapped_column(String(64))
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """A payment received, keyed by the bank's payment id (imports are idempotent on it)."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The calendar date the bank recorded (as given, before any UTC conversion); compared
    # with accounts.balance_as_of to decide whether the balance already reflects it.
    paid_on: Mapped[date] = mapped_column(Date)
    #: ISO 4217, when the payments file names it; None: the account's currency.
    currency: Mapped[str | None] = mapped_column(String(3))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suppression(Base):
    """A reason not to contact: opt-out per channel and number, DNC, cease, dispute.

    Rows are never deleted: removing a suppression stamps ``removed_at`` with who and why, so the
    history answers "was this number opted out on the 3rd?".
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(_in("kind", SUPPRESSION_KINDS), name="kind"),
        CheckConstraint("number IS NOT NULL OR account_id IS NOT NULL", name="target"),
        Index(None, "number", "kind"),
        Index(None, "account_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_reason: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """Who did what and why: imports, suppression changes, lockouts, configuration-driven actions.

    ``detail`` is stored masked (no full phone or card numbers).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


ATTEMPT_CHANNELS = ("voice", "sms")
ATTEMPT_DIRECTIONS = ("outbound", "inbound")


class Attempt(Base):
    """One outbound call or SMS, recorded and committed *before* Twilio is asked to place it.

    It counts toward every frequency cap from ``created_at`` on, whether or not Twilio ever
    answered (an attempt without a ``provider_sid`` is in flight or unresolved). ``connected``
    is True once a live person answered (the contact policy's "conversation" for Reg F
    1006.14(b)(2) and the CBA's connected-call count).
    """

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(_in("channel", ATTEMPT_CHANNELS), name="channel"),
        CheckConstraint(_in("direction", ATTEMPT_DIRECTIONS), name="direction"),
        UniqueConstraint("provider_sid"),
        Index(None, "customer_id", "created_at"),
        Index(None, "number", "created_at"),
        Index(None, "final", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="created")
    provider_sid: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``outbound``: placed by duecall; ``inbound``: a call the cardholder made to the hotline.
    direction: Mapped[str] = mapped_column(String(8), default="outbound", server_default="outbound")
    #: A person verifiably talked (pressed keys, answered the right-party question, verified):
    #: a telephone conversation (Reg F 1006.14(b)(2)(i)(B)) that no later AMD verdict undoes.
    conversation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    outcome: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[int | None] = mapped_column(Integer)
    # Highest Twilio SequenceNumber applied, so a late or repeated callback never moves it back.
    last_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    # The campaign contact this attempt dials (store.models_dialer.Contact); None for the
    # IVR's confirmation SMS and other attempts made outside a campaign run.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)


class ComplianceDecision(Base):
    """Every answer of the contact policy, allowed or denied, with the rule and facts it used."""

    __tablename__ = "compliance_decisions"
    __table_args__ = (
        CheckConstraint(_in("channel", ATTEMPT_CHANNELS), name="channel"),
        Index(None, "account_id", "at"),
        Index(None, "number", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    context: Mapped[str] = mapped_column(String(32))
    profile: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    next_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facts: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))


class OutboxItem(Base):
    """An effect the web app recorded for the worker to carry out (record, commit, then act).

    The IVR never calls Twilio inside a webhook: it writes here (the promise confirmation SMS) and
    the dialer's outbox job sends it, through the contact policy. ``dedupe_key`` makes a replayed
    webhook write the same effect once.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", ("pending", "done", "denied", "failed")), name="status"),
        UniqueConstraint("dedupe_key"),
        Index(None, "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    number: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))


PROMISE_STATUSES = ("open", "kept", "partial", "broken", "cancelled")


class Promise(Base):
    """A promise to pay: a date and an amount, from the IVR or an agent, and how it turned out."""

    __tablename__ = "promises"
    __table_args__ = (
        CheckConstraint(_in("status", PROMISE_STATUSES), name="status"),
        CheckConstraint(_in("source", ("ivr", "agent")), name="source"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("dedupe_key"),
        Index(None, "account_id", "status"),
        Index(None, "status", "promised_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    promised_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str | None] = mapped_column(String(34))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    # A replayed webhook carries the same key, so the promise is stored once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


PLAN_STATUSES = ("active", "completed", "broken", "cancelled")
PLAN_FREQUENCIES = ("weekly", "fortnightly", "monthly")
INSTALLMENT_STATUSES = ("due", "paid", "missed")


class Plan(Base):
    """A repayment plan: ``total`` in ``installments`` payments every ``frequency`` from
    ``first_date``, and how it turned out. One ``active`` plan per account (the partial unique
    index); written only by :mod:`campaigns.plans`."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(_in("status", PLAN_STATUSES), name="status"),
        CheckConstraint(_in("frequency", PLAN_FREQUENCIES), name="frequency"),
        CheckConstraint(_in("source", ("ivr", "agent")), name="source"),
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("installments > 0", name="installments_positive"),
        UniqueConstraint("dedupe_key"),
        Index(None, "account_id", "status"),
        Index(
            "uq_plans_one_active",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money)
    installments: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[str] = mapped_column(String(12))
    first_date: Mapped[date] = mapped_column(Date)
    #: The cardholder's local date the plan was agreed: payments from this day on count.
    agreed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active")
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str | None] = mapped_column(String(34))
    # A replayed webhook carries the same key, so the plan is stored once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    #: The open promise this plan replaced (cancelled when the plan was agreed).
    replaced_promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id"))
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The cardholder's local date of the outcome (completed or broken).
    resolved_on: Mapped[date | None] = mapped_column(Date)


class PlanInstallment(Base):
    """One payment of a plan: ``seq`` 1.. in date order; ``paid_amount`` what the account's
    payments settled on it (earliest installment first)."""

    __tablename__ = "plan_installments"
    __table_args__ = (
        CheckConstraint(_in("status", INSTALLMENT_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("plan_id", "seq"),
        Index(None, "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(8), default="due")
    #: The cardholder's local date it was settled in full, or judged missed.
    resolved_on: Mapped[date | None] = mapped_column(Date)


CALLBACK_STATUSES = ("open", "scheduled", "done", "cancelled")


class CallbackRequest(Base):
    """A caller who asked for (or was offered) a person: a callback or a live transfer to do.

    The cardholder's own request to be called at ``preferred_at`` is the direct consent that the
    contact policy honours inside the 7-day rule (Reg F 1006.14(b)(3)(i)).
    """

    __tablename__ = "callback_requests"
    __table_args__ = (
        CheckConstraint(_in("status", CALLBACK_STATUSES), name="status"),
        UniqueConstraint("dedupe_key"),
        Index(None, "status", "priority", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=5)
    preferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    call_sid: Mapped[str | None] = mapped_column(String(34))
    note: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Times the desk tried to place it agent-first without reaching the cardholder.
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class InboundMessage(Base):
    """An SMS a cardholder sent us, card numbers redacted before it is stored.

    Keyword messages (STOP, START, HELP, TD ...) and opt-outs in plain words are kept too, marked
    with their ``kind``, so the record shows when and how consent was revoked or given back; the
    rest wait in the agents' inbox (``duecall sms inbox``) until someone handles them, to be
    answered by ``due_at`` (10 business days after receipt; none for keywords).
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        CheckConstraint(_in("kind", ("optout", "optin", "help", "message")), name="kind"),
        UniqueConstraint("message_sid"),
        Index(None, "kind", "handled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(34))
    number: Mapped[str] = mapped_column(String(16), index=True)
    to_number: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by: Mapped[str | None] = mapped_column(String(64))
