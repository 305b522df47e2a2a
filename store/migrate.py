"""Alembic driven from code: `duecall db upgrade` and the tests use these, no alembic.ini needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import Database


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "store:migrations")
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to run again (already-applied steps are skipped)."""
    cfg = alembic_config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revisions(db: Database) -> frozenset[str]:
    """The revisions the database is at (several while feature branches are unmerged)."""
    with db.engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def head_revisions(db: Database) -> frozenset[str]:
    """The newest revision of each branch of the migration scripts."""
    return frozenset(ScriptDirectory.from_config(alembic_config(db)).get_heads())
