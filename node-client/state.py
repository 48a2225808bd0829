"""The node's local state (SQLite): the jobs it claimed and their phase, print logs with telemetry, node ids.

Phases of a job this node claimed:

    claimed -> fetched -> sliced -> printing -> printed -> delivered
                 any phase before delivered  -> abandoned    (kept claimed on chain: a machine fault)
                 any phase before delivered  -> handed_back  (given back on chain: the job cannot be made here)
                 printing -> sliced            (a failed attempt, retried)

Every transition is one SQLite transaction (WAL, synchronous=FULL), so a crash leaves the last committed phase.
Moving a job to the phase it is already in is a no-op (idempotent); moving it backwards or out of a terminal
phase is an error. Telemetry is kept here for the gateway to collect later (`print_logs`, `telemetry`).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NodeClientError

PHASES = ("claimed", "fetched", "sliced", "printing", "printed", "delivered", "abandoned", "handed_back")
TERMINAL = ("delivered", "abandoned", "handed_back")
_FORWARD = {p: i for i, p in enumerate(PHASES[:6])}
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (
    name TEXT PRIMARY KEY, node_id INTEGER NOT NULL, capabilities TEXT NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, machine TEXT NOT NULL, phase TEXT NOT NULL,
    spec_cid TEXT, attempts INTEGER NOT NULL DEFAULT 0, claim_tx TEXT, proof_cid TEXT, deliver_tx TEXT,
    error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, from_phase TEXT, to_phase TEXT NOT NULL,
    at REAL NOT NULL, note TEXT
);
CREATE TABLE IF NOT EXISTS skipped (job_id INTEGER PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS print_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, machine TEXT NOT NULL,
    started_at REAL NOT NULL, finished_at REAL, ok INTEGER, state TEXT, reason TEXT, result TEXT,
    UNIQUE (job_id, attempt)
);
CREATE TABLE IF NOT EXISTS telemetry (
    log_id INTEGER NOT NULL REFERENCES print_logs(id), t REAL NOT NULL, acked INTEGER NOT NULL,
    total INTEGER NOT NULL, temperatures TEXT NOT NULL, state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS telemetry_log ON telemetry (log_id, t);
"""


class StateError(NodeClientError):
    """A transition the job's phase does not allow, or a state database this version cannot read."""


@dataclass(frozen=True)
class JobState:
    """One claimed job as the node last recorded it."""

    job_id: int
    node_id: int
    machine: str
    phase: str
    spec_cid: str | None
    attempts: int
    claim_tx: str | None
    proof_cid: str | None
    deliver_tx: str | None
    error: str | None
    created_at: float
    updated_at: float

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL


