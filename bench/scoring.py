#!/usr/bin/env python3
"""Answers verified per second on 15x15 job shops, on one core: the validator's compiled verifier vs the
plain exact checker (the anchor), both parsing each answer from its wire JSON as a validator receives it.

The tasks are la36-la40 from the bundled benchmarks in data/benchmarks (15 jobs x 15 machines); the answers are feasible schedules
of varying quality (the baseline and randomised dispatch schedules), which is the expensive case: an infeasible
answer is rejected earlier. Every verdict is compared between the two checkers. Prints progress on stderr and
one JSON object as its last stdout line. Goal: >= 5 000 answers/s for 15x15 on one core.
"""
from __future__ import annotations

import os

# One core: keep NumPy's BLAS threads (unused here, but cheap insurance) to one before NumPy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from fabrica.protocol.tasks.loaders import load_task  # noqa: E402
from fabrica.protocol.tasks.schedule import (  # noqa: E402
    ScheduleAnswer,
    ScheduledOperation,
    ScheduleTask,
    parse_answer,
)
from fabrica.validators.scoring.bands import banded_score  # noqa: E402
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule  # noqa: E402
from fabrica.validators.scoring.schedule_fast import ScheduleVerifier  # noqa: E402

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[1] / "data" / "benchmarks"
)
INSTANCES = ["la36", "la37", "la38", "la39", "la40"]


def random_dispatch(task: ScheduleTask, rng: random.Random) -> ScheduleAnswer:
    """A feasible semi-active schedule of a classic job shop: jobs' next operations dispatched in random order."""
    next_op = [0] * len(task.jobs)
    job_ready = [0] * len(task.jobs)
    machine_ready = [0] * task.num_machines
    ops: list[ScheduledOperation] = []
    pending = [j for j, job in enumerate(task.jobs) for _ in job.operations]
    rng.shuffle(pending)
    for j in pending:
        k = next_op[j]
        alt = task.jobs[j].operations[k].alternatives[0]
        start = max(job_ready[j], machine_ready[alt.machine])
        ops.append(ScheduledOperation(job=j, op=k, machine=alt.machine, start=start))
        job_ready[j] = machine_ready[alt.machine] = start + alt.duration
        next_op[j] += 1
    return ScheduleAnswer(operations=tuple(ops), makespan=max(job_ready))


def rate(fn, payloads: list[tuple[object, bytes]], min_seconds: float) -> tuple[float, list]:
    """Answers per second of `fn(context, raw_json)` over `payloads`, repeated for at least `min_seconds`."""
    verdicts = [fn(ctx, raw) for ctx, raw in payloads]  # warm-up, and the verdicts to compare
    done, t0 = 0, time.perf_counter()
    while True:
        for ctx, raw in payloads:
            fn(ctx, raw)
        done += len(payloads)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return done / elapsed, verdicts


def main() -> None:
    """Build the answers, time both checkers, check their verdicts agree, print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers-per-task", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing window per checker")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # really one core

    rng = random.Random(0)
    tasks, payloads = [], []
    for name in INSTANCES:
        task = load_task(BENCHMARKS / "jssp" / f"{name}.txt")
        baseline = baseline_schedule(task).makespan
        answers = [baseline_schedule(task)] + [random_dispatch(task, rng) for _ in range(args.answers_per_task - 1)]
        best = min(a.makespan for a in answers)
        tasks.append((task, ScheduleVerifier(task), baseline, best))
        payloads += [(len(tasks) - 1, a.model_dump_json().encode()) for a in answers]
    print(f"{len(payloads)} answers to {len(tasks)} 15x15 tasks", file=sys.stderr)

    def score(check, baseline: int, best: int) -> float:
        return banded_score(check.makespan, baseline, best) if check.feasible else 0.0

    def fast(i, answer):
        task, verifier, baseline, best = tasks[i]
        check = verifier.check(answer)
        return check.feasible, check.makespan, score(check, baseline, best)

    def exact(i, answer):
        task, _, baseline, best = tasks[i]
        check = check_schedule(task, answer)
        return check.feasible, check.makespan, score(check, baseline, best)

    # Received answers (the HTTP layer parses each body once), then the same from the raw bytes.
    parsed = [(i, parse_answer(raw)) for i, raw in payloads]
    figures = {}
    for label, fn, items in [
        ("verify", fast, parsed),
        ("anchor_verify", exact, parsed),
        ("end_to_end", lambda i, raw: fast(i, parse_answer(raw)), payloads),
        ("anchor_end_to_end", lambda i, raw: exact(i, parse_answer(raw)), payloads),
    ]:
        figures[label], verdicts = rate(fn, items, args.seconds)
        figures[label + "_verdicts"] = verdicts
        print(f"{label}: {figures[label]:,.0f} answers/s", file=sys.stderr)
    verdicts = figures["verify_verdicts"]
    if any(figures[k + "_verdicts"] != verdicts for k in ("anchor_verify", "end_to_end", "anchor_end_to_end")):
        sys.exit("the checkers disagree on some answer: this is a bug")
    feasible = sum(1 for v in verdicts if v[0])
    print(json.dumps({
        "answers_per_s_15x15": round(figures["verify"]),
        "anchor_answers_per_s_15x15": round(figures["anchor_verify"]),
        "speedup": round(figures["verify"] / figures["anchor_verify"], 2),
        "end_to_end_answers_per_s_15x15": round(figures["end_to_end"]),
        "anchor_end_to_end_answers_per_s_15x15": round(figures["anchor_end_to_end"]),
        "goal_answers_per_s": 5000,
        "goal_met": figures["verify"] >= 5000,
        "answers": len(payloads),
        "feasible_answers": feasible,
        "verdicts_agree": True,
        "cores": 1,
    }))


if __name__ == "__main__":
    main()
