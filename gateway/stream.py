"""The WebSocket stream `/v1/stream`: chain events by topic, with exact resume across reorgs, and node telemetry.

Protocol (JSON text frames). The client sends
  {"op": "subscribe", "topics": ["job:12", "account:0xab…", "open-jobs:3", "telemetry:3"], "cursor": "…"}
  {"op": "unsubscribe", "topics": [...]}            {"op": "ping"}
and the server answers with objects whose "type" is subscribed, unsubscribed, pong, event, reorg, state,
telemetry or error; every one carries "cursor".

A cursor is "<block>.<log index>.<reorg seq>" ("x" for the log index: the whole block): the client has every
message of its topics up to that event, and knows every rollback the indexer recorded up to that sequence number
(indexer table `reorg_log`). Subscribing with the cursor of the last message received replays exactly what was
missed, read from the indexer's raw `events` table in chain order: first, when a rollback since then went below
the cursor's block, `{"type": "reorg", "block": ancestor, …}` (forget everything after that block), then the
events after the cursor (or after the ancestor), then after a reorg a `state` message per subscribed job.

Each worker process runs one `Hub`. It learns of index changes from PostgreSQL NOTIFY on the indexer's channel
(or by polling the checkpoint every 100 ms on SQLite, single worker), reads the new rows itself and fans them
out; telemetry published on any worker reaches every worker through NOTIFY on `fabrica_gateway`. Each client
has a bounded queue: a client too slow to drain it is closed with code 1008 and a reason, never silently
skipped (it resumes with its cursor).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
from fabrica.indexer import schema as ix
from fabrica.indexer.notify import PG_CHANNEL
from fabrica.protocol.errors import FabricaLookupError
from fastapi import APIRouter, Depends, WebSocket
from starlette.websockets import WebSocketDisconnect

from . import schema as gws
from .errors import BadRequest, Forbidden, GatewayError, NotFound, TooLarge, Unauthorized
from .metrics import METRICS
from .roles import Principal, principal
from .routes.common import jsonable
from .routes.reads import fits

log = logging.getLogger("fabrica.gateway.stream")
router = APIRouter()

GW_CHANNEL = "fabrica_gateway"  # telemetry published by any worker
END = 2**31 - 1  # log index standing for "the whole block"
QUEUE = int(os.environ.get("FABRICA_GATEWAY_WS_QUEUE", "1024"))  # messages waiting per client before it is closed
MAX_TOPICS = 64  # per connection
MAX_FRAME = 64 * 1024  # bytes of one client message
MAX_REPLAY = 10_000  # messages one resume may replay; an older cursor must reload and subscribe afresh
MAX_SCAN = 100_000  # raw events one resume may read through (the pump waits meanwhile)
BATCH = 2_000  # raw events read per query
POLL_S = 0.1  # SQLite: checkpoint poll period
SAFETY_POLL_S = 2.0  # PostgreSQL: checkpoint poll in case a notification was missed (listener reconnecting)
CATCH_UP_S = 5.0  # how long a resume waits for this worker to reach a cursor another worker gave
CHUNK = 7_500  # characters of telemetry per NOTIFY (PostgreSQL refuses payloads of 8000 bytes and more)
MAX_TELEMETRY = 1 << 20  # bytes of one telemetry message
OPENING = ("JobPosted", "JobHandedBack")  # events after which a job is open to claims
_TOPIC = re.compile(r"^(?:(job|open-jobs|telemetry):([0-9]{1,19})|account:(0x[0-9a-fA-F]{40}))$")
_CURSOR = re.compile(r"^([0-9]{1,19})\.([0-9]{1,10}|x)\.([0-9]{1,19})$")
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_encoder = msgspec.json.Encoder()


def _dumps(body: dict[str, Any]) -> str:
    return _encoder.encode(body).decode()


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the index: after event (block, log) — log END: after the whole block — knowing reorg `seq`."""

    block: int
    log: int = END
    seq: int = 0

    def __str__(self) -> str:
        return f"{self.block}.{'x' if self.log == END else self.log}.{self.seq}"

    @property
    def pos(self) -> tuple[int, int]:
        return self.block, self.log


