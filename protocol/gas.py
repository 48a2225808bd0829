"""The gas limit Fabrica sends with a transaction, from the node's estimate."""
from __future__ import annotations

# The estimate is made against the latest block; the transaction runs in the next one, whose timestamp can make it
# dearer: a vote checkpoint (OpenZeppelin Votes) updated in place for the same second costs ~5 k gas, a new one
# pushed for a later second ~22 k, and a slash can push several (the operator's delegate, the total supply). A
# proportional margin alone is not enough for small calls that push slots, so the margin is both proportional and
# fixed. The unused part of a gas limit is never charged.
GAS_HEADROOM = 1.2
GAS_RESERVE = 100_000


def gas_limit(estimate: int, block_gas_limit: int | None = None) -> int:
    """The gas limit to send for a call estimated at `estimate`, never above the block's own limit."""
    limit = int(estimate * GAS_HEADROOM) + GAS_RESERVE
    return min(limit, block_gas_limit) if block_gas_limit else limit
