"""The sync engine: ranged eth_getLogs below the safe head, block by block above it, reorg-safe.

Every write — raw events, derived rows, undo records, block hashes and the checkpoint — happens in one
transaction, so a crash at any point leaves the index at the previous checkpoint and a restart resumes
with no gap and no duplicate. A fork is detected by comparing the stored hash of the checkpoint block
with the canonical chain and each new block's parent hash with the stored tip (never `removed` flags);
the index rolls back to the common ancestor (raw rows deleted, derived rows restored from the undo log)
in the same transaction that moves the checkpoint, then re-applies the new branch.
"""
from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.deployment import Deployment
from sqlalchemy.engine import Engine

from .db import WriterLock, is_sqlite, make_engine, migrate
from .decode import Decoder
from .derive import HANDLED, Deriver, rebuild, rollback_derived
from .errors import ChainMismatchError, IndexerError, ReorgTooDeepError
from .notify import PG_CHANNEL, Notification, Notifier
from .rpc import Log, Rpc, RpcError
from .schema import blocks, checkpoint, events, undo_log

try:  # msgspec encodes the args JSON several times faster than the json module (same values)
    from msgspec.json import encode as _encode

    def _dumps(value: Any) -> str:
        return _encode(value).decode()
except ImportError:  # pragma: no cover
    _dumps = json.dumps

