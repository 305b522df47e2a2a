"""Alembic driven from code: `duecall db upgrade` and the tests use these, no alembic.ini needed.

Alembic is quiet unless it migrates: its "Context impl SQLiteImpl." and "Will assume
non-transactional DDL." lines, logged every time a migration context is set up, are held back,
so reading the schema's revision prints nothing and an up-to-date store upgrades silently; each
migration step it runs is still logged ("Running upgrade 0007 -> 0008, ...").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import Database

#: Where Alembic logs both its set-up chatter and the steps it runs.
ALEMBIC_LOGGER = "alembic"


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Alembic logs only warnings and errors inside this block."""
    logger = logging.getLogger(ALEMBIC_LOGGER)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "store:migrations")
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to run again (already-applied steps are skipped).

    Logs one line per step applied (Alembic's own), nothing when there is none.
    """
    cfg = alembic_config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revisions(db: Database) -> frozenset[str]:
    """The revisions the database is at (several while feature branches are unmerged)."""
    with db.engine.connect() as connection, quiet_alembic():
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def head_revisions(db: Database) -> frozenset[str]:
    """The newest revision of each branch of the migration scripts."""
    return frozenset(ScriptDirectory.from_config(alembic_config(db)).get_heads())
