"""Settings from flags, then environment (`FABRICA_*`), then a TOML file, then laptop-friendly defaults."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import FabricaValueError

DEFAULT_CONFIG_FILE = "fabrica.toml"


class Settings(BaseModel):
    """Where the chain, the state directory and the signing account are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rpc_url: str = "http://127.0.0.1:8545"
    home: Path = Path(".fabrica")
    account: str | None = None
    kubo_url: str | None = None
    receipt_timeout: float = 120.0

    @property
    def deployments_dir(self) -> Path:
        return self.home / "deployments"

    @property
    def content_dir(self) -> Path:
        return self.home / "content"

    def content_store(self):
        """The content store these settings name: a Kubo node when `kubo_url` is set, else the local store."""
        from .storage.kubo import KuboContentStore
        from .storage.store import LocalContentStore

        if self.kubo_url:
            return KuboContentStore(self.kubo_url)
        return LocalContentStore(self.content_dir)


def load_settings(**flags: Any) -> Settings:
    """Merge flags (non-None), FABRICA_* environment variables and the TOML file into Settings."""
    flag = flags.pop("config", None)
    named = flag or os.environ.get("FABRICA_CONFIG")
    config_path = Path(named or DEFAULT_CONFIG_FILE)
    if named and not config_path.is_file():
        # Only the default fabrica.toml is optional; a file someone named and mistyped must not be ignored.
        what = "does not exist" if not config_path.exists() else "is not a file"
        fix = "fix the path" if flag else f"fix the path or unset FABRICA_CONFIG to use ./{DEFAULT_CONFIG_FILE}"
        source = "" if flag else " named by FABRICA_CONFIG"
        raise FabricaValueError(f"config file {config_path}{source} {what}; {fix}")
    values: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise FabricaValueError(f"config file {config_path} is not valid TOML: {exc}") from exc
        section = data.get("fabrica", data)
        unknown = set(section) - set(Settings.model_fields)
        if unknown:  # a setting nobody reads is a typo
            raise FabricaValueError(
                f"unknown setting(s) {', '.join(sorted(unknown))} in {config_path}; "
                f"known: {', '.join(Settings.model_fields)}"
            )
        values.update(section)
    for name in Settings.model_fields:
        env = os.environ.get(f"FABRICA_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings(**values)
    except ValueError as exc:
        raise FabricaValueError(f"bad setting: {exc}") from exc


def parse_duration(text: str) -> int:
    """'90s', '10m', '3h', '2d' or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    t = text.strip().lower()
    try:
        if t and t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except ValueError:
        raise FabricaValueError(f"duration {text!r} must look like 90s, 10m, 3h, 2d or 1w") from None
    if value != value or value in (float("inf"), float("-inf")):  # float() also accepts nan and inf
        raise FabricaValueError(f"duration {text!r} must look like 90s, 10m, 3h, 2d or 1w")
    if value <= 0:
        raise FabricaValueError(f"duration {text!r} must be positive")
    return int(value)
