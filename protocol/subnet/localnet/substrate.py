"""A bittensor ``Substrate`` backed by the local stand-in, so ``bittensor.Client(network, substrate=...)`` runs on it.

The SDK documents ``Substrate`` (``bittensor/_substrate.py``) as its chain-access seam: the executor,
intents, reads and namespaces are written against it, never against a websocket. This class is the
stand-in's implementation of that seam. Every SDK code path above it — intent building and
preflight, weight normalisation and u16 quantisation, the executor's plan/execute choke point, the
typed metagraph decode, the hyperparameter reads — runs unchanged; only the bottom layer differs:

* reads (``query``, ``query_map``, ``runtime_call``, ``constant`` ...) are forwarded to the stand-in,
  which answers with the decoded shapes a subtensor's transport returns, and raises a clear error
  naming any storage item / runtime API / constant / call it does not model;
* ``compose`` keeps a call as ``(module, function, params)`` (the stand-in has no SCALE metadata);
* ``submit`` signs a canonical JSON payload (call, signer, nonce, era, genesis hash) with the keypair
  the executor resolved — the same ``Signer.sign`` seam the RPC transport uses — and the stand-in
  verifies that sr25519/ed25519 signature against the signer's ss58 address before applying it.

Two transports carry the requests: :class:`HttpTransport` to a ``fabrica subnet localnet`` server
on loopback (several miner and validator processes share one chain), and
:class:`InProcessTransport` to a :class:`~.state.LocalnetState` in this process.
"""
from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from bittensor.balance import Balance
from bittensor.result import ChainError, ConnectionNotReady, ExtrinsicResult, RpcConnectionError

from .state import canonical_json, signing_payload

DEFAULT_ERA_PERIOD = 128

# The calls the stand-in dispatches (see LocalnetState.dispatch); compose refuses anything else.
SUPPORTED_CALLS: frozenset[tuple[str, str]] = frozenset(
    {
        ("SubtensorModule", "burned_register"),
        ("SubtensorModule", "serve_axon"),
        ("SubtensorModule", "set_mechanism_weights"),
        ("SubtensorModule", "set_weights"),
        ("SubtensorModule", "add_stake"),
        ("SubtensorModule", "add_stake_limit"),
        ("SubtensorModule", "remove_stake"),
        ("Commitments", "set_commitment"),
    }
)


class LocalnetUnsupported(ChainError):
    """The stand-in does not model what the SDK asked for (a storage item, runtime API, constant, call or method)."""

    def __init__(self, message: str):
        super().__init__(message, "LocalnetUnsupported")


