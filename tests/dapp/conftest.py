"""Fixtures for the dApp's end-to-end tests: a real anvil devnet with Fabrica deployed, the indexer following it
in a background thread, `fabrica gateway serve` serving the built dApp (gateway/web/dist), and headless
Debian Chromium driven by Playwright with a wallet injected into each page (dapp_testkit.InjectedWallet)."""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gateway"))  # GatewayProcess
sys.path.insert(0, str(HERE.parent / "indexer"))  # ChainDriver

from dapp_testkit import DESKTOP, DIST, WAIT_MS, InjectedWallet, chromium_path  # noqa: E402
from fabrica.indexer.sync import Indexer, IndexerConfig  # noqa: E402
from fabrica.protocol.accounts import DEV_ROLES, dev_account  # noqa: E402
from fabrica.protocol.devnet import Devnet  # noqa: E402
from gateway_testkit import GatewayProcess  # noqa: E402
from indexer_testkit import ChainDriver, free_port  # noqa: E402



@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FABRICA_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FABRICA_") and name != "FABRICA_TEST_POSTGRES":
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    """anvil on a free port with Fabrica deployed, stopped at the end."""
    home = tmp_path_factory.mktemp("dapp-devnet")
    net = Devnet(home, port=free_port())
    deployment = net.up()
    try:
        yield net.rpc_url, deployment, home
    finally:
        net.down()


@pytest.fixture(scope="module")
def chain(devnet: tuple[str, Any, Path]) -> ChainDriver:
    """A driver acting as the dev roles (a registered, staked shop node included)."""
    rpc_url, deployment, home = devnet
    driver = ChainDriver(rpc_url, deployment, home / "content", seed=16)
    driver.setup_shop()
    return driver


@dataclass
class RunningIndexer:
    """The indexer following the devnet in a background thread (as `fabrica indexer run` does)."""

    db_url: str
    indexer: Indexer
    stop: threading.Event = field(default_factory=threading.Event)
    running: threading.Event = field(default_factory=threading.Event)  # cleared: the index stands still
    thread: threading.Thread | None = None
    error: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self.stop.is_set():  # Indexer.run's loop, with a pause for tests that need a stale index
                if self.running.is_set():
                    self.indexer.sync()
                self.stop.wait(0.2)
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture, which fails the test
            self.error = exc

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the index where it is (the chain moves on; pages keep showing the old state), then follow again."""
        self.running.clear()
        time.sleep(0.5)  # a sync under way finishes
        try:
            yield
        finally:
            self.running.set()


@pytest.fixture(scope="module")
def indexer(devnet: tuple[str, Any, Path], chain: ChainDriver,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIndexer]:
    """The index (SQLite) caught up with the chain, then kept following it every 200 ms (in a thread: tests can
    pause it)."""
    rpc_url, deployment, _home = devnet
    db_url = f"sqlite:///{tmp_path_factory.mktemp('dapp-index') / 'index.db'}"
    ix = Indexer(db_url, rpc_url, deployment, IndexerConfig(confirmations=0, poll_interval=0.2, max_reorg_depth=16))
    ix.sync()
    running = RunningIndexer(db_url, ix)
    running.running.set()
    running.thread = threading.Thread(target=running._run, name="dapp-indexer", daemon=True)
    running.thread.start()
    try:
        yield running
    finally:
        running.stop.set()
        running.thread.join(30)
        ix.close()
    if running.error is not None:
        raise running.error


@pytest.fixture(scope="module")
def gateway(devnet: tuple[str, Any, Path], indexer: RunningIndexer) -> Iterator[GatewayProcess]:
    """`fabrica gateway serve` over the index, serving the built dApp at /."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"the dApp is not built ({DIST}/index.html missing): run `make install` "
                           "(or `npm ci --prefix gateway/web && npm run build --prefix gateway/web`)")
    rpc_url, _deployment, home = devnet
    # The browser signs in many times from one address: the default per-address budget is for the public.
    env = {"FABRICA_GATEWAY_RATE_PER_ADDRESS": "1000", "FABRICA_GATEWAY_BURST_PER_ADDRESS": "1000"}
    with GatewayProcess(indexer.db_url, home, rpc_url, env=env) as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Dapp:
    """A browser context on the gateway with injected wallets; the page's errors are collected."""

    context: Any
    page: Any
    wallets: list[InjectedWallet]
    url: str
    errors: list[str]

    @property
    def wallet(self) -> InjectedWallet:
        return self.wallets[0]

    def open(self, path: str = "/") -> Any:
        """Load the dApp at an in-app path (#/jobs/3) and wait until the shell has rendered."""
        self.page.goto(f"{self.url}/#{path}")
        self.page.wait_for_selector("header .brand", timeout=WAIT_MS)
        return self.page

    def connect(self, wallet_name: str | None = None) -> None:
        """Connect through the header's wallet picker (the first wallet, or the one named)."""
        page = self.page
        page.get_by_role("button", name="Connect wallet").click()
        name = wallet_name or self.wallet.name
        page.get_by_role("group", name="Wallets found in this browser").get_by_role("button", name=name).click()

    def me(self) -> dict[str, Any]:
        """GET /v1/auth/me through the page's own fetch (its cookies): status and body."""
        return self.page.evaluate("""async () => {
            const r = await fetch('/v1/auth/me', {credentials: 'include'});
            return {status: r.status, body: await r.json()};
        }""")


@pytest.fixture
def open_dapp(browser: Any, gateway: GatewayProcess, devnet: tuple[str, Any, Path]) -> Iterator[Callable[..., Dapp]]:
    """Open the dApp: `open_dapp(accounts=[...], wallets=1, viewport=DESKTOP, chain_id=None, known_chains=None)`."""
    rpc_url, deployment, _home = devnet
    opened: list[Dapp] = []

    def make(accounts: list[Any] | None = None, wallets: int = 1, viewport: dict[str, int] | None = None,
             chain_id: int | None = None, known_chains: set[int] | None = None) -> Dapp:
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(WAIT_MS)
        keys = accounts or [dev_account(DEV_ROLES["customer"]), dev_account(7)]
        injected = []
        for i in range(wallets):
            w = InjectedWallet(rpc_url, deployment.chain_id, keys, name="Fabrica Test Wallet" if i == 0 else f"Other Wallet {i}",
                               rdns="org.fabrica.testwallet" if i == 0 else f"org.fabrica.other{i}",
                               set_window_ethereum=i == 0, known_chains=known_chains)
            if chain_id is not None:
                w.chain_id = chain_id
            injected.append(w.install(context))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        d = Dapp(context, page, injected, gateway.url, errors)
        opened.append(d)
        return d

    yield make
    for d in opened:
        d.context.close()
        for w in d.wallets:
            w.close()

