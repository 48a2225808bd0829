"""The sync engine: ranged eth_getLogs below the safe head, each block by its hash above it, reorg-safe.

Ranges come from `fabrica.indexer.fetch`, fetched and decoded ahead in threads; nothing fetched is trusted
until it is checked here against the tip (parent hashes, block hashes of the logs) right before its commit.

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
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from eth_abi.exceptions import DecodingError
from fabrica.protocol.deployment import Deployment
from sqlalchemy.engine import Engine

from .db import WriterLock, is_sqlite, make_engine, migrate
from .decode import Decoder
from .derive import Deriver, rebuild, rollback_derived
from .errors import ChainMismatchError, IndexerError, ReorgTooDeepError
from .fetch import ChainMoved, Chunks, Fetched, Fetcher, RowEncoder, collect_young, gc_paused
from .notify import PG_CHANNEL, Notification, Notifier
from .rpc import Rpc
from .onchain import Call, ChainView
from .rpc import RpcError
from .schema import blocks, checkpoint, currencies, events, reorg_log, token_terms, tokens, undo_log

log = logging.getLogger(__name__)
COLLECT_EVERY = 64  # batches between two collections of reference cycles during a long sync
EVENT_COLUMNS = ("chain_id", "block_number", "log_index", "block_hash", "tx_hash", "address", "contract", "name",
                 "topics", "data", "args")


def _chain_order(e: dict[str, Any]) -> tuple[int, int]:
    return e["block_number"], e["log_index"]


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


@dataclass
class IndexerConfig:
    confirmations: int = 12  # blocks below head that are fetched with ranged getLogs
    max_reorg_depth: int = 64  # unfinalized window kept; a deeper fork halts
    initial_range: int = 2_000
    max_range: int = 50_000
    min_range: int = 1
    target_logs: int = 20_000  # stop growing the range once a batch returns this many logs
    poll_interval: float = 1.0
    prefetch: bool = True  # fetch and decode the next ranges while writing the current one
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
        self.sqlite = is_sqlite(self.engine)
        self.chain_id = deployment.chain_id
        self.fab = deployment.address("FabToken").lower()  # slash compensation and its fees are kept in FAB
        if migrate_schema:
            migrate(self.engine)
        self.lock = WriterLock(self.engine).acquire()
        self.fetcher = Fetcher(self.rpc, self.decoder, RowEncoder(self.decoder, self.chain_id, self.sqlite),
                               self.config, self.metrics, self.config.initial_range)

    def close(self) -> None:
        self.fetcher.close()
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
        with gc_paused():  # see gc_paused; collected every COLLECT_EVERY batches, between two of them
            tip = self._tip() or self._init_tip()
            steps = 0
            while True:
                try:
                    tip, done = self._step(tip, until)
                except ChainMoved:
                    self.fetcher.drop()
                    tip = self._tip() or self._init_tip()
                    continue
                except BaseException:
                    self.fetcher.drop()
                    raise
                if done:
                    self._learn_tokens()
                    return self.metrics
                steps += 1
                if steps % COLLECT_EVERY == 0:
                    collect_young()

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Follow the head until `stop()` returns true."""
        while not stop():
            self.sync()
            end = time.monotonic() + self.config.poll_interval
            while time.monotonic() < end and not stop():
                time.sleep(min(0.1, self.config.poll_interval))

    def _step(self, tip: Tip, until: int | None) -> tuple[Tip, bool]:
        calls = [("eth_blockNumber", [])]  # the head and the tip's canonical header in one round trip
        if tip.number >= 0:
            calls.append(("eth_getBlockByNumber", [hex(tip.number), False]))
        answers = self.rpc.batch(calls)
        head = int(answers[0], 16)
        if until is not None:
            head = min(head, until)
        canonical = answers[1] if tip.number >= 0 else None
        if tip.hash and (canonical is None or canonical["hash"] != tip.hash):
            return self._handle_reorg(tip), False
        self.metrics.head = head
        if tip.number >= head:
            self._update_lag(tip, head)
            return tip, True
        safe = head - self.config.confirmations
        fetched = self.fetcher.next(tip.number + 1, head, safe)
        try:
            if fetched.hot:
                return self._apply_hot(tip, fetched, head), False
            return self._apply_cold(tip, fetched, head, safe), False
        finally:
            fetched.chunks.cancel()  # a range refused (reorg, moved chain) need not be decoded to the end

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

    # ------------------------------------------------------------------ writing
    def _apply_cold(self, tip: Tip, fetched: Fetched, head: int, safe: int) -> Tip:
        """Check a ranged batch against the tip and the chain, then commit it."""
        start, end, headers, logs = tip.number + 1, fetched.end, fetched.headers, fetched.logs
        if any(h is None for h in headers):
            raise ChainMoved()
        by_number = {int(h["number"], 16): h for h in headers}
        numbers = sorted(by_number)
        if end not in by_number:
            raise ChainMoved()
        first = by_number.get(start)
        if first is not None and tip.hash and first["parentHash"] != tip.hash:
            return self._handle_reorg(tip)
        for prev, cur in zip(numbers, numbers[1:]):
            if cur == prev + 1 and by_number[cur]["parentHash"] != by_number[prev]["hash"]:
                raise ChainMoved()
        for number, block_hash in {(lg.blockNumber, lg.blockHash) for lg in logs}:
            h = by_number.get(int(number, 16))
            if h is not None and h["hash"] != block_hash:
                raise ChainMoved()
        new_tip = Tip(end, by_number[end]["hash"])
        self._commit(tip, new_tip, fetched.chunks, list(by_number.values()), head)
        return new_tip

    def _apply_hot(self, tip: Tip, fetched: Fetched, head: int) -> Tip:
        """Link fetched unconfirmed blocks to the tip by parent hash, then commit them."""
        if tip.hash and fetched.headers[0]["parentHash"] != tip.hash:
            return self._handle_reorg(tip)
        new_tip = Tip(fetched.end, fetched.headers[-1]["hash"])
        self._commit(tip, new_tip, fetched.chunks, fetched.headers, head)
        return new_tip

    def _commit(self, tip: Tip, new_tip: Tip, chunks: Chunks, headers: list[dict[str, Any]], head: int) -> None:
        """Write a range's events (chunk by chunk as the fetch thread decodes them), derived rows, undo records,
        block hashes and the new checkpoint in one transaction."""
        keep_from = new_tip.number - self.config.max_reorg_depth
        with self.engine.begin() as conn:
            self.lock.check(conn)
            current = conn.execute(sa.select(checkpoint.c.block_number, checkpoint.c.block_hash)).one()
            if (current.block_number, current.block_hash) != (tip.number, tip.hash):
                raise ChainMoved()  # never write over a checkpoint we did not start from
            count, decoded = self._insert_events(conn, chunks)
            decoded.sort(key=_chain_order)  # nodes return logs in order; the deriver must never see them otherwise
            known = {int(h["number"], 16): h for h in headers}
            deriver = Deriver(conn, undo_floor=keep_from + 1, fab=self.fab,
                              block_times=lambda wanted: self._block_times(wanted, known))
            deriver.apply(decoded)
            written = deriver.flush() + count
            header_rows = [{"number": int(h["number"], 16), "hash": h["hash"], "parent_hash": h["parentHash"],
                            "timestamp": int(h["timestamp"], 16)} for h in headers]
            if header_rows:
                conn.execute(sa.insert(blocks), header_rows)
            conn.execute(sa.delete(blocks).where(blocks.c.number < keep_from))
            conn.execute(sa.delete(undo_log).where(undo_log.c.block_number <= keep_from))
            conn.execute(sa.update(checkpoint).values(
                block_number=new_tip.number, block_hash=new_tip.hash, updated_at=time.time(),
                rows_written=checkpoint.c.rows_written + written))
            note = Notification("events", new_tip.number, from_block=tip.number + 1, count=count) if count else None
            if note and not self.sqlite:
                conn.execute(sa.select(sa.func.pg_notify(PG_CHANNEL, json.dumps(note.as_dict()))))
        self.metrics.rows_written += written
        self.metrics.events_written += count
        self._update_lag(new_tip, head)
        if note:
            self.notifier.publish(note)

    def _insert_events(self, conn: sa.Connection, chunks: Chunks) -> tuple[int, list[dict[str, Any]]]:
        """Insert the raw events chunk by chunk; returns their number and the events the deriver handles."""
        raw = conn.connection.driver_connection
        count = 0
        decoded: list[dict[str, Any]] = []
        if self.sqlite:  # executemany straight on the DBAPI connection (same transaction)
            sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
            for rows, events_ in chunks:
                raw.executemany(sql, rows)
                count += len(rows)
                decoded += events_
            return count, decoded
        with raw.cursor() as cur, cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for rows, events_ in chunks:  # lines pre-formatted; the server inserts while the next chunk decodes
                copy.write("".join(rows))
                count += len(rows)
                decoded += events_
        return count, decoded

    def _block_times(self, wanted: dict[int, str], known: dict[int, dict[str, Any]]) -> dict[int, int]:
        """Timestamps of blocks `wanted` ({number: hash of the block the events came from}), from the headers in
        hand or asked for; a header of another hash means the chain moved under the batch."""
        missing = sorted(n for n in wanted if n not in known)
        found = dict(known)
        if missing:
            found.update({n: h for n, h in zip(missing, self.rpc.headers(missing)) if h is not None})
        out = {}
        for number, block_hash in wanted.items():
            h = found.get(number)
            if h is None or (block_hash is not None and h["hash"] != block_hash):
                raise ChainMoved()
            out[number] = int(h["timestamp"], 16)
        return out

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
            raise ChainMoved()
        with self.engine.begin() as conn:
            self.lock.check(conn)
            rollback_derived(conn, ancestor.number)
            conn.execute(sa.delete(events).where(events.c.block_number > ancestor.number))
            conn.execute(sa.delete(blocks).where(blocks.c.number > ancestor.number))
            conn.execute(sa.update(checkpoint).values(
                block_number=ancestor.number, block_hash=ancestor.hash, updated_at=time.time(),
                reorgs=checkpoint.c.reorgs + 1))
            seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(reorg_log.c.seq), 0))).scalar_one() + 1
            conn.execute(sa.insert(reorg_log).values(seq=seq, ancestor_block=ancestor.number, depth=depth,
                                                     old_tip=tip.number, at=time.time()))
            note = Notification("reorg", ancestor.number, depth=depth)
            if not self.sqlite:
                conn.execute(sa.select(sa.func.pg_notify(PG_CHANNEL, json.dumps(note.as_dict()))))
        self.metrics.reorgs += 1
        log.warning("reorg: rolled back %d blocks to %d", depth, ancestor.number)
        self.notifier.publish(note)
        return ancestor

    # ------------------------------------------------------------------ token metadata
    def _learn_tokens(self) -> None:
        """Record symbol and decimals of FAB, of every token with terms and of every currency the design economy
        accepts, once each (for amounts in units)."""
        with self.engine.connect() as conn:
            known = set(conn.execute(sa.select(tokens.c.address)).scalars())
            wanted = ({self.fab} | set(conn.execute(sa.select(token_terms.c.token)).scalars())
                      | set(conn.execute(sa.select(currencies.c.token)).scalars()))
        found = []
        view = ChainView(self.rpc, self.deployment, "latest")
        for address in sorted(wanted - known):
            try:  # any ERC-20's symbol() and decimals(), through FabToken's ABI
                symbol, decimals = view.call([Call("FabToken", "symbol", (), address),
                                              Call("FabToken", "decimals", (), address)])
            except (RpcError, DecodingError, ValueError, OverflowError) as exc:  # not a standard ERC-20: amounts stay in base units
                log.warning("cannot read the symbol and decimals of token %s: %s", address, exc)
                continue
            found.append({"address": address, "symbol": str(symbol)[:32], "decimals": int(decimals)})
        if found:
            with self.engine.begin() as conn:
                self.lock.check(conn)
                conn.execute(sa.insert(tokens), found)

    # ------------------------------------------------------------------ maintenance
    def rebuild(self) -> int:
        """Re-derive every derived table from the stored raw events; returns rows written."""
        tip = self._tip()
        floor = (tip.number if tip else 0) - self.config.max_reorg_depth + 1
        with self.engine.begin() as conn:
            self.lock.check(conn)
            return rebuild(conn, floor, self.fab, block_times=lambda wanted: self._block_times(wanted, {}))
