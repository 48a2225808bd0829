"""The read API over the indexer's tables: the queries the gateway, node clients and the CLI use.

No caller writes SQL against the tables; they call these methods and get frozen dataclasses back.
Addresses are accepted in any case and returned lowercase.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from sqlalchemy.engine import Engine

from .db import make_engine
from .schema import balances, checkpoint, designs, fees, job_history, jobs, nodes, stakes

JOB_STATUSES = ("open", "claimed", "delivered", "disputed", "settled", "resolved", "cancelled", "expired")


def _addr(value: str, name: str = "address") -> str:
    v = value.lower()
    if not (v.startswith("0x") and len(v) == 42):
        raise FabricaValueError(f"{name} must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return v


@dataclass(frozen=True)
class JobEvent:
    event: str
    status: str
    block_number: int
    log_index: int
    tx_hash: str
    args: dict[str, Any]


@dataclass(frozen=True)
class JobView:
    job_id: int
    status: str
    customer: str
    token: str
    node: str
    node_id: int | None
    royalty_receiver: str
    amount: int
    royalty: int
    collateral: int
    bond: int
    fee_bps: int
    delivery_window: int
    review_window: int
    deadline: int
    spec_cid: str
    design_id: int
    proof_cid: str | None
    reason_cid: str | None
    posted_block: int
    posted_tx: str
    updated_block: int
    history: tuple[JobEvent, ...] = field(default=())


@dataclass(frozen=True)
class NodeView:
    node_id: int
    operator: str
    processes: int
    materials: int
    build_x: int
    build_y: int
    build_z: int
    encryption_key: str
    metadata_cid: str
    active: bool
    registered_block: int
    updated_block: int


@dataclass(frozen=True)
class StakeView:
    operator: str
    staked: int
    locked: int
    unbonding: int
    unbond_at: int
    slashed: int
    updated_block: int

    @property
    def free(self) -> int:
        return self.staked - self.locked


@dataclass(frozen=True)
class BalanceView:
    token: str
    account: str
    amount: int
    updated_block: int


@dataclass(frozen=True)
class DesignView:
    token_id: int
    owner: str
    minter: str
    cid: str
    royalty_bps: int
    minted_block: int
    updated_block: int


@dataclass(frozen=True)
class IndexStatus:
    chain_id: int
    market: str
    block_number: int
    block_hash: str
    reorgs: int
    rows_written: int
    updated_at: float


class ReadModel:
    """Queries over one index database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine | str) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine

    def _rows(self, query: sa.Select) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------------ status
    def status(self) -> IndexStatus | None:
        """Where the index stands (None before the first sync)."""
        rows = self._rows(sa.select(checkpoint).where(checkpoint.c.id == 1))
        return IndexStatus(**{k: v for k, v in rows[0].items() if k != "id"}) if rows else None

    # ------------------------------------------------------------------ jobs
    def job(self, job_id: int) -> JobView:
        """Job `job_id` with its full event history."""
        rows = self._rows(sa.select(jobs).where(jobs.c.job_id == job_id))
        if not rows:
            raise FabricaLookupError(f"no job {job_id} in the index")
        history = self._rows(sa.select(job_history).where(job_history.c.job_id == job_id)
                             .order_by(job_history.c.block_number, job_history.c.log_index))
        return JobView(**rows[0], history=tuple(
            JobEvent(**{k: v for k, v in h.items() if k != "job_id"}) for h in history))

    def jobs(self, *, status: str | None = None, customer: str | None = None, node: str | None = None,
             limit: int = 100, offset: int = 0) -> list[JobView]:
        """Jobs (newest first), optionally filtered by status, customer or claiming operator."""
        q = sa.select(jobs)
        if status is not None:
            if status not in JOB_STATUSES:
                raise FabricaValueError(f"status must be one of {', '.join(JOB_STATUSES)}, got {status!r}")
            q = q.where(jobs.c.status == status)
        if customer is not None:
            q = q.where(jobs.c.customer == _addr(customer, "customer"))
        if node is not None:
            q = q.where(jobs.c.node == _addr(node, "node"))
        q = q.order_by(jobs.c.job_id.desc()).limit(limit).offset(offset)
        return [JobView(**r) for r in self._rows(q)]

    def customer_jobs(self, customer: str, *, limit: int = 100, offset: int = 0) -> list[JobView]:
        """A customer's jobs, newest first."""
        return self.jobs(customer=customer, limit=limit, offset=offset)

    def open_jobs_for_node(self, node_id: int, *, now: int | None = None, limit: int = 100) -> list[JobView]:
        """Open jobs node `node_id` may claim: still claimable at `now` and within its operator's free stake.

        (What a job needs to be made — process, material, size — lives in its spec content off-chain; the
        node client matches that after this on-chain filter.)
        """
        node = self.node(node_id)
        if not node.active:
            return []
        stake = self.stake(node.operator)
        free = stake.free if stake else 0
        now = int(time.time()) if now is None else now
        q = (sa.select(jobs).where(jobs.c.status == "open", jobs.c.deadline >= now)
             .order_by(jobs.c.job_id))
        out = [JobView(**r) for r in self._rows(q)]
        return [j for j in out if j.collateral <= free][:limit]

    # ------------------------------------------------------------------ nodes and stakes
    def node(self, node_id: int) -> NodeView:
        rows = self._rows(sa.select(nodes).where(nodes.c.node_id == node_id))
        if not rows:
            raise FabricaLookupError(f"no node {node_id} in the index")
        return NodeView(**rows[0])

    def nodes(self, *, operator: str | None = None, active: bool | None = None) -> list[NodeView]:
        q = sa.select(nodes).order_by(nodes.c.node_id)
        if operator is not None:
            q = q.where(nodes.c.operator == _addr(operator, "operator"))
        if active is not None:
            q = q.where(nodes.c.active == active)
        return [NodeView(**r) for r in self._rows(q)]

    def stake(self, operator: str) -> StakeView | None:
        rows = self._rows(sa.select(stakes).where(stakes.c.operator == _addr(operator, "operator")))
        return StakeView(**rows[0]) if rows else None

    def stakes(self) -> list[StakeView]:
        return [StakeView(**r) for r in self._rows(sa.select(stakes).order_by(stakes.c.operator))]

    # ------------------------------------------------------------------ balances and designs
    def balance(self, token: str, account: str) -> int:
        """Market balance of `account` in `token` (0 when none)."""
        rows = self._rows(sa.select(balances.c.amount).where(
            balances.c.token == _addr(token, "token"), balances.c.account == _addr(account, "account")))
        return rows[0]["amount"] if rows else 0

    def balances(self, *, account: str | None = None, token: str | None = None) -> list[BalanceView]:
        q = sa.select(balances).order_by(balances.c.token, balances.c.account)
        if account is not None:
            q = q.where(balances.c.account == _addr(account, "account"))
        if token is not None:
            q = q.where(balances.c.token == _addr(token, "token"))
        return [BalanceView(**r) for r in self._rows(q)]

    def fees(self) -> dict[str, int]:
        """Protocol fees accrued per token."""
        return {r["token"]: r["amount"] for r in self._rows(sa.select(fees))}

    def design(self, token_id: int) -> DesignView:
        rows = self._rows(sa.select(designs).where(designs.c.token_id == token_id))
        if not rows:
            raise FabricaLookupError(f"no design {token_id} in the index")
        return DesignView(**rows[0])

    def designs(self, *, owner: str | None = None) -> list[DesignView]:
        q = sa.select(designs).order_by(designs.c.token_id)
        if owner is not None:
            q = q.where(designs.c.owner == _addr(owner, "owner"))
        return [DesignView(**r) for r in self._rows(q)]
