"""Small SQL helpers the dialer needs on both engines (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Base


def insert_ignoring_conflicts(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT ``rows`` into ``model``'s table, skipping those that collide on the unique ``keys``.

    ``ON CONFLICT DO NOTHING`` on both engines, so a repeated or concurrent insert (two workers
    snapshotting the same chunk, a control row created twice) is harmless and never aborts the
    transaction the way a caught IntegrityError would on PostgreSQL.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, list(rows))


def insert_select_ignoring_conflicts(
    session: Session,
    model: type[Base],
    rows: Select[Any],
    columns: Sequence[str],
    keys: Sequence[str],
) -> int:
    """``INSERT INTO model (columns) SELECT ...`` skipping rows that collide on the unique
    ``keys``, done by the database in one statement; returns how many rows it inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .from_select(list(columns), rows)
        .on_conflict_do_nothing(index_elements=list(keys))
    )
    # SQLAlchemy reports an INSERT's rowcount only when asked to keep it.
    return rowcount(session.execute(statement, execution_options={"preserve_rowcount": True}))


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: how a conditional UPDATE learns it won a claim."""
    return int(cast(CursorResult[Any], result).rowcount)
