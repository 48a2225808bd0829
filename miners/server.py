"""The miner's HTTP server: one endpoint per task kind plus capabilities, every request btauth/1-signed.

Per request, in this order (the first failing step answers):

1. read the raw body with a size cap: a Content-Length above the cap is refused before reading, and the stream
   is cut off as soon as it passes the cap (chunked bodies, lying lengths) — 413 ``body_too_large``;
2. authenticate with `bittensor.http_auth.verify` over the exact bytes, receiver-bound to this miner's hotkey,
   replays checked in the shared nonce store — 401 ``malformed`` / ``wrong_receiver`` / ``stale`` /
   ``bad_signature`` / ``replayed`` (503 ``nonce_store_unavailable`` if the store is down: fail closed);
3. authorize against the cached metagraph — 403 ``not_registered`` / ``no_validator_permit`` /
   ``stake_below_minimum`` (503 ``metagraph_unavailable`` before the first successful read);
4. rate-limit per hotkey (token bucket; in the replay store's backend when that is shared, so K workers do not
   give a hotkey K times the rate) — 429 ``rate_limited`` with Retry-After;
5. parse the task with the schema's `parse_task` — 422 ``invalid_task`` naming the fields, ``task_too_large``
   above the advertised limits, ``wrong_kind`` for a task of the other kind;
6. admit into the bounded solver pool — 503 ``busy`` with Retry-After when running + queued solves are full;
7. solve off the event loop, time-boxed to the task's ``deadline_ms`` minus a network margin and the time
   already spent queued — 200 with the answer JSON; a solver failure is 500 ``solver_error`` (422
   ``no_solution`` when the task has none), and never takes the server down.

Every error body is ``{"error": CODE, "message": TEXT}``. `create_app` builds the app for a given chain port
(tests inject one); `serve_app_factory` builds it in each uvicorn worker process from the environment.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import inspect
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.subnet.api import CAPABILITIES_PATH, DESIGN_PATH, SCHEDULE_PATH, Capabilities
from fabrica.protocol.subnet.port import SubnetChain
from fabrica.protocol.tasks import design as design_wire
from fabrica.protocol.tasks import schedule as schedule_wire
from fabrica.protocol.tasks.design import DesignAnswer, DesignTask
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduleTask

from .solvers.dispatch import DispatchInfeasibleError, dispatch_schedule
from .solvers.schedule_cpsat import solve_schedule
from .solvers.schedule_cpsat import warm_up as schedule_warm_up
from .solvers.topology import solve_design
from .auth import AuthorizationPolicy, Authorizer, MetagraphCache, RateLimiter, RequestRejected, authenticate
from .nonces import DEFAULT_RETENTION_S, NonceStoreError, open_nonce_store
from .ratelimit import open_rate_limiter

log = logging.getLogger("fabrica.miners.server")

TABU_WARM_UP_WAIT_S = 15.0
"""How long start-up waits for the tabu kernels: enough to load them from the cache `make install` fills (about a
second), not to compile them (tens of seconds on two cores), which goes on in the background while CP-SAT answers:
a miner that is down scores 0, one on CP-SAT alone does not."""

StrategyName = Literal["cpsat", "dispatch"]
STRATEGIES: tuple[str, ...] = ("cpsat", "dispatch")

MIN_SOLVE_S = 0.1
"""Below this much time left, the CP-SAT strategy answers with the instant dispatch schedule instead."""


@dataclass(frozen=True)
class MinerConfig:
    """Everything the miner server needs besides its chain port and replay store."""

    netuid: int
    strategy: StrategyName = "cpsat"
    # authorization
    require_permit: bool = True
    min_stake: float = 0.0
    # abuse limits
    max_body_bytes: int = 8 * 1024 * 1024
    rate_per_s: float = 2.0
    rate_burst: float = 10.0
    max_concurrent: int = 2
    max_queue: int = 4
    max_operations: int = 20_000
    max_elements: int = design_wire.MAX_ELEMENTS
    # btauth freshness
    max_age_s: float = 10.0
    allowed_skew_s: float = 2.0
    # metagraph cache
    metagraph_refresh_s: float = 60.0
    unknown_refresh_s: float = 12.0
    # time boxing: solve for deadline * (1 - margin_fraction) - margin_s - time spent queued
    margin_s: float = 0.3
    margin_fraction: float = 0.1
    cpsat_workers: int = 2
    design_max_iter: int = 300
    # advertising (done at start-up when external_ip is set and advertise is true)
    external_ip: str | None = None
    port: int = 8091
    advertise: bool = True

    def __post_init__(self) -> None:
        checks = [
            ("strategy", self.strategy in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
            ("netuid", self.netuid >= 0, ">= 0"),
            ("min_stake", self.min_stake >= 0, ">= 0"),
            ("max_body_bytes", self.max_body_bytes >= 1024, ">= 1024"),
            ("rate_per_s", self.rate_per_s > 0, "> 0"),
            ("rate_burst", self.rate_burst >= 1, ">= 1"),
            ("max_concurrent", self.max_concurrent >= 1, ">= 1"),
            ("max_queue", self.max_queue >= 0, ">= 0"),
            ("max_age_s", self.max_age_s > 0, "> 0"),
            ("allowed_skew_s", self.allowed_skew_s >= 0, ">= 0"),
            ("metagraph_refresh_s", self.metagraph_refresh_s > 0, "> 0"),
            ("unknown_refresh_s", self.unknown_refresh_s >= 0, ">= 0"),
            ("margin_s", self.margin_s >= 0, ">= 0"),
            ("margin_fraction", 0 <= self.margin_fraction < 1, "in [0, 1)"),
            ("cpsat_workers", 1 <= self.cpsat_workers <= 256, "in 1..256"),
            ("design_max_iter", self.design_max_iter >= 1, ">= 1"),
            ("port", 0 <= self.port <= 65535, "in 0..65535"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise FabricaValueError(f"miner setting {name} = {getattr(self, name)!r} must be {rule}")


# --------------------------------------------------------------------------------------------- strategies


class Strategy(Protocol):
    """A way of answering tasks; called in a worker thread with the seconds it may spend."""

    name: str

    def schedule(self, task: ScheduleTask, time_limit_s: float) -> ScheduleAnswer: ...

    def design(self, task: DesignTask, time_limit_s: float) -> DesignAnswer: ...


def _uniform_design(task: DesignTask) -> DesignAnswer:
    row = tuple(float(task.volfrac) for _ in range(task.nelx))
    return DesignAnswer(densities=tuple(row for _ in range(task.nely)))


class DispatchStrategy:
    """The simple reference miner: a dispatch-rule schedule and the uniform design at the volume fraction."""

    name = "dispatch"

    def schedule(self, task: ScheduleTask, time_limit_s: float) -> ScheduleAnswer:
        return dispatch_schedule(task)

    def design(self, task: DesignTask, time_limit_s: float) -> DesignAnswer:
        return _uniform_design(task)


class CpSatStrategy:
    """CP-SAT for schedules (warm-started from the best answer seen for the same task, else the dispatch rule)
    and SIMP + OC for designs, both stopped by the time box."""

    name = "cpsat"

    def __init__(self, workers: int = 2, design_max_iter: int = 300, cache_size: int = 256) -> None:
        self.workers = workers
        self.design_max_iter = design_max_iter
        self.cache_size = cache_size
        self._best: OrderedDict[str, ScheduleAnswer] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _fingerprint(task: ScheduleTask) -> str:
        # the same instance under another id or deadline is the same problem
        body = task.model_dump_json(exclude={"task_id", "deadline_ms"})
        return hashlib.sha256(body.encode()).hexdigest()

    def schedule(self, task: ScheduleTask, time_limit_s: float) -> ScheduleAnswer:
        key = self._fingerprint(task)
        with self._lock:
            hint = self._best.get(key)
        if hint is None:
            try:
                hint = dispatch_schedule(task)
            except DispatchInfeasibleError:
                hint = None
        if time_limit_s < MIN_SOLVE_S and hint is not None:
            return hint
        result = solve_schedule(task, max(time_limit_s, 0.01), workers=self.workers, hint=hint)
        answer = result.answer
        with self._lock:
            old = self._best.get(key)
            if old is None or answer.makespan < old.makespan:
                self._best[key] = answer
            self._best.move_to_end(key)
            while len(self._best) > self.cache_size:
                self._best.popitem(last=False)
        return answer

    def design(self, task: DesignTask, time_limit_s: float) -> DesignAnswer:
        if time_limit_s < MIN_SOLVE_S:
            return _uniform_design(task)
        # the optimiser checks its clock once per iteration and solves once more at the end: keep a reserve
        return solve_design(task, max_iter=self.design_max_iter, time_limit_s=time_limit_s * 0.75).answer()


def make_strategy(config: MinerConfig) -> Strategy:
    if config.strategy == "dispatch":
        return DispatchStrategy()
    return CpSatStrategy(workers=config.cpsat_workers, design_max_iter=config.design_max_iter)


def capabilities_of(config: MinerConfig, strategy: Strategy) -> Capabilities:
    return Capabilities(
        kinds=("schedule", "design"),
        max_operations=config.max_operations,
        max_elements=config.max_elements,
        solver=strategy.name,
    )


# --------------------------------------------------------------------------------------------- the app


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _rejected(exc: RequestRejected) -> JSONResponse:
    return _error(exc.status, exc.code, exc.message, exc.headers)


async def read_body_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) a declared or streamed size above `limit` bytes without buffering it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise RequestRejected(400, "bad_content_length", "Content-Length is not a decimal integer") from None
        if length > limit:
            raise RequestRejected(413, "body_too_large", f"body of {length} bytes exceeds this miner's limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, "body_too_large", f"body exceeds this miner's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _request_target(request: Request) -> str:
    """The request target exactly as sent (path and ?query), which btauth signs."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    target = raw.decode("latin-1")
    query = request.scope.get("query_string") or b""
    return f"{target}?{query.decode('latin-1')}" if query else target


