"""Batched `eth_call`s of the deployment's view functions at one block, encoded from the generated ABIs.

The verifier asks the contracts what the read model claims (job commitments, balances, stakes, disputes…);
hundreds of calls go out as a few JSON-RPC batches, each pinned to the block the index stands at.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from fabrica.protocol.artifacts import abi, canonical_type
from fabrica.protocol.deployment import Deployment

from .errors import IndexerError
from .rpc import Rpc

BATCH = 256  # calls per JSON-RPC batch: small enough for any node's batch limit



class Call(NamedTuple):
    """A view call: `function` of `contract`'s ABI, sent to that contract (or to address `to`, e.g. an ERC-20)."""

    contract: str
    function: str
    args: Sequence[Any] = ()
    to: str | None = None


class _Function:
    """One view function: its selector and its argument and result types."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.inputs = [canonical_type(i) for i in entry["inputs"]]
        self.outputs = [canonical_type(o) for o in entry["outputs"]]
        self.selector = keccak(text=f"{entry['name']}({','.join(self.inputs)})")[:4]

    def encode(self, args: Sequence[Any]) -> str:
        return "0x" + (self.selector + abi_encode(self.inputs, list(args))).hex()

    def decode(self, result: str) -> Any:
        values = abi_decode(self.outputs, bytes.fromhex(result[2:]))
        return values[0] if len(values) == 1 else values


class ChainView:
    """Reads view functions of one deployment's contracts at block `block`."""

    def __init__(self, rpc: Rpc, deployment: Deployment, block: int | str) -> None:
        self.rpc = rpc
        self.deployment = deployment
        self.block = hex(block) if isinstance(block, int) else block
        self._functions: dict[tuple[str, str, int], _Function] = {}

    def _function(self, contract: str, name: str, arity: int) -> _Function:
        """The view `name` of `contract`; overloads are told apart by their number of arguments."""
        key = (contract, name, arity)
        if key not in self._functions:
            found = [e for e in abi(contract) if e.get("type") == "function" and e["name"] == name]
            if len(found) > 1:
                found = [e for e in found if len(e["inputs"]) == arity]
            if len(found) != 1:
                raise IndexerError(f"{contract} has {len(found)} functions named {name} taking {arity} arguments; "
                                   "the verifier needs one")
            self._functions[key] = _Function(found[0])
        return self._functions[key]

    def call(self, calls: Sequence[Call]) -> list[Any]:
        """The decoded results of `calls`, in order (sent in batches of BATCH)."""
        out: list[Any] = []
        for i in range(0, len(calls), BATCH):
            chunk = calls[i:i + BATCH]
            fns = [self._function(c.contract, c.function, len(c.args)) for c in chunk]
            requests = [("eth_call", [{"to": c.to or self.deployment.address(c.contract), "data": fn.encode(c.args)},
                                      self.block]) for fn, c in zip(fns, chunk)]
            out += [fn.decode(r) for fn, r in zip(fns, self.rpc.batch(requests))]
        return out
