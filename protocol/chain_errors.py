"""Contract custom errors as Python exceptions with decoded arguments, built from the generated ABIs.

Every Solidity error `JobMarket__WrongStatus(uint256,uint8,uint8)` becomes a class of the same name
here (subclass of `ContractError`), so callers can `except chain_errors.JobMarket__WrongStatus`.
"""
from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from .artifacts import CONTRACT_NAMES, abi, canonical_type
from .errors import FabricaError


class ContractError(FabricaError):
    """A contract call reverted with a custom error; `args_by_name` holds the decoded arguments."""

    error_name: str = "ContractError"
    input_names: tuple[str, ...] = ()

    def __init__(self, values: tuple[Any, ...] = (), hint: str = "", shown: dict[str, str] | None = None) -> None:
        self.values = tuple(values)
        self.args_by_name = dict(zip(self.input_names, self.values))
        overrides = shown or {}  # a caller that knows an argument's unit (a payment token) shows it so
        shown = ", ".join(f"{k}={overrides.get(k) or self._show_arg(k, v)}" for k, v in self.args_by_name.items())
        message = f"{self.error_name}({shown})"
        if hint:
            message += f": {hint}"
        super().__init__(message)

    def _show_arg(self, name: str, value: Any) -> str:
        # Job statuses travel as uint8 ordinals; show their names (JobStatus mirrors the Solidity enum).
        if self.error_name == "JobMarket__WrongStatus" and name in ("actual", "expected"):
            from .types import JobStatus

            try:
                return JobStatus(value).name
            except ValueError:
                return str(value)
        return _show_as(ARG_KINDS.get(self.error_name, {}).get(name), value)


class RevertedWithoutReason(ContractError):
    """A call reverted with no or unknown revert data."""

    error_name = "Reverted"


def _show(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)


# How to show the arguments people read most: FAB amounts in FAB (stakes and collateral are FAB), Unix
# times as dates, windows as durations, bytes32 parameter names as text, CIDs as CIDs. Payment amounts
# (ERC20InsufficientBalance…) stay in base units: only the caller knows which token they are in.
ARG_KINDS: dict[str, dict[str, str]] = {
    "JobMarket__DeadlinePassed": {"deadline": "time", "nowTs": "time"},
    "JobMarket__DeadlineNotPassed": {"deadline": "time", "nowTs": "time"},
    "JobMarket__InvalidClaimDeadline": {"claimBy": "time", "nowTs": "time"},
    "JobMarket__InvalidDeliveryWindow": {"window": "duration", "min": "duration", "max": "duration"},
    "JobMarket__CollateralTooLow": {"collateral": "fab", "minimum": "fab"},
    "JobMarket__InvalidCid": {"cid": "cid"},
    "JobMarket__ZeroAddress": {"name": "text"},
    "JobMarket__ParameterOutOfBounds": {"name": "text"},
    "NodeRegistry__AmountTooLarge": {"amount": "fab", "max": "fab"},
    "NodeRegistry__InsufficientFreeStake": {"free": "fab", "needed": "fab"},
    "NodeRegistry__BelowMinimumStake": {"staked": "fab", "minimum": "fab"},
    "NodeRegistry__UnbondingNotDue": {"unbondAt": "time", "nowTs": "time"},
    "NodeRegistry__InvalidCid": {"cid": "cid"},
    "NodeRegistry__ParameterOutOfBounds": {"name": "text"},
    "DesignNFT__InvalidCid": {"cid": "cid"},
}


def _show_as(kind: str | None, v: Any) -> str:
    from .display import format_duration, format_fab, format_time

    try:
        if kind == "fab" and isinstance(v, int):
            return format_fab(v)
        if kind == "time" and isinstance(v, int):
            return format_time(v)
        if kind == "duration" and isinstance(v, int):
            return format_duration(v)
        if kind == "text" and isinstance(v, bytes):
            return repr(v.rstrip(b"\0").decode("ascii"))
        if kind == "cid" and isinstance(v, bytes):
            from .storage.cid import Cid

            return str(Cid.parse(v))
    except Exception:  # undecodable bytes or a malformed CID: the raw value is the honest answer
        pass
    return _show(v)


