"""The `duecall` command line (DESIGN.md "Fixed public interfaces").

Exit codes: 0 success; 1 an unexpected failure; 2 a usage or configuration problem (each printed
as ``key.path: message``); 3 an import where some rows were rejected (the good rows landed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from duecall.logging import configure_logging
from duecall.settings import COMMAND_SECRETS, SECRET_ENV, ConfigError, Settings, load_settings
from store.clock import Clock, SystemClock
from store.db import Database

EXIT_CONFIG = 2
EXIT_REJECTS = 3


@dataclass
class CliContext:
    """Carried in click's ``ctx.obj``: settings are loaded on first use, once."""

    config_path: str | None
    clock: Clock = field(default_factory=SystemClock)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                fail_config(exc.problems)
            configure_logging(
                self._settings.logging.level, json_lines=self._settings.logging.json_lines
            )
        return self._settings

    def database(self) -> Database:
        s = self.settings
        return Database(
            s.database.url, echo=s.database.echo, busy_timeout_ms=s.database.sqlite_busy_timeout_ms
        )

    def require(self, command: str) -> Settings:
        """The settings, after checking that the secrets ``command`` needs are set."""
        settings = self.settings
        try:
            settings.require(*COMMAND_SECRETS.get(command, ()), command=command)
        except ConfigError as exc:
            fail_config(exc.problems)
        return settings


def fail_config(problems: list[str]) -> NoReturn:
    err = Console(stderr=True, highlight=False)
    for problem in problems:
        err.print(f"[red]{problem}[/red]", markup=True, soft_wrap=True)
    sys.exit(EXIT_CONFIG)


pass_ctx = click.make_pass_decorator(CliContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="DUECALL_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default ./config.yaml; env DUECALL_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """duecall: reminder dialer, IVR and agent desk for card collections, on Twilio."""
    ctx.obj = CliContext(config_path=config_path)


@cli.command("check-config")
@click.option(
    "--for",
    "command",
    type=click.Choice(sorted(COMMAND_SECRETS)),
    default=None,
    help="Also require the secrets this command needs.",
)
@pass_ctx
def check_config(obj: CliContext, command: str | None) -> None:
    """Validate the configuration; print every problem as `key.path: message`, exit 2 on any."""
    settings = obj.settings
    if command is not None:
        obj.require(command)
    out = Console(highlight=False)
    out.print(f"configuration OK ({settings.source or 'defaults, no config file'})")
    for name, secret_field in SECRET_ENV.items():
        if getattr(settings.secrets, secret_field) is None:
            needed = [c for c, names in COMMAND_SECRETS.items() if name in names]
            if needed:
                out.print(
                    f"note: {name} is not set; `duecall {'`, `duecall '.join(needed)}` need it"
                )


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(obj: CliContext, revision: str) -> None:
    """Create or migrate the schema (SQLite by default, PostgreSQL via DUECALL_DATABASE_URL)."""
    from store.migrate import current_revision, upgrade

    db = obj.database()
    try:
        upgrade(db, revision)
        click.echo(f"database at revision {current_revision(db)}")
    finally:
        db.dispose()


def _import_command(kind: str) -> Callable[..., None]:
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @pass_ctx
    def command(obj: CliContext, file: Path) -> None:
        from duecall.imports import run_import

        code = run_import(obj.settings, obj.database(), obj.clock, kind, file)
        sys.exit(code)

    command.__doc__ = {
        "accounts": "Import or update accounts from a CSV (see the README for the columns).",
        "payments": "Import payments from a CSV; idempotent by payment_id.",
    }[kind]
    return command


@cli.group("accounts")
def accounts_group() -> None:
    """Accounts."""


@cli.group("payments")
def payments_group() -> None:
    """Payments."""


accounts_group.command("import")(_import_command("accounts"))
payments_group.command("import")(_import_command("payments"))


@cli.command("demo")
@click.option("--keep-running", is_flag=True, help="Leave the services up after the demo.")
@click.option(
    "--database",
    default="sqlite:///var/demo.db",
    show_default=True,
    help="Where the demo keeps its data (recreated on every run when it is SQLite).",
)
@pass_ctx
def demo(obj: CliContext, keep_running: bool, database: str) -> None:
    """Run the whole job end to end on SQLite and the local simulator, no Twilio account."""
    from duecall.demo import run_demo

    sys.exit(run_demo(obj.settings, database, keep_running=keep_running))


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="duecall")
