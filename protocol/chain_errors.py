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

    def __init__(self, values: tuple[Any, ...] = (), hint: str = "") -> None:
        self.values = tuple(values)
        self.args_by_name = dict(zip(self.input_names, self.values))
        shown = ", ".join(f"{k}={self._show_arg(k, v)}" for k, v in self.args_by_name.items())
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
        return _show(value)


class RevertedWithoutReason(ContractError):
    """A call reverted with no or unknown revert data."""

    error_name = "Reverted"


def _show(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)


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
    "NodeRegistry__BelowMinimumStake": "stake more FAB with `fabrica node stake`",
    "NodeRegistry__InsufficientFreeStake": "stake more FAB or wait for claimed jobs to settle",
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