# Hints tell a user what to do next for the errors people meet most.
HINTS = {
    "JobMarket__TokenNotAllowed": "pay with an allowlisted token (see `fabrica devnet up --json` for fUSD)",
    "JobMarket__WrongStatus": "the job is not in the state this action needs; check `fabrica job show ID`",
    "JobMarket__NotCustomer": "only the customer who posted the job may do this; pass --account",
    "JobMarket__NotClaimer": "only the node operator that claimed the job may do this",
    "JobMarket__DeadlinePassed": "the deadline for this action is over",
    "JobMarket__DeadlineNotPassed": "wait until the deadline has passed",
    "JobMarket__InvalidCid": "pass a CIDv0 (Qm…) or CIDv1 (b…) with a sha2-256 multihash",
    "JobMarket__JobDataMismatch": "the job data does not match the chain; refresh it from events",
    "NodeRegistry__BelowMinimumStake": (
        "stake at least the minimum with `fabrica node stake AMOUNT` first (the order is stake, register, claim)"
    ),
    "JobMarket__CollateralTooLow": "ask for at least the minimum collateral (`fabrica job post --collateral`)",
    "JobMarket__InvalidClaimDeadline": "the claim deadline must be in the future and at most 365 days ahead",
    "JobMarket__InvalidDeliveryWindow": "choose a delivery window between the minimum and the maximum shown",
    "JobMarket__UnknownDesign": "pass the id of a minted design (`fabrica design mint CID`), or 0 for none",
    "NodeRegistry__InsufficientFreeStake": "stake more FAB or wait for claimed jobs to settle",
    "NodeRegistry__UnknownNode": "no node has this id; `fabrica node list` shows the registered nodes",
    "NodeRegistry__NotNodeOperator": "only the node's operator may do this; pass the operator's --account",
    "NodeRegistry__NodeInactive": "the node is out of service; its operator can put it back in service",
    "NodeRegistry__NothingUnbonding": "request an unbond first with `fabrica node unbond AMOUNT`",
    "NodeRegistry__UnbondingNotDue": "the unbonding delay is not over; `fabrica node withdraw` after unbondAt",
    "ERC20InsufficientAllowance": "approve the contract to spend the token first",
    "ERC20InsufficientBalance": "the account holds too little of the token",
}

REGISTRY: dict[bytes, type[ContractError]] = {}


def _build() -> None:
    for contract in CONTRACT_NAMES:
        for item in abi(contract):
            if item.get("type") != "error":
                continue
            types = [canonical_type(i) for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            selector = function_signature_to_4byte_selector(signature)
            if selector in REGISTRY:
                continue
            cls = type(
                item["name"],
                (ContractError,),
                {
                    "error_name": item["name"],
                    "input_names": tuple(i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])),
                    "input_types": tuple(types),
                    "selector": selector,
                    "__doc__": f"Solidity custom error {signature}.",
                },
            )
            REGISTRY[selector] = cls
            globals()[item["name"]] = cls


def make_error(name: str, values: tuple[Any, ...], hint: str | None = None,
               shown: dict[str, str] | None = None) -> ContractError:
    """The ContractError a call would revert with, built without sending it (for checks made with reads)."""
    cls = next((c for c in REGISTRY.values() if c.error_name == name), None)
    if cls is None:
        raise KeyError(f"no contract error named {name!r}")
    return cls(values, HINTS.get(name, "") if hint is None else hint, shown)


def decode_revert(data: bytes | str | None) -> ContractError:
    """Turn raw revert data into the matching ContractError instance."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    if not data or len(data) < 4:
        return RevertedWithoutReason((), "the call reverted without an error")
    selector, body = data[:4], data[4:]
    if selector == bytes.fromhex("08c379a0"):  # Error(string)
        (reason,) = abi_decode(["string"], body)
        err = RevertedWithoutReason((), reason)
        return err
    cls = REGISTRY.get(selector)
    if cls is None:
        return RevertedWithoutReason((), f"unknown custom error 0x{data.hex()}")
    try:
        values = abi_decode(list(cls.input_types), body)  # type: ignore[attr-defined]
    except Exception:
        return RevertedWithoutReason((), f"malformed {cls.error_name} data 0x{data.hex()}")
    return cls(values, HINTS.get(cls.error_name, ""))


def __getattr__(name: str) -> type[ContractError]:  # pragma: no cover - only for typing tools
    raise AttributeError(f"no contract error named {name!r}")


_build()
