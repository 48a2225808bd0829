"""Fast log decoding straight from the deployment's ABIs (eth_abi on raw JSON-RPC logs, no web3 formatters).

Decoded args are JSON-ready: addresses lowercase hex, bytes as 0x-hex, tuples as dicts keyed by component
name, integers as Python ints.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak
from fabrica.protocol.artifacts import abi, canonical_type
from fabrica.protocol.deployment import Deployment


Reader = Callable[[str, int], Any]  # (hex data without 0x, offset in hex chars) -> value


def _word_reader(t: str) -> Callable[[str], Any] | None:
    """Decoder of one 32-byte word (64 hex chars) of elementary static type `t`, or None if not one."""
    if t.startswith("uint"):
        return lambda w: int(w, 16)
    if t.startswith("int"):
        bits = int(t[3:] or 256)

        def signed(w: str) -> int:
            v = int(w, 16) & ((1 << bits) - 1)
            return v - (1 << bits) if v >> (bits - 1) else v
        return signed
    if t == "address":
        return lambda w: "0x" + w[24:].lower()
    if t == "bool":
        return lambda w: int(w, 16) != 0
    if t.startswith("bytes") and t != "bytes":
        n = int(t[5:])
        return lambda w: "0x" + w[: 2 * n].lower()
    return None


def _static_reader(param: dict[str, Any]) -> tuple[int, Reader] | None:
    """(size in words, reader) for a static type (elementary or a tuple of static types), else None."""
    t = param["type"]
    if t == "tuple":
        parts = [(c["name"], _static_reader(c)) for c in param["components"]]
        if any(r is None for _n, r in parts):
            return None
        layout = []
        words = 0
        for name, r in parts:
            layout.append((name, words * 64, r[1]))  # type: ignore[index]
            words += r[0]  # type: ignore[index]
        return words, lambda d, o: {name: read(d, o + off) for name, off, read in layout}
    word = _word_reader(t)
    if word is None:
        return None
    return 1, lambda d, o: word(d[o: o + 64])


def _compile(inputs: tuple[dict[str, Any], ...]) -> Callable[[str], list[Any]] | None:
    """A fast decoder of the ABI-encoded data of `inputs` (static types, tuples of them, bytes, string)."""
    heads: list[tuple[int, Reader]] = []
    pos = 0
    for param in inputs:
        static = _static_reader(param)
        if static is not None:
            heads.append((pos, static[1]))
            pos += static[0] * 64
        elif param["type"] in ("bytes", "string"):
            as_text = param["type"] == "string"

            def dynamic(d: str, o: int, as_text: bool = as_text) -> Any:
                start = int(d[o: o + 64], 16) * 2
                length = int(d[start: start + 64], 16)
                raw = d[start + 64: start + 64 + 2 * length].lower()
                return bytes.fromhex(raw).decode("utf-8", "replace") if as_text else "0x" + raw
            heads.append((pos, dynamic))
            pos += 64
        else:
            return None  # arrays, dynamic tuples: eth_abi handles them
    return lambda d: [read(d, o) for o, read in heads]


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    indexed: tuple[tuple[str, dict[str, Any]], ...]  # (name, abi input)
    data_inputs: tuple[dict[str, Any], ...]
    data_types: tuple[str, ...]
    fast: Callable[[list[str], str], dict[str, Any]] | None = None


def _fast_event(indexed: tuple[tuple[str, dict[str, Any]], ...],
                data_inputs: tuple[dict[str, Any], ...]) -> Callable[[list[str], str], dict[str, Any]] | None:
    """A decoder of (topics, data) into args for events whose layout the word reader handles, else None."""
    readers = [(i, name, _word_reader(p["type"])) for i, (name, p) in enumerate(indexed, start=1)]
    data_fn = _compile(data_inputs)
    if data_fn is None or any(r is None for _i, _n, r in readers):
        return None
    names = [p["name"] for p in data_inputs]

    def fast(topics: list[str], data: str) -> dict[str, Any]:
        args = {name: read(topics[i][2:]) for i, name, read in readers}  # type: ignore[misc]
        if names:
            args.update(zip(names, data_fn(data[2:])))
        return args
    return fast


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


class Decoder:
    """Decodes the logs of one deployment's contracts."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.addresses = {addr.lower(): name for name, addr in deployment.contracts.items()}
        self.specs: dict[tuple[str, str], EventSpec] = {}  # (contract, topic0) -> spec
        for name in deployment.contracts:
            for ev in abi(name):
                if ev.get("type") != "event" or ev.get("anonymous"):
                    continue
                sig = f"{ev['name']}({','.join(canonical_type(i) for i in ev['inputs'])})"
                topic0 = "0x" + keccak(text=sig).hex()
                data_inputs = tuple(i for i in ev["inputs"] if not i.get("indexed"))
                indexed = tuple((i["name"], i) for i in ev["inputs"] if i.get("indexed"))
                self.specs[(name, topic0)] = EventSpec(
                    contract=name, name=ev["name"], indexed=indexed, data_inputs=data_inputs,
                    data_types=tuple(canonical_type(i) for i in data_inputs),
                    fast=_fast_event(indexed, data_inputs),
                )

    @property
    def address_list(self) -> list[str]:
        return list(self.deployment.contracts.values())

    def decode(self, log: dict[str, Any], fast: bool = True) -> tuple[str, str, dict[str, Any]] | None:
        """(contract, event name, args) of a raw JSON-RPC log, or None for a log that is not ours.

        `fast` reads the words straight from the hex (static types, static tuples, bytes, string); any other
        layout, or `fast=False`, goes through eth_abi. Both give identical values.
        """
        address = log["address"]
        contract = self.addresses.get(address) or self.addresses.get(address.lower())
        topics = log["topics"]
        if contract is None or not topics:
            return None
        spec = self.specs.get((contract, topics[0])) or self.specs.get((contract, topics[0].lower()))
        if spec is None:
            return None
        if fast and spec.fast is not None:
            return contract, spec.name, spec.fast(topics, log["data"])
        args = {}
        for (name, param), topic in zip(spec.indexed, topics[1:]):
            t = param["type"]
            if t in ("string", "bytes") or t.endswith("]") or t.startswith("tuple"):
                args[name] = topic.lower()  # dynamic indexed values are only their hash
            else:
                args[name] = _plain(abi_decode([t], bytes.fromhex(topic[2:]))[0], param)
        if spec.data_types:
            values = abi_decode(list(spec.data_types), bytes.fromhex(log["data"][2:]))
            for param, v in zip(spec.data_inputs, values):
                args[param["name"]] = _plain(v, param)
        return contract, spec.name, args
