"""dialer: campaign runs, contacts, callback events, controls, pacing

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.types

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_controls',
    sa.Column('campaign', sa.String(length=64), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('invalid_number_streak', sa.Integer(), nullable=False),
    sa.Column('denial_streak', sa.Integer(), nullable=False),
    sa.Column('missing_callback_streak', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign', name=op.f('pk_campaign_controls'))
    )
    op.create_table('campaign_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign', sa.String(length=64), nullable=False),
    sa.Column('slot_key', sa.String(length=80), nullable=False),
    sa.Column('slot_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('snapshot_cursor', sa.String(length=64), nullable=True),
    sa.Column('snapshot_heartbeat_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snapshot_done_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('contacts_total', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('snapshotting', 'active', 'superseded', 'cancelled')", name=op.f('ck_campaign_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_runs')),
    sa.UniqueConstraint('campaign', 'slot_key', name=op.f('uq_campaign_runs_campaign_slot_key'))
    )
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_runs_campaign_status'), ['campaign', 'status'], unique=False)

    op.create_table('pacing_budgets',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('next_slot_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_pacing_budgets'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('campaign', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts_made', sa.Integer(), nullable=False),
    sa.Column('last_outcome', sa.String(length=32), nullable=True),
    sa.Column('closed_reason', sa.String(length=40), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('current_attempt_id', sa.Integer(), nullable=True),
    sa.Column('created_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('voice', 'sms')", name=op.f('ck_contacts_channel')),
    sa.CheckConstraint("state IN ('pending', 'dialing', 'waiting', 'done')", name=op.f('ck_contacts_state')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_contacts_account_id_accounts')),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_contacts_run_id_campaign_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('run_id', 'account_id', name=op.f('uq_contacts_run_id_account_id'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_run_id_state_next_attempt_at'), ['run_id', 'state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_state_claimed_at'), ['state', 'claimed_at'], unique=False)

    op.create_table('callback_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('provider_sid', sa.String(length=34), nullable=True),
    sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('received_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('effect', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint("kind IN ('call-status', 'amd', 'sms-status', 'reconciler')", name=op.f('ck_callback_events_kind')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_callback_events_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_callback_events_dedupe_key'))
    )
    with op.batch_alter_table('callback_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_events_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_events_provider_sid'), ['provider_sid'], unique=False)

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attempts_contact_id_contacts'), 'contacts', ['contact_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attempts_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attempts_contact_id'))
        batch_op.drop_column('contact_id')

    with op.batch_alter_table('callback_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_events_provider_sid'))
        batch_op.drop_index(batch_op.f('ix_callback_events_attempt_id'))

    op.drop_table('callback_events')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_state_claimed_at'))
        batch_op.drop_index(batch_op.f('ix_contacts_run_id_state_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_contacts_account_id'))

    op.drop_table('contacts')
    op.drop_table('pacing_budgets')
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_runs_campaign_status'))

    op.drop_table('campaign_runs')
    op.drop_table('campaign_controls')