def _plain(value: Any) -> Any:
    """JSON-native form of a call parameter: bytes become 0x-hex, tuples lists, composed calls dicts."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, LocalCall):
        return value.as_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "rao"):
        return int(value.rao)
    raise ChainError(f"cannot encode call parameter {value!r} ({type(value).__name__}) for the local stand-in")


@dataclass(frozen=True)
class LocalCall:
    """A composed call on the stand-in: what ``compose`` returns and ``submit`` signs."""

    module: str
    function: str
    params: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "function": self.function, "params": self.params}

    @property
    def data(self) -> bytes:
        """The call's canonical bytes (the stand-in's analogue of SCALE call data)."""
        return canonical_json(self.as_dict())

    @property
    def value(self) -> dict[str, Any]:
        """The decoded-call shape (``call_module`` / ``call_function`` / ``call_args``) SDK helpers inspect."""
        return {
            "call_module": self.module,
            "call_function": self.function,
            "call_args": [{"name": k, "value": v} for k, v in self.params.items()],
        }


class Transport(Protocol):
    async def request(self, method: str, params: dict[str, Any]) -> Any: ...

    async def close(self) -> None: ...


class RemoteError(Exception):
    """An error answer from the stand-in: ``kind`` is unsupported, chain, invalid_transaction or bad_request."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class HttpTransport:
    """JSON over loopback HTTP to a ``fabrica subnet localnet`` server, on one keep-alive connection pool."""

    def __init__(self, url: str, *, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.url, timeout=self.timeout)
        return self._client

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        client = await self._http()
        try:
            response = await client.post("/rpc", json={"method": method, "params": params})
        except httpx.HTTPError as exc:
            raise RpcConnectionError(
                f"the Fabrica local stand-in at {self.url} is unreachable ({type(exc).__name__}: {exc}); "
                "start it with `fabrica subnet localnet`"
            ) from exc
        try:
            body = response.json()
        except json.JSONDecodeError:
            raise RpcConnectionError(
                f"{self.url} answered {response.status_code} with a non-JSON body; is it a Fabrica localnet?"
            ) from None
        if isinstance(body, dict) and "error" in body:
            err = body["error"] or {}
            raise RemoteError(str(err.get("kind", "chain")), str(err.get("message", "unknown error")))
        if response.status_code != 200 or not isinstance(body, dict) or "result" not in body:
            raise RpcConnectionError(f"{self.url} answered {response.status_code}: {str(body)[:200]}")
        return body["result"]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class InProcessTransport:
    """The same requests, answered by a state object in this process (no server, no sharing)."""

    def __init__(self, state: Any):
        from .server import handle_rpc

        self.state = state
        self._handle = handle_rpc

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        # A JSON round trip keeps the in-process answers byte-for-byte what the server would send.
        payload = json.loads(json.dumps({"method": method, "params": params}))
        answer = json.loads(json.dumps(self._handle(self.state, payload["method"], payload["params"])))
        if "error" in answer:
            raise RemoteError(answer["error"]["kind"], answer["error"]["message"])
        return answer["result"]

    async def close(self) -> None:
        return None