# COPY's text format: backslash escapes, tab separates columns, newline ends a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is decoded or written (nesting and threads allowed).

    A batch allocates a few hundred thousand rows, tuples and dicts that live until its commit; the collector
    would traverse them again and again (a third of the indexer's CPU time in a 100 000-event backfill) and
    find nothing, since rows hold only strings and numbers. Reference counting still frees everything; the
    collector resumes, as the process had it, as soon as no batch is in flight.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY text format, every value escaped."""
    return "\t".join(str(v).translate(_COPY_ESCAPES) for v in values) + "\n"

log = logging.getLogger(__name__)
EVENT_COLUMNS = ("chain_id", "block_number", "log_index", "block_hash", "tx_hash", "address", "contract", "name",
                 "topics", "data", "args")


@dataclass
class Metrics:
    head: int = 0
    tip: int = 0
    head_lag_blocks: int = 0
    head_lag_seconds: float = 0.0
    reorgs: int = 0
    rows_written: int = 0
    events_written: int = 0
    range_size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Tip:
    number: int
    hash: str


# (event rows ready for the backend: tuples for SQLite, COPY lines for PostgreSQL; events the deriver handles)
_Batch = tuple[list[Any], list[dict[str, Any]]]
AHEAD = 2  # ranges fetched (and decoded) ahead of the one being written


@dataclass
class _Fetched:
    """One fetched and decoded range, not yet checked against the index's tip."""

    start: int
    end: int  # last block covered
    hot: bool  # blocks fetched one by one by hash and linked (above the safe head), else a ranged getLogs
    headers: list[dict[str, Any]]  # cold: the last max_reorg_depth blocks; hot: every block
    logs: list[Log]
    batch: _Batch


@dataclass
class _Pending:
    start: int
    planned_end: int
    future: Future[_Fetched]


class _Retry(Exception):
    """The chain moved under a fetch (a log's block hash no longer matches); redo the step."""


@dataclass
class IndexerConfig:
    confirmations: int = 12  # blocks below head that are fetched with ranged getLogs
    max_reorg_depth: int = 64  # unfinalized window kept; a deeper fork halts
    initial_range: int = 2_000
    max_range: int = 50_000
    min_range: int = 1
    target_logs: int = 20_000  # stop growing the range once a batch returns this many logs
    poll_interval: float = 1.0
    prefetch: bool = True  # fetch the next cold range while writing the current one
    extra: dict[str, Any] = field(default_factory=dict)


class Indexer:
    """Mirrors one deployment's events into the database at `engine`."""

    def __init__(
        self,
        engine: Engine | str,
        rpc_url: str,
        deployment: Deployment,
        config: IndexerConfig | None = None,
        *,
        notifier: Notifier | None = None,
        progress: Callable[[Metrics], None] | None = None,
        migrate_schema: bool = True,
    ) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.config = config or IndexerConfig()
        if self.config.confirmations > self.config.max_reorg_depth:
            raise IndexerError("confirmations must not exceed max_reorg_depth (the window the index keeps)")
        self.deployment = deployment
        self.rpc = Rpc(rpc_url)
        self.decoder = Decoder(deployment)
        # (address, topic0) -> (contract, event, args decoder, address, whether a derived table uses it)
        self._table = {key: (c, n, fn, key[0], (c, n) in HANDLED) for key, (c, n, fn) in self.decoder.table.items()}
        self.notifier = notifier or Notifier()
        self.progress = progress
        self.metrics = Metrics(range_size=self.config.initial_range)
        self.range = self.config.initial_range
        self.sqlite = is_sqlite(self.engine)
        self.chain_id = deployment.chain_id
        if migrate_schema:
            migrate(self.engine)
        self.lock = WriterLock(self.engine).acquire()
        # While one batch is written, the next ones are fetched and decoded (the RPC node works meanwhile).
        self._pool = ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="fabrica-indexer-fetch")
        self._pending: list[_Pending] = []

    def _drop_pending(self) -> None:
        for p in self._pending:
            p.future.cancel()
        self._pending = []

    def close(self) -> None:
        self._drop_pending()
        # A prefetch still in flight is of no use any more; don't make Ctrl-C wait for it.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.lock.release()
        self.rpc.close()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ checkpoint
    def _tip(self) -> Tip | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(checkpoint)).mappings().first()
        if row is None:
            return None
        if row["chain_id"] != self.chain_id or row["market"].lower() != self.deployment.address("JobMarket").lower():
            raise ChainMismatchError(
                f"this database indexes chain {row['chain_id']} market {row['market']}, not chain "
                f"{self.chain_id} market {self.deployment.address('JobMarket')}; use another --db"
            )
        return Tip(row["block_number"], row["block_hash"])

    def _init_tip(self) -> Tip:
        start = self.deployment.deployed_block - 1
        header = self.rpc.headers([max(start, 0)])[0] if start >= 0 else None
        tip = Tip(start, header["hash"] if header else "")
        with self.engine.begin() as conn:
            self.lock.check(conn)
            conn.execute(sa.insert(checkpoint).values(
                id=1, chain_id=self.chain_id, market=self.deployment.address("JobMarket"),
                block_number=tip.number, block_hash=tip.hash, updated_at=time.time()))
            if header:
                conn.execute(sa.insert(blocks).values(number=start, hash=header["hash"],
                                                      parent_hash=header["parentHash"],
                                                      timestamp=int(header["timestamp"], 16)))
        return tip

    # ------------------------------------------------------------------ main loop
    def sync(self, until: int | None = None) -> Metrics:
        """Catch up to the head (or block `until`) and return the metrics."""
        tip = self._tip() or self._init_tip()
        while True:
            try:
                tip, done = self._step(tip, until)
            except _Retry:
                self._drop_pending()
                tip = self._tip() or self._init_tip()
                continue
            except BaseException:
                self._drop_pending()
                raise
            if done:
                return self.metrics

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Follow the head until `stop()` returns true."""
        while not stop():
            self.sync()
            end = time.monotonic() + self.config.poll_interval
            while time.monotonic() < end and not stop():
                time.sleep(min(0.1, self.config.poll_interval))

    def _step(self, tip: Tip, until: int | None) -> tuple[Tip, bool]:
        head = self.rpc.block_number()
        if until is not None:
            head = min(head, until)
        canonical = self.rpc.headers([tip.number])[0] if tip.number >= 0 else None
        if tip.hash and (canonical is None or canonical["hash"] != tip.hash):
            return self._handle_reorg(tip), False
        self.metrics.head = head
        if tip.number >= head:
            self._update_lag(tip, head)
            return tip, True
        safe = head - self.config.confirmations
        fetched = self._next_fetched(tip.number + 1, head, safe)
        if fetched.hot:
            return self._apply_hot(tip, fetched, head), False
        return self._apply_cold(tip, fetched, head, safe), False

    def _update_lag(self, tip: Tip, head: int) -> None:
        self.metrics.tip = tip.number
        self.metrics.head_lag_blocks = max(0, head - tip.number)
        if self.metrics.head_lag_blocks:
            hs = self.rpc.headers([tip.number, head])
            if hs[0] and hs[1]:
                self.metrics.head_lag_seconds = float(int(hs[1]["timestamp"], 16) - int(hs[0]["timestamp"], 16))
        else:
            self.metrics.head_lag_seconds = 0.0
        if self.progress:
            self.progress(self.metrics)

    # ------------------------------------------------------------------ fetching
    def _get_logs(self, start: int, end: int) -> tuple[list[Log], int]:
        """Logs of our contracts in [start, end'] with end' <= end chosen by the adaptive range."""
        while True:
            stop = min(end, start + self.range - 1)
            try:
                logs = self.rpc.get_logs({"fromBlock": hex(start), "toBlock": hex(stop),
                                          "address": self.decoder.address_list})
            except RpcError as exc:
                if not exc.too_many_results or stop == start:
                    raise
                hint = exc.suggested_range
                if hint and hint[0] == start and hint[1] < stop:
                    self.range = max(self.config.min_range, hint[1] - start + 1)
                else:
                    self.range = max(self.config.min_range, self.range // 2)
                self.metrics.range_size = self.range
                log.info("getLogs %d..%d too large; range now %d", start, stop, self.range)
                continue
            if len(logs) < self.config.target_logs:
                self.range = min(self.config.max_range, self.range * 2)
            self.metrics.range_size = self.range
            return logs, stop

    def _fetch(self, start: int, end: int, safe: int) -> _Fetched:
        """The range from `start`: ranged getLogs up to `end` at most while below the safe head, else the
        unconfirmed blocks up to `end` one by one (runs in a fetch thread, so the RPC node's work, the JSON
        parsing and the decoding overlap the previous batch's database writes)."""
        if start > safe:
            return self._fetch_hot(start, end)
        logs, end = self._get_logs(start, end)
        # Keep the hashes of the last max_reorg_depth blocks of every batch: the stored window stays
        # contiguous below the tip, so any fork up to that depth finds its common ancestor.
        numbers = list(range(max(start, end - self.config.max_reorg_depth), end + 1))
        headers = self.rpc.headers(numbers)
        return _Fetched(start, end, False, headers, logs, self._decode(logs))  # type: ignore[arg-type]

    def _fetch_hot(self, start: int, head: int) -> _Fetched:
        """Blocks start..head, each block's logs fetched by its hash, in two round trips."""
        headers = self.rpc.headers(list(range(start, head + 1)))
        if headers[0] is None:
            raise _Retry()
        linked = [headers[0]]
        for h in headers[1:]:
            if h is None or h["parentHash"] != linked[-1]["hash"]:
                break  # the chain moves under us: take the linked part, the next step checks the rest
            linked.append(h)
        answers = self.rpc.get_logs_batch([{"blockHash": h["hash"], "address": self.decoder.address_list}
                                           for h in linked])
        logs: list[Log] = []
        for h, block_logs in zip(linked, answers):
            if any(lg.blockHash != h["hash"] for lg in block_logs):
                raise _Retry()
            logs += block_logs
        return _Fetched(start, int(linked[-1]["number"], 16), True, linked, logs, self._decode(logs))

    def _plan(self, start: int, head: int, safe: int) -> int:
        """The last block of the range that starts at `start`."""
        return min(safe, start + self.range - 1) if start <= safe else head

    def _next_fetched(self, start: int, head: int, safe: int) -> _Fetched:
        """The fetched range that starts at `start`, from the prefetch pipeline when it is still valid; the
        pipeline is refilled first, so the node already works on the ranges after it."""
        if self._pending and self._pending[0].start != start:
            self._drop_pending()  # a reorg or a shortened range moved the tip
        if self.config.prefetch:
            nxt = self._pending[-1].planned_end + 1 if self._pending else start
            while len(self._pending) < AHEAD and nxt <= head:
                end = self._plan(nxt, head, safe)
                self._pending.append(_Pending(nxt, end, self._pool.submit(self._fetch, nxt, end, safe)))
                nxt = end + 1
        fetched = self._pending.pop(0).future.result() if self._pending else None
        # A range planned before the head moved back (a shorter chain) may reach past it: fetch again.
        if fetched is None or fetched.end > (head if fetched.hot else safe):
            self._drop_pending()
            fetched = self._fetch(start, self._plan(start, head, safe), safe)
        return fetched

    def _apply_cold(self, tip: Tip, fetched: _Fetched, head: int, safe: int) -> Tip:
        """Check a ranged batch against the tip and the chain, then commit it."""
        start, end, headers, logs = tip.number + 1, fetched.end, fetched.headers, fetched.logs
        if any(h is None for h in headers):
            raise _Retry()
        by_number = {int(h["number"], 16): h for h in headers}
        numbers = sorted(by_number)
        if end not in by_number:
            raise _Retry()
        first = by_number.get(start)
        if first is not None and tip.hash and first["parentHash"] != tip.hash:
            return self._handle_reorg(tip)
        for prev, cur in zip(numbers, numbers[1:]):
            if cur == prev + 1 and by_number[cur]["parentHash"] != by_number[prev]["hash"]:
                raise _Retry()
        for number, block_hash in {(lg.blockNumber, lg.blockHash) for lg in logs}:
            h = by_number.get(int(number, 16))
            if h is not None and h["hash"] != block_hash:
                raise _Retry()
        new_tip = Tip(end, by_number[end]["hash"])
        self._commit(tip, new_tip, fetched.batch, list(by_number.values()), head)
        return new_tip

    def _apply_hot(self, tip: Tip, fetched: _Fetched, head: int) -> Tip:
        """Link fetched unconfirmed blocks to the tip by parent hash, then commit them."""
        if tip.hash and fetched.headers[0]["parentHash"] != tip.hash:
            return self._handle_reorg(tip)
        new_tip = Tip(fetched.end, fetched.headers[-1]["hash"])
        self._commit(tip, new_tip, fetched.batch, fetched.headers, head)
        return new_tip

    # ------------------------------------------------------------------ writing
    def _commit(self, tip: Tip, new_tip: Tip, batch: _Batch, headers: list[dict[str, Any]], head: int) -> None:
        rows, decoded = batch
        keep_from = new_tip.number - self.config.max_reorg_depth
        with _gc_paused(), self.engine.begin() as conn:
            self.lock.check(conn)
            current = conn.execute(sa.select(checkpoint.c.block_number, checkpoint.c.block_hash)).one()
            if (current.block_number, current.block_hash) != (tip.number, tip.hash):
                raise _Retry()  # never write over a checkpoint we did not start from
            if rows:
                self._insert_events(conn, rows)
            deriver = Deriver(conn, undo_floor=keep_from + 1)
            deriver.apply(decoded)
            written = deriver.flush() + len(rows)
            header_rows = [{"number": int(h["number"], 16), "hash": h["hash"], "parent_hash": h["parentHash"],
                            "timestamp": int(h["timestamp"], 16)} for h in headers]
            if header_rows:
                conn.execute(sa.insert(blocks), header_rows)
            conn.execute(sa.delete(blocks).where(blocks.c.number < keep_from))
            conn.execute(sa.delete(undo_log).where(undo_log.c.block_number <= keep_from))
            conn.execute(sa.update(checkpoint).values(
                block_number=new_tip.number, block_hash=new_tip.hash, updated_at=time.time(),
                rows_written=checkpoint.c.rows_written + written))
            note = Notification("events", new_tip.number, from_block=tip.number + 1, count=len(rows)) if rows else None
            if note and not self.sqlite:
                conn.execute(sa.select(sa.func.pg_notify(PG_CHANNEL, json.dumps(note.as_dict()))))
        self.metrics.rows_written += written
        self.metrics.events_written += len(rows)
        self._update_lag(new_tip, head)
        if note:
            self.notifier.publish(note)

    def _decode(self, logs: list[Log]) -> _Batch:
        """Event rows in the backend's input format (JSON pre-encoded) and the events the deriver handles.

        One table lookup and one generated decoder call per log; runs in the fetch thread for cold ranges.
        """
        rows: list[Any] = []
        decoded: list[dict[str, Any]] = []
        chain_id = self.chain_id
        table = self._table
        sqlite = self.sqlite
        numbers: dict[str, int] = {}
        with _gc_paused():
            for lg in logs:
                topics = lg.topics
                if not topics:
                    continue
                found = table.get((lg.address, topics[0]))
                if found is None:  # not ours, or a node that writes hex in upper case
                    found = table.get((lg.address.lower(), topics[0].lower()))
                    if found is None:
                        continue
                contract, name, fn, address, handled = found
                args = fn(topics, lg.data)
                bn = numbers.get(lg.blockNumber)
                if bn is None:
                    bn = numbers[lg.blockNumber] = int(lg.blockNumber, 16)
                li = int(lg.logIndex, 16)
                row = (chain_id, bn, li, lg.blockHash, lg.transactionHash, address, contract, name,
                       '["' + '","'.join(topics) + '"]', lg.data, _dumps(args))
                if sqlite:
                    rows.append(row)
                else:
                    line = "\t".join(map(str, row)) + "\n"
                    if "\\" in line or "\r" in line or line.count("\t") != 10 or line.count("\n") != 1:
                        line = _copy_line(row)  # a value needs escaping (a backslash in a JSON string)
                    rows.append(line)
                if handled:
                    decoded.append({"block_number": bn, "log_index": li, "tx_hash": lg.transactionHash,
                                    "contract": contract, "name": name, "args": args})
        decoded.sort(key=lambda e: (e["block_number"], e["log_index"]))
        return rows, decoded

    def _insert_events(self, conn: sa.Connection, rows: list[Any]) -> None:
        raw = conn.connection.driver_connection
        if self.sqlite:  # executemany straight on the DBAPI connection (same transaction)
            raw.executemany(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                rows)
            return
        with raw.cursor() as cur, cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for i in range(0, len(rows), 5_000):  # lines pre-formatted; a few MB per write
                copy.write("".join(rows[i:i + 5_000]))

    # ------------------------------------------------------------------ reorgs
    def _handle_reorg(self, tip: Tip) -> Tip:
        """Roll back to the common ancestor of the index and the canonical chain (one transaction)."""
        with self.engine.connect() as conn:
            stored = conn.execute(sa.select(blocks.c.number, blocks.c.hash).order_by(blocks.c.number.desc())).all()
        canonical = self.rpc.headers([n for n, _ in stored]) if stored else []
        ancestor: Tip | None = None
        for (number, h), c in zip(stored, canonical):
            if c is not None and c["hash"] == h:
                ancestor = Tip(number, h)
                break
        depth = tip.number - ancestor.number if ancestor else None
        if ancestor is None or depth is None or depth > self.config.max_reorg_depth:
            lowest = stored[-1][0] if stored else tip.number
            raise ReorgTooDeepError(lowest, self.config.max_reorg_depth)
        if depth == 0:  # the fork resolved back to our tip between two requests: nothing to undo
            raise _Retry()
        with self.engine.begin() as conn:
            self.lock.check(conn)
            rollback_derived(conn, ancestor.number)
            conn.execute(sa.delete(events).where(events.c.block_number > ancestor.number))
            conn.execute(sa.delete(blocks).where(blocks.c.number > ancestor.number))
            conn.execute(sa.update(checkpoint).values(
                block_number=ancestor.number, block_hash=ancestor.hash, updated_at=time.time(),
                reorgs=checkpoint.c.reorgs + 1))
            note = Notification("reorg", ancestor.number, depth=depth)
            if not self.sqlite:
                conn.execute(sa.select(sa.func.pg_notify(PG_CHANNEL, json.dumps(note.as_dict()))))
        self.metrics.reorgs += 1
        log.warning("reorg: rolled back %d blocks to %d", depth, ancestor.number)
        self.notifier.publish(note)
        return ancestor

    # ------------------------------------------------------------------ maintenance
    def rebuild(self) -> int:
        """Re-derive every derived table from the stored raw events; returns rows written."""
        tip = self._tip()
        floor = (tip.number if tip else 0) - self.config.max_reorg_depth + 1
        with self.engine.begin() as conn:
            self.lock.check(conn)
            return rebuild(conn, floor)
