"""Token buckets by key (client IP, signed-in address, node): refusals carry the seconds to wait."""
from __future__ import annotations

import math
import threading
import time

from .errors import RateLimited


class RateLimiter:
    """`rate` requests per second sustained, bursts of `burst`, per key, in this worker's memory.

    Each worker keeps its own buckets (with N workers a key gets up to N times the rate); that bound is
    what `--workers` multiplies, and the README says so.
    """

    MAX_KEYS = 100_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, what: str = "requests", now: float | None = None) -> None:
        """Spend one token of `key`'s bucket or raise RateLimited with Retry-After."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RateLimited(f"too many {what} from {key}: at most {self.rate:g}/s (bursts of {self.burst:g}); "
                                  f"retry in {wait} s", headers={"Retry-After": str(wait)})
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.MAX_KEYS:  # forget full buckets: they hold nothing a client could lose
                full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst]
                for k in full:
                    del self._buckets[k]
