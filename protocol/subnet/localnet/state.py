"""The local stand-in's chain state: subnets, neurons, stakes, axons, commitments, weights and Yuma epochs.

One :class:`LocalnetState` is the whole chain. It answers the storage items, runtime-API calls and
constants the bittensor SDK reads (under their on-chain names, with the decoded shapes a real
subtensor's transport returns), and applies signed extrinsics after checking the sr25519 signature
of the signer over the exact payload. Blocks advance on a timer (see ``server.py``) or on demand;
at each tempo boundary a subnet runs a Yuma Consensus epoch
(:func:`fabrica.protocol.subnet.yuma.yuma_epoch`) and pays the epoch's emission out as stake:
the miners' half by incentive, the validators' half by dividends.

Simplifications, all deliberate for a single-process dev chain:

* extrinsics are included instantly in the head block (no pool, no fees, no reorgs);
* there is no historical state: a read pinned to any known recent block hash answers from the head;
* alpha trades 1:1 against TAO (a flat pool), and every new account is funded by a dev faucet;
* the subnet owner takes no cut: each epoch's emission is split 50/50 between miners and validators.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bittensor_core as _core
import numpy as np

from fabrica.protocol.errors import FabricaError

log = logging.getLogger(__name__)

U16_MAX = 65535
RAO_PER_TAO = 10**9
GLOBAL_MAX_SUBNET_COUNT = 4096
STATE_VERSION = 1
SIGNING_DOMAIN = b"fabrica-localnet/extrinsic/v1:"
DEV_FAUCET_RAO = 1_000_000 * RAO_PER_TAO  # every new account starts with 1M dev TAO
BLOCK_EMISSION_RAO = 1 * RAO_PER_TAO  # alpha emitted into a subnet per block
EXISTENTIAL_DEPOSIT_RAO = 500
MIN_STAKE_RAO = 2_000_000  # the chain's DefaultMinStake (0.002 TAO)
SPEC_VERSION = 1
MAX_COMMITMENT_FIELDS = 3
KEEP_BLOCK_HASHES = 4096
KEEP_BLOCK_EVENTS = 256

# Subtensor's defaults for a new subnet (pallets/subtensor/src/lib.rs `Default*` and the
# admin-utils initial values), under the chain's hyperparameter names.
DEFAULT_HYPERPARAMS: dict[str, Any] = {
    "tempo": 360,
    "max_allowed_uids": 256,
    "immunity_period": 4096,
    "weights_rate_limit": 100,
    "min_allowed_weights": 1,
    "max_weights_limit": U16_MAX,
    "kappa": 32767,
    "bonds_moving_avg": 900_000,
    "bonds_penalty": U16_MAX,
    "max_allowed_validators": 64,
    "activity_cutoff": 5000,
    "weights_version": 0,
    "serving_rate_limit": 50,
    "registration_allowed": True,
    "burn": 1 * RAO_PER_TAO,
    "min_burn": 500_000,
    "max_burn": 100 * RAO_PER_TAO,
    "difficulty": 10_000_000,
    "commit_reveal_weights_enabled": False,
    "commit_reveal_period": 1,
    "liquid_alpha_enabled": False,
    "alpha_high": 58982,
    "alpha_low": 45875,
    "alpha_sigmoid_steepness": 1000,
    "yuma3_enabled": True,
    "stake_threshold": 0,
    "rho": 10,
    "adjustment_interval": 100,
    "target_regs_per_interval": 2,
    "max_regs_per_block": 1,
}
HYPERPARAM_TYPES: dict[str, str] = {
    "tempo": "u16", "max_allowed_uids": "u16", "immunity_period": "u16", "weights_rate_limit": "u64",
    "min_allowed_weights": "u16", "max_weights_limit": "u16", "kappa": "u16", "bonds_moving_avg": "u64",
    "bonds_penalty": "u16", "max_allowed_validators": "u16", "activity_cutoff": "u16", "weights_version": "u64",
    "serving_rate_limit": "u64", "registration_allowed": "bool", "burn": "u64", "min_burn": "u64",
    "max_burn": "u64", "difficulty": "u64", "commit_reveal_weights_enabled": "bool",
    "commit_reveal_period": "u64", "liquid_alpha_enabled": "bool", "alpha_high": "u16", "alpha_low": "u16",
    "alpha_sigmoid_steepness": "i16", "yuma3_enabled": "bool", "stake_threshold": "u64", "rho": "u16",
    "adjustment_interval": "u16", "target_regs_per_interval": "u16", "max_regs_per_block": "u16",
}


class LocalnetError(FabricaError):
    """The stand-in cannot answer a request (an unsupported storage item, call or method, or bad input)."""


class UnsupportedError(LocalnetError):
    """The SDK asked for a storage item, runtime API, constant or call the stand-in does not model."""


@dataclass
class DispatchError(Exception):
    """An extrinsic failed on chain: ``name`` is the pallet error name, ``docs`` its explanation."""

    name: str
    docs: str
    module: str = "SubtensorModule"

    def __str__(self) -> str:
        return f"{self.module}.{self.name}: {self.docs}"


class InvalidTransaction(Exception):
    """The extrinsic was refused before dispatch (bad signature, stale nonce, outdated era)."""


def canonical_json(value: Any) -> bytes:
    """The one byte encoding every signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_payload(genesis_hash: str, unsigned: dict[str, Any]) -> bytes:
    """The bytes a signer signs for an extrinsic on the stand-in whose genesis is ``genesis_hash``.

    ``unsigned`` carries the call, signer, crypto type, nonce, era and tip; the genesis hash binds
    the signature to one chain (a signature for one localnet is not valid on another).
    """
    return SIGNING_DOMAIN + canonical_json({"genesis": genesis_hash, **unsigned})


def _hash(*parts: bytes) -> str:
    return "0x" + hashlib.blake2b(b"".join(parts), digest_size=32).hexdigest()


def _check_ss58(address: Any, field_name: str) -> str:
    if not isinstance(address, str):
        raise DispatchError("InvalidArgument", f"{field_name} must be an ss58 address, got {address!r}")
    try:
        _core.ss58_decode(address)
    except Exception:
        raise DispatchError("InvalidArgument", f"{field_name} {address!r} is not a valid ss58 address") from None
    return address


def _u16(x: float) -> int:
    return int(round(min(max(float(x), 0.0), 1.0) * U16_MAX))


