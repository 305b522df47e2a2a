"""Tables of the IVR: call sessions and what callers report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId, JsonDoc, _in
from store.types import UTCDateTime


class IvrSession(Base):
    """One call's place in the call flow, keyed by Twilio's CallSid.

    Any web worker serves any step: the whole state is here (``data``), not in a process.
    ``version`` is checked on every update (SQLAlchemy's version counter), so when a Gather
    action and an AMD callback for the same call arrive at once, one of them retries on a fresh
    read instead of overwriting the other. ``step`` numbers the TwiML documents given to the call
    and ``last_key``/``last_twiml`` remember the last request served, so a replayed request gets
    the same document and changes nothing. ``last_request`` is that request's parameters, masked
    (verification digits blanked, numbers shortened).
    """

    __tablename__ = "ivr_sessions"
    __table_args__ = (
        CheckConstraint(_in("direction", ("inbound", "outbound")), name="direction"),
        Index(None, "account_id", "created_at"),
    )

    call_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    account_id: Mapped[str | None] = mapped_column(String(64))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    last_key: Mapped[str | None] = mapped_column(String(64))
    last_twiml: Mapped[str] = mapped_column(Text)
    last_request: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration


class VerificationFailure(Base):
    """One failed keypad verification; ``account_id`` is None when the caller named no real
    account. Counted per account over a sliding window for the lockout."""

    __tablename__ = "ivr_verification_failures"
    __table_args__ = (Index(None, "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(64))
    call_sid: Mapped[str] = mapped_column(String(34))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class VerificationLock(Base):
    """An account locked to agent-only verification after repeated keypad failures.

    In force until an agent clears it (``cleared_at``); rows are never deleted.
    """

    __tablename__ = "ivr_verification_locks"
    __table_args__ = (Index(None, "account_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(64))


FRAUD_REPORT_STATUSES = ("open", "investigating", "closed")


class FraudReport(Base):
    """A lost or stolen card or a fraud reported by the cardholder (IVR key 5, or an agent)."""

    __tablename__ = "fraud_reports"
    __table_args__ = (
        CheckConstraint(_in("status", FRAUD_REPORT_STATUSES), name="status"),
        CheckConstraint(_in("source", ("ivr", "agent")), name="source"),
        UniqueConstraint("dedupe_key"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="lost_stolen_or_fraud")
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open")
    number: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    call_sid: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
