"""foundation: accounts, phones, payments, suppressions, audit log, import batches

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_entity_type_entity_id'), ['entity_type', 'entity_id'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('started_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_ok', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('accounts', 'payments')", name=op.f('ck_import_batches_kind')),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_import_batches_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.Column('removed_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('optout-voice', 'optout-sms', 'dnc', 'cease', 'dispute')", name=op.f('ck_suppressions_kind')),
    sa.CheckConstraint('number IS NOT NULL OR account_id IS NOT NULL', name=op.f('ck_suppressions_target')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions'))
    )
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suppressions_account_id_kind'), ['account_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_suppressions_number_kind'), ['number', 'kind'], unique=False)

    op.create_table('accounts',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance', store.types.Money(), nullable=False),
    sa.Column('minimum_due', store.types.Money(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('balance_as_of', sa.Date(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed', 'charged_off', 'recalled', 'bankrupt', 'deceased')", name=op.f('ck_accounts_status')),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_accounts_balance_nonnegative')),
    sa.CheckConstraint('days_past_due >= 0', name=op.f('ck_accounts_dpd_nonnegative')),
    sa.CheckConstraint('minimum_due >= 0', name=op.f('ck_accounts_minimum_due_nonnegative')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batches.id'], name=op.f('fk_accounts_import_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_accounts'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_status_days_past_due'), ['status', 'days_past_due'], unique=False)

    op.create_table('payments',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('amount', store.types.Money(), nullable=False),
    sa.Column('paid_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_payments_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batches.id'], name=op.f('fk_payments_import_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_account_id'), ['account_id'], unique=False)

    op.create_table('phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('voice_consent', sa.Boolean(), nullable=False),
    sa.Column('voice_consent_source', sa.String(length=64), nullable=True),
    sa.Column('voice_consent_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sms_consent', sa.Boolean(), nullable=False),
    sa.Column('sms_consent_source', sa.String(length=64), nullable=True),
    sa.Column('sms_consent_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('primary', 'alt')", name=op.f('ck_phones_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_phones_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phones')),
    sa.UniqueConstraint('account_id', 'kind', name=op.f('uq_phones_account_id_kind'))
    )
    with op.batch_alter_table('phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phones_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phones_number'), ['number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phones_number'))
        batch_op.drop_index(batch_op.f('ix_phones_account_id'))

    op.drop_table('phones')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_account_id'))

    op.drop_table('payments')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_status_days_past_due'))
        batch_op.drop_index(batch_op.f('ix_accounts_customer_id'))

    op.drop_table('accounts')
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suppressions_number_kind'))
        batch_op.drop_index(batch_op.f('ix_suppressions_account_id_kind'))

    op.drop_table('suppressions')
    op.drop_table('import_batches')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_entity_type_entity_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
