"""The sync engine: ranged eth_getLogs below the safe head, block by block above it, reorg-safe.

Every write — raw events, derived rows, undo records, block hashes and the checkpoint — happens in one
transaction, so a crash at any point leaves the index at the previous checkpoint and a restart resumes
with no gap and no duplicate. A fork is detected by comparing the stored hash of the checkpoint block
with the canonical chain and each new block's parent hash with the stored tip (never `removed` flags);
the index rolls back to the common ancestor (raw rows deleted, derived rows restored from the undo log)
in the same transaction that moves the checkpoint, then re-applies the new branch.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.deployment import Deployment
from sqlalchemy.engine import Engine

from .db import WriterLock, is_sqlite, make_engine, migrate
from .decode import Decoder
from .derive import Deriver, rebuild, rollback_derived
from .errors import ChainMismatchError, IndexerError, ReorgTooDeepError
from .notify import PG_CHANNEL, Notification, Notifier
from .rpc import Rpc, RpcError
from .schema import blocks, checkpoint, events, undo_log

try:  # msgspec encodes the args JSON several times faster than the json module (same values)
    from msgspec.json import encode as _encode

    def _dumps(value: Any) -> str:
        return _encode(value).decode()
except ImportError:  # pragma: no cover
    _dumps = json.dumps

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


_Fetched = tuple[list[dict[str, Any]], int, list[dict[str, Any]], tuple[list[tuple], list[dict[str, Any]]]]


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
        self.notifier = notifier or Notifier()
        self.progress = progress
        self.metrics = Metrics(range_size=self.config.initial_range)
        self.range = self.config.initial_range
        self.sqlite = is_sqlite(self.engine)
        self.chain_id = deployment.chain_id
        if migrate_schema:
            migrate(self.engine)
        self.lock = WriterLock(self.engine).acquire()
        # While one cold batch is decoded and written, the next one is fetched.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fabrica-indexer-fetch")
        self._prefetch: tuple[int, Future[_Fetched]] | None = None

    def close(self) -> None:
        self._prefetch = None
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
                self._prefetch = None
                tip = self._tip() or self._init_tip()
                continue
            except BaseException:
                self._prefetch = None
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
        if tip.number < safe:
            return self._cold_batch(tip, head, safe), False
        return self._hot_block(tip, head), False

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
    def _get_logs(self, start: int, end: int) -> tuple[list[dict[str, Any]], int]:
        """Logs of our contracts in [start, end'] with end' <= end chosen by the adaptive range."""
        while True:
            stop = min(end, start + self.range - 1)
            try:
                logs = self.rpc.call("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(stop),
                                                      "address": self.decoder.address_list}])
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

    def _fetch_cold(self, start: int, safe: int) -> _Fetched:
        """Logs, last block, window headers and decoded rows of the next cold range (runs in the fetch thread,
        so decoding overlaps the previous batch's database writes)."""
        logs, end = self._get_logs(start, safe)
        # Keep the hashes of the last max_reorg_depth blocks of every batch: the stored window stays
        # contiguous below the tip, so any fork up to that depth finds its common ancestor.
        numbers = list(range(max(start, end - self.config.max_reorg_depth), end + 1))
        return logs, end, self.rpc.headers(numbers), self._decode(logs)

    def _cold_batch(self, tip: Tip, head: int, safe: int) -> Tip:
        start = tip.number + 1
        pending, self._prefetch = self._prefetch, None
        fetched = pending[1].result() if pending is not None and pending[0] == start else None
        if fetched is None or fetched[1] > safe:  # nothing prefetched, or the chain got shorter since
            fetched = self._fetch_cold(start, safe)
        logs, end, headers, decoded = fetched
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
        for lg in logs:
            h = by_number.get(int(lg["blockNumber"], 16))
            if h is not None and h["hash"] != lg["blockHash"]:
                raise _Retry()
        new_tip = Tip(end, by_number[end]["hash"])
        if end < safe and self.config.prefetch:
            self._prefetch = (end + 1, self._pool.submit(self._fetch_cold, end + 1, safe))
        self._commit(tip, new_tip, decoded, list(by_number.values()), head)
        return new_tip

    def _hot_block(self, tip: Tip, head: int) -> Tip:
        number = tip.number + 1
        header = self.rpc.headers([number])[0]
        if header is None:
            raise _Retry()
        if tip.hash and header["parentHash"] != tip.hash:
            return self._handle_reorg(tip)
        logs = self.rpc.call("eth_getLogs", [{"blockHash": header["hash"], "address": self.decoder.address_list}])
        new_tip = Tip(number, header["hash"])
        self._commit(tip, new_tip, self._decode(logs), [header], head)
        return new_tip

    # ------------------------------------------------------------------ writing
    def _commit(self, tip: Tip, new_tip: Tip, batch: tuple[list[tuple], list[dict[str, Any]]],
                headers: list[dict[str, Any]], head: int) -> None:
        rows, decoded = batch
        keep_from = new_tip.number - self.config.max_reorg_depth
        with self.engine.begin() as conn:
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

    def _decode(self, logs: list[dict[str, Any]]) -> tuple[list[tuple], list[dict[str, Any]]]:
        rows: list[tuple] = []
        decoded: list[dict[str, Any]] = []
        chain_id = self.chain_id
        decode = self.decoder.decode
        for lg in logs:
            d = decode(lg)
            if d is None:
                continue
            contract, name, args = d
            bn, li = int(lg["blockNumber"], 16), int(lg["logIndex"], 16)
            rows.append((chain_id, bn, li, lg["blockHash"], lg["transactionHash"], lg["address"].lower(),
                         contract, name, lg["topics"], lg["data"], args))
            decoded.append({"block_number": bn, "log_index": li, "tx_hash": lg["transactionHash"],
                            "contract": contract, "name": name, "args": args})
        decoded.sort(key=lambda e: (e["block_number"], e["log_index"]))
        return rows, decoded

    def _insert_events(self, conn: sa.Connection, rows: list[tuple]) -> None:
        raw = conn.connection.driver_connection
        if self.sqlite:  # executemany straight on the DBAPI connection (same transaction), JSON pre-encoded
            raw.executemany(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                [(*r[:8], '["' + '","'.join(r[8]) + '"]', r[9], _dumps(r[10])) for r in rows])
            return
        with raw.cursor() as cur, cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((*r[:8], '["' + '","'.join(r[8]) + '"]', r[9], _dumps(r[10])))

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
