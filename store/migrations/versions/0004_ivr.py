"""ivr sessions, verification failures and locks, fraud reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ivr_verification_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('call_sid', sa.String(length=34), nullable=False),
    sa.Column('at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_verification_failures'))
    )
    with op.batch_alter_table('ivr_verification_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ivr_verification_failures_account_id_at'), ['account_id', 'at'], unique=False)

    op.create_table('fraud_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.CheckConstraint("source IN ('ivr', 'agent')", name=op.f('ck_fraud_reports_source')),
    sa.CheckConstraint("status IN ('open', 'investigating', 'closed')", name=op.f('ck_fraud_reports_status')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_fraud_reports_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_reports')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_fraud_reports_dedupe_key'))
    )
    with op.batch_alter_table('fraud_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fraud_reports_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fraud_reports_status_created_at'), ['status', 'created_at'], unique=False)

    op.create_table('ivr_verification_locks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('locked_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('cleared_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_ivr_verification_locks_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_verification_locks'))
    )
    with op.batch_alter_table('ivr_verification_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ivr_verification_locks_account_id_cleared_at'), ['account_id', 'cleared_at'], unique=False)

    op.create_table('ivr_sessions',
    sa.Column('call_sid', sa.String(length=34), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('last_key', sa.String(length=64), nullable=True),
    sa.Column('last_twiml', sa.Text(), nullable=False),
    sa.Column('last_request', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f('ck_ivr_sessions_direction')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_ivr_sessions_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_ivr_sessions'))
    )
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ivr_sessions_account_id_created_at'), ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ivr_sessions_attempt_id'), ['attempt_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ivr_sessions_attempt_id'))
        batch_op.drop_index(batch_op.f('ix_ivr_sessions_account_id_created_at'))

    op.drop_table('ivr_sessions')
    with op.batch_alter_table('ivr_verification_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ivr_verification_locks_account_id_cleared_at'))

    op.drop_table('ivr_verification_locks')
    with op.batch_alter_table('fraud_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fraud_reports_status_created_at'))
        batch_op.drop_index(batch_op.f('ix_fraud_reports_account_id'))

    op.drop_table('fraud_reports')
    with op.batch_alter_table('ivr_verification_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ivr_verification_failures_account_id_at'))

    op.drop_table('ivr_verification_failures')
