"""WebSocket figures of the gateway's stream, for bench/gateway.py: event-to-client latency and clients without loss.

Both functions measure a gateway you give (`base_url`, its index at `db_url` followed by a running indexer, and an
`act` that makes one chain event on `topic`), or, with `base_url=None`, bring up their own stack from nothing but a
PostgreSQL URL and a scratch folder (`devnet_stack`): anvil with Fabrica deployed, a fresh schema in `db_url`'s
database followed by `fabrica indexer run --confirmations 0`, and `fabrica gateway serve --workers 1` on it.
The events are real: `act` deposits fUSD into the job market as the devnet's customer (one transaction, one
block, one `Deposited` event on topic `account:<customer>`).

    import gateway_ws
    gateway_ws.event_to_client_latency(db_url="postgresql://postgres@127.0.0.1:5432/test", home=Path("/tmp/x"))
    gateway_ws.ws_clients_without_loss(db_url=..., home=..., clients=1000)
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FABRICA = str(Path(sys.executable).with_name("fabrica"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _say(msg: str) -> None:
    print(f"[bench/gateway_ws] {msg}", file=sys.stderr, flush=True)


@dataclass
class Stack:
    """A gateway over a live index of a devnet, and how to make one event on `topic`."""

    base_url: str
    db_url: str
    rpc_url: str
    topic: str
    act: Callable[[], int]  # one chain event on `topic`; returns its block number


def _depositor(rpc_url: str, deployment: Any) -> tuple[str, Callable[[], int]]:
    """The devnet customer's address and an action depositing 1 fUSD into the market (approved once)."""
    from fabrica.protocol.accounts import DEV_ROLES, dev_account
    from fabrica.protocol.artifacts import abi
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    customer = dev_account(DEV_ROLES["customer"]).address
    market = w3.eth.contract(address=deployment.address("JobMarket"), abi=abi("JobMarket"))
    usd = w3.eth.contract(address=deployment.payment_tokens["fUSD"], abi=abi("TestStablecoin"))
    w3.eth.wait_for_transaction_receipt(usd.functions.approve(market.address, 2**255).transact({"from": customer}))

    def deposit() -> int:
        tx = market.functions.deposit(usd.address, 10**6).transact({"from": customer, "gas": 200_000})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError(f"deposit {tx.hex()} reverted")
        return int(receipt["blockNumber"])

    return customer, deposit


def _wait(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes] | None, log: Path,
          timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s: {log.read_text()[-2000:]}")