def parse_cursor(text: Any) -> Cursor:
    """A cursor this stream gave, or BadRequest."""
    m = _CURSOR.match(text) if isinstance(text, str) else None
    if m is None or (m.group(2) != "x" and int(m.group(2)) >= END):
        shown = text[:40] if isinstance(text, str) else type(text).__name__
        raise BadRequest(f"cursor {shown!r} is not one this stream gave (<block>.<log index>|x.<reorg seq>): send "
                         "the cursor of the last message you received, or none", code="bad_cursor")
    return Cursor(int(m.group(1)), END if m.group(2) == "x" else int(m.group(2)), int(m.group(3)))


def parse_topic(text: Any) -> str:
    """The canonical form of a topic (decimal ids, lowercase address), or BadRequest."""
    m = _TOPIC.match(text) if isinstance(text, str) else None
    if m is None:
        shown = text[:80] if isinstance(text, str) else type(text).__name__
        raise BadRequest(f"unknown topic {shown!r}: use job:<id>, account:<0x address>, open-jobs:<node id> or "
                         "telemetry:<node id>", code="bad_topic")
    if m.group(3):
        return f"account:{m.group(3).lower()}"
    return f"{m.group(1)}:{int(m.group(2))}"


def _addresses(value: Any, out: set[str]) -> set[str]:
    """Every address mentioned in decoded event args (nested tuples included)."""
    if isinstance(value, str):
        if len(value) == 42 and _ADDRESS.match(value):
            out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _addresses(v, out)
    elif isinstance(value, list):
        for v in value:
            _addresses(v, out)
    return out


@dataclass
class Event:
    block: int
    log: int
    tx: str
    contract: str
    name: str
    args: dict[str, Any]

    def keys(self, opens: dict[int, dict[int, dict[str, Any]]]) -> list[str]:
        """The topics this event belongs to (open-jobs ones from `opens`: node -> open jobs it may claim)."""
        keys = [f"account:{a}" for a in sorted(_addresses(self.args, set()))]
        job_id = self.args.get("jobId")
        if isinstance(job_id, int):
            keys.append(f"job:{job_id}")
            if self.name in OPENING:
                keys += [f"open-jobs:{n}" for n, jobs in opens.items() if job_id in jobs]
        return keys

    def message(self, topics: list[str], cursor: Cursor, opens: dict[int, dict[int, dict[str, Any]]]) -> str:
        body: dict[str, Any] = {"type": "event", "topic": topics[0], "topics": topics, "cursor": str(cursor),
                                "block": self.block, "log_index": self.log, "event": self.name,
                                "contract": self.contract, "args": jsonable(self.args), "tx": self.tx}
        for t in topics:  # an open job comes with its row and spec: what a node needs to decide on a claim
            if t.startswith("open-jobs:"):
                body.update(opens[int(t[10:])][self.args["jobId"]])
                break
        return _dumps(body)


def _job_row(job: Any) -> dict[str, Any]:
    return {f.name: jsonable(getattr(job, f.name), f.name) for f in dataclasses.fields(job) if f.name != "history"}


@dataclass
class Batch:
    """What one read of the index found after the hub's position."""

    seq: int
    tip: int | None
    events: list[Event]
    more: bool
    reorg: dict[str, int] | None = None  # block (ancestor), depth, old_tip
    opens: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    states: dict[int, dict[str, Any] | None] = field(default_factory=dict)


