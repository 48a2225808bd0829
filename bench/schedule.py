#!/usr/bin/env python3
"""CP-SAT miner vs the validator's greedy baseline vs the proven optimum, on a handful of bundled instances (data/benchmarks).

Each instance gets the same fixed CP-SAT time limit (2 workers, seed 0); the baseline is the alternative,
run in the same process. Gap = makespan / optimum - 1. Prints one line per instance, then one JSON object as
its last line. Benchmarks: `$FABRICA_BENCHMARKS`, else the repository's own `data/benchmarks`.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from fabrica.miners.solvers.schedule_cpsat import solve_schedule
from fabrica.protocol.tasks.loaders import load_task
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[1] / "data" / "benchmarks"
)
INSTANCES = [("jssp", "ft06"), ("jssp", "ft10"), ("jssp", "la01"), ("jssp", "la16"), ("fjsp", "mk01"),
             ("fjsp", "mk03")]
TIME_LIMIT_S = 5.0
WORKERS = 2


def main() -> None:
    """Solve each instance, print the per-instance lines and the summary JSON."""
    per_instance = {}
    for kind, name in INSTANCES:
        ref = json.loads((BENCHMARKS / kind / "references.json").read_text())[name]
        task = load_task(BENCHMARKS / kind / ref["file"])
        optimum = ref["optimum"]
        t0 = time.perf_counter()
        baseline = baseline_schedule(task)
        baseline_s = time.perf_counter() - t0
        result = solve_schedule(task, TIME_LIMIT_S, workers=WORKERS, seed=0, method="cpsat")
        for answer in (baseline, result.answer):
            if not check_schedule(task, answer).feasible:
                sys.exit(f"{name}: infeasible answer")
        row = {
            "optimum": optimum,
            "cpsat_makespan": result.makespan,
            "cpsat_status": result.status,
            "cpsat_bound": result.bound,
            "cpsat_gap": round(result.makespan / optimum - 1, 4),
            "cpsat_wall_s": round(result.wall_s, 2),
            "baseline_makespan": baseline.makespan,
            "baseline_gap": round(baseline.makespan / optimum - 1, 4),
            "baseline_wall_s": round(baseline_s, 3),
        }
        per_instance[name] = row
        print(f"{name:5} {task.num_jobs}x{task.num_machines}  optimum {optimum:5}  cpsat {result.makespan:5} "
              f"({result.status}, bound {result.bound}, {result.wall_s:.2f} s, gap {row['cpsat_gap']:.2%})  "
              f"baseline {baseline.makespan:5} (gap {row['baseline_gap']:.2%})")
    summary = {
        "time_limit_s": TIME_LIMIT_S,
        "workers": WORKERS,
        "cpsat_mean_gap": round(statistics.mean(r["cpsat_gap"] for r in per_instance.values()), 4),
        "baseline_mean_gap": round(statistics.mean(r["baseline_gap"] for r in per_instance.values()), 4),
        "cpsat_optimal_proven": sum(r["cpsat_status"] == "optimal" for r in per_instance.values()),
        "cpsat_at_optimum": sum(r["cpsat_makespan"] == r["optimum"] for r in per_instance.values()),
        "instances": len(per_instance),
        "per_instance": per_instance,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
