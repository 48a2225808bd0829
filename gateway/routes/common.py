"""Helpers every router shares: the worker state, JSON conversion of read-model views, addresses, paging."""
from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import Request

from ..errors import BadRequest

JS_SAFE = 2**53 - 1


def _u256_fields() -> frozenset[str]:
    """Names of every uint256 column of the read model: their values are sent as decimal strings."""
    from fabrica.indexer import schema
    from fabrica.indexer.schema import U256

    return frozenset(c.name for t in schema.metadata.tables.values() for c in t.columns if isinstance(c.type, U256))


U256_FIELDS = _u256_fields() | {"pot", "free", "expected_fee", "votes", "balance", "total"}


def jsonable(value: Any, key: str | None = None) -> Any:
    """A read-model view as JSON: uint256 amounts and ids (and any integer beyond 2^53) as decimal strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, key) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value) if (key in U256_FIELDS or abs(value) > JS_SAFE) else value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def gw_of(request: Request) -> Any:
    return request.app.state.gw


def address(value: str, name: str = "address") -> str:
    """A checksummed address, or 400 naming the parameter."""
    from eth_utils import is_address, to_checksum_address

    if not isinstance(value, str) or not is_address(value):
        raise BadRequest(f"{name} {value!r} is not an Ethereum address (0x and 40 hex digits)")
    return to_checksum_address(value)


def lower_eq(column: sa.ColumnElement, value: str) -> sa.ColumnElement:
    return sa.func.lower(column) == value.lower()


def cursor_block(request: Request) -> int | None:
    """The indexed block the answer reflects."""
    status = gw_of(request).read.status()
    return status.block_number if status else None
