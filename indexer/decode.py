"""Fast log decoding straight from the deployment's ABIs (eth_abi on raw JSON-RPC logs, no web3 formatters).

Decoded args are JSON-ready: addresses lowercase hex, bytes as 0x-hex, tuples as dicts keyed by component
name, integers as Python ints. Each event layout the word slicer handles gets one generated function (one
dict literal of string slices), so a log costs a dict lookup and one call.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak
from fabrica.protocol.artifacts import abi, canonical_type
from fabrica.protocol.deployment import Deployment

ArgsFn = Callable[[list[str], str], dict[str, Any]]  # (topics, data) -> args


def _signed(v: int, bits: int) -> int:
    """Two's complement of the low `bits` of `v`."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _dynamic(d: str, head: int, as_text: bool) -> Any:
    """The `bytes`/`string` whose offset word starts at hex index `head` of the 0x-prefixed data `d`."""
    start = int(d[head: head + 64], 16) * 2 + 2
    length = int(d[start: start + 64], 16)
    raw = d[start + 64: start + 64 + 2 * length].lower()
    return bytes.fromhex(raw).decode("utf-8", "replace") if as_text else "0x" + raw


def _word_expr(t: str, src: str, start: int) -> str | None:
    """Python expression reading the word of elementary static type `t` at hex index `start` of `src`."""
    word = f"{src}[{start}:{start + 64}]"
    if t.endswith("]"):  # an array (`uint256[]`, `bytes32[2]`…) is no elementary word
        return None
    if t.startswith("uint"):
        return f"int({word}, 16)"
    if t.startswith("int"):
        return f"_signed(int({word}, 16), {int(t[3:] or 256)})"
    if t == "address":
        return f'"0x" + {src}[{start + 24}:{start + 64}].lower()'
    if t == "bool":
        return f"int({word}, 16) != 0"
    if t.startswith("bytes") and t != "bytes":
        return f'"0x" + {src}[{start}:{start + 2 * int(t[5:])}].lower()'
    return None


def _static_expr(param: dict[str, Any], src: str, start: int) -> tuple[int, str] | None:
    """(size in words, expression) of a static type (elementary or a tuple of static types), else None."""
    if param["type"] == "tuple":
        items = []
        words = 0
        for c in param["components"]:
            part = _static_expr(c, src, start + 64 * words)
            if part is None:
                return None
            items.append(f"{c['name']!r}: {part[1]}")
            words += part[0]
        return words, "{" + ", ".join(items) + "}"
    expr = _word_expr(param["type"], src, start)
    return None if expr is None else (1, expr)


def _fast_event(indexed: tuple[tuple[str, dict[str, Any]], ...], data_inputs: tuple[dict[str, Any], ...]) -> ArgsFn | None:
    """A generated decoder of (topics, data) into args for layouts the word slicer handles, else None.

    Handles static elementary types, static tuples and `bytes`/`string` in the data, and elementary indexed
    values; arrays and dynamic tuples go through eth_abi. The values equal eth_abi's (a test checks each).
    """
    items = []
    for i, (name, p) in enumerate(indexed, start=1):
        expr = _word_expr(p["type"], f"t[{i}]", 2)
        if expr is None:
            return None
        items.append(f"{name!r}: {expr}")
    pos = 2  # data is 0x-prefixed
    for p in data_inputs:
        static = _static_expr(p, "d", pos)
        if static is not None:
            items.append(f"{p['name']!r}: {static[1]}")
            pos += 64 * static[0]
        elif p["type"] in ("bytes", "string"):
            items.append(f"{p['name']!r}: _dynamic(d, {pos}, {p['type'] == 'string'})")
            pos += 64
        else:
            return None
    src = "def fast(t, d):\n    return {" + ", ".join(items) + "}\n"
    scope: dict[str, Any] = {"_signed": _signed, "_dynamic": _dynamic}
    exec(compile(src, "<fabrica.indexer.decode>", "exec"), scope)  # noqa: S102 - source built from the ABI above
    return scope["fast"]


