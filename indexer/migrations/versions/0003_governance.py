"""governance: proposals with their history and votes, delegations and voting power, the arbiter panel,
dispute assignments, manifest versions, timelock operations and roles

Revision ID: 0003
Revises: 0002

The market's ABI changed with the DAO (ParamsSet carries the court window and arbiter fee, the silent arbiter's
dispute takes the default ruling instead of escalating): an index of an earlier deployment holds events this
deriver reads under other rules, and no DAO deployment shares its addresses. Like 0002, the upgrade empties the
index (raw events, blocks, checkpoint, every derived table) and the next `fabrica indexer sync` indexes the
configured deployment from its first block.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from fabrica.indexer.schema import U256

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# Every table of revision 0002 holding indexed data (the `tokens` metadata stays: it never changes).
V2_TABLES = ('checkpoint', 'events', 'blocks', 'undo_log', 'jobs', 'job_history', 'disputes', 'taken_orders',
             'cancelled_orders', 'order_counters', 'nodes', 'stakes', 'unbond_requests', 'slashes', 'balances', 'fees',
             'designs', 'token_terms', 'settings')


def upgrade() -> None:
    for name in V2_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    op.create_table('arbiters',
    sa.Column('arbiter', sa.String(length=42), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('appointed_block', sa.BigInteger(), nullable=False),
    sa.Column('removed_block', sa.BigInteger(), nullable=True),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('arbiter')
    )
    op.create_table('delegates',
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('delegate', sa.String(length=42), nullable=False),
    sa.Column('votes', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'delegate')
    )
    op.create_table('delegations',
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('delegator', sa.String(length=42), nullable=False),
    sa.Column('delegate', sa.String(length=42), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'delegator')
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegations_delegate'), ['delegate'], unique=False)

    op.create_table('dispute_assignments',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('previous', sa.String(length=42), nullable=True),
    sa.Column('arbiter', sa.String(length=42), nullable=False),
    sa.Column('rule_by', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('dispute_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_assignments_job_id'), ['job_id'], unique=False)

    op.create_table('manifests',
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('cid', sa.Text(), nullable=False),
    sa.Column('published_block', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('proposal_history',
    sa.Column('proposal_id', U256(78), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', 'block_number', 'log_index')
    )
    op.create_table('proposals',
    sa.Column('proposal_id', U256(78), nullable=False),
    sa.Column('proposer', sa.String(length=42), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('call_values', sa.JSON(), nullable=False),
    sa.Column('calldatas', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.BigInteger(), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('eta', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('for_votes', U256(78), nullable=False),
    sa.Column('against_votes', U256(78), nullable=False),
    sa.Column('abstain_votes', U256(78), nullable=False),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('created_tx', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id')
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_proposer'), ['proposer'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_status'), ['status'], unique=False)

    op.create_table('roles',
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=66), nullable=False),
    sa.Column('account', sa.String(length=42), nullable=False),
    sa.Column('granted_by', sa.String(length=42), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('contract', 'role', 'account')
    )
    op.create_table('timelock_operations',
    sa.Column('operation_id', sa.String(length=66), nullable=False),
    sa.Column('calls', sa.JSON(), nullable=False),
    sa.Column('predecessor', sa.String(length=66), nullable=False),
    sa.Column('delay', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('operation_id')
    )
    op.create_table('votes',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('proposal_id', U256(78), nullable=False),
    sa.Column('voter', sa.String(length=42), nullable=False),
    sa.Column('support', sa.Integer(), nullable=False),
    sa.Column('weight', U256(78), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_voter'), ['voter'], unique=False)

    op.create_table('voting_power',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('delegate', sa.String(length=42), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('previous_votes', U256(78), nullable=False),
    sa.Column('new_votes', U256(78), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('voting_power', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_power_delegate'), ['delegate'], unique=False)



def downgrade() -> None:
    # A 0002 index holds no DAO events: emptied, the next sync starts over as after the upgrade.
    for name in V2_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    with op.batch_alter_table('voting_power', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_power_delegate'))

    op.drop_table('voting_power')
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_votes_voter'))
        batch_op.drop_index(batch_op.f('ix_votes_proposal_id'))

    op.drop_table('votes')
    op.drop_table('timelock_operations')
    op.drop_table('roles')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_proposals_proposer'))

    op.drop_table('proposals')
    op.drop_table('proposal_history')
    op.drop_table('manifests')
    with op.batch_alter_table('dispute_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_assignments_job_id'))

    op.drop_table('dispute_assignments')
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegations_delegate'))

    op.drop_table('delegations')
    op.drop_table('delegates')
    op.drop_table('arbiters')
