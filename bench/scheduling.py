#!/usr/bin/env python3
"""The schedule miner vs plain CP-SAT (the anchor) on 15 x 15 and 20 x 20 job shops: mean gap to the best known.

Default sets: 15 x 15, Taillard's ta01-ta10 (regenerated from the published seeds, never seen while tuning the
solver) and Lawrence's la36-la40 (from the bundled data/benchmarks); 20 x 20, Taillard's ta21-ta30 (regenerated
from the published seeds; ta21-ta30 were used while tuning the solver for this size). Every instance is solved by
the miner (`solve_schedule`, method "auto": CP-SAT then tabu search) and by the anchor (method "cpsat"), each with
the same fixed time limit and workers, in the same run. The numba kernels are compiled / loaded before any timing.

Gap = makespan / best-known - 1 (the 15 x 15 values are proven optima; the 20 x 20 ones are the published upper
bounds, of which ta21, ta24 and ta28 are proven). Progress goes to stderr; stdout's last line is one JSON object:
`mean_gap_pct` and `anchor_mean_gap_pct` over every instance but the 20 x 20 ones (by default the 15 x 15 set),
`mean_gap_pct_20x20` and `anchor_mean_gap_pct_20x20` over the 20 x 20 ones, per-set and per-instance detail,
wall times and a CPU-contention note (load average, and the process CPU time per wall second of each solve;
about `workers` when the solver had its cores to itself).

Usage: python bench/scheduling.py [--time-limit 10] [--workers 2] [--seed 0] [--instances ta01,ta21,la36,...]
[--no-anchor] (the default 25 instances take about 8.5 minutes). Benchmarks: `$FABRICA_BENCHMARKS`, else the
repository's own `data/benchmarks`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from fabrica.miners.solvers.schedule_cpsat import solve_schedule, warm_up
from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import ScheduleTask
from fabrica.protocol.tasks.taillard import TAILLARD, TAILLARD_15X15, TAILLARD_20X20, taillard_task
from fabrica.validators.scoring.schedule import check_schedule

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[1] / "data" / "benchmarks"
)
DEFAULT_INSTANCES = [*TAILLARD_15X15, "la36", "la37", "la38", "la39", "la40", *TAILLARD_20X20]


def _load(name: str) -> tuple[ScheduleTask, int, str]:
    """(task, best-known makespan, set name)."""
    if name in TAILLARD:
        spec = TAILLARD[name]
        return taillard_task(name), spec.best_known, f"taillard_{spec.jobs}x{spec.machines}"
    refs = json.loads((BENCHMARKS / "jssp" / "references.json").read_text())
    if name not in refs:
        sys.exit(f"unknown instance {name!r}: not a Taillard name ({', '.join(TAILLARD)}) nor in {BENCHMARKS / 'jssp'}")
    ref = refs[name]
    task = load_task(BENCHMARKS / "jssp" / ref["file"])
    best = ref.get("optimum") or ref["upper_bound"]
    kind = f"lawrence_{ref['n']}x{ref['m']}" if name.startswith("la") else f"{name.rstrip('0123456789')}_{ref['n']}x{ref['m']}"
    return task, int(best), kind


def _solve(task: ScheduleTask, method: str, limit: float, workers: int, seed: int) -> dict:
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = solve_schedule(task, limit, workers=workers, seed=seed, method=method)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    check = check_schedule(task, result.answer)
    if not check.feasible:
        sys.exit(f"{task.task_id} ({method}): infeasible answer: {check.violations[:3]}")
    return {"makespan": result.makespan, "status": result.status, "bound": result.bound,
            "wall_s": round(wall, 3), "cpu_per_wall": round(cpu / wall, 2) if wall > 0 else None}


def _mean_pct(rows: list[dict], key: str) -> float:
    return round(100 * statistics.mean(r[key] for r in rows), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance and solver (10)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers / tabu threads (2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--instances", default=",".join(DEFAULT_INSTANCES),
                        help="comma-separated names (ta01-ta10, ta21-ta30, or JSSP names in data/benchmarks)")
    parser.add_argument("--no-anchor", action="store_true", help="skip the plain CP-SAT anchor")
    args = parser.parse_args()
    names = [n.strip() for n in args.instances.split(",") if n.strip()]

    t_start = time.perf_counter()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    if not warm_up():
        sys.exit("the tabu search failed to compile")
    warm_s = time.perf_counter() - t0
    print(f"JIT warm-up {warm_s:.1f} s; {len(names)} instances x {args.time_limit:g} s, {args.workers} workers; "
          f"load average {load_before[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)

    per_instance: dict[str, dict] = {}
    for name in names:
        task, best, kind = _load(name)
        ours = _solve(task, "auto", args.time_limit, args.workers, args.seed)
        row = {"set": kind, "size": f"{task.num_jobs}x{task.num_machines}", "best_known": best,
               "gap": round(ours["makespan"] / best - 1, 5), **{f"ours_{k}": v for k, v in ours.items()}}
        line = f"{name:5} {row['size']} best {best:5}  ours {ours['makespan']:5} ({row['gap']:+.2%}, {ours['wall_s']:.1f} s)"
        if not args.no_anchor:
            anchor = _solve(task, "cpsat", args.time_limit, args.workers, args.seed)
            row["anchor_gap"] = round(anchor["makespan"] / best - 1, 5)
            row.update({f"anchor_{k}": v for k, v in anchor.items()})
            line += f"  cp-sat {anchor['makespan']:5} ({row['anchor_gap']:+.2%}, {anchor['wall_s']:.1f} s)"
        per_instance[name] = row
        print(line, file=sys.stderr, flush=True)

    rows = list(per_instance.values())
    sets: dict[str, dict] = {}
    for kind in dict.fromkeys(r["set"] for r in rows):
        members = [r for r in rows if r["set"] == kind]
        entry = {"instances": len(members), "mean_gap_pct": _mean_pct(members, "gap"),
                 "at_best_known": sum(r["gap"] <= 0 for r in members)}
        if not args.no_anchor:
            entry["anchor_mean_gap_pct"] = _mean_pct(members, "anchor_gap")
            entry["anchor_at_best_known"] = sum(r["anchor_gap"] <= 0 for r in members)
        sets[kind] = entry
    cpu_ratios = [r["ours_cpu_per_wall"] for r in rows if r["ours_cpu_per_wall"] is not None]
    load_after = os.getloadavg()
    big = [r for r in rows if r["size"] == "20x20"]
    rest = [r for r in rows if r["size"] != "20x20"]
    summary = {
        "mean_gap_pct": _mean_pct(rest, "gap") if rest else None,
        "anchor_mean_gap_pct": _mean_pct(rest, "anchor_gap") if rest and not args.no_anchor else None,
        "mean_gap_pct_20x20": _mean_pct(big, "gap") if big else None,
        "anchor_mean_gap_pct_20x20": _mean_pct(big, "anchor_gap") if big and not args.no_anchor else None,
        "time_limit_s": args.time_limit,
        "workers": args.workers,
        "seed": args.seed,
        "instances": len(rows),
        "sets": sets,
        "per_instance": per_instance,
        "jit_warm_up_s": round(warm_s, 2),
        "wall_s": round(time.perf_counter() - t_start, 1),
        "cpu": {
            "count": os.cpu_count(),
            "load_avg_1m_before": round(load_before[0], 2),
            "load_avg_1m_after": round(load_after[0], 2),
            "ours_mean_cpu_per_wall": round(statistics.mean(cpu_ratios), 2) if cpu_ratios else None,
            "note": "cpu_per_wall below the worker count, or a load average above it, means other processes "
                    "shared the cores: the gaps are then pessimistic for both solvers",
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
