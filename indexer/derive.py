"""The derived read model: decoded events folded into jobs, job history, nodes, stakes, balances, fees, designs.

`Deriver` applies a batch of events in chain order on one connection, reading each touched row once,
writing every changed row back in bulk, and recording each row's pre-image (per block) in `undo_log`
for blocks in the unfinalized window, so a reorg can restore the state at the common ancestor without
refetching or replaying history. `rebuild` re-derives every table from the stored raw events.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.storage.cid import Cid

from .schema import DERIVED, STATEFUL, events, job_history, undo_log

BPS = 10_000
ZERO = "0x" + "00" * 20
JOB_EVENTS = {
    "JobPosted": "open", "JobClaimed": "claimed", "JobDelivered": "delivered", "JobDisputed": "disputed",
    "JobSettled": "settled", "JobResolved": "resolved", "JobCancelled": "cancelled", "JobExpired": "expired",
}


def _cid(hexbytes: str) -> str:
    raw = bytes.fromhex(hexbytes[2:])
    try:
        return str(Cid.parse(raw))
    except Exception:  # not a CID the SDK knows: keep the bytes
        return hexbytes


def _pk(table: sa.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


PKS = {name: _pk(t) for name, t in STATEFUL.items()}


class Deriver:
    """Applies events to the derived tables through a per-batch row cache."""

    def __init__(self, conn: sa.Connection, undo_floor: int) -> None:
        self.conn = conn
        self.undo_floor = undo_floor  # blocks >= this get undo records
        self.cache: dict[tuple[str, tuple], dict[str, Any] | None] = {}
        self.dirty: set[tuple[str, tuple]] = set()
        self.captured: set[tuple[int, str, tuple]] = set()
        self.undo: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
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
        row = self._get("balances", (token, account))
        if row is None or amount == 0 or row["amount"] == 0:
            return  # the market pulls the shortfall from the wallet
        self._put("balances", (token, account), {**row, "amount": max(0, row["amount"] - amount),
                                                 "updated_block": self.block})

    def _fee(self, token: str, amount: int) -> None:
        if amount == 0:
            return
        row = self._get("fees", (token,))
        self._put("fees", (token,), {"token": token, "amount": (row["amount"] if row else 0) + amount,
                                     "updated_block": self.block})

    def _stake(self, operator: str) -> dict[str, Any]:
        row = self._get("stakes", (operator,))
        return dict(row) if row else {"operator": operator, "staked": 0, "locked": 0, "unbonding": 0,
                                      "unbond_at": 0, "slashed": 0, "updated_block": self.block}

    def _set_stake(self, operator: str, **changes: Any) -> None:
        row = self._stake(operator)
        row.update(changes, updated_block=self.block)
        self._put("stakes", (operator,), row)

    # ---------------------------------------------------------------- events
    def apply(self, evs: Iterable[dict[str, Any]]) -> None:
        """Apply decoded events (dicts with block_number, log_index, tx_hash, contract, name, args) in order."""
        handlers = _HANDLERS
        for e in evs:
            handler = handlers.get((e["contract"], e["name"]))
            if handler is not None:
                self.block = e["block_number"]
                handler(self, e, e["args"])

    def _job_event(self, e: dict[str, Any], a: dict[str, Any], **changes: Any) -> dict[str, Any] | None:
        jid = a["jobId"]
        job = self._get("jobs", (jid,))
        if job is None:
            return None  # posted before the deployment's first indexed block
        status = JOB_EVENTS[e["name"]]
        self._put("jobs", (jid,), {**job, **changes, "status": status, "updated_block": self.block})
        self._history(e, jid, status)
        return job

    def _history(self, e: dict[str, Any], jid: int, status: str) -> None:
        self.history.append({"job_id": jid, "block_number": e["block_number"], "log_index": e["log_index"],
                             "event": e["name"], "status": status, "tx_hash": e["tx_hash"], "args": e["args"]})

    def _on_JobMarket_JobPosted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        j = a["job"]
        jid = a["jobId"]
        self._put("jobs", (jid,), {
            "job_id": jid, "status": "open", "customer": j["customer"], "token": j["token"], "node": j["node"],
            "node_id": None, "royalty_receiver": j["royaltyReceiver"], "amount": j["amount"],
            "royalty": j["royalty"], "collateral": j["collateral"], "bond": j["bond"], "fee_bps": j["feeBps"],
            "delivery_window": j["deliveryWindow"], "review_window": j["reviewWindow"],
            "deadline": j["deadline"], "spec_cid": _cid(a["specCid"]), "design_id": a["designId"],
            "proof_cid": None, "reason_cid": None, "posted_block": self.block, "posted_tx": e["tx_hash"],
            "updated_block": self.block,
        })
        self._history(e, jid, "open")
        self._debit(j["token"], j["customer"], j["amount"])

    def _on_JobMarket_JobClaimed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a, node=a["node"], node_id=a["nodeId"], deadline=a["deliverBy"])
        if job is not None:
            s = self._stake(a["node"])
            self._set_stake(a["node"], locked=s["locked"] + job["collateral"])

    def _on_JobMarket_JobDelivered(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._job_event(e, a, deadline=a["reviewUntil"], proof_cid=_cid(a["proofCid"]))

    def _on_JobMarket_JobDisputed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a, bond=a["bond"], reason_cid=_cid(a["reasonCid"]))
        if job is not None:
            self._debit(job["token"], job["customer"], a["bond"])

    def _release(self, job: dict[str, Any]) -> None:
        s = self._stake(job["node"])
        self._set_stake(job["node"], locked=max(0, s["locked"] - job["collateral"]))

    def _on_JobMarket_JobSettled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a)
        if job is not None:
            self._credit(job["token"], a["node"], a["nodePayout"])
            self._credit(job["token"], job["royalty_receiver"], a["royalty"])
            self._fee(job["token"], a["fee"])
            self._release(job)

    def _on_JobMarket_JobResolved(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a)
        if job is not None:
            wins = a["refundBps"] * 2 >= BPS
            self._credit(job["token"], job["customer"], a["customerRefund"] + (job["bond"] if wins else 0))
            self._credit(job["token"], job["node"], a["nodePayout"] + (0 if wins else job["bond"]))
            self._credit(job["token"], job["royalty_receiver"], a["royalty"])
            self._fee(job["token"], a["fee"])
            self._release(job)

    def _on_JobMarket_JobCancelled(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a)
        if job is not None:
            self._credit(job["token"], job["customer"], a["refund"])

    def _on_JobMarket_JobExpired(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        job = self._job_event(e, a)
        if job is not None:
            self._credit(job["token"], job["customer"], a["refund"])
            self._release(job)

    def _on_JobMarket_Deposited(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._credit(a["token"], a["account"], a["amount"])

    def _on_JobMarket_Withdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("balances", (a["token"], a["account"]), amount=0)

    def _on_JobMarket_FeesWithdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("fees", (a["token"],), amount=0)

    def _on_NodeRegistry_Staked(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._set_stake(a["operator"], staked=a["staked"])

    def _on_NodeRegistry_UnbondRequested(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._set_stake(a["operator"], staked=a["staked"], unbonding=a["unbonding"], unbond_at=a["unbondAt"])

    def _on_NodeRegistry_Withdrawn(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._set_stake(a["operator"], unbonding=0, unbond_at=0)

    def _on_NodeRegistry_CollateralSlashed(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        s = self._stake(a["operator"])
        self._set_stake(a["operator"], staked=a["staked"], slashed=s["slashed"] + a["amount"])

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

    def _on_DesignNFT_DesignMinted(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._put("designs", (a["tokenId"],), {
            "token_id": a["tokenId"], "owner": a["owner"], "minter": a["minter"], "cid": _cid(a["cid"]),
            "royalty_bps": a["royaltyBps"], "minted_block": self.block, "updated_block": self.block})

    def _on_DesignNFT_Transfer(self, e: dict[str, Any], a: dict[str, Any]) -> None:
        self._update("designs", (a["tokenId"],), owner=a["to"])

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
        if self.history:
            self.conn.execute(sa.insert(job_history), self.history)
            written += len(self.history)
        if self.undo:
            seq = self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(undo_log.c.seq), 0))).scalar()
            for i, u in enumerate(self.undo, start=seq + 1):
                u["seq"] = i
            self.conn.execute(sa.insert(undo_log), self.undo)
        self.dirty.clear()
        self.history.clear()
        self.undo.clear()
        self.captured.clear()
        return written


# (contract, event) -> Deriver method, from the `_on_<Contract>_<Event>` names: the events that change a table.
_HANDLERS = {tuple(name.split("_")[2:4]): fn for name, fn in vars(Deriver).items() if name.startswith("_on_")}
HANDLED = frozenset(_HANDLERS)


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
    conn.execute(sa.delete(job_history).where(job_history.c.block_number > ancestor))


def rebuild(conn: sa.Connection, undo_floor: int, batch: int = 20_000) -> int:
    """Re-derive every derived table from the stored raw events (no refetch); returns rows written."""
    for t in DERIVED.values():
        conn.execute(sa.delete(t))
    conn.execute(sa.delete(undo_log))
    deriver = Deriver(conn, undo_floor)
    written = 0
    q = sa.select(events.c.block_number, events.c.log_index, events.c.tx_hash, events.c.contract,
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
