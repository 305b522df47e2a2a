"""Concessions: what a collections agent agreed to give besides time, and who decided it.

One row per request that was stored: granted at once (within the proposer's limit), pending a
supervisor's decision, then granted or declined, or refused when the account was no longer
eligible by the time a supervisor looked at it. A proposal refused outright (ineligible, above
every limit, bad terms) stores nothing. The one writer is :mod:`campaigns.concessions`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, _in
from store.types import Money, UTCDateTime

CONCESSION_KINDS = ("fee_waiver", "interest_waiver", "reduced_rate", "settlement")
CONCESSION_STATUSES = ("pending", "granted", "declined", "refused")
CONCESSION_ROLES = ("ivr", "agent", "supervisor")


class Concession(Base):
    """One concession on one account: its terms, as the card system must apply them.

    ``amount`` is the money waived (a waiver) or the lump sum to pay (a settlement), ``base``
    what it was computed against when it was proposed (the fees or interest due, the balance),
    ``percent_bps`` the share of ``base`` in basis points (10000 = 100 %) when the terms were a
    percentage. A reduced rate has ``apr_bps`` and ``months`` instead. ``plan_id`` names the
    repayment plan a reduced rate runs with, if any. ``effective_date`` and ``end_date`` are in
    the cardholder's local calendar: a waiver has no end, a reduced rate ends after its months,
    a settlement's lump sum is due by its end date.
    """

    __tablename__ = "concessions"
    __table_args__ = (
        CheckConstraint(_in("kind", CONCESSION_KINDS), name="kind"),
        CheckConstraint(_in("status", CONCESSION_STATUSES), name="status"),
        CheckConstraint(_in("requested_role", CONCESSION_ROLES), name="requested_role"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_nonnegative"),
        CheckConstraint(
            "percent_bps IS NULL OR (percent_bps > 0 AND percent_bps <= 10000)", name="percent"
        ),
        CheckConstraint("apr_bps IS NULL OR apr_bps >= 0", name="apr_nonnegative"),
        CheckConstraint("months IS NULL OR months > 0", name="months_positive"),
        Index(None, "account_id", "offer", "requested_at"),
        Index(None, "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    offer: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    base: Mapped[Decimal | None] = mapped_column(Money)
    percent_bps: Mapped[int | None] = mapped_column(Integer)
    apr_bps: Mapped[int | None] = mapped_column(Integer)
    months: Mapped[int | None] = mapped_column(Integer)
    # The repayment plan a reduced rate runs with, if any.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    effective_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_role: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_role: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was decided so: the approver's or decliner's words, or the refusal's plain words.
    reason: Mapped[str | None] = mapped_column(Text)
    #: The refusal's code when a pending request was refused on approval (no longer eligible).
    reason_code: Mapped[str | None] = mapped_column(String(40))
