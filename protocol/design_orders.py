"""Signed design-market orders (EIP-712 `Order` of DesignMarket): listings and offers for designs (ERC-721)
and fabrication licences (ERC-1155), signed off chain and filled in one transaction.

`DesignOrder` mirrors the Solidity struct `IDesignMarket.Order` (field names in snake_case, checked against the
generated ABI's `orderHash` input). `DesignOrder.typed_data` is the exact `eth_signTypedData_v4` payload a wallet
signs; `DesignOrder.digest` equals the market's `orderHash`. `DesignOrderFile` is the JSON document
`fabrica design list` / `offer` write and `fabrica design buy` / `sell` read.
"""
from __future__ import annotations

import enum
import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .orders import (DOMAIN_TYPE, _checksum, _snake, check_order_file, domain_separator, hash_struct,
                     read_model_file, struct_fields)

DOMAIN_NAME = "Fabrica DesignMarket"  # DesignMarket's EIP712 constructor arguments
DOMAIN_VERSION = "1"
ZERO_ADDRESS = "0x" + "00" * 20

_UINT8, _UINT64, _UINT256 = ((1 << b) - 1 for b in (8, 64, 256))


class Side(enum.IntEnum):
    """Who signed: a seller listing what it holds, or a buyer offering to pay."""

    LISTING = 0
    OFFER = 1


class Asset(enum.IntEnum):
    """What is traded: a design (ERC-721, one unit) or fabrication licences of a design (ERC-1155 prints)."""

    DESIGN = 0
    LICENCE = 1


class Scope(enum.IntEnum):
    """Which token an order covers: the one `token_id`, or (offers) any design of `creator`."""

    TOKEN = 0
    CREATOR = 1


@cache
def design_order_fields() -> tuple[tuple[str, str], ...]:
    """The DesignMarket Order struct's (name, type) pairs in Solidity order, from the generated ABI."""
    fields = struct_fields("DesignMarket", "orderHash")
    if [_snake(n) for n, _ in fields] != list(DesignOrder.model_fields):
        raise RuntimeError(f"DesignMarket Order struct in the ABI changed: {[n for n, _ in fields]}; update "
                           "fabrica.protocol.design_orders")
    return fields


def design_order_type_string() -> str:
    """`Order(address maker,…,uint64 counter)`: what the market's ORDER_TYPEHASH hashes."""
    return "Order(" + ",".join(f"{t} {n}" for n, t in design_order_fields()) + ")"


