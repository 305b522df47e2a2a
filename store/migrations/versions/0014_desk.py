"""the agent desk: agents and their states, one record per caller queued for a person

Revision ID: 0014_desk
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0014_desk"
down_revision: str | Sequence[str] | None = "0013_concessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "desk_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("leg_sid", sa.String(length=34), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name=op.f("ck_desk_agents_role")),
        sa.CheckConstraint(
            "state IN ('away', 'available', 'offered', 'on_call', 'wrap_up')",
            name=op.f("ck_desk_agents_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_desk_agents_name")),
    )
    op.create_table(
        "desk_queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column(
            "attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enqueued_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offered_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bridged_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("left_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("left_reason", sa.String(length=16), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("queue_sid", sa.String(length=34), nullable=True),
        sa.Column("agent_leg_sid", sa.String(length=34), nullable=True),
        sa.Column("wait_loops", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'bridged', 'abandoned', 'left', 'done')",
            name=op.f("ck_desk_queue_entries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_desk_queue_entries_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["desk_agents.id"],
            name=op.f("fk_desk_queue_entries_agent_id_desk_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_queue_entries")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_desk_queue_entries_attempt_id_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callback_requests.id"],
            name=op.f("fk_desk_queue_entries_callback_id_callback_requests"),
        ),
        sa.UniqueConstraint("call_sid", name=op.f("uq_desk_queue_entries_call_sid")),
        sa.UniqueConstraint(
            "callback_id",
            "enqueued_at",
            name=op.f("uq_desk_queue_entries_callback_id_enqueued_at"),
        ),
    )
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_queue_entries_queue_enqueued_at"),
            ["queue", "enqueued_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_desk_queue_entries_status_queue_enqueued_at"),
            ["status", "queue", "enqueued_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_queue_entries_status_queue_enqueued_at"))
        batch_op.drop_index(batch_op.f("ix_desk_queue_entries_queue_enqueued_at"))

    op.drop_table("desk_queue_entries")
    op.drop_table("desk_agents")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_column("tries")
