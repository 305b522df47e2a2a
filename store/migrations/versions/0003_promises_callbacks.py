"""promises and callback requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callback_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('preferred_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'scheduled', 'done', 'cancelled')", name=op.f('ck_callback_requests_status')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_callback_requests_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_requests')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_callback_requests_dedupe_key'))
    )
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_requests_status_priority_created_at'), ['status', 'priority', 'created_at'], unique=False)

    op.create_table('promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('amount', store.types.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=True),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('paid_amount', store.types.Money(), nullable=False),
    sa.Column('resolved_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('ivr', 'agent')", name=op.f('ck_promises_source')),
    sa.CheckConstraint("status IN ('open', 'kept', 'partial', 'broken', 'cancelled')", name=op.f('ck_promises_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_promises_amount_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_promises_account_id_accounts')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_promises_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promises')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_promises_dedupe_key'))
    )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promises_account_id_status'), ['account_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_promises_status_promised_date'), ['status', 'promised_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promises_status_promised_date'))
        batch_op.drop_index(batch_op.f('ix_promises_account_id_status'))

    op.drop_table('promises')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_requests_status_priority_created_at'))
        batch_op.drop_index(batch_op.f('ix_callback_requests_account_id'))

    op.drop_table('callback_requests')
