#!/usr/bin/env python3
"""Gas of the job lifecycle (post → claim → deliver → accept, paying node + treasury + royalty receiver).

Measured per transaction with `forge test --isolate` (intrinsic gas, cold access and refunds included),
against the anchor in the same run: a plain storage escrow with push payments (contracts/test/bench).
Prints one JSON object as its last line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from gas_snapshot import LIFECYCLE, measure

GOAL = 170_000


def main() -> None:
    """Measure and print the figures."""
    m = measure()
    ours, naive = m["JobMarket"], m["NaiveEscrow"]
    total = sum(ours[op] for op in LIFECYCLE)
    naive_total = sum(naive[op] for op in LIFECYCLE)
    result = {
        "job_lifecycle_gas": total,
        "per_operation": {op: ours[op] for op in LIFECYCLE},
        "post_with_transfer_gas": ours["post_transfer"],
        "job_lifecycle_gas_with_transfer": total - ours["post"] + ours["post_transfer"],
        "naive_escrow_lifecycle_gas": naive_total,
        "naive_per_operation": {op: naive[op] for op in LIFECYCLE},
        "ratio_vs_naive": round(total / naive_total, 3),
        "goal_gas": GOAL,
        "meets_goal": total <= GOAL,
    }
    for op in LIFECYCLE:
        print(f"{op:>8}: {ours[op]:>7,} gas   (naive escrow {naive[op]:>7,})")
    print(f"lifecycle: {total:,} gas vs naive {naive_total:,} ({result['ratio_vs_naive']}x); goal {GOAL:,}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
