"""inbox due date: free-text messages are answered within 10 business days

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_messages = sa.table(
    "inbound_messages",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String(16)),
    sa.column("received_at", store.types.UTCDateTime()),
    sa.column("due_at", store.types.UTCDateTime()),
)


def _ten_business_days_after(received_at: datetime) -> datetime:
    # A frozen copy of campaigns.inbound_sms.response_due as of this revision (TCPA 2025
    # revocation rules: 10 business days, Saturdays and Sundays not counted).
    due, left = received_at, 10
    while left:
        due += timedelta(days=1)
        if due.weekday() < 5:
            left -= 1
    return due


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("due_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_messages.c.id, _messages.c.received_at).where(_messages.c.kind == "message")
    ).all()
    for row_id, received_at in rows:
        bind.execute(
            _messages.update()
            .where(_messages.c.id == row_id)
            .values(due_at=_ten_business_days_after(received_at))
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("due_at")
