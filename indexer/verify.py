"""Verification: re-derive the read model from the chain into a scratch SQLite database and diff row by row, then
ask the contracts themselves whether the read model's state is theirs (`check_chain`).

Jobs are checked through their commitments: each job row is the job's current struct, so `statusOf(jobId, job)`
must answer the row's status. Slots are recycled: the newest job stored under a key holds the slot
(`commitmentAt(key)` equals its commitment), and every older job under that key must have ended (its status
comes from the read model's terminal state; the chain answers None for it).

The DAO's tables are checked the same way where the manifest has its contracts: each proposal's state, tallies,
snapshot, deadline (late-quorum extensions included), eta and proposer on the governor; every vote by `hasVoted`;
each delegation and each delegate's current votes on both sources (FabToken, NodeRegistry); the arbiter panel's
members; the market's pause flag and guardian; the manifest version; timelock operations, delay and roles.
So is the design economy (`verify_design`): designs, licence balances, terms and uses, filled and cancelled
design-market orders, bounties' pots, contributions, submissions, approvals and awarded balances.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.deployment import Deployment
from sqlalchemy.engine import Engine

from . import verify_design
from .onchain import Call, ChainView
from .rpc import Rpc
from .schema import (DERIVED, arbiters, balances, blocks, cancelled_orders, checkpoint, delegates, delegations,
                     disputes, events, fees, jobs, manifests, nodes, order_counters, proposals, roles, settings,
                     stakes, timelock_operations, token_terms, unbond_requests, votes)

COMPARED: dict[str, sa.Table] = {"events": events, **DERIVED}
STATUSES = ("none", "open", "claimed", "delivered", "disputed", "settled", "resolved", "cancelled", "expired")
TERMINAL = frozenset(STATUSES[5:])
DISPUTE_STAGES = ("none", "awaiting_arbiter", "ruled", "appealed")
ZERO = "0x" + "00" * 20
# Governor.state's ProposalState, by value.
PROPOSAL_STATES = ("pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed")
# TimelockController.getOperationState by value, as the index names the operation's status (Unset: cancelled).
OPERATION_STATES = ("cancelled", "scheduled", "scheduled", "executed")
SOURCES = {"fab": "FabToken", "stake": "NodeRegistry"}
JOB_FIELDS = ("customer", "token", "node", "royalty_receiver", "amount", "royalty", "collateral", "bond", "fee_bps",
              "delivery_window", "review_window", "deadline", "target_node", "key")


def _cell(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every compared table's rows ordered by primary key, JSON cells canonicalised, engine-independent."""
    out = {}
    with engine.connect() as conn:
        for name, t in COMPARED.items():
            rows = conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
            out[name] = [tuple(_cell(v) for v in r) for r in rows]
    return out


@dataclass(frozen=True)
class Difference:
    table: str
    # "unexpected" (in the index, not in a fresh index of the chain), "missing" (the other way round), or
    # "chain" (the contracts' views disagree with the index: row = key, what, index value, chain value)
    kind: str
    row: tuple

    def __str__(self) -> str:
        return f"{self.table}: {self.kind} {self.row}"


