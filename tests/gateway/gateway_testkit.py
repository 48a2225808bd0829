"""Helpers for the gateway tests: index the devnet, run the gateway in-process or as `fabrica gateway serve`,
and sign in with Ethereum from an independent signer (eth_account)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from eth_account import Account
from eth_account.messages import encode_defunct
from fabrica.indexer.sync import Indexer, IndexerConfig

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("FABRICA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FABRICA = str(Path(sys.executable).with_name("fabrica"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def index(db_url: str, rpc_url: str, deployment: Any) -> None:
    """Bring the index up to the chain's head."""
    with Indexer(db_url, rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()


@contextmanager
def app_client(db_url: str, home: Path, rpc_url: str, **config: Any) -> Iterator[Any]:
    """The gateway application in this process behind Starlette's TestClient (lifespan run)."""
    from fabrica.gateway.app import create_app
    from fabrica.gateway.config import GatewayConfig
    from fabrica.protocol.config import Settings
    from fastapi.testclient import TestClient

    config.setdefault("public_url", "http://testserver")
    cfg = GatewayConfig(**config)
    app = create_app(cfg, Settings(rpc_url=rpc_url, home=home), db_url)
    with TestClient(app, base_url=cfg.public_url) as client:
        yield client


class GatewayProcess:
    """`fabrica gateway serve` in a subprocess on a free port."""

    def __init__(self, db_url: str, home: Path, rpc_url: str, workers: int = 1, env: dict[str, str] | None = None,
                 extra: list[str] | None = None, access_log: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(home / f"gateway-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, "FABRICA_HOME": str(home), "FABRICA_RPC_URL": rpc_url, **(env or {})}
        self.proc = subprocess.Popen(
            [FABRICA, "gateway", "serve", "--db", db_url, "--port", str(self.port), "--workers", str(workers),
             *([] if access_log else ["--no-access-log"]), *(extra or [])],
            cwd=home, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.log_path = Path(self.log.name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gateway did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> GatewayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def siwe_text(address: str, nonce: str, *, domain: str = "testserver", uri: str = "http://testserver",
              chain_id: int = 31337, issued: datetime | None = None, expires: datetime | None = None,
              statement: str | None = "Sign in to Fabrica") -> str:
    """An EIP-4361 message as a wallet library writes it (built here by hand, independent of the gateway)."""
    issued = issued or datetime.now(UTC)
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    lines += [statement, ""] if statement is not None else [""]
    lines += [f"URI: {uri}", "Version: 1", f"Chain ID: {chain_id}", f"Nonce: {nonce}",
              f"Issued At: {issued.strftime('%Y-%m-%dT%H:%M:%S.000Z')}"]
    if expires is not None:
        lines.append(f"Expiration Time: {expires.strftime('%Y-%m-%dT%H:%M:%S.000Z')}")
    return "\n".join(lines)


def personal_sign(key: bytes | str, text: str) -> str:
    """What a wallet's personal_sign returns for `text`."""
    return "0x" + bytes(Account.sign_message(encode_defunct(text=text), key).signature).hex()


def sign_in(client: Any, key: bytes | str, **kw: Any) -> dict[str, Any]:
    """Sign in as `key`'s address; returns the verify response (tokens) — the client keeps the cookies."""
    acct = Account.from_key(key)
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    base = str(client.base_url).rstrip("/")
    domain = base.split("://", 1)[1]
    text = siwe_text(acct.address, nonce, domain=domain, uri=base, **kw)
    r = client.post("/v1/auth/verify", json={"message": text, "signature": personal_sign(key, text)})
    assert r.status_code == 200, r.text
    return r.json()


def in_a_minute() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def pg_schema_url() -> tuple[str, str]:
    """A fresh PostgreSQL schema and the URL whose search_path points at it."""
    schema = f"gw_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{PG_BASE}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