class LocalnetSubstrate:
    """The SDK's ``Substrate`` protocol over the local stand-in (see the module docstring)."""

    def __init__(self, transport: Transport, *, poll_interval: float | None = None):
        self.transport = transport
        self.token_symbols: dict[int, str] = {}
        self._genesis: str | None = None
        self._block_time: float | None = None
        self._poll_interval = poll_interval

    @classmethod
    def http(cls, url: str, *, timeout: float = 30.0) -> LocalnetSubstrate:
        return cls(HttpTransport(url, timeout=timeout))

    def balance(self, rao: int, netuid: int = 0) -> Balance:
        symbol = self.token_symbols.get(netuid) if netuid else None
        return Balance(int(rao), netuid, symbol)

    # Lifecycle ----------------------------------------------------------------

    async def _call(self, _method: str, **params: Any) -> Any:
        try:
            return await self.transport.request(_method, params)
        except RemoteError as exc:
            if exc.kind == "unsupported":
                raise LocalnetUnsupported(exc.message) from None
            raise ChainError(exc.message) from None

    async def connect(self) -> None:
        if self._genesis is None:
            self._genesis = await self._call("genesis_hash")

    async def close(self) -> None:
        await self.transport.close()
        self._genesis = None

    def _require_connected(self) -> str:
        if self._genesis is None:
            raise ConnectionNotReady(
                "Client connection is not open. Use `async with Client(...)` or call `await client.connect()` first."
            )
        return self._genesis

    # Reads --------------------------------------------------------------------

    async def block_hash(self, block: int | None = None) -> str:
        return await self._call("block_hash", block=block)

    async def block_number(self) -> int:
        return int(await self._call("block_number"))

    async def finalized_block_number(self) -> int:
        return int(await self._call("block_number"))  # instant finality

    async def block_time(self) -> float:
        if self._block_time is None:
            self._block_time = float(await self._call("block_time"))
        return self._block_time

    async def spec_version(self) -> int:
        return int(await self._call("spec_version"))

    async def get_block(self, block_number: int | None = None, block_hash: str | None = None) -> dict | None:
        return await self._call("get_block", block_number=block_number, block_hash=block_hash)

    async def query(self, module: str, storage_function: str, params: list | None = None,
                    block_hash: str | None = None) -> Any:
        return await self._call("query", module=module, item=storage_function, params=_plain(params or []),
                                block_hash=block_hash)

    async def map_has_entries(self, module: str, storage_function: str, params: list,
                              block_hash: str | None = None) -> bool:
        rows = await self.query_map(module, storage_function, params, block_hash)
        return bool(rows)

    async def query_map(self, module: str, storage_function: str, params: list | None = None,
                        block_hash: str | None = None) -> list[tuple[Any, Any]]:
        rows = await self._call("query_map", module=module, item=storage_function, params=_plain(params or []),
                                block_hash=block_hash)
        return [(key, value) for key, value in rows]

    async def query_batch(self, module: str, storage_function: str, param_sets: list[list],
                          block_hash: str | None = None) -> list[Any]:
        if not param_sets:
            return []
        return await self._call("query_batch", module=module, item=storage_function,
                                param_sets=_plain(param_sets), block_hash=block_hash)

    async def runtime_call(self, api: str, method: str, params: Any, block_hash: str | None = None) -> Any:
        return await self._call("runtime_call", api=api, method=method, params=_plain(params), block_hash=block_hash)

    async def constant(self, module: str, name: str) -> Any:
        return await self._call("constant", module=module, name=name)

    async def decode_scale(self, type_string: str, data: Any) -> Any:
        raise LocalnetUnsupported(
            f"the Fabrica local stand-in has no SCALE codec: decode_scale({type_string!r}) is not supported"
        )

    async def blocks(self, *, finalized: bool = False) -> AsyncIterator[dict]:
        """New block headers, by polling the head (a fraction of the block time apart)."""
        interval = self._poll_interval or min(0.5, max(0.02, await self.block_time() / 4))
        last = await self.block_number()
        while True:
            await asyncio.sleep(interval)
            head = await self.block_number()
            for number in range(last + 1, head + 1):
                yield {"header": {"number": number, "hash": await self.block_hash(number),
                                  "parentHash": await self.block_hash(number - 1)}}
            last = max(last, head)

    async def events(self, block_hash: str | None = None) -> list[dict]:
        return await self._call("events", block_hash=block_hash)

    # Calls and fees -------------------------------------------------------------

    async def compose(self, call: Any) -> LocalCall:
        if isinstance(call, LocalCall):
            return call
        module, function, params = call
        if (module, function) not in SUPPORTED_CALLS:
            raise LocalnetUnsupported(
                f"the Fabrica local stand-in does not implement call {module}.{function}; supported: "
                + ", ".join(sorted(f"{m}.{f}" for m, f in SUPPORTED_CALLS))
            )
        return LocalCall(module, function, _plain(dict(params or {})))

    async def estimate_fee(self, call: Any, keypair: Any) -> Balance:
        return Balance.from_rao(0)  # the stand-in charges no transaction fees

    async def estimate_weight(self, call: Any, keypair: Any) -> dict:
        return {"ref_time": 0, "proof_size": 0}

    async def account_next_index(self, address: str) -> int:
        return int(await self._call("account_next_index", address=address))

    # Writes ---------------------------------------------------------------------

    async def mev_next_key(self) -> bytes | None:
        return None  # no MEV shield on the stand-in: the SDK reports "NextKey not available"

    async def sign_extrinsic(self, call: Any, keypair: Any, *, nonce: int, period: int) -> tuple[bytes, str]:
        raise LocalnetUnsupported("the Fabrica local stand-in has no MEV shield: shielded submission is not supported")

    async def find_extrinsic(self, extrinsic_hash: str, block_hash: str) -> ExtrinsicResult | None:
        raise LocalnetUnsupported("the Fabrica local stand-in has no MEV shield: find_extrinsic is not supported")

    async def prepare(self, call: Any, **kwargs: Any) -> Any:
        raise LocalnetUnsupported("the Fabrica local stand-in does not support out-of-process signing (prepare)")

    async def submit_signature(self, unsigned: Any, signature: Any, **kwargs: Any) -> ExtrinsicResult:
        raise LocalnetUnsupported("the Fabrica local stand-in does not support out-of-process signing (submit_signature)")

    async def submit(
        self,
        call: Any,
        keypair: Any,
        *,
        nonce: int | None = None,
        period: int | None = DEFAULT_ERA_PERIOD,
        wait_for_inclusion: bool = True,
        wait_for_finalization: bool = True,
    ) -> ExtrinsicResult:
        """Sign ``call`` with ``keypair`` (any bittensor Signer) and have the stand-in verify and apply it."""
        genesis = self._require_connected()
        composed = await self.compose(call)
        address = keypair.ss58_address
        if nonce is None:
            nonce = await self.account_next_index(address)
        era = {"period": int(period), "current": await self.block_number()} if period else None
        unsigned = {
            "call": composed.as_dict(),
            "signer": address,
            "crypto_type": int(getattr(keypair, "crypto_type", 1)),
            "nonce": int(nonce),
            "era": era,
            "tip": 0,
        }
        signature = keypair.sign(signing_payload(genesis, unsigned))
        if inspect.isawaitable(signature):
            signature = await signature
        if isinstance(signature, str):
            signature = bytes.fromhex(signature.removeprefix("0x"))
        try:
            receipt = await self.transport.request("submit", {"extrinsic": {**unsigned, "signature": "0x" + bytes(signature).hex()}})
        except RemoteError as exc:
            if exc.kind == "invalid_transaction":
                name = exc.message.rsplit("(", 1)[-1].rstrip(")") if exc.message.endswith(")") else None
                return ExtrinsicResult(success=False, message=exc.message, error=ChainError(exc.message, name))
            if exc.kind == "unsupported":
                raise LocalnetUnsupported(exc.message) from None
            raise ChainError(exc.message) from None
        return self._result(receipt, wait_for_inclusion or wait_for_finalization)

    async def submit_signed(self, extrinsic: Any, keypair: Any, **kwargs: Any) -> ExtrinsicResult:
        raise LocalnetUnsupported("the Fabrica local stand-in does not accept pre-built SCALE extrinsics (submit_signed)")

    @staticmethod
    def _result(receipt: dict[str, Any], waited: bool) -> ExtrinsicResult:
        if not waited:
            return ExtrinsicResult(success=True, message="Submitted (not waiting).")
        extrinsic_id = f"{receipt['block']}-{int(receipt['index']):04d}"
        if receipt["success"]:
            return ExtrinsicResult(
                success=True,
                message="Success",
                block_hash=receipt["block_hash"],
                extrinsic_id=extrinsic_id,
                fee=Balance.from_rao(0),
                events=list(receipt.get("events") or []),
            )
        error = receipt.get("error") or {}
        docs = error.get("docs") or error.get("name") or "extrinsic failed"
        text = " ".join(docs) if isinstance(docs, list) else str(docs)
        name = error.get("name")
        message = f"{name}: {text}" if name and not text.startswith(str(name)) else text
        return ExtrinsicResult(
            success=False,
            message=message,
            block_hash=receipt["block_hash"],
            extrinsic_id=extrinsic_id,
            error=ChainError(message, name),
            events=list(receipt.get("events") or []),
        )

    # Multisig ---------------------------------------------------------------------

    def multisig_account(self, signatories: list[str], threshold: int) -> Any:
        raise LocalnetUnsupported("the Fabrica local stand-in does not support multisig accounts")

    async def submit_multisig(self, call: Any, keypair: Any, multisig_account: Any, **kwargs: Any) -> ExtrinsicResult:
        raise LocalnetUnsupported("the Fabrica local stand-in does not support multisig accounts")

