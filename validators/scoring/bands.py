"""Banded scores against the validator's own baseline (Graphite-style), for objectives to minimise."""
from __future__ import annotations

from fabrica.protocol.errors import FabricaValueError

FLOOR = 0.1
"""What an answer exactly as good as the baseline earns: a little, so matching it is not worthless."""


def banded_score(value: float, baseline: float, best: float, floor: float = FLOOR) -> float:
    """Score `value` (lower is better): worse than `baseline` 0, equal `floor`, rising to 1 at the round's `best`."""
    if not 0 <= floor < 1:
        raise FabricaValueError(f"floor must be in [0, 1), got {floor}")
    if best > value:
        raise FabricaValueError(f"the round's best ({best}) cannot be worse than an answer in it ({value})")
    if value > baseline:
        return 0.0
    if value == baseline:
        return floor
    # value < baseline and best <= value < baseline, so the denominator is positive.
    return min(1.0, floor + (1 - floor) * (baseline - value) / (baseline - best))  # min: float rounding
