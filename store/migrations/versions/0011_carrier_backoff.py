"""carrier backoff: transient-failure streak, pauses a probe lifts, budgets held by Retry-After

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_controls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transient_streak", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("paused_for", sa.String(length=16), nullable=True))
    with op.batch_alter_table("pacing_budgets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_until", store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("pacing_budgets", schema=None) as batch_op:
        batch_op.drop_column("held_until")
    with op.batch_alter_table("campaign_controls", schema=None) as batch_op:
        batch_op.drop_column("paused_for")
        batch_op.drop_column("transient_streak")
