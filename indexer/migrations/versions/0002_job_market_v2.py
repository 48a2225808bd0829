"""job market v2: jobs with slot keys, hand-backs and payouts; disputes, orders, unbond requests, slashes, terms,
token metadata

Revision ID: 0002
Revises: 0001

A v1 index mirrors a v1 market, whose events the v2 deriver cannot read (other layouts, other rules), and no v2
deployment shares its address: the upgrade empties the index (raw events, blocks, checkpoint, every derived
table), and the next `fabrica indexer sync` indexes the configured v2 deployment from its first block.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from fabrica.indexer.schema import U256

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

V1_TABLES = ('checkpoint', 'events', 'blocks', 'undo_log', 'job_history', 'nodes', 'balances', 'fees', 'designs')


def upgrade() -> None:
    for name in V1_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_jobs_customer'))
    op.drop_table('jobs')
    op.drop_table('stakes')
    op.create_table('jobs',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('node', sa.String(length=42), nullable=False),
    sa.Column('royalty_receiver', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('royalty', U256(78), nullable=False),
    sa.Column('collateral', U256(78), nullable=False),
    sa.Column('bond', U256(78), nullable=False),
    sa.Column('fee_bps', sa.Integer(), nullable=False),
    sa.Column('delivery_window', sa.BigInteger(), nullable=False),
    sa.Column('review_window', sa.BigInteger(), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('target_node', U256(78), nullable=False),
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.Column('node_id', sa.BigInteger(), nullable=True),
    sa.Column('claim_by', sa.BigInteger(), nullable=True),
    sa.Column('deliver_by', sa.BigInteger(), nullable=True),
    sa.Column('review_until', sa.BigInteger(), nullable=True),
    sa.Column('claimed_at', sa.BigInteger(), nullable=True),
    sa.Column('hand_backs', sa.Integer(), nullable=False),
    sa.Column('spec_cid', sa.Text(), nullable=False),
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('proof_cid', sa.Text(), nullable=True),
    sa.Column('reason_cid', sa.Text(), nullable=True),
    sa.Column('order_hash', sa.String(length=66), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=True),
    sa.Column('fee', U256(78), nullable=True),
    sa.Column('node_payout', U256(78), nullable=True),
    sa.Column('royalty_paid', U256(78), nullable=True),
    sa.Column('refund', U256(78), nullable=True),
    sa.Column('slashed', U256(78), nullable=False),
    sa.Column('compensation', U256(78), nullable=False),
    sa.Column('posted_block', sa.BigInteger(), nullable=False),
    sa.Column('posted_tx', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('job_id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_customer'), ['customer'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)

    op.create_table('stakes',
    sa.Column('operator', sa.String(length=42), nullable=False),
    sa.Column('staked', U256(78), nullable=False),
    sa.Column('locked', U256(78), nullable=False),
    sa.Column('unbonding', U256(78), nullable=False),
    sa.Column('unbond_at', sa.BigInteger(), nullable=False),
    sa.Column('slashed', U256(78), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('req_head', sa.Integer(), nullable=False),
    sa.Column('req_tail', sa.Integer(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('operator')
    )
    op.create_table('tokens',
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('cancelled_orders',
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('nonce', U256(78), nullable=False),
    sa.Column('cancelled_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer', 'nonce')
    )
    op.create_table('disputes',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('judge', sa.String(length=42), nullable=False),
    sa.Column('arbiter', sa.String(length=42), nullable=False),
    sa.Column('court', sa.String(length=42), nullable=True),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('bond', U256(78), nullable=False),
    sa.Column('refund_bps', sa.Integer(), nullable=False),
    sa.Column('slash_bps', sa.Integer(), nullable=False),
    sa.Column('appellant', sa.String(length=42), nullable=False),
    sa.Column('appeal_bond', U256(78), nullable=False),
    sa.Column('final_refund_bps', sa.Integer(), nullable=True),
    sa.Column('final_slash_bps', sa.Integer(), nullable=True),
    sa.Column('resolved_by', sa.String(length=42), nullable=True),
    sa.Column('opened_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('job_id')
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_stage'), ['stage'], unique=False)

    op.create_table('order_counters',
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer')
    )
    op.create_table('settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('slashes',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('from_staked', U256(78), nullable=False),
    sa.Column('from_unbonding', U256(78), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('slashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slashes_operator'), ['operator'], unique=False)

    op.create_table('taken_orders',
    sa.Column('order_hash', sa.String(length=66), nullable=False),
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('node', sa.String(length=42), nullable=False),
    sa.Column('node_id', sa.BigInteger(), nullable=False),
    sa.Column('taken_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('order_hash')
    )
    with op.batch_alter_table('taken_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taken_orders_customer'), ['customer'], unique=False)

    op.create_table('token_terms',
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('min_collateral_rate', U256(78), nullable=False),
    sa.Column('max_collateral_rate', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_table('unbond_requests',
    sa.Column('operator', sa.String(length=42), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('release_at', sa.BigInteger(), nullable=False),
    sa.Column('requested_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('operator', 'idx')
    )


def downgrade() -> None:
    for name in ('tokens', 'unbond_requests', 'token_terms', 'taken_orders', 'slashes', 'settings', 'order_counters',
                 'disputes', 'cancelled_orders'):
        op.drop_table(name)
    for name in V1_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    op.drop_table('jobs')
    op.drop_table('stakes')
    op.create_table('jobs',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('node', sa.String(length=42), nullable=False),
    sa.Column('node_id', sa.BigInteger(), nullable=True),
    sa.Column('royalty_receiver', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('royalty', U256(78), nullable=False),
    sa.Column('collateral', U256(78), nullable=False),
    sa.Column('bond', U256(78), nullable=False),
    sa.Column('fee_bps', sa.Integer(), nullable=False),
    sa.Column('delivery_window', sa.BigInteger(), nullable=False),
    sa.Column('review_window', sa.BigInteger(), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('spec_cid', sa.Text(), nullable=False),
    sa.Column('design_id', sa.BigInteger(), nullable=False),
    sa.Column('proof_cid', sa.Text(), nullable=True),
    sa.Column('reason_cid', sa.Text(), nullable=True),
    sa.Column('posted_block', sa.BigInteger(), nullable=False),
    sa.Column('posted_tx', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('job_id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_customer'), ['customer'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)

    op.create_table('stakes',
    sa.Column('operator', sa.String(length=42), nullable=False),
    sa.Column('staked', U256(78), nullable=False),
    sa.Column('locked', U256(78), nullable=False),
    sa.Column('unbonding', U256(78), nullable=False),
    sa.Column('unbond_at', sa.BigInteger(), nullable=False),
    sa.Column('slashed', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('operator')
    )
