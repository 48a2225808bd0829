"""reorg log: every rollback the indexer made (ancestor block, depth, old tip, time), in order

Revision ID: 0005
Revises: 0004

The gateway's WebSocket stream gives each message a cursor naming the last reorg it knew of; a client that resumes
from an older cursor is told of the rollbacks it missed from this table. Unlike 0002 to 0004 the index is kept:
the new table starts empty (no rollback is known before it existed).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reorg_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('ancestor_block', sa.BigInteger(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('old_tip', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )


def downgrade() -> None:
    op.drop_table('reorg_log')
