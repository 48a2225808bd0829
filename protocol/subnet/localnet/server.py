"""``fabrica subnet localnet``: ONE process holding the stand-in chain, served as JSON over loopback HTTP.

Miners and validators in other processes reach it through
:class:`~.substrate.LocalnetSubstrate` (``bittensor.Client(..., substrate=...)``), so they all share
one chain: registrations, stakes, axons, commitments, weights, tempo and emissions. Blocks are
produced on a timer (``block_time`` seconds) and on demand (``POST /dev/advance``); the state is
saved after every block and every extrinsic, so a restart resumes where it stopped.

Endpoints: ``POST /rpc`` ``{"method": ..., "params": {...}}`` -> ``{"result": ...}`` or
``{"error": {"kind", "message"}}``; ``GET /health``; ``POST /dev/advance`` ``{"blocks": n}``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fabrica.protocol.errors import FabricaError

from .state import DispatchError, InvalidTransaction, LocalnetError, LocalnetState, UnsupportedError

log = logging.getLogger(__name__)

CHAIN_NAME = "fabrica-localnet"
DEFAULT_PORT = 9944
STATE_FILE = "subnet/localnet-state.json"


def state_path(home: Path) -> Path:
    """Where the stand-in keeps its state under a Fabrica home directory."""
    return Path(home) / STATE_FILE


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message}}


def handle_rpc(state: LocalnetState, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Answer one request against ``state``: ``{"result": ...}`` or ``{"error": {"kind", "message"}}``."""
    p = params or {}
    try:
        if method == "genesis_hash":
            result: Any = state.genesis_hash
        elif method == "block_number":
            result = state.block
        elif method == "block_hash":
            result = state.block_hash(p.get("block"))
        elif method == "block_time":
            result = state.block_time
        elif method == "spec_version":
            result = 1
        elif method == "get_block":
            number = p.get("block_number")
            if number is None:
                number = state.block_number_of(p.get("block_hash"))
            number = int(number)
            if number > state.block or number < 0:
                result = None
            else:
                stamp = state.timestamp_ms(number)
                result = {
                    "header": {"number": number, "hash": state.block_hash(number),
                               "parentHash": state.block_hash(number - 1) if number > 0 else None},
                    "extrinsics": [{"call": {"call_module": "Timestamp", "call_function": "set",
                                             "call_args": [{"name": "now", "value": stamp}]}}],
                }
        elif method == "query":
            state.block_number_of(p.get("block_hash"))
            result = state.query(str(p["module"]), str(p["item"]), p.get("params"))
        elif method == "query_batch":
            state.block_number_of(p.get("block_hash"))
            result = [state.query(str(p["module"]), str(p["item"]), keys) for keys in p.get("param_sets") or []]
        elif method == "query_map":
            state.block_number_of(p.get("block_hash"))
            result = state.query_map(str(p["module"]), str(p["item"]), p.get("params"))
        elif method == "runtime_call":
            state.block_number_of(p.get("block_hash"))
            result = state.runtime_call(str(p["api"]), str(p["method"]), p.get("params"))
        elif method == "constant":
            result = state.constant(str(p["module"]), str(p["name"]))
        elif method == "events":
            result = state.events(p.get("block_hash"))
        elif method == "account_next_index":
            result = state.account_next_index(str(p["address"]))
        elif method == "submit":
            result = state.submit(dict(p["extrinsic"]))
        elif method == "advance":
            epochs = state.advance(int(p.get("blocks", 1)))
            result = {"block": state.block, "epochs": epochs}
        else:
            return _error("unsupported", f"the Fabrica local stand-in has no method {method!r}")
    except UnsupportedError as exc:
        return _error("unsupported", str(exc))
    except InvalidTransaction as exc:
        return _error("invalid_transaction", str(exc))
    except (LocalnetError, DispatchError, FabricaError) as exc:
        return _error("chain", str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        return _error("bad_request", f"bad parameters for {method}: {type(exc).__name__}: {exc}")
    return {"result": result}


def create_app(state: LocalnetState, *, produce_blocks: bool = True):
    """The FastAPI app serving ``state``; with ``produce_blocks`` it advances one block every ``block_time``."""
    async def producer() -> None:
        while True:
            await asyncio.sleep(state.block_time)
            try:
                epochs = state.advance(1)
            except Exception:  # a failing epoch must not stop the chain; it is logged and retried next block
                log.exception("localnet: producing block %d failed", state.block + 1)
                continue
            for netuid in epochs:
                log.info("localnet: epoch on subnet %d at block %d", netuid, state.block)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(producer()) if produce_blocks and state.block_time > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            state.save()

    app = FastAPI(title="Fabrica subnet localnet", lifespan=lifespan)

    @app.post("/rpc")
    async def rpc(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            method, params = str(body["method"]), dict(body.get("params") or {})
        except Exception as exc:
            return JSONResponse(_error("bad_request", f"expected {{'method': str, 'params': {{}}}}: {exc}"), status_code=400)
        return JSONResponse(handle_rpc(state, method, params))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"chain": CHAIN_NAME, "genesis_hash": state.genesis_hash, "block": state.block,
                "block_time": state.block_time, "netuids": sorted(int(k) for k in state.data["subnets"])}

    @app.post("/dev/advance")
    async def advance(request: Request) -> JSONResponse:
        try:
            blocks = int((await request.json()).get("blocks", 1))
        except Exception:
            blocks = 1
        if not 0 <= blocks <= 100_000:
            return JSONResponse(_error("bad_request", "blocks must be in 0..100000"), status_code=400)
        return JSONResponse(handle_rpc(state, "advance", {"blocks": blocks}))

    return app


class LocalnetServer:
    """The stand-in served by uvicorn on ``host:port`` (``port=0`` picks a free one), in this thread or a background one."""

    def __init__(
        self,
        state: LocalnetState,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        produce_blocks: bool = True,
        log_level: str = "warning",
    ):
        self.state = state
        self.host = host
        self.produce_blocks = produce_blocks
        self.log_level = log_level
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise LocalnetError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.port = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _make_server(self):
        import uvicorn

        config = uvicorn.Config(
            create_app(self.state, produce_blocks=self.produce_blocks),
            log_level=self.log_level,
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C (uvicorn handles the signals)."""
        server = self._make_server()

        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[self._sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.02)
            if on_ready is not None and server.started:
                on_ready()
            await task

        asyncio.run(main())

    def start(self, timeout: float = 15.0) -> LocalnetServer:
        """Serve in a background thread; returns once the server accepts connections."""
        server = self._make_server()
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[self._sock])),
                                        name="fabrica-localnet", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > end or not self._thread.is_alive():
                raise LocalnetError(f"the localnet server did not start on {self.url} within {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a background server (the state is saved on the way out)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> LocalnetServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
