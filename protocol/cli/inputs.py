"""CLI inputs shared by command groups: durations and token amounts named by their option, new output files,
and the order nonces a home has handed out."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..config import parse_duration
from ..errors import FabricaValueError
from ..types import to_units


class NonceBook:
    """The next order nonce `job order` (or `design list`) hands out per chain, contract and signer, kept in
    <home>/orders/nonces.json so that orders written one after another (none filled yet) never share a nonce."""

    def __init__(self, home: Path, chain_id: int, contract: str, account: str) -> None:
        self.path = Path(home) / "orders" / "nonces.json"
        self.key = f"{chain_id}:{contract}:{account}"

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def next(self) -> int:
        """The lowest nonce this home has not handed out yet."""
        value = self._read().get(self.key, 0)
        return value if isinstance(value, int) and value >= 0 else 0

    def used(self, nonce: int) -> None:
        """Record that `nonce` was handed out."""
        data = self._read()
        data[self.key] = max(nonce + 1, self.next())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.path)


def check_out(out: Path) -> None:
    """--out must name a new file in an existing folder (a signed order is never overwritten)."""
    try:
        exists, parent_ok = out.exists(), out.parent.is_dir()
    except (ValueError, OSError) as exc:
        raise FabricaValueError(f"--out {str(out)!r} is not a usable file name: {exc}") from None
    if exists:
        raise FabricaValueError(f"--out {out} already exists; pass a new file name (an order file is never "
                                "overwritten)")
    if not parent_ok:
        raise FabricaValueError(f"--out {out}: folder {out.parent} does not exist; create it first")


def write_new(out: Path, text: str) -> None:
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise FabricaValueError(f"--out {out}: cannot create the file ({exc.strerror})") from None
    with os.fdopen(fd, "w") as f:
        f.write(text)


def duration(flag: str, text: str) -> int:
    """A duration option in seconds; errors name the option."""
    try:
        return parse_duration(text)
    except FabricaValueError as exc:
        raise FabricaValueError(f"{flag}: {exc}") from None


def units(flag: str, text: str, decimals: int) -> int:
    """A token amount option in base units; errors name the option."""
    try:
        return to_units(text, decimals)
    except FabricaValueError as exc:
        raise FabricaValueError(f"{flag}: {exc}") from None
