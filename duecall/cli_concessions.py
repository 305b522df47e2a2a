"""Concession commands on the `duecall` CLI: offer one, list them, approve or decline a request.

``duecall concession offer ACCOUNT OFFER --as NAME --role agent|supervisor`` proposes a
configured offer (``concessions.offers``) on its standard terms or on the terms given; it is
granted within the role's limit, waits for a supervisor above it, and is refused (exit 2, the
reason printed, nothing stored) when the account does not qualify or the terms are above every
limit. ``approve`` and ``decline`` are a supervisor's, with a reason. The rules are
:mod:`campaigns.concession_rules`; the store's writer :mod:`campaigns.concessions`.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from duecall import exitcodes
from duecall.cli_context import CliContext, pass_ctx
from duecall.terminal import plain
from store.models_concessions import CONCESSION_STATUSES

if TYPE_CHECKING:
    from campaigns.concession_rules import Agreed, Refusal
    from store.models_concessions import Concession


def register(cli: click.Group) -> None:
    """Add ``duecall concession ...`` to ``cli``."""
    cli.add_command(concession_group)


@click.group("concession")
def concession_group() -> None:
    """Concessions: fee and interest waivers, reduced rates, settlements."""


def _money(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    from store.types import to_money

    try:
        amount = to_money(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an amount such as 25.00") from None
    if amount <= 0:
        raise click.BadParameter("must be greater than zero")
    return amount


def _percent(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        share = Decimal(value.strip().removesuffix("%"))
    except ArithmeticError:
        raise click.BadParameter(f"{value!r} is not a percentage such as 50 or 12.5") from None
    if not share.is_finite() or not 0 < share <= 100 or share != round(share, 2):
        raise click.BadParameter("a percentage is above 0 and at most 100, to 2 decimals")
    return share


def terms_text(
    kind: str,
    currency: str,
    *,
    amount: Decimal | None,
    base: Decimal | None,
    apr_bps: int | None,
    months: int | None,
    effective: str,
    end: str | None,
) -> str:
    """The terms in a few words, as a person reads them."""
    if kind in ("fee_waiver", "interest_waiver"):
        what = "late fees" if kind == "fee_waiver" else "interest"
        return f"waive {amount} {currency} of {base} {what} due, from {effective}"
    if kind == "settlement" and amount is not None and base is not None:
        return (
            f"settle for {amount} {currency} of {base} by {end} ({base - amount} forgiven), "
            f"from {effective}"
        )
    rate = Decimal(apr_bps or 0) / 100
    return f"APR {rate:.2f}% for {months} months, {effective} to {end}"


def _agreed_text(agreed: Agreed) -> str:
    return terms_text(
        agreed.kind,
        agreed.currency,
        amount=agreed.amount,
        base=agreed.base,
        apr_bps=agreed.apr_bps,
        months=agreed.months,
        effective=agreed.effective_date.isoformat(),
        end=agreed.end_date.isoformat() if agreed.end_date else None,
    )


def _row_text(row: Concession) -> str:
    return terms_text(
        row.kind,
        row.currency,
        amount=row.amount,
        base=row.base,
        apr_bps=row.apr_bps,
        months=row.months,
        effective=row.effective_date.isoformat(),
        end=row.end_date.isoformat() if row.end_date else None,
    )


def _refused(refusal: Refusal | None) -> None:
    if refusal is not None:
        click.echo(f"refused ({refusal.code}): {refusal.reason}", err=True)
    sys.exit(exitcodes.USAGE)


@concession_group.command("offer")
@click.argument("account_id")
@click.argument("offer")
@click.option("--as", "name", required=True, help="Who offers it (the audit trail's name).")
@click.option("--role", type=click.Choice(("agent", "supervisor")), required=True)
@click.option("--amount", callback=_money, help="Waive this much / settle for this lump sum.")
@click.option("--percent", callback=_percent, help="Waive this share / settle for this share.")
@click.option(
    "--apr-bps", type=click.IntRange(0, 10_000), help="A reduced rate's APR (990 = 9.9%)."
)
@click.option("--months", type=click.IntRange(1, 120), help="A reduced rate's term.")
@click.option("--plan-id", type=int, help="The repayment plan a reduced rate runs with.")
@click.option("--note", default=None, help="Why it is offered, for the record.")
@pass_ctx
def offer_command(
    obj: CliContext,
    account_id: str,
    offer: str,
    name: str,
    role: str,
    amount: Decimal | None,
    percent: Decimal | None,
    apr_bps: int | None,
    months: int | None,
    plan_id: int | None,
    note: str | None,
) -> None:
    """Offer OFFER (a name under concessions.offers) on ACCOUNT_ID's account.

    Terms not given are the offer's standard ones. Granted within the role's limit; above it,
    a request for a supervisor; refused (exit 2, nothing stored) when the account does not
    qualify or the terms are above what a supervisor may grant.
    """
    from campaigns.concession_rules import Actor, Terms
    from campaigns.concessions import ConcessionError, propose

    terms = Terms(amount=amount, percent=percent, apr_bps=apr_bps, months=months, plan_id=plan_id)
    actor = Actor("supervisor" if role == "supervisor" else "agent", name)
    with obj.store() as db, db.session() as session:
        try:
            outcome = propose(
                session,
                account_id,
                offer,
                terms,
                by=actor,
                settings=obj.settings.concessions,
                now=obj.clock.now(),
                note=note,
            )
        except ConcessionError as exc:
            click.echo(f"{exc.code}: {exc}", err=True)
            sys.exit(exitcodes.USAGE)
    if outcome.agreed is None:
        _refused(outcome.refusal)
        return
    terms_said = _agreed_text(outcome.agreed)
    if outcome.status == "granted":
        click.echo(
            f"concession {outcome.concession_id} granted: {offer} on {account_id}: {terms_said}"
        )
    else:
        click.echo(
            f"concession {outcome.concession_id} pending: {offer} on {account_id}: {terms_said}; "
            f"above the {role}'s limit, it waits for a supervisor "
            f"(`duecall concession approve {outcome.concession_id} --as NAME --reason TEXT`)"
        )


def _decision_command(verb: str) -> click.Command:
    @click.command(verb)
    @click.argument("concession_id", type=int)
    @click.option("--as", "name", required=True, help="The supervisor deciding.")
    @click.option("--reason", required=True, help="Why, in plain words (kept in the record).")
    @click.option(
        "--role",
        type=click.Choice(("agent", "supervisor")),
        default="supervisor",
        show_default=True,
        help="The decider's role: only a supervisor decides.",
    )
    @pass_ctx
    def command(obj: CliContext, concession_id: int, name: str, reason: str, role: str) -> None:
        from campaigns.concession_rules import Actor
        from campaigns.concessions import ConcessionError, approve, decline

        actor = Actor("supervisor" if role == "supervisor" else "agent", name)
        now = obj.clock.now()
        with obj.store() as db, db.session() as session:
            try:
                if verb == "approve":
                    outcome = approve(
                        session,
                        concession_id,
                        by=actor,
                        reason=reason,
                        settings=obj.settings.concessions,
                        now=now,
                    )
                else:
                    outcome = decline(session, concession_id, by=actor, reason=reason, now=now)
            except ConcessionError as exc:
                click.echo(f"{exc.code}: {exc}", err=True)
                sys.exit(exitcodes.USAGE)
        if outcome.status == "refused":
            click.echo(f"concession {concession_id} refused: the account no longer qualifies")
            _refused(outcome.refusal)
        if outcome.agreed is not None:
            click.echo(f"concession {concession_id} granted: {_agreed_text(outcome.agreed)}")
        else:
            click.echo(f"concession {concession_id} {outcome.status}")

    command.help = (
        f"{verb.capitalize()} pending request CONCESSION_ID, as a supervisor, with a reason."
        + (
            " The account is checked again as it is now: one that no longer qualifies is "
            "refused (exit 2)."
            if verb == "approve"
            else ""
        )
    )
    return command


concession_group.add_command(_decision_command("approve"))
concession_group.add_command(_decision_command("decline"))


@concession_group.command("list")
@click.option("--status", type=click.Choice(CONCESSION_STATUSES), default=None)
@click.option("--account", "account_id", default=None, help="Only this account's.")
@pass_ctx
def list_command(obj: CliContext, status: str | None, account_id: str | None) -> None:
    """Concessions, newest first: terms, status, who asked and who decided, and why."""
    from campaigns.concessions import list_concessions

    with obj.store() as db, db.session(readonly=True) as session:
        rows = list_concessions(session, status=status, account_id=account_id)
        table = Table(title=Text(f"Concessions ({len(rows)})"), title_justify="left")
        for column in (
            "id",
            "account",
            "offer",
            "terms",
            "status",
            "asked by",
            "decided by",
            "why",
        ):
            table.add_column(Text(column))
        for row in rows:
            decided = f"{row.decided_by} ({row.decided_role})" if row.decided_by else ""
            table.add_row(
                *(
                    plain(cell)
                    for cell in (
                        str(row.id),
                        row.account_id,
                        row.offer,
                        _row_text(row),
                        row.status,
                        f"{row.requested_by} ({row.requested_role}) "
                        f"{row.requested_at:%Y-%m-%d %H:%M}",
                        decided,
                        row.reason or row.note or "",
                    )
                )
            )
        Console(highlight=False).print(table)


@concession_group.command("offers")
@click.argument("account_id")
@pass_ctx
def offers_command(obj: CliContext, account_id: str) -> None:
    """The configured offers and whether ACCOUNT_ID's account qualifies for each now, with the
    standard terms worked out (self-service: what the hotline may give a verified caller)."""
    from campaigns.concession_rules import Refusal, Terms, agreed_terms, eligibility, within
    from campaigns.concessions import account_facts

    offers = obj.settings.concessions.offers
    with obj.store() as db, db.session(readonly=True) as session:
        facts = account_facts(session, account_id, now=obj.clock.now())
    if facts is None:
        click.echo(f"unknown_account: no account {account_id!r}", err=True)
        sys.exit(exitcodes.USAGE)
    table = Table(title=Text(f"Offers for {account_id}"), title_justify="left")
    columns = ("offer", "kind", "self-service", "standard terms", "an agent may grant", "qualifies")
    for column in columns:
        table.add_column(Text(column))
    for name, offer in offers.items():
        worked = agreed_terms(name, offer, facts, Terms())
        refusal = eligibility(name, offer, facts) or (
            worked if isinstance(worked, Refusal) else None
        )
        said = agent = ""
        if not isinstance(worked, Refusal):
            said = _agreed_text(worked)
            agent = "yes" if within(worked, offer.limits.get("agent")) else "no: a supervisor"
        table.add_row(
            *(
                plain(cell)
                for cell in (
                    name,
                    offer.kind,
                    "yes" if offer.self_service else "no",
                    said,
                    agent,
                    "yes" if refusal is None else f"no: {refusal.reason}",
                )
            )
        )
    Console(highlight=False).print(table)