@dataclass
class MinerState:
    """Per-process state of a running miner app (exposed as `app.state.miner` for tests and metrics)."""

    config: MinerConfig
    strategy: Strategy
    nonce_store: Any
    chain: SubnetChain | None = None
    hotkey: str | None = None
    cache: MetagraphCache | None = None
    authorizer: Authorizer | None = None
    limiter: Any = None
    executor: concurrent.futures.ThreadPoolExecutor | None = None
    inflight: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, code: str) -> None:
        self.counts[code] = self.counts.get(code, 0) + 1


ChainFactory = Callable[[], "SubnetChain | Awaitable[SubnetChain]"]


async def advertise(chain: SubnetChain, config: MinerConfig, capabilities: Capabilities) -> None:
    """Publish the endpoint (ServeAxon) and the capabilities commitment of this miner's hotkey."""
    if not config.external_ip:
        raise FabricaValueError("cannot advertise the miner: no external IP (pass --external-ip)")
    await chain.serve(config.netuid, config.external_ip, config.port)
    await chain.commit(config.netuid, capabilities.model_dump_json())
    log.info("advertised %s:%s and capabilities %s on subnet %s", config.external_ip, config.port,
             capabilities.model_dump_json(), config.netuid)


def create_app(
    config: MinerConfig,
    chain: SubnetChain | None = None,
    *,
    chain_factory: ChainFactory | None = None,
    nonce_store: Any = None,
    strategy: Strategy | None = None,
    rate_limiter: Any = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The miner app for `config`: with a chain port (kept open by the caller) or a factory opened per process.

    `nonce_store` is any `bittensor.http_auth.NonceStore` (default: in-memory, single process);
    `strategy` overrides the one `config.strategy` names (tests inject failing ones); `rate_limiter` is a
    per-hotkey limiter shared by the processes (`ratelimit.open_rate_limiter`; default: this process's buckets).
    """
    if (chain is None) == (chain_factory is None):
        raise ValueError("create_app needs exactly one of chain= or chain_factory=")
    if nonce_store is None:
        nonce_store = open_nonce_store("memory", DEFAULT_RETENTION_S)
    retention = getattr(nonce_store, "retention", None)
    if retention is not None and retention < config.max_age_s + config.allowed_skew_s:
        raise FabricaValueError(
            f"the nonce store remembers nonces for {retention:g} s, less than the freshness window of "
            f"{config.max_age_s + config.allowed_skew_s:g} s (max_age_s + allowed_skew_s): replays would get through"
        )
    strat = strategy if strategy is not None else make_strategy(config)
    state = MinerState(config=config, strategy=strat, nonce_store=nonce_store)
    caps = capabilities_of(config, strat)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = chain is None
        if chain is not None:
            state.chain = chain
        else:
            opened = chain_factory()  # type: ignore[misc]
            state.chain = await opened if inspect.isawaitable(opened) else opened
        state.hotkey = state.chain.hotkey
        state.cache = MetagraphCache(state.chain, config.netuid, refresh_s=config.metagraph_refresh_s,
                                     unknown_refresh_s=config.unknown_refresh_s, clock=clock)
        state.authorizer = Authorizer(state.cache, AuthorizationPolicy(config.require_permit, config.min_stake))
        state.limiter = rate_limiter if rate_limiter is not None else RateLimiter(config.rate_per_s,
                                                                                  config.rate_burst, clock=clock)
        state.executor = concurrent.futures.ThreadPoolExecutor(config.max_concurrent, thread_name_prefix="solver")
        if strat.name == "cpsat":
            # load the tabu kernels before serving, so that the first task gets the full solver
            started = time.perf_counter()
            if await asyncio.to_thread(schedule_warm_up, TABU_WARM_UP_WAIT_S):
                log.info("tabu search kernels ready in %.1f s", time.perf_counter() - started)
            else:
                log.warning("tabu search kernels not ready after %.0f s; CP-SAT answers alone until they are",
                            time.perf_counter() - started)
        if await state.cache.refresh():
            mg = state.cache.metagraph
            assert mg is not None
            if mg.by_hotkey(state.hotkey) is None:
                log.warning("this miner's hotkey %s is not registered on subnet %s", state.hotkey, config.netuid)
        state.cache.start()
        if config.advertise and config.external_ip:
            await advertise(state.chain, config, caps)
        log.info("miner %s serving subnet %s with strategy %s", state.hotkey, config.netuid, strat.name)
        try:
            yield
        finally:
            await state.cache.stop()
            state.executor.shutdown(wait=False, cancel_futures=True)
            if owned:
                try:
                    await state.chain.close()
                except Exception as exc:  # closing is best effort
                    log.warning("closing the chain port failed: %s", exc)

    app = FastAPI(title="Fabrica miner", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.miner = state

    async def admit(request: Request) -> tuple[bytes, str]:
        """Steps 1-4: body, authentication, authorization, rate limit; returns (body, caller hotkey)."""
        body = await read_body_capped(request, config.max_body_bytes)
        assert state.hotkey is not None and state.authorizer is not None and state.limiter is not None
        headers = dict(request.headers.items())
        method, target, hotkey = request.method, _request_target(request), state.hotkey
        # verify may touch SQLite or Redis: keep it off the event loop
        caller = await asyncio.to_thread(
            authenticate, headers, body, method=method, path=target, self_hotkey=hotkey,
            nonce_store=state.nonce_store, max_age_s=config.max_age_s, allowed_skew_s=config.allowed_skew_s,
        )
        await state.authorizer.authorize(caller.hotkey_ss58)
        if getattr(state.limiter, "blocking", False):  # a shared bucket in SQLite or Redis
            await asyncio.to_thread(_take, state.limiter, caller.hotkey_ss58)
        else:
            state.limiter.take(caller.hotkey_ss58)
        return body, caller.hotkey_ss58

    async def run_task(request: Request, kind: str) -> Response:
        received = clock()
        try:
            body, caller = await admit(request)
            task: ScheduleTask | DesignTask
            if kind == "schedule":
                task = _parse_schedule(body, config)
            else:
                task = _parse_design(body, config)
            if state.inflight >= config.max_concurrent + config.max_queue:
                raise RequestRejected(503, "busy", f"{state.inflight} tasks are being solved or queued; retry later",
                                      {"Retry-After": "1"})
        except RequestRejected as exc:
            state.count(exc.code)
            return _rejected(exc)
        state.inflight += 1
        try:
            loop = asyncio.get_running_loop()
            deadline_s = task.deadline_ms / 1000.0
            budget_end = received + deadline_s * (1.0 - config.margin_fraction) - config.margin_s

            def solve() -> ScheduleAnswer | DesignAnswer:
                time_limit = max(0.0, budget_end - clock())  # time spent queued comes off the budget
                if kind == "schedule":
                    return strat.schedule(task, time_limit)  # type: ignore[arg-type]
                return strat.design(task, time_limit)  # type: ignore[arg-type]

            assert state.executor is not None
            started = clock()
            try:
                answer = await loop.run_in_executor(state.executor, solve)
                expected = ScheduleAnswer if kind == "schedule" else DesignAnswer
                if not isinstance(answer, expected):
                    raise TypeError(f"the solver returned {type(answer).__name__}, not {expected.__name__}")
                payload = answer.model_dump_json()
            except FabricaValueError as exc:
                state.count("no_solution")
                log.info("task %s from %s has no solution here: %s", task.task_id, caller, exc)
                return _error(422, "no_solution", str(exc))
            except Exception as exc:
                state.count("solver_error")
                log.exception("solver failed on task %s from %s", task.task_id, caller)
                return _error(500, "solver_error", f"the miner's solver failed on this task ({type(exc).__name__})")
            state.count("ok")
            elapsed_ms = int((clock() - started) * 1000)
            return Response(payload, media_type="application/json", headers={"X-Fabrica-Solve-Ms": str(elapsed_ms)})
        finally:
            state.inflight -= 1

    @app.post(SCHEDULE_PATH)
    async def schedule_endpoint(request: Request) -> Response:
        return await run_task(request, "schedule")

    @app.post(DESIGN_PATH)
    async def design_endpoint(request: Request) -> Response:
        return await run_task(request, "design")

    @app.api_route(CAPABILITIES_PATH, methods=["GET", "POST"])
    async def capabilities_endpoint(request: Request) -> Response:
        try:
            await admit(request)
        except RequestRejected as exc:
            state.count(exc.code)
            return _rejected(exc)
        return Response(caps.model_dump_json(), media_type="application/json")

    return app


def _take(limiter: Any, hotkey: str) -> None:
    try:
        limiter.take(hotkey)
    except NonceStoreError as exc:
        log.error("rate-limit store failed, refusing the request: %s", exc)
        raise RequestRejected(503, "nonce_store_unavailable", "the rate-limit store is unavailable; retry later",
                              {"Retry-After": "1"}) from None


def _parse_schedule(body: bytes, config: MinerConfig) -> ScheduleTask:
    _check_kind(body, "schedule")
    try:
        task = schedule_wire.parse_task(body)
    except FabricaValueError as exc:
        raise RequestRejected(422, "invalid_task", str(exc)) from None
    if task.num_operations > config.max_operations:
        raise RequestRejected(422, "task_too_large",
                              f"jobs: {task.num_operations} operations exceed this miner's advertised "
                              f"max_operations of {config.max_operations}")
    return task


def _parse_design(body: bytes, config: MinerConfig) -> DesignTask:
    _check_kind(body, "design")
    try:
        task = design_wire.parse_task(body)
    except FabricaValueError as exc:
        raise RequestRejected(422, "invalid_task", str(exc)) from None
    if task.num_elements > config.max_elements:
        raise RequestRejected(422, "task_too_large",
                              f"nelx * nely: {task.num_elements} elements exceed this miner's advertised "
                              f"max_elements of {config.max_elements}")
    return task


def _check_kind(body: bytes, kind: str) -> None:
    """A clear error for a task sent to the other kind's endpoint (the schema alone would list every field)."""
    try:
        other = json.loads(body).get("kind")
    except (ValueError, AttributeError):
        return  # not a JSON object: parse_task says so, naming the problem
    if isinstance(other, str) and other != kind and other in ("schedule", "design"):
        raise RequestRejected(422, "wrong_kind", f"kind: this endpoint takes {kind} tasks, got a {other} task")


# --------------------------------------------------------------------------------------------- worker processes

SERVE_ENV = "FABRICA_MINER_SERVE"
"""Environment variable that carries the `fabrica miner serve` settings into each uvicorn worker process."""


def serve_spec(config: MinerConfig, *, network: str, wallet: str | None, hotkey: str | None, dev: str | None,
               nonce_store: str, wallet_path: str | None = None) -> str:
    """The JSON that `serve_app_factory` reads back in each worker (names of keys, never key material)."""
    return json.dumps({"config": asdict(config), "network": network, "wallet": wallet, "hotkey": hotkey,
                       "dev": dev, "wallet_path": wallet_path, "nonce_store": nonce_store})


def serve_app_factory() -> FastAPI:
    """Build the app inside a uvicorn worker from `$FABRICA_MINER_SERVE` (set by `fabrica miner serve`)."""
    raw = os.environ.get(SERVE_ENV)
    if not raw:
        raise RuntimeError(f"{SERVE_ENV} is not set: start workers with `fabrica miner serve`")
    spec = json.loads(raw)
    config = MinerConfig(**spec["config"])
    store = open_nonce_store(spec["nonce_store"], DEFAULT_RETENTION_S)

    def factory() -> Any:
        from .cli import open_subnet_chain

        return open_subnet_chain(spec["network"], wallet=spec["wallet"], hotkey=spec["hotkey"], dev=spec["dev"],
                                 wallet_path=spec.get("wallet_path"))

    limiter = open_rate_limiter(spec["nonce_store"], config.rate_per_s, config.rate_burst)
    return create_app(config, chain_factory=factory, nonce_store=store, rate_limiter=limiter)


__all__ = [
    "CAPABILITIES_PATH",
    "DESIGN_PATH",
    "SCHEDULE_PATH",
    "CpSatStrategy",
    "DispatchStrategy",
    "MinerConfig",
    "MinerState",
    "Strategy",
    "advertise",
    "capabilities_of",
    "create_app",
    "make_strategy",
    "read_body_capped",
    "serve_app_factory",
    "serve_spec",
]
