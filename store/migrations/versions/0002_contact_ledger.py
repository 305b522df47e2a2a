"""contact ledger: attempts, compliance decisions, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider_sid', sa.String(length=34), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('placed_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('answered_by', sa.String(length=32), nullable=True),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.CheckConstraint("channel IN ('voice', 'sms')", name=op.f('ck_attempts_channel')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_attempts_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('provider_sid', name=op.f('uq_attempts_provider_sid'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_customer_id_created_at'), ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_final_created_at'), ['final', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_number_created_at'), ['number', 'created_at'], unique=False)

    op.create_table('compliance_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('context', sa.String(length=32), nullable=False),
    sa.Column('profile', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('next_allowed_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("channel IN ('voice', 'sms')", name=op.f('ck_compliance_decisions_channel')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_compliance_decisions_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_decisions'))
    )
    with op.batch_alter_table('compliance_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_decisions_account_id_at'), ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_decisions_number_at'), ['number', 'at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('processed_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'done', 'denied', 'failed')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_outbox_account_id_accounts')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_outbox_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status_available_at'), ['status', 'available_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status_available_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_account_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('compliance_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_decisions_number_at'))
        batch_op.drop_index(batch_op.f('ix_compliance_decisions_account_id_at'))

    op.drop_table('compliance_decisions')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_number_created_at'))
        batch_op.drop_index(batch_op.f('ix_attempts_final_created_at'))
        batch_op.drop_index(batch_op.f('ix_attempts_customer_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_attempts_account_id'))

    op.drop_table('attempts')