class Client:
    """One WebSocket connection: its topics, its bounded queue and the task that drains it."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE)
        self.held: list[str] | None = None  # live messages kept back while a resume replays
        self.closed = False
        self.sender: asyncio.Task[None] | None = None


class Hub:
    """Per-worker fan-out of index notifications and telemetry to WebSocket clients."""

    def __init__(self, gw: Any) -> None:
        self.gw = gw
        self.clients: set[Client] = set()
        self.subs: dict[str, set[Client]] = {}
        self.cur = Cursor(0)
        self.ns = ""  # PostgreSQL schema: NOTIFY channels are per database, indexes are per schema
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._parts: dict[str, tuple[float, list[str | None]]] = {}
        self._publisher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ws-notify")
        self._tables_ready = False
        self._closing: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Read where the index stands, then follow it (LISTEN on PostgreSQL, polling on SQLite)."""
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()  # the pump and resuming clients take turns: a resume replays up to `cur`
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()
        self.cur = await asyncio.to_thread(self._initial)
        if self.gw.sqlite:
            self._tasks.append(asyncio.create_task(self._poll(POLL_S)))
        else:
            self.ns = await asyncio.to_thread(namespace, self.gw.engine)
            self._tasks.append(asyncio.create_task(self._listen()))
            self._tasks.append(asyncio.create_task(self._poll(SAFETY_POLL_S)))
        self._tasks.append(asyncio.create_task(self._pump()))

    async def stop(self) -> None:
        """Stop following the index and close every client (they resume elsewhere with their cursors)."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for c in list(self.clients):
            self._drop(c)
            await self._close(c, 1001, "server shutting down: reconnect and resume with your last cursor")
        self._publisher.shutdown(wait=False)

    # ------------------------------------------------------------------ clients
    def attach(self, ws: WebSocket) -> Client:
        """Register a new connection and start draining its queue."""
        c = Client(ws)
        c.sender = asyncio.create_task(self._send_loop(c))
        self.clients.add(c)
        METRICS.ws_clients.inc()
        return c

    async def detach(self, c: Client) -> None:
        """Forget a connection that ended."""
        self._drop(c)
        if c.sender is not None:
            c.sender.cancel()

    def _drop(self, c: Client) -> None:
        if c in self.clients:
            self.clients.discard(c)
            METRICS.ws_clients.dec()
        c.closed = True
        for t in c.topics:
            self._unsub(c, t)

    def _unsub(self, c: Client, topic: str) -> None:
        subs = self.subs.get(topic)
        if subs is not None:
            subs.discard(c)
            if not subs:
                del self.subs[topic]

    async def _send_loop(self, c: Client) -> None:
        try:
            while True:
                text = await c.queue.get()
                await c.ws.send_text(text)
                METRICS.ws_messages.inc()
        except asyncio.CancelledError:
            raise
        except Exception:  # the peer went away: the receive loop sees it too and detaches
            self._drop(c)

    def push(self, c: Client, text: str) -> None:
        """Queue a message; a client whose queue is full is closed with a reason (it resumes with its cursor)."""
        if c.closed:
            return
        if c.held is not None:
            if len(c.held) < QUEUE:
                c.held.append(text)
                return
        else:
            try:
                c.queue.put_nowait(text)
                return
            except asyncio.QueueFull:
                pass
        self._drop(c)
        if c.sender is not None:
            c.sender.cancel()
        task = asyncio.create_task(self._close(c, 1008, f"too slow: over {QUEUE} messages waited; reconnect and "
                                                         "resume with the cursor of the last message you got"))
        self._closing.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._closing.discard)

    async def _close(self, c: Client, code: int, reason: str) -> None:
        try:
            await c.ws.close(code, reason[:120])
        except Exception:  # already gone
            pass

    def _send(self, c: Client, body: dict[str, Any]) -> None:
        self.push(c, _dumps({**body, "cursor": body.get("cursor", str(self.cur))}))

    # ------------------------------------------------------------------ requests
    async def handle(self, c: Client, text: str | None) -> None:
        """Answer one client message; bad input gets an error message, never a closed socket."""
        op = None
        try:
            if text is None:
                raise BadRequest("send JSON text frames, not binary ones", code="bad_message")
            if len(text) > MAX_FRAME:
                raise TooLarge(f"message of {len(text)} characters; at most {MAX_FRAME}", code="bad_message")
            try:
                req = json.loads(text)
            except ValueError:
                raise BadRequest("message is not JSON: send {\"op\": \"subscribe\", \"topics\": [...]}",
                                 code="bad_message") from None
            if not isinstance(req, dict):
                raise BadRequest("message must be a JSON object with an \"op\"", code="bad_message")
            op = req.get("op")
            if op == "ping":
                self._send(c, {"type": "pong"})
            elif op == "subscribe":
                await self._subscribe(c, req)
            elif op == "unsubscribe":
                topics = {parse_topic(t) for t in _topic_list(req)}
                for t in topics & c.topics:
                    c.topics.discard(t)
                    self._unsub(c, t)
                self._send(c, {"type": "unsubscribed", "topics": sorted(c.topics), "removed": sorted(topics)})
            else:
                raise BadRequest(f"unknown op {str(op)[:40]!r}: use subscribe, unsubscribe or ping", code="bad_op")
        except GatewayError as exc:
            self._send(c, {"type": "error", "code": exc.code, "detail": exc.detail,
                           "op": op if isinstance(op, str) else None})
        except Exception:  # a bug must cost one message, not the connection
            log.exception("stream request failed")
            self._send(c, {"type": "error", "code": "internal", "detail": "the gateway failed on this message",
                           "op": op if isinstance(op, str) else None})

    async def _subscribe(self, c: Client, req: dict[str, Any]) -> None:
        topics = list(dict.fromkeys(parse_topic(t) for t in _topic_list(req)))
        if len(c.topics | set(topics)) > MAX_TOPICS:
            raise BadRequest(f"at most {MAX_TOPICS} topics per connection; unsubscribe some or open another",
                             code="too_many_topics")
        cursor = parse_cursor(req["cursor"]) if req.get("cursor") is not None else None
        for t in topics:
            kind, _, key = t.partition(":")
            if kind == "telemetry":
                await asyncio.to_thread(self._may_read_telemetry, c.ws, int(key))
            elif kind == "open-jobs":
                await asyncio.to_thread(self._node_exists, int(key))
        if cursor is None:
            self._add(c, topics)
            self._send(c, {"type": "subscribed", "topics": sorted(c.topics), "added": topics,
                           "worker": os.getpid()})
            return
        # A resume reads the index while this worker's pump waits: it costs like an HTTP request of its address.
        self.gw.ip_limiter.take(c.ws.client.host if c.ws.client else "unknown", "stream resumes")
        await self._catch_up(cursor)
        c.held = []  # from here live messages wait behind the replay
        try:
            async with self.lock:  # the pump waits: the replay ends exactly where live dispatch goes on
                replay = await asyncio.to_thread(self._replay, cursor, self.cur,
                                                 [t for t in topics if not t.startswith("telemetry:")])
                self._add(c, topics)
            replay.insert(0, _dumps({"type": "subscribed", "topics": sorted(c.topics), "added": topics,
                                     "worker": os.getpid(), "cursor": str(cursor)}))
            for text in replay:  # a replay may exceed the queue: wait for room rather than overflow
                if not await self._put(c, text):
                    return
        finally:
            held, c.held = c.held or [], None
            for text in held:
                self.push(c, text)

    async def _put(self, c: Client, text: str) -> bool:
        """Queue a replayed message, waiting for room; a client that takes no message for 30 s is closed."""
        deadline = time.monotonic() + 30
        while not c.closed:
            try:
                c.queue.put_nowait(text)
                return True
            except asyncio.QueueFull:
                if time.monotonic() > deadline:
                    c.held = None
                    self.push(c, text)  # still full: closes it with the reason
                    break
                await asyncio.sleep(0.01)
        return False

    def _add(self, c: Client, topics: list[str]) -> None:
        for t in topics:
            c.topics.add(t)
            self.subs.setdefault(t, set()).add(c)

    def _may_read_telemetry(self, ws: WebSocket, node_id: int) -> None:
        """Telemetry is private: the node's operator or operations staff, signed in (token query or cookie)."""
        gw = self.gw
        who = _principal(ws)
        if who is None:
            raise Unauthorized(f"telemetry:{node_id} is private: sign in and connect with ?token=<access token> "
                               "or the session cookie", code="sign_in_required")
        try:
            node = gw.read.node(node_id)
        except FabricaLookupError:
            raise NotFound(f"no node {node_id} in the index", code="unknown_node") from None
        if node.operator.lower() == who.address.lower() or who.staff_rank(gw.config.admins) > 0:
            return
        gw.audit.record("role_denied", address=who.address, ip=ws.client.host if ws.client else None,
                        path="/v1/stream", topic=f"telemetry:{node_id}", allowed=["node_operator", "viewer"])
        raise Forbidden(f"{who.address} may not read telemetry:{node_id}: only its operator ({node.operator}) "
                        "and operations staff may", code="role_denied")

    def _node_exists(self, node_id: int) -> None:
        try:
            self.gw.read.node(node_id)
        except FabricaLookupError:
            raise NotFound(f"no node {node_id} in the index: open-jobs:<node id> needs a registered node",
                           code="unknown_node") from None

    async def _catch_up(self, cursor: Cursor) -> None:
        """Wait until this worker has read as far as a cursor (another worker may have given it a moment ago)."""
        deadline = time.monotonic() + CATCH_UP_S
        while self.cur.seq < cursor.seq or (self.cur.seq == cursor.seq and cursor.pos > self.cur.pos):
            if time.monotonic() > deadline:
                raise BadRequest(f"cursor {cursor} is ahead of this index (at {self.cur}): it comes from another "
                                 "index; subscribe without a cursor and reload", code="bad_cursor")
            self._wake()
            try:
                await asyncio.wait_for(self._progress.wait(), 0.5)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ reading the index (worker threads)
    def _ready(self, conn: sa.Connection) -> bool:
        """Whether the indexer has created its tables (the gateway may start before the first sync)."""
        if not self._tables_ready:
            insp = sa.inspect(conn)
            self._tables_ready = insp.has_table("checkpoint") and insp.has_table("reorg_log")
        return self._tables_ready

    @staticmethod
    def _seq(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(ix.reorg_log.c.seq), 0))).scalar_one())

    def _initial(self) -> Cursor:
        with self.gw.engine.connect() as conn:
            if not self._ready(conn):
                return Cursor(0)
            tip = conn.execute(sa.select(ix.checkpoint.c.block_number)).scalar()
            return Cursor(int(tip or 0), END, self._seq(conn))

    @staticmethod
    def _events(conn: sa.Connection, after: tuple[int, int], upto: tuple[int, int] | None, limit: int) -> list[Event]:
        e = ix.events
        q = sa.select(e.c.block_number, e.c.log_index, e.c.tx_hash, e.c.contract, e.c.name, e.c.args).where(
            sa.or_(e.c.block_number > after[0], sa.and_(e.c.block_number == after[0], e.c.log_index > after[1])))
        if upto is not None:
            q = q.where(sa.or_(e.c.block_number < upto[0], sa.and_(e.c.block_number == upto[0],
                                                                  e.c.log_index <= upto[1])))
        rows = conn.execute(q.order_by(e.c.block_number, e.c.log_index).limit(limit)).all()
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5] if isinstance(r[5], dict) else json.loads(r[5]))
                for r in rows]

    @staticmethod
    def _rollback(conn: sa.Connection, after_seq: int, upto_seq: int | None = None) -> dict[str, int] | None:
        """The deepest rollback recorded after `after_seq` (ancestor block, depth, old tip), if any."""
        r = ix.reorg_log
        q = sa.select(r.c.ancestor_block, r.c.depth, r.c.old_tip).where(r.c.seq > after_seq)
        if upto_seq is not None:
            q = q.where(r.c.seq <= upto_seq)
        rows = conn.execute(q).all()
        if not rows:
            return None
        low = min(rows, key=lambda x: x[0])
        return {"block": int(low[0]), "depth": max(int(x[2]) for x in rows) - int(low[0]),
                "old_tip": max(int(x[2]) for x in rows)}

    def _read(self, cur: Cursor, open_nodes: set[int], job_ids: set[int]) -> Batch:
        """New rollbacks and events after `cur`, consistent with each other (re-read if a rollback came between)."""
        with self.gw.engine.connect() as conn:
            if not self._ready(conn):
                return Batch(cur.seq, None, [], False)
            while True:
                seq = self._seq(conn)
                reorg = self._rollback(conn, cur.seq) if seq > cur.seq else None
                if reorg is not None and reorg["block"] >= cur.block:
                    reorg = None  # it removed nothing this hub had sent
                after = (reorg["block"], END) if reorg else cur.pos
                tip = conn.execute(sa.select(ix.checkpoint.c.block_number)).scalar()
                events = self._events(conn, after, (int(tip), END), BATCH) if tip is not None else []
                if self._seq(conn) == seq:
                    break
                conn.rollback()
        batch = Batch(seq, None if tip is None else int(tip), events, len(events) == BATCH, reorg)
        if open_nodes and any(e.name in OPENING for e in events):
            batch.opens = self._open_jobs(open_nodes)
        if reorg and job_ids:
            batch.states = self._states(job_ids)
        return batch

    def _open_jobs(self, nodes: set[int]) -> dict[int, dict[int, dict[str, Any]]]:
        """Per node: the open jobs it may claim now and whose spec it can make, with their rows and specs."""
        gw = self.gw
        out: dict[int, dict[int, dict[str, Any]]] = {}
        for n in nodes:
            try:
                node = gw.read.node(n)
                jobs = gw.read.open_jobs_for_node(n, limit=1000)
            except FabricaLookupError:
                out[n] = {}
                continue
            specs = _specs(gw.engine, [j.job_id for j in jobs])
            out[n] = {j.job_id: {"job": _job_row(j), "spec": jsonable(specs.get(j.job_id))}
                      for j in jobs if fits(node, specs.get(j.job_id))}
        return out

    def _states(self, job_ids: set[int]) -> dict[int, dict[str, Any] | None]:
        out: dict[int, dict[str, Any] | None] = {}
        for j in job_ids:
            try:
                out[j] = _job_row(self.gw.read.job(j))
            except FabricaLookupError:
                out[j] = None  # rolled back out of existence (or never posted)
        return out

    def _replay(self, cursor: Cursor, upto: Cursor, topics: list[str]) -> list[str]:
        """The messages a client at `cursor` missed on `topics`, up to the hub's position `upto`."""
        out: list[str] = []
        with self.gw.engine.connect() as conn:
            if not self._ready(conn):
                return out
            reorg = self._rollback(conn, cursor.seq, upto.seq) if upto.seq > cursor.seq else None
            if reorg is not None and reorg["block"] >= cursor.block:
                reorg = None
            if reorg is None and cursor.pos > upto.pos:
                raise BadRequest(f"cursor {cursor} is ahead of this index (at {upto}): subscribe without a cursor "
                                 "and reload", code="bad_cursor")
            if reorg is not None:
                out.append(_dumps({"type": "reorg", **reorg, "cursor": str(Cursor(reorg["block"], END, upto.seq))}))
            wanted = set(topics)
            nodes = {int(t[10:]) for t in topics if t.startswith("open-jobs:")}
            opens = self._open_jobs(nodes) if nodes else {}
            after, scanned = ((reorg["block"], END) if reorg else cursor.pos), 0
            while True:
                events = self._events(conn, after, upto.pos, BATCH)
                for e in events:
                    matched = [k for k in e.keys(opens) if k in wanted]
                    if matched:
                        out.append(e.message(matched, Cursor(e.block, e.log, upto.seq), opens))
                if len(out) > MAX_REPLAY or scanned > MAX_SCAN:
                    raise BadRequest(f"cursor {cursor} is too old to replay (over {MAX_REPLAY} messages): reload "
                                     "the state and subscribe without a cursor", code="cursor_too_old")
                scanned += len(events)
                if len(events) < BATCH:
                    break
                after = (events[-1].block, events[-1].log)
        if reorg is not None:
            jobs = sorted(int(t[4:]) for t in topics if t.startswith("job:"))
            for job_id, row in self._states(set(jobs)).items():
                out.append(_dumps({"type": "state", "topic": f"job:{job_id}", "cursor": str(upto), "job": row}))
        return out

    # ------------------------------------------------------------------ following the index
    def _wake(self) -> None:
        self._wakeup.set()

    async def _pump(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                # New jobs' specs first: open-jobs topics match on them.
                await asyncio.to_thread(self.gw.after_index_change)
                async with self.lock:
                    while True:
                        batch = await asyncio.to_thread(self._read, self.cur, self._open_nodes(), self._job_ids())
                        self._apply(batch)
                        if not batch.more:
                            break
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: try again shortly
                log.exception("reading the index for the stream failed")
                await asyncio.sleep(0.5)
                self._wake()
            progress, self._progress = self._progress, asyncio.Event()
            progress.set()

    def _open_nodes(self) -> set[int]:
        return {int(t[10:]) for t in self.subs if t.startswith("open-jobs:")}

    def _job_ids(self) -> set[int]:
        return {int(t[4:]) for t in self.subs if t.startswith("job:")}

    def _apply(self, batch: Batch) -> None:
        """Send a batch: the rollback first, then each event to the clients of its topics, then job states."""
        seq = batch.seq
        if batch.reorg is not None:
            self.cur = Cursor(batch.reorg["block"], END, seq)
            text = _dumps({"type": "reorg", **batch.reorg, "cursor": str(self.cur)})
            for c in list(self.clients):
                if c.topics:
                    self.push(c, text)
        else:
            self.cur = dataclasses.replace(self.cur, seq=seq)
        for e in batch.events:
            cursor = Cursor(e.block, e.log, seq)
            self.cur = cursor
            recipients: dict[Client, list[str]] = {}
            for k in e.keys(batch.opens):
                for c in self.subs.get(k, ()):
                    recipients.setdefault(c, []).append(k)
            encoded: dict[tuple[str, ...], str] = {}
            for c, topics in recipients.items():
                key = tuple(topics)
                if key not in encoded:
                    encoded[key] = e.message(topics, cursor, batch.opens)
                self.push(c, encoded[key])
        if not batch.more and batch.tip is not None:
            self.cur = Cursor(batch.tip, END, seq)
        for job_id, row in batch.states.items():
            topic = f"job:{job_id}"
            text = _dumps({"type": "state", "topic": topic, "cursor": str(self.cur), "job": row})
            for c in list(self.subs.get(topic, ())):
                self.push(c, text)

    async def _poll(self, every: float) -> None:
        """Wake the pump whenever the checkpoint moves (SQLite's only signal; PostgreSQL's safety net)."""
        last = None
        while True:
            await asyncio.sleep(every)
            try:
                mark = await asyncio.to_thread(self._mark)
            except Exception:
                log.warning("polling the index checkpoint failed", exc_info=True)
                continue
            if mark != last:
                last = mark
                self._wake()

    def _mark(self) -> tuple[Any, ...] | None:
        with self.gw.engine.connect() as conn:
            if not self._ready(conn):
                return None
            row = conn.execute(sa.select(ix.checkpoint.c.block_number, ix.checkpoint.c.block_hash,
                                         ix.checkpoint.c.reorgs)).first()
            return tuple(row) if row else None

    async def _listen(self) -> None:
        """LISTEN for the indexer's commits and other workers' telemetry, reconnecting after failures."""
        import psycopg

        url = self.gw.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {PG_CHANNEL}")
                    await conn.execute(f"LISTEN {GW_CHANNEL}")
                    self._wake()  # catch up on anything committed while nobody listened
                    async for note in conn.notifies():
                        if note.channel == PG_CHANNEL:
                            self._wake()
                        else:
                            self._telemetry_part(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stream LISTEN connection failed; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    # ------------------------------------------------------------------ telemetry
    def publish_telemetry(self, node_id: int, message: dict[str, Any]) -> None:
        """Send `message` to the subscribers of telemetry:<node_id> on every worker (NOTIFY on PostgreSQL)."""
        if self.loop is None:
            return
        body = json.dumps({"node_id": node_id, "data": jsonable(message)}, separators=(",", ":"))
        if len(body) > MAX_TELEMETRY:
            raise TooLarge(f"telemetry message of {len(body)} bytes; the stream relays at most {MAX_TELEMETRY}")
        if self.gw.sqlite:  # one worker: deliver here, on the event loop
            self.loop.call_soon_threadsafe(self._deliver, body)
            return
        fut = self._publisher.submit(notify_telemetry, self.gw.engine, self.ns, body)  # in order, off the loop
        fut.add_done_callback(lambda f: f.exception() and log.error("telemetry NOTIFY failed: %s", f.exception()))

    def _telemetry_part(self, payload: str) -> None:
        """Reassemble a telemetry message from its NOTIFY parts (delivered in order, one transaction's together)."""
        try:
            ns, mid, i, n, chunk = payload.split("|", 4)
            i, n = int(i), int(n)
        except ValueError:
            return
        if ns != self.ns:
            return  # another schema's gateway on the same database
        if n == 1:
            self._deliver(chunk)
            return
        now = time.monotonic()
        _, parts = self._parts.setdefault(mid, (now, [None] * n))
        if i < len(parts):
            parts[i] = chunk
        if all(p is not None for p in parts):
            del self._parts[mid]
            self._deliver("".join(parts))  # type: ignore[arg-type]
        for stale in [k for k, (t, _) in self._parts.items() if now - t > 30]:
            del self._parts[stale]

    def _deliver(self, body: str) -> None:
        try:
            msg = json.loads(body)
            topic = f"telemetry:{int(msg['node_id'])}"
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable telemetry notification dropped")
            return
        subs = self.subs.get(topic)
        if not subs:
            return
        text = _dumps({"type": "telemetry", "topic": topic, "node_id": msg["node_id"], "cursor": str(self.cur),
                       "data": msg["data"]})
        for c in list(subs):
            self.push(c, text)


def namespace(engine: sa.Engine) -> str:
    """The PostgreSQL schema the gateway's tables live in: telemetry notifications name it."""
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar()).replace("|", "_")


def notify_telemetry(engine: sa.Engine, ns: str, body: str) -> None:
    """NOTIFY a telemetry message (JSON {"node_id", "data"}) to every worker, in parts under the payload limit."""
    mid = uuid.uuid4().hex[:16]
    parts = [body[i:i + CHUNK] for i in range(0, len(body), CHUNK)] or [""]
    with engine.begin() as conn:
        for i, part in enumerate(parts):
            conn.execute(sa.select(sa.func.pg_notify(GW_CHANNEL, f"{ns}|{mid}|{i}|{len(parts)}|{part}")))


def _specs(engine: sa.Engine, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    s = gws.job_specs
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s).where(s.c.job_id.in_(ids))).mappings().all()
    return {r["job_id"]: dict(r) for r in rows}


