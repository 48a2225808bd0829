"""Indexer benchmark: backfill >= 100 000 Fabrica events from a local anvil into SQLite and PostgreSQL.

Prints one JSON object as its last line: events/s for the indexer (decoded, raw + derived tables,
checkpointed) into each database (the median of `--repeat` backfills into fresh databases, alternating
backends), its ratio to the anchor (a plain web3.py get_logs + decode + insert loop into SQLite, no derived
tables, no reorg safety) measured in the same run on the same chain, the indexer's own CPU time per event
(the wall rate also pays for anvil and the database server, and for whatever else the machine runs), the
machine's load average while it ran, and the head lag under a steady load.

    python bench/indexer.py [--events 100000] [--repeat 3] [--postgres URL]
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.protocol.accounts import dev_account
from fabrica.protocol.client import Fabrica
from fabrica.protocol.devnet import Devnet

ACCOUNTS = 10
TXS_PER_BLOCK = 2_000
GOAL_EVENTS_PER_S = 30_000


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Load:
    """Generates Fabrica events cheaply: unsigned txs anvil signs (dev accounts), batched, big blocks.

    Half the transactions are market deposits (one Deposited event each, updating the derived balances);
    half are FAB transfers between self-delegated holders (Transfer + two DelegateVotesChanged).
    """

    def __init__(self, rpc_url: str, fab: Fabrica) -> None:
        self.url = rpc_url
        self.http = httpx.Client(timeout=300)
        self.fab = fab
        self.accounts = [dev_account(i).address for i in range(ACCOUNTS)]
        usd = fab.deployment.payment_tokens["fUSD"]
        self.deposit = fab.market.encode_abi("deposit", [usd, 1])
        self.market = fab.market.address
        self.token = fab.fab.address
        self.transfers = [fab.fab.encode_abi("transfer", [self.accounts[(i + 1) % ACCOUNTS], 1])
                          for i in range(ACCOUNTS)]
        for i, a in enumerate(self.accounts):
            c = fab.with_account(dev_account(i))
            c.approve(usd, self.market, 10**30)
            self.rpc("eth_sendTransaction", [{"from": a, "to": self.token,
                                              "data": fab.fab.encode_abi("delegate", [a])}])
        self.nonces = [int(self.rpc("eth_getTransactionCount", [a, "pending"]), 16) for a in self.accounts]

    def rpc(self, method: str, params: list) -> object:
        r = self.http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
        if "error" in r:
            raise RuntimeError(f"{method}: {r['error']}")
        return r["result"]

    def send(self, n: int) -> None:
        batch = []
        for i in range(n):
            k = i % ACCOUNTS
            deposit = (i // ACCOUNTS) % 2 == 0
            batch.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [{
                "from": self.accounts[k], "to": self.market if deposit else self.token,
                "data": self.deposit if deposit else self.transfers[k], "gas": hex(150_000),
                "nonce": hex(self.nonces[k])}]})
            self.nonces[k] += 1
        for start in range(0, len(batch), 1_000):
            answers = self.http.post(self.url, json=batch[start:start + 1_000]).json()
            bad = [a for a in answers if "error" in a]
            if bad:
                raise RuntimeError(f"eth_sendTransaction: {bad[0]['error']}")

    def generate(self, events: int) -> int:
        """Mine blocks of TXS_PER_BLOCK transactions until about `events` events exist; returns blocks mined."""
        self.rpc("evm_setAutomine", [False])
        self.rpc("evm_setBlockGasLimit", [hex(TXS_PER_BLOCK * 150_000)])
        blocks = 0
        made = 0
        while made < events * 1.05:  # a margin: not every transfer moves votes
            self.send(TXS_PER_BLOCK)
            self.rpc("evm_mine", [])
            made += TXS_PER_BLOCK * 2  # 1 event per deposit, 3 per transfer
            blocks += 1
        self.rpc("evm_setAutomine", [True])
        return blocks


def backfill(url: str, rpc_url: str, fab: Fabrica, head: int) -> tuple[float, float, int]:
    """(events/s, indexer CPU seconds per 1 000 events, events) of one backfill into an empty database."""
    with Indexer(url, rpc_url, fab.deployment, IndexerConfig(confirmations=12)) as ix:
        t, cpu = time.perf_counter(), time.process_time()
        m = ix.sync(until=head)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        ix.engine.dispose()
    return m.events_written / elapsed, 1000 * cpu / m.events_written, m.events_written


def postgres_backfill(admin_url: str, rpc_url: str, fab: Fabrica, head: int) -> tuple[float, float, int]:
    """`backfill` into a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url)
    try:
        with admin.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        return backfill(f"{admin_url}?options=-csearch_path%3D{schema}", rpc_url, fab, head)
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def anchor(rpc_url: str, fab: Fabrica, head: int, path: Path) -> tuple[float, int]:
    """The obvious loop: web3.py get_logs per range, web3 decoding, executemany into SQLite."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 300}))
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (block_number INT, log_index INT, tx_hash TEXT, address TEXT, name TEXT,"
               " args TEXT, PRIMARY KEY (block_number, log_index))")
    t = time.perf_counter()
    n = 0
    step = 10
    for start in range(fab.deployment.deployed_block, head + 1, step):
        logs = w3.eth.get_logs({"fromBlock": start, "toBlock": min(head, start + step - 1),
                                "address": list(fab.deployment.contracts.values())})
        rows = []
        for lg in logs:
            decoded = fab.decode_logs([lg])
            if not decoded:
                continue
            e = decoded[0]
            rows.append((e.block_number, e.log_index, e.tx_hash, lg["address"], e.name,
                         json.dumps(e.args, default=lambda v: "0x" + v.hex() if isinstance(v, bytes) else str(v))))
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)", rows)
        db.commit()
        n += len(rows)
    elapsed = time.perf_counter() - t
    db.close()
    return n / elapsed, n


def head_lag(url: str, rpc_url: str, fab: Fabrica, load: Load, seconds: float) -> int:
    """Max blocks the following indexer trails the head while ~200 txs/s arrive in 1-second blocks."""
    stop = threading.Event()
    with Indexer(url, rpc_url, fab.deployment, IndexerConfig(confirmations=2, poll_interval=0.1)) as ix:
        ix.sync()
        runner = threading.Thread(target=ix.run, args=(stop.is_set,), daemon=True)
        runner.start()
        load.rpc("evm_setIntervalMining", [1])
        worst = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            load.send(50)
            time.sleep(0.25)
            head = int(load.rpc("eth_blockNumber", []), 16)
            worst = max(worst, head - ix.metrics.tip)
        load.rpc("evm_setIntervalMining", [0])
        stop.set()
        runner.join(timeout=30)
        ix.engine.dispose()
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--lag-seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3, help="backfills per backend (the median is reported)")
    args = ap.parse_args()
    out: dict[str, object] = {"cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="fabrica-bench-") as tmp:
        home = Path(tmp)
        net = Devnet(home, port=free_port())
        deployment = net.up()
        try:
            fab = Fabrica.connect(net.rpc_url, deployment=deployment)
            load = Load(net.rpc_url, fab)
            t = time.perf_counter()
            out["blocks"] = load.generate(args.events)
            out["generate_s"] = round(time.perf_counter() - t, 1)
            head = fab.w3.eth.block_number
            print(f"generated {out['blocks']} blocks in {out['generate_s']} s", file=sys.stderr)

            runs: dict[str, list[tuple[float, float, int]]] = {"sqlite": [], "postgres": []}
            loads = []
            for i in range(args.repeat):  # alternate, so a burst of load elsewhere hits both backends alike
                for backend in ("sqlite", "postgres"):
                    if backend == "sqlite":
                        run = backfill(f"sqlite:///{home / f'bench{i}.db'}", net.rpc_url, fab, head)
                        # The last one stays for the head-lag run, which follows the head from there.
                        (home / f"bench{i}.db").rename(home / "bench.db")
                    else:
                        run = postgres_backfill(args.postgres, net.rpc_url, fab, head)
                    runs[backend].append(run)
                    loads.append(os.getloadavg()[0])
                    print(f"{backend}: {run[2]} events at {run[0]:,.0f}/s, {run[1]:.3f} CPU-s per 1 000 events "
                          f"(load {loads[-1]:.2f})", file=sys.stderr)
            out["events"] = runs["sqlite"][0][2]
            for backend, rs in runs.items():
                out[f"{backend}_events_per_s"] = round(statistics.median(r[0] for r in rs))
                out[f"{backend}_events_per_s_runs"] = [round(r[0]) for r in rs]
                out[f"{backend}_indexer_cpu_ms_per_1000_events"] = round(statistics.median(r[1] for r in rs) * 1000, 1)
            out["load_avg_1m_during_backfills"] = round(statistics.mean(loads), 2)

            rate, n = anchor(net.rpc_url, fab, head, home / "anchor.db")
            out["anchor_web3_get_logs_insert_events_per_s"] = round(rate)
            out["anchor_events"] = n
            print(f"anchor (web3.py get_logs + insert): {n} events at {rate:,.0f}/s", file=sys.stderr)
            for backend in runs:
                out[f"{backend}_vs_anchor"] = round(out[f"{backend}_events_per_s"] / rate, 1)  # type: ignore[operator]
            out["goal_events_per_s"] = GOAL_EVENTS_PER_S
            out["meets_goal"] = all(out[f"{b}_events_per_s"] >= GOAL_EVENTS_PER_S for b in runs)  # type: ignore[operator]

            out["head_lag_blocks_max"] = head_lag(f"sqlite:///{home / 'bench.db'}", net.rpc_url, fab, load,
                                                  args.lag_seconds)
        finally:
            net.down()
    out["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
