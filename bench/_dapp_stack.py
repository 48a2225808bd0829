"""The real stack bench/dapp.py measures: anvil with Fabrica deployed (protocol/devnet.py), demo-like jobs made
by the indexer tests' ChainDriver, `fabrica indexer run` following the chain, `fabrica gateway serve` serving
the built dApp at /, and headless Debian Chromium (Playwright) — the pieces tests/dapp/conftest.py uses, with
the indexer as its own process (as `make demo` runs it) so that the browser's Python driver does not share a
GIL with it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "gateway"))  # GatewayProcess
sys.path.insert(0, str(ROOT / "tests" / "indexer"))  # ChainDriver
sys.path.insert(0, str(ROOT / "tests" / "dapp"))  # DIST, chromium_path

from dapp_testkit import DIST, chromium_path  # noqa: E402

__all__ = ["DIST", "FAB", "USD", "Stack"]
from fabrica.protocol.devnet import Devnet  # noqa: E402
from gateway_testkit import FABRICA, GatewayProcess  # noqa: E402
from indexer_testkit import FAB, USD, ChainDriver, free_port  # noqa: E402

# The browser loads pages many times from one address: the public per-IP budget is not what is measured.
GATEWAY_ENV = {"FABRICA_GATEWAY_RATE_PER_ADDRESS": "1000", "FABRICA_GATEWAY_BURST_PER_ADDRESS": "1000",
               "FABRICA_GATEWAY_RATE_PER_IP": "1000", "FABRICA_GATEWAY_BURST_PER_IP": "1000"}


class IndexerProcess:
    """`fabrica indexer run` over an SQLite file or PostgreSQL URL, following the devnet."""

    def __init__(self, db_url: str, rpc_url: str, home: Path, poll: float, confirmations: int) -> None:
        self.log = open(home / "indexer.log", "w")  # noqa: SIM115 - closed in stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FABRICA_")}
        self.proc = subprocess.Popen(
            [FABRICA, "indexer", "run", "--db", db_url, "--rpc", rpc_url, "--home", str(home),
             "--confirmations", str(confirmations), "--poll", str(poll), "--max-reorg-depth", "16"],
            cwd=home, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.log_path = Path(self.log.name)

    def check(self) -> None:
        """Raise with the log's tail when the indexer has exited."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"the indexer exited ({self.proc.returncode}): {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (the indexer finishes its sync), then SIGKILL after 15 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class Stack:
    """Devnet + seeded jobs + indexer + gateway (+ dApp) + Chromium; a context manager that stops all of it."""

    def __init__(self, *, db: str | None, indexer_poll: float, say: Any) -> None:
        self.db = db
        self.indexer_poll = indexer_poll
        self.say = say
        self._stack = ExitStack()
        self.home = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dapp-")))
        self.chain: ChainDriver
        self.gateway: GatewayProcess
        self.indexer: IndexerProcess
        self.browser: Any
        self.rpc_url = ""

    # ------------------------------------------------------------------ bring-up
    def __enter__(self) -> Stack:
        try:
            self._up()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _up(self) -> None:
        if not (DIST / "index.html").is_file():
            raise RuntimeError(f"the dApp is not built ({DIST}/index.html missing): run "
                               "`npm run build --prefix gateway/web`")
        net = Devnet(self.home, port=free_port())
        deployment = net.up(progress=lambda m: self.say(f"devnet: {m}"))
        self._stack.callback(net.down)
        self.rpc_url = net.rpc_url
        self.deployment = deployment
        self.chain = ChainDriver(net.rpc_url, deployment, self.home / "content", seed=16)
        self.chain.setup_shop()

    def _postgres_schema(self, base: str) -> str:
        """A fresh schema in the PostgreSQL database `base` (dropped with the stack): its URL."""
        import sqlalchemy as sa

        schema = f"bench_dapp_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base)
        with admin.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.begin() as c:
                c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

        self._stack.callback(drop)
        return f"{base}?options=-csearch_path%3D{schema}"

    def start_services(self) -> None:
        """The indexer (caught up) and the gateway; call after seeding so the index starts with the history."""
        db_url = self._postgres_schema(self.db) if self.db else f"sqlite:///{self.home / 'index.db'}"
        self.indexer = IndexerProcess(db_url, self.rpc_url, self.home, self.indexer_poll, confirmations=0)
        self._stack.callback(self.indexer.stop)
        # The gateway opens the index read-only: wait until the indexer has created and filled it.
        head = self.chain.head
        deadline = time.monotonic() + 120
        self.gateway = None  # type: ignore[assignment]
        while time.monotonic() < deadline:
            self.indexer.check()
            if self.gateway is None and (self.db or (self.home / "index.db").exists()):
                try:
                    self.gateway = GatewayProcess(db_url, self.home, self.rpc_url, env=GATEWAY_ENV)
                    self._stack.callback(self.gateway.stop)
                except RuntimeError:
                    time.sleep(0.5)  # the schema was not there yet
                    continue
            if self.gateway is not None:
                block = httpx.get(self.gateway.url + "/v1/stats", timeout=5).json().get("block")
                if block is not None and block >= head:
                    self.say(f"indexer caught up at block {block}; gateway at {self.gateway.url}")
                    return
            time.sleep(0.3)
        raise RuntimeError(f"the index did not reach block {head} in 120 s; see {self.indexer.log_path}")

    def start_browser(self) -> Any:
        """Headless Debian Chromium (the tests' browser), stopped with the stack."""
        from playwright.sync_api import sync_playwright

        pw = self._stack.enter_context(sync_playwright())
        self.browser = pw.chromium.launch(executable_path=chromium_path(), headless=True)
        self._stack.callback(self.browser.close)
        return self.browser

    # ------------------------------------------------------------------ chain helpers
    def set_block_time(self, seconds: int) -> None:
        """Switch anvil from mining on each transaction to a block every `seconds` (as a real chain does)."""
        self.chain.rpc("evm_setIntervalMining", [seconds])

    def receipt_at(self, tx_hash: Any, poll_s: float = 0.01, timeout: float = 30) -> tuple[float, Any]:
        """Poll for a transaction's receipt every `poll_s`; (time.time() when it was first seen, receipt)."""
        client = httpx.Client(timeout=5)
        h = tx_hash.hex() if isinstance(tx_hash, bytes) else str(tx_hash)
        h = h if h.startswith("0x") else "0x" + h
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                body = client.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt",
                                                       "params": [h]}).json()
                if body.get("result"):
                    return time.time(), body["result"]
                time.sleep(poll_s)
        finally:
            client.close()
        raise RuntimeError(f"no receipt for {h} in {timeout} s")