def diff(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> list[Difference]:
    out: list[Difference] = []
    for name in COMPARED:
        a, e = set(actual.get(name, [])), set(expected.get(name, []))
        out += [Difference(name, "unexpected", r) for r in sorted(a - e, key=repr)]
        out += [Difference(name, "missing", r) for r in sorted(e - a, key=repr)]
    return out


def checkpoint_block(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(checkpoint.c.block_number)).scalar()


def verify(engine: Engine, rpc_url: str, deployment: Deployment, until: int | None = None) -> list[Difference]:
    """Differences between the index at `engine` and a fresh index of the chain up to its checkpoint, then between
    the index and the contracts' views at that block."""
    from .sync import Indexer, IndexerConfig  # sync imports this module's siblings; keep the import local

    until = checkpoint_block(engine) if until is None else until
    actual = snapshot(engine)
    with tempfile.TemporaryDirectory(prefix="fabrica-verify-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'oracle.db'}"
        with Indexer(url, rpc_url, deployment, IndexerConfig(confirmations=0)) as oracle:
            if until is not None:
                oracle.sync(until=until)
            expected = snapshot(oracle.engine)
            oracle.engine.dispose()
    out = diff(actual, expected)
    if until is not None:
        out += check_chain(engine, rpc_url, deployment, until)
    return out


def job_struct(row: dict[str, Any]) -> tuple:
    """The `Job` struct (ABI tuple) a job row describes."""
    return tuple(row[f] for f in JOB_FIELDS)


def commitment(job_id: int, row: dict[str, Any], status: str) -> bytes:
    """What JobMarket stores for job `job_id` in `status`: keccak256(abi.encode(jobId, job)), status in the low byte."""
    from eth_abi import encode as abi_encode
    from eth_utils import keccak
    from fabrica.protocol.types import job_abi_type

    digest = bytearray(keccak(abi_encode(["uint256", job_abi_type()], [job_id, job_struct(row)])))
    digest[31] = STATUSES.index(status)
    return bytes(digest)


class _Checks:
    """Calls queued with what the index expects of each; `run` sends them and collects the disagreements."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.expect: list[tuple[str, tuple, str, Any, Any]] = []  # (table, key, what, expected, normalise)

    def add(self, table: str, key: tuple, what: str, call: Call, expected: Any, normalise: Any = None) -> None:
        self.calls.append(call)
        self.expect.append((table, key, what, expected, normalise))

    def run(self, view: ChainView) -> list[Difference]:
        out = []
        for (table, key, what, expected, normalise), got in zip(self.expect, view.call(self.calls)):
            got = normalise(got) if normalise else got
            if got != expected:
                out.append(Difference(table, "chain", (*key, what, _show(expected), _show(got))))
        return out


def _show(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, (list, tuple)):
        return [_show(x) for x in v]
    return v


def _lower(v: Any) -> Any:
    """Addresses lowercase, through tuples and lists (eth_abi returns checksummed addresses)."""
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, (list, tuple)):
        return tuple(_lower(x) for x in v)
    return v


def check_chain(engine: Engine, rpc_url: str, deployment: Deployment, block: int) -> list[Difference]:
    """Differences between the read model and the contracts' views at `block` (the block the index stands at)."""
    with engine.connect() as conn:
        def rows(t: sa.Table) -> list[dict[str, Any]]:
            return [dict(r) for r in conn.execute(sa.select(t)).mappings()]
        tables = {t.name: rows(t) for t in (jobs, disputes, balances, fees, stakes, unbond_requests,
                                            cancelled_orders, order_counters, nodes, token_terms, proposals, votes,
                                            delegations, delegates, arbiters, manifests, timelock_operations, roles)}
        tables |= verify_design.load(conn)
        named = {r["name"]: r["value"] for r in rows(settings)}
        now = conn.execute(sa.select(blocks.c.timestamp).where(blocks.c.number == block)).scalar()
    checks = _Checks()
    out = _check_jobs(checks, tables["jobs"])
    _check_disputes(checks, tables["disputes"])
    _check_accounts(checks, tables)
    _check_market_switches(checks, named)
    rpc = Rpc(rpc_url)
    try:
        view = ChainView(rpc, deployment, block)
        if "FabGovernor" in deployment.contracts:
            if now is None:
                now = int(rpc.headers([block])[0]["timestamp"], 16)
            _check_proposals(checks, view, tables["proposals"], tables["votes"], now)
            _check_governor_settings(checks, named)
        _check_votes(checks, tables["delegations"], tables["delegates"])
        if "ArbiterPanel" in deployment.contracts:
            _check_panel(checks, tables["arbiters"])
        if "ManifestRegistry" in deployment.contracts:
            _check_manifest(checks, tables["manifests"])
        if "FabTimelock" in deployment.contracts:
            _check_timelock(checks, tables["timelock_operations"], tables["roles"], named)
        verify_design.check_design_economy(checks, tables, named, deployment.contracts)
        out += checks.run(view)
    finally:
        rpc.close()
    return out


def _check_jobs(checks: _Checks, rows: list[dict[str, Any]]) -> list[Difference]:
    """Queue each job's statusOf and each slot's commitmentAt; return what the index alone shows wrong."""
    out: list[Difference] = []
    holder: dict[int, dict[str, Any]] = {}  # key -> the newest job stored there
    for r in sorted(rows, key=lambda r: r["job_id"]):
        holder[r["key"]] = r
    last = max((r["job_id"] for r in rows), default=0)
    checks.add("jobs", (), "jobCount", Call("JobMarket", "jobCount", ()), last)
    for r in rows:
        jid = r["job_id"]
        if holder[r["key"]] is r:
            checks.add("jobs", (jid,), "statusOf", Call("JobMarket", "statusOf", (jid, job_struct(r))), r["status"],
                       lambda v: STATUSES[v])
        else:  # the slot was recycled for a newer job: this one must have ended, and the chain forgets it
            if r["status"] not in TERMINAL:
                newer = holder[r["key"]]["job_id"]
                out.append(Difference("jobs", "chain", (jid, "status", r["status"],
                                                        f"slot {r['key']} holds job {newer}: ended")))
            checks.add("jobs", (jid,), "statusOf", Call("JobMarket", "statusOf", (jid, job_struct(r))), "none",
                       lambda v: STATUSES[v])
    for key, r in holder.items():
        checks.add("jobs", (r["job_id"],), f"commitmentAt({key})", Call("JobMarket", "commitmentAt", (key,)),
                   commitment(r["job_id"], r, r["status"]))
    # A slot numbered like a job that took a recycled slot was never written.
    for key in sorted(set(range(1, last + 1)) - set(holder)):
        checks.add("jobs", (key,), f"commitmentAt({key})", Call("JobMarket", "commitmentAt", (key,)), bytes(32))
    return out


def _check_disputes(checks: _Checks, rows: list[dict[str, Any]]) -> None:
    for d in rows:
        if d["stage"] == "resolved":  # the market deletes a dispute when it resolves
            expected: tuple = (ZERO, 0, "none", 0, 0, ZERO, ZERO)
        else:
            expected = (d["judge"], d["deadline"], d["stage"], d["refund_bps"], d["slash_bps"], d["appellant"],
                        d["arbiter"])
        checks.add("disputes", (d["job_id"],), "disputeOf", Call("JobMarket", "disputeOf", (d["job_id"],)), expected,
                   lambda v: (*_lower(v[:2]), DISPUTE_STAGES[v[2]], v[3], v[4], *_lower(v[5:])))


def _check_accounts(checks: _Checks, t: dict[str, list[dict[str, Any]]]) -> None:
    """Balances, fees, stakes with their unbond requests, orders, nodes and token terms."""
    for b in t["balances"]:
        checks.add("balances", (b["token"], b["account"]), "balanceOf",
                   Call("JobMarket", "balanceOf", (b["token"], b["account"])), b["amount"])
    for f in t["fees"]:
        checks.add("fees", (f["token"],), "feesOf", Call("JobMarket", "feesOf", (f["token"],)), f["amount"])
    requests: dict[str, list[tuple[int, int]]] = {}
    for r in sorted(t["unbond_requests"], key=lambda r: r["idx"]):
        requests.setdefault(r["operator"], []).append((r["amount"], r["release_at"]))
    for s in t["stakes"]:
        op = s["operator"]
        checks.add("stakes", (op,), "stakeOf", Call("NodeRegistry", "stakeOf", (op,)),
                   (s["staked"], s["locked"], s["unbonding"], s["unbond_at"]), tuple)
        checks.add("stakes", (op,), "unbondRequests", Call("NodeRegistry", "unbondRequests", (op,)),
                   tuple(requests.get(op, ())), lambda v: tuple(tuple(x) for x in v))
    for o in t["cancelled_orders"]:
        checks.add("cancelled_orders", (o["customer"], o["nonce"]), "nonceUsed",
                   Call("JobMarket", "nonceUsed", (o["customer"], o["nonce"])), True)
    for c in t["order_counters"]:
        checks.add("order_counters", (c["customer"],), "orderCounter",
                   Call("JobMarket", "orderCounter", (c["customer"],)), c["counter"])
    for n in t["nodes"]:
        checks.add("nodes", (n["node_id"],), "nodeOf (operator, active)", Call("NodeRegistry", "nodeOf", (n["node_id"],)),
                   (n["operator"], n["active"]), lambda v: (v[0].lower(), v[3]))
    for k in t["token_terms"]:
        checks.add("token_terms", (k["token"],), "tokenTerms", Call("JobMarket", "tokenTerms", (k["token"],)),
                   (k["allowed"], k["min_collateral_rate"], k["max_collateral_rate"]), tuple)


def _check_market_switches(checks: _Checks, named: dict[str, Any]) -> None:
    """The pause flag and the guardian (never set: not paused, no guardian)."""
    checks.add("settings", ("paused",), "paused", Call("JobMarket", "paused"), bool(named.get("paused", False)))
    checks.add("settings", ("guardian",), "guardian", Call("JobMarket", "guardian"), named.get("guardian") or ZERO,
               _lower)


def expected_state(p: dict[str, Any], now: int, quorum: int | None) -> str:
    """Governor.state of proposal row `p` at time `now` (the governor's clock), given `quorum` at its snapshot."""
    if p["status"] != "created":
        return p["status"]
    if p["snapshot"] >= now:
        return "pending"
    if p["deadline"] >= now:
        return "active"
    # Simple counting: quorum counts for and abstain votes, and more for than against passes.
    reached = quorum is not None and p["for_votes"] + p["abstain_votes"] >= quorum
    return "succeeded" if reached and p["for_votes"] > p["against_votes"] else "defeated"


def _check_proposals(checks: _Checks, view: ChainView, rows: list[dict[str, Any]], vote_rows: list[dict[str, Any]],
                     now: int) -> None:
    """State, tallies, snapshot, deadline, eta and proposer of every proposal; every vote recorded."""
    closed = [p for p in rows if p["status"] == "created" and p["deadline"] < now]
    quorums = dict(zip((p["proposal_id"] for p in closed),
                       view.call([Call("FabGovernor", "quorum", (p["snapshot"],)) for p in closed])))
    for p in rows:
        pid = p["proposal_id"]
        checks.add("proposals", (pid,), "state", Call("FabGovernor", "state", (pid,)),
                   expected_state(p, now, quorums.get(pid)), lambda v: PROPOSAL_STATES[v])
        checks.add("proposals", (pid,), "proposalVotes (against, for, abstain)",
                   Call("FabGovernor", "proposalVotes", (pid,)),
                   (p["against_votes"], p["for_votes"], p["abstain_votes"]), tuple)
        checks.add("proposals", (pid,), "proposalSnapshot", Call("FabGovernor", "proposalSnapshot", (pid,)),
                   p["snapshot"])
        checks.add("proposals", (pid,), "proposalDeadline", Call("FabGovernor", "proposalDeadline", (pid,)),
                   p["deadline"])
        checks.add("proposals", (pid,), "proposalEta", Call("FabGovernor", "proposalEta", (pid,)), p["eta"] or 0)
        checks.add("proposals", (pid,), "proposalProposer", Call("FabGovernor", "proposalProposer", (pid,)),
                   p["proposer"], _lower)
    for v in vote_rows:
        checks.add("votes", (v["proposal_id"], v["voter"]), "hasVoted",
                   Call("FabGovernor", "hasVoted", (v["proposal_id"], v["voter"])), True)


def _check_governor_settings(checks: _Checks, named: dict[str, Any]) -> None:
    for name, fn in (("voting_delay", "votingDelay"), ("voting_period", "votingPeriod"),
                     ("proposal_threshold", "proposalThreshold"), ("quorum_numerator", "quorumNumerator"),
                     ("vote_extension", "lateQuorumVoteExtension"), ("timelock", "timelock")):
        key = f"governor.{name}"
        if key in named:
            checks.add("settings", (key,), fn, Call("FabGovernor", fn), named[key], _lower)


def _check_votes(checks: _Checks, delegation_rows: list[dict[str, Any]], delegate_rows: list[dict[str, Any]]) -> None:
    """Each delegation (`delegates`) and each delegate's current votes (`getVotes`), on both sources."""
    for d in delegation_rows:
        checks.add("delegations", (d["source"], d["delegator"]), "delegates",
                   Call(SOURCES[d["source"]], "delegates", (d["delegator"],)), d["delegate"], _lower)
    for d in delegate_rows:
        checks.add("delegates", (d["source"], d["delegate"]), "getVotes",
                   Call(SOURCES[d["source"]], "getVotes", (d["delegate"],)), d["votes"])


def _check_panel(checks: _Checks, rows: list[dict[str, Any]]) -> None:
    """The panel's members are exactly the index's active arbiters."""
    members = tuple(sorted(r["arbiter"] for r in rows if r["active"]))
    checks.add("arbiters", (), "arbiters", Call("ArbiterPanel", "arbiters"), members,
               lambda v: tuple(sorted(_lower(v))))


def _check_manifest(checks: _Checks, rows: list[dict[str, Any]]) -> None:
    from .derive import _cid

    latest = max(rows, key=lambda r: r["version"], default=None)
    checks.add("manifests", (), "version", Call("ManifestRegistry", "version"), latest["version"] if latest else 0)
    if latest is not None:
        checks.add("manifests", (latest["version"],), "manifestCid", Call("ManifestRegistry", "manifestCid"),
                   latest["cid"], lambda v: _cid("0x" + v.hex()))


def _check_timelock(checks: _Checks, ops: list[dict[str, Any]], role_rows: list[dict[str, Any]],
                    named: dict[str, Any]) -> None:
    for o in ops:
        checks.add("timelock_operations", (o["operation_id"],), "getOperationState",
                   Call("FabTimelock", "getOperationState", (bytes.fromhex(o["operation_id"][2:]),)), o["status"],
                   lambda v: OPERATION_STATES[v])
    for r in role_rows:
        checks.add("roles", (r["role"], r["account"]), "hasRole",
                   Call("FabTimelock", "hasRole", (bytes.fromhex(r["role"][2:]), r["account"])), True)
    if "timelock.min_delay" in named:
        checks.add("settings", ("timelock.min_delay",), "getMinDelay", Call("FabTimelock", "getMinDelay"),
                   named["timelock.min_delay"])
