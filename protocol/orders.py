"""Signed job orders (EIP-712 `Order`): a customer signs off-chain, a shop takes the order and claims in one step.

`Order` mirrors the Solidity struct `IJobMarketTypes.Order` (field names in snake_case, read from the generated
ABI's `orderDigest` input, never written down twice). `Order.typed_data` is the exact payload a wallet signs with
`eth_signTypedData_v4`; `Order.digest` is what the market's `orderDigest` returns for it. `OrderFile` is the JSON
document `fabrica job order` writes and `fabrica job take` reads.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import FabricaValueError

DOMAIN_NAME = "Fabrica JobMarket"  # JobMarket's EIP712 constructor arguments
DOMAIN_VERSION = "1"
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
PERMIT_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

_UINT32, _UINT40, _UINT64, _UINT96, _UINT256 = ((1 << b) - 1 for b in (32, 40, 64, 96, 256))


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


@cache
def order_fields() -> tuple[tuple[str, str], ...]:
    """The Order struct's (name, type) pairs in Solidity order, from the generated JobMarket ABI."""
    fields = struct_fields("JobMarket", "orderDigest")
    if [_snake(n) for n, _ in fields] != list(Order.model_fields):  # the Python model must follow Solidity
        raise RuntimeError(f"Order struct in the ABI changed: {[n for n, _ in fields]}; update fabrica.protocol.orders")
    return fields


def order_type_string() -> str:
    """`Order(address customer,…,bytes specCid)`: what ORDER_TYPEHASH hashes."""
    return "Order(" + ",".join(f"{t} {n}" for n, t in order_fields()) + ")"


def _checksum(value: str) -> str:
    from eth_utils import to_checksum_address

    try:
        return to_checksum_address(value)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not an address (0x and 40 hex characters)") from None


class Order(BaseModel):
    """A signed job order (Solidity `IJobMarketTypes.Order`); integers may be given as decimal strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer: str
    token: str
    amount: Annotated[int, Field(ge=1, le=_UINT96)]
    collateral: Annotated[int, Field(ge=0, le=_UINT96)]
    design_id: Annotated[int, Field(ge=0, le=_UINT256)] = 0
    delivery_window: Annotated[int, Field(ge=0, le=_UINT32)]
    target_node: Annotated[int, Field(ge=0, le=_UINT64)] = 0  # the only node that may take it; 0 = any
    expiry: Annotated[int, Field(ge=0, le=_UINT40)]  # last second the order can be taken
    nonce: Annotated[int, Field(ge=0, le=_UINT64)]
    counter: Annotated[int, Field(ge=0, le=_UINT64)]
    spec_cid: str  # the JobSpec's CID (text); bytes or 0x hex of a binary CID are accepted too

    @field_validator("customer", "token")
    @classmethod
    def _address(cls, v: str) -> str:
        return _checksum(v)

    @field_validator("spec_cid", mode="before")
    @classmethod
    def _cid(cls, v: Any) -> str:
        from .storage.cid import Cid

        if isinstance(v, str) and v.startswith("0x"):
            try:
                v = bytes.fromhex(v[2:])
            except ValueError:
                raise ValueError(f"{v!r} is neither a CID nor the 0x hex of one") from None
        return str(Cid.parse(v))

    def cid_bytes(self) -> bytes:
        """The spec CID in binary, as the contract takes it."""
        from .storage.cid import Cid

        return Cid.parse(self.spec_cid).to_bytes()

    def values(self) -> dict[str, Any]:
        """The struct's values by Solidity field name (specCid as bytes)."""
        return {name: (self.cid_bytes() if name == "specCid" else getattr(self, _snake(name)))
                for name, _ in order_fields()}

    def to_abi(self) -> tuple:
        """The struct as the tuple web3 encodes."""
        return tuple(self.values().values())

    def message(self) -> dict[str, str]:
        """The typed-data message: integers as decimal strings, bytes as 0x hex (safe for JavaScript)."""
        out = {}
        for name, value in self.values().items():
            out[name] = "0x" + value.hex() if isinstance(value, bytes) else str(value)
        return out

    def typed_data(self, chain_id: int, market: str) -> dict[str, Any]:
        """The complete `eth_signTypedData_v4` payload for this order on `market` (chain `chain_id`)."""
        return {
            "types": {"EIP712Domain": DOMAIN_TYPE, "Order": [{"name": n, "type": t} for n, t in order_fields()]},
            "primaryType": "Order",
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": int(chain_id),
                       "verifyingContract": _checksum(market)},
            "message": self.message(),
        }

    def struct_hash(self) -> bytes:
        """EIP-712 hashStruct(order), computed from the ABI types (bytes hashed, the rest ABI-encoded)."""
        return hash_struct(order_type_string(), order_fields(), list(self.values().values()))

    def digest(self, chain_id: int, market: str) -> bytes:
        """The 32-byte EIP-712 digest the customer signs (equals the market's `orderDigest(order)`)."""
        from eth_utils import keccak

        return keccak(b"\x19\x01" + domain_separator(chain_id, market) + self.struct_hash())

    def to_json(self) -> dict[str, str]:
        """The order as JSON: snake_case names, integers as decimal strings, the spec as its CID."""
        return {k: v if isinstance(v, str) else str(v) for k, v in self.model_dump().items()}


