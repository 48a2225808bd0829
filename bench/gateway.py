"""Gateway benchmark: the jobs list over PostgreSQL with 100 000 indexed jobs, and the WebSocket stream.

Serves `fabrica gateway serve --workers 1` over a fresh PostgreSQL schema seeded with realistic jobs (and
their specs), then an anchor in the same run: the same query (newest 50, filter-free and by status) served by
a plain FastAPI app with a SQLAlchemy ORM model and a pydantic response model under uvicorn, one worker, the
same loop and HTTP parser. Both are loaded the same way: 32 keep-alive connections, closed loop, a warm-up and
then a fixed measuring window, from a raw-socket asyncio client on uvloop (the cheapest generator at hand: on
a two-core machine the generator competes with the server and PostgreSQL for CPU, and it does so equally for
both servers, which is why the ratio to the anchor is the figure to compare across machines).

The WebSocket figures (event-to-client latency, clients without loss) come from bench/gateway_ws.py.

    python bench/gateway.py [--jobs 100000] [--duration 10] [--warmup 2] [--connections 32] [--postgres URL]

Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("FABRICA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL_REQ_PER_S = 1_500
GOAL_P95_MS = 50.0
GOAL_EVENT_P95_MS = 100.0
GOAL_WS_CLIENTS = 1_000
# Weighted like a live market: most jobs are history, a few are open or in progress.
STATUSES = [("settled", 40), ("open", 12), ("claimed", 10), ("delivered", 8), ("expired", 10), ("cancelled", 8),
            ("refunded", 4), ("disputed", 3), ("resolved", 5)]
PROCESSES = [("FDM", 1, ("PLA", "PETG", "ABS", "TPU")), ("SLA", 2, ("RESIN",)), ("CNC_MILL", 16, ("ALUMINIUM",))]
ZERO = "0x" + "00" * 20


def say(msg: str) -> None:
    print(f"[bench/gateway] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- seeding
def create_schema(base: str) -> tuple[str, str]:
    """A fresh PostgreSQL schema and the URL whose search_path points at it."""
    schema = f"bench_gw_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    admin = sa.create_engine(base)
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + rng.randbytes(nbytes).hex()


def seed(url: str, n_jobs: int, rng: random.Random) -> int:
    """Migrate, create the gateway's tables and COPY `n_jobs` jobs with specs and a checkpoint; the head block."""
    from fabrica.gateway.schema import ensure_schema
    from fabrica.indexer.db import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    ensure_schema(engine)
    customers = [_hex(rng, 20) for _ in range(2_000)]
    operators = [_hex(rng, 20) for _ in range(200)]
    tokens = [_hex(rng, 20) for _ in range(3)]
    creators = [_hex(rng, 20) for _ in range(300)]
    names = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    head = 100 + n_jobs // 2 + 5_000
    t0 = 1_760_000_000
    job_cols = ("job_id", "status", "customer", "token", "node", "royalty_receiver", "amount", "royalty", "collateral",
                "bond", "fee_bps", "delivery_window", "review_window", "deadline", "target_node", "key", "node_id",
                "claim_by", "deliver_by", "review_until", "claimed_at", "hand_backs", "spec_cid", "design_id",
                "proof_cid", "reason_cid", "order_hash", "accepted", "fee", "node_payout", "royalty_paid", "refund",
                "slashed", "compensation", "posted_block", "posted_tx", "updated_block")
    spec_cols = ("job_id", "spec_cid", "title", "process", "material", "process_bits", "material_bits", "size_x",
                 "size_y", "size_z", "error")
    salt = rng.randbytes(8).hex()

    def spec_cid(job_id: int) -> str:
        # the same CID in jobs and gw_job_specs, and errors the gateway does not retry: its spec resolver
        # (run on each index change) must find nothing to rewrite while the servers are compared and loaded
        return f"bafkrei{salt}{job_id:036x}"

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY jobs ({', '.join(job_cols)}) FROM STDIN") as copy:
            for job_id in range(1, n_jobs + 1):
                status = rng.choices(names, weights)[0]
                claimed = status not in ("open", "cancelled")
                op = rng.randrange(len(operators))
                amount = rng.randrange(5, 5_000) * 10**16
                designed = rng.random() < 0.3
                posted = 100 + job_id // 2
                paid = status in ("settled", "resolved", "refunded")
                copy.write_row((
                    job_id, status, rng.choice(customers), rng.choice(tokens), operators[op] if claimed else ZERO,
                    rng.choice(creators) if designed else ZERO, str(amount),
                    str(amount // 20 if designed else 0), str(amount // 10), str(amount // 50), 250, 3 * 86_400,
                    86_400, t0 + job_id * 30 + 7 * 86_400, "0" if rng.random() < 0.8 else str(rng.randrange(1, 200)),
                    job_id % 5_000, op + 1 if claimed else None, t0 + job_id * 30 + 86_400,
                    t0 + job_id * 30 + 4 * 86_400 if claimed else None, None, t0 + job_id * 30 + 3_600 if claimed else None,
                    0 if rng.random() < 0.95 else 1, spec_cid(job_id),
                    str(rng.getrandbits(255)) if designed else "0",
                    f"bafkrei{rng.randbytes(26).hex()}" if status in ("delivered", "settled", "disputed", "resolved") else None,
                    None, _hex(rng, 32) if rng.random() < 0.2 else None, True if status == "settled" else None,
                    str(amount // 40) if paid else None, str(amount - amount // 40) if paid else None,
                    str(amount // 20 if designed else 0) if paid else None, str(amount) if status == "refunded" else None,
                    "0", "0", posted, _hex(rng, 32), min(head, posted + rng.randrange(0, 2_000))))
        with cur.copy(f"COPY gw_job_specs ({', '.join(spec_cols)}) FROM STDIN") as copy:
            for job_id in range(1, n_jobs + 1):
                if rng.random() < 0.05:  # a spec the gateway could not read
                    copy.write_row((job_id, spec_cid(job_id), None, None, None, None, None, None, None, None,
                                    "not a job spec (ValidationError)"))
                    continue
                proc, pbit, mats = rng.choice(PROCESSES)
                mat = rng.choice(mats)
                copy.write_row((job_id, spec_cid(job_id), f"Part {job_id}: bracket rev {rng.randrange(1, 9)}", proc, mat,
                                pbit, 1 << rng.randrange(0, 6), rng.uniform(5, 200), rng.uniform(5, 200),
                                rng.uniform(5, 200), None))
        cur.execute("INSERT INTO checkpoint (id, chain_id, market, block_number, block_hash, reorgs, rows_written, "
                    "updated_at) VALUES (1, 31337, %s, %s, %s, 0, %s, %s)",
                    (_hex(rng, 20), head, _hex(rng, 32), n_jobs, time.time()))
        raw.commit()
        cur.execute("ANALYZE jobs")
        cur.execute("ANALYZE gw_job_specs")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return head


# ---------------------------------------------------------------------- the anchor: plain FastAPI + ORM
class Base(DeclarativeBase):
    """The anchor's ORM base."""


class Job(Base):
    """A job as a plain ORM app maps it (the U256 columns as their stored decimal strings)."""

    __tablename__ = "jobs"
    job_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    status: Mapped[str]
    customer: Mapped[str]
    token: Mapped[str]
    node: Mapped[str]
    node_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    amount: Mapped[str]
    collateral: Mapped[str]
    royalty: Mapped[str]
    fee_bps: Mapped[int]
    deadline: Mapped[int] = mapped_column(sa.BigInteger)
    target_node: Mapped[str]
    spec_cid: Mapped[str]
    design_id: Mapped[str]
    posted_block: Mapped[int] = mapped_column(sa.BigInteger)
    updated_block: Mapped[int] = mapped_column(sa.BigInteger)


class Spec(Base):
    """The columns of a job's spec the list shows."""

    __tablename__ = "gw_job_specs"
    job_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    title: Mapped[str | None]
    process: Mapped[str | None]
    material: Mapped[str | None]


class Checkpoint(Base):
    """The indexer's checkpoint: the indexed block."""

    __tablename__ = "checkpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    block_number: Mapped[int] = mapped_column(sa.BigInteger)


class JobOut(BaseModel):
    """One job of the anchor's response."""

    model_config = ConfigDict(from_attributes=True)
    job_id: int
    status: str
    customer: str
    token: str
    node: str
    node_id: int | None
    amount: str
    collateral: str
    royalty: str
    fee_bps: int
    deadline: int
    target_node: str
    spec_cid: str
    design_id: str
    posted_block: int
    updated_block: int
    title: str | None = None
    process: str | None = None
    material: str | None = None


class Page(BaseModel):
    """The anchor's page."""

    items: list[JobOut]
    next_cursor: str | None
    block: int | None


def anchor_app(db_url: str) -> Any:
    """A plain FastAPI app serving the same jobs list through a SQLAlchemy ORM model and a pydantic model."""
    from fastapi import Depends, FastAPI, HTTPException, Query

    from fabrica.indexer.db import normalize_url

    engine = sa.create_engine(normalize_url(db_url), pool_size=20, max_overflow=20)
    sessions = sessionmaker(engine)
    block_cache: list[float | int | None] = [0.0, None]

    def db() -> Any:
        with sessions() as s:
            yield s

    app = FastAPI()

    @app.get("/v1/jobs", response_model=Page)
    def list_jobs(status: str | None = None, limit: int = Query(50, ge=1, le=100), cursor: str | None = None,
                  session: Session = Depends(db)) -> Page:
        q = sa.select(Job, Spec.title, Spec.process, Spec.material).outerjoin(Spec, Spec.job_id == Job.job_id)
        if status is not None:
            q = q.where(Job.status == status)
        if cursor is not None:
            try:
                q = q.where(Job.job_id < int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[1:]))
            except ValueError:
                raise HTTPException(400, "bad cursor") from None
        rows = session.execute(q.order_by(Job.job_id.desc()).limit(limit)).all()
        items = []
        for job, title, process, material in rows:
            item = JobOut.model_validate(job)
            item.title, item.process, item.material = title, process, material
            items.append(item)
        nxt = None
        if len(items) == limit:
            nxt = base64.urlsafe_b64encode(f"j{items[-1].job_id}".encode()).decode().rstrip("=")
        now = time.monotonic()
        if now - float(block_cache[0] or 0) > 0.25:  # the same quarter-second cache the gateway keeps
            cp = session.get(Checkpoint, 1)
            block_cache[:] = [now, cp.block_number if cp else None]
        return Page(items=items, next_cursor=nxt, block=block_cache[1])

    return app


def serve_anchor(db_url: str, port: int) -> None:
    """Run the anchor under uvicorn, one worker, uvloop and httptools like the gateway."""
    import uvicorn

    uvicorn.run(anchor_app(db_url), host="127.0.0.1", port=port, workers=1, loop="uvloop", http="httptools",
                log_config=None, access_log=False, server_header=False)


# ---------------------------------------------------------------------- servers
class Server:
    """A server subprocess on a port, stopped on exit."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str]) -> None:
        self.name, self.port = name, port
        fd, self.log = tempfile.mkstemp(prefix=f"bench-gw-{name}-", suffix=".log")
        with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return Path(self.log).read_text(errors="replace")[-2000:]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log)


def postgres_cpu_seconds() -> float:
    """User + system CPU of every local PostgreSQL process so far (the server shares this machine's cores)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # a process that ended meanwhile
            continue
        if "(postgres)" in text or "(postmaster)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def fabrica_argv() -> list[str]:
    script = Path(sys.executable).parent / "fabrica"
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                  "from fabrica.protocol.cli.main import main; main()"]


def start_gateway(db_url: str, home: Path) -> Server:
    port = free_port()
    env = {**os.environ, "FABRICA_HOME": str(home), "FABRICA_RPC_URL": f"http://127.0.0.1:{free_port()}",
           # the load comes from one IP: lift the per-IP limit so it measures the endpoint, not the limiter
           "FABRICA_GATEWAY_RATE_PER_IP": "1e9", "FABRICA_GATEWAY_BURST_PER_IP": "1e9"}
    env.pop("FABRICA_CONFIG", None)
    argv = fabrica_argv() + ["gateway", "serve", "--db", db_url, "--workers", "1", "--no-access-log",
                             "--port", str(port), "--log-level", "warning"]
    server = Server("gateway", argv, port, env)
    server.wait_ready("/v1/jobs?limit=1")
    return server


def start_anchor(db_url: str) -> Server:
    port = free_port()
    server = Server("anchor", [sys.executable, str(Path(__file__).resolve()), "--serve-anchor", db_url,
                               "--port", str(port)], port, dict(os.environ))
    server.wait_ready("/v1/jobs?limit=1")
    return server


# ---------------------------------------------------------------------- the load generator
def request_mix() -> list[bytes]:
    """The requests each connection cycles through: filter-free pages and pages by status, 50 jobs each."""
    paths = []
    for status in ("open", "claimed", "settled", "delivered"):
        paths += ["/v1/jobs?limit=50", f"/v1/jobs?status={status}&limit=50"]
    return [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode() for p in paths]


class _Conn(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as the last response is complete."""

    def __init__(self, run: _Run, offset: int) -> None:
        self.run, self.i = run, offset
        self.buf = bytearray()
        self.need = -1  # bytes of the whole response once its head is parsed
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        reqs = self.run.requests
        self.i += 1
        self.sent = time.perf_counter()
        self.transport.write(reqs[self.i % len(reqs)])  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buf[:end]).lower()
                at = head.find(b"content-length:")
                if at < 0:
                    self.run.fail("a response without Content-Length")
                    self.transport.close()  # type: ignore[union-attr]
                    return
                length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
                self.status = int(head[9:12])
                self.need = end + 4 + length
            if len(self.buf) < self.need:
                return
            del self.buf[:self.need]
            self.need = -1
            self.run.record(self.status, time.perf_counter() - self.sent)
            if self.run.stopping:
                self.transport.close()  # type: ignore[union-attr]
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _Run:
    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.measuring = False
        self.stopping = False
        self.latencies: list[float] = []
        self.errors = 0
        self.problems: list[str] = []

    def record(self, status: int, seconds: float) -> None:
        if not self.measuring:
            return
        if status != 200:
            self.errors += 1
        self.latencies.append(seconds)

    def fail(self, why: str) -> None:
        self.problems.append(why)


async def _load(port: int, connections: int, warmup: float, duration: float) -> tuple[_Run, float]:
    loop = asyncio.get_running_loop()
    run = _Run(request_mix())
    conns = []
    for k in range(connections):
        _, proto = await loop.create_connection(lambda k=k: _Conn(run, k), "127.0.0.1", port)
        conns.append(proto)
    await asyncio.sleep(warmup)
    run.measuring = True
    t0 = time.perf_counter()
    await asyncio.sleep(duration)
    run.measuring = False
    elapsed = time.perf_counter() - t0
    run.stopping = True
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), 30)
    return run, elapsed


def load(port: int, connections: int, warmup: float, duration: float) -> tuple[_Run, float, float]:
    """Run the closed-loop load; the run, the measured window in seconds and the generator's CPU seconds."""
    import uvloop

    cpu0 = time.process_time()
    run, elapsed = uvloop.run(_load(port, connections, warmup, duration))
    return run, elapsed, time.process_time() - cpu0


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def measure(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Throughput and latency of one server under the benchmark's load."""
    cpu0, pg0 = server.cpu_seconds(), postgres_cpu_seconds()
    run, elapsed, gen_cpu = load(server.port, args.connections, args.warmup, args.duration)
    server_cpu = server.cpu_seconds() - cpu0  # includes the warm-up
    pg_cpu = postgres_cpu_seconds() - pg0
    if run.problems:
        raise RuntimeError(f"{server.name}: {run.problems[0]}")
    lat = sorted(run.latencies)
    n = len(lat)
    out = {"requests": n, "errors": run.errors, "req_per_s": round(n / elapsed, 1),
           "p50_ms": round(pct(lat, 0.50) * 1000, 2), "p95_ms": round(pct(lat, 0.95) * 1000, 2),
           "p99_ms": round(pct(lat, 0.99) * 1000, 2), "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
           "server_cpu_share": round(server_cpu / (elapsed + args.warmup), 2),
           "generator_cpu_share": round(gen_cpu / (elapsed + args.warmup), 2),
           "postgres_cpu_share": round(pg_cpu / (elapsed + args.warmup), 2),
           "server_cpu_ms_per_request": round(server_cpu / max(1, n) * 1000 * elapsed / (elapsed + args.warmup), 3)}
    if run.errors:
        raise RuntimeError(f"{server.name}: {run.errors} of {n} responses were not 200: {server.tail()}")
    say(f"{server.name}: {out['req_per_s']:,.0f} req/s, p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, "
        f"p99 {out['p99_ms']} ms (CPU: server {out['server_cpu_share']:.0%}, PostgreSQL {out['postgres_cpu_share']:.0%}, "
        f"generator {out['generator_cpu_share']:.0%})")
    return out


def check_same_answers(gateway: Server, anchor: Server) -> None:
    """Both servers must answer the same pages, or the comparison means nothing."""
    import httpx

    for path in ("/v1/jobs?limit=50", "/v1/jobs?status=open&limit=50"):
        a = httpx.get(f"http://127.0.0.1:{gateway.port}{path}", timeout=10).json()
        b = httpx.get(f"http://127.0.0.1:{anchor.port}{path}", timeout=10).json()
        if a["items"] != b["items"] or a["next_cursor"] != b["next_cursor"]:
            first = next(((x, y) for x, y in zip(a["items"], b["items"]) if x != y), None)
            raise RuntimeError(f"the gateway and the anchor answer {path} differently: {len(a['items'])} and "
                               f"{len(b['items'])} items, cursors {a['next_cursor']} and {b['next_cursor']}, "
                               f"first difference {first}")
        if len(a["items"]) != 50:
            raise RuntimeError(f"{path} answered {len(a['items'])} jobs, not 50")


# ---------------------------------------------------------------------- WebSocket figures
def websocket_figures(postgres: str, home: Path, clients: int) -> dict[str, Any]:
    """Event-to-client latency and clients without loss on one devnet stack (anvil, indexer, one-worker gateway),
    measured by bench/gateway_ws.py; null with the reason when that module or a figure is missing."""
    out: dict[str, Any] = {"event_to_client_p95_ms": None, "ws_clients_without_loss": None}
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import gateway_ws  # type: ignore[import-not-found]

        stack_of, latency, without_loss = (gateway_ws.devnet_stack, gateway_ws.event_to_client_latency,
                                           gateway_ws.ws_clients_without_loss)
    except (ImportError, AttributeError) as exc:
        out["ws_note"] = f"bench/gateway_ws.py not usable: {exc}"
        return out
    say("websocket: bringing up anvil, the indexer and a one-worker gateway …")
    try:
        with stack_of(postgres, home / "ws") as stack:
            try:
                ms = sorted(latency(stack.base_url, stack.db_url, act=stack.act, topic=stack.topic))
                out["event_to_client_p95_ms"] = round(pct(ms, 0.95), 2)
                out["event_to_client_p50_ms"] = round(pct(ms, 0.50), 2)
                out["event_to_client_samples"] = len(ms)
                say(f"websocket: event to client p50 {out['event_to_client_p50_ms']} ms, "
                    f"p95 {out['event_to_client_p95_ms']} ms over {len(ms)} events")
            except Exception as exc:  # keep the HTTP figures; say why this one is missing
                out["event_to_client_note"] = f"{exc.__class__.__name__}: {exc}"
            try:
                detail: dict[str, Any] = {}
                out["ws_clients_without_loss"] = without_loss(stack.base_url, clients, act=stack.act, topic=stack.topic,
                                                              detail=detail)
                out["ws_clients_detail"] = detail
                say(f"websocket: {out['ws_clients_without_loss']} of {clients} clients got every message")
            except Exception as exc:
                out["ws_clients_note"] = f"{exc.__class__.__name__}: {exc}"
    except Exception as exc:  # the stack itself did not come up
        out["ws_note"] = f"the WebSocket stack failed: {exc.__class__.__name__}: {exc}"
    return out


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per server")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--postgres", default=PG_BASE, help="PostgreSQL URL (a fresh schema is made and dropped)")
    ap.add_argument("--no-anchor", action="store_true", help="skip the anchor")
    ap.add_argument("--no-ws", action="store_true", help="skip the WebSocket figures")
    ap.add_argument("--ws-clients", type=int, default=GOAL_WS_CLIENTS, help="concurrent WebSocket clients")
    ap.add_argument("--serve-anchor", metavar="DB_URL", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_anchor:
        serve_anchor(args.serve_anchor, args.port)
        return

    rng = random.Random(15)
    schema, db_url = create_schema(args.postgres)
    home = Path(tempfile.mkdtemp(prefix="bench-gw-home-"))
    result: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        head = seed(db_url, args.jobs, rng)
        say(f"seeded {args.jobs:,} jobs with specs into schema {schema} in {time.perf_counter() - t0:.1f} s "
            f"(checkpoint at block {head})")
        gateway = start_gateway(db_url, home)
        try:
            say(f"gateway up on port {gateway.port}: {args.connections} connections, {args.warmup:g} s warm-up, "
                f"{args.duration:g} s measured")
            if not args.no_anchor:
                anchor = start_anchor(db_url)
                try:
                    check_same_answers(gateway, anchor)
                finally:
                    anchor.stop()
            gw = measure(gateway, args)
        finally:
            gateway.stop()
        anchor_figures: dict[str, Any] | None = None
        if not args.no_anchor:
            anchor = start_anchor(db_url)
            try:
                anchor_figures = measure(anchor, args)
            finally:
                anchor.stop()
        ws = {"event_to_client_p95_ms": None, "ws_clients_without_loss": None, "ws_note": "skipped (--no-ws)"} \
            if args.no_ws else websocket_figures(args.postgres, home, args.ws_clients)
        result = {
            "req_per_s_per_worker": gw["req_per_s"],
            "p50_ms": gw["p50_ms"], "p95_ms": gw["p95_ms"], "p99_ms": gw["p99_ms"],
            "anchor_req_per_s": anchor_figures["req_per_s"] if anchor_figures else None,
            "anchor_p95_ms": anchor_figures["p95_ms"] if anchor_figures else None,
            "ratio_to_anchor": round(gw["req_per_s"] / anchor_figures["req_per_s"], 2) if anchor_figures else None,
            **{k: v for k, v in ws.items()},
            "goals": {"req_per_s_per_worker": GOAL_REQ_PER_S, "p95_ms": GOAL_P95_MS,
                      "event_to_client_p95_ms": GOAL_EVENT_P95_MS, "ws_clients_without_loss": GOAL_WS_CLIENTS},
            "gateway": gw, "anchor": anchor_figures,
            "setup": {"jobs": args.jobs, "page": 50, "connections": args.connections, "warmup_s": args.warmup,
                      "duration_s": args.duration, "workers": 1,
                      "requests": "closed loop, keep-alive; half filter-free, half by status (open, claimed, "
                                  "settled, delivered)",
                      "generator": "raw-socket asyncio client on uvloop, in the benchmark's process",
                      "server": "uvicorn, uvloop, httptools, one worker; the anchor: plain FastAPI + SQLAlchemy "
                                "ORM + pydantic response model, same query",
                      "cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                      "load_avg": [round(x, 2) for x in os.getloadavg()]},
        }
    finally:
        drop_schema(args.postgres, schema)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
