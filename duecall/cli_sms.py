"""SMS commands on the `duecall` CLI: the agents' inbox of cardholders' texts."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from duecall.cli_context import CliContext, pass_ctx
from duecall.terminal import plain


def register(cli: click.Group) -> None:
    """Add ``duecall sms ...`` to ``cli``."""
    cli.add_command(sms_group)


@click.group("sms")
def sms_group() -> None:
    """Text messages."""


@sms_group.command("inbox")
@click.option("--all", "include_handled", is_flag=True, help="Include handled messages.")
@click.option("--done", "done_id", type=int, default=None, help="Mark message ID handled.")
@click.option("--by", "actor", envvar="USER", default="cli", show_default="$USER")
@pass_ctx
def inbox_command(obj: CliContext, include_handled: bool, done_id: int | None, actor: str) -> None:
    """Texts from cardholders that need a person (keywords are handled automatically)."""
    from campaigns.inbound_sms import inbox, mark_handled
    from store.privacy import mask_phone

    with obj.store() as db, db.session() as session:
        if done_id is not None:
            ok = mark_handled(session, done_id, by=actor, now=obj.clock.now())
            click.echo(
                f"message {done_id} marked handled"
                if ok
                else f"message {done_id} not found or already handled"
            )
            return
        rows = inbox(session, include_handled=include_handled)
        table = Table(title=Text(f"SMS inbox ({len(rows)})"), title_justify="left")
        columns = ("id", "received (UTC)", "answer by", "from", "account", "message", "handled")
        for column in columns:
            table.add_column(Text(column))
        for row in rows:
            # Every cell is plain text: the message is the cardholder's own (see duecall.terminal).
            table.add_row(
                *(
                    plain(cell)
                    for cell in (
                        str(row.id),
                        f"{row.received_at:%Y-%m-%d %H:%M}",
                        f"{row.due_at:%Y-%m-%d}" if row.due_at else "",
                        mask_phone(row.number),
                        row.account_id or "?",
                        row.body,
                        f"{row.handled_by} {row.handled_at:%m-%d %H:%M}" if row.handled_at else "",
                    )
                )
            )
        Console(highlight=False).print(table)
