"""Signed, concurrent queries of the serving miners, each with a hard deadline.

The task is serialised once; the same bytes are signed (bittensor `btauth/1`, bound to each miner's hotkey as
the receiver) and sent to every miner at once. Each request may take at most `deadline + grace` seconds from
its send to the last byte of the answer (the grace covers the network, not the solver); anything slower is cut
off and counts as a timeout. An answer larger than `max_bytes` is cut off too.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
from bittensor import http_auth

Status = Literal["ok", "late", "timeout", "unreachable", "http_error", "too_large"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""The largest answer read (a 200 x 200 design answer is well under 2 MiB of JSON)."""


@dataclass(frozen=True)
class Target:
    """A miner to query: its uid, hotkey (the receiver the request is signed for) and axon `ip:port`."""

    uid: int
    hotkey: str
    axon: str


@dataclass(frozen=True)
class Response:
    """What came back from one miner."""

    uid: int
    hotkey: str
    status: Status
    body: bytes | None
    elapsed_s: float
    """Seconds from this request's send to its last byte (or to the failure)."""
    http_status: int | None = None
    error: str = ""

    @property
    def outcome(self) -> Literal["answered", "timeout", "unreachable"]:
        """The query's outcome as dormancy sees it: any HTTP answer means the miner is alive."""
        if self.status in ("timeout", "late"):
            return "timeout"
        if self.status == "unreachable":
            return "unreachable"
        return "answered"


def axon_url(axon: str, path: str) -> str:
    """`http://ip:port/path` for an axon `ip:port` (an IPv6 address is bracketed)."""
    host, sep, port = axon.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"axon {axon!r} is not ip:port")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def new_client(max_connections: int = 512) -> httpx.AsyncClient:
    """The validator's long-lived HTTP client: no proxies from the environment, no redirects, plain HTTP/1.1."""
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        timeout=None,  # every request runs under its own overall deadline
    )


async def query_one(
    client: httpx.AsyncClient,
    signer: object,
    target: Target,
    path: str,
    body: bytes,
    limit_s: float,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> Response:
    """POST `body` to one miner, signed for its hotkey; the whole exchange must end within `limit_s` seconds."""
    started = time.monotonic()

    def done(status: Status, data: bytes | None = None, code: int | None = None, error: str = "") -> Response:
        return Response(target.uid, target.hotkey, status, data, time.monotonic() - started, code, error)

    try:
        url = axon_url(target.axon, path)
    except ValueError as exc:
        return done("unreachable", error=str(exc))
    headers = http_auth.sign(signer, method="POST", path=path, body=body, receiver_ss58=target.hotkey)
    headers["Content-Type"] = "application/json"
    try:
        async with asyncio.timeout(limit_s):
            async with client.stream("POST", url, content=body, headers=headers) as reply:
                chunks: list[bytes] = []
                size = 0
                async for chunk in reply.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return done("too_large", code=reply.status_code, error=f"answer over {max_bytes} bytes")
                    chunks.append(chunk)
                data = b"".join(chunks)
                code = reply.status_code
    except TimeoutError:
        return done("timeout", error=f"no complete answer within {limit_s:.3g} s")
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return done("unreachable", error=f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        return done("http_error", error=f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return done("unreachable", error=f"{type(exc).__name__}: {exc}")
    response = done("ok", data, code)
    if response.elapsed_s > limit_s:
        return done("late", data, code, error=f"answered after {response.elapsed_s:.3g} s > {limit_s:.3g} s")
    if code != 200:
        return done("http_error", data, code, error=f"HTTP {code}")
    return response


async def query_miners(
    client: httpx.AsyncClient,
    signer: object,
    targets: Sequence[Target],
    path: str,
    body: bytes,
    deadline_s: float,
    grace_s: float,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> list[Response]:
    """Query every target at once with the same body; the results come back in the order of `targets`."""
    limit = deadline_s + grace_s
    return list(await asyncio.gather(*(query_one(client, signer, t, path, body, limit, max_bytes) for t in targets)))


__all__ = ["MAX_ANSWER_BYTES", "Response", "Status", "Target", "axon_url", "new_client", "query_miners", "query_one"]
