"""The gateway's settings: flags, then `FABRICA_GATEWAY_*` environment variables, then the `[gateway]` table of
fabrica.toml, then defaults that run on a laptop.

The chain, the state directory and content storage come from the shared `fabrica.protocol.config.Settings`.
"""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ConfigError

AdminRole = Literal["admin", "operator", "viewer"]


class GatewayConfig(BaseModel):
    """Everything `fabrica gateway serve` needs besides the chain settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: str | None = None  # the indexer's database; default FABRICA_INDEXER_DB, then <home>/index.db
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # The address wallets see: SIWE messages must name its host as their domain and an URI under it.
    public_url: str = ""
    cors_origins: tuple[str, ...] = ()  # the dApp's origin(s); default: the public URL only
    admins: dict[str, AdminRole] = {}  # operations staff by address: admin, operator or viewer
    secret: str | None = None  # HMAC key of session tokens; default: one generated and kept in the database
    session_ttl_s: int = Field(900, ge=30, le=86_400)  # bearer/cookie access token
    refresh_ttl_s: int = Field(7 * 86_400, ge=60, le=90 * 86_400)
    nonce_ttl_s: int = Field(600, ge=10, le=3_600)
    clock_skew_s: int = Field(60, ge=0, le=600)  # issued-at may be this far in the future
    max_body_bytes: int = Field(1 << 20, ge=1024)  # JSON bodies
    max_upload_bytes: int = Field(64 << 20, ge=1024)  # content uploads
    rate_per_ip: float = Field(50.0, gt=0)  # requests per second, sustained
    burst_per_ip: float = Field(200.0, ge=1)
    rate_per_address: float = Field(20.0, gt=0)
    burst_per_address: float = Field(100.0, ge=1)
    max_lag_blocks: int = Field(20, ge=0)  # /readyz fails when the index is further behind the chain
    telemetry_max_samples: int = Field(1000, ge=1, le=100_000)  # per signed batch
    telemetry_max_logs: int = Field(500, ge=0, le=100_000)
    telemetry_rate: float = Field(2.0, gt=0)  # batches per second per node
    telemetry_max_age_s: int = Field(300, ge=10)  # a batch signed longer ago is refused (replay window)
    web_dir: str | None = None  # the dApp's build output; default gateway/web/dist when present
    # The JSON-RPC URL the dApp's browsers use for reads and receipts (GET /v1/config); default: the chain settings'
    # rpc_url, which only works where browsers reach the same node (a laptop, a devnet).
    public_rpc_url: str = ""

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, v: Any) -> Any:
        if isinstance(v, str):  # FABRICA_GATEWAY_ADMINS="0xabc…=admin,0xdef…=viewer"
            pairs = [p.strip() for p in v.split(",") if p.strip()]
            out: dict[str, str] = {}
            for p in pairs:
                addr, sep, role = p.partition("=")
                if not sep:
                    raise ValueError(f"admin entry {p!r} must look like 0xADDRESS=admin|operator|viewer")
                out[addr.strip()] = role.strip()
            return out
        return v

    @field_validator("admins")
    @classmethod
    def _admin_addresses(cls, v: dict[str, str]) -> dict[str, str]:
        from eth_utils import is_address, to_checksum_address

        for addr in v:
            if not is_address(addr):
                raise ValueError(f"admin {addr!r} is not an Ethereum address")
        return {to_checksum_address(a): r for a, r in v.items()}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(o.strip() for o in v.split(",") if o.strip())
        return v

    @model_validator(mode="after")
    def _public_url(self) -> GatewayConfig:
        if not self.public_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
            object.__setattr__(self, "public_url", f"http://{host}:{self.port}")
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"public_url {self.public_url!r} must be an http(s) URL like https://fabrica.example")
        object.__setattr__(self, "public_url", f"{parts.scheme}://{parts.netloc}")
        if self.public_rpc_url and urlsplit(self.public_rpc_url).scheme not in ("http", "https"):
            raise ValueError(f"public_rpc_url {self.public_rpc_url!r} must be an http(s) URL like https://rpc.example")
        if not self.cors_origins:
            object.__setattr__(self, "cors_origins", (self.public_url,))
        for origin in self.cors_origins:
            if origin == "*" or urlsplit(origin).scheme not in ("http", "https"):
                raise ValueError(f"CORS origin {origin!r} must be one http(s) origin (no wildcard: cookies carry sessions)")
        return self

    @property
    def domain(self) -> str:
        """The RFC 3986 authority SIWE messages must name (host[:port])."""
        return urlsplit(self.public_url).netloc

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def load_gateway_config(config_file: str | Path | None = None, **flags: Any) -> GatewayConfig:
    """Merge flags (non-None), FABRICA_GATEWAY_* variables and fabrica.toml's [gateway] table."""
    values: dict[str, Any] = {}
    path = Path(config_file or os.environ.get("FABRICA_CONFIG") or "fabrica.toml")
    if path.is_file():
        try:
            section = tomllib.loads(path.read_text()).get("gateway", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        unknown = set(section) - set(GatewayConfig.model_fields)
        if unknown:
            raise ConfigError(f"unknown [gateway] setting(s) {', '.join(sorted(unknown))} in {path}; "
                              f"known: {', '.join(GatewayConfig.model_fields)}")
        values.update(section)
    for name, _field in GatewayConfig.model_fields.items():
        env = os.environ.get(f"FABRICA_GATEWAY_{name.upper()}")
        if env is None:
            continue
        if name in ("cors_origins", "admins") and env.lstrip().startswith(("[", "{")):
            env = json.loads(env)
        values[name] = env
    if values.get("db") is None and os.environ.get("FABRICA_INDEXER_DB"):
        values["db"] = os.environ["FABRICA_INDEXER_DB"]
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return GatewayConfig(**values)
    except ValueError as exc:
        raise ConfigError(f"bad gateway setting: {exc}") from exc
