"""The narrow subnet chain port that miners and validators are written against.

Two adapters implement it, both through the bittensor 11 SDK: the real chain
(``bittensor.Client`` against finney, test or a local subtensor) and the
embedded local stand-in (the same ``bittensor.Client`` with an in-process
``substrate=``), so nothing above this module knows which one it talks to.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from fabrica.protocol.errors import FabricaConnectionError, FabricaError, FabricaValueError


class SubnetChainError(FabricaError):
    """A subnet chain read or write failed; the message says which and why."""


class SubnetConnectionError(SubnetChainError, FabricaConnectionError):
    """The subnet chain endpoint could not be reached (after reconnect attempts)."""


class SubnetValueError(SubnetChainError, FabricaValueError):
    """A subnet chain call got bad input (unknown uid, weights of the wrong length...)."""


@dataclass(frozen=True)
class SubnetNeuron:
    """One neuron of a subnet as the miners and validators need it."""

    uid: int
    hotkey: str  # ss58
    coldkey: str  # ss58
    stake: float  # total stake weight in the subnet's units (alpha + weighted tao)
    validator_permit: bool
    active: bool
    axon: str | None  # "ip:port" the neuron serves, None when it serves nothing
    last_update: int  # block of its last weights
    block_at_registration: int
    incentive: float = 0.0
    dividends: float = 0.0
    consensus: float = 0.0
    trust: float = 0.0
    emission: float = 0.0  # last epoch's emission in the subnet's units
    commitment: str | None = None  # plaintext commitment (a miner's capabilities)


@dataclass(frozen=True)
class SubnetMetagraph:
    """A subnet's neurons at one block, ordered by uid."""

    netuid: int
    block: int
    tempo: int
    neurons: tuple[SubnetNeuron, ...] = field(default_factory=tuple)
    weights_rate_limit: int = 0  # blocks between two set_weights of one hotkey

    def by_hotkey(self, hotkey: str) -> SubnetNeuron | None:
        """The neuron registered with ``hotkey``, or None."""
        for neuron in self.neurons:
            if neuron.hotkey == hotkey:
                return neuron
        return None

    def by_uid(self, uid: int) -> SubnetNeuron:
        """The neuron with ``uid``; SubnetValueError when there is none."""
        if not 0 <= uid < len(self.neurons):
            raise SubnetValueError(f"uid {uid} is not registered on subnet {self.netuid} ({len(self.neurons)} neurons)")
        return self.neurons[uid]

    @property
    def hotkeys(self) -> list[str]:
        """Hotkeys in uid order."""
        return [n.hotkey for n in self.neurons]


@runtime_checkable
class SubnetChain(Protocol):
    """What miners and validators do with the subnet chain; the signer is the adapter's hotkey."""

    @property
    def hotkey(self) -> str:
        """ss58 address of the hotkey that signs this port's writes."""
        ...

    async def block(self) -> int:
        """Current block number."""
        ...

    async def metagraph(self, netuid: int) -> SubnetMetagraph:
        """The subnet's neurons with stakes, permits, axons, scores and commitments."""
        ...

    async def serve(self, netuid: int, ip: str, port: int) -> None:
        """Advertise this hotkey's HTTP endpoint (ServeAxon)."""
        ...

    async def set_weights(self, netuid: int, uids: Sequence[int], weights: Sequence[float]) -> None:
        """Set this validator hotkey's weights over ``uids`` (normalised by the SDK)."""
        ...

    async def commit(self, netuid: int, data: str) -> None:
        """Publish a plaintext commitment for this hotkey (a miner's capabilities)."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...
