"""initial schema

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from fabrica.indexer.schema import U256

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('balances',
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('account', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token', 'account')
    )
    op.create_table('blocks',
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=66), nullable=False),
    sa.Column('parent_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('market', sa.String(length=42), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('reorgs', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rows_written', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('designs',
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.String(length=42), nullable=False),
    sa.Column('minter', sa.String(length=42), nullable=False),
    sa.Column('cid', sa.Text(), nullable=False),
    sa.Column('royalty_bps', sa.Integer(), nullable=False),
    sa.Column('minted_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('designs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designs_owner'), ['owner'], unique=False)

    op.create_table('events',
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', 'block_number', 'log_index')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_name', ['name', 'block_number'], unique=False)

    op.create_table('fees',
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_table('job_history',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', 'block_number', 'log_index')
    )
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

    op.create_table('nodes',
    sa.Column('node_id', sa.BigInteger(), nullable=False),
    sa.Column('operator', sa.String(length=42), nullable=False),
    sa.Column('processes', sa.BigInteger(), nullable=False),
    sa.Column('materials', sa.BigInteger(), nullable=False),
    sa.Column('build_x', sa.BigInteger(), nullable=False),
    sa.Column('build_y', sa.BigInteger(), nullable=False),
    sa.Column('build_z', sa.BigInteger(), nullable=False),
    sa.Column('encryption_key', sa.String(length=66), nullable=False),
    sa.Column('metadata_cid', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('node_id')
    )
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nodes_operator'), ['operator'], unique=False)

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
    op.create_table('undo_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('tbl', sa.String(length=32), nullable=False),
    sa.Column('key', sa.JSON(), nullable=False),
    sa.Column('row', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('undo_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_undo_log_block_number'), ['block_number'], unique=False)

    op.create_table('writer_lock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('acquired_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )



def downgrade() -> None:

    op.drop_table('writer_lock')
    with op.batch_alter_table('undo_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_undo_log_block_number'))

    op.drop_table('undo_log')
    op.drop_table('stakes')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nodes_operator'))

    op.drop_table('nodes')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_jobs_customer'))

    op.drop_table('jobs')
    op.drop_table('job_history')
    op.drop_table('fees')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_name')

    op.drop_table('events')
    with op.batch_alter_table('designs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designs_owner'))

    op.drop_table('designs')
    op.drop_table('checkpoint')
    op.drop_table('blocks')
    op.drop_table('balances')

