"""Deployment manifests (`deployments/<chain_id>.json`): which contract lives at which address."""
from __future__ import annotations

import json
import os
from pathlib import Path

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, field_validator

from .errors import FabricaLookupError, FabricaValueError


class Deployment(BaseModel):
    """Addresses of one Fabrica deployment plus what a client needs to read its history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: int
    deployed_block: int
    owner: str
    treasury: str
    arbiter: str
    contracts: dict[str, str]
    payment_tokens: dict[str, str] = {}

    @field_validator("owner", "treasury", "arbiter")
    @classmethod
    def _checksum(cls, v: str) -> str:
        return to_checksum_address(v)

    @field_validator("contracts", "payment_tokens")
    @classmethod
    def _checksum_all(cls, v: dict[str, str]) -> dict[str, str]:
        return {k: to_checksum_address(a) for k, a in v.items()}

    def address(self, name: str) -> str:
        """Address of contract `name` (FabToken, NodeRegistry, JobMarket, DesignNFT)."""
        try:
            return self.contracts[name]
        except KeyError:
            raise FabricaLookupError(
                f"deployment on chain {self.chain_id} has no {name}; it has {', '.join(self.contracts)}"
            ) from None

    def token(self, symbol_or_address: str) -> str:
        """Resolve a payment token given by symbol (fUSD) or address."""
        if symbol_or_address in self.payment_tokens:
            return self.payment_tokens[symbol_or_address]
        if symbol_or_address.startswith("0x") and len(symbol_or_address) == 42:
            try:
                return to_checksum_address(symbol_or_address)
            except ValueError:
                pass  # 0x and 40 characters that are not all hex: no address, say what is accepted
        raise FabricaValueError(
            f"unknown payment token {symbol_or_address!r}; use an address or one of: "
            + ", ".join(self.payment_tokens)
        )

    def save(self, directory: Path) -> Path:
        """Write the manifest to `directory/<chain_id>.json` atomically and return the path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.chain_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, directory: Path, chain_id: int) -> Deployment:
        """Read the manifest for `chain_id`, or explain how to create one."""
        path = directory / f"{chain_id}.json"
        if not path.exists():
            hint = (
                "Run `fabrica devnet up` first."
                if chain_id == 31337
                # There is no deploy command for public chains yet: the SDK deploys and writes the manifest.
                else "Deploy there with the SDK (fabrica.protocol.deploy.deploy_protocol, then Deployment.save "
                f"into {directory}), or pass the --rpc-url of a chain that has a deployment "
                "(`fabrica devnet up` starts a local one)."
            )
            raise FabricaLookupError(f"No deployment for chain {chain_id} in {directory}. {hint}")
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except (ValueError, json.JSONDecodeError) as exc:
            raise FabricaValueError(f"deployment manifest {path} is malformed: {exc}") from exc
