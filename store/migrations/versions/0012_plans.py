"""repayment plans and their installments; a payment's currency

Revision ID: 0012_plans
Revises: 0013_concessions
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0012_plans"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", store.types.Money(), nullable=False),
        sa.Column("installments", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("replaced_promise_id", sa.Integer(), nullable=True),
        sa.Column("paid_amount", store.types.Money(), nullable=False),
        sa.Column("resolved_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'broken', 'cancelled')", name=op.f("ck_plans_status")
        ),
        sa.CheckConstraint(
            "frequency IN ('weekly', 'fortnightly', 'monthly')", name=op.f("ck_plans_frequency")
        ),
        sa.CheckConstraint("source IN ('ivr', 'agent')", name=op.f("ck_plans_source")),
        sa.CheckConstraint("total > 0", name=op.f("ck_plans_total_positive")),
        sa.CheckConstraint("installments > 0", name=op.f("ck_plans_installments_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_plans_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["replaced_promise_id"],
            ["promises.id"],
            name=op.f("fk_plans_replaced_promise_id_promises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_plans_dedupe_key")),
    )
    op.create_index(
        op.f("ix_plans_account_id_status"), "plans", ["account_id", "status"], unique=False
    )
    op.create_index(
        "uq_plans_one_active",
        "plans",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "plan_installments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", store.types.Money(), nullable=False),
        sa.Column("paid_amount", store.types.Money(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('due', 'paid', 'missed')", name=op.f("ck_plan_installments_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_plan_installments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_installments_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_installments")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_plan_installments_plan_id_seq")),
    )
    op.create_index(
        op.f("ix_plan_installments_status_due_date"),
        "plan_installments",
        ["status", "due_date"],
        unique=False,
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("currency")
    op.drop_index(op.f("ix_plan_installments_status_due_date"), table_name="plan_installments")
    op.drop_table("plan_installments")
    op.drop_index("uq_plans_one_active", table_name="plans")
    op.drop_index(op.f("ix_plans_account_id_status"), table_name="plans")
    op.drop_table("plans")
