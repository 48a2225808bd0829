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

Design economy (issue 14): `design_mint_gas` (a designer's second mint) against OpenZeppelin ERC-721 with a
per-token ERC-2981 royalty in the same run (contracts/test/bench/OzDesignNFT.sol), `signed_sale_gas` (an ERC-721
listing filled for an ERC-20, paying seller, treasury and creator who all hold the token), `licence_purchase_gas`
and `bounty_award_gas`. Goals: mint <= 60 000, sale <= 105 000 (Seaport 1.6 needs ~104 k without fees).

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
DESIGN_MINT_GOAL = 60_000
SIGNED_SALE_GOAL = 105_000
ROOT = Path(__file__).resolve().parent.parent


def run_gas_test(match_contract: str, groups: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Run one forge gas test contract in isolation mode; return each snapshot group's gas per key."""
    contracts = ROOT / "contracts"
    snapshots = contracts / "snapshots"
    for name in groups:
        (snapshots / f"{name}.json").unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}", "FOUNDRY_PROFILE": "default"}
    proc = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "forge"), "test", "--isolate", "--match-contract", match_contract],
        cwd=contracts, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"{match_contract} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return {name: {k: int(v) for k, v in json.loads((snapshots / f"{name}.json").read_text()).items()}
            for name in groups}


def measure_dao() -> tuple[dict[str, int], dict[str, int]]:
    """Run the governor gas test in isolation mode; return (FabGovernor, stock anchor) gas per step."""
    got = run_gas_test("GovernorGasTest", ("FabGovernor", "StockGovernor"))
    return got["FabGovernor"], got["StockGovernor"]


def design_figures() -> dict:
    """Issue 14's keys: a designer's second mint (against OpenZeppelin ERC-721 + per-token ERC-2981 in the same
    run), a signed ERC-721-for-ERC-20 sale paying seller, treasury and creator, a licence purchase and a bounty
    award (the approval that reaches a quorum of two on a bounty with two sponsors)."""
    mint = run_gas_test("DesignMintGasTest", ("DesignNFT", "OzDesignNFT"))
    sale = run_gas_test("DesignSaleGasTest", ("DesignMarket",))["DesignMarket"]
    bounty = run_gas_test("BountyAwardGasTest", ("BountyBoard",))["BountyBoard"]
    ours, oz = mint["DesignNFT"]["mint_second"], mint["OzDesignNFT"]["mint_second"]
    return {
        "design_mint_gas": ours,
        "design_mint_anchor_oz_gas": oz,
        "design_mint_ratio_vs_oz": round(ours / oz, 3),
        "design_mint_goal_gas": DESIGN_MINT_GOAL,
        "design_mint_meets_goal": ours <= DESIGN_MINT_GOAL,
        "signed_sale_gas": sale["signed_sale"],
        "signed_sale_first_design_gas": sale["signed_sale_first_design"],
        "signed_sale_goal_gas": SIGNED_SALE_GOAL,
        "signed_sale_meets_goal": sale["signed_sale"] <= SIGNED_SALE_GOAL,
        "licence_purchase_gas": mint["DesignNFT"]["licence_purchase"],
        "licence_purchase_licensed_design_gas": mint["DesignNFT"]["licence_purchase_licensed_design"],
        "bounty_award_gas": bounty["award"],
        "bounty_gas": {k: bounty[k] for k in ("post", "fund", "submit", "approve", "withdraw", "mintWinner",
                                                "refund")},
    }


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
    result |= design_figures()
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
    print(f"design mint (a designer's second): {result['design_mint_gas']:,} gas (OpenZeppelin ERC-721 + ERC-2981 "
          f"{result['design_mint_anchor_oz_gas']:,}, {result['design_mint_ratio_vs_oz']}x); goal {DESIGN_MINT_GOAL:,}")
    print(f"signed design sale with fee and royalty: {result['signed_sale_gas']:,} gas; goal {SIGNED_SALE_GOAL:,}")
    print(f"licence purchase: {result['licence_purchase_gas']:,} gas; bounty award: {result['bounty_award_gas']:,} gas")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
