"""Verification: re-derive the read model from the chain into a scratch SQLite database and diff row by row, then
ask the contracts themselves whether the read model's state is theirs (`check_chain`).

Jobs are checked through their commitments: each job row is the job's current struct, so `statusOf(jobId, job)`
must answer the row's status. Slots are recycled: the newest job stored under a key holds the slot
(`commitmentAt(key)` equals its commitment), and every older job under that key must have ended (its status
comes from the read model's terminal state; the chain answers None for it).
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

from .onchain import Call, ChainView
from .rpc import Rpc
from .schema import (DERIVED, balances, cancelled_orders, checkpoint, disputes, events, fees, jobs, nodes,
                     order_counters, stakes, token_terms, unbond_requests)

COMPARED: dict[str, sa.Table] = {"events": events, **DERIVED}
STATUSES = ("none", "open", "claimed", "delivered", "disputed", "settled", "resolved", "cancelled", "expired")
TERMINAL = frozenset(STATUSES[5:])
DISPUTE_STAGES = ("none", "awaiting_arbiter", "ruled", "appealed")
ZERO = "0x" + "00" * 20
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
                                            cancelled_orders, order_counters, nodes, token_terms)}
    checks = _Checks()
    out = _check_jobs(checks, tables["jobs"])
    _check_disputes(checks, tables["disputes"])
    _check_accounts(checks, tables)
    rpc = Rpc(rpc_url)
    try:
        out += checks.run(ChainView(rpc, deployment, block))
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
