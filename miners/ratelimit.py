"""Per-hotkey token buckets shared by every miner process, in the same backend as the replay store.

`auth.RateLimiter` keeps its buckets in one process: with `--workers K` a hotkey would get K times the rate.
These keep one bucket per hotkey where all workers see it, updated atomically:

- `RedisRateLimiter`: one Lua script (read, refill, spend, write, expire) — Redis runs scripts atomically, and
  the script reads Redis' own clock, so hosts with skewed clocks still share one bucket;
- `SqliteRateLimiter`: an immediate transaction on the nonce store's database file (table `rate_buckets`).

Both raise `RequestRejected` 429 with Retry-After when the bucket is empty, and `NonceStoreError` (the server's
503) when the backend fails.
"""
from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from .auth import RateLimiter, RequestRejected
from .nonces import NonceStoreError


class HotkeyRateLimiter(Protocol):
    """Spend one request of `key`'s budget or raise RequestRejected(429)."""

    def take(self, key: str) -> None: ...


def _reject(key: str, rate: float, burst: float, tokens: float) -> RequestRejected:
    wait = (1.0 - tokens) / rate
    return RequestRejected(429, "rate_limited",
                           f"too many requests from hotkey {key}: at most {rate:g}/s, bursts of {burst:g}",
                           {"Retry-After": str(max(1, math.ceil(wait)))})


def _check(rate: float, burst: float) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError("rate limit needs rate > 0 and burst >= 1")


class SqliteRateLimiter:
    """Token buckets in a SQLite file shared by the processes on one host."""

    blocking = True
    PURGE_EVERY_S = 30.0

    def __init__(self, path: str | Path, rate: float, burst: float, busy_timeout_s: float = 5.0) -> None:
        _check(rate, burst)
        self.path = Path(path)
        self.rate, self.burst = rate, burst
        self._lock = threading.Lock()
        self._last_purge = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=busy_timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS rate_buckets ("
                             " hotkey TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL) WITHOUT ROWID")
        except (OSError, sqlite3.Error) as exc:
            raise NonceStoreError(f"cannot open the rate-limit store {self.path}: {exc}") from exc

    def take(self, key: str) -> None:
        now = time.time()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._db.execute("SELECT tokens, at FROM rate_buckets WHERE hotkey = ?", (key,)).fetchone()
                    tokens, at = row if row is not None else (self.burst, now)
                    tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
                    allowed = tokens >= 1.0
                    if allowed:
                        tokens -= 1.0
                    self._db.execute("INSERT OR REPLACE INTO rate_buckets (hotkey, tokens, at) VALUES (?, ?, ?)",
                                     (key, tokens, now))
                    if now - self._last_purge >= self.PURGE_EVERY_S:  # full buckets carry no information
                        self._db.execute("DELETE FROM rate_buckets WHERE at < ?", (now - self.burst / self.rate,))
                        self._last_purge = now
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise NonceStoreError(f"rate-limit store {self.path} failed: {exc}") from exc
        if not allowed:
            raise _reject(key, self.rate, self.burst, tokens)


_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, tostring(tokens)}
"""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every process and host using the same Redis."""

    blocking = True

    def __init__(self, url: str, rate: float, burst: float, prefix: str = "fabrica:miner:bucket:") -> None:
        import redis

        _check(rate, burst)
        self.rate, self.burst, self.prefix = rate, burst, prefix
        self._redis_error = redis.RedisError
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._script = self._client.register_script(_BUCKET_LUA)
        self._ttl_ms = int(math.ceil(burst / rate * 1000)) + 1000  # a bucket left alone this long is full again
        self._host = url.rpartition("@")[2]

    def take(self, key: str) -> None:
        try:
            allowed, tokens = self._script(keys=[self.prefix + key], args=[self.rate, self.burst, self._ttl_ms])
        except self._redis_error as exc:
            raise NonceStoreError(f"rate-limit store Redis {self._host} failed: {exc}") from exc
        if not int(allowed):
            raise _reject(key, self.rate, self.burst, float(tokens))


def open_rate_limiter(store_spec: str, rate: float, burst: float) -> HotkeyRateLimiter:
    """The rate limiter that goes with a `--nonce-store` spec: in-process for `memory`, else the same backend."""
    spec = store_spec.strip()
    if spec.startswith("sqlite:"):
        return SqliteRateLimiter(spec.removeprefix("sqlite:").removeprefix("//"), rate, burst)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisRateLimiter(spec, rate, burst)
    return RateLimiter(rate, burst)


__all__ = ["HotkeyRateLimiter", "RedisRateLimiter", "SqliteRateLimiter", "open_rate_limiter"]
