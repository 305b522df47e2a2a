"""Repayment plans on the `duecall` CLI: ``duecall plan offers ACCOUNT`` and
``duecall plan create ACCOUNT --installments N [--frequency F] [--first DATE] [--total AMOUNT]``.

The rules are the IVR's (:mod:`campaigns.plan_schedule`, ``plans:`` in config.yaml); a plan
created here has source ``agent``. A refusal prints its reason code and why, stores nothing and
exits 1; a malformed option is a usage error (exit 2).
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation

import click

from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx


def register(cli: click.Group) -> None:
    """Add ``duecall plan`` to ``cli``."""
    cli.add_command(plan_group)


@click.group("plan")
def plan_group() -> None:
    """Repayment plans: what an account may have, and agreeing one."""


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


def _amount(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount such as 1200.00") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise click.BadParameter(f"{value!r} is not an amount in cents")
    return amount


@plan_group.command("offers")
@click.argument("account_id")
@pass_ctx
def offers_command(obj: CliContext, account_id: str) -> None:
    """The plans ACCOUNT_ID may have (the IVR's offers), or why it may have none."""
    from campaigns.plan_schedule import account_refusal, plan_offers
    from campaigns.plans import plan_account

    with obj.store() as db, db.session(readonly=True) as session:
        account = plan_account(session, account_id, now=obj.clock.now())
        if account is None:
            click.echo(f"refused: no_account: no account {account_id}", err=True)
            sys.exit(exitcodes.FAILURE)
        refused = account_refusal(obj.settings.plans, account)
        if refused is not None:
            click.echo(f"refused: {refused}", err=True)
            sys.exit(exitcodes.FAILURE)
        for schedule in plan_offers(obj.settings.plans, account):
            click.echo(
                f"{schedule.count} {schedule.frequency} payments of {schedule.regular} "
                f"{schedule.currency} (last {schedule.last_amount}), "
                f"{schedule.first_date.isoformat()} to {schedule.last_date.isoformat()}"
            )


@plan_group.command("create")
@click.argument("account_id")
@click.option("--installments", type=int, required=True, help="How many payments.")
@click.option(
    "--frequency",
    type=click.Choice(("weekly", "fortnightly", "monthly")),
    default="monthly",
    show_default=True,
)
@click.option(
    "--first",
    "first",
    callback=_date,
    metavar="YYYY-MM-DD",
    default=None,
    help="The first payment's date (default: the IVR's, plans.ivr_first_date_days from today).",
)
@click.option(
    "--total",
    callback=_amount,
    metavar="AMOUNT",
    default=None,
    help="The plan's total (default: the whole balance still owed).",
)
@click.option("--by", "actor", default="agent", show_default=True, help="Who agreed it.")
@pass_ctx
def create_command(
    obj: CliContext,
    account_id: str,
    installments: int,
    frequency: str,
    first: date | None,
    total: Decimal | None,
    actor: str,
) -> None:
    """Agree a repayment plan for ACCOUNT_ID; replaces its open promise."""
    import uuid

    from campaigns.plan_schedule import Refusal, ivr_first_date
    from campaigns.plans import NewPlan, create_plan, plan_account

    rules = obj.settings.plans
    now = obj.clock.now()
    with obj.store() as db, db.session() as session:
        account = plan_account(session, account_id, now=now)
        start = first or (ivr_first_date(rules, account.today) if account else now.date())
        plan = create_plan(
            session,
            rules,
            NewPlan(
                account_id=account_id,
                installments=installments,
                frequency=frequency,  # type: ignore[arg-type]  # click.Choice checked it
                first_date=start,
                total=total,
                source="agent",
                created_by=actor[:64],
                dedupe_key=f"cli-plan:{uuid.uuid4().hex}",
            ),
            now=now,
        )
        if isinstance(plan, Refusal) or plan is None:
            session.rollback()
            click.echo(f"refused: {plan}", err=True)
            sys.exit(exitcodes.FAILURE)
        click.echo(
            f"plan {plan.id}: {plan.installments} {plan.frequency} payments, "
            f"{plan.total} {plan.currency}, first on {plan.first_date.isoformat()}"
        )