def domain_separator(chain_id: int, market: str, name: str = DOMAIN_NAME, version: str = DOMAIN_VERSION) -> bytes:
    """The EIP-712 domain separator of contract `market` (domain `name`, `version`) on chain `chain_id`."""
    from eth_abi import encode
    from eth_utils import keccak

    type_hash = keccak(text="EIP712Domain(" + ",".join(f"{f['type']} {f['name']}" for f in DOMAIN_TYPE) + ")")
    return keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                         [type_hash, keccak(text=name), keccak(text=version), chain_id, _checksum(market)]))


def hash_struct(type_string: str, fields: tuple[tuple[str, str], ...], values: list[Any]) -> bytes:
    """EIP-712 hashStruct of a flat struct: `bytes` fields hashed, every other field ABI-encoded."""
    from eth_abi import encode
    from eth_utils import keccak

    types, encoded = ["bytes32"], [keccak(text=type_string)]
    for (_name, typ), value in zip(fields, values, strict=True):
        types.append("bytes32" if typ == "bytes" else typ)
        encoded.append(keccak(value) if typ == "bytes" else value)
    return keccak(encode(types, encoded))


def struct_fields(contract: str, function: str) -> tuple[tuple[str, str], ...]:
    """(name, type) pairs of the struct that is the first input of `function` in `contract`'s generated ABI."""
    from .artifacts import abi

    fn = next(e for e in abi(contract) if e.get("type") == "function" and e["name"] == function)
    return tuple((c["name"], c["type"]) for c in fn["inputs"][0]["components"])


def parse_signature(text: str, what: str = "signature") -> bytes:
    """A 65-byte ECDSA signature (r, s, v) from 0x hex; v of 0/1 (some wallets) becomes 27/28 as the market needs."""
    value = text.strip() if isinstance(text, str) else ""
    rule = "0x and 130 hex characters (65 bytes: r, s, v), as eth_signTypedData_v4 returns it"
    if not re.fullmatch(r"0x[0-9a-fA-F]{130}", value):
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise FabricaValueError(f"{what} {shown!r} must be {rule}")
    sig = bytearray(bytes.fromhex(value[2:]))
    if sig[64] in (0, 1):
        sig[64] += 27
    if sig[64] not in (27, 28):
        raise FabricaValueError(f"{what}: its last byte (v) is {sig[64]}; a signature ends in 27 or 28 (or 0 or 1)")
    return bytes(sig)


def recover_signer(order: Order, chain_id: int, market: str, signature: bytes) -> str | None:
    """The address that signed the order's typed data with `signature`, or None when it recovers to none."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        return Account.recover_message(encode_typed_data(full_message=order.typed_data(chain_id, market)),
                                       signature=signature)
    except Exception:  # a malformed signature (s too high, r zero…) signs for no one
        return None


class Permit(BaseModel):
    """An ERC-2612 permit for the payment token, signed by the customer, that `takeWithPermit` applies first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Annotated[int, Field(ge=0, le=_UINT256)]
    deadline: Annotated[int, Field(ge=0, le=_UINT256)]
    v: Annotated[int, Field(ge=0, le=255)]
    r: str
    s: str

    @field_validator("r", "s")
    @classmethod
    def _word(cls, v: str) -> str:
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", v):
            raise ValueError("must be 0x and 64 hex characters")
        return v.lower()

    def to_args(self) -> tuple:
        """(value, deadline, v, r, s) as `takeWithPermit` takes them after the order."""
        return (self.value, self.deadline, self.v, bytes.fromhex(self.r[2:]), bytes.fromhex(self.s[2:]))


