"""The subnet chain port over the bittensor 11 SDK: one adapter, two substrates.

:class:`BittensorChain` implements :class:`~fabrica.protocol.subnet.port.SubnetChain` with
``bittensor.Client``. Against finney, test or a real subtensor (``ws://``) the client uses the SDK's
own ``RpcSubstrate``; against the embedded local stand-in (``fabrica subnet localnet``) it gets
``substrate=LocalnetSubstrate(...)``, the SDK's documented injection seam. Either way every write
goes through the SDK's intent executor (``ServeAxon``, ``SetWeights`` — which itself switches to a
timelocked commit when the subnet runs commit-reveal — and the raw ``Commitments.set_commitment``
call), and every read through its typed metagraph and hyperparameter reads.

This module is the edge where bittensor errors become Fabrica's: a failed extrinsic or a refused
preflight raises :class:`SubnetChainError` with the chain's message, bad input
:class:`SubnetValueError`, and an unreachable endpoint :class:`SubnetConnectionError` after one
reconnect. Every call runs under a timeout.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlparse

import bittensor
from bittensor.intents.serving import ServeAxon
from bittensor.intents.staking import AddStake
from bittensor.intents.weights import SetWeights
from bittensor.result import (
    BittensorError,
    ChainError,
    ConnectionNotReady,
    ExtrinsicResult,
    PolicyError,
    RpcConnectionError,
)
from bittensor.signing import public_view

from .port import SubnetChainError, SubnetConnectionError, SubnetMetagraph, SubnetNeuron, SubnetValueError

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
LOCALNET_URL_ENV = "FABRICA_SUBNET_LOCALNET_URL"
DEFAULT_LOCALNET_URL = "http://127.0.0.1:9944"
LOCALNET_NAMES = ("local", "localnet")
RAO_PER_UNIT = 1e9  # rao per TAO, and per alpha of a subnet
MAX_RAW_FIELD = 128  # the Commitments pallet's largest Raw variant
MAX_COMMITMENT_FIELDS = 3  # the Commitments pallet's MaxFields

# Connection-class failures: the request may never have reached the chain, so one reconnect is worth it.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (RpcConnectionError, ConnectionNotReady, ConnectionError)


def is_localnet(network: str) -> bool:
    """Whether ``network`` names the embedded stand-in (``local``/``localnet`` or an ``http(s)://`` URL)."""
    return network in LOCALNET_NAMES or network.startswith(("http://", "https://"))


def localnet_url(network: str) -> str:
    """The stand-in URL ``network`` names (``local``/``localnet`` -> ``$FABRICA_SUBNET_LOCALNET_URL`` or :9944)."""
    if network in LOCALNET_NAMES:
        return os.environ.get(LOCALNET_URL_ENV) or DEFAULT_LOCALNET_URL
    return network.rstrip("/")


def resolve_wallet(wallet: Any, *, wallet_path: str | None = None) -> Any:
    """A bittensor ``WalletLike`` from a wallet, a signer, ``dev:NAME`` / ``//Name`` (dev keys) or ``cold[/hot]``."""
    if not isinstance(wallet, str):
        return wallet
    from .localnet.devkeys import dev_wallet

    if wallet.startswith("dev:"):
        return dev_wallet(wallet[4:])
    if wallet.startswith("//"):
        return dev_wallet(wallet)
    try:
        return bittensor.Wallet(wallet, path=wallet_path) if wallet_path else bittensor.Wallet(wallet)
    except ValueError as exc:
        raise SubnetValueError(f"wallet {wallet!r}: {exc}") from None


def _hotkey_address(wallet: Any) -> str:
    try:
        return str(public_view(wallet, "hotkey").ss58_address)
    except FileNotFoundError as exc:
        raise SubnetValueError(f"the wallet has no hotkey file: {exc}") from None
    except Exception as exc:  # a keyfile that cannot be read or decoded
        raise SubnetValueError(f"cannot read the wallet's hotkey: {exc}") from None


class BittensorChain:
    """``SubnetChain`` over one long-lived ``bittensor.Client``, signing with ``wallet``'s hotkey.

    ``client_factory`` builds a fresh, unconnected ``bittensor.Client``; it is called again to
    reconnect after a connection failure. ``timeout`` bounds every call (connect included).
    """

    def __init__(
        self,
        client_factory: Callable[[], bittensor.Client],
        wallet: Any,
        *,
        network: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ):
        if timeout <= 0:
            raise SubnetValueError(f"timeout must be positive, got {timeout}")
        self._factory = client_factory
        self.wallet = wallet
        self.network = network
        self.timeout = float(timeout)
        self._client: bittensor.Client | None = None
        self._lock = asyncio.Lock()
        self._hotkey = _hotkey_address(wallet)

    # ------------------------------------------------------------------ connection

    @property
    def hotkey(self) -> str:
        return self._hotkey

    async def _connected(self) -> bittensor.Client:
        async with self._lock:
            if self._client is None:
                client = self._factory()
                try:
                    await asyncio.wait_for(client.connect(), self.timeout)
                except BaseException:
                    await self._quiet_close(client)
                    raise
                self._client = client
            return self._client

    @staticmethod
    async def _quiet_close(client: bittensor.Client) -> None:
        try:
            await asyncio.wait_for(client.close(), 5.0)
        except Exception:
            pass

    async def _drop(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await self._quiet_close(client)

    async def _run(self, what: str, op: Callable[[bittensor.Client], Awaitable[T]], *, write: bool = False) -> T:
        """Run ``op`` on the connected client under the timeout, reconnecting once on a connection error."""
        for attempt in (1, 2):
            try:
                client = await self._connected()
                return await asyncio.wait_for(op(client), self.timeout)
            except TimeoutError:
                await self._drop()
                # A write that timed out may have landed; resubmitting could apply it twice.
                if attempt == 1 and not write:
                    continue
                raise SubnetConnectionError(
                    f"{what}: the subnet chain ({self.network}) did not answer within {self.timeout:g}s"
                ) from None
            except _CONNECTION_ERRORS as exc:
                await self._drop()
                if attempt == 1:
                    continue
                raise SubnetConnectionError(f"{what}: cannot reach the subnet chain ({self.network}): {exc}") from exc
            except PolicyError as exc:
                raise SubnetChainError(f"{what}: refused before signing: {exc}") from exc
            except ChainError as exc:
                raise SubnetChainError(f"{what}: {exc.message}") from exc
            except BittensorError as exc:  # client-side validation (weights, amounts, addresses)
                raise SubnetValueError(f"{what}: {exc}") from exc
            except ValueError as exc:
                raise SubnetValueError(f"{what}: {exc}") from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _check(what: str, result: ExtrinsicResult) -> ExtrinsicResult:
        if not result.success:
            raise SubnetChainError(f"{what} failed on chain: {result.message}")
        return result

    async def close(self) -> None:
        await self._drop()

    async def __aenter__(self) -> BittensorChain:
        await self._connected()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ reads

    async def block(self) -> int:
        return int(await self._run("block", lambda c: c.block()))

    async def metagraph(self, netuid: int) -> SubnetMetagraph:
        async def fetch(client: bittensor.Client) -> tuple[Any, int] | None:
            snap = await client.at()
            graph = await snap.subnets.metagraph(netuid)
            if graph is None:
                return None
            rate_limit = await snap.hyperparameters.weights_rate_limit(netuid)
            return graph, int(rate_limit)

        fetched = await self._run(f"metagraph of subnet {netuid}", fetch)
        if fetched is None:
            raise SubnetValueError(f"subnet {netuid} does not exist on {self.network}")
        graph, rate_limit = fetched
        neurons = tuple(
            SubnetNeuron(
                uid=n.uid,
                hotkey=n.hotkey,
                coldkey=n.coldkey,
                stake=n.total_stake.rao / RAO_PER_UNIT,
                validator_permit=bool(n.validator_permit),
                active=bool(n.active),
                axon=n.axon,
                last_update=int(n.last_update),
                block_at_registration=int(n.block_at_registration),
                incentive=float(n.incentive),
                dividends=float(n.dividends),
                consensus=float(n.consensus),
                trust=float(n.trust),
                emission=n.emission.rao / RAO_PER_UNIT,
                commitment=n.commitment.value if n.commitment is not None else None,
            )
            for n in graph.neurons
        )
        return SubnetMetagraph(
            netuid=graph.netuid,
            block=graph.block,
            tempo=graph.tempo,
            neurons=neurons,
            weights_rate_limit=rate_limit,
        )

    # ------------------------------------------------------------------ writes (hotkey-signed)

    async def serve(self, netuid: int, ip: str, port: int) -> None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise SubnetValueError(f"serve: ip {ip!r} is not an IPv4 or IPv6 address") from None
        if address.is_unspecified:
            raise SubnetValueError(f"serve: ip {ip} is unspecified; advertise the address validators can reach")
        if not 0 < int(port) < 65536:
            raise SubnetValueError(f"serve: port must be in 1..65535, got {port}")
        intent = ServeAxon(netuid=int(netuid), ip=str(address), port=int(port))
        what = f"serve axon {ip}:{port} on subnet {netuid}"
        self._check(what, await self._run(what, lambda c: c.execute(intent, self.wallet), write=True))

    async def set_weights(self, netuid: int, uids: Sequence[int], weights: Sequence[float]) -> None:
        uids, weights = [int(u) for u in uids], [float(w) for w in weights]
        if len(uids) != len(weights):
            raise SubnetValueError(f"set_weights: {len(uids)} uids but {len(weights)} weights")
        if not uids:
            raise SubnetValueError("set_weights: no uids to weight")
        what = f"set weights on subnet {netuid}"

        async def submit(client: bittensor.Client) -> ExtrinsicResult:
            # SetWeights preflights registration and the rate limit, clips to max_weight_limit,
            # quantises to u16, and commits timelocked when the subnet runs commit-reveal.
            return await client.execute(SetWeights(netuid=int(netuid), uids=uids, weights=weights), self.wallet)

        self._check(what, await self._run(what, submit, write=True))

    async def commit(self, netuid: int, data: str) -> None:
        raw = data.encode("utf-8")
        chunks = [raw[i : i + MAX_RAW_FIELD] for i in range(0, len(raw), MAX_RAW_FIELD)] or [b""]
        if len(chunks) > MAX_COMMITMENT_FIELDS:
            raise SubnetValueError(
                f"commit: {len(raw)} bytes do not fit a commitment "
                f"(at most {MAX_COMMITMENT_FIELDS} fields of {MAX_RAW_FIELD} bytes)"
            )
        info = {"fields": [{f"Raw{len(chunk)}": chunk} for chunk in chunks]}
        call = bittensor.calls.Commitments.set_commitment(netuid=int(netuid), info=info)
        what = f"commit on subnet {netuid}"
        self._check(what, await self._run(what, lambda c: c.submit_call(call, self.wallet, signer="hotkey"), write=True))

    # ------------------------------------------------------------------ coldkey-signed helpers (CLI, dev)

    async def register(self, netuid: int) -> int:
        """Register this wallet's hotkey on ``netuid`` paying the burn from its coldkey; the uid it got.

        Submitted as the plain ``burned_register`` call: the SDK's ``BurnedRegister`` intent insists
        on MEV-shielded submission, which the local stand-in does not run.
        """
        call = bittensor.calls.SubtensorModule.burned_register(netuid=int(netuid), hotkey=self.hotkey)
        what = f"register {self.hotkey} on subnet {netuid}"
        self._check(what, await self._run(what, lambda c: c.submit_call(call, self.wallet, signer="coldkey"), write=True))
        graph = await self.metagraph(netuid)
        neuron = graph.by_hotkey(self.hotkey)
        if neuron is None:
            raise SubnetChainError(f"{what}: the extrinsic succeeded but the hotkey is not in the metagraph")
        return neuron.uid

    async def add_stake(self, netuid: int, amount_tao: float, hotkey: str | None = None) -> None:
        """Stake ``amount_tao`` from this wallet's coldkey onto ``hotkey`` (default: its own hotkey)."""
        if not amount_tao > 0:
            raise SubnetValueError(f"add_stake: amount must be positive, got {amount_tao}")
        target = hotkey or self.hotkey
        intent = AddStake(hotkey_ss58=target, netuid=int(netuid), amount_tao=float(amount_tao))
        what = f"stake {amount_tao} TAO on {target} in subnet {netuid}"
        self._check(what, await self._run(what, lambda c: c.execute(intent, self.wallet), write=True))


def _localnet_client_factory(url: str, timeout: float) -> Callable[[], bittensor.Client]:
    from .localnet.substrate import LocalnetSubstrate

    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018  (raises on a port out of range or a broken [IPv6] host)
    except ValueError as exc:
        raise SubnetValueError(f"network {url!r}: {exc}; a local stand-in URL looks like http://127.0.0.1:9944") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SubnetValueError(f"network {url!r}: a local stand-in URL looks like http://127.0.0.1:9944")
    # The label only names the connection (token-symbol cache, explorer links); the substrate does the work.
    label = f"ws://{parsed.hostname}:{parsed.port or 80}/fabrica-localnet"
    return lambda: bittensor.Client(label, substrate=LocalnetSubstrate.http(url, timeout=timeout))


def open_chain(network: str, wallet: Any, *, timeout: float = DEFAULT_TIMEOUT, wallet_path: str | None = None) -> BittensorChain:
    """The subnet chain port for ``network``, signing with ``wallet``'s hotkey (connects on first use).

    ``network``: ``local``/``localnet`` or ``http://HOST:PORT`` select the embedded stand-in
    (``fabrica subnet localnet``; ``local`` means ``$FABRICA_SUBNET_LOCALNET_URL`` or
    http://127.0.0.1:9944); ``finney``, ``test``, ``archive`` or a ``ws://``/``wss://`` URL select a
    real subtensor through the SDK's RPC substrate. ``wallet``: a ``bittensor.Wallet``, any
    wallet-shaped object or hotkey signer, ``"cold/hot"`` (keyfiles under ``wallet_path``), or
    ``"dev:alice"`` / ``"//Alice"`` for the stand-in's dev keys.
    """
    network = (network or "").strip()
    if not network:
        raise SubnetValueError("network is empty: pass local, finney, test, a ws:// URL or a localnet http:// URL")
    signer = resolve_wallet(wallet, wallet_path=wallet_path)
    if is_localnet(network):
        url = localnet_url(network)
        return BittensorChain(_localnet_client_factory(url, timeout), signer, network=url, timeout=timeout)
    try:
        bittensor.Client(network)  # validates the name / URL without connecting
    except ValueError as exc:
        raise SubnetValueError(f"network {network!r}: {exc} (or local / http://HOST:PORT for the local stand-in)") from None
    return BittensorChain(lambda: bittensor.Client(network), signer, network=network, timeout=timeout)
