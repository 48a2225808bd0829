"""Every bundled JSSP / FJSP benchmark instance loads with the published size, and the baseline schedules it
feasibly, never below the proven optimum nor the trivial lower bounds."""
from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest

from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import ScheduleTask
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[2] / "data" / "benchmarks"
)
"""`$FABRICA_BENCHMARKS`, else the repository's own `data/benchmarks`: jssp/*.txt and fjsp/*.fjs
with references.json beside them."""
KINDS = {"jssp": "*.txt", "fjsp": "*.fjs"}
MISSING = "<benchmarks missing>"


def _references(kind: str) -> dict[str, dict]:
    path = BENCHMARKS / kind / "references.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _cases() -> list[tuple[str, str]]:
    cases = [(kind, name) for kind in KINDS for name in sorted(_references(kind))]
    return cases or [(MISSING, MISSING)]  # an empty parameter set would skip; this case fails instead


def _load(kind: str, name: str) -> tuple[ScheduleTask, dict]:
    if kind == MISSING:
        pytest.fail(f"no benchmark references under {BENCHMARKS}; the repository ships them in data/benchmarks")
    ref = _references(kind)[name]
    return load_task(BENCHMARKS / kind / ref["file"]), ref


def test_benchmark_set_is_present_and_complete() -> None:
    for kind, pattern in KINDS.items():
        folder = BENCHMARKS / kind
        assert (folder / "references.json").is_file(), f"missing {folder / 'references.json'}"
        files = {p.name for p in folder.glob(pattern)}
        referenced = {ref["file"] for ref in _references(kind).values()}
        assert files, f"no {pattern} instances in {folder}"
        assert files == referenced, f"{folder}: files without a reference or references without a file"
    assert len(_references("jssp")) == 35
    assert len(_references("fjsp")) == 5


@pytest.mark.parametrize(("kind", "name"), _cases())
def test_instance_size_matches_references(kind: str, name: str) -> None:
    task, ref = _load(kind, name)
    assert (task.num_jobs, task.num_machines) == (ref["n"], ref["m"])
    assert task.task_id == name
    if kind == "jssp":
        assert task.is_classic
        assert all(len(job.operations) == ref["m"] for job in task.jobs)
        for job in task.jobs:  # each job visits every machine exactly once
            assert sorted(op.alternatives[0].machine for op in job.operations) == list(range(ref["m"]))
    else:
        assert task.num_operations == ref["operations"]
        alternatives = sum(len(op.alternatives) for job in task.jobs for op in job.operations)
        assert round(alternatives / task.num_operations, 3) == ref["avg_machines_per_op"]


@pytest.mark.parametrize(("kind", "name"), _cases())
def test_baseline_is_feasible_and_respects_bounds(kind: str, name: str) -> None:
    task, ref = _load(kind, name)
    answer = baseline_schedule(task)
    check = check_schedule(task, answer)
    assert check.feasible, check.violations
    assert check.makespan == answer.makespan
    assert answer.makespan >= ref["optimum"]

    job_bound = max(sum(min(a.duration for a in op.alternatives) for op in job.operations) for job in task.jobs)
    assert answer.makespan >= job_bound
    if kind == "jssp":
        load = [0] * task.num_machines
        for job in task.jobs:
            for op in job.operations:
                load[op.alternatives[0].machine] += op.alternatives[0].duration
        assert answer.makespan >= max(load)
        assert makespan_lower_bound(task) == max(job_bound, max(load))
    assert job_bound <= makespan_lower_bound(task) <= ref["optimum"]


def test_baseline_gap_stays_in_its_band() -> None:
    """A regression guard on the baseline's quality (mean 1.188, max 1.385 over the bundled set when written)."""
    ratios = []
    for kind, name in _cases():
        task, ref = _load(kind, name)
        ratios.append(baseline_schedule(task).makespan / ref["optimum"])
    assert statistics.mean(ratios) <= 1.25
    assert max(ratios) <= 1.45


def test_baseline_is_deterministic() -> None:
    task, _ = _load(*_cases()[0])
    assert baseline_schedule(task) == baseline_schedule(task)
