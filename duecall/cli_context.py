"""What every command of the `duecall` CLI shares: the context object and its config failures.

The root group (:mod:`duecall.cli`) and the feature modules (``duecall.cli_*``) import from here,
never from each other, so the command line has no import cycle.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import click
from rich.console import Console
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from duecall import exitcodes
from duecall.logging import configure_logging
from duecall.settings import COMMAND_SECRETS, ConfigError, Settings, load_settings
from store.clock import Clock, SystemClock
from store.db import Database, sqlite_file

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory


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
        """The configured store, created if need be: for the commands that create or migrate it
        (``db upgrade``, the imports, ``ivr call``). Every other command uses :meth:`store`."""
        from duecall.wiring import build_database

        return build_database(self.settings)

    @contextmanager
    def store(self) -> Iterator[Database]:
        """The configured store, which must exist and be migrated; disposed when the block ends.

        Never creates anything: a missing or un-migrated store, or a database that cannot be
        reached, is one line on stderr and an exit (see :func:`open_existing_store`). A database
        error inside the block is one line too, exit 1.
        """
        db = open_existing_store(self.settings)
        try:
            yield db
        except SQLAlchemyError as exc:
            fail_database(exc)
        finally:
            db.dispose()

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


def shown_url(url: str) -> str:
    """``url`` as it may be printed: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@", 1)[-1]


def open_existing_store(settings: Settings) -> Database:
    """Open the configured store for a command that only uses one, checking it once.

    Exits with one line on stderr when there is no store at the URL (a SQLite file that does not
    exist, which is then not created; a database without duecall's schema): exit 2; when its
    schema is behind or ahead of this version: exit 2; when the database cannot be reached or
    opened: exit 1, with the driver's reason.
    """
    from duecall.wiring import build_database

    url = settings.database.url
    shown = shown_url(url)
    missing = (
        f"no duecall database at {shown}: run `duecall db upgrade` or point "
        "DUECALL_DATABASE_URL at one"
    )
    path = sqlite_file(url)
    if path is not None and not path.exists():
        _fail(missing, exitcodes.USAGE)
    try:
        db = build_database(settings, create=False)
    except (ArgumentError, ImportError) as exc:
        _fail(f"database.url: cannot use {shown}: {_first_line(exc)}", exitcodes.USAGE)
    try:
        problem = _schema_problem(db, shown, missing)
    except DBAPIError as exc:
        db.dispose()
        verb = "open" if db.is_sqlite else "reach"
        _fail(f"cannot {verb} the database at {shown}: {_reason(exc)}", exitcodes.FAILURE)
    except BaseException:
        db.dispose()
        raise
    if problem is not None:
        db.dispose()
        _fail(problem, exitcodes.USAGE)
    return db


def _schema_problem(db: Database, shown: str, missing: str) -> str | None:
    """What is wrong with the store's schema, or None: one look at ``alembic_version``."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return missing
        current = frozenset(conn.scalars(text("SELECT version_num FROM alembic_version")))
    if not current:
        return missing
    # Alembic says at INFO what it loads; a report's output is no place for that.
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        from store.migrate import alembic_config

        script = ScriptDirectory.from_config(alembic_config(db))
        heads = frozenset(script.get_heads())
        if current == heads:
            return None
        known = _known_revisions(script, current, CommandError)
    finally:
        alembic_log.setLevel(level)
    at = ", ".join(sorted(current))
    if not known:
        return (
            f"the duecall database at {shown} is at revision {at}, which this version of duecall "
            "does not know: it was migrated by a newer one"
        )
    return (
        f"the duecall database at {shown} is at revision {at}, behind this version's "
        f"{', '.join(sorted(heads))}: run `duecall db upgrade`"
    )


def _known_revisions(
    script: ScriptDirectory, revisions: frozenset[str], unknown: type[Exception]
) -> bool:
    try:
        for revision in revisions:
            script.get_revision(revision)
    except unknown:
        return False
    return True


def fail_database(exc: SQLAlchemyError) -> NoReturn:
    """A database error in the middle of a command: one line on stderr, exit 1."""
    _fail(f"database error: {type(exc).__name__}: {_reason(exc)}", exitcodes.FAILURE)


def _reason(exc: SQLAlchemyError) -> str:
    # The driver's own message, first line only: psycopg adds hints on further lines, and
    # SQLAlchemy appends the statement and its parameters (which may hold phone numbers).
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return _first_line(orig if orig is not None else exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(line: str, code: int) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(code)


#: Passes the :class:`CliContext` to a command as its first argument.
pass_ctx = click.make_pass_decorator(CliContext)
