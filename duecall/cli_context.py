"""What every command of the `duecall` CLI shares: the context object and its config failures.

The root group (:mod:`duecall.cli`) and the feature modules (``duecall.cli_*``) import from here,
never from each other, so the command line has no import cycle.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import NoReturn

import click
from rich.console import Console

from duecall import exitcodes
from duecall.logging import configure_logging
from duecall.settings import COMMAND_SECRETS, ConfigError, Settings, load_settings
from store.clock import Clock, SystemClock
from store.db import Database


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
        from duecall.wiring import build_database

        return build_database(self.settings)

    def require(self, command: str) -> Settings:
        """The settings, after checking that the secrets ``command`` needs are set."""
        settings = self.settings
        try:
            settings.require(*COMMAND_SECRETS.get(command, ()), command=command)
        except ConfigError as exc:
            fail_config(exc.problems)
        return settings


def fail_config(problems: list[str]) -> NoReturn:
    """Print each configuration problem (``key.path: message``) on stderr and exit 2."""
    err = Console(stderr=True, highlight=False)
    for problem in problems:
        err.print(f"[red]{problem}[/red]", markup=True, soft_wrap=True)
    sys.exit(exitcodes.USAGE)


#: Passes the :class:`CliContext` to a command as its first argument.
pass_ctx = click.make_pass_decorator(CliContext)
