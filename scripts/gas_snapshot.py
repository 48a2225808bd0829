#!/usr/bin/env python3
"""Measure per-transaction gas of the job lifecycle with `forge test --isolate`; check or update the baseline.

The committed baseline is contracts/gas-snapshot.json; `--check` fails when any operation grows.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
BASELINE = CONTRACTS / "gas-snapshot.json"
LIFECYCLE = ("post", "claim", "deliver", "accept")
SIGNED_LIFECYCLE = ("take", "deliver_signed", "accept_signed")


def measure() -> dict[str, dict[str, int]]:
    """Run the gas tests in isolation mode and return {group: {operation: gas}}."""
    snapshots = CONTRACTS / "snapshots"
    for old in snapshots.glob("*.json"):
        old.unlink()
    forge = ROOT / "node_modules" / ".bin" / "forge"
    env = {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}", "FOUNDRY_PROFILE": "default"}
    proc = subprocess.run(
        [str(forge), "test", "--isolate", "--match-contract", "JobMarketGasTest"],
        cwd=CONTRACTS, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"gas tests failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return {p.stem: {k: int(v) for k, v in json.loads(p.read_text()).items()} for p in sorted(snapshots.glob("*.json"))}


def main() -> int:
    """Print, check or update the gas baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="fail if any operation uses more gas than the baseline")
    group.add_argument("--update", action="store_true", help="write the measured gas as the new baseline")
    args = parser.parse_args()
    measured = measure()
    if args.update:
        BASELINE.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
        print(f"baseline written to {BASELINE.relative_to(ROOT)}")
        return 0
    if args.check:
        baseline = json.loads(BASELINE.read_text())
        grown = [
            f"{g}.{op}: {baseline[g][op]} -> {gas}"
            for g, ops in measured.items() for op, gas in ops.items()
            if g in baseline and op in baseline[g] and gas > baseline[g][op]
        ]
        missing = [f"{g}.{op}" for g, ops in baseline.items() for op in ops if op not in measured.get(g, {})]
        if grown or missing:
            print("gas snapshot check failed (run `make gas-snapshot` only if the growth is intended):")
            for line in grown + [f"{m}: no longer measured" for m in missing]:
                print("  " + line)
            return 1
        total = sum(measured["JobMarket"][op] for op in LIFECYCLE)
        signed = sum(measured["JobMarket"][op] for op in SIGNED_LIFECYCLE)
        print(f"gas snapshot ok: lifecycle {total} gas, signed lifecycle {signed} gas, no operation grew")
        return 0
    print(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
