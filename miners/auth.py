"""Who may ask this miner for work: btauth/1 authentication, metagraph authorization and per-hotkey rate limits.

- `authenticate` runs `bittensor.http_auth.verify` on the raw body bytes and turns its errors into a
  `RequestRejected` (401) naming which check failed: malformed, wrong_receiver, stale, bad_signature, replayed.
- `MetagraphCache` holds the subnet's metagraph, refreshed from the chain port in the background every
  `refresh_s`; a hotkey it does not know triggers an extra refresh at most once per `unknown_refresh_s` (for
  all unknown hotkeys together), so unregistered callers cannot make the miner read the chain per request.
- `Authorizer` admits a registered hotkey with a validator permit (configurable) and at least `min_stake`
  (403: not_registered, no_validator_permit, stake_below_minimum).
- `RateLimiter` is a token bucket per hotkey in this process (429 with Retry-After); `ratelimit` has the ones
  shared by several processes.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bittensor import http_auth

from fabrica.protocol.subnet.port import SubnetChain, SubnetMetagraph, SubnetNeuron

from .nonces import NonceStoreError

log = logging.getLogger(__name__)


class RequestRejected(Exception):
    """A request the miner refuses: HTTP `status`, a stable machine-readable `code`, a message for the caller."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


_AUTH_CODES: tuple[tuple[type[http_auth.AuthError], str], ...] = (
    (http_auth.MalformedAuth, "malformed"),
    (http_auth.WrongReceiver, "wrong_receiver"),
    (http_auth.StaleRequest, "stale"),
    (http_auth.BadSignature, "bad_signature"),
    (http_auth.ReplayedRequest, "replayed"),
)


def auth_error_code(exc: http_auth.AuthError) -> str:
    """The stable code of a btauth failure (`unauthenticated` for an AuthError subclass this module does not know)."""
    for cls, code in _AUTH_CODES:
        if isinstance(exc, cls):
            return code
    return "unauthenticated"


def authenticate(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    path: str,
    self_hotkey: str,
    nonce_store: http_auth.NonceStore,
    max_age_s: float = http_auth.DEFAULT_MAX_AGE,
    allowed_skew_s: float = http_auth.DEFAULT_ALLOWED_SKEW,
) -> http_auth.Caller:
    """Verify a btauth/1 request over its raw body; RequestRejected 401 (which check) or 503 (replay store down)."""
    try:
        return http_auth.verify(
            headers,
            body,
            method=method,
            path=path,
            self_hotkey_ss58=self_hotkey,
            max_age=max_age_s,
            allowed_skew=allowed_skew_s,
            require_receiver=True,
            nonce_store=nonce_store,
        )
    except http_auth.AuthError as exc:
        # AuthError messages never echo the signature or payload: safe to return to the caller.
        raise RequestRejected(401, auth_error_code(exc), str(exc), {"WWW-Authenticate": http_auth.PROTOCOL}) from None
    except NonceStoreError as exc:
        log.error("replay store failed, refusing the request: %s", exc)
        raise RequestRejected(503, "nonce_store_unavailable", "the replay store is unavailable; retry later",
                              {"Retry-After": "1"}) from None


