"""concessions: waivers, reduced rates and settlements with who decided them; the accounts'
optional fees and interest due

Revision ID: 0013_concessions
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0013_concessions"
down_revision: str | Sequence[str] | None = "0012_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("fees_due", store.types.Money(), nullable=True))
        batch.add_column(sa.Column("interest_due", store.types.Money(), nullable=True))
        batch.create_check_constraint("ck_accounts_fees_due_nonnegative", "fees_due >= 0")
        batch.create_check_constraint("ck_accounts_interest_due_nonnegative", "interest_due >= 0")
    op.create_table(
        "concessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("offer", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", store.types.Money(), nullable=True),
        sa.Column("base", store.types.Money(), nullable=True),
        sa.Column("percent_bps", sa.Integer(), nullable=True),
        sa.Column("apr_bps", sa.Integer(), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_role", sa.String(length=16), nullable=False),
        sa.Column("requested_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_role", sa.String(length=16), nullable=True),
        sa.Column("decided_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "kind IN ('fee_waiver', 'interest_waiver', 'reduced_rate', 'settlement')",
            name=op.f("ck_concessions_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'granted', 'declined', 'refused')",
            name=op.f("ck_concessions_status"),
        ),
        sa.CheckConstraint(
            "requested_role IN ('ivr', 'agent', 'supervisor')",
            name=op.f("ck_concessions_requested_role"),
        ),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_concessions_amount_nonnegative")
        ),
        sa.CheckConstraint(
            "percent_bps IS NULL OR (percent_bps > 0 AND percent_bps <= 10000)",
            name=op.f("ck_concessions_percent"),
        ),
        sa.CheckConstraint(
            "apr_bps IS NULL OR apr_bps >= 0", name=op.f("ck_concessions_apr_nonnegative")
        ),
        sa.CheckConstraint(
            "months IS NULL OR months > 0", name=op.f("ck_concessions_months_positive")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_concessions_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_concessions_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concessions")),
    )
    op.create_index(
        op.f("ix_concessions_account_id_offer_requested_at"),
        "concessions",
        ["account_id", "offer", "requested_at"],
    )
    op.create_index(
        op.f("ix_concessions_status_requested_at"), "concessions", ["status", "requested_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_concessions_status_requested_at"), table_name="concessions")
    op.drop_index(op.f("ix_concessions_account_id_offer_requested_at"), table_name="concessions")
    op.drop_table("concessions")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("ck_accounts_interest_due_nonnegative", type_="check")
        batch.drop_constraint("ck_accounts_fees_due_nonnegative", type_="check")
        batch.drop_column("interest_due")
        batch.drop_column("fees_due")
