"""Repayment-plan rules (``plans:`` in config.yaml).

Every limit a plan keeps, read by :mod:`campaigns.plans` for whoever takes the plan (the IVR's
menu key 4, ``duecall plan create``), and by the lifecycle and the reminders job. Amounts are in
the account's currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Frequency = Literal["weekly", "fortnightly", "monthly"]
FREQUENCIES: tuple[Frequency, ...] = ("weekly", "fortnightly", "monthly")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanOffer(_Model):
    """One plan the IVR reads out: ``installments`` payments every ``frequency``."""

    installments: int = Field(ge=1, le=120)
    frequency: Frequency = "monthly"


def _default_offers() -> tuple[PlanOffer, ...]:
    return (PlanOffer(installments=3), PlanOffer(installments=6), PlanOffer(installments=12))


class PlanSettings(_Model):
    """What a repayment plan may be, and how it is followed up.

    - ``min_installments``/``max_installments``: the range of installment counts (2-12).
    - ``frequencies``: the frequencies a plan may have; ``offers``: those the IVR reads out
      first (only the ones the account qualifies for are said, on keys 1, 2, ...); after
      ``ivr_count_key`` a caller keys any count in the range instead, paid ``keyed_frequency``.
    - ``min_days_past_due``: an account less late than this is not offered a plan.
    - ``min_installment``: no installment below this amount.
    - ``max_term_days``: the last installment at most this many days after the agreement.
    - ``first_date_min_days``/``first_date_max_days``: the first installment falls this many
      days after the cardholder's today (the window); the IVR proposes ``ivr_first_date_days``.
    - ``grace_days``: an installment still short this many days after its date is missed.
    - ``misses_before_broken``: missed installments that break the plan (1 or 2).
    - ``reminder_lead_days``: a reminder text goes this many days before a promise's date and
      before each installment's (``sms.promise_reminder``, ``sms.installment_reminder``).
    """

    min_installments: int = Field(default=2, ge=1, le=120)
    max_installments: int = Field(default=12, ge=1, le=120)
    frequencies: tuple[Frequency, ...] = FREQUENCIES
    offers: tuple[PlanOffer, ...] = Field(default_factory=_default_offers)
    keyed_frequency: Frequency = "monthly"
    min_days_past_due: int = Field(default=1, ge=0, le=10_000)
    min_installment: Decimal = Field(default=Decimal("25.00"), ge=0, decimal_places=2)
    max_term_days: int = Field(default=366, ge=7, le=3660)
    first_date_min_days: int = Field(default=1, ge=0, le=90)
    first_date_max_days: int = Field(default=30, ge=0, le=90)
    ivr_first_date_days: int = Field(default=7, ge=0, le=90)
    ivr_count_key: str = Field(default="9", pattern=r"^[0-9*]$")
    grace_days: int = Field(default=3, ge=0, le=30)
    misses_before_broken: int = Field(default=1, ge=1, le=2)
    reminder_lead_days: int = Field(default=1, ge=0, le=14)

    @model_validator(mode="after")
    def _consistent(self) -> PlanSettings:
        if self.max_installments < self.min_installments:
            raise ValueError("max_installments must not be below min_installments")
        if self.first_date_max_days < self.first_date_min_days:
            raise ValueError("first_date_max_days must not be below first_date_min_days")
        if not self.first_date_min_days <= self.ivr_first_date_days <= self.first_date_max_days:
            raise ValueError(
                "ivr_first_date_days must be within first_date_min_days..first_date_max_days"
            )
        if len(self.offers) > 8:
            raise ValueError("offers: at most 8 (keys 1-8)")
        if self.ivr_count_key in {str(n) for n in range(1, len(self.offers) + 1)}:
            raise ValueError("ivr_count_key must not be the key of an offer")
        if not self.frequencies:
            raise ValueError("frequencies: at least one is required")
        if self.keyed_frequency not in self.frequencies:
            raise ValueError("keyed_frequency must be one of frequencies")
        for index, offer in enumerate(self.offers):
            if offer.frequency not in self.frequencies:
                raise ValueError(f"offers.{index}.frequency is not one of frequencies")
            if not self.min_installments <= offer.installments <= self.max_installments:
                raise ValueError(f"offers.{index}.installments is outside the range")
        return self
