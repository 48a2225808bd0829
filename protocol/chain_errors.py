"""Contract custom errors as Python exceptions with decoded arguments, built from the generated ABIs.

Every Solidity error `JobMarket__WrongStatus(uint256,uint8,uint8)` becomes a class of the same name
here (subclass of `ContractError`), so callers can `except chain_errors.JobMarket__WrongStatus`.
"""
from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from .artifacts import CONTRACT_NAMES, abi, canonical_type
from .errors import FabricaError


class ContractError(FabricaError):
    """A contract call reverted with a custom error; `args_by_name` holds the decoded arguments."""

    error_name: str = "ContractError"
    input_names: tuple[str, ...] = ()

    def __init__(self, values: tuple[Any, ...] = (), hint: str = "", shown: dict[str, str] | None = None) -> None:
        self.values = tuple(values)
        self.args_by_name = dict(zip(self.input_names, self.values))
        self.hint = hint
        self.shown = dict(shown or {})  # a caller that knows an argument's unit (a payment token) shows it so
        args = ", ".join(f"{k}={self.shown.get(k) or self._show_arg(k, v)}" for k, v in self.args_by_name.items())
        message = f"{self.error_name}({args})"
        if hint:
            message += f": {hint}"
        super().__init__(message)

    def _show_arg(self, name: str, value: Any) -> str:
        # Statuses and stages travel as uint8 ordinals; show their names (the Python enums mirror Solidity's).
        enum_name = ARG_ENUMS.get(self.error_name, {}).get(name)
        if enum_name is not None:
            from . import types

            try:
                return getattr(types, enum_name)(value).name
            except ValueError:
                return str(value)
        return _show_as(ARG_KINDS.get(self.error_name, {}).get(name), value)

    def with_hint(self, hint: str | None = None, shown: dict[str, str] | None = None) -> ContractError:
        """The same error with another hint or some arguments shown differently (e.g. in token units)."""
        return type(self)(self.values, self.hint if hint is None else hint, {**self.shown, **(shown or {})})


class RevertedWithoutReason(ContractError):
    """A call reverted with no or unknown revert data."""

    error_name = "Reverted"


def _show(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)


# How to show the arguments people read most: FAB amounts in FAB (stakes and collateral are FAB), Unix
# times as dates, windows as durations, bytes32 parameter names as text, CIDs as CIDs. Payment amounts
# (ERC20InsufficientBalance, ShortDeposit…) stay in base units here: only the caller knows which token they are
# in (Fabrica shows them in token units when the error names the token).
ARG_KINDS: dict[str, dict[str, str]] = {
    "JobMarket__DeadlinePassed": {"deadline": "time", "nowTs": "time"},
    "JobMarket__DeadlineNotPassed": {"deadline": "time", "nowTs": "time"},
    "JobMarket__InvalidClaimDeadline": {"claimBy": "time", "nowTs": "time"},
    "JobMarket__InvalidDeliveryWindow": {"window": "duration", "min": "duration", "max": "duration"},
    "JobMarket__CollateralOutOfBounds": {"collateral": "fab", "min": "fab", "max": "fab"},
    "JobMarket__InsufficientFreeStake": {"free": "fab", "needed": "fab"},
    "JobMarket__InvalidCid": {"cid": "cid"},
    "JobMarket__ZeroAddress": {"name": "text"},
    "JobMarket__ParameterOutOfBounds": {"name": "text"},
    "JobMarket__OrderExpired": {"expiry": "time", "nowTs": "time"},
    "JobMarket__ReopenCooldown": {"claimableAt": "time", "nowTs": "time"},
    "JobMarket__NoPendingChange": {"what": "text"},
    "JobMarket__ChangeNotDue": {"what": "text", "effectiveAt": "time", "nowTs": "time"},
    "NodeRegistry__AmountTooLarge": {"amount": "fab", "max": "fab"},
    "NodeRegistry__InsufficientFreeStake": {"free": "fab", "needed": "fab"},
    "NodeRegistry__UnbondingNotDue": {"unbondAt": "time", "nowTs": "time"},
    "NodeRegistry__HeldAsCollateral": {"held": "fab"},
    "NodeRegistry__InvalidCid": {"cid": "cid"},
    "NodeRegistry__ParameterOutOfBounds": {"name": "text"},
    "DesignNFT__InvalidCid": {"cid": "cid"},
}
# Enum arguments, shown by name (the Python enums mirror the Solidity ones).
ARG_ENUMS: dict[str, dict[str, str]] = {
    "JobMarket__WrongStatus": {"actual": "JobStatus", "expected": "JobStatus"},
    "JobMarket__WrongDisputeStage": {"actual": "DisputeStage"},
}


