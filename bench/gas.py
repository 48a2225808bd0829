#!/usr/bin/env python3
"""Gas of the job lifecycle with every market rule in force (issue 12).

`job_lifecycle_gas`: post → claim → deliver → accept, paying node + treasury + royalty receiver, on a
warm marketplace where the customer has a finished job whose slot the post recycles (what the SDK does).
`signed_job_lifecycle_gas`: take (an EIP-712 signed order, created and claimed in one transaction) →
deliver → accept. Measured per transaction with `forge test --isolate` (intrinsic gas, cold access and
refunds included), against the anchor in the same run: a plain storage escrow with push payments
(contracts/test/bench).

DAO (issue 13): `dao_propose_gas`, `dao_vote_gas` (the first vote), `dao_queue_gas`, `dao_execute_gas` of a
one-action proposal (a treasury spend) on FabGovernor, against a stock OpenZeppelin Governor with the same
modules and settings voting with FabToken alone, with its own TimelockController, deployed in the same run
(contracts/test/bench/StockGovernor.sol, contracts/test/governance/Governor.gas.t.sol).
`dao_gas_ratio_max` is the largest of the four ratios; the goal is at most 1.05.

Prints one JSON object as its last line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from gas_snapshot import LIFECYCLE, SIGNED_LIFECYCLE, measure

GOAL = 190_000
SIGNED_GOAL = 165_000
DAO_STEPS = ("propose", "vote", "queue", "execute")
DAO_RATIO_GOAL = 1.05
ROOT = Path(__file__).resolve().parent.parent


def measure_dao() -> tuple[dict[str, int], dict[str, int]]:
    """Run the governor gas test in isolation mode; return (FabGovernor, stock anchor) gas per step."""
    contracts = ROOT / "contracts"
    snapshots = contracts / "snapshots"
    for name in ("FabGovernor", "StockGovernor"):
        (snapshots / f"{name}.json").unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}", "FOUNDRY_PROFILE": "default"}
    proc = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "forge"), "test", "--isolate", "--match-contract", "GovernorGasTest"],
        cwd=contracts, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"governor gas tests failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")

    def read(group: str) -> dict[str, int]:
        """One snapshot group's gas per step."""
        return {k: int(v) for k, v in json.loads((snapshots / f"{group}.json").read_text()).items()}

    return read("FabGovernor"), read("StockGovernor")


def dao_figures(ours: dict[str, int], anchor: dict[str, int]) -> dict:
    """The DAO keys of the JSON line: our gas, the anchor's, each ratio and the largest."""
    ratios = {step: round(ours[step] / anchor[step], 3) for step in DAO_STEPS}
    result: dict = {f"dao_{step}_gas": ours[step] for step in DAO_STEPS}
    result |= {f"dao_anchor_{step}_gas": anchor[step] for step in DAO_STEPS}
    result |= {f"dao_{step}_ratio": ratios[step] for step in DAO_STEPS}
    result["dao_gas_ratio_max"] = max(ratios.values())
    result["dao_ratio_goal"] = DAO_RATIO_GOAL
    result["dao_meets_goal"] = result["dao_gas_ratio_max"] <= DAO_RATIO_GOAL
    return result


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
    dao, dao_anchor = measure_dao()
    result |= dao_figures(dao, dao_anchor)
    for op in LIFECYCLE:
        print(f"{op:>15}: {ours[op]:>7,} gas   (naive escrow {naive[op]:>7,})")
    for op in SIGNED_LIFECYCLE:
        print(f"{op:>15}: {ours[op]:>7,} gas")
    print(f"lifecycle: {total:,} gas vs naive {naive_total:,} ({result['ratio_vs_naive']}x); goal {GOAL:,}")
    print(f"signed lifecycle: {signed:,} gas ({result['signed_ratio_vs_naive']}x naive); goal {SIGNED_GOAL:,}")
    for step in DAO_STEPS:
        print(f"{'dao ' + step:>15}: {dao[step]:>7,} gas   (stock OZ Governor {dao_anchor[step]:>7,}, "
              f"{result[f'dao_{step}_ratio']}x)")
    print(f"DAO: largest ratio to the stock Governor {result['dao_gas_ratio_max']}x; goal {DAO_RATIO_GOAL}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
