"""Alembic environment: runs against the connection or URL that store.migrate hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.db import make_engine
from store.migrate import quiet_alembic
from store.schema import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    # Setting the context up logs "Context impl ..." and "Will assume ... DDL" at INFO on every
    # run, even with nothing to migrate; only the steps run below are worth a line.
    with quiet_alembic():
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `duecall db upgrade`")
run_migrations_online()
