"""The indexer's tables: raw events, the unfinalized block window, the checkpoint and the derived read model.

Raw `events` are the source of truth; every derived table (jobs and their history, disputes and their arbiter
assignments, orders, nodes, stakes with their unbond requests and slashes, balances, fees, designs, token terms,
settings, governance: proposals with their history and votes, delegations, voting power, the arbiter panel,
manifests, timelock operations and roles, and the design economy: designs, design-market sales, filled and
cancelled orders, royalties paid, fabrication licences (terms, purchases, balances, uses by jobs), bounties with
their contributions, submissions, approvals, awards and awarded balances) can be rebuilt
from them (`fabrica.indexer.derive.rebuild`). Token amounts are
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

# Every rollback the indexer made, in order (written in the rollback's transaction): the gateway's stream tells a
# client resuming from a cursor that a fork removed events it had seen. Not derived, never rolled back.
reorg_log = sa.Table(
    "reorg_log", metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # 1, 2, … (one writer: max + 1)
    sa.Column("ancestor_block", sa.BigInteger, nullable=False),  # the common ancestor the index rolled back to
    sa.Column("depth", sa.Integer, nullable=False),  # blocks removed
    sa.Column("old_tip", sa.BigInteger, nullable=False),  # the checkpoint block before the rollback
    sa.Column("at", sa.Float, nullable=False),  # Unix time of the rollback
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    # The job's current struct, field by field (what `statusOf(jobId, job)` is called with).
    sa.Column("customer", sa.String(42), nullable=False, index=True),
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("node", sa.String(42), nullable=False),  # zero while open
    sa.Column("royalty_receiver", sa.String(42), nullable=False),
    sa.Column("amount", U256, nullable=False),
    sa.Column("royalty", U256, nullable=False),
    sa.Column("collateral", U256, nullable=False),
    sa.Column("bond", U256, nullable=False),
    sa.Column("fee_bps", sa.Integer, nullable=False),
    sa.Column("delivery_window", sa.BigInteger, nullable=False),
    sa.Column("review_window", sa.BigInteger, nullable=False),
    sa.Column("deadline", sa.BigInteger, nullable=False),  # claim-by, deliver-by or review-until, by status
    sa.Column("target_node", U256, nullable=False),  # uint64 chosen by the customer: wider than a signed BIGINT
    sa.Column("key", sa.BigInteger, nullable=False, index=True),  # storage slot (recycled slots hold later jobs)
    # Around the struct.
    sa.Column("node_id", sa.BigInteger, nullable=True),  # the claiming node while claimed or later
    sa.Column("claim_by", sa.BigInteger, nullable=True),  # latest claim-by (post, or re-opened by a hand-back)
    sa.Column("deliver_by", sa.BigInteger, nullable=True),
    sa.Column("review_until", sa.BigInteger, nullable=True),
    sa.Column("claimed_at", sa.BigInteger, nullable=True),  # time of the current claim (None while open)
    sa.Column("hand_backs", sa.Integer, nullable=False),
    sa.Column("spec_cid", sa.Text, nullable=False),
    sa.Column("design_id", U256, nullable=False),
    sa.Column("proof_cid", sa.Text, nullable=True),
    sa.Column("reason_cid", sa.Text, nullable=True),
    sa.Column("order_hash", sa.String(66), nullable=True),  # set when the job came from a taken signed order
    # Outcome, in the payment token unless noted (None until the job pays out).
    sa.Column("accepted", sa.Boolean, nullable=True),  # settled: accepted by the customer, or after review
    sa.Column("fee", U256, nullable=True),
    sa.Column("node_payout", U256, nullable=True),
    sa.Column("royalty_paid", U256, nullable=True),
    sa.Column("refund", U256, nullable=True),
    sa.Column("slashed", U256, nullable=False),  # FAB slashed from the claimers (hand-back penalties, expiry, ruling)
    sa.Column("compensation", U256, nullable=False),  # FAB of those slashes credited to the customer
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

disputes = sa.Table(  # one per disputed job; kept (stage "resolved") after the chain deletes its own record
    "disputes", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("stage", sa.String(24), nullable=False, index=True),  # awaiting_arbiter, ruled, appealed, resolved
    sa.Column("judge", sa.String(42), nullable=False),  # who rules now: the arbiter, then the appeal court
    sa.Column("arbiter", sa.String(42), nullable=False),  # fixed when the dispute opened
    sa.Column("court", sa.String(42), nullable=True),  # fixed when appealed or escalated
    sa.Column("deadline", sa.BigInteger, nullable=False),  # rule-by, then appeal-by, then the court's rule-by
    sa.Column("bond", U256, nullable=False),  # the customer's dispute bond
    sa.Column("refund_bps", sa.Integer, nullable=False),  # the arbiter's ruling (0 until ruled)
    sa.Column("slash_bps", sa.Integer, nullable=False),
    sa.Column("appellant", sa.String(42), nullable=False),  # zero: none, or escalated after the arbiter's silence
    sa.Column("appeal_bond", U256, nullable=False),
    sa.Column("final_refund_bps", sa.Integer, nullable=True),  # the ruling applied (None until resolved)
    sa.Column("final_slash_bps", sa.Integer, nullable=True),
    sa.Column("resolved_by", sa.String(42), nullable=True),  # the judge whose ruling applied; zero: default ruling
    sa.Column("opened_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

taken_orders = sa.Table(  # signed orders taken (OrderTaken carries the order's digest, not its nonce)
    "taken_orders", metadata,
    sa.Column("order_hash", sa.String(66), primary_key=True),
    sa.Column("customer", sa.String(42), nullable=False, index=True),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("node", sa.String(42), nullable=False),
    sa.Column("node_id", sa.BigInteger, nullable=False),
    sa.Column("taken_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

cancelled_orders = sa.Table(  # order nonces a customer cancelled (cancelOrder)
    "cancelled_orders", metadata,
    sa.Column("customer", sa.String(42), primary_key=True),
    sa.Column("nonce", U256, primary_key=True),  # uint64: wider than a signed BIGINT
    sa.Column("cancelled_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

order_counters = sa.Table(  # orderCounter(customer): orders signed with an older counter are void
    "order_counters", metadata,
    sa.Column("customer", sa.String(42), primary_key=True),
    sa.Column("counter", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
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
    sa.Column("staked", U256, nullable=False),  # bonded
    sa.Column("locked", U256, nullable=False),  # collateral the market holds in the operator's unfinished jobs
    sa.Column("unbonding", U256, nullable=False),  # sum of the pending unbond requests
    sa.Column("unbond_at", sa.BigInteger, nullable=False),  # release time of the oldest pending request (0: none)
    sa.Column("slashed", U256, nullable=False),  # FAB ever slashed
    sa.Column("eligible", sa.Boolean, nullable=False),  # bonded stake >= the minimum when last evaluated
    sa.Column("req_head", sa.Integer, nullable=False),  # unbond request indexes [head, tail), as the registry keeps them
    sa.Column("req_tail", sa.Integer, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

unbond_requests = sa.Table(  # pending unbond requests (withdrawn ones are deleted, slashes shrink the newest)
    "unbond_requests", metadata,
    sa.Column("operator", sa.String(42), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("release_at", sa.BigInteger, nullable=False),
    sa.Column("requested_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

slashes = sa.Table(  # every Slashed event, with where it was taken from (append-only)
    "slashes", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("operator", sa.String(42), nullable=False, index=True),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("amount", U256, nullable=False),
    sa.Column("from_staked", U256, nullable=False),
    sa.Column("from_unbonding", U256, nullable=False),
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

designs = sa.Table(  # DesignNFT tokens: id = the sha-256 digest inside the content CID (256-bit)
    "designs", metadata,
    sa.Column("token_id", U256, primary_key=True),
    sa.Column("creator", sa.String(42), nullable=False, index=True),  # who minted it, for ever
    sa.Column("owner", sa.String(42), nullable=False, index=True),
    sa.Column("royalty_receiver", sa.String(42), nullable=False),  # the creator, or a bounty's royalty split
    sa.Column("royalty_bps", sa.Integer, nullable=False),
    sa.Column("cid", sa.Text, nullable=False),  # the content CID as minted (its digest is the token id)
    sa.Column("metadata_cid", sa.Text, nullable=False),  # the design's JSON metadata document
    sa.Column("state", sa.String(16), nullable=False, index=True),  # active, taken_down, appealed
    sa.Column("licensed", sa.Boolean, nullable=False),  # fabrication licences of it were sold (never cleared)
    sa.Column("takedown_reason_cid", sa.Text, nullable=True),  # the current takedown's reason (None when active)
    sa.Column("appeal_evidence_cid", sa.Text, nullable=True),  # the appeal against it
    sa.Column("minted_block", sa.BigInteger, nullable=False),
    sa.Column("minted_tx", sa.String(66), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

token_terms = sa.Table(  # TokenTermsSet: which payment tokens are allowed, and their collateral rates
    "token_terms", metadata,
    sa.Column("token", sa.String(42), primary_key=True),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("min_collateral_rate", U256, nullable=False),  # FAB wei per token base unit, 1e18 fixed point
    sa.Column("max_collateral_rate", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

settings = sa.Table(  # governance state by name: params, arbiter, appeal court, treasury, pending judges, owners
    "settings", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

# ---------------------------------------------------------------------------------------------- governance
proposals = sa.Table(  # FabGovernor proposals: what they do, their vote window, tallies and lifecycle
    "proposals", metadata,
    sa.Column("proposal_id", U256, primary_key=True),  # uint256 hash of the actions and description
    sa.Column("proposer", sa.String(42), nullable=False, index=True),
    sa.Column("targets", sa.JSON, nullable=False),
    sa.Column("call_values", sa.JSON, nullable=False),  # wei sent with each call
    sa.Column("calldatas", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("snapshot", sa.BigInteger, nullable=False),  # voteStart: votes are read at this time (clock)
    sa.Column("deadline", sa.BigInteger, nullable=False),  # voteEnd, moved by late-quorum extensions
    sa.Column("extended", sa.Boolean, nullable=False),
    sa.Column("eta", sa.BigInteger, nullable=True),  # when the timelock lets it run (set when queued)
    sa.Column("status", sa.String(16), nullable=False, index=True),  # created, queued, executed, canceled
    sa.Column("for_votes", U256, nullable=False),
    sa.Column("against_votes", U256, nullable=False),
    sa.Column("abstain_votes", U256, nullable=False),
    sa.Column("created_block", sa.BigInteger, nullable=False),
    sa.Column("created_tx", sa.String(66), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

proposal_history = sa.Table(  # each lifecycle event of a proposal (append-only)
    "proposal_history", metadata,
    sa.Column("proposal_id", U256, primary_key=True),
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

votes = sa.Table(  # VoteCast / VoteCastWithParams (append-only; OZ lets an account vote once per proposal)
    "votes", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("proposal_id", U256, nullable=False, index=True),
    sa.Column("voter", sa.String(42), nullable=False, index=True),
    sa.Column("support", sa.Integer, nullable=False),  # 0 against, 1 for, 2 abstain
    sa.Column("weight", U256, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=True),  # 0x-hex, VoteCastWithParams only
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

delegations = sa.Table(  # who each account delegates its votes to, per source of votes
    "delegations", metadata,
    sa.Column("source", sa.String(8), primary_key=True),  # fab (FabToken) or stake (NodeRegistry's staked FAB)
    sa.Column("delegator", sa.String(42), primary_key=True),
    sa.Column("delegate", sa.String(42), nullable=False, index=True),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

delegates = sa.Table(  # each delegate's current votes per source (the last DelegateVotesChanged)
    "delegates", metadata,
    sa.Column("source", sa.String(8), primary_key=True),
    sa.Column("delegate", sa.String(42), primary_key=True),
    sa.Column("votes", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

voting_power = sa.Table(  # every DelegateVotesChanged: a delegate's votes over time (append-only)
    "voting_power", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("delegate", sa.String(42), nullable=False, index=True),
    sa.Column("timestamp", sa.BigInteger, nullable=True),  # the block's time: the token clock's timepoint
    sa.Column("previous_votes", U256, nullable=False),
    sa.Column("new_votes", U256, nullable=False),
)

arbiters = sa.Table(  # ArbiterPanel membership (removed members are kept, inactive)
    "arbiters", metadata,
    sa.Column("arbiter", sa.String(42), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("appointed_block", sa.BigInteger, nullable=False),
    sa.Column("removed_block", sa.BigInteger, nullable=True),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

dispute_assignments = sa.Table(  # arbiters given to disputes: at opening, and reassignments (append-only)
    "dispute_assignments", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # assigned, reassigned
    sa.Column("previous", sa.String(42), nullable=True),  # the arbiter that left the panel (reassigned)
    sa.Column("arbiter", sa.String(42), nullable=False),
    sa.Column("rule_by", sa.BigInteger, nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

manifests = sa.Table(  # ManifestRegistry versions
    "manifests", metadata,
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("cid", sa.Text, nullable=False),
    sa.Column("published_block", sa.BigInteger, nullable=False),
    sa.Column("tx_hash", sa.String(66), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

timelock_operations = sa.Table(  # FabTimelock operations (one row per operation id, its calls in order)
    "timelock_operations", metadata,
    sa.Column("operation_id", sa.String(66), primary_key=True),
    sa.Column("calls", sa.JSON, nullable=False),  # [{target, value, data}] by index
    sa.Column("predecessor", sa.String(66), nullable=False),
    sa.Column("delay", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # scheduled, executed, cancelled
    sa.Column("scheduled_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

roles = sa.Table(  # AccessControl roles held now (FabTimelock)
    "roles", metadata,
    sa.Column("contract", sa.String(32), primary_key=True),
    sa.Column("role", sa.String(66), primary_key=True),
    sa.Column("account", sa.String(42), primary_key=True),
    sa.Column("granted_by", sa.String(42), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

# ---------------------------------------------------------------------------------------------- design economy
currencies = sa.Table(  # ERC-20s each design-economy contract accepts (DesignMarket, FabricationLicences, BountyBoard)
    "currencies", metadata,
    sa.Column("contract", sa.String(32), primary_key=True),
    sa.Column("token", sa.String(42), primary_key=True),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

design_sales = sa.Table(  # every DesignMarket OrderFilled (append-only)
    "design_sales", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("order_hash", sa.String(66), nullable=False, index=True),  # the order's EIP-712 digest
    sa.Column("maker", sa.String(42), nullable=False, index=True),
    sa.Column("taker", sa.String(42), nullable=False, index=True),
    sa.Column("side", sa.String(8), nullable=False),  # listing (the maker sells) or offer (the maker buys)
    sa.Column("asset", sa.String(8), nullable=False),  # design (the ERC-721) or licence (ERC-1155 units)
    sa.Column("token_id", U256, nullable=False, index=True),  # the design (the licences' id is the design's)
    sa.Column("units", U256, nullable=False),
    sa.Column("seller", sa.String(42), nullable=False),
    sa.Column("buyer", sa.String(42), nullable=False),
    sa.Column("currency", sa.String(42), nullable=False),
    sa.Column("total", U256, nullable=False),  # price * units, paid by the buyer
    sa.Column("fee", U256, nullable=False),  # to the treasury
    sa.Column("royalty_receiver", sa.String(42), nullable=False),  # ERC-2981 receiver of the design
    sa.Column("royalty", U256, nullable=False),  # as emitted; when the receiver is the seller it is in the proceeds
    sa.Column("proceeds", U256, nullable=False),  # what the seller received
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

design_orders = sa.Table(  # signed orders that filled at least once, with the units filled so far
    "design_orders", metadata,
    sa.Column("order_hash", sa.String(66), primary_key=True),
    sa.Column("maker", sa.String(42), nullable=False, index=True),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("asset", sa.String(8), nullable=False),
    sa.Column("currency", sa.String(42), nullable=False),
    sa.Column("filled", U256, nullable=False),  # units filled in all
    sa.Column("fills", sa.Integer, nullable=False),
    sa.Column("first_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

design_cancelled_orders = sa.Table(  # design-market order nonces a maker cancelled (cancel)
    "design_cancelled_orders", metadata,
    sa.Column("maker", sa.String(42), primary_key=True),
    sa.Column("nonce", U256, primary_key=True),  # uint64: wider than a signed BIGINT
    sa.Column("cancelled_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

design_order_counters = sa.Table(  # counterOf(maker) on the design market: older orders are void
    "design_order_counters", metadata,
    sa.Column("maker", sa.String(42), primary_key=True),
    sa.Column("counter", U256, nullable=False),  # uint64
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

royalties = sa.Table(  # one row per royalty paid: design-market fills and jobs settled or resolved (append-only)
    "royalties", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(8), nullable=False),  # sale (paid to the receiver) or job (credited in the market)
    sa.Column("design_id", U256, nullable=False, index=True),
    sa.Column("receiver", sa.String(42), nullable=False, index=True),
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("amount", U256, nullable=False),
    sa.Column("order_hash", sa.String(66), nullable=True),  # sale
    sa.Column("job_id", sa.BigInteger, nullable=True),  # job
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

licence_terms = sa.Table(  # FabricationLicences terms per design (valid only while their setter owns the design)
    "licence_terms", metadata,
    sa.Column("design_id", U256, primary_key=True),
    sa.Column("setter", sa.String(42), nullable=False),  # zero once cleared
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("price_per_print", U256, nullable=False),
    sa.Column("block_size", sa.BigInteger, nullable=False),
    sa.Column("block_price", U256, nullable=False),
    sa.Column("max_prints", sa.BigInteger, nullable=False),  # cap on licences ever sold (0: none)
    sa.Column("sold", sa.BigInteger, nullable=False),  # licences ever sold (kept across terms)
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

licence_purchases = sa.Table(  # every LicencesBought (append-only)
    "licence_purchases", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("design_id", U256, nullable=False, index=True),
    sa.Column("buyer", sa.String(42), nullable=False, index=True),
    sa.Column("recipient", sa.String(42), nullable=False),
    sa.Column("prints", U256, nullable=False),
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("cost", U256, nullable=False),
    sa.Column("fee", U256, nullable=False),
    sa.Column("seller", sa.String(42), nullable=False),  # the design's owner, paid cost - fee
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

licence_uses = sa.Table(  # the licence each job consumed instead of the per-job royalty, and whether it came back
    "licence_uses", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("customer", sa.String(42), nullable=False, index=True),
    sa.Column("design_id", U256, nullable=False, index=True),
    sa.Column("used_block", sa.BigInteger, nullable=False),
    sa.Column("released", sa.Boolean, nullable=False),  # the job ended without a print: the licence went back
    sa.Column("released_block", sa.BigInteger, nullable=True),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

licence_balances = sa.Table(  # ERC-1155 licence units held (TransferSingle / TransferBatch); no row: none
    "licence_balances", metadata,
    sa.Column("design_id", U256, primary_key=True),
    sa.Column("holder", sa.String(42), primary_key=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

bounties = sa.Table(  # BountyBoard bounties: terms (as last extended) and the pot's accounting
    "bounties", metadata,
    sa.Column("bounty_id", sa.BigInteger, primary_key=True),
    sa.Column("poster", sa.String(42), nullable=False, index=True),
    sa.Column("token", sa.String(42), nullable=False),
    sa.Column("brief_cid", sa.Text, nullable=False),
    sa.Column("deadline", sa.BigInteger, nullable=False),
    sa.Column("approvers", sa.JSON, nullable=False),
    sa.Column("quorum", sa.Integer, nullable=False),  # 0: the evaluator decides
    sa.Column("evaluator", sa.String(42), nullable=False),
    sa.Column("sponsor_royalty_bps", sa.Integer, nullable=False),
    sa.Column("design_royalty_bps", sa.Integer, nullable=False),
    sa.Column("terms_hash", sa.String(66), nullable=False),
    sa.Column("contributed", U256, nullable=False),  # early refunds take theirs back out; later ones are `refunded`
    sa.Column("paid", U256, nullable=False),  # awarded
    sa.Column("refunded", U256, nullable=False),  # refunded after the award window
    sa.Column("sponsors", sa.Integer, nullable=False),  # sponsors with a contribution
    sa.Column("refunds", sa.Integer, nullable=False),  # sponsors that refunded after the award window
    sa.Column("submissions", sa.Integer, nullable=False),
    sa.Column("posted_block", sa.BigInteger, nullable=False),
    sa.Column("posted_tx", sa.String(66), nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

bounty_contributions = sa.Table(  # each sponsor's part of a bounty
    "bounty_contributions", metadata,
    sa.Column("bounty_id", sa.BigInteger, primary_key=True),
    sa.Column("sponsor", sa.String(42), primary_key=True),
    sa.Column("contribution", U256, nullable=False),  # as the board counts it (0 after an early refund)
    sa.Column("funded", U256, nullable=False),  # everything the sponsor ever put in
    sa.Column("refund", U256, nullable=False),  # everything it took back (early or after the award window)
    sa.Column("refunded", sa.Boolean, nullable=False),  # refunded after the award window (once)
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

bounty_submissions = sa.Table(
    "bounty_submissions", metadata,
    sa.Column("bounty_id", sa.BigInteger, primary_key=True),
    sa.Column("submission_id", sa.BigInteger, primary_key=True),
    sa.Column("submitter", sa.String(42), nullable=False, index=True),
    sa.Column("cid", sa.Text, nullable=False),
    sa.Column("awarded", U256, nullable=False),  # sum of its awards
    sa.Column("minted", sa.Boolean, nullable=False),
    sa.Column("design_id", U256, nullable=True),  # the design it was minted as
    sa.Column("royalty_receiver", sa.String(42), nullable=True),  # the design's (a split with the sponsors, or the designer)
    sa.Column("submitted_block", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

bounty_approvals = sa.Table(  # pending approvals of one award (cleared when the quorum executes it)
    "bounty_approvals", metadata,
    sa.Column("bounty_id", sa.BigInteger, primary_key=True),
    sa.Column("submission_id", sa.BigInteger, primary_key=True),
    sa.Column("amount", U256, primary_key=True),
    sa.Column("approvers", sa.JSON, nullable=False),  # in approval order
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

bounty_awards = sa.Table(  # every BountyAwarded (append-only)
    "bounty_awards", metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True),
    sa.Column("log_index", sa.Integer, primary_key=True),
    sa.Column("bounty_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("submission_id", sa.BigInteger, nullable=False),
    sa.Column("submitter", sa.String(42), nullable=False, index=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("decided_by", sa.String(42), nullable=False),  # the approver that reached the quorum, or the caller
    sa.Column("tx_hash", sa.String(66), nullable=False),
)

bounty_balances = sa.Table(  # awards waiting for withdraw (BountyBoard.balanceOf); no row: none
    "bounty_balances", metadata,
    sa.Column("token", sa.String(42), primary_key=True),
    sa.Column("account", sa.String(42), primary_key=True),
    sa.Column("amount", U256, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)

# Not derived from events: ERC-20 metadata the indexer reads once per token (FAB and every token with terms),
# so that people read amounts in token units. Kept across reorgs (a token's symbol and decimals do not change).
tokens = sa.Table(
    "tokens", metadata,
    sa.Column("address", sa.String(42), primary_key=True),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("decimals", sa.Integer, nullable=False),
)

DERIVED = {t.name: t for t in (jobs, job_history, disputes, taken_orders, cancelled_orders, order_counters, nodes,
                               stakes, unbond_requests, slashes, balances, fees, designs, token_terms, settings,
                               proposals, proposal_history, votes, delegations, delegates, voting_power, arbiters,
                               dispute_assignments, manifests, timelock_operations, roles, currencies, design_sales,
                               design_orders, design_cancelled_orders, design_order_counters, royalties, licence_terms,
                               licence_purchases, licence_uses, licence_balances, bounties, bounty_contributions,
                               bounty_submissions, bounty_approvals, bounty_awards, bounty_balances)}
# Append-only tables keyed by (…, block_number, log_index): a reorg deletes their rows above the ancestor.
APPEND_ONLY = {t.name: t for t in (job_history, slashes, proposal_history, votes, voting_power, dispute_assignments,
                                   design_sales, royalties, licence_purchases, bounty_awards)}
# Tables holding one row per entity (rolled back through the undo log).
STATEFUL = {name: t for name, t in DERIVED.items() if name not in APPEND_ONLY}