class MetagraphCache:
    """The subnet's metagraph, refreshed from the chain port in the background, never per request."""

    def __init__(
        self,
        chain: SubnetChain,
        netuid: int,
        *,
        refresh_s: float = 60.0,
        unknown_refresh_s: float = 12.0,
        read_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chain = chain
        self.netuid = netuid
        self.refresh_s = refresh_s
        self.unknown_refresh_s = unknown_refresh_s
        self.read_timeout_s = read_timeout_s
        self._clock = clock
        self._metagraph: SubnetMetagraph | None = None
        self._by_hotkey: dict[str, SubnetNeuron] = {}
        self._fetched_at: float | None = None
        self._last_unknown_refresh = -math.inf
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.refreshes = 0
        """How many chain reads this cache made (tests check unknown hotkeys do not force more)."""

    @property
    def metagraph(self) -> SubnetMetagraph | None:
        return self._metagraph

    @property
    def age_s(self) -> float | None:
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    async def refresh(self) -> bool:
        """Read the metagraph now (one read at a time); False, keeping the last good one, when the read fails."""
        async with self._lock:
            return await self._refresh_locked()

    async def _refresh_locked(self) -> bool:
        self.refreshes += 1
        try:
            mg = await asyncio.wait_for(self.chain.metagraph(self.netuid), self.read_timeout_s)
        except Exception as exc:  # any chain failure: keep serving from the last good metagraph
            log.warning("metagraph refresh of subnet %s failed: %s", self.netuid, exc)
            return False
        self._metagraph = mg
        self._by_hotkey = {n.hotkey: n for n in mg.neurons}
        self._fetched_at = self._clock()
        log.debug("metagraph of subnet %s at block %s: %d neurons", self.netuid, mg.block, len(mg.neurons))
        return True

    async def lookup(self, hotkey: str) -> SubnetNeuron | None:
        """The neuron of `hotkey`; for an unknown hotkey, refresh first if the last such refresh is old enough."""
        neuron = self._by_hotkey.get(hotkey)
        if neuron is not None:
            return neuron
        if self._clock() - self._last_unknown_refresh < self.unknown_refresh_s:
            return None
        async with self._lock:
            neuron = self._by_hotkey.get(hotkey)  # another request may have refreshed meanwhile
            if neuron is not None or self._clock() - self._last_unknown_refresh < self.unknown_refresh_s:
                return neuron
            self._last_unknown_refresh = self._clock()
            await self._refresh_locked()
            return self._by_hotkey.get(hotkey)

    def start(self) -> None:
        """Start the background refresh loop (call inside the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="metagraph-refresh")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s if self._metagraph is not None else min(self.refresh_s, 5.0))
            await self.refresh()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


@dataclass(frozen=True)
class AuthorizationPolicy:
    """Who may send tasks: registered hotkeys, with a validator permit when `require_permit`, and `min_stake`."""

    require_permit: bool = True
    min_stake: float = 0.0


class Authorizer:
    """Checks an authenticated hotkey against the cached metagraph and the policy."""

    def __init__(self, cache: MetagraphCache, policy: AuthorizationPolicy) -> None:
        self.cache = cache
        self.policy = policy

    async def authorize(self, hotkey: str) -> SubnetNeuron:
        """The caller's neuron; RequestRejected 403 (which rule) or 503 (no metagraph yet)."""
        neuron = await self.cache.lookup(hotkey)
        if neuron is None:
            if self.cache.metagraph is None:
                raise RequestRejected(503, "metagraph_unavailable",
                                      "the miner has not read the subnet's metagraph yet; retry later",
                                      {"Retry-After": "5"})
            raise RequestRejected(403, "not_registered",
                                  f"hotkey {hotkey} is not registered on subnet {self.cache.netuid}")
        if self.policy.require_permit and not neuron.validator_permit:
            raise RequestRejected(403, "no_validator_permit",
                                  f"hotkey {hotkey} (uid {neuron.uid}) has no validator permit")
        if neuron.stake < self.policy.min_stake:
            raise RequestRejected(403, "stake_below_minimum",
                                  f"hotkey {hotkey} (uid {neuron.uid}) has stake {neuron.stake:g}, "
                                  f"below this miner's minimum of {self.policy.min_stake:g}")
        return neuron


class RateLimiter:
    """A token bucket per hotkey: `rate` requests per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # hotkey -> (tokens, at)

    def take(self, key: str) -> None:
        """Spend one token of `key`'s bucket; RequestRejected 429 with Retry-After when it is empty."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            raise RequestRejected(429, "rate_limited",
                                  f"too many requests from hotkey {key}: at most {self.rate:g}/s, bursts of {self.burst:g}",
                                  {"Retry-After": str(max(1, math.ceil(wait)))})
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 4096:  # only authorized hotkeys get here, but stay bounded anyway
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]


__all__ = [
    "AuthorizationPolicy",
    "Authorizer",
    "MetagraphCache",
    "RateLimiter",
    "RequestRejected",
    "auth_error_code",
    "authenticate",
]