def _raise_fd_limit(wanted: int) -> None:
    """Each client needs a socket here and one in the gateway (a child inherits the raised limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


@contextmanager
def devnet_stack(db_url: str, home: Path | str | None = None, *, workers: int = 1) -> Iterator[Stack]:
    """anvil with Fabrica deployed (in `home`, default a temporary folder), a fresh schema of `db_url`'s PostgreSQL
    database indexed by `fabrica indexer run --confirmations 0 --poll 0.05`, and `fabrica gateway serve` with
    `workers` workers on it (per-IP limits raised: the benchmark connects many clients from one address). The
    schema, processes and devnet are removed on exit."""
    import httpx
    import sqlalchemy as sa
    from fabrica.protocol.devnet import Devnet

    _raise_fd_limit(8192)
    root = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="bench-gw-ws-"))
    work = root / f"ws-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    schema = f"ws_bench_{uuid.uuid4().hex[:10]}"
    base = sa.make_url(db_url).set(drivername="postgresql+psycopg")
    base = base.set(query={k: v for k, v in base.query.items() if k != "options"})
    admin = sa.create_engine(base)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    net = Devnet(work, port=_free_port())
    procs: list[tuple[subprocess.Popen[bytes], Any]] = []
    try:
        deployment = net.up()
        env = {**os.environ, "FABRICA_HOME": str(work), "FABRICA_RPC_URL": net.rpc_url}
        ix_log = open(work / "indexer.log", "w")  # noqa: SIM115 - closed below
        ix = subprocess.Popen([FABRICA, "indexer", "run", "--db", url, "--rpc-url", net.rpc_url, "--home", str(work),
                               "--confirmations", "0", "--poll", "0.05", "--json"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=ix_log, start_new_session=True)
        procs.append((ix, ix_log))
        engine = sa.create_engine(url)

        def indexed() -> bool:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT block_number FROM checkpoint")).scalar() is not None

        _wait("the indexer", indexed, ix, work / "indexer.log")
        engine.dispose()
        port = _free_port()
        gw_env = {**env, "FABRICA_GATEWAY_RATE_PER_IP": "100000", "FABRICA_GATEWAY_BURST_PER_IP": "100000"}
        gw_log = open(work / "gateway.log", "w")  # noqa: SIM115 - closed below
        gw = subprocess.Popen([FABRICA, "gateway", "serve", "--db", url, "--port", str(port), "--workers",
                               str(workers), "--no-access-log"], cwd=work, env=gw_env, stdout=gw_log,
                              stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((gw, gw_log))
        base_url = f"http://127.0.0.1:{port}"
        _wait("the gateway", lambda: httpx.get(base_url + "/healthz", timeout=1).status_code == 200, gw,
              work / "gateway.log")
        customer, act = _depositor(net.rpc_url, deployment)
        yield Stack(base_url, url, net.rpc_url, f"account:{customer.lower()}", act)
    finally:
        for proc, log in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            log.close()
        net.down()
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(work if home is not None else root, ignore_errors=True)


def _ws_url(base_url: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/v1/stream"


async def _subscribed(ws: Any, topic: str) -> None:
    await ws.send(json.dumps({"op": "subscribe", "topics": [topic]}))
    while True:
        msg = json.loads(await ws.recv())
        if msg["type"] == "subscribed":
            return
        if msg["type"] == "error":
            raise RuntimeError(f"subscribe {topic} refused: {msg['detail']}")


# ---------------------------------------------------------------------------------------------- latency
def event_to_client_latency(base_url: str | None = None, db_url: str | None = None, *, home: Path | str | None = None,
                            samples: int = 50, warmup: int = 3, act: Callable[[], int] | None = None,
                            topic: str | None = None, timeout_s: float = 15.0) -> list[float]:
    """Milliseconds from the indexer's commit of a block (its NOTIFY on `fabrica_indexer`, heard here) to a
    WebSocket client of the gateway receiving that block's event, one value per sample (sequential samples).

    base_url: the gateway (http://host:port); None brings up `devnet_stack(db_url, home)` and measures that.
    db_url: the PostgreSQL database the indexer writes (LISTENed to here; any schema of it: NOTIFY is per
        database, so keep other indexers off it while measuring).
    home: scratch folder for the devnet when base_url is None (default: a temporary one).
    samples: measured events; warmup: events made first and not measured.
    act: makes one chain event on `topic` and returns its block number (needed with base_url).
    topic: the stream topic `act`'s events appear on, e.g. account:<0x…> (needed with base_url).
    timeout_s: how long one sample may take before the measurement fails.
    """
    if db_url is None:
        raise ValueError("db_url (PostgreSQL) is required: the latency is measured from the indexer's NOTIFY")
    if base_url is None:
        with devnet_stack(db_url, home) as stack:
            return event_to_client_latency(stack.base_url, stack.db_url, samples=samples, warmup=warmup,
                                           act=stack.act, topic=stack.topic, timeout_s=timeout_s)
    if act is None or topic is None:
        raise ValueError("with base_url, give act (one chain event on topic) and topic")
    return asyncio.run(_latency(base_url, db_url, samples, warmup, act, topic, timeout_s))


async def _latency(base_url: str, db_url: str, samples: int, warmup: int, act: Callable[[], int], topic: str,
                   timeout_s: float) -> list[float]:
    import psycopg
    import sqlalchemy as sa
    import websockets

    committed: dict[int, float] = {}  # block -> when its commit's NOTIFY arrived
    received: dict[int, float] = {}  # block -> when the client got its event
    changed = asyncio.Event()
    conninfo = sa.make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def listen(conn: Any) -> None:
        async for note in conn.notifies():
            now = time.perf_counter()
            body = json.loads(note.payload)
            if body.get("kind") == "events":
                for b in range(int(body.get("from_block") or body["block"]), int(body["block"]) + 1):
                    committed.setdefault(b, now)
                changed.set()

    async def read(ws: Any) -> None:
        async for raw in ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg["type"] == "event":
                received.setdefault(int(msg["block"]), now)
                changed.set()

    out: list[float] = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn, \
            websockets.connect(_ws_url(base_url), compression=None, proxy=None) as ws:
        await conn.execute("LISTEN fabrica_indexer")
        await _subscribed(ws, topic)
        tasks = [asyncio.create_task(listen(conn)), asyncio.create_task(read(ws))]
        try:
            for i in range(warmup + samples):
                block = await asyncio.to_thread(act)
                deadline = time.monotonic() + timeout_s
                while block not in committed or block not in received:
                    for t in tasks:
                        if t.done():
                            raise RuntimeError(f"measurement stopped: {t.exception()!r}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"block {block}: no NOTIFY and event within {timeout_s} s "
                                           f"(notified {block in committed}, received {block in received})")
                    changed.clear()
                    try:
                        await asyncio.wait_for(changed.wait(), 0.5)
                    except TimeoutError:
                        pass
                if i >= warmup:
                    out.append(round((received[block] - committed[block]) * 1000, 3))
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return out


# ---------------------------------------------------------------------------------------------- many clients
def ws_clients_without_loss(base_url: str | None = None, clients: int = 1000, *, db_url: str | None = None,
                            home: Path | str | None = None, messages: int = 20, act: Callable[[], int] | None = None,
                            topic: str | None = None, connect_concurrency: int = 100,
                            timeout_s: float = 120.0, detail: dict[str, Any] | None = None) -> int:
    """How many of `clients` concurrent WebSocket clients of ONE gateway worker receive every one of `messages`
    published events, each exactly once and in chain order.

    base_url: the gateway (one worker: connections from one address may land on any worker otherwise); None
        brings up `devnet_stack(db_url, home)` (one worker, per-IP limits raised).
    clients: concurrent connections, all subscribed to `topic` before the first event is made.
    db_url, home: for `devnet_stack` when base_url is None (db_url: a PostgreSQL URL).
    messages: events made with `act` one after another, as fast as the chain takes them.
    act, topic: one chain event on `topic` (needed with base_url; the gateway's per-IP burst must admit
        `clients` connections, e.g. FABRICA_GATEWAY_BURST_PER_IP=5000, and its open-file limit hold them).
    connect_concurrency: connections opened at once while connecting.
    timeout_s: how long after the last event the clients may take to receive everything.
    detail: when a dict, filled with counts (connected, complete, closed, duplicates, wrong order, seconds).
    """
    if base_url is None:
        if db_url is None:
            raise ValueError("give base_url, or db_url (PostgreSQL) for a stack of its own")
        with devnet_stack(db_url, home) as stack:
            return ws_clients_without_loss(stack.base_url, clients, messages=messages, act=stack.act,
                                           topic=stack.topic, connect_concurrency=connect_concurrency,
                                           timeout_s=timeout_s, detail=detail)
    if act is None or topic is None:
        raise ValueError("with base_url, give act (one chain event on topic) and topic")
    _raise_fd_limit(clients + 256)
    return asyncio.run(_many(base_url, clients, messages, act, topic, connect_concurrency, timeout_s,
                             detail if detail is not None else {}))


class _Counter:
    """What one client received: the (block, log index) of each event, and whether it was closed on us."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.closed: str | None = None


async def _many(base_url: str, clients: int, messages: int, act: Callable[[], int], topic: str,
                concurrency: int, timeout_s: float, detail: dict[str, Any]) -> int:
    import websockets

    url = _ws_url(base_url)
    gate = asyncio.Semaphore(concurrency)
    counters = [_Counter() for _ in range(clients)]
    conns: list[Any] = []

    async def connect(c: _Counter) -> Any:
        async with gate:
            for attempt in range(20):  # a per-IP limit answers 403 at the handshake: back off and retry
                try:
                    ws = await websockets.connect(url, compression=None, proxy=None, open_timeout=30,
                                                  ping_interval=None, max_queue=None)
                    await _subscribed(ws, topic)
                    return ws
                except (TimeoutError, OSError, websockets.InvalidStatus):
                    await asyncio.sleep(0.2 * (attempt + 1))
            c.closed = "could not connect"
            return None

    async def read(ws: Any, c: _Counter) -> None:
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "event":
                    c.seen.append((int(msg["block"]), int(msg["log_index"])))
        except websockets.ConnectionClosed as exc:
            c.closed = f"closed {exc.rcvd.code if exc.rcvd else 1006}: {exc.rcvd.reason if exc.rcvd else ''}"

    t0 = time.perf_counter()
    conns = await asyncio.gather(*(connect(c) for c in counters))
    connected = sum(ws is not None for ws in conns)
    t_connect = time.perf_counter() - t0
    _say(f"{connected} of {clients} clients connected and subscribed in {t_connect:.1f} s")
    readers = [asyncio.create_task(read(ws, c)) for ws, c in zip(conns, counters) if ws is not None]
    t1 = time.perf_counter()
    made: list[int] = []
    for _ in range(messages):
        made.append(await asyncio.to_thread(act))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len(c.seen) >= messages or c.closed for c, ws in zip(counters, conns) if ws is not None):
            break
        await asyncio.sleep(0.1)
    t_deliver = time.perf_counter() - t1
    for ws in conns:
        if ws is not None:
            await ws.close()
    for t in readers:
        t.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    complete = dup = disorder = 0
    for c, ws in zip(counters, conns):
        if ws is None:
            continue
        dup += len(c.seen) != len(set(c.seen))
        disorder += c.seen != sorted(c.seen)
        if len(c.seen) == messages and len(set(c.seen)) == messages and c.seen == sorted(c.seen) \
                and sorted({b for b, _ in c.seen}) == sorted(set(made)):
            complete += 1
    detail.update({"clients": clients, "connected": connected, "complete": complete, "messages": messages,
                   "closed": sum(1 for c in counters if c.closed and c.closed != "could not connect"),
                   "duplicates": dup, "out_of_order": disorder, "connect_s": round(t_connect, 2),
                   "publish_and_deliver_s": round(t_deliver, 2)})
    _say(f"{complete} of {clients} clients got all {messages} events ({detail})")
    return complete


def _main() -> None:
    """`python bench/gateway_ws.py [clients] [samples]`: both figures on a stack of their own (prints JSON)."""
    db = os.environ.get("FABRICA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    with devnet_stack(db) as stack:
        lat = event_to_client_latency(stack.base_url, db, samples=samples, act=stack.act, topic=stack.topic)
        detail: dict[str, Any] = {}
        ok = ws_clients_without_loss(stack.base_url, clients, act=stack.act, topic=stack.topic, detail=detail)
    lat.sort()
    print(json.dumps({"event_to_client_ms": {"samples": len(lat), "p50": lat[len(lat) // 2],
                                             "p95": lat[min(len(lat) - 1, int(0.95 * len(lat)))], "max": lat[-1]},
                      "ws_clients_without_loss": ok, "detail": detail}))


if __name__ == "__main__":
    _main()
