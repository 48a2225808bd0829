"""The indexer's tables: raw events, the unfinalized block window, the checkpoint and the derived read model.

Raw `events` are the source of truth; every derived table (`jobs`, `job_history`, `nodes`, `stakes`,
`balances`, `fees`, `designs`) can be rebuilt from them (`fabrica.indexer.derive.rebuild`). Token amounts are
uint256 on chain, wider than any SQL integer both engines share, so they are stored as decimal strings by
`U256` and come back as Python ints.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class U256(TypeDecorator):
    """An unsigned 256-bit integer stored as its decimal string."""

    impl = sa.String(78)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)


metadata = sa.MetaData()

checkpoint = sa.Table(
    "checkpoint", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("market", sa.String(42), nullable=False),  # identifies the deployment
    sa.Column("block_number", sa.BigInteger, nullable=False),  # last fully applied block
    sa.Column("block_hash", sa.String(66), nullable=False),
    sa.Column("reorgs", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rows_written", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.Float, nullable=False),
)

writer_lock = sa.Table(
    "writer_lock", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("acquired_at", sa.Float, nullable=True),
)

events = sa.Table(
    "events", metadata,
    sa.Column("chain_id", sa.BigInteger, primary_key=True),
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("block_hash", sa.String(66), nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("address", sa.String(42), nullable=False),
    sa.Column("contract", sa.String(32), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
)
sa.Index("ix_events_name", events.c.name, events.c.block_number)

blocks = sa.Table(
    "blocks", metadata,
    sa.Column("number", sa.BigInteger, primary_key=True),
    sa.Column("hash", sa.String(66), nullable=False),
    sa.Column("parent_hash", sa.String(66), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
)

# Pre-images of derived rows changed by blocks in the unfinalized window, applied in reverse on a reorg.
undo_log = sa.Table(
    "undo_log", metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("block_number", sa.BigInteger, nullable=False, index=True),
    sa.Column("tbl", sa.String(32), nullable=False),
    sa.Column("key", sa.JSON, nullable=False),
    sa.Column("row", sa.JSON, nullable=True),  # None: the row did not exist
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("customer", sa.String(42), nullable=False, index=True),
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("node", sa.String(42), nullable=False),
    sa.Column("node_id", sa.BigInteger, nullable=True),
    sa.Column("royalty_receiver", sa.String(42), nullable=False),
    sa.Column("amount", U256, nullable=False),
    sa.Column("royalty", U256, nullable=False),
    sa.Column("collateral", U256, nullable=False),
    sa.Column("bond", U256, nullable=False),
    sa.Column("fee_bps", sa.Integer, nullable=False),
    sa.Column("delivery_window", sa.BigInteger, nullable=False),
    sa.Column("review_window", sa.BigInteger, nullable=False),
    sa.Column("deadline", sa.BigInteger, nullable=False),
    sa.Column("spec_cid", sa.Text, nullable=False),
    sa.Column("design_id", sa.BigInteger, nullable=False),
    sa.Column("proof_cid", sa.Text, nullable=True),
    sa.Column("reason_cid", sa.Text, nullable=True),
    sa.Column("posted_block", sa.BigInteger, nullable=False),
    sa.Column("posted_tx", sa.String(66), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

job_history = sa.Table(
    "job_history", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
)

nodes = sa.Table(
    "nodes", metadata,
    sa.Column("node_id", sa.BigInteger, primary_key=True),
    sa.Column("operator", sa.String(42), nullable=False, index=True),
    sa.Column("processes", sa.BigInteger, nullable=False),
    sa.Column("materials", sa.BigInteger, nullable=False),
    sa.Column("build_x", sa.BigInteger, nullable=False),
    sa.Column("build_y", sa.BigInteger, nullable=False),
    sa.Column("build_z", sa.BigInteger, nullable=False),
    sa.Column("encryption_key", sa.String(66), nullable=False),
    sa.Column("metadata_cid", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("registered_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

stakes = sa.Table(
    "stakes", metadata,
    sa.Column("operator", sa.String(42), primary_key=True),
    sa.Column("staked", U256, nullable=False),
    sa.Column("locked", U256, nullable=False),
    sa.Column("unbonding", U256, nullable=False),
    sa.Column("unbond_at", sa.BigInteger, nullable=False),
    sa.Column("slashed", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

balances = sa.Table(  # credited market balances (JobMarket.balanceOf)
    "balances", metadata,
    sa.Column("token", sa.String(42), primary_key=True),
    sa.Column("account", sa.String(42), primary_key=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

fees = sa.Table(  # protocol fees accrued in the market (JobMarket.feesOf)
    "fees", metadata,
    sa.Column("token", sa.String(42), primary_key=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

designs = sa.Table(
    "designs", metadata,
    sa.Column("token_id", sa.BigInteger, primary_key=True),
    sa.Column("owner", sa.String(42), nullable=False, index=True),
    sa.Column("minter", sa.String(42), nullable=False),
    sa.Column("cid", sa.Text, nullable=False),
    sa.Column("royalty_bps", sa.Integer, nullable=False),
    sa.Column("minted_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

DERIVED = {t.name: t for t in (jobs, job_history, nodes, stakes, balances, fees, designs)}
# Tables holding one row per entity (rolled back through the undo log); job_history is append-only.
STATEFUL = {name: t for name, t in DERIVED.items() if name != "job_history"}
