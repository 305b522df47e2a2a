"""dialer workers: a lease per running worker; the snapshot's current writer

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialer_workers",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("started_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_dialer_workers")),
    )
    with op.batch_alter_table("dialer_workers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dialer_workers_heartbeat_at"), ["heartbeat_at"], unique=False
        )
    with op.batch_alter_table("campaign_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_runs", schema=None) as batch_op:
        batch_op.drop_column("snapshot_by")
    with op.batch_alter_table("dialer_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dialer_workers_heartbeat_at"))
    op.drop_table("dialer_workers")
