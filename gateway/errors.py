"""The gateway's errors: one root, each with the HTTP status and a short machine-readable code.

Handlers turn them into `{"error": code, "detail": message}` responses at the HTTP edge only.
"""
from __future__ import annotations

from fabrica.protocol.errors import FabricaError


class GatewayError(FabricaError):
    """Root of the gateway's errors; `status` is the HTTP status an endpoint answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequest(GatewayError):
    status, code = 400, "bad_request"


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class TooLarge(GatewayError):
    status, code = 413, "too_large"


class UnsupportedMedia(GatewayError):
    status, code = 415, "unsupported_media_type"


class RateLimited(GatewayError):
    status, code = 429, "rate_limited"


class Unavailable(GatewayError):
    status, code = 503, "unavailable"


class ConfigError(GatewayError):
    """A setting the gateway cannot start with (raised before it serves anything)."""

    status, code = 500, "config"
