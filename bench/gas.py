#!/usr/bin/env python3
"""Gas of the job lifecycle with every market rule in force (issue 12).

`job_lifecycle_gas`: post → claim → deliver → accept, paying node + treasury + royalty receiver, on a
warm marketplace where the customer has a finished job whose slot the post recycles (what the SDK does).
`signed_job_lifecycle_gas`: take (an EIP-712 signed order, created and claimed in one transaction) →
deliver → accept. Measured per transaction with `forge test --isolate` (intrinsic gas, cold access and
refunds included), against the anchor in the same run: a plain storage escrow with push payments
(contracts/test/bench). Prints one JSON object as its last line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from gas_snapshot import LIFECYCLE, SIGNED_LIFECYCLE, measure

GOAL = 190_000
SIGNED_GOAL = 165_000


def main() -> None:
    """Measure and print the figures."""
    m = measure()
    ours, naive = m["JobMarket"], m["NaiveEscrow"]
    total = sum(ours[op] for op in LIFECYCLE)
    signed = sum(ours[op] for op in SIGNED_LIFECYCLE)
    naive_total = sum(naive[op] for op in LIFECYCLE)
    result = {
        "job_lifecycle_gas": total,
        "per_operation": {op: ours[op] for op in LIFECYCLE},
        "signed_job_lifecycle_gas": signed,
        "signed_per_operation": {op: ours[op] for op in SIGNED_LIFECYCLE},
        "post_fresh_slot_gas": ours["post_fresh"],
        "job_lifecycle_gas_fresh_slot": total - ours["post"] + ours["post_fresh"],
        "post_with_transfer_gas": ours["post_transfer"],
        "job_lifecycle_gas_with_transfer": total - ours["post"] + ours["post_transfer"],
        "naive_escrow_lifecycle_gas": naive_total,
        "naive_per_operation": {op: naive[op] for op in LIFECYCLE},
        "ratio_vs_naive": round(total / naive_total, 3),
        "signed_ratio_vs_naive": round(signed / naive_total, 3),
        "goal_gas": GOAL,
        "meets_goal": total <= GOAL,
        "signed_goal_gas": SIGNED_GOAL,
        "signed_meets_goal": signed <= SIGNED_GOAL,
    }
    for op in LIFECYCLE:
        print(f"{op:>15}: {ours[op]:>7,} gas   (naive escrow {naive[op]:>7,})")
    for op in SIGNED_LIFECYCLE:
        print(f"{op:>15}: {ours[op]:>7,} gas")
    print(f"lifecycle: {total:,} gas vs naive {naive_total:,} ({result['ratio_vs_naive']}x); goal {GOAL:,}")
    print(f"signed lifecycle: {signed:,} gas ({result['signed_ratio_vs_naive']}x naive); goal {SIGNED_GOAL:,}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