def _plain(value: Any, param: dict[str, Any]) -> Any:
    t = param["type"]
    if t.startswith("tuple"):
        if t.endswith("]"):
            inner = {**param, "type": t[: t.rindex("[")]}
            return [_plain(v, inner) for v in value]
        return {c["name"]: _plain(v, c) for c, v in zip(param["components"], value)}
    if t.endswith("]"):
        inner = {**param, "type": t[: t.rindex("[")]}
        return [_plain(v, inner) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if t == "address":
        return value.lower()
    return value


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    indexed: tuple[tuple[str, dict[str, Any]], ...]  # (name, abi input)
    data_inputs: tuple[dict[str, Any], ...]
    data_types: tuple[str, ...]
    fast: ArgsFn | None = None

    def slow(self, topics: list[str], data: str) -> dict[str, Any]:
        """The args through eth_abi (any layout)."""
        args = {}
        for (name, param), topic in zip(self.indexed, topics[1:]):
            t = param["type"]
            if t in ("string", "bytes") or t.endswith("]") or t.startswith("tuple"):
                args[name] = topic.lower()  # dynamic indexed values are only their hash
            else:
                args[name] = _plain(abi_decode([t], bytes.fromhex(topic[2:]))[0], param)
        if self.data_types:
            values = abi_decode(list(self.data_types), bytes.fromhex(data[2:]))
            for param, v in zip(self.data_inputs, values):
                args[param["name"]] = _plain(v, param)
        return args


class Decoder:
    """Decodes the logs of one deployment's contracts."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.addresses = {addr.lower(): name for name, addr in deployment.contracts.items()}
        self.specs: dict[tuple[str, str], EventSpec] = {}  # (contract, topic0) -> spec
        # (lowercase address, topic0) -> (contract, event name, args function): one lookup per log
        self.table: dict[tuple[str, str], tuple[str, str, ArgsFn]] = {}
        for name, addr in deployment.contracts.items():
            for ev in abi(name):
                if ev.get("type") != "event" or ev.get("anonymous"):
                    continue
                sig = f"{ev['name']}({','.join(canonical_type(i) for i in ev['inputs'])})"
                topic0 = "0x" + keccak(text=sig).hex()
                data_inputs = tuple(i for i in ev["inputs"] if not i.get("indexed"))
                indexed = tuple((i["name"], i) for i in ev["inputs"] if i.get("indexed"))
                spec = EventSpec(contract=name, name=ev["name"], indexed=indexed, data_inputs=data_inputs,
                                 data_types=tuple(canonical_type(i) for i in data_inputs),
                                 fast=_fast_event(indexed, data_inputs))
                self.specs[(name, topic0)] = spec
                self.table[(addr.lower(), topic0)] = (name, spec.name, spec.fast or spec.slow)

    @property
    def address_list(self) -> list[str]:
        return list(self.deployment.contracts.values())

    def lookup(self, address: str, topic0: str) -> tuple[str, str, ArgsFn] | None:
        """(contract, event name, args function) for a log's address and first topic, or None if not ours."""
        return self.table.get((address, topic0)) or self.table.get((address.lower(), topic0.lower()))

    def decode(self, log: dict[str, Any], fast: bool = True) -> tuple[str, str, dict[str, Any]] | None:
        """(contract, event name, args) of a raw JSON-RPC log, or None for a log that is not ours.

        `fast` reads the words straight from the hex (static types, static tuples, bytes, string); any other
        layout, or `fast=False`, goes through eth_abi. Both give identical values.
        """
        topics = log["topics"]
        found = self.lookup(log["address"], topics[0]) if topics else None
        if found is None:
            return None
        contract, name, fn = found
        if fast:
            return contract, name, fn(topics, log["data"])
        spec = self.specs.get((contract, topics[0])) or self.specs[(contract, topics[0].lower())]
        return contract, name, spec.slow(topics, log["data"])
