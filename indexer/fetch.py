"""Fetching ahead of the writer: ranged eth_getLogs below the safe head, the unconfirmed blocks by hash above it.

Each range is fetched in a thread, AHEAD ranges ahead of the one being written, and decoded there chunk by
chunk into rows in the backend's input format; the writer inserts each chunk as soon as it is decoded. So the
RPC node computes the next answers, this process decodes, and the database inserts, all at the same time.
Nothing here is trusted yet: the writer checks every fetched range against its tip before committing it.
"""
from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from msgspec.json import encode as _encode

from .decode import Decoder
from .derive import HANDLED
from .rpc import Log, Rpc, RpcError

log = logging.getLogger(__name__)
AHEAD = 2  # ranges in flight ahead of the one being written
CHUNK = 4_096  # logs per decoded chunk handed to the writer
# COPY's text format: backslash escapes, tab separates columns, newline ends a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_DONE = object()

# (event rows ready for the backend: tuples for SQLite, COPY lines for PostgreSQL; events the deriver handles)
Chunk = tuple[list[Any], list[dict[str, Any]]]


class ChainMoved(Exception):
    """The chain moved under a fetch (a log's block hash no longer matches); redo the step."""


class FetchConfig(Protocol):
    max_reorg_depth: int
    max_range: int
    min_range: int
    target_logs: int
    prefetch: bool