def _new_neuron(hotkey: str, coldkey: str, block: int) -> dict[str, Any]:
    return {
        "hotkey": hotkey,
        "coldkey": coldkey,
        "block_at_registration": block,
        "last_update": block,
        "axon": None,
        "axon_block": 0,
        "weights": [],  # [[dest uid, u16], ...]
        "bonds": [],  # [[dest uid, u16], ...]
        "rank": 0, "trust": 0, "consensus": 0, "incentive": 0, "dividends": 0, "validator_trust": 0,
        "emission": 0,  # rao of alpha earned at the last epoch
        "validator_permit": False,
    }


class LocalnetState:
    """The whole stand-in chain; every method is synchronous and must be called under one lock/loop."""

    def __init__(self, data: dict[str, Any], path: Path | None = None):
        self.data = data
        self.path = path
        self._hashes: dict[str, int] = {}
        self._events: dict[int, list[dict[str, Any]]] = {}
        self.on_change: Callable[[], None] | None = None
        self._reindex_hashes()

    # ------------------------------------------------------------------ construction / persistence

    @classmethod
    def create(
        cls,
        *,
        netuids: tuple[int, ...] = (1,),
        block_time: float = 12.0,
        hyperparams: dict[str, Any] | None = None,
        path: Path | None = None,
    ) -> LocalnetState:
        """A fresh chain at block 0 with the given subnets (each with chain-default hyperparameters)."""
        owner = _core.Keypair.create_from_uri("//FabricaSubnetOwner")
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "genesis_hash": _hash(b"fabrica-localnet-genesis", secrets.token_bytes(32)),
            "genesis_time_ms": int(time.time() * 1000),
            "block": 0,
            "block_time": float(block_time),
            "timestamps": {"0": int(time.time() * 1000)},
            "accounts": {},
            "owners": {},  # hotkey -> coldkey
            "subnets": {},
        }
        state = cls(data, path)
        for netuid in netuids:
            state.add_subnet(netuid, owner_coldkey=owner.ss58_address, owner_hotkey=owner.ss58_address,
                             hyperparams=hyperparams)
        return state

    @classmethod
    def load(cls, path: Path) -> LocalnetState:
        """The state saved at ``path``; LocalnetError when it is unreadable or of another version."""
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LocalnetError(f"localnet state file {path} is unreadable: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise LocalnetError(
                f"localnet state file {path} has version {data.get('version') if isinstance(data, dict) else None!r}, "
                f"expected {STATE_VERSION}; move it away to start a fresh chain"
            )
        return cls(data, path)

    @classmethod
    def open(cls, path: Path, **create_kwargs: Any) -> LocalnetState:
        """Resume the chain saved at ``path``, or create (and save) a fresh one there."""
        if path.exists():
            state = cls.load(path)
            if "block_time" in create_kwargs:
                state.data["block_time"] = float(create_kwargs["block_time"])
            return state
        state = cls.create(path=path, **create_kwargs)
        state.save()
        return state

    def save(self) -> None:
        """Write the state atomically (temp file + rename) so a crash never leaves half a file."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, separators=(",", ":")))
        os.replace(tmp, self.path)

    def _changed(self) -> None:
        self.save()
        if self.on_change is not None:
            self.on_change()

    def add_subnet(
        self, netuid: int, *, owner_coldkey: str, owner_hotkey: str, hyperparams: dict[str, Any] | None = None
    ) -> None:
        """Create subnet ``netuid`` with chain-default hyperparameters (overridden by ``hyperparams``)."""
        if not 1 <= int(netuid) < GLOBAL_MAX_SUBNET_COUNT:
            raise LocalnetError(f"netuid must be in 1..{GLOBAL_MAX_SUBNET_COUNT - 1}, got {netuid}")
        params = dict(DEFAULT_HYPERPARAMS)
        for key, value in (hyperparams or {}).items():
            if key not in DEFAULT_HYPERPARAMS:
                raise LocalnetError(f"unknown hyperparameter {key!r}; known: {', '.join(sorted(DEFAULT_HYPERPARAMS))}")
            params[key] = type(DEFAULT_HYPERPARAMS[key])(value)
        self.data["subnets"][str(netuid)] = {
            "netuid": int(netuid),
            "name": f"fabrica-{netuid}",
            "symbol": "\u03b1",
            "owner_coldkey": owner_coldkey,
            "owner_hotkey": owner_hotkey,
            "registered_at": self.block,
            "hyperparams": params,
            "last_epoch_block": self.block,
            "epoch_index": 0,
            "neurons": [],
            "stakes": {},  # hotkey -> {coldkey: alpha rao}
            "commitments": {},  # hotkey -> {"block", "deposit", "info": {"fields": [...]}}
            "commitment_block": {},  # hotkey -> block of last commitment (rate limit bookkeeping)
        }

    # ------------------------------------------------------------------ blocks

    @property
    def block(self) -> int:
        return int(self.data["block"])

    @property
    def genesis_hash(self) -> str:
        return str(self.data["genesis_hash"])

    @property
    def block_time(self) -> float:
        return float(self.data["block_time"])

    def block_hash(self, number: int | None = None) -> str | None:
        """The hash of block ``number`` (head when None); None for a block not produced yet."""
        n = self.block if number is None else int(number)
        if n < 0 or n > self.block:
            return None
        if n == 0:
            return self.genesis_hash
        return _hash(bytes.fromhex(self.genesis_hash[2:]), n.to_bytes(8, "little"))

    def _reindex_hashes(self) -> None:
        self._hashes = {}
        for n in range(max(0, self.block - KEEP_BLOCK_HASHES), self.block + 1):
            h = self.block_hash(n)
            if h is not None:
                self._hashes[h] = n

    def block_number_of(self, block_hash: str | None) -> int:
        """The number of a known block hash (head when None); LocalnetError for an unknown hash."""
        if block_hash is None:
            return self.block
        try:
            return self._hashes[block_hash]
        except KeyError:
            raise LocalnetError(f"unknown block hash {block_hash} (the stand-in keeps the last {KEEP_BLOCK_HASHES} blocks)") from None

    def timestamp_ms(self, number: int) -> int:
        stamps = self.data["timestamps"]
        if str(number) in stamps:
            return int(stamps[str(number)])
        return int(self.data["genesis_time_ms"] + number * self.block_time * 1000)

    def advance(self, blocks: int = 1) -> list[int]:
        """Produce ``blocks`` blocks, running each subnet's epoch at its tempo boundary; the epochs' netuids."""
        epochs: list[int] = []
        for _ in range(max(0, int(blocks))):
            self.data["block"] = self.block + 1
            n = self.block
            self.data["timestamps"][str(n)] = int(time.time() * 1000)
            for old in [k for k in self.data["timestamps"] if int(k) < n - KEEP_BLOCK_HASHES]:
                del self.data["timestamps"][old]
            h = self.block_hash(n)
            assert h is not None
            self._hashes[h] = n
            if len(self._hashes) > KEEP_BLOCK_HASHES + 1:
                self._hashes.pop(self.block_hash(n - KEEP_BLOCK_HASHES - 1) or "", None)
            for key in [k for k in self._events if k < n - KEEP_BLOCK_EVENTS]:
                del self._events[key]
            for subnet in self.data["subnets"].values():
                tempo = int(subnet["hyperparams"]["tempo"])
                if tempo > 0 and (n + subnet["netuid"] + 1) % (tempo + 1) == 0:
                    try:
                        self.run_epoch(subnet["netuid"])
                    except Exception:  # a failing epoch must never stall the chain; it is logged and skipped
                        log.exception("localnet: the epoch of subnet %d at block %d failed", subnet["netuid"], n)
                        continue
                    epochs.append(subnet["netuid"])
        self._changed()
        return epochs

    # ------------------------------------------------------------------ lookups

    def subnet(self, netuid: Any) -> dict[str, Any]:
        try:
            return self.data["subnets"][str(int(netuid))]
        except (KeyError, TypeError, ValueError):
            raise DispatchError("SubnetNotExists", f"the subnet {netuid!r} does not exist") from None

    def _maybe_subnet(self, netuid: Any) -> dict[str, Any] | None:
        try:
            return self.data["subnets"].get(str(int(netuid)))
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _hp(subnet: dict[str, Any], name: str) -> Any:
        return subnet["hyperparams"][name]

    @staticmethod
    def uid_of(subnet: dict[str, Any], hotkey: str) -> int | None:
        for uid, neuron in enumerate(subnet["neurons"]):
            if neuron["hotkey"] == hotkey:
                return uid
        return None

    @staticmethod
    def stake_of(subnet: dict[str, Any], hotkey: str) -> int:
        return int(sum(subnet["stakes"].get(hotkey, {}).values()))

    def account(self, address: str) -> dict[str, Any]:
        """The account record, funded by the dev faucet the first time an address is seen."""
        acct = self.data["accounts"].get(address)
        if acct is None:
            acct = {"nonce": 0, "free": DEV_FAUCET_RAO}
            self.data["accounts"][address] = acct
        return acct

    def _account_view(self, address: str) -> dict[str, Any]:
        acct = self.data["accounts"].get(address) or {"nonce": 0, "free": DEV_FAUCET_RAO}
        return {
            "nonce": int(acct["nonce"]),
            "consumers": 0,
            "providers": 1,
            "sufficients": 0,
            "data": {"free": int(acct["free"]), "reserved": 0, "frozen": 0, "flags": 0},
        }

    # ------------------------------------------------------------------ storage (decoded, as the SDK expects)

    def query(self, module: str, item: str, params: list[Any] | None = None) -> Any:
        """One storage value under its on-chain name; UnsupportedError for anything not modelled."""
        params = list(params or [])
        handler = self._storage_handlers().get((module, item))
        if handler is None:
            raise UnsupportedError(
                f"the Fabrica local stand-in does not model storage item {module}.{item}; "
                f"supported: {', '.join(sorted(f'{m}.{i}' for m, i in self._storage_handlers()))}"
            )
        try:
            return handler(*params)
        except TypeError as exc:
            raise LocalnetError(f"storage item {module}.{item} got bad keys {params!r}: {exc}") from exc

    def query_map(self, module: str, item: str, params: list[Any] | None = None) -> list[list[Any]]:
        """A whole storage map (or the part under ``params`` as prefix) as ``[key, value]`` pairs."""
        params = list(params or [])
        handler = self._map_handlers().get((module, item))
        if handler is None:
            raise UnsupportedError(
                f"the Fabrica local stand-in does not model storage map {module}.{item} for query_map; "
                f"supported: {', '.join(sorted(f'{m}.{i}' for m, i in self._map_handlers()))}"
            )
        return handler(*params)

    def _storage_handlers(self) -> dict[tuple[str, str], Callable[..., Any]]:
        S = "SubtensorModule"

        def per_subnet(fn: Callable[[dict[str, Any]], Any], default: Any = None) -> Callable[..., Any]:
            def read(netuid: Any) -> Any:
                subnet = self._maybe_subnet(netuid)
                return default if subnet is None else fn(subnet)
            return read

        def hp(name: str, default: Any = 0) -> Callable[..., Any]:
            return per_subnet(lambda s: s["hyperparams"][name], default)

        def column(field: str) -> Callable[..., Any]:
            def read(index: Any) -> Any:
                subnet = self._maybe_subnet(int(index) % GLOBAL_MAX_SUBNET_COUNT)
                if subnet is None:
                    return []
                return [n[field] for n in subnet["neurons"]]
            return read

        def uids(netuid: Any, hotkey: str) -> Any:
            subnet = self._maybe_subnet(netuid)
            return None if subnet is None else self.uid_of(subnet, hotkey)

        def keys(netuid: Any, uid: Any) -> Any:
            subnet = self._maybe_subnet(netuid)
            if subnet is None or not 0 <= int(uid) < len(subnet["neurons"]):
                return None
            return subnet["neurons"][int(uid)]["hotkey"]

        def axons(netuid: Any, hotkey: str) -> Any:
            subnet = self._maybe_subnet(netuid)
            uid = None if subnet is None else self.uid_of(subnet, hotkey)
            return None if uid is None else subnet["neurons"][uid]["axon"]

        def weights(index: Any, uid: Any) -> Any:
            subnet = self._maybe_subnet(int(index) % GLOBAL_MAX_SUBNET_COUNT)
            if subnet is None or not 0 <= int(uid) < len(subnet["neurons"]):
                return []
            return [list(p) for p in subnet["neurons"][int(uid)]["weights"]]

        def bonds(index: Any, uid: Any) -> Any:
            subnet = self._maybe_subnet(int(index) % GLOBAL_MAX_SUBNET_COUNT)
            if subnet is None or not 0 <= int(uid) < len(subnet["neurons"]):
                return []
            return [list(p) for p in subnet["neurons"][int(uid)]["bonds"]]

        def total_hotkey_alpha(hotkey: str, netuid: Any) -> int:
            subnet = self._maybe_subnet(netuid)
            return 0 if subnet is None else self.stake_of(subnet, hotkey)

        def alpha(hotkey: str, coldkey: str, netuid: Any) -> int:
            subnet = self._maybe_subnet(netuid)
            return 0 if subnet is None else int(subnet["stakes"].get(hotkey, {}).get(coldkey, 0))

        def commitment_of(netuid: Any, hotkey: str) -> Any:
            subnet = self._maybe_subnet(netuid)
            return None if subnet is None else copy.deepcopy(subnet["commitments"].get(hotkey))

        def epoch_consensus(netuid: Any) -> Any:
            return None if self._maybe_subnet(netuid) is None else "Yuma"

        return {
            ("System", "Account"): lambda address: self._account_view(address),
            ("System", "Number"): lambda: self.block,
            ("Timestamp", "Now"): lambda: self.timestamp_ms(self.block),
            ("MevShield", "NextKey"): lambda: None,  # MEV shield is not active on the stand-in
            (S, "NetworksAdded"): lambda netuid: self._maybe_subnet(netuid) is not None,
            (S, "TotalNetworks"): lambda: len(self.data["subnets"]) + 1,  # + root
            (S, "Tempo"): hp("tempo", None),
            (S, "WeightsSetRateLimit"): hp("weights_rate_limit"),
            (S, "MinAllowedWeights"): hp("min_allowed_weights"),
            (S, "MaxWeightsLimit"): hp("max_weights_limit", None),
            (S, "ImmunityPeriod"): hp("immunity_period"),
            (S, "MaxAllowedUids"): hp("max_allowed_uids"),
            (S, "MaxAllowedValidators"): hp("max_allowed_validators"),
            (S, "Kappa"): hp("kappa"),
            (S, "BondsMovingAverage"): hp("bonds_moving_avg"),
            (S, "BondsPenalty"): hp("bonds_penalty"),
            (S, "ActivityCutoff"): hp("activity_cutoff"),
            (S, "WeightsVersionKey"): hp("weights_version"),
            (S, "ServingRateLimit"): hp("serving_rate_limit"),
            (S, "NetworkRegistrationAllowed"): hp("registration_allowed", False),
            (S, "Burn"): hp("burn"),
            (S, "MinBurn"): hp("min_burn"),
            (S, "MaxBurn"): hp("max_burn"),
            (S, "Difficulty"): hp("difficulty"),
            (S, "CommitRevealWeightsEnabled"): hp("commit_reveal_weights_enabled", False),
            (S, "RevealPeriodEpochs"): hp("commit_reveal_period"),
            (S, "LiquidAlphaOn"): hp("liquid_alpha_enabled", False),
            (S, "Yuma3On"): hp("yuma3_enabled", False),
            (S, "StakeThreshold"): lambda: 0,
            (S, "CollateralLockShare"): per_subnet(lambda s: 0, 0),
            (S, "SubnetEpochConsensus"): epoch_consensus,
            (S, "SubnetworkN"): per_subnet(lambda s: len(s["neurons"]), 0),
            (S, "LastEpochBlock"): per_subnet(lambda s: s["last_epoch_block"], 0),
            (S, "PendingEpochAt"): per_subnet(lambda s: 0, 0),
            (S, "SubnetEpochIndex"): per_subnet(lambda s: s["epoch_index"], 0),
            (S, "BlocksSinceLastStep"): per_subnet(lambda s: self.block - s["last_epoch_block"], 0),
            (S, "LastMechansimStepBlock"): per_subnet(lambda s: s["last_epoch_block"], 0),
            (S, "NetworkRegisteredAt"): per_subnet(lambda s: s["registered_at"], 0),
            (S, "SubnetOwner"): per_subnet(lambda s: s["owner_coldkey"]),
            (S, "SubnetOwnerHotkey"): per_subnet(lambda s: s["owner_hotkey"]),
            (S, "TokenSymbol"): per_subnet(lambda s: "0x" + s["symbol"].encode().hex()),
            (S, "SubtokenEnabled"): per_subnet(lambda s: True, False),
            (S, "Uids"): uids,
            (S, "Keys"): keys,
            (S, "Owner"): lambda hotkey: self.data["owners"].get(hotkey),
            (S, "Axons"): axons,
            (S, "LastUpdate"): column("last_update"),
            (S, "ValidatorPermit"): per_subnet(lambda s: [n["validator_permit"] for n in s["neurons"]], []),
            (S, "Active"): per_subnet(lambda s: self._active(s), []),
            (S, "BlockAtRegistration"): lambda netuid, uid: self._neuron_field(netuid, uid, "block_at_registration"),
            (S, "Incentive"): column("incentive"),
            (S, "Dividends"): per_subnet(lambda s: [n["dividends"] for n in s["neurons"]], []),
            (S, "Consensus"): per_subnet(lambda s: [n["consensus"] for n in s["neurons"]], []),
            (S, "Rank"): per_subnet(lambda s: [n["rank"] for n in s["neurons"]], []),
            (S, "Trust"): per_subnet(lambda s: [n["trust"] for n in s["neurons"]], []),
            (S, "ValidatorTrust"): per_subnet(lambda s: [n["validator_trust"] for n in s["neurons"]], []),
            (S, "Emission"): per_subnet(lambda s: [n["emission"] for n in s["neurons"]], []),
            (S, "Weights"): weights,
            (S, "Bonds"): bonds,
            (S, "TotalHotkeyAlpha"): total_hotkey_alpha,
            (S, "Alpha"): alpha,
            ("Commitments", "CommitmentOf"): commitment_of,
            ("Commitments", "RevealedCommitments"): lambda netuid, hotkey: None,
            ("Commitments", "MaxFields"): lambda: MAX_COMMITMENT_FIELDS,
        }

    def _neuron_field(self, netuid: Any, uid: Any, field: str) -> Any:
        subnet = self._maybe_subnet(netuid)
        if subnet is None or not 0 <= int(uid) < len(subnet["neurons"]):
            return 0
        return subnet["neurons"][int(uid)][field]

    def _map_handlers(self) -> dict[tuple[str, str], Callable[..., list[list[Any]]]]:
        S = "SubtensorModule"

        def each_subnet(fn: Callable[[dict[str, Any]], Any]) -> Callable[..., list[list[Any]]]:
            return lambda: [[s["netuid"], fn(s)] for s in sorted(self.data["subnets"].values(), key=lambda s: s["netuid"])]

        def commitments(netuid: Any) -> list[list[Any]]:
            subnet = self._maybe_subnet(netuid)
            return [] if subnet is None else [[hk, copy.deepcopy(rec)] for hk, rec in subnet["commitments"].items()]

        def uids(netuid: Any) -> list[list[Any]]:
            subnet = self._maybe_subnet(netuid)
            return [] if subnet is None else [[n["hotkey"], uid] for uid, n in enumerate(subnet["neurons"])]

        return {
            (S, "NetworksAdded"): each_subnet(lambda s: True),
            (S, "Tempo"): each_subnet(lambda s: s["hyperparams"]["tempo"]),
            (S, "Burn"): each_subnet(lambda s: s["hyperparams"]["burn"]),
            (S, "SubnetworkN"): each_subnet(lambda s: len(s["neurons"])),
            (S, "TokenSymbol"): each_subnet(lambda s: "0x" + s["symbol"].encode().hex()),
            (S, "SubnetIdentitiesV3"): lambda: [],
            (S, "Uids"): uids,
            ("Commitments", "CommitmentOf"): commitments,
            ("Commitments", "RevealedCommitments"): lambda netuid=None: [],
        }

    def constant(self, module: str, name: str) -> Any:
        constants = {
            ("Balances", "ExistentialDeposit"): EXISTENTIAL_DEPOSIT_RAO,
            ("SubtensorModule", "InitialStartCallDelay"): 0,
            ("Commitments", "MaxFields"): MAX_COMMITMENT_FIELDS,
            ("System", "SS58Prefix"): 42,
        }
        if (module, name) not in constants:
            raise UnsupportedError(
                f"the Fabrica local stand-in does not model constant {module}.{name}; "
                f"supported: {', '.join(sorted(f'{m}.{n}' for m, n in constants))}"
            )
        return constants[(module, name)]

    # ------------------------------------------------------------------ runtime APIs

    def runtime_call(self, api: str, method: str, params: Any) -> Any:
        if isinstance(params, dict):
            args = params
        else:
            args = dict(enumerate(params or []))
        if (api, method) == ("SubnetInfoRuntimeApi", "get_metagraph"):
            return self.metagraph_record(args.get(0, args.get("netuid")))
        if (api, method) == ("SubnetInfoRuntimeApi", "get_subnet_hyperparams_v3"):
            subnet = self._maybe_subnet(args.get(0, args.get("netuid")))
            if subnet is None:
                return None
            return [
                {"name": name, "value": {HYPERPARAM_TYPES.get(name, "u64"): value}}
                for name, value in subnet["hyperparams"].items()
            ]
        if (api, method) == ("SwapRuntimeApi", "current_alpha_price"):
            return RAO_PER_TAO  # flat 1:1 pool
        if (api, method) == ("SwapRuntimeApi", "sim_swap_tao_for_alpha"):
            tao = int(args.get("tao", args.get(1, 0)))
            return {"alpha_amount": tao, "tao_amount": tao, "tao_fee": 0, "alpha_fee": 0,
                    "tao_slippage": 0, "alpha_slippage": 0}
        if (api, method) == ("SwapRuntimeApi", "sim_swap_alpha_for_tao"):
            alpha = int(args.get("alpha", args.get(1, 0)))
            return {"alpha_amount": alpha, "tao_amount": alpha, "tao_fee": 0, "alpha_fee": 0,
                    "tao_slippage": 0, "alpha_slippage": 0}
        raise UnsupportedError(
            f"the Fabrica local stand-in does not model runtime API {api}.{method}; supported: "
            "SubnetInfoRuntimeApi.get_metagraph, SubnetInfoRuntimeApi.get_subnet_hyperparams_v3, "
            "SwapRuntimeApi.current_alpha_price, SwapRuntimeApi.sim_swap_tao_for_alpha, "
            "SwapRuntimeApi.sim_swap_alpha_for_tao"
        )

    def _active(self, subnet: dict[str, Any]) -> list[bool]:
        cutoff = int(subnet["hyperparams"]["activity_cutoff"])
        return [n["last_update"] + cutoff >= self.block for n in subnet["neurons"]]

    def metagraph_record(self, netuid: Any) -> dict[str, Any] | None:
        """``SubnetInfoRuntimeApi.get_metagraph`` as the transport decodes it (None for no subnet)."""
        subnet = self._maybe_subnet(netuid)
        if subnet is None:
            return None
        neurons = subnet["neurons"]
        hp = subnet["hyperparams"]
        stakes = [self.stake_of(subnet, n["hotkey"]) for n in neurons]
        empty_axon = {"block": 0, "version": 0, "ip": 0, "port": 0, "ip_type": 0, "protocol": 0,
                      "placeholder1": 0, "placeholder2": 0}
        return {
            "netuid": subnet["netuid"],
            "name": list(subnet["name"].encode()),
            "symbol": list(subnet["symbol"].encode()),
            "identity": None,
            "network_registered_at": subnet["registered_at"],
            "owner_hotkey": subnet["owner_hotkey"],
            "owner_coldkey": subnet["owner_coldkey"],
            "block": self.block,
            "tempo": hp["tempo"],
            "last_step": subnet["last_epoch_block"],
            "blocks_since_last_step": self.block - subnet["last_epoch_block"],
            "subnet_emission": BLOCK_EMISSION_RAO,
            "alpha_in": 10**6 * RAO_PER_TAO,
            "alpha_out": sum(stakes),
            "tao_in": 10**6 * RAO_PER_TAO,
            "moving_price": {"bits": 2**32},
            "num_uids": len(neurons),
            "max_uids": hp["max_allowed_uids"],
            "burn": hp["burn"],
            "difficulty": hp["difficulty"],
            "registration_allowed": hp["registration_allowed"],
            "immunity_period": hp["immunity_period"],
            "min_allowed_weights": hp["min_allowed_weights"],
            "max_weights_limit": hp["max_weights_limit"],
            "weights_version": hp["weights_version"],
            "weights_rate_limit": hp["weights_rate_limit"],
            "activity_cutoff": hp["activity_cutoff"],
            "max_validators": hp["max_allowed_validators"],
            "kappa": hp["kappa"],
            "bonds_moving_avg": hp["bonds_moving_avg"],
            "commit_reveal_weights_enabled": hp["commit_reveal_weights_enabled"],
            "liquid_alpha_enabled": hp["liquid_alpha_enabled"],
            "hotkeys": [n["hotkey"] for n in neurons],
            "coldkeys": [n["coldkey"] for n in neurons],
            "identities": [None for _ in neurons],
            "axons": [n["axon"] or dict(empty_axon) for n in neurons],
            "active": self._active(subnet),
            "validator_permit": [n["validator_permit"] for n in neurons],
            "pruning_score": [_u16(n["emission"] / max(1, max((m["emission"] for m in neurons), default=1))) for n in neurons],
            "last_update": [n["last_update"] for n in neurons],
            "emission": [n["emission"] for n in neurons],
            "dividends": [n["dividends"] for n in neurons],
            "incentives": [n["incentive"] for n in neurons],
            "consensus": [n["consensus"] for n in neurons],
            "trust": [n["trust"] for n in neurons],
            "rank": [n["rank"] for n in neurons],
            "block_at_registration": [n["block_at_registration"] for n in neurons],
            "alpha_stake": stakes,
            "tao_stake": [0 for _ in neurons],
            "total_stake": stakes,
            "tao_dividends_per_hotkey": [],
            "alpha_dividends_per_hotkey": [],
        }

    # ------------------------------------------------------------------ extrinsics

    def account_next_index(self, address: str) -> int:
        acct = self.data["accounts"].get(address)
        return 0 if acct is None else int(acct["nonce"])

    def events(self, block_hash: str | None) -> list[dict[str, Any]]:
        return copy.deepcopy(self._events.get(self.block_number_of(block_hash), []))

    def submit(self, extrinsic: dict[str, Any]) -> dict[str, Any]:
        """Verify and apply one signed extrinsic; a receipt ``{success, block, block_hash, index, events, error}``.

        Raises InvalidTransaction when it is refused before dispatch (bad signature, nonce or era):
        such an extrinsic is never included, exactly like a pool rejection on a real node.
        """
        unsigned = {k: extrinsic.get(k) for k in ("call", "signer", "crypto_type", "nonce", "era", "tip")}
        signer = unsigned["signer"]
        signature = extrinsic.get("signature")
        if not isinstance(signer, str) or not isinstance(signature, str):
            raise InvalidTransaction("Invalid Transaction: the extrinsic carries no signer or signature (BadProof)")
        try:
            _core.ss58_decode(signer)
            sig = bytes.fromhex(signature.removeprefix("0x"))
        except Exception:
            raise InvalidTransaction(f"Invalid Transaction: bad signer {signer!r} or signature encoding (BadProof)") from None
        if len(sig) == 65:  # MultiSignature with its version prefix, as hardware signers return
            sig = sig[1:]
        payload = signing_payload(self.genesis_hash, unsigned)
        try:
            valid = bool(_core.verify(payload, sig, signer, int(unsigned["crypto_type"] or 1)))
        except Exception:
            valid = False
        if not valid:
            raise InvalidTransaction(
                f"Invalid Transaction: bad signature: the extrinsic is not signed by {signer}'s key (BadProof)"
            )
        acct = self.account(signer)
        nonce = int(unsigned["nonce"])
        if nonce < acct["nonce"]:
            raise InvalidTransaction(f"Invalid Transaction: Transaction is outdated: nonce {nonce} < {acct['nonce']} (Stale)")
        if nonce > acct["nonce"]:
            raise InvalidTransaction(f"Invalid Transaction: Transaction will be valid in the future: nonce {nonce} > {acct['nonce']} (Future)")
        era = unsigned["era"]
        if isinstance(era, dict) and era.get("period"):
            birth = int(era.get("current", self.block))
            if birth > self.block or self.block >= birth + int(era["period"]):
                raise InvalidTransaction(
                    f"Invalid Transaction: Transaction has an ancient birth block {birth} (period {era['period']}, "
                    f"head {self.block}) (AncientBirthBlock)"
                )
        call = unsigned["call"] or {}
        acct["nonce"] = nonce + 1
        block_events = self._events.setdefault(self.block, [])
        index = len(block_events)
        ext_hash = _hash(canonical_json({**unsigned, "signature": signature}))
        try:
            events = self.dispatch(signer, str(call.get("module")), str(call.get("function")), dict(call.get("params") or {}))
            events.append(self._event("System", "ExtrinsicSuccess", {"dispatch_info": {}}, index))
            error = None
        except DispatchError as exc:
            events = [self._event("System", "ExtrinsicFailed", {"dispatch_error": {"Module": {"name": exc.name}}}, index)]
            error = {"type": "Module", "module": exc.module, "name": exc.name, "docs": [exc.docs]}
        for event in events:
            event["extrinsic_idx"] = index
            event["extrinsic_hash"] = ext_hash
        block_events.extend(events)
        self._changed()
        return {
            "success": error is None,
            "block": self.block,
            "block_hash": self.block_hash(self.block),
            "index": index,
            "extrinsic_hash": ext_hash,
            "events": events,
            "error": error,
        }

    @staticmethod
    def _event(module: str, event: str, attributes: Any, index: int | None = None) -> dict[str, Any]:
        return {"phase": {"ApplyExtrinsic": index}, "extrinsic_idx": index,
                "event": {"module_id": module, "event_id": event, "attributes": attributes}, "topics": []}

    def dispatch(self, signer: str, module: str, function: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply one call as ``signer``; the events it emits, or DispatchError."""
        handler = {
            ("SubtensorModule", "burned_register"): self._burned_register,
            ("SubtensorModule", "serve_axon"): self._serve_axon,
            ("SubtensorModule", "set_mechanism_weights"): self._set_weights,
            ("SubtensorModule", "set_weights"): self._set_weights,
            ("SubtensorModule", "add_stake"): self._add_stake,
            ("SubtensorModule", "add_stake_limit"): self._add_stake,
            ("SubtensorModule", "remove_stake"): self._remove_stake,
            ("Commitments", "set_commitment"): self._set_commitment,
        }.get((module, function))
        if handler is None:
            raise DispatchError("CallUnavailable", f"the Fabrica local stand-in does not implement {module}.{function}",
                                module=module)
        return handler(signer, **params)

    def _burned_register(self, signer: str, netuid: Any, hotkey: Any) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        hotkey = _check_ss58(hotkey, "hotkey")
        hp = subnet["hyperparams"]
        if not hp["registration_allowed"]:
            raise DispatchError("SubNetRegistrationDisabled", f"registration is disabled on subnet {netuid}")
        if self.uid_of(subnet, hotkey) is not None:
            raise DispatchError("HotKeyAlreadyRegisteredInSubNet", f"hotkey {hotkey} is already registered on subnet {netuid}")
        owner = self.data["owners"].get(hotkey)
        if owner is not None and owner != signer:
            raise DispatchError("NonAssociatedColdKey", f"hotkey {hotkey} is owned by coldkey {owner}, not {signer}")
        acct = self.account(signer)
        burn = int(hp["burn"])
        if acct["free"] < burn:
            raise DispatchError("NotEnoughBalanceToStake", f"coldkey {signer} cannot pay the registration burn of {burn} rao")
        neuron = _new_neuron(hotkey, signer, self.block)
        neurons = subnet["neurons"]
        if len(neurons) < int(hp["max_allowed_uids"]):
            uid = len(neurons)
            neurons.append(neuron)
        else:
            immunity = int(hp["immunity_period"])
            candidates = [
                (n["emission"], n["block_at_registration"], i)
                for i, n in enumerate(neurons)
                if self.block - n["block_at_registration"] >= immunity
            ]
            if not candidates:
                raise DispatchError("NoNeuronIdAvailable", f"subnet {netuid} is full and every neuron is still immune")
            uid = min(candidates)[2]
            old = neurons[uid]["hotkey"]
            subnet["commitments"].pop(old, None)
            neurons[uid] = neuron
            for other in neurons:  # nobody keeps bonds in the replaced uid
                other["bonds"] = [p for p in other["bonds"] if p[0] != uid]
        acct["free"] -= burn
        self.data["owners"][hotkey] = signer
        return [self._event("SubtensorModule", "NeuronRegistered", {"netuid": subnet["netuid"], "uid": uid, "hotkey": hotkey})]

    def _registered(self, subnet: dict[str, Any], hotkey: str, error: str = "HotKeyNotRegisteredInSubNet") -> int:
        uid = self.uid_of(subnet, hotkey)
        if uid is None:
            raise DispatchError(error, f"hotkey {hotkey} is not registered on subnet {subnet['netuid']}")
        return uid

    def _serve_axon(self, signer: str, netuid: Any, version: Any, ip: Any, port: Any, ip_type: Any, protocol: Any,
                    placeholder1: Any = 0, placeholder2: Any = 0) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        uid = self._registered(subnet, signer, "HotKeyNotRegisteredInNetwork")
        ip, port, ip_type = int(ip), int(port), int(ip_type)
        if ip_type not in (4, 6):
            raise DispatchError("InvalidIpType", f"ip_type must be 4 or 6, got {ip_type}")
        if ip == 0 or (ip_type == 4 and ip >= 2**32) or ip >= 2**128:
            raise DispatchError("InvalidIpAddress", f"{ip} is not a valid IPv{ip_type} address")
        if not 0 < port < 65536:
            raise DispatchError("InvalidPort", f"port must be in 1..65535, got {port}")
        neuron = subnet["neurons"][uid]
        limit = int(subnet["hyperparams"]["serving_rate_limit"])
        if limit and neuron["axon"] is not None and self.block - neuron["axon_block"] < limit:
            raise DispatchError("ServingRateLimitExceeded",
                                f"axon served {self.block - neuron['axon_block']} blocks ago; the serving rate limit is {limit} blocks")
        neuron["axon"] = {"block": self.block, "version": int(version), "ip": ip, "port": port, "ip_type": ip_type,
                          "protocol": int(protocol), "placeholder1": int(placeholder1), "placeholder2": int(placeholder2)}
        neuron["axon_block"] = self.block
        return [self._event("SubtensorModule", "AxonServed", {"netuid": subnet["netuid"], "hotkey": signer})]

    def _set_weights(self, signer: str, netuid: Any, dests: Any, weights: Any, version_key: Any = 0,
                     mecid: Any = 0) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        hp = subnet["hyperparams"]
        if int(mecid or 0) != 0:
            raise DispatchError("MechanismDoesNotExist", f"subnet {netuid} has one mechanism (0), got {mecid}")
        if hp["commit_reveal_weights_enabled"]:
            raise DispatchError("CommitRevealEnabled", f"subnet {netuid} requires commit-reveal weights")
        uid = self._registered(subnet, signer)
        dests = [int(d) for d in dests]
        values = [int(w) for w in weights]
        n = len(subnet["neurons"])
        if len(dests) != len(values):
            raise DispatchError("WeightVecNotEqualSize", f"{len(dests)} uids but {len(values)} weights")
        if len(set(dests)) != len(dests):
            raise DispatchError("DuplicateUids", "each uid may appear once in a weights vector")
        if any(not 0 <= d < n for d in dests):
            raise DispatchError("UidVecContainInvalidOne", f"weights name a uid outside 0..{n - 1}")
        if any(not 0 <= v <= U16_MAX for v in values):
            raise DispatchError("InvalidArgument", "weights must be u16 values")
        if int(version_key) < int(hp["weights_version"]):
            raise DispatchError("IncorrectWeightVersionKey", f"version key {version_key} is older than the subnet's {hp['weights_version']}")
        neuron = subnet["neurons"][uid]
        self_weight = dests == [uid]
        if not self_weight and not neuron["validator_permit"]:
            raise DispatchError("NeuronNoValidatorPermit",
                                f"uid {uid} holds no validator permit on subnet {netuid} (permits go to the top "
                                f"{hp['max_allowed_validators']} stakes at each epoch)")
        limit = int(hp["weights_rate_limit"])
        since = self.block - int(neuron["last_update"])
        if limit and neuron["last_update"] > 0 and since < limit:
            raise DispatchError("SettingWeightsTooFast",
                                f"weights were set {since} blocks ago; the weights rate limit is {limit} blocks")
        nonzero = [(d, v) for d, v in zip(dests, values) if v > 0]
        if not self_weight and len(nonzero) < min(int(hp["min_allowed_weights"]), n):
            raise DispatchError("WeightVecLengthIsLow", f"at least {hp['min_allowed_weights']} nonzero weights are required")
        total = sum(v for _, v in nonzero)
        if not self_weight and len(nonzero) > 1 and total and max(v for _, v in nonzero) * U16_MAX > int(hp["max_weights_limit"]) * total:
            raise DispatchError("MaxWeightExceeded", f"a weight exceeds max_weight_limit {hp['max_weights_limit']}/65535 of the total")
        if not total:
            raise DispatchError("InvalidArgument", "all weights are zero")
        neuron["weights"] = [[d, round(v * U16_MAX / max(v for _, v in nonzero))] for d, v in sorted(nonzero)]
        neuron["last_update"] = self.block
        return [self._event("SubtensorModule", "WeightsSet", {"netuid": subnet["netuid"], "uid": uid})]

    def _add_stake(self, signer: str, hotkey: Any, netuid: Any, amount_staked: Any, limit_price: Any = None,
                   allow_partial: Any = False) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        hotkey = _check_ss58(hotkey, "hotkey")
        if hotkey not in self.data["owners"]:
            raise DispatchError("HotKeyAccountNotExists", f"hotkey {hotkey} is not registered anywhere on the chain")
        amount = int(amount_staked)
        if amount < MIN_STAKE_RAO:
            raise DispatchError("AmountTooLow", f"stake {amount} rao is below the minimum {MIN_STAKE_RAO} rao")
        if limit_price is not None and int(limit_price) < RAO_PER_TAO:
            raise DispatchError("SlippageTooHigh", f"limit price {limit_price} is below the pool price {RAO_PER_TAO}")
        acct = self.account(signer)
        if acct["free"] - amount < EXISTENTIAL_DEPOSIT_RAO:
            raise DispatchError("NotEnoughBalanceToStake", f"coldkey {signer} has {acct['free']} rao free, cannot stake {amount}")
        acct["free"] -= amount
        row = subnet["stakes"].setdefault(hotkey, {})
        row[signer] = int(row.get(signer, 0)) + amount  # 1:1 pool
        return [self._event("SubtensorModule", "StakeAdded", {"coldkey": signer, "hotkey": hotkey, "netuid": subnet["netuid"],
                                                               "tao": amount, "alpha": amount})]

    def _remove_stake(self, signer: str, hotkey: Any, netuid: Any, amount_unstaked: Any) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        row = subnet["stakes"].get(hotkey, {})
        held = int(row.get(signer, 0))
        amount = min(int(amount_unstaked), held)
        if amount <= 0:
            raise DispatchError("NotEnoughStakeToWithdraw", f"coldkey {signer} holds no stake on {hotkey} in subnet {netuid}")
        row[signer] = held - amount
        self.account(signer)["free"] += amount
        return [self._event("SubtensorModule", "StakeRemoved", {"coldkey": signer, "hotkey": hotkey, "netuid": subnet["netuid"],
                                                                 "tao": amount, "alpha": amount})]

    def _set_commitment(self, signer: str, netuid: Any, info: Any) -> list[dict[str, Any]]:
        subnet = self.subnet(netuid)
        self._registered(subnet, signer, "AccountNotAllowedCommit")
        fields = (info or {}).get("fields") if isinstance(info, dict) else None
        if not isinstance(fields, list):
            raise DispatchError("InvalidArgument", "info must be {'fields': [Data, ...]}", module="Commitments")
        if len(fields) > MAX_COMMITMENT_FIELDS:
            raise DispatchError("TooManyFieldsInCommitmentInfo",
                                f"{len(fields)} fields, at most {MAX_COMMITMENT_FIELDS}", module="Commitments")
        clean: list[Any] = []
        for entry in fields:
            if not (isinstance(entry, dict) and len(entry) == 1):
                raise DispatchError("InvalidArgument", f"commitment field {entry!r} is not a Data variant", module="Commitments")
            ((variant, value),) = entry.items()
            if not variant.startswith("Raw") or not isinstance(value, str):
                raise DispatchError("InvalidArgument", f"the stand-in stores Raw commitment fields only, got {variant}",
                                    module="Commitments")
            raw = bytes.fromhex(value.removeprefix("0x"))
            if variant != f"Raw{len(raw)}" or len(raw) > 128:
                raise DispatchError("InvalidArgument", f"field {variant} carries {len(raw)} bytes", module="Commitments")
            clean.append({variant: "0x" + raw.hex()})
        subnet["commitments"][signer] = {"deposit": 0, "block": self.block, "info": {"fields": clean}}
        return [self._event("Commitments", "Commitment", {"netuid": subnet["netuid"], "who": signer})]

    # ------------------------------------------------------------------ epochs

    def run_epoch(self, netuid: int) -> None:
        """One Yuma Consensus epoch on ``netuid``: scores, bonds, permits and the emission paid as stake."""
        from fabrica.protocol.subnet.yuma import YumaParams, yuma_epoch

        subnet = self.subnet(netuid)
        neurons = subnet["neurons"]
        blocks = max(1, self.block - int(subnet["last_epoch_block"]))
        subnet["last_epoch_block"] = self.block
        subnet["epoch_index"] += 1
        n = len(neurons)
        if n == 0:
            return
        hp = subnet["hyperparams"]
        W = np.zeros((n, n))
        B = np.zeros((n, n))
        for i, neuron in enumerate(neurons):
            for j, v in neuron["weights"]:
                if j < n:
                    W[i, j] = v
            for j, v in neuron["bonds"]:
                if j < n:
                    B[i, j] = v / U16_MAX
        stake = np.array([self.stake_of(subnet, nr["hotkey"]) / RAO_PER_TAO for nr in neurons], dtype=float)
        params = YumaParams(
            kappa=hp["kappa"] / U16_MAX,
            bonds_moving_average=hp["bonds_moving_avg"] / 1_000_000,
            bonds_penalty=hp["bonds_penalty"] / U16_MAX,
            liquid_alpha=bool(hp["liquid_alpha_enabled"]),
            alpha_low=min(hp["alpha_low"], hp["alpha_high"]) / U16_MAX,
            alpha_high=hp["alpha_high"] / U16_MAX,
            alpha_sigmoid_steepness=float(hp["alpha_sigmoid_steepness"]),
            yuma3=bool(hp["yuma3_enabled"]),
            max_allowed_validators=int(hp["max_allowed_validators"]),
            min_stake=float(hp["stake_threshold"]) / RAO_PER_TAO,
        )
        emitted = blocks * BLOCK_EMISSION_RAO
        result = yuma_epoch(
            W, stake, B if B.any() else None, params,
            validator_permit=np.array([nr["validator_permit"] for nr in neurons], dtype=bool),
            active=np.array(self._active(subnet), dtype=bool),
            block_at_registration=np.array([nr["block_at_registration"] for nr in neurons], dtype=np.int64),
            last_update=np.array([nr["last_update"] for nr in neurons], dtype=np.int64),
            emission=float(emitted),
        )
        bonds = np.asarray(result.bonds, dtype=float)
        bond_scale = bonds.max() if not params.yuma3 and bonds.size and bonds.max() > 1 else 1.0
        for i, neuron in enumerate(neurons):
            neuron["rank"] = _u16(result.ranks[i] / max(float(np.max(result.ranks)), 1e-12)) if np.max(result.ranks) > 0 else 0
            neuron["trust"] = _u16(result.trust[i])
            neuron["consensus"] = _u16(result.consensus[i])
            neuron["incentive"] = _u16(result.incentive[i])
            neuron["dividends"] = _u16(result.dividends[i])
            neuron["validator_trust"] = _u16(result.validator_trust[i])
            neuron["validator_permit"] = bool(result.validator_permit[i])
            neuron["bonds"] = [[j, _u16(bonds[i, j] / bond_scale)] for j in range(n) if bonds[i, j] > 0]
            earned = int(float(result.server_emission[i]) + float(result.validator_emission[i]))
            neuron["emission"] = earned
            if earned > 0:  # paid as stake on the neuron's own hotkey, owned by its coldkey
                row = subnet["stakes"].setdefault(neuron["hotkey"], {})
                row[neuron["coldkey"]] = int(row.get(neuron["coldkey"], 0)) + earned
        self._events.setdefault(self.block, []).append(
            self._event("SubtensorModule", "EpochRun", {"netuid": subnet["netuid"], "emission": emitted})
        )
