"""Helpers for the indexer tests: a chain driver (SDK transactions, anvil reorgs) and the oracle comparison."""
from __future__ import annotations

import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.indexer.verify import diff as _diff
from fabrica.indexer.verify import snapshot
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.client import Fabrica
from fabrica.protocol.deployment import Deployment
from fabrica.protocol.storage.store import LocalContentStore
from fabrica.protocol.types import Material, ProcessKind

FAB = 10**18
USD = 10**6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JsonRpcProxy:
    """A loopback HTTP server in front of a JSON-RPC node, standing in for a provider: `answer` decides each reply
    (by default the node's own); `start` serves, `close` stops (also as a context manager)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code, payload, headers = proxy.answer(body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: Any) -> Any:
        """The node's answer to a request (or batch)."""
        return httpx.post(self.upstream, json=body, timeout=30).json()

    def answer(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        """The HTTP status, JSON payload and extra headers to reply with."""
        return 200, self.forward(body), {}

    def start(self) -> JsonRpcProxy:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> JsonRpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def oracle_snapshot(rpc_url: str, deployment: Deployment, tmp: Path, head: int) -> dict[str, list[tuple]]:
    """A fresh index from genesis (SQLite) up to `head`: the expected contents."""
    path = tmp / f"oracle-{random.getrandbits(48):x}.db"
    with Indexer(f"sqlite:///{path}", rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync(until=head)
        snap = snapshot(ix.engine)
        ix.engine.dispose()
    path.unlink()
    return snap


def diff(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> list[str]:
    return [str(d) for d in _diff(actual, expected)]


class ChainDriver:
    """Drives the devnet: SDK actions as the dev roles, anvil reorgs, rollbacks, snapshots."""

    def __init__(self, rpc_url: str, deployment: Deployment, content: Path, seed: int = 0) -> None:
        self.rpc_url = rpc_url
        self.deployment = deployment
        self.base = Fabrica.connect(rpc_url, deployment=deployment)
        self.w3 = self.base.w3
        self.customer = self.base.with_account(dev_account(DEV_ROLES["customer"]))
        self.shop = self.base.with_account(dev_account(DEV_ROLES["shop"]))
        self.designer = self.base.with_account(dev_account(DEV_ROLES["designer"]))
        self.usd = deployment.payment_tokens["fUSD"]
        self.store = LocalContentStore(content)
        self.rng = random.Random(seed)
        self.node_id: int | None = None

    def rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.w3.provider.make_request(method, params)
        assert "error" not in answer, answer
        return answer["result"]

    @property
    def head(self) -> int:
        return self.w3.eth.block_number

    def cid(self, data: bytes) -> str:
        return str(self.store.add(data))

    def setup_shop(self) -> None:
        """Stake and register a node (once), and give the market a standing allowance from the customer."""
        if self.node_id is not None:
            return
        self.shop.stake(2_000 * FAB)
        self.node_id = self.shop.register_node(
            processes=ProcessKind.FDM, materials=Material.PLA, build_volume_mm=(200, 200, 200),
            encryption_key=b"\x22" * 32, metadata_cid=self.cid(b"node"),
        ).value
        self.customer.approve(self.usd, self.base.market.address, 10**30)

    # ------------------------------------------------------------------ actions
    def deposit(self, amount: int | None = None) -> None:
        self.customer.deposit(self.usd, amount or self.rng.randint(1, 50) * USD)

    def post(self) -> int:
        c = self.customer
        return c.post_job(token=self.usd, amount=self.rng.randint(1, 30) * USD,
                          spec_cid=self.cid(b"spec %d" % self.rng.getrandbits(32)), claim_by=c.now() + 86_400,
                          delivery_window=86_400, collateral=10 * FAB).value

    def open_jobs(self) -> list[int]:
        from fabrica.protocol.types import JobStatus
        return [r.job_id for r in self.base.jobs(status=JobStatus.OPEN)]

    def random_action(self) -> str:
        """One random marketplace action (a transaction or two)."""
        from fabrica.protocol.types import JobStatus
        self.setup_shop()
        choice = self.rng.choice(["deposit", "post", "post", "claim", "deliver", "accept", "cancel", "mint",
                                  "withdraw"])
        jobs = self.base.jobs()
        by = {s: [r.job_id for r in jobs if r.status == s] for s in JobStatus}
        if choice == "claim" and by[JobStatus.OPEN]:
            self.shop.claim_job(self.rng.choice(by[JobStatus.OPEN]), self.node_id)
        elif choice == "deliver" and by[JobStatus.CLAIMED]:
            self.shop.deliver_job(self.rng.choice(by[JobStatus.CLAIMED]), self.cid(b"proof"))
        elif choice == "accept" and by[JobStatus.DELIVERED]:
            self.customer.accept_job(self.rng.choice(by[JobStatus.DELIVERED]))
        elif choice == "cancel" and by[JobStatus.OPEN]:
            self.customer.cancel_job(self.rng.choice(by[JobStatus.OPEN]))
        elif choice == "mint":
            self.designer.mint_design(self.cid(b"design %d" % self.rng.getrandbits(32)), 500)
        elif choice == "withdraw" and self.customer.market_balance(self.usd, self.customer.address):
            self.customer.withdraw(self.usd)
        elif choice == "deposit":
            self.deposit()
        else:
            self.post()
            choice = "post"
        return choice

    def deposit_request(self, amount: int) -> dict[str, Any]:
        """An unsigned deposit call anvil signs itself (dev accounts are unlocked): for anvil_reorg."""
        data = self.base.market.encode_abi("deposit", [self.usd, amount])
        return {"from": self.customer.address, "to": self.base.market.address, "data": data, "gas": hex(200_000)}

    # ------------------------------------------------------------------ chain surgery
    def mine(self, n: int = 1) -> None:
        self.rpc("anvil_mine", [hex(n)])

    def reorg(self, depth: int, replacements: int = 1) -> None:
        """Replace the last `depth` blocks; `replacements` deposits land in the new branch."""
        txs = [[self.deposit_request((i + 1) * USD + self.rng.randint(1, 999)), self.rng.randrange(depth)]
               for i in range(replacements)]
        self.rpc("anvil_reorg", [depth, txs])

    def rollback(self, depth: int) -> None:
        self.rpc("anvil_rollback", [depth])
