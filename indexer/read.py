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
from .read_dao import DaoReads
from .read_design import DesignReads
from .schema import (balances, cancelled_orders, checkpoint, disputes, fees, job_history, jobs, nodes,
                     order_counters, settings, slashes, stakes, taken_orders, token_terms, tokens,
                     unbond_requests)

JOB_STATUSES = ("open", "claimed", "delivered", "disputed", "settled", "resolved", "cancelled", "expired")
DISPUTE_STAGES = ("awaiting_arbiter", "ruled", "appealed", "resolved")


def _addr(value: str, name: str = "address") -> str:
    v = value.lower()
    if not (v.startswith("0x") and len(v) == 42 and all(c in "0123456789abcdef" for c in v[2:])):
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
class DisputeView:
    job_id: int
    stage: str  # awaiting_arbiter, ruled (by the arbiter, or the default ruling: arbiter zero), appealed, resolved
    judge: str
    arbiter: str  # the assigned arbiter (reassigned if it left the panel); zero once the default ruling applied
    court: str | None
    deadline: int  # the current judge's rule-by, or the appeal-by once ruled
    bond: int
    refund_bps: int  # the arbiter's ruling (0 until ruled)
    slash_bps: int
    appellant: str
    appeal_bond: int
    final_refund_bps: int | None
    final_slash_bps: int | None
    resolved_by: str | None  # the judge whose ruling applied; the zero address for the default ruling
    opened_block: int
    updated_block: int


@dataclass(frozen=True)
class JobView:
    job_id: int
    status: str
    customer: str
    token: str
    node: str
    royalty_receiver: str
    amount: int
    royalty: int
    collateral: int
    bond: int
    fee_bps: int
    delivery_window: int
    review_window: int
    deadline: int
    target_node: int
    key: int
    node_id: int | None
    claim_by: int | None
    deliver_by: int | None
    review_until: int | None
    claimed_at: int | None
    hand_backs: int
    spec_cid: str
    design_id: int
    proof_cid: str | None
    reason_cid: str | None
    order_hash: str | None
    accepted: bool | None
    fee: int | None
    node_payout: int | None
    royalty_paid: int | None
    refund: int | None
    slashed: int
    compensation: int
    posted_block: int
    posted_tx: str
    updated_block: int
    history: tuple[JobEvent, ...] = field(default=())
    dispute: DisputeView | None = None

    @property
    def expected_fee(self) -> int:
        """The protocol fee a settlement pays: amount * feeBps / 10 000 (fixed at post)."""
        return self.amount * self.fee_bps // 10_000


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
class UnbondRequestView:
    amount: int
    release_at: int
    requested_block: int


@dataclass(frozen=True)
class SlashView:
    operator: str
    amount: int
    from_staked: int
    from_unbonding: int
    block_number: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class StakeView:
    operator: str
    staked: int  # bonded
    locked: int  # collateral the market holds in unfinished jobs
    unbonding: int
    unbond_at: int  # release time of the oldest pending request (0: none)
    slashed: int
    eligible: bool  # bonded stake at least the registry's minimum (when last evaluated)
    updated_block: int
    requests: tuple[UnbondRequestView, ...] = field(default=())

    @property
    def free(self) -> int:
        """Bonded stake not locked as collateral: what new claims can lock."""
        return max(0, self.staked - self.locked)


@dataclass(frozen=True)
class TakenOrderView:
    order_hash: str
    customer: str
    job_id: int
    node: str
    node_id: int
    taken_block: int
    updated_block: int


@dataclass(frozen=True)
class TokenTermsView:
    token: str
    allowed: bool
    min_collateral_rate: int
    max_collateral_rate: int
    updated_block: int


@dataclass(frozen=True)
class BalanceView:
    token: str
    account: str
    amount: int
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