class RangeMetrics(Protocol):
    range_size: int


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is decoded or written (nesting and threads allowed).

    A batch allocates a few hundred thousand rows, tuples and dicts that live until its commit; the collector
    would traverse them again and again (a third of the indexer's CPU time in a 100 000-event backfill) and
    find nothing, since rows hold only strings and numbers. Reference counting still frees everything; the
    collector resumes, as the process had it, when the last pause ends (`collect_young` runs it meanwhile).
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


def collect_young() -> None:
    """Collect the young generations now, if the collector was on before the pause: during a long pause (a
    whole backfill) the few reference cycles each batch leaves behind must not pile up."""
    with _gc_lock:
        enabled = _gc_was_enabled if _gc_pauses else gc.isenabled()
    if enabled:
        gc.collect(1)


def copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY text format, every value escaped."""
    return "\t".join(str(v).translate(_COPY_ESCAPES) for v in values) + "\n"


def _dumps(value: Any) -> str:
    return _encode(value).decode()


class Chunks:
    """The decoded chunks of one range, in chain order, readable while the fetch thread still produces them."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.cancelled = False

    def put(self, chunk: Chunk) -> None:
        self._queue.put(chunk)

    def finish(self, error: BaseException | None = None) -> None:
        self._queue.put(error if error is not None else _DONE)

    def cancel(self) -> None:
        """Tell the producer nobody will read the rest."""
        self.cancelled = True

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


@dataclass
class Fetched:
    """One fetched range, not yet checked against the index's tip."""

    start: int
    end: int  # last block covered
    hot: bool  # blocks fetched one by one by hash and linked (above the safe head), else a ranged getLogs
    headers: list[dict[str, Any]]  # cold: the last max_reorg_depth blocks; hot: every block
    logs: list[Log]
    chunks: Chunks


@dataclass
class _Pending:
    start: int
    planned_end: int
    chunks: Chunks
    ready: Future[Fetched]  # resolved once fetched; decoding goes on into `chunks`
    task: Future[None]


class RowEncoder:
    """Decodes logs into event rows for one backend: tuples for SQLite's executemany, COPY text for PostgreSQL."""

    def __init__(self, decoder: Decoder, chain_id: int, sqlite: bool) -> None:
        # (address, topic0) -> (contract, event, args decoder, address, whether a derived table uses it,
        #                       "address<TAB>contract<TAB>event" for COPY lines)
        self.table = {key: (c, n, fn, key[0], (c, n) in HANDLED, f"{key[0]}\t{c}\t{n}")
                      for key, (c, n, fn) in decoder.table.items()}
        self.chain_id = chain_id
        self.sqlite = sqlite

    def encode(self, logs: list[Log]) -> Chunk:
        """Event rows (JSON pre-encoded) and the events the deriver handles, in the order of `logs`.

        One table lookup and one generated decoder call per log.
        """
        rows: list[Any] = []
        decoded: list[dict[str, Any]] = []
        chain_id = self.chain_id
        prefix = f"{chain_id}\t"
        table = self.table
        sqlite = self.sqlite
        numbers: dict[str, int] = {}
        with gc_paused():
            for lg in logs:
                topics = lg.topics
                if not topics:
                    continue
                found = table.get((lg.address, topics[0]))
                if found is None:  # not ours, or a node that writes hex in upper case
                    found = table.get((lg.address.lower(), topics[0].lower()))
                    if found is None:
                        continue
                contract, name, fn, address, handled, mid = found
                args = fn(topics, lg.data)
                bn = numbers.get(lg.blockNumber)
                if bn is None:
                    bn = numbers[lg.blockNumber] = int(lg.blockNumber, 16)
                li = int(lg.logIndex, 16)
                topics_json = '["' + '","'.join(topics) + '"]'
                if sqlite:
                    rows.append((chain_id, bn, li, lg.blockHash, lg.transactionHash, address, contract, name,
                                 topics_json, lg.data, _dumps(args)))
                else:
                    line = (f"{prefix}{bn}\t{li}\t{lg.blockHash}\t{lg.transactionHash}\t{mid}\t{topics_json}\t"
                            f"{lg.data}\t{_dumps(args)}\n")
                    # `in` is a fast scan; only a node's odd strings (or a backslash in a JSON string) need escaping
                    if "\\" in line or "\r" in line or line.find("\n") != len(line) - 1 or line.count("\t") != 10:
                        line = copy_line((chain_id, bn, li, lg.blockHash, lg.transactionHash, address, contract, name,
                                          topics_json, lg.data, _dumps(args)))
                    rows.append(line)
                if handled:
                    decoded.append({"block_number": bn, "log_index": li, "block_hash": lg.blockHash,
                                    "tx_hash": lg.transactionHash,
                                    "contract": contract, "name": name, "args": args})
        return rows, decoded


class Fetcher:
    """The ranges after the index's tip, fetched and decoded ahead in threads."""

    def __init__(self, rpc: Rpc, decoder: Decoder, encoder: RowEncoder, config: FetchConfig, metrics: RangeMetrics,
                 initial_range: int) -> None:
        self.rpc = rpc
        self.addresses = decoder.address_list
        self.encoder = encoder
        self.config = config
        self.metrics = metrics
        self.range = initial_range
        self._pool = ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="fabrica-indexer-fetch")
        self._side = ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="fabrica-indexer-headers")
        self._pending: list[_Pending] = []
        # Ranges decode in chain order (one at a time), so the range the writer needs next gets the CPU first.
        self._turn = threading.Condition()
        self._seq = 0
        self._turn_next = 0

    def close(self) -> None:
        self.drop()
        # A fetch still in flight is of no use any more; don't make Ctrl-C wait for it.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._side.shutdown(wait=False, cancel_futures=True)

    def drop(self) -> None:
        """Forget every range fetched ahead (the tip moved elsewhere, or the sync stopped)."""
        for p in self._pending:
            p.task.cancel()
            p.chunks.cancel()
        self._pending = []
        with self._turn:  # a dropped range waiting for its turn must not hold up the ones after it
            self._turn_next = self._seq
            self._turn.notify_all()

    def next(self, start: int, head: int, safe: int) -> Fetched:
        """The fetched range that starts at `start`, from the ranges fetched ahead when still valid; the ranges
        after it are requested first, so the node already works on them."""
        if self._pending and self._pending[0].start != start:
            self.drop()  # a reorg or a shortened range moved the tip
        fetched = None
        if self.config.prefetch:
            if not self._pending:
                self._submit(start, head, safe)
            first = self._pending.pop(0)
            while len(self._pending) < AHEAD and self._next_start(first) <= head:  # the node works on these now
                self._submit(self._next_start(first), head, safe)
            fetched = first.ready.result()
        # A range planned before the head moved back (a shorter chain) may reach past it: fetch again.
        if fetched is None or fetched.end > (head if fetched.hot else safe):
            if fetched is not None:
                fetched.chunks.cancel()
            self.drop()
            fetched = self._fetch(start, self._plan(start, head, safe), safe, Chunks())
            self._decode(fetched)
        return fetched

    def _next_start(self, first: _Pending) -> int:
        return (self._pending[-1] if self._pending else first).planned_end + 1

    def _submit(self, start: int, head: int, safe: int) -> None:
        end = self._plan(start, head, safe)
        chunks, ready = Chunks(), Future[Fetched]()
        with self._turn:
            seq, self._seq = self._seq, self._seq + 1
        task = self._pool.submit(self._task, seq, start, end, safe, chunks, ready)
        self._pending.append(_Pending(start, end, chunks, ready, task))

    def _plan(self, start: int, head: int, safe: int) -> int:
        """The last block of the range that starts at `start`."""
        return min(safe, start + self.range - 1) if start <= safe else head

    def _task(self, seq: int, start: int, end: int, safe: int, chunks: Chunks, ready: Future[Fetched]) -> None:
        try:
            try:
                fetched = self._fetch(start, end, safe, chunks)
            except BaseException as exc:
                ready.set_exception(exc)
                return
            ready.set_result(fetched)
            with self._turn:
                while seq > self._turn_next and not chunks.cancelled:
                    self._turn.wait()
            self._decode(fetched)
        finally:
            with self._turn:
                self._turn_next = max(self._turn_next, seq + 1)
                self._turn.notify_all()

    def _decode(self, fetched: Fetched) -> None:
        """Decode a fetched range into its chunks (the writer reads them meanwhile)."""
        try:
            logs = fetched.logs
            for i in range(0, len(logs), CHUNK):
                if fetched.chunks.cancelled:
                    break
                fetched.chunks.put(self.encoder.encode(logs[i:i + CHUNK]))
        except BaseException as exc:
            fetched.chunks.finish(exc)
        else:
            fetched.chunks.finish()

    def _fetch(self, start: int, end: int, safe: int, chunks: Chunks) -> Fetched:
        """The range from `start`: ranged getLogs up to `end` at most while below the safe head, else the
        unconfirmed blocks up to `end` one by one; decoding it will fill `chunks`."""
        if start > safe:
            return self._fetch_hot(start, end, chunks)
        # Keep the hashes of the last max_reorg_depth blocks of every batch: the stored window stays
        # contiguous below the tip, so any fork up to that depth finds its common ancestor. They are asked for
        # while the node works on the logs, for the range as planned (again if the node makes it shorter).
        planned = min(end, start + self.range - 1)
        headers = self._side.submit(self.rpc.headers, self._window(start, planned))
        logs, end = self._get_logs(start, end)
        window = headers.result() if end == planned else self.rpc.headers(self._window(start, end))
        return Fetched(start, end, False, window, logs, chunks)  # type: ignore[arg-type]

    def _window(self, start: int, end: int) -> list[int]:
        return list(range(max(start, end - self.config.max_reorg_depth), end + 1))

    def _fetch_hot(self, start: int, head: int, chunks: Chunks) -> Fetched:
        """Blocks start..head, each block's logs fetched by its hash, each block linked to its parent, in two
        round trips."""
        headers = self.rpc.headers(list(range(start, head + 1)))
        if headers[0] is None:
            raise ChainMoved()
        linked = [headers[0]]
        for h in headers[1:]:
            if h is None or h["parentHash"] != linked[-1]["hash"]:
                break  # the chain moves under us: take the linked part, the next step checks the rest
            linked.append(h)
        answers = self.rpc.get_logs_batch([{"blockHash": h["hash"], "address": self.addresses} for h in linked])
        logs: list[Log] = []
        for h, block_logs in zip(linked, answers):
            if any(lg.blockHash != h["hash"] for lg in block_logs):
                raise ChainMoved()
            logs += block_logs
        return Fetched(start, int(linked[-1]["number"], 16), True, linked, logs, chunks)

    def _get_logs(self, start: int, end: int) -> tuple[list[Log], int]:
        """Logs of our contracts in [start, end'] with end' <= end chosen by the adaptive range."""
        while True:
            stop = min(end, start + self.range - 1)
            try:
                logs = self.rpc.get_logs({"fromBlock": hex(start), "toBlock": hex(stop), "address": self.addresses})
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