class DesignOrder(BaseModel):
    """A listing or an offer on the design market; integers may be given as decimal strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    maker: str
    side: Annotated[int, Field(ge=0, le=1)]
    asset: Annotated[int, Field(ge=0, le=1)]
    scope: Annotated[int, Field(ge=0, le=1)] = 0
    token_id: Annotated[int, Field(ge=0, le=_UINT256)]  # the design's id (0 with scope CREATOR)
    creator: str = ZERO_ADDRESS  # with scope CREATOR: any design this account created
    currency: str  # allowlisted ERC-20 the price is paid in
    price: Annotated[int, Field(ge=1, le=_UINT256)]  # per unit, in the currency's base units
    amount: Annotated[int, Field(ge=1, le=_UINT256)]  # units: 1 for a design, prints for licences
    expiry: Annotated[int, Field(ge=0, le=_UINT64)]  # last second the order can be filled
    nonce: Annotated[int, Field(ge=0, le=_UINT64)]
    counter: Annotated[int, Field(ge=0, le=_UINT64)]

    @field_validator("maker", "creator", "currency")
    @classmethod
    def _address(cls, v: str) -> str:
        return _checksum(v)

    @property
    def kind(self) -> str:
        """'listing' or 'offer' of a 'design' or 'licence', in words."""
        return f"{Side(self.side).name.lower()} of {'a design' if self.asset == Asset.DESIGN else 'licences'}"

    def values(self) -> dict[str, Any]:
        """The struct's values by Solidity field name."""
        return {name: getattr(self, _snake(name)) for name, _ in design_order_fields()}

    def to_abi(self) -> tuple:
        """The struct as the tuple web3 encodes."""
        return tuple(self.values().values())

    def message(self) -> dict[str, Any]:
        """The typed-data message: integers as decimal strings (safe for JavaScript), addresses checksummed."""
        return {name: str(value) if isinstance(value, int) else value for name, value in self.values().items()}

    def typed_data(self, chain_id: int, market: str) -> dict[str, Any]:
        """The complete `eth_signTypedData_v4` payload for this order on `market` (chain `chain_id`)."""
        return {
            "types": {"EIP712Domain": DOMAIN_TYPE,
                      "Order": [{"name": n, "type": t} for n, t in design_order_fields()]},
            "primaryType": "Order",
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": int(chain_id),
                       "verifyingContract": _checksum(market)},
            "message": self.message(),
        }

    def struct_hash(self) -> bytes:
        """EIP-712 hashStruct(order)."""
        return hash_struct(design_order_type_string(), design_order_fields(), list(self.values().values()))

    def digest(self, chain_id: int, market: str) -> bytes:
        """The 32-byte EIP-712 digest the maker signs (equals the market's `orderHash(order)`)."""
        from eth_utils import keccak

        return keccak(b"\x19\x01" + domain_separator(chain_id, market, DOMAIN_NAME, DOMAIN_VERSION)
                      + self.struct_hash())

    def to_json(self) -> dict[str, str]:
        """The order as JSON: snake_case names, integers as decimal strings."""
        return {k: v if isinstance(v, str) else str(v) for k, v in self.model_dump().items()}


def recover_maker(order: DesignOrder, chain_id: int, market: str, signature: bytes) -> str | None:
    """The address that signed the order's typed data with `signature`, or None when it recovers to none."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        return Account.recover_message(encode_typed_data(full_message=order.typed_data(chain_id, market)),
                                       signature=signature)
    except Exception:  # a malformed signature (s too high, r zero…) signs for no one
        return None


class DesignOrderFile(BaseModel):
    """The JSON `fabrica design list` / `offer` write: the order, its typed data and digest, where it is valid,
    and once signed its signature."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    order: DesignOrder
    typed_data: dict[str, Any] = Field(alias="typedData")
    digest: str
    market: str
    chain_id: int = Field(alias="chainId")
    signature: str | None = None

    @classmethod
    def create(cls, order: DesignOrder, chain_id: int, market: str, signature: str | None = None) -> DesignOrderFile:
        """The file for `order` on `market`."""
        return cls(order=order, typed_data=order.typed_data(chain_id, market),
                   digest="0x" + order.digest(chain_id, market).hex(), market=_checksum(market), chain_id=chain_id,
                   signature=signature)

    def with_signature(self, signature: str) -> DesignOrderFile:
        """The same file carrying `signature`."""
        return self.model_copy(update={"signature": signature})

    def to_json(self) -> str:
        """The file's text (camelCase keys where wallets expect them)."""
        data: dict[str, Any] = {"order": self.order.to_json(), "typedData": self.typed_data, "digest": self.digest,
                                "market": self.market, "chainId": self.chain_id}
        if self.signature is not None:
            data["signature"] = self.signature
        return json.dumps(data, indent=2) + "\n"

    def check(self, source: str) -> None:
        """Raise unless the digest and typed data still describe the order (no half-edited file is filled)."""
        check_order_file(self, source, "`fabrica design list` or `offer`")

    @classmethod
    def read(cls, path: Path) -> DesignOrderFile:
        """Load and check a listing or offer file; errors name the file and what is wrong."""
        file = read_model_file(cls, path, "the JSON `fabrica design list` (or `offer`) wrote")
        file.check(f"order file {path}")
        return file


__all__ = ["DOMAIN_NAME", "DOMAIN_VERSION", "Asset", "DesignOrder", "DesignOrderFile", "Scope", "Side",
           "design_order_fields", "design_order_type_string", "recover_maker"]
