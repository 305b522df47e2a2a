"""conversations in both directions: attempts carry their direction and whether a person talked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("direction", sa.String(8), nullable=False, server_default="outbound")
        )
        batch.add_column(
            sa.Column("conversation", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_check_constraint(
            "ck_attempts_direction", "direction IN ('outbound', 'inbound')"
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_constraint("ck_attempts_direction", type_="check")
        batch.drop_column("conversation")
        batch.drop_column("direction")
