"""design economy: designs with 256-bit ids, creators, royalty receivers and takedown states; design-market sales,
orders, cancellations and counters; royalties paid; fabrication licences (terms, purchases, balances, uses by
jobs); bounties with contributions, submissions, approvals, awards and awarded balances; accepted currencies

Revision ID: 0004
Revises: 0003

DesignNFT was rewritten (a token's id is the sha-256 digest inside its CID, so ids are 256-bit; DesignMinted
names the creator and royalty receiver and carries the metadata CID) and the job market now asks the licence
contract for each job's royalty: an index of an earlier deployment holds events this deriver cannot read, and no
new deployment shares its addresses. Like 0002 and 0003, the upgrade empties the index (raw events, blocks,
checkpoint, every derived table) and the next `fabrica indexer sync` indexes the configured deployment from its
first block.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from fabrica.indexer.schema import U256

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


# Every table of revision 0003 holding indexed data (the `tokens` metadata stays: it never changes).
V3_TABLES = ('checkpoint', 'events', 'blocks', 'undo_log', 'jobs', 'job_history', 'disputes', 'taken_orders',
             'cancelled_orders', 'order_counters', 'nodes', 'stakes', 'unbond_requests', 'slashes', 'balances', 'fees',
             'designs', 'token_terms', 'settings', 'proposals', 'proposal_history', 'votes', 'delegations',
             'delegates', 'voting_power', 'arbiters', 'dispute_assignments', 'manifests', 'timelock_operations',
             'roles')


def upgrade() -> None:
    for name in V3_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    with op.batch_alter_table('designs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designs_owner'))
    op.drop_table('designs')
    op.create_table('designs',
    sa.Column('token_id', U256(78), nullable=False),
    sa.Column('creator', sa.String(length=42), nullable=False),
    sa.Column('owner', sa.String(length=42), nullable=False),
    sa.Column('royalty_receiver', sa.String(length=42), nullable=False),
    sa.Column('royalty_bps', sa.Integer(), nullable=False),
    sa.Column('cid', sa.Text(), nullable=False),
    sa.Column('metadata_cid', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('licensed', sa.Boolean(), nullable=False),
    sa.Column('takedown_reason_cid', sa.Text(), nullable=True),
    sa.Column('appeal_evidence_cid', sa.Text(), nullable=True),
    sa.Column('minted_block', sa.BigInteger(), nullable=False),
    sa.Column('minted_tx', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('designs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designs_creator'), ['creator'], unique=False)
        batch_op.create_index(batch_op.f('ix_designs_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_designs_state'), ['state'], unique=False)

    op.create_table('bounties',
    sa.Column('bounty_id', sa.BigInteger(), nullable=False),
    sa.Column('poster', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('brief_cid', sa.Text(), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('approvers', sa.JSON(), nullable=False),
    sa.Column('quorum', sa.Integer(), nullable=False),
    sa.Column('evaluator', sa.String(length=42), nullable=False),
    sa.Column('sponsor_royalty_bps', sa.Integer(), nullable=False),
    sa.Column('design_royalty_bps', sa.Integer(), nullable=False),
    sa.Column('terms_hash', sa.String(length=66), nullable=False),
    sa.Column('contributed', U256(78), nullable=False),
    sa.Column('paid', U256(78), nullable=False),
    sa.Column('refunded', U256(78), nullable=False),
    sa.Column('sponsors', sa.Integer(), nullable=False),
    sa.Column('refunds', sa.Integer(), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.Column('posted_block', sa.BigInteger(), nullable=False),
    sa.Column('posted_tx', sa.String(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bounty_id')
    )
    with op.batch_alter_table('bounties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bounties_poster'), ['poster'], unique=False)

    op.create_table('bounty_approvals',
    sa.Column('bounty_id', sa.BigInteger(), nullable=False),
    sa.Column('submission_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('approvers', sa.JSON(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bounty_id', 'submission_id', 'amount')
    )
    op.create_table('bounty_awards',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('bounty_id', sa.BigInteger(), nullable=False),
    sa.Column('submission_id', sa.BigInteger(), nullable=False),
    sa.Column('submitter', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('decided_by', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('bounty_awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bounty_awards_bounty_id'), ['bounty_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bounty_awards_submitter'), ['submitter'], unique=False)

    op.create_table('bounty_balances',
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('account', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token', 'account')
    )
    op.create_table('bounty_contributions',
    sa.Column('bounty_id', sa.BigInteger(), nullable=False),
    sa.Column('sponsor', sa.String(length=42), nullable=False),
    sa.Column('contribution', U256(78), nullable=False),
    sa.Column('funded', U256(78), nullable=False),
    sa.Column('refund', U256(78), nullable=False),
    sa.Column('refunded', sa.Boolean(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bounty_id', 'sponsor')
    )
    op.create_table('bounty_submissions',
    sa.Column('bounty_id', sa.BigInteger(), nullable=False),
    sa.Column('submission_id', sa.BigInteger(), nullable=False),
    sa.Column('submitter', sa.String(length=42), nullable=False),
    sa.Column('cid', sa.Text(), nullable=False),
    sa.Column('awarded', U256(78), nullable=False),
    sa.Column('minted', sa.Boolean(), nullable=False),
    sa.Column('design_id', U256(78), nullable=True),
    sa.Column('royalty_receiver', sa.String(length=42), nullable=True),
    sa.Column('submitted_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bounty_id', 'submission_id')
    )
    with op.batch_alter_table('bounty_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bounty_submissions_submitter'), ['submitter'], unique=False)

    op.create_table('currencies',
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('contract', 'token')
    )
    op.create_table('design_cancelled_orders',
    sa.Column('maker', sa.String(length=42), nullable=False),
    sa.Column('nonce', U256(78), nullable=False),
    sa.Column('cancelled_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('maker', 'nonce')
    )
    op.create_table('design_order_counters',
    sa.Column('maker', sa.String(length=42), nullable=False),
    sa.Column('counter', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('maker')
    )
    op.create_table('design_orders',
    sa.Column('order_hash', sa.String(length=66), nullable=False),
    sa.Column('maker', sa.String(length=42), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('asset', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=42), nullable=False),
    sa.Column('filled', U256(78), nullable=False),
    sa.Column('fills', sa.Integer(), nullable=False),
    sa.Column('first_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('order_hash')
    )
    with op.batch_alter_table('design_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_design_orders_maker'), ['maker'], unique=False)

    op.create_table('design_sales',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('order_hash', sa.String(length=66), nullable=False),
    sa.Column('maker', sa.String(length=42), nullable=False),
    sa.Column('taker', sa.String(length=42), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('asset', sa.String(length=8), nullable=False),
    sa.Column('token_id', U256(78), nullable=False),
    sa.Column('units', U256(78), nullable=False),
    sa.Column('seller', sa.String(length=42), nullable=False),
    sa.Column('buyer', sa.String(length=42), nullable=False),
    sa.Column('currency', sa.String(length=42), nullable=False),
    sa.Column('total', U256(78), nullable=False),
    sa.Column('fee', U256(78), nullable=False),
    sa.Column('royalty_receiver', sa.String(length=42), nullable=False),
    sa.Column('royalty', U256(78), nullable=False),
    sa.Column('proceeds', U256(78), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('design_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_design_sales_maker'), ['maker'], unique=False)
        batch_op.create_index(batch_op.f('ix_design_sales_order_hash'), ['order_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_design_sales_taker'), ['taker'], unique=False)
        batch_op.create_index(batch_op.f('ix_design_sales_token_id'), ['token_id'], unique=False)

    op.create_table('licence_balances',
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('holder', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('design_id', 'holder')
    )
    op.create_table('licence_purchases',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('buyer', sa.String(length=42), nullable=False),
    sa.Column('recipient', sa.String(length=42), nullable=False),
    sa.Column('prints', U256(78), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('cost', U256(78), nullable=False),
    sa.Column('fee', U256(78), nullable=False),
    sa.Column('seller', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('licence_purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_purchases_buyer'), ['buyer'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_purchases_design_id'), ['design_id'], unique=False)

    op.create_table('licence_terms',
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('setter', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('price_per_print', U256(78), nullable=False),
    sa.Column('block_size', sa.BigInteger(), nullable=False),
    sa.Column('block_price', U256(78), nullable=False),
    sa.Column('max_prints', sa.BigInteger(), nullable=False),
    sa.Column('sold', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('design_id')
    )
    op.create_table('licence_uses',
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('customer', sa.String(length=42), nullable=False),
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('used_block', sa.BigInteger(), nullable=False),
    sa.Column('released', sa.Boolean(), nullable=False),
    sa.Column('released_block', sa.BigInteger(), nullable=True),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('job_id')
    )
    with op.batch_alter_table('licence_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_uses_customer'), ['customer'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_uses_design_id'), ['design_id'], unique=False)

    op.create_table('royalties',
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('design_id', U256(78), nullable=False),
    sa.Column('receiver', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('amount', U256(78), nullable=False),
    sa.Column('order_hash', sa.String(length=66), nullable=True),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    with op.batch_alter_table('royalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_royalties_design_id'), ['design_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_royalties_receiver'), ['receiver'], unique=False)


def downgrade() -> None:
    # A 0003 index holds no design-economy events: emptied, the next sync starts over as after the upgrade.
    for name in V3_TABLES:
        op.execute(sa.text(f'DELETE FROM {name}'))
    with op.batch_alter_table('designs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designs_state'))
        batch_op.drop_index(batch_op.f('ix_designs_owner'))
        batch_op.drop_index(batch_op.f('ix_designs_creator'))
    op.drop_table('designs')
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
    with op.batch_alter_table('royalties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_royalties_receiver'))
        batch_op.drop_index(batch_op.f('ix_royalties_design_id'))

    op.drop_table('royalties')
    with op.batch_alter_table('licence_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_uses_design_id'))
        batch_op.drop_index(batch_op.f('ix_licence_uses_customer'))

    op.drop_table('licence_uses')
    op.drop_table('licence_terms')
    with op.batch_alter_table('licence_purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_purchases_design_id'))
        batch_op.drop_index(batch_op.f('ix_licence_purchases_buyer'))

    op.drop_table('licence_purchases')
    op.drop_table('licence_balances')
    with op.batch_alter_table('design_sales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_design_sales_token_id'))
        batch_op.drop_index(batch_op.f('ix_design_sales_taker'))
        batch_op.drop_index(batch_op.f('ix_design_sales_order_hash'))
        batch_op.drop_index(batch_op.f('ix_design_sales_maker'))

    op.drop_table('design_sales')
    with op.batch_alter_table('design_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_design_orders_maker'))

    op.drop_table('design_orders')
    op.drop_table('design_order_counters')
    op.drop_table('design_cancelled_orders')
    op.drop_table('currencies')
    with op.batch_alter_table('bounty_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bounty_submissions_submitter'))

    op.drop_table('bounty_submissions')
    op.drop_table('bounty_contributions')
    op.drop_table('bounty_balances')
    with op.batch_alter_table('bounty_awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bounty_awards_submitter'))
        batch_op.drop_index(batch_op.f('ix_bounty_awards_bounty_id'))

    op.drop_table('bounty_awards')
    op.drop_table('bounty_approvals')
    with op.batch_alter_table('bounties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bounties_poster'))

    op.drop_table('bounties')
