"""Concession offers (``concessions:`` in config.yaml): what may be given, to whom, by whom.

An offer is one kind of concession with its standard terms, the accounts it is for and how far
each role may go:

- ``fee_waiver`` / ``interest_waiver``: waive the account's late fees or interest
  (``accounts.fees_due`` / ``interest_due``), an ``amount`` or a ``percent`` of what is due;
- ``reduced_rate``: an APR of ``apr_bps`` basis points (1990 = 19.90 %) for ``months`` months,
  for example for a repayment plan's term;
- ``settlement``: the account settled for a lump sum of ``percent`` of the balance, paid within
  ``due_within_days`` days.

``limits.agent`` and ``limits.supervisor`` cap what each role may grant on its own:
``max_amount`` (the money given up: waived, or forgiven by a settlement) and ``max_percent``
(the same as a share of what is due or of the balance) for waivers and settlements;
``min_apr_bps`` and ``max_months`` for a reduced rate. An agent's request above its cap waits
for a supervisor; above the supervisor's it is refused. An offer without ``limits.agent`` is
granted by supervisors only. ``self_service: true`` lets the IVR give the standard terms to a
verified caller who accepts them; nothing else is ever granted by phone without a person.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ConcessionKind = Literal["fee_waiver", "interest_waiver", "reduced_rate", "settlement"]
Role = Literal["agent", "supervisor"]
AccountStatus = Literal["open", "closed", "charged_off", "recalled", "bankrupt", "deceased"]
BlockingSuppression = Literal["cease", "dispute", "dnc"]

WAIVERS = ("fee_waiver", "interest_waiver")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HUNDRED = Decimal(100)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _percent(value: Decimal | None) -> Decimal | None:
    if value is not None and (value <= 0 or value > _HUNDRED or value != round(value, 2)):
        raise ValueError("must be a percentage above 0 and at most 100, to 2 decimals")
    return value


def _cents(value: Decimal | None) -> Decimal | None:
    if value is not None and value != round(value, 2):
        raise ValueError("must have at most 2 decimals")
    return value


class Eligibility(_Model):
    """The accounts an offer is for. Every rule must hold.

    ``statuses``: account statuses; ``min_days_past_due``/``max_days_past_due`` (inclusive);
    ``min_balance``/``max_balance``: the balance still owed (payments since the balance date
    deducted); ``once_every_days``: at most one of this offer granted or pending per account in
    that many days (None: no such limit); ``blocked_by``: suppressions in force on the account
    or its numbers that rule it out (a dispute is settled first; a cease means no offers).
    """

    statuses: tuple[AccountStatus, ...] = ("open", "charged_off")
    min_days_past_due: int = Field(default=0, ge=0)
    max_days_past_due: int | None = Field(default=None, ge=0)
    min_balance: Decimal = Field(default=Decimal("0.01"), ge=0)
    max_balance: Decimal | None = Field(default=None, ge=0)
    once_every_days: int | None = Field(default=None, ge=1, le=3660)
    blocked_by: tuple[BlockingSuppression, ...] = ("dispute", "cease")

    _money = field_validator("min_balance", "max_balance")(_cents)

    @model_validator(mode="after")
    def _ranges(self) -> Eligibility:
        if self.max_days_past_due is not None and self.max_days_past_due < self.min_days_past_due:
            raise ValueError("max_days_past_due: below min_days_past_due")
        if self.max_balance is not None and self.max_balance < self.min_balance:
            raise ValueError("max_balance: below min_balance")
        if not self.statuses:
            raise ValueError("statuses: at least one account status is required")
        return self


class RoleLimit(_Model):
    """What one role may grant of an offer on its own; a bound left out is no bound."""

    max_amount: Decimal | None = Field(default=None, ge=0)
    max_percent: Decimal | None = None
    min_apr_bps: int | None = Field(default=None, ge=0, le=10_000)
    max_months: int | None = Field(default=None, ge=1, le=120)

    _money = field_validator("max_amount")(_cents)
    _share = field_validator("max_percent")(_percent)


def _supervisor_only() -> dict[Role, RoleLimit]:
    return {"supervisor": RoleLimit()}


class Offer(_Model):
    """One configured offer: its kind, standard terms, eligibility and limits per role."""

    kind: ConcessionKind
    #: Plain words for people (the CLI's list, the desk).
    description: str = ""
    self_service: bool = False
    amount: Decimal | None = Field(default=None, gt=0)
    percent: Decimal | None = None
    apr_bps: int | None = Field(default=None, ge=0, le=10_000)
    months: int | None = Field(default=None, ge=1, le=120)
    due_within_days: int | None = Field(default=None, ge=1, le=365)
    eligibility: Eligibility = Eligibility()
    limits: dict[Role, RoleLimit] = Field(default_factory=_supervisor_only)

    _money = field_validator("amount")(_cents)
    _share = field_validator("percent")(_percent)

    @model_validator(mode="after")
    def _terms_fit_the_kind(self) -> Offer:
        given = {
            name
            for name in ("amount", "percent", "apr_bps", "months", "due_within_days")
            if getattr(self, name) is not None
        }
        if self.kind in WAIVERS:
            wanted, allowed = {"amount", "percent"}, {"amount", "percent"}
            if len(given & wanted) != 1:
                raise ValueError(f"a {self.kind} offer takes either amount or percent")
            bounds = {"max_amount", "max_percent"}
        elif self.kind == "reduced_rate":
            wanted = allowed = {"apr_bps", "months"}
            if given & wanted != wanted:
                missing = sorted(wanted - given)[0]
                raise ValueError(f"{missing}: a reduced_rate offer needs apr_bps and months")
            bounds = {"min_apr_bps", "max_months"}
        else:
            wanted = allowed = {"percent", "due_within_days"}
            if given & wanted != wanted:
                missing = sorted(wanted - given)[0]
                raise ValueError(
                    f"{missing}: a settlement offer needs percent (of the balance to pay) "
                    "and due_within_days"
                )
            bounds = {"max_amount", "max_percent"}
        for name in sorted(given - allowed):
            raise ValueError(f"{name}: not a term of a {self.kind} offer")
        if "supervisor" not in self.limits:
            raise ValueError("limits.supervisor: required (who approves what an agent may not)")
        for role, limit in self.limits.items():
            for name in sorted(limit.model_fields_set - bounds):
                if getattr(limit, name) is not None:
                    raise ValueError(
                        f"limits.{role}.{name}: not a limit of a {self.kind} offer "
                        f"(use {' or '.join(sorted(bounds))})"
                    )
        agent = self.limits.get("agent")
        if agent is not None and not _within(agent, self.limits["supervisor"]):
            raise ValueError(
                "limits.supervisor: must allow at least what limits.agent allows, or an agent's "
                "request could never be approved"
            )
        return self


def _within(inner: RoleLimit, outer: RoleLimit) -> bool:
    """Whether everything ``inner`` allows, ``outer`` allows too."""

    def covers(a: Decimal | int | None, b: Decimal | int | None, *, upper: bool) -> bool:
        if b is None:
            return True
        if a is None:
            return False
        return a <= b if upper else a >= b

    return (
        covers(inner.max_amount, outer.max_amount, upper=True)
        and covers(inner.max_percent, outer.max_percent, upper=True)
        and covers(inner.max_months, outer.max_months, upper=True)
        and covers(inner.min_apr_bps, outer.min_apr_bps, upper=False)
    )


class ConcessionSettings(_Model):
    """``concessions:`` in config.yaml: the offers, by name (lowercase, digits, ``-``/``_``)."""

    offers: dict[str, Offer] = Field(default_factory=dict)

    @field_validator("offers")
    @classmethod
    def _names(cls, value: dict[str, Offer]) -> dict[str, Offer]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(
                    f"{name!r}: an offer name is lowercase letters, digits, '-' and '_'"
                )
        return value