class NodeState:
    """The SQLite state file; safe to share between the loop's threads."""

    def __init__(self, path: Path | str, clock=time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot make the folder of the state file {self.path}: {exc.strerror or exc}; "
                             "point [node] state_db at a writable path") from None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path} is not a node state database ({exc}); point [node] state_db at the "
                             "node's state file or at a new path") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StateError(f"{self.path} has state schema {row[0]}; this node client reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------------------- machines

    def machine_node(self, name: str) -> tuple[int, dict[str, Any]] | None:
        """The node id registered for machine `name` and the capabilities last sent, if any."""
        with self._lock:
            row = self._db.execute("SELECT node_id, capabilities FROM machines WHERE name=?", (name,)).fetchone()
        return (row["node_id"], json.loads(row["capabilities"])) if row else None

    def set_machine_node(self, name: str, node_id: int, capabilities: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO machines VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE SET node_id=excluded.node_id,"
                       " capabilities=excluded.capabilities, updated_at=excluded.updated_at",
                       (name, node_id, json.dumps(capabilities, sort_keys=True), self.clock()))

    # ----------------------------------------------------------------------------------- jobs

    def record_claim(self, job_id: int, node_id: int, machine: str, *, claim_tx: str | None = None,
                     spec_cid: str | None = None) -> JobState:
        """Record a claim (idempotent: a job already recorded is returned unchanged)."""
        now = self.clock()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM jobs WHERE job_id=?", (job_id,)).fetchone() is None:
                db.execute("INSERT INTO jobs (job_id, node_id, machine, phase, spec_cid, claim_tx, created_at, "
                           "updated_at) VALUES (?,?,?,?,?,?,?,?)",
                           (job_id, node_id, machine, "claimed", spec_cid, claim_tx, now, now))
                db.execute("INSERT INTO transitions (job_id, from_phase, to_phase, at, note) VALUES (?,?,?,?,?)",
                           (job_id, None, "claimed", now, claim_tx))
        return self.job(job_id)  # type: ignore[return-value]

    def job(self, job_id: int) -> JobState | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return JobState(**dict(row)) if row else None

    def jobs(self, *, active: bool | None = None) -> list[JobState]:
        """Every recorded job; `active=True` only those not delivered, abandoned or handed back."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY job_id").fetchall()
        out = [JobState(**dict(r)) for r in rows]
        if active is not None:
            out = [j for j in out if (not j.terminal) == active]
        return out

    def advance(self, job_id: int, phase: str, *, note: str | None = None, **fields: Any) -> bool:
        """Move a job to `phase` (and set `fields`); False when it already was there (nothing changed)."""
        if phase not in PHASES:
            raise StateError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        allowed_fields = {"spec_cid", "attempts", "proof_cid", "deliver_tx", "error"}
        if set(fields) - allowed_fields:
            raise StateError(f"cannot set {sorted(set(fields) - allowed_fields)} on a job")
        now = self.clock()
        with self._tx() as db:
            row = db.execute("SELECT phase FROM jobs WHERE job_id=?", (job_id,)).fetchone()
            if row is None:
                raise StateError(f"job {job_id} was never claimed by this node")
            current = row["phase"]
            if current == phase:
                return False
            retry = current == "printing" and phase == "sliced"
            if current in TERMINAL or not (
                phase in ("abandoned", "handed_back") or retry or _FORWARD.get(phase, -1) > _FORWARD[current]
            ):
                raise StateError(f"job {job_id} is {current}; it cannot move to {phase}")
            sets = ", ".join(f"{k}=?" for k in fields)
            db.execute(f"UPDATE jobs SET phase=?, updated_at=?{', ' + sets if sets else ''} WHERE job_id=?",
                       (phase, now, *fields.values(), job_id))
            db.execute("INSERT INTO transitions (job_id, from_phase, to_phase, at, note) VALUES (?,?,?,?,?)",
                       (job_id, current, phase, now, note))
        return True

    def update(self, job_id: int, **fields: Any) -> None:
        """Set fields without a phase change (attempt counter, error text)."""
        allowed = {"attempts", "error", "spec_cid"}
        if not fields or set(fields) - allowed:
            raise StateError(f"update takes {sorted(allowed)}")
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(f'{k}=?' for k in fields)}, updated_at=? WHERE job_id=?",
                       (*fields.values(), self.clock(), job_id))

    def history(self, job_id: int) -> list[tuple[str | None, str, str | None]]:
        """(from, to, note) of every transition of a job, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT from_phase, to_phase, note FROM transitions WHERE job_id=? ORDER BY id",
                                    (job_id,)).fetchall()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def skip(self, job_id: int, reason: str) -> None:
        """Remember an open job this node will not take (and why), so it is not fetched again."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO skipped VALUES (?,?,?)", (job_id, reason, self.clock()))

    def skipped(self) -> dict[int, str]:
        with self._lock:
            return {r[0]: r[1] for r in self._db.execute("SELECT job_id, reason FROM skipped")}

    # ----------------------------------------------------------------------------- print logs

    def start_print(self, job_id: int, attempt: int, machine: str) -> int:
        """Open the print log of one attempt; returns its id (the same id when called again)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO print_logs (job_id, attempt, machine, started_at) VALUES (?,?,?,?)",
                       (job_id, attempt, machine, self.clock()))
            return db.execute("SELECT id FROM print_logs WHERE job_id=? AND attempt=?",
                              (job_id, attempt)).fetchone()[0]

    def add_telemetry(self, log_id: int, acked: int, total: int, temperatures: dict[str, Any], state: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO telemetry VALUES (?,?,?,?,?,?)",
                       (log_id, self.clock(), acked, total, json.dumps(temperatures), state))

    def finish_print(self, log_id: int, *, ok: bool, state: str, reason: str | None, result: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("UPDATE print_logs SET finished_at=?, ok=?, state=?, reason=?, result=? WHERE id=?",
                       (self.clock(), int(ok), state, reason, json.dumps(result), log_id))

    def print_logs(self, job_id: int) -> list[dict[str, Any]]:
        """Every attempt of a job with its telemetry samples (an unfinished attempt has ok=None)."""
        with self._lock:
            logs = self._db.execute("SELECT * FROM print_logs WHERE job_id=? ORDER BY attempt", (job_id,)).fetchall()
            out = []
            for log in logs:
                d = dict(log)
                d["ok"] = None if d["ok"] is None else bool(d["ok"])
                d["result"] = json.loads(d["result"]) if d["result"] else None
                d["telemetry"] = [
                    {"t": r["t"], "acked": r["acked"], "total": r["total"],
                     "temperatures": json.loads(r["temperatures"]), "state": r["state"]}
                    for r in self._db.execute("SELECT * FROM telemetry WHERE log_id=? ORDER BY t", (d["id"],))
                ]
                out.append(d)
        return out
