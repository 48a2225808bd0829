"""Deployment manifests (`deployments/<chain_id>.json`): which contract lives at which address."""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import FabricaLookupError, FabricaValueError

RATE_ONE = 10**18  # token terms' rates are 1e18 fixed point (JobMarket RATE_ONE)
_UINT112 = (1 << 112) - 1


class TokenTerms(BaseModel):
    """What a payment token requires (JobMarket `TokenTerms`): FAB collateral per base unit of payment.

    Rates are FAB wei per token base unit in 1e18 fixed point, so they depend on the token's decimals: for a
    6-decimal dollar, 0.01 FAB per dollar is 10**16 * 10**18 / 10**6 = 10**28.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool = True
    min_collateral_rate: int = Field(ge=0, le=_UINT112)
    max_collateral_rate: int = Field(ge=0, le=_UINT112)

    @classmethod
    def per_unit(cls, decimals: int, min_fab: Decimal | str | int, max_fab: Decimal | str | int) -> TokenTerms:
        """Terms from FAB per whole token (e.g. 0.01 and 10 FAB per dollar) for a token with `decimals`."""
        def rate(fab: Decimal | str | int) -> int:
            return int(Decimal(str(fab)) * 10**18 * RATE_ONE / Decimal(10) ** decimals)

        return cls(min_collateral_rate=rate(min_fab), max_collateral_rate=rate(max_fab))

    def to_abi(self) -> tuple:
        """The struct as the tuple web3 encodes."""
        return (self.allowed, self.min_collateral_rate, self.max_collateral_rate)

    def bounds(self, amount: int, min_collateral: int) -> tuple[int, int]:
        """The collateral range a job paying `amount` base units may ask for (JobMarket `collateralBounds`)."""
        low = max(amount * self.min_collateral_rate // RATE_ONE, min_collateral)
        return low, max(amount * self.max_collateral_rate // RATE_ONE, low)


class GovernanceSettings(BaseModel):
    """How the DAO (FabGovernor + FabTimelock) decides: recorded in the manifest of every deployment.

    The production values follow what large token DAOs run (Compound, Uniswap, ENS, Arbitrum):
    - voting_delay 1 day: holders see a proposal and can delegate before its vote snapshot is taken;
    - voting_period 5 days: a working week to vote, long enough for delegates across time zones;
    - quorum_percent 4: of FAB's total supply at the snapshot (Compound's and Uniswap's 4 %);
    - proposal_threshold 1 000 000 FAB (0.1 % of supply): spam costs a real stake, while a party of an appealed
      dispute may propose its ruling without it (FabGovernor);
    - vote_extension 1 day: a vote that reaches quorum late stays open a day, so a last-minute swing can be answered;
    - timelock_delay 2 days: anyone who disagrees with a passed proposal can exit before it takes effect.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    voting_delay: int = Field(default=86_400, ge=1, le=(1 << 48) - 1)
    voting_period: int = Field(default=5 * 86_400, ge=1, le=(1 << 32) - 1)
    proposal_threshold: int = Field(default=1_000_000 * 10**18, ge=0)
    quorum_percent: int = Field(default=4, ge=1, le=100)
    vote_extension: int = Field(default=86_400, ge=0, le=(1 << 48) - 1)
    timelock_delay: int = Field(default=2 * 86_400, ge=0)

    @classmethod
    def production(cls) -> GovernanceSettings:
        """The production settings (see the class docstring for the reason behind each)."""
        return cls()

    @classmethod
    def devnet(cls) -> GovernanceSettings:
        """Minutes instead of days, so the demo's proposal passes in seconds with `fabrica devnet advance`."""
        return cls(voting_delay=60, voting_period=600, proposal_threshold=1_000 * 10**18, vote_extension=60,
                   timelock_delay=120)

    def to_abi(self) -> tuple:
        """FabGovernor's `Settings` struct as the tuple web3 encodes."""
        return (self.voting_delay, self.voting_period, self.proposal_threshold, self.quorum_percent,
                self.vote_extension)


class Deployment(BaseModel):
    """Addresses of one Fabrica deployment plus what a client needs to read its history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: int
    deployed_block: int
    owner: str
    treasury: str
    arbiter: str
    appeal_court: str
    contracts: dict[str, str]
    payment_tokens: dict[str, str] = {}
    token_terms: dict[str, TokenTerms] = {}  # by payment token symbol, as set at deployment
    governance: GovernanceSettings | None = None  # the DAO's settings; None: an owner account governs

    @field_validator("owner", "treasury", "arbiter", "appeal_court")
    @classmethod
    def _checksum(cls, v: str) -> str:
        return to_checksum_address(v)

    @field_validator("contracts", "payment_tokens")
    @classmethod
    def _checksum_all(cls, v: dict[str, str]) -> dict[str, str]:
        return {k: to_checksum_address(a) for k, a in v.items()}

    def address(self, name: str) -> str:
        """Address of contract `name` (FabToken, NodeRegistry, JobMarket, DesignNFT, FabGovernor, FabTimelock…)."""
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
