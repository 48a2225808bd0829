"""The derived read model: decoded events folded into jobs and their history, disputes and their arbiter
assignments, orders, nodes, stakes with their unbond requests and slashes, balances, fees, token terms,
settings, the DAO: proposals (history, tallies, votes), delegations and voting power over time, the arbiter
panel, manifest versions, timelock operations and roles; and the design economy (`derive_design`): designs,
design-market sales and orders, royalties paid, fabrication licences and bounties.

`Deriver` applies a batch of events in chain order on one connection, reading each touched row once,
writing every changed row back in bulk, and recording each row's pre-image (per block) in `undo_log`
for blocks in the unfinalized window, so a reorg can restore the state at the common ancestor without
refetching or replaying history. `rebuild` re-derives every table from the stored raw events.

The rules mirror the contracts (contracts/src/JobMarket.sol, market/JobMarketModule.sol, NodeRegistry.sol,
governance/*.sol with OpenZeppelin's Governor, Votes and TimelockController):
each job row holds the job's current struct, so `statusOf(jobId, job)` can be asked of it; payouts the
events do not carry (JobSettled) are computed from that struct exactly as the market computes them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.types import unpack_job

from .derive_design import DesignDeriving, cid_text
from .schema import APPEND_ONLY, DERIVED, STATEFUL, events, undo_log

BPS = 10_000
ZERO = "0x" + "00" * 20
# The status a job is in after each of its events (dispute steps keep it Disputed).
JOB_EVENTS = {
    "JobPosted": "open", "OrderTaken": "claimed", "JobClaimed": "claimed", "JobHandedBack": "open",
    "JobDelivered": "delivered", "JobDisputed": "disputed", "DisputeRuled": "disputed",
    "DisputeAppealed": "disputed", "JobSettled": "settled", "JobResolved": "resolved", "JobCancelled": "cancelled",
    "JobExpired": "expired",
}
# The lifecycle status a proposal is in after each of its events (votes and extensions keep it).
PROPOSAL_EVENTS = {"ProposalCreated": "created", "ProposalQueued": "queued", "ProposalExecuted": "executed",
                   "ProposalCanceled": "canceled"}
# Where votes come from: FAB held (FabToken) and FAB staked (NodeRegistry), both OpenZeppelin Votes.
VOTE_SOURCES = {"FabToken": "fab", "NodeRegistry": "stake"}
# Governor settings events -> (setting name, argument holding the new value).
GOVERNOR_SETTINGS = {"VotingDelaySet": ("voting_delay", "newVotingDelay"),
                     "VotingPeriodSet": ("voting_period", "newVotingPeriod"),
                     "ProposalThresholdSet": ("proposal_threshold", "newProposalThreshold"),
                     "QuorumNumeratorUpdated": ("quorum_numerator", "newQuorumNumerator"),
                     "LateQuorumVoteExtensionSet": ("vote_extension", "newVoteExtension"),
                     "TimelockChange": ("timelock", "newTimelock")}
BlockTimes = Callable[[dict[int, str]], dict[int, int]]  # {block number: hash} -> {block number: timestamp}


_cid = cid_text


def _pk(table: sa.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


PKS = {name: _pk(t) for name, t in STATEFUL.items()}



def _job(packed: bytes | str) -> dict[str, Any]:
    """A job struct from an event's packed `job` (JobLib.pack), addresses lower-case as the index keeps them."""
    return {k: v.lower() if isinstance(v, str) else v for k, v in unpack_job(packed).items()}