def _topic_list(req: dict[str, Any]) -> list[Any]:
    topics = req.get("topics")
    if not isinstance(topics, list) or not topics:
        raise BadRequest("\"topics\" must be a non-empty list of topic strings", code="bad_topic")
    if len(topics) > MAX_TOPICS:
        raise BadRequest(f"at most {MAX_TOPICS} topics per connection", code="too_many_topics")
    return topics


def _principal(ws: WebSocket) -> Principal | None:
    """The signed-in caller from `?token=` (browsers cannot set headers on a WebSocket), else header or cookie."""
    token = ws.query_params.get("token")
    if not token:
        return principal(ws)  # type: ignore[arg-type]
    gw = ws.app.state.gw
    tok = gw.tokens.check(token)
    if not gw.sessions.active(tok.session_id):
        raise Unauthorized("session was signed out or revoked: sign in again", code="session_revoked")
    return Principal(tok.address, tok.session_id)


def _declares(*roles: str) -> Any:
    """Declares the roles for the role matrix; the stream checks them per topic (telemetry is private)."""

    def declared() -> None:
        return None

    declared.roles = roles  # type: ignore[attr-defined]
    return Depends(declared)


@router.websocket("/v1/stream", dependencies=[_declares("public", "node_operator", "viewer")])
async def stream(ws: WebSocket) -> None:
    """Chain events by topic with exact resume, reorg messages and job states; node telemetry for its operator."""
    hub: Hub = ws.app.state.hub
    await ws.accept()
    c = hub.attach(ws)
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            await hub.handle(c, msg.get("text"))
    except (WebSocketDisconnect, RuntimeError):  # closed under us (a slow client, shutdown)
        pass
    finally:
        await hub.detach(c)
