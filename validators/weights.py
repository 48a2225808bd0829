"""From score EMAs to a weight vector, and when the chain lets this validator set it.

Weights are the EMAs of the current (uid, hotkey) pairs normalised to sum 1, with the validator's own uid left
out; uids whose EMA is 0 are not sent. When every EMA is 0 nothing is set (there is nobody to reward yet).

Timing: weights are set at most once per `max(tempo, weights_rate_limit)` blocks, counted from the later of the
last set this validator remembers and the chain's own `last_update` of its uid, so a restart or a second
process never sets weights inside the chain's rate limit.
"""
from __future__ import annotations

from collections.abc import Mapping

from fabrica.protocol.subnet.port import SubnetMetagraph


def normalise(ema: Mapping[int, float], exclude: set[int] | frozenset[int] = frozenset()) -> tuple[list[int], list[float]]:
    """The uids with a positive EMA (not in `exclude`) and their weights, summing to 1; empty when none."""
    kept = {uid: v for uid, v in ema.items() if uid not in exclude and v > 0}
    total = sum(kept.values())
    if total <= 0:
        return [], []
    uids = sorted(kept)
    return uids, [kept[uid] / total for uid in uids]


def weights_interval(metagraph: SubnetMetagraph) -> int:
    """Blocks between two weight sets: once per tempo, never more often than the rate limit allows."""
    return max(1, metagraph.tempo, metagraph.weights_rate_limit)


def last_set_block(metagraph: SubnetMetagraph, hotkey: str, remembered: int | None) -> int | None:
    """The later of the remembered last set and the chain's `last_update` of `hotkey`'s uid (None if neither).

    A remembered block ahead of the metagraph's block belongs to another chain (a local chain restarted from
    genesis) and is ignored.
    """
    me = metagraph.by_hotkey(hotkey)
    on_chain = me.last_update if me is not None and me.last_update > 0 else None
    if remembered is not None and remembered > metagraph.block:
        remembered = None
    known = [b for b in (remembered, on_chain) if b is not None]
    return max(known) if known else None


def weights_due(block: int, metagraph: SubnetMetagraph, hotkey: str, remembered: int | None) -> bool:
    """Whether setting weights at `block` is due (a tempo passed) and allowed (outside the rate limit)."""
    last = last_set_block(metagraph, hotkey, remembered)
    return last is None or block - last >= weights_interval(metagraph)


__all__ = ["last_set_block", "normalise", "weights_due", "weights_interval"]
