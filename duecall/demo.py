"""`duecall demo`: the day's job end to end on SQLite, with no Twilio account.

Today it builds a fresh demo database, imports the example portfolio and its payments, and prints
the portfolio as the collections team would first look at it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from campaigns.accounts import portfolio_summary, totals
from campaigns.importing import ImportFileError, Reject, import_accounts, import_payments
from duecall.imports import describe, import_options
from duecall.settings import Settings
from store.clock import SystemClock
from store.db import Database
from store.migrate import upgrade

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _fresh_sqlite(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)


def run_demo(settings: Settings, database_url: str, *, keep_running: bool = False) -> int:
    """Run the demo; returns the exit code."""
    out = Console(highlight=False)
    examples = EXAMPLES if EXAMPLES.is_dir() else Path("examples")
    accounts_csv, payments_csv = examples / "accounts.csv", examples / "payments.csv"
    if not accounts_csv.exists():
        out.print(f"[red]{accounts_csv} not found: run python examples/generate.py[/red]")
        return 2

    logging.getLogger("alembic").setLevel(logging.WARNING)
    _fresh_sqlite(database_url)
    db = Database(database_url)
    clock = SystemClock()
    options = import_options(settings)
    try:
        upgrade(db)
        out.rule("[bold]duecall demo")
        out.print(f"database {database_url} (fresh)")
        for kind, path, run in (
            ("accounts", accounts_csv, import_accounts),
            ("payments", payments_csv, import_payments),
        ):
            rejects: list[Reject] = []
            result = run(db, path, options=options, clock=clock, on_reject=rejects.append)
            out.print(describe(kind, path, result))
            for reject in rejects[:10]:
                out.print(f"  [yellow]{reject}[/yellow]", markup=True)
        with db.session(readonly=True) as session:
            _print_summary(out, session)
    except ImportFileError as exc:
        out.print(f"[red]{exc}[/red]")
        return 2
    finally:
        db.dispose()
    if keep_running:
        out.print(
            "nothing to keep running yet: the dialer and the hotline arrive in later releases"
        )
    return 0


def _print_summary(out: Console, session: object) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    for name, rows in portfolio_summary(session).items():
        table = Table(title=f"portfolio by {name}", title_justify="left")
        table.add_column(name)
        table.add_column("currency")
        table.add_column("accounts", justify="right")
        table.add_column("balance", justify="right")
        table.add_column("still owed", justify="right")
        for row in rows:
            table.add_row(
                row.label,
                row.currency,
                str(row.accounts),
                f"{row.balance:,.2f}",
                f"{row.outstanding:,.2f}",
            )
        out.print(table)
    t = totals(session)
    paid = ", ".join(f"{currency} {amount:,.2f}" for currency, amount in t["paid"].items())
    out.print(
        f"{t['accounts']} accounts of {t['customers']} customers, {t['phones']} numbers, "
        f"{t['payments']} payments received ({paid or 'none'})"
    )