class ReadModel(DaoReads, DesignReads):
    """Queries over one index database (SQLite file or PostgreSQL); the DAO's queries come from `DaoReads`, the
    design economy's (designs, sales, royalties, licences, bounties) from `DesignReads`."""

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
        found = self._rows(sa.select(disputes).where(disputes.c.job_id == job_id))
        return JobView(**rows[0], history=tuple(
            JobEvent(**{k: v for k, v in h.items() if k != "job_id"}) for h in history),
            dispute=DisputeView(**found[0]) if found else None)

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

    def slot_jobs(self, key: int) -> list[JobView]:
        """The jobs stored under storage key `key`, newest (the slot's holder) first."""
        q = sa.select(jobs).where(jobs.c.key == key).order_by(jobs.c.job_id.desc())
        return [JobView(**r) for r in self._rows(q)]

    def open_jobs_for_node(self, node_id: int, *, now: int | None = None, limit: int = 100) -> list[JobView]:
        """Open jobs node `node_id` may claim: open to any node or aimed at this one, still claimable at `now`,
        within its operator's free stake, while the operator is eligible.

        (What a job needs to be made — process, material, size — lives in its spec content off-chain; the
        node client matches that after this on-chain filter.)
        """
        node = self.node(node_id)
        stake = self.stake(node.operator)
        if not node.active or stake is None or not stake.eligible:
            return []
        free = stake.free
        now = int(time.time()) if now is None else now
        q = (sa.select(jobs).where(jobs.c.status == "open", jobs.c.deadline >= now)
             .order_by(jobs.c.job_id))
        out = [JobView(**r) for r in self._rows(q)]
        # A handed-back job still names the operator that gave it back: that operator may not claim it again.
        mine = node.operator.lower()
        return [j for j in out if j.collateral <= free and j.target_node in (0, node_id)
                and j.node.lower() != mine][:limit]

    # ------------------------------------------------------------------ disputes and orders
    def dispute(self, job_id: int) -> DisputeView:
        """The dispute of job `job_id` (kept, stage "resolved", after it ended)."""
        rows = self._rows(sa.select(disputes).where(disputes.c.job_id == job_id))
        if not rows:
            raise FabricaLookupError(f"job {job_id} has no dispute in the index")
        return DisputeView(**rows[0])

    def disputes(self, *, stage: str | None = None, judge: str | None = None, limit: int = 100,
                 offset: int = 0) -> list[DisputeView]:
        """Disputes (newest job first), optionally by stage or by the judge who rules now."""
        q = sa.select(disputes)
        if stage is not None:
            if stage not in DISPUTE_STAGES:
                raise FabricaValueError(f"stage must be one of {', '.join(DISPUTE_STAGES)}, got {stage!r}")
            q = q.where(disputes.c.stage == stage)
        if judge is not None:
            q = q.where(disputes.c.judge == _addr(judge, "judge"))
        q = q.order_by(disputes.c.job_id.desc()).limit(limit).offset(offset)
        return [DisputeView(**r) for r in self._rows(q)]

    def taken_orders(self, *, customer: str | None = None) -> list[TakenOrderView]:
        """Signed orders taken by shops (each became a job), oldest first."""
        q = sa.select(taken_orders).order_by(taken_orders.c.job_id)
        if customer is not None:
            q = q.where(taken_orders.c.customer == _addr(customer, "customer"))
        return [TakenOrderView(**r) for r in self._rows(q)]

    def cancelled_nonces(self, customer: str) -> list[int]:
        """Order nonces `customer` cancelled, ascending."""
        rows = self._rows(sa.select(cancelled_orders.c.nonce).where(
            cancelled_orders.c.customer == _addr(customer, "customer")))
        return sorted(r["nonce"] for r in rows)

    def order_counter(self, customer: str) -> int:
        """`customer`'s current order counter (orders signed with an older one are void)."""
        rows = self._rows(sa.select(order_counters.c.counter).where(
            order_counters.c.customer == _addr(customer, "customer")))
        return rows[0]["counter"] if rows else 0

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

    def _stake_views(self, where: Any = None) -> list[StakeView]:
        q, rq = sa.select(stakes).order_by(stakes.c.operator), sa.select(unbond_requests)
        if where is not None:
            q, rq = q.where(stakes.c.operator == where), rq.where(unbond_requests.c.operator == where)
        requests: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(self._rows(rq), key=lambda r: r["idx"]):
            requests.setdefault(r["operator"], []).append(r)
        return [StakeView(**{k: v for k, v in r.items() if k not in ("req_head", "req_tail")},
                          requests=tuple(UnbondRequestView(q["amount"], q["release_at"], q["requested_block"])
                                         for q in requests.get(r["operator"], ())))
                for r in self._rows(q)]

    def stake(self, operator: str) -> StakeView | None:
        """An operator's stake with its pending unbond requests, oldest first (None if it never staked)."""
        found = self._stake_views(_addr(operator, "operator"))
        return found[0] if found else None

    def stakes(self) -> list[StakeView]:
        """Every operator's stake with its pending unbond requests."""
        return self._stake_views()

    def slashes(self, operator: str | None = None) -> list[SlashView]:
        """Slashes in chain order, optionally of one operator."""
        q = sa.select(slashes).order_by(slashes.c.block_number, slashes.c.log_index)
        if operator is not None:
            q = q.where(slashes.c.operator == _addr(operator, "operator"))
        return [SlashView(**r) for r in self._rows(q)]

    # ------------------------------------------------------------------ balances and settings
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

    def token_terms(self) -> list[TokenTermsView]:
        """Payment tokens' terms (allowed, collateral rates) as governance last set them."""
        return [TokenTermsView(**r) for r in self._rows(sa.select(token_terms).order_by(token_terms.c.token))]

    def tokens(self) -> dict[str, tuple[str, int]]:
        """Symbol and decimals by token address, for the tokens the indexer read them of."""
        return {r["address"]: (r["symbol"], r["decimals"]) for r in self._rows(sa.select(tokens))}

    def settings(self) -> dict[str, Any]:
        """Governance state by name: params, arbiter, appeal_court, treasury, pending judges, owners, min_stake…"""
        return {r["name"]: r["value"] for r in self._rows(sa.select(settings)) if r["value"] is not None}
