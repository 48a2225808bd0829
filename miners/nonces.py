"""Replay stores for btauth/1 (`bittensor.http_auth.NonceStore`) that several miner processes can share.

`verify` asks the store `check_and_store(hotkey, nonce)` only after the signature verified; the store must
answer True exactly once per pair across every process that serves the same hotkey, so the check and the write
are one atomic operation:

- `RedisNonceStore` (production, any number of hosts): `SET key 1 NX PX retention` — Redis sets the key only
  if it does not exist and says whether it did, in one command; the key expires by itself.
- `SqliteNonceStore` (embedded default, several uvicorn workers on one host): one upsert in an immediate
  transaction on a WAL-mode database file; SQLite's write lock serialises the processes, so of two workers that
  receive the same request exactly one sees its row inserted. Expired rows are purged from time to time.
- `bittensor.http_auth.InMemoryNonceStore`: one process only.

Every store has `retention` (seconds), which `verify` checks covers its freshness window. A store that cannot
answer raises `NonceStoreError` — the server then refuses the request (fail closed) rather than risk a replay.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from bittensor.http_auth import InMemoryNonceStore, NonceStore

from fabrica.protocol.errors import FabricaError, FabricaValueError

DEFAULT_RETENTION_S = 60.0
"""How long an accepted nonce is remembered; must cover btauth's max_age + allowed_skew (10 s + 2 s by default)."""


class NonceStoreError(FabricaError):
    """The replay store could not be read or written (database locked too long, Redis unreachable...)."""


class SqliteNonceStore:
    """A `NonceStore` in a SQLite file, safe to share between processes on one host (WAL, immediate transactions)."""

    PURGE_EVERY_S = 5.0

    def __init__(self, path: str | Path, retention: float = DEFAULT_RETENTION_S, busy_timeout_s: float = 5.0) -> None:
        if not retention > 0:
            raise FabricaValueError(f"nonce retention must be positive seconds, got {retention!r}")
        self.path = Path(path)
        self.retention = float(retention)
        self._lock = threading.Lock()
        self._last_purge = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; the connection is guarded by _lock.
            self._db = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS btauth_nonces ("
                " hotkey TEXT NOT NULL, nonce INTEGER NOT NULL, expires REAL NOT NULL,"
                " PRIMARY KEY (hotkey, nonce)) WITHOUT ROWID"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS btauth_nonces_expires ON btauth_nonces (expires)")
        except (OSError, sqlite3.Error) as exc:
            raise NonceStoreError(f"cannot open the nonce store {self.path}: {exc}") from exc

    def check_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool:
        now = time.time()  # wall clock: the processes sharing the file must agree on expiry times
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if now - self._last_purge >= self.PURGE_EVERY_S:
                        self._db.execute("DELETE FROM btauth_nonces WHERE expires <= ?", (now,))
                        self._last_purge = now
                    # Insert, or take over a row that has expired but was not purged yet; a live row is left
                    # alone, so changes() is 1 exactly when this pair was not seen inside the retention.
                    cur = self._db.execute(
                        "INSERT INTO btauth_nonces (hotkey, nonce, expires) VALUES (?, ?, ?) "
                        "ON CONFLICT (hotkey, nonce) DO UPDATE SET expires = excluded.expires "
                        "WHERE btauth_nonces.expires <= ?",
                        (hotkey_ss58, int(nonce_ns), now + self.retention, now),
                    )
                    fresh = cur.rowcount == 1
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise NonceStoreError(f"nonce store {self.path} failed: {exc}") from exc
        return fresh

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisNonceStore:
    """A `NonceStore` in Redis (`SET NX PX`): shared by every process and host that uses the same Redis."""

    def __init__(self, url: str, retention: float = DEFAULT_RETENTION_S, prefix: str = "fabrica:btauth:nonce:") -> None:
        import redis  # optional dependency of the subnet extra

        if not retention > 0:
            raise FabricaValueError(f"nonce retention must be positive seconds, got {retention!r}")
        self.url = url
        self.retention = float(retention)
        self.prefix = prefix
        self._redis_error = redis.RedisError
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        except ValueError as exc:
            raise FabricaValueError(f"bad Redis URL {url!r}: {exc}") from None

    def ping(self) -> None:
        """Raise NonceStoreError when Redis is not reachable."""
        try:
            self._client.ping()
        except self._redis_error as exc:
            raise NonceStoreError(f"nonce store Redis {self._safe_url()} is unreachable: {exc}") from exc

    def check_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool:
        key = f"{self.prefix}{hotkey_ss58}:{int(nonce_ns)}"
        try:
            return bool(self._client.set(key, b"1", nx=True, px=int(self.retention * 1000)))
        except self._redis_error as exc:
            raise NonceStoreError(f"nonce store Redis {self._safe_url()} failed: {exc}") from exc

    def _safe_url(self) -> str:
        # never print a password that the URL may carry
        head, sep, tail = self.url.rpartition("@")
        return f"{self.url.split('://', 1)[0]}://…@{tail}" if sep else self.url

    def close(self) -> None:
        self._client.close()


def check_nonce_store_spec(spec: str) -> None:
    """Refuse a malformed `--nonce-store` value without touching any file or server (open_nonce_store's rules)."""
    spec = spec.strip()
    if spec == "memory" or spec.startswith(("redis://", "rediss://", "unix://")):
        return
    if spec.startswith("sqlite:"):
        if not spec.removeprefix("sqlite:").removeprefix("//"):
            raise FabricaValueError("--nonce-store sqlite:PATH needs a file path, e.g. sqlite:.fabrica/miner/nonces.sqlite")
        return
    raise FabricaValueError(
        f"--nonce-store {spec!r} is not one of: memory, sqlite:PATH, redis://HOST:PORT/DB (or rediss://, unix://)"
    )


def open_nonce_store(spec: str, retention: float = DEFAULT_RETENTION_S) -> NonceStore:
    """The store a `--nonce-store` value names: `memory`, `sqlite:PATH` or `redis://…` / `rediss://…` / `unix://…`."""
    spec = spec.strip()
    if spec == "memory":
        return InMemoryNonceStore(retention=retention)
    if spec.startswith("sqlite:"):
        path = spec.removeprefix("sqlite:").removeprefix("//")
        if not path:
            raise FabricaValueError("--nonce-store sqlite:PATH needs a file path, e.g. sqlite:.fabrica/miner/nonces.sqlite")
        return SqliteNonceStore(path, retention=retention)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        store = RedisNonceStore(spec, retention=retention)
        store.ping()
        return store
    raise FabricaValueError(
        f"--nonce-store {spec!r} is not one of: memory, sqlite:PATH, redis://HOST:PORT/DB (or rediss://, unix://)"
    )


def is_shared(spec: str) -> bool:
    """Whether the store a spec names can be shared by several processes."""
    return spec.strip() != "memory"


__all__ = [
    "DEFAULT_RETENTION_S",
    "InMemoryNonceStore",
    "NonceStoreError",
    "RedisNonceStore",
    "SqliteNonceStore",
    "is_shared",
    "open_nonce_store",
]
