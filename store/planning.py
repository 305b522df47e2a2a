"""Keeping a statement's plan along its index on PostgreSQL, whatever the statistics say."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def plan_by_index(session: Session | Connection) -> None:
    """On PostgreSQL, plan the rest of this transaction by its indexes: no sequential scan and no
    sort while another plan exists (``SET LOCAL``, so it ends with the transaction). SQLite: no-op.

    For the batch statements of a long job (an import batch, a launch's chunk) whose cost must
    not grow with the table. The planner judges a table by its statistics, and a table being
    loaded, or never analyzed, looks small: it then reads the whole table (and sorts it) for each
    batch, and the job becomes quadratic. Prepared statements make it worse: the generic plan
    chosen while the table was small is kept as it grows.
    """
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        # A scan that has no alternative (a staging table, a table without the index) is still
        # taken, at a cost of 10^10 plus its own; that cost then clears jit_above_cost, and
        # compiling the plan (100 ms) took longer than running it (an import batch's phones: 5
        # ms). Nothing in such a transaction is worth JIT: it is off too.
        session.execute(
            text(
                "SELECT set_config('enable_seqscan', 'off', true),"
                " set_config('enable_sort', 'off', true),"
                " set_config('jit', 'off', true)"
            )
        )