def _show_as(kind: str | None, v: Any) -> str:
    from .display import format_duration, format_fab, format_time

    try:
        if kind == "fab" and isinstance(v, int):
            return format_fab(v)
        if kind == "time" and isinstance(v, int):
            return format_time(v) if v else "none"
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


# What went wrong and what to do next, for every error of the market, its module and the registry (the
# arguments, shown in units and dates, carry the numbers).
HINTS = {
    # ---- posting and orders
    "JobMarket__TokenNotAllowed": "pay with an allowlisted token (see `fabrica devnet up --json` for fUSD)",
    "JobMarket__ZeroAmount": "pay a positive amount",
    "JobMarket__InvalidCid": "pass a CIDv0 (Qm…) or CIDv1 (b…) with a sha2-256 multihash",
    "JobMarket__InvalidClaimDeadline": "the claim deadline must be in the future and at most 365 days ahead",
    "JobMarket__InvalidDeliveryWindow": "choose a delivery window between the minimum and the maximum shown",
    "JobMarket__CollateralOutOfBounds": (
        "ask for collateral within the bounds the payment token's terms set for this amount "
        "(`fabrica job post --collateral`; leave it out for the minimum)"
    ),
    "JobMarket__UnknownDesign": "pass the id of a minted design (`fabrica design mint CID`), or 0 for none",
    "JobMarket__ShortDeposit": (
        "the token delivered less than was pulled (a fee-on-transfer token?); the market only takes tokens that "
        "arrive in full: pay with another token"
    ),
    "JobMarket__OrderExpired": "the order's expiry has passed; ask the customer for a new order (`fabrica job order`)",
    "JobMarket__OrderNonceUsed": (
        "this order was already taken or cancelled; the customer signs a new order with a fresh nonce"
    ),
    "JobMarket__OrderCounterStale": (
        "the customer cancelled all orders signed before (`fabrica job cancel-all-orders`); ask for a new order"
    ),
    "JobMarket__InvalidSignature": (
        "the signature is not the customer's over this exact order on this market and chain; sign the order "
        "file's typedData again (`fabrica job order --sign`, or eth_signTypedData_v4 in a wallet)"
    ),
    # ---- the lifecycle
    "JobMarket__UnknownJob": "no job has this id here; `fabrica job list` shows the jobs",
    "JobMarket__WrongStatus": "the job is not in the state this action needs; check `fabrica job show ID`",
    "JobMarket__JobDataMismatch": "the job data does not match the chain; refresh it from events",
    "JobMarket__NotCustomer": "only the customer who posted the job may do this; pass --account",
    "JobMarket__NotClaimer": "only the node operator that claimed the job may do this",
    "JobMarket__DeadlinePassed": "the deadline for this action is over",
    "JobMarket__DeadlineNotPassed": "wait until the deadline has passed",
    "JobMarket__NotTargetNode": "the customer reserved this job for another node; claim it with that node only",
    "JobMarket__HandedBackByCaller": "you handed this job back: another shop may claim it, you may not",
    "JobMarket__ReopenCooldown": "a job handed back can be claimed again from claimableAt; try then",
    "JobMarket__UnknownNode": "no node has this id; `fabrica node list` shows the registered nodes",
    "JobMarket__NotNodeOperator": "claim with one of your own nodes (`fabrica node list`), or pass its operator's --account",
    "JobMarket__NodeInactive": (
        "the node is out of service or its operator's bonded stake is below the minimum: stake at least the "
        "minimum with `fabrica node stake AMOUNT` (the order is stake, register, claim) and keep the node in service"
    ),
    "JobMarket__InsufficientFreeStake": (
        "the job's collateral is more than the stake not already locked: stake more FAB or let claimed jobs finish"
    ),
    "JobMarket__NothingToWithdraw": "this account has no balance of that token in the market",
    # ---- disputes
    "JobMarket__NotJudge": (
        "only the dispute's judge may rule: its assigned arbiter, or once appealed the appeal court (the DAO, "
        "through a governance proposal)"
    ),
    "JobMarket__NotParty": "only the job's customer or its node may appeal",
    "JobMarket__WrongDisputeStage": (
        "the dispute is not at the stage this action needs (rule: awaiting a judge; appeal: ruled); "
        "see `fabrica job show ID`"
    ),
    "JobMarket__InvalidSplit": "refund and slash are basis points: each between 0 and 10000",
    "JobMarket__NotReassignable": (
        "only a dispute still awaiting an arbiter who has left the panel (or that found none) can be reassigned; "
        "see `fabrica dispute show ID`"
    ),
    # ---- pause
    "JobMarket__Paused": (
        "new jobs are paused (posts and taken orders): withdrawals and running jobs continue; wait for the DAO "
        "to unpause the market"
    ),
    "JobMarket__NotGuardian": "only the guardian may pause new jobs; only the owner (the DAO) pauses or unpauses",
    "JobMarket__ModuleMismatch": (
        "the market's module was built for another market, registry or designs: deploy the module for this "
        "market's address first (protocol/deploy.py does)"
    ),
    # ---- governance
    "JobMarket__ZeroAddress": "pass a non-zero address",
    "JobMarket__ParameterOutOfBounds": "choose a value within the bounds shown (the market's constants)",
    "JobMarket__InvalidTokenTerms": "an allowed token needs a positive minimum rate and a maximum at least as high",
    "JobMarket__NoPendingChange": "propose the change first",
    "JobMarket__ChangeNotDue": "wait until the change's effective time",
    "JobMarketModule__NotDelegated": "call the market's address, not its module's",
    "JobMarketModule__AlreadyInitialized": "the market is set up already; change parameters with setParams",
    "OwnableUnauthorizedAccount": "only the contract's owner (governance) may do this",
    # ---- the registry
    "NodeRegistry__ZeroAmount": "pass a positive amount of FAB",
    "NodeRegistry__AmountTooLarge": "stake at most the maximum shown",
    "NodeRegistry__InsufficientFreeStake": "unbond at most your bonded stake (`fabrica node show ID`)",
    "NodeRegistry__NothingUnbonding": "request an unbond first with `fabrica node unbond AMOUNT`",
    "NodeRegistry__UnbondingNotDue": (
        "no unbond request is released yet, or the stake the market holds as collateral keeps it; "
        "`fabrica node withdraw` after unbondAt"
    ),
    "NodeRegistry__HeldAsCollateral": (
        "released unbonding stays while the market holds it as collateral for your claimed jobs: withdraw once "
        "they finish (`fabrica node show ID` shows what is locked)"
    ),
    "NodeRegistry__UnknownNode": "no node has this id; `fabrica node list` shows the registered nodes",
    "NodeRegistry__NotNodeOperator": "only the node's operator may do this; pass the operator's --account",
    "NodeRegistry__NodeInactive": "the node is out of service; its operator can put it back in service",
    "NodeRegistry__InvalidCapabilities": "name at least one known process kind and only known materials",
    "NodeRegistry__InvalidBuildVolume": "each side of the build volume must be at least 1 mm",
    "NodeRegistry__InvalidEncryptionKey": "pass the node's X25519 public key (32 bytes, not all zero)",
    "NodeRegistry__InvalidCid": "pass a CIDv0 (Qm…) or CIDv1 (b…) with a sha2-256 multihash",
    "NodeRegistry__NotMarket": "only the job market may slash stake",
    "JobMarket__NotRegistry": "only the node registry reports stakes and nodes to the market",
    "NodeRegistry__TooManyRequests": "withdraw released unbond requests (`fabrica node withdraw`) before asking for more",
    "NodeRegistry__ParameterOutOfBounds": "choose a value within the bounds shown",
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
    types = list(cls.input_types)  # type: ignore[attr-defined]
    try:
        values = abi_decode(types, body)
    except Exception:
        return RevertedWithoutReason((), f"malformed {cls.error_name} data 0x{data.hex()}")
    # Addresses as everywhere else in the SDK: checksummed (eth_abi decodes them in lower case).
    values = tuple(to_checksum_address(v) if t == "address" else v for t, v in zip(types, values))
    return cls(values, HINTS.get(cls.error_name, ""))


def __getattr__(name: str) -> type[ContractError]:  # pragma: no cover - only for typing tools
    raise AttributeError(f"no contract error named {name!r}")


_build()