def permit_typed_data(*, name: str, version: str, chain_id: int, token: str, owner: str, spender: str,
                      value: int, nonce: int, deadline: int) -> dict[str, Any]:
    """The `eth_signTypedData_v4` payload of an ERC-2612 permit."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "Permit": PERMIT_TYPE},
        "primaryType": "Permit",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": _checksum(token)},
        "message": {"owner": _checksum(owner), "spender": _checksum(spender), "value": str(value),
                    "nonce": str(nonce), "deadline": str(deadline)},
    }


class OrderFile(BaseModel):
    """The JSON `fabrica job order` writes: the order, its typed data and digest, where it is valid, and once
    signed its signature (and optionally a permit for the payment)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    order: Order
    typed_data: dict[str, Any] = Field(alias="typedData")
    digest: str
    market: str
    chain_id: int = Field(alias="chainId")
    signature: str | None = None
    permit: Permit | None = None

    @classmethod
    def create(cls, order: Order, chain_id: int, market: str, signature: str | None = None,
               permit: Permit | None = None) -> OrderFile:
        """The file for `order` on `market`."""
        return cls(order=order, typed_data=order.typed_data(chain_id, market),
                   digest="0x" + order.digest(chain_id, market).hex(), market=_checksum(market), chain_id=chain_id,
                   signature=signature, permit=permit)

    def to_json(self) -> str:
        """The file's text (camelCase keys where wallets expect them)."""
        data: dict[str, Any] = {"order": self.order.to_json(), "typedData": self.typed_data, "digest": self.digest,
                                "market": self.market, "chainId": self.chain_id}
        if self.signature is not None:
            data["signature"] = self.signature
        if self.permit is not None:
            data["permit"] = {k: (str(v) if isinstance(v, int) and k != "v" else v)
                              for k, v in self.permit.model_dump().items()}
        return json.dumps(data, indent=2) + "\n"

    def check(self, source: str) -> None:
        """Raise unless the digest and typed data still describe the order (no half-edited file is signed or taken)."""
        check_order_file(self, source, "`fabrica job order`")

    @classmethod
    def read(cls, path: Path) -> OrderFile:
        """Load and check an order file; errors name the file and what is wrong."""
        file = read_model_file(cls, path, "the JSON `fabrica job order --out` wrote")
        file.check(f"order file {path}")
        return file


def check_order_file(file: Any, source: str, writer: str) -> None:
    """Raise unless an order file's digest and typed data still describe its order; `writer` names the command
    that writes such files."""
    if file.digest.lower() != "0x" + file.order.digest(file.chain_id, file.market).hex():
        raise FabricaValueError(f"{source}: its digest does not match its order (was the file edited?); "
                                f"write the order again with {writer}")
    if file.typed_data != file.order.typed_data(file.chain_id, file.market):
        raise FabricaValueError(f"{source}: its typedData does not match its order (was the file edited?); "
                                f"write the order again with {writer}")


def read_model_file(model: Any, path: Path, expected: str) -> Any:
    """Validate the JSON file at `path` as pydantic `model`; errors name the file, the field and `expected`."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise FabricaValueError(f"order file {path}: {what}; pass {expected}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FabricaValueError(f"order file {path} is not JSON ({exc.__class__.__name__}); pass {expected}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FabricaValueError(f"order file {path}: field {where or '(top)'}: "
                                f"{str(first.get('msg', 'invalid')).removeprefix('Value error, ')}") from None


__all__ = ["DOMAIN_NAME", "DOMAIN_VERSION", "Order", "OrderFile", "Permit", "domain_separator", "hash_struct",
           "order_fields", "order_type_string", "struct_fields", "parse_signature", "permit_typed_data", "recover_signer"]
