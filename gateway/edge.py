"""The gateway's edge, as one pure ASGI middleware (no per-request task hops): a request id, the per-IP rate
limit, the body size limit, security headers, the latency histogram and one structured JSON log line per
request."""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from .errors import GatewayError, RateLimited, TooLarge
from .metrics import METRICS

log = logging.getLogger("fabrica.gateway.access")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # The dApp's scripts and styles come from this origin only; wallets inject theirs through the extension.
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                 b"connect-src 'self' ws: wss: http: https:; frame-ancestors 'none'; base-uri 'none'"),
]
UPLOAD_PATHS = ("/v1/content",)


def error_body(status: int, code: str, detail: str, request_id: str | None) -> bytes:
    return json.dumps({"error": code, "detail": detail, "request_id": request_id}).encode()


class Edge:
    """ASGI middleware around the whole application."""

    def __init__(self, app: Any, gateway_getter: Any) -> None:
        self.app = app
        self.gw = gateway_getter

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        gw = self.gw()
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        path = scope.get("path", "")
        start = time.perf_counter()
        status_box = [0]

        async def reply_error(exc: GatewayError) -> None:
            body = error_body(exc.status, exc.code, exc.detail, rid)
            hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode())] + SECURITY_HEADERS
            hdrs += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            status_box[0] = exc.status
            await send({"type": "http.response.start", "status": exc.status, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})

        if gw is not None and path not in ("/healthz", "/readyz", "/metrics"):
            try:
                gw.ip_limiter.take(ip, "requests")
            except RateLimited as exc:
                METRICS.rate_limited.inc()
                if scope["type"] == "http":
                    await reply_error(exc)
                    self._log(scope, ip, rid, exc.status, start)
                    return
                await send({"type": "websocket.close", "code": 1013})
                return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        limit = gw.config.max_upload_bytes if gw is not None and path.startswith(UPLOAD_PATHS) else \
            (gw.config.max_body_bytes if gw is not None else 1 << 20)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await reply_error(TooLarge(f"request body over the {limit:,}-byte limit for {path}"))
                self._log(scope, ip, rid, 413, start)
                return
        receive_body = receive
        if declared is None and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            # No Content-Length (chunked): read the body here, counting, so an endless one is cut off at the
            # limit with a 413 before any handler buffers it; the handler then reads it from memory.
            messages, seen = [], 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    messages.append(message)
                    break
                seen += len(message.get("body", b""))
                if seen > limit:
                    await reply_error(TooLarge(f"request body over the {limit:,}-byte limit for {path}"))
                    self._log(scope, ip, rid, 413, start)
                    return
                messages.append(message)
                if not message.get("more_body"):
                    break

            async def receive_body() -> dict:
                return messages.pop(0) if messages else await receive()

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", rid.encode())] + \
                    SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, receive_body, send_with_headers)
        finally:
            self._log(scope, ip, rid, status_box[0], start)

    def _log(self, scope: dict, ip: str, rid: str, status: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        METRICS.latency.labels(scope.get("method", "WS"), template, str(status // 100) + "xx").observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info("request", extra={"request_id": rid, "method": scope.get("method"), "path": scope.get("path"),
                                       "status": status, "ms": round(elapsed * 1000, 2), "ip": ip})