class Deriver(DesignDeriving):
    """Applies events to the derived tables through a per-batch row cache.

    `fab` is the FAB token's address (lowercase): slashes are credited (compensation) and accrue as fees in it.
    `block_times` gives the timestamps of blocks whose events record one (voting power over time: the votes'
    clock is the block time); without it they are recorded as None.
    """

    def __init__(self, conn: sa.Connection, undo_floor: int, fab: str, block_times: BlockTimes | None = None) -> None:
        self.conn = conn
        self.undo_floor = undo_floor  # blocks >= this get undo records
        self.fab = fab.lower()
        self.cache: dict[tuple[str, tuple], dict[str, Any] | None] = {}
        self.dirty: set[tuple[str, tuple]] = set()
        self.captured: set[tuple[int, str, tuple]] = set()
        self.undo: list[dict[str, Any]] = []
        self.appended: dict[str, list[dict[str, Any]]] = {name: [] for name in APPEND_ONLY}
        self.block_times = block_times
        self.times: dict[int, int] = {}
        self.block = 0

    # ---------------------------------------------------------------- row access
    def _get(self, tbl: str, key: tuple) -> dict[str, Any] | None:
        ck = (tbl, key)
        if ck not in self.cache:
            t = STATEFUL[tbl]
            cond = sa.and_(*(t.c[k] == v for k, v in zip(PKS[tbl], key)))
            row = self.conn.execute(sa.select(t).where(cond)).mappings().first()
            self.cache[ck] = dict(row) if row is not None else None
        return self.cache[ck]

    def _put(self, tbl: str, key: tuple, row: dict[str, Any] | None) -> None:
        ck = (tbl, key)
        if ck not in self.cache:
            self._get(tbl, key)
        if self.block >= self.undo_floor and (self.block, tbl, key) not in self.captured:
            self.captured.add((self.block, tbl, key))
            old = self.cache[ck]
            self.undo.append({"block_number": self.block, "tbl": tbl, "key": list(key),
                              "row": dict(old) if old is not None else None})
        self.cache[ck] = row
        self.dirty.add(ck)

    def _update(self, tbl: str, key: tuple, **changes: Any) -> None:
        row = self._get(tbl, key)
        if row is None:
            return
        self._put(tbl, key, {**row, **changes, "updated_block": self.block})

    def _credit(self, token: str, account: str, amount: int) -> None:
        if amount == 0:
            return
        row = self._get("balances", (token, account))
        cur = row["amount"] if row else 0
        self._put("balances", (token, account),
                  {"token": token, "account": account, "amount": cur + amount, "updated_block": self.block})

    def _debit(self, token: str, account: str, amount: int) -> None:
        """The market takes `amount` from the deposit first and pulls only the shortfall from the wallet."""
        row = self._get("balances", (token, account))
        if row is None or amount == 0 or row["amount"] == 0:
            return
        self._put("balances", (token, account), {**row, "amount": max(0, row["amount"] - amount),
                                                 "updated_block": self.block})

    def _fee(self, token: str, amount: int) -> None:
        if amount == 0:
            return
        row = self._get("fees", (token,))
        self._put("fees", (token,), {"token": token, "amount": (row["amount"] if row else 0) + amount,
                                     "updated_block": self.block})

    def _slash_split(self, customer: str, slashed: int, compensation: int) -> None:
        """A slash moved FAB into the market: the customer's compensation is credited, the rest is the treasury's."""
        self._credit(self.fab, customer, compensation)
        self._fee(self.fab, slashed - compensation)

    def _setting(self, name: str, value: Any) -> None:
        self._put("settings", (name,), {"name": name, "value": value, "updated_block": self.block})

    # ---------------------------------------------------------------- stakes
    def _stake(self, operator: str) -> dict[str, Any]:
        row = self._get("stakes", (operator,))
        return dict(row) if row else {"operator": operator, "staked": 0, "locked": 0, "unbonding": 0,
                                      "unbond_at": 0, "slashed": 0, "eligible": False, "req_head": 0,
                                      "req_tail": 0, "updated_block": self.block}

    def _set_stake(self, operator: str, **changes: Any) -> None:
        row = self._stake(operator)
        row.update(changes, updated_block=self.block)
        if row["req_tail"] > row["req_head"]:
            oldest = self._get("unbond_requests", (operator, row["req_head"]))
            row["unbond_at"] = oldest["release_at"] if oldest else 0
        else:
            row["unbond_at"] = 0
        self._put("stakes", (operator,), row)

    def _lock(self, operator: str, amount: int) -> None:
        self._set_stake(operator, locked=self._stake(operator)["locked"] + amount)

    def _unlock(self, operator: str, amount: int) -> None:
        self._set_stake(operator, locked=max(0, self._stake(operator)["locked"] - amount))

    # ---------------------------------------------------------------- events
    def apply(self, evs: Iterable[dict[str, Any]]) -> None:
        """Apply decoded events (dicts with block_number, log_index, tx_hash, contract, name, args) in order."""
        handlers = _HANDLERS
        evs = list(evs)
        self._learn_times(evs)
        for e in evs:
            handler = handlers.get((e["contract"], e["name"]))
            if handler is not None:
                self.block = e["block_number"]
                handler(self, e, e["args"])

    def _job_event(self, e: dict[str, Any], a: dict[str, Any], **changes: Any) -> dict[str, Any] | None:
        """Moves job `a.jobId` to the status its event implies, applying `changes`; returns the row before."""
        jid = a["jobId"]
        job = self._get("jobs", (jid,))
        if job is None:
            return None  # posted before the deployment's first indexed block
        status = JOB_EVENTS[e["name"]]
        self._put("jobs", (jid,), {**job, **changes, "status": status, "updated_block": self.block})
        self._history(e, jid, status)
        return job

    def _learn_times(self, evs: list[dict[str, Any]]) -> None:
        """Timestamps of the blocks holding events that record one (asked for once per block)."""
        if self.block_times is None:
            return
        wanted = {e["block_number"]: e.get("block_hash") for e in evs
                  if e["name"] in TIMED and e["block_number"] not in self.times}
        if wanted:
            self.times.update(self.block_times(wanted))

    def _append(self, tbl: str, row: dict[str, Any]) -> None:
        self.appended[tbl].append(row)

    def _history(self, e: dict[str, Any], jid: int, status: str) -> None:
        self._append("job_history", {"job_id": jid, "block_number": e["block_number"], "log_index": e["log_index"],
                             "event": e["name"], "status": status, "tx_hash": e["tx_hash"], "args": e["args"]})

    def _new_job(self, e: dict[str, Any], a: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
        j = _job(a["job"])
        row = {
            "job_id": a["jobId"], "status": status, "customer": j["customer"], "token": j["token"],
            "node": j["node"], "royalty_receiver": j["royaltyReceiver"], "amount": j["amount"],
            "royalty": j["royalty"], "collateral": j["collateral"], "bond": j["bond"], "fee_bps": j["feeBps"],
            "delivery_window": j["deliveryWindow"], "review_window": j["reviewWindow"], "deadline": j["deadline"],
            "target_node": j["targetNode"], "key": j["key"], "node_id": None, "claim_by": None, "deliver_by": None,
            "review_until": None, "claimed_at": None, "hand_backs": 0, "spec_cid": _cid(a["specCid"]),
            "design_id": a["designId"], "proof_cid": None, "reason_cid": None, "order_hash": None,
            "accepted": None, "fee": None, "node_payout": None, "royalty_paid": None, "refund": None,
            "slashed": 0, "compensation": 0, "posted_block": self.block, "posted_tx": e["tx_hash"],
            "updated_block": self.block, **extra,
        }
        self._put("jobs", (a["jobId"],), row)
        self._history(e, a["jobId"], status)
        return row

    def _on_JobMarket_JobPosted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        row = self._new_job(e, a, "open", claim_by=_job(a["job"])["deadline"])
        self._debit(row["token"], row["customer"], row["amount"])

    def _on_JobMarket_OrderTaken(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        j = _job(a["job"])
        # The job starts claimed: its deadline is the deliver-by, set one delivery window after the claim.
        row = self._new_job(e, a, "claimed", node_id=a["nodeId"], deliver_by=j["deadline"],
                            claimed_at=j["deadline"] - j["deliveryWindow"], order_hash=a["orderHash"])
        self._put("taken_orders", (a["orderHash"],), {
            "order_hash": a["orderHash"], "customer": a["customer"], "job_id": a["jobId"], "node": a["node"],
            "node_id": a["nodeId"], "taken_block": self.block, "updated_block": self.block})
        self._lock(row["node"], row["collateral"])
        self._debit(row["token"], row["customer"], row["amount"])

    def _on_JobMarket_JobClaimed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._get("jobs", (a["jobId"],))
        if job is None:
            return
        self._job_event(e, a, node=a["node"], node_id=a["nodeId"], deadline=a["deliverBy"],
                        deliver_by=a["deliverBy"], claimed_at=a["deliverBy"] - job["delivery_window"])
        self._lock(a["node"], job["collateral"])

    def _on_JobMarket_JobHandedBack(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._get("jobs", (a["jobId"],))
        if job is None:
            return
        # The re-opened job keeps naming the operator that handed it back (it may not claim it again).
        self._job_event(e, a, node=a["node"], node_id=None, deadline=a["claimBy"], claim_by=a["claimBy"],
                        deliver_by=None, claimed_at=None, hand_backs=job["hand_backs"] + 1,
                        slashed=job["slashed"] + a["penalty"], compensation=job["compensation"] + a["compensation"])
        self._unlock(a["node"], job["collateral"])
        self._slash_split(job["customer"], a["penalty"], a["compensation"])

    def _on_JobMarket_JobDelivered(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._job_event(e, a, deadline=a["reviewUntil"], review_until=a["reviewUntil"], proof_cid=_cid(a["proofCid"]))

    def _on_JobMarket_JobSettled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._get("jobs", (a["jobId"],))
        if job is None:
            return
        # JobSettled carries no amounts: the market pays exactly this, from the job's own terms.
        fee = job["amount"] * job["fee_bps"] // BPS
        payout = job["amount"] - fee - job["royalty"]
        self._job_event(e, a, accepted=a["accepted"], fee=fee, node_payout=payout, royalty_paid=job["royalty"])
        self._credit(job["token"], job["node"], payout)
        self._credit(job["token"], job["royalty_receiver"], job["royalty"])
        self._job_royalty(e, job, job["royalty"])
        self._fee(job["token"], fee)
        self._unlock(job["node"], job["collateral"])

    def _job_royalty(self, e: dict[str, Any], job: dict[str, Any], amount: int) -> None:
        """A settled or resolved job credited its design's royalty (none for a job that used a licence)."""
        if amount:
            self._royalty(e, "job", job["design_id"], job["royalty_receiver"], job["token"], amount,
                          job_id=job["job_id"])

    def _on_JobMarket_JobCancelled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a, refund=a["refund"])
        if job is not None:
            self._credit(job["token"], job["customer"], a["refund"])

    def _on_JobMarket_JobExpired(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._get("jobs", (a["jobId"],))
        if job is None:
            return
        self._job_event(e, a, refund=a["refund"], slashed=job["slashed"] + a["slashed"],
                        compensation=job["compensation"] + a["compensation"])
        self._credit(job["token"], job["customer"], a["refund"])
        self._unlock(job["node"], job["collateral"])
        self._slash_split(job["customer"], a["slashed"], a["compensation"])

    # ---------------------------------------------------------------- disputes
    def _on_JobMarket_JobDisputed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a, reason_cid=_cid(a["reasonCid"]))
        if job is None:
            return
        self._put("disputes", (a["jobId"],), {
            "job_id": a["jobId"], "stage": "awaiting_arbiter", "judge": a["arbiter"], "arbiter": a["arbiter"],
            "court": None, "deadline": a["ruleBy"], "bond": a["bond"], "refund_bps": 0, "slash_bps": 0,
            "appellant": ZERO, "appeal_bond": 0, "final_refund_bps": None, "final_slash_bps": None,
            "resolved_by": None, "opened_block": self.block, "updated_block": self.block})
        self._assignment(e, a["jobId"], "assigned", None, a["arbiter"], a["ruleBy"])
        self._debit(job["token"], job["customer"], a["bond"])

    def _assignment(self, e: dict[str, Any], jid: int, kind: str, previous: str | None, arbiter: str,
                    rule_by: int) -> None:
        self._append("dispute_assignments", {
            "block_number": e["block_number"], "log_index": e["log_index"], "job_id": jid, "kind": kind,
            "previous": previous, "arbiter": arbiter, "rule_by": rule_by, "tx_hash": e["tx_hash"]})

    def _on_JobMarket_DisputeReassigned(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        # The assigned arbiter left the panel before ruling: a new one, with a fresh rule-by.
        if self._get("disputes", (a["jobId"],)) is None:
            return
        self._update("disputes", (a["jobId"],), judge=a["arbiter"], arbiter=a["arbiter"], deadline=a["ruleBy"])
        self._assignment(e, a["jobId"], "reassigned", a["previous"], a["arbiter"], a["ruleBy"])

    def _on_JobMarket_DisputeRuled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        if self._job_event(e, a) is None:
            return
        changes = {}
        if a["arbiter"] == ZERO:  # the default ruling after the arbiter's silence: the market forgets the arbiter
            changes["arbiter"] = ZERO
        self._update("disputes", (a["jobId"],), stage="ruled", refund_bps=a["refundBps"],
                     slash_bps=a["slashBps"], deadline=a["appealBy"], **changes)

    def _on_JobMarket_DisputeAppealed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a)
        if job is None:
            return
        self._update("disputes", (a["jobId"],), stage="appealed", judge=a["court"], court=a["court"],
                     appellant=a["appellant"], appeal_bond=a["bond"], deadline=a["ruleBy"])
        self._debit(job["token"], a["appellant"], a["bond"])

    def _settle_appeal_bond(self, job: dict[str, Any], d: dict[str, Any], a: dict[str, Any]) -> None:
        """Pay out an appellant's bond as the market does just before `JobResolved`.

        The court ruled (`by` is the court): back to an appellant that won something; a lost bond pays the fee of
        the arbiter whose ruling stood (none after a default ruling), the rest goes to the fees. The court stayed
        silent (`finalize`, `by` is the dispute's arbiter, zero after a default ruling): back to the appellant.
        When the court is the arbiter's own address the event cannot tell the two apart; the ruling is then
        taken as the court's.
        """
        appellant = d["appellant"]
        if d["stage"] != "appealed" or appellant == ZERO:
            return
        token, bond = job["token"], job["bond"]
        if a["by"] != d["judge"]:
            self._credit(token, appellant, bond)
            return
        refund, slash = a["refundBps"], a["slashBps"]
        if appellant == job["customer"]:
            won = refund > d["refund_bps"] or (refund == d["refund_bps"] and slash > d["slash_bps"])
        else:
            won = refund < d["refund_bps"] or (refund == d["refund_bps"] and slash < d["slash_bps"])
        if won:
            self._credit(token, appellant, bond)
            return
        params = (self._get("settings", ("params",)) or {"value": {}})["value"]
        fee = bond * params.get("arbiterFeeBps", 0) // BPS if d["arbiter"] != ZERO else 0
        self._credit(token, d["arbiter"], fee)
        self._fee(token, bond - fee)

    def _on_JobMarket_JobResolved(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._get("jobs", (a["jobId"],))
        if job is None:
            return
        d = self._get("disputes", (a["jobId"],))
        if d is not None:
            self._settle_appeal_bond(job, d, a)
            self._update("disputes", (a["jobId"],), stage="resolved", final_refund_bps=a["refundBps"],
                         final_slash_bps=a["slashBps"], resolved_by=a["by"])
        self._job_event(e, a, refund=a["customerRefund"], node_payout=a["nodePayout"], fee=a["fee"],
                        royalty_paid=a["royalty"], slashed=job["slashed"] + a["slashed"],
                        compensation=job["compensation"] + a["compensation"])
        # The customer's dispute bond goes back when it wins at least half, else to the node.
        wins = a["refundBps"] * 2 >= BPS
        self._credit(job["token"], job["customer"], a["customerRefund"] + (job["bond"] if wins else 0))
        self._credit(job["token"], job["node"], a["nodePayout"] + (0 if wins else job["bond"]))
        self._credit(job["token"], job["royalty_receiver"], a["royalty"])
        self._job_royalty(e, job, a["royalty"])
        self._fee(job["token"], a["fee"])
        self._unlock(job["node"], job["collateral"])
        self._slash_split(job["customer"], a["slashed"], a["compensation"])

    # ---------------------------------------------------------------- market balances, orders, governance
    def _on_JobMarket_Deposited(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._credit(a["token"], a["account"], a["amount"])

    def _on_JobMarket_Withdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("balances", (a["token"], a["account"]), amount=0)

    def _on_JobMarket_FeesWithdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("fees", (a["token"],), amount=0)

    def _on_JobMarket_OrderCancelled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("cancelled_orders", (a["customer"], a["nonce"]), {
            "customer": a["customer"], "nonce": a["nonce"], "cancelled_block": self.block,
            "updated_block": self.block})

    def _on_JobMarket_OrderCounterIncremented(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("order_counters", (a["customer"],), {"customer": a["customer"], "counter": a["counter"],
                                                       "updated_block": self.block})

    def _on_JobMarket_TokenTermsSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        t = a["terms"]
        self._put("token_terms", (a["token"],), {
            "token": a["token"], "allowed": t["allowed"], "min_collateral_rate": t["minCollateralRate"],
            "max_collateral_rate": t["maxCollateralRate"], "updated_block": self.block})

    def _on_JobMarket_ParamsSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("params", a["params"])

    def _on_JobMarket_TreasurySet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("treasury", a["treasury"])

    def _on_JobMarket_ArbiterProposed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("pending_arbiter", {"address": a["arbiter"], "effective_at": a["effectiveAt"]})

    def _on_JobMarket_ArbiterSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("arbiter", a["arbiter"])
        self._setting("pending_arbiter", None)  # activation clears the proposal

    def _on_JobMarket_AppealCourtProposed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("pending_appeal_court", {"address": a["court"], "effective_at": a["effectiveAt"]})

    def _on_JobMarket_AppealCourtSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("appeal_court", a["court"])
        self._setting("pending_appeal_court", None)

    def _on_JobMarket_OwnershipTransferStarted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("JobMarket.pending_owner", a["newOwner"])

    def _on_JobMarket_OwnershipTransferred(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("JobMarket.owner", a["newOwner"])
        self._setting("JobMarket.pending_owner", None)

    def _on_NodeRegistry_OwnershipTransferStarted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("NodeRegistry.pending_owner", a["newOwner"])

    def _on_NodeRegistry_OwnershipTransferred(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("NodeRegistry.owner", a["newOwner"])
        self._setting("NodeRegistry.pending_owner", None)

    def _on_JobMarket_PausedSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("paused", a["paused"])
        self._setting("paused_by", a["by"])

    def _on_JobMarket_GuardianSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("guardian", a["guardian"])

    def _on_NodeRegistry_MinStakeSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("min_stake", a["minStake"])

    def _on_NodeRegistry_UnbondDelaySet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("unbond_delay", a["unbondDelay"])

    # ---------------------------------------------------------------- registry: stake
    def _on_NodeRegistry_Staked(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._set_stake(a["operator"], staked=a["staked"])

    def _on_NodeRegistry_UnbondRequested(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        op = a["operator"]
        s = self._stake(op)
        idx = s["req_tail"]
        self._put("unbond_requests", (op, idx), {
            "operator": op, "idx": idx, "amount": a["amount"], "release_at": a["unbondAt"],
            "requested_block": self.block, "updated_block": self.block})
        self._set_stake(op, staked=a["staked"], unbonding=a["unbonding"], req_tail=idx + 1)

    def _on_NodeRegistry_Withdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        # The registry pays whole requests, oldest first, until it has paid `amount`.
        op = a["operator"]
        s = self._stake(op)
        head, left = s["req_head"], a["amount"]
        while left > 0 and head < s["req_tail"]:
            r = self._get("unbond_requests", (op, head))
            left -= r["amount"] if r else 0
            self._put("unbond_requests", (op, head), None)
            head += 1
        self._set_stake(op, unbonding=a["unbonding"], req_head=head)

    def _on_NodeRegistry_Slashed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        # Bonded stake pays first, then the newest unbond requests (a request slashed to zero is dropped).
        op = a["operator"]
        s = self._stake(op)
        from_staked = s["staked"] - a["staked"]
        rest = a["amount"] - from_staked
        tail = s["req_tail"]
        while rest > 0 and tail > s["req_head"]:
            r = self._get("unbond_requests", (op, tail - 1))
            have = r["amount"] if r else 0
            take = min(rest, have)
            rest -= take
            if take == have:
                self._put("unbond_requests", (op, tail - 1), None)
                tail -= 1
            else:
                self._put("unbond_requests", (op, tail - 1), {**r, "amount": have - take, "updated_block": self.block})
        self._set_stake(op, staked=a["staked"], unbonding=a["unbonding"], req_tail=tail,
                        slashed=s["slashed"] + a["amount"])
        self._append("slashes", {"block_number": e["block_number"], "log_index": e["log_index"], "operator": op,
                             "tx_hash": e["tx_hash"], "amount": a["amount"], "from_staked": from_staked,
                             "from_unbonding": a["amount"] - from_staked})

    def _on_NodeRegistry_EligibilitySet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._set_stake(a["operator"], eligible=a["eligible"])

    # ---------------------------------------------------------------- registry: nodes
    def _node_row(self, a: dict[str, Any], registered: int, active: bool) -> dict[str, Any]:
        return {"node_id": a["nodeId"], "operator": a["operator"], "processes": a["processes"],
                "materials": a["materials"], "build_x": a["buildX"], "build_y": a["buildY"],
                "build_z": a["buildZ"], "encryption_key": a["encryptionKey"],
                "metadata_cid": _cid(a["metadataCid"]), "active": active, "registered_block": registered,
                "updated_block": self.block}

    def _on_NodeRegistry_NodeRegistered(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("nodes", (a["nodeId"],), self._node_row(a, self.block, True))

    def _on_NodeRegistry_NodeUpdated(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        old = self._get("nodes", (a["nodeId"],))
        if old is not None:
            self._put("nodes", (a["nodeId"],), self._node_row(a, old["registered_block"], old["active"]))

    def _on_NodeRegistry_NodeActiveSet(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("nodes", (a["nodeId"],), active=a["active"])

    # ---------------------------------------------------------------- DAO: proposals and votes
    def _proposal_event(self, e: dict[str, Any], a: dict[str, Any], **changes: Any) -> None:
        pid = a["proposalId"]
        row = self._get("proposals", (pid,))
        if row is None:
            return  # created before the first indexed block
        status = PROPOSAL_EVENTS.get(e["name"], row["status"])
        self._put("proposals", (pid,), {**row, **changes, "status": status, "updated_block": self.block})
        self._proposal_history(e, pid, status)

    def _proposal_history(self, e: dict[str, Any], pid: int, status: str) -> None:
        self._append("proposal_history", {"proposal_id": pid, "block_number": e["block_number"],
                                          "log_index": e["log_index"], "event": e["name"], "status": status,
                                          "tx_hash": e["tx_hash"]})

    def _on_FabGovernor_ProposalCreated(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        pid = a["proposalId"]
        self._put("proposals", (pid,), {
            "proposal_id": pid, "proposer": a["proposer"], "targets": a["targets"], "call_values": a["values"],
            "calldatas": a["calldatas"], "description": a["description"], "snapshot": a["voteStart"],
            "deadline": a["voteEnd"], "extended": False, "eta": None, "status": "created", "for_votes": 0,
            "against_votes": 0, "abstain_votes": 0, "created_block": self.block, "created_tx": e["tx_hash"],
            "updated_block": self.block})
        self._proposal_history(e, pid, "created")

    def _on_FabGovernor_ProposalQueued(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._proposal_event(e, a, eta=a["etaSeconds"])

    def _on_FabGovernor_ProposalExecuted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._proposal_event(e, a)

    def _on_FabGovernor_ProposalCanceled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._proposal_event(e, a)

    def _on_FabGovernor_ProposalExtended(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        # Late-quorum protection moved the end of the vote.
        self._proposal_event(e, a, deadline=a["extendedDeadline"], extended=True)

    def _vote(self, e: dict[str, Any], a: dict[str, Any], params: str | None) -> None:
        row = self._get("proposals", (a["proposalId"],))
        column = ("against_votes", "for_votes", "abstain_votes")[a["support"]]
        if row is not None:  # simple counting: the whole weight goes to the chosen side
            self._put("proposals", (a["proposalId"],), {**row, column: row[column] + a["weight"],
                                                         "updated_block": self.block})
        self._append("votes", {"block_number": e["block_number"], "log_index": e["log_index"],
                               "proposal_id": a["proposalId"], "voter": a["voter"], "support": a["support"],
                               "weight": a["weight"], "reason": a["reason"], "params": params,
                               "tx_hash": e["tx_hash"]})

    def _on_FabGovernor_VoteCast(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._vote(e, a, None)

    def _on_FabGovernor_VoteCastWithParams(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._vote(e, a, a["params"])

    def _governor_setting(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        name, arg = GOVERNOR_SETTINGS[e["name"]]
        self._setting(f"governor.{name}", a[arg])

    _on_FabGovernor_VotingDelaySet = _governor_setting
    _on_FabGovernor_VotingPeriodSet = _governor_setting
    _on_FabGovernor_ProposalThresholdSet = _governor_setting
    _on_FabGovernor_QuorumNumeratorUpdated = _governor_setting
    _on_FabGovernor_LateQuorumVoteExtensionSet = _governor_setting
    _on_FabGovernor_TimelockChange = _governor_setting

    # ---------------------------------------------------------------- DAO: votes, delegation
    def _delegate_changed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        source = VOTE_SOURCES[e["contract"]]
        self._put("delegations", (source, a["delegator"]), {
            "source": source, "delegator": a["delegator"], "delegate": a["toDelegate"], "updated_block": self.block})

    def _delegate_votes_changed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        source = VOTE_SOURCES[e["contract"]]
        self._put("delegates", (source, a["delegate"]), {
            "source": source, "delegate": a["delegate"], "votes": a["newVotes"], "updated_block": self.block})
        self._append("voting_power", {
            "block_number": e["block_number"], "log_index": e["log_index"], "source": source,
            "delegate": a["delegate"], "timestamp": self.times.get(self.block), "previous_votes": a["previousVotes"],
            "new_votes": a["newVotes"]})

    _on_FabToken_DelegateChanged = _delegate_changed
    _on_NodeRegistry_DelegateChanged = _delegate_changed
    _on_FabToken_DelegateVotesChanged = _delegate_votes_changed
    _on_NodeRegistry_DelegateVotesChanged = _delegate_votes_changed

    # ---------------------------------------------------------------- DAO: panel, manifests, timelock
    def _on_ArbiterPanel_ArbiterAppointed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("arbiters", (a["arbiter"],), {"arbiter": a["arbiter"], "active": True,
                                                "appointed_block": self.block, "removed_block": None,
                                                "updated_block": self.block})

    def _on_ArbiterPanel_ArbiterRemoved(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("arbiters", (a["arbiter"],), active=False, removed_block=self.block)

    def _on_ManifestRegistry_ManifestPublished(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("manifests", (a["version"],), {"version": a["version"], "cid": _cid(a["cid"]),
                                                 "published_block": self.block, "tx_hash": e["tx_hash"],
                                                 "updated_block": self.block})

    def _on_FabTimelock_CallScheduled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        # One event per call of a batch, in index order.
        row = self._get("timelock_operations", (a["id"],))
        calls = list(row["calls"]) if row and row["status"] == "scheduled" else []
        calls.append({"target": a["target"], "value": a["value"], "data": a["data"]})
        self._put("timelock_operations", (a["id"],), {
            "operation_id": a["id"], "calls": calls, "predecessor": a["predecessor"], "delay": a["delay"],
            "status": "scheduled", "scheduled_block": self.block, "updated_block": self.block})

    def _on_FabTimelock_CallExecuted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("timelock_operations", (a["id"],), status="executed")

    def _on_FabTimelock_Cancelled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("timelock_operations", (a["id"],), status="cancelled")

    def _on_FabTimelock_MinDelayChange(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting("timelock.min_delay", a["newDuration"])

    def _on_FabTimelock_RoleGranted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        key = ("FabTimelock", a["role"], a["account"])
        self._put("roles", key, {"contract": "FabTimelock", "role": a["role"], "account": a["account"],
                                 "granted_by": a["sender"], "updated_block": self.block})

    def _on_FabTimelock_RoleRevoked(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("roles", ("FabTimelock", a["role"], a["account"]), None)

    def _ownership_started(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting(f"{e['contract']}.pending_owner", a["newOwner"])

    def _ownership_transferred(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._setting(f"{e['contract']}.owner", a["newOwner"])
        self._setting(f"{e['contract']}.pending_owner", None)

    _on_ArbiterPanel_OwnershipTransferStarted = _ownership_started
    _on_ArbiterPanel_OwnershipTransferred = _ownership_transferred
    _on_ManifestRegistry_OwnershipTransferStarted = _ownership_started
    _on_ManifestRegistry_OwnershipTransferred = _ownership_transferred
    _on_DesignNFT_OwnershipTransferStarted = _ownership_started
    _on_DesignNFT_OwnershipTransferred = _ownership_transferred
    _on_FabricationLicences_OwnershipTransferStarted = _ownership_started
    _on_FabricationLicences_OwnershipTransferred = _ownership_transferred
    _on_DesignMarket_OwnershipTransferStarted = _ownership_started
    _on_DesignMarket_OwnershipTransferred = _ownership_transferred
    _on_BountyBoard_OwnershipTransferStarted = _ownership_started
    _on_BountyBoard_OwnershipTransferred = _ownership_transferred
    _on_ValidatorScoreEvaluator_OwnershipTransferStarted = _ownership_started
    _on_ValidatorScoreEvaluator_OwnershipTransferred = _ownership_transferred

    # ---------------------------------------------------------------- flush
    def flush(self) -> int:
        """Write changed rows, history and undo records; returns the number of rows written."""
        written = 0
        by_table: dict[str, list[tuple]] = {}
        for tbl, key in self.dirty:
            by_table.setdefault(tbl, []).append(key)
        for tbl, keys in by_table.items():
            t = STATEFUL[tbl]
            pk = PKS[tbl]
            cond = sa.and_(*(t.c[k] == sa.bindparam(f"k_{k}") for k in pk))
            self.conn.execute(sa.delete(t).where(cond), [{f"k_{k}": v for k, v in zip(pk, key)} for key in keys])
            rows = [self.cache[(tbl, key)] for key in keys if self.cache[(tbl, key)] is not None]
            if rows:
                self.conn.execute(sa.insert(t), rows)
            written += len(keys)
        for tbl, rows in self.appended.items():
            if rows:
                self.conn.execute(sa.insert(APPEND_ONLY[tbl]), rows)
                written += len(rows)
                rows.clear()
        if self.undo:
            seq = self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(undo_log.c.seq), 0))).scalar()
            for i, u in enumerate(self.undo, start=seq + 1):
                u["seq"] = i
            self.conn.execute(sa.insert(undo_log), self.undo)
        self.dirty.clear()
        self.undo.clear()
        self.captured.clear()
        return written


# (contract, event) -> Deriver method, from the `_on_<Contract>_<Event>` names: the events that change a table.
# Handlers come from Deriver and its mixins (the design economy's in derive_design).
_HANDLERS = {tuple(name.split("_")[2:4]): fn for cls in reversed(Deriver.__mro__) for name, fn in vars(cls).items()
             if name.startswith("_on_")}
HANDLED = frozenset(_HANDLERS)
# Events whose rows record their block's timestamp.
TIMED = frozenset({"DelegateVotesChanged"})


def rollback_derived(conn: sa.Connection, ancestor: int) -> None:
    """Restore the derived tables to their state at the end of block `ancestor` from the undo log."""
    rows = conn.execute(
        sa.select(undo_log).where(undo_log.c.block_number > ancestor).order_by(undo_log.c.seq.desc())
    ).mappings().all()
    for u in rows:
        t = STATEFUL[u["tbl"]]
        cond = sa.and_(*(t.c[k] == v for k, v in zip(PKS[u["tbl"]], u["key"])))
        conn.execute(sa.delete(t).where(cond))
        if u["row"] is not None:
            conn.execute(sa.insert(t).values(**u["row"]))
    conn.execute(sa.delete(undo_log).where(undo_log.c.block_number > ancestor))
    for t in APPEND_ONLY.values():
        conn.execute(sa.delete(t).where(t.c.block_number > ancestor))


def rebuild(conn: sa.Connection, undo_floor: int, fab: str, batch: int = 20_000,
            block_times: BlockTimes | None = None) -> int:
    """Re-derive every derived table from the stored raw events (no log refetch); returns rows written.

    `fab` is the deployment's FAB token address (slash compensation and fees are kept in it); `block_times` as
    for `Deriver`.
    """
    for t in DERIVED.values():
        conn.execute(sa.delete(t))
    conn.execute(sa.delete(undo_log))
    deriver = Deriver(conn, undo_floor, fab, block_times)
    written = 0
    q = sa.select(events.c.block_number, events.c.log_index, events.c.block_hash, events.c.tx_hash, events.c.contract,
                  events.c.name, events.c.args).order_by(events.c.block_number, events.c.log_index)
    buf: list[dict[str, Any]] = []
    for row in conn.execute(q).mappings():
        buf.append(dict(row))
        if len(buf) >= batch:
            deriver.apply(buf)
            buf.clear()
    deriver.apply(buf)
    written += deriver.flush()
    return written
