"""Taillard's generator reproduces the published instances (ta01's first rows, shapes, permutations, the 20 x 20
set's lower bounds)."""
from __future__ import annotations

import pytest

from fabrica.protocol.tasks.taillard import (
    TAILLARD_15X15,
    TAILLARD_20X20,
    generate_taillard,
    taillard_matrices,
    taillard_task,
)

# Taillard (1993) / OR-Library jobshop2.txt, ta01: the first two jobs' durations and (1-based) machine orders.
TA01_TIMES = [
    [94, 66, 10, 53, 26, 15, 65, 82, 10, 27, 93, 92, 96, 70, 83],
    [74, 31, 88, 51, 57, 78, 8, 7, 91, 79, 18, 51, 18, 99, 33],
]
TA01_MACHINES = [
    [7, 13, 5, 8, 4, 3, 11, 12, 9, 15, 10, 14, 6, 1, 2],
    [5, 6, 8, 15, 14, 9, 12, 10, 7, 11, 1, 4, 13, 2, 3],
]


def test_ta01_matches_the_published_first_rows() -> None:
    spec = TAILLARD_15X15["ta01"]
    assert (spec.time_seed, spec.machine_seed, spec.best_known) == (840612802, 398197754, 1231)
    times, machines = taillard_matrices(15, 15, spec.time_seed, spec.machine_seed)
    assert times[:2] == TA01_TIMES
    assert [[m + 1 for m in row] for row in machines[:2]] == TA01_MACHINES


def test_ta01_task_carries_the_matrices() -> None:
    task = taillard_task("ta01")
    assert task.task_id == "ta01" and task.is_classic
    first = task.jobs[0].operations
    assert [op.alternatives[0].duration for op in first] == TA01_TIMES[0]
    assert [op.alternatives[0].machine + 1 for op in first] == TA01_MACHINES[0]


@pytest.mark.parametrize("name", sorted(TAILLARD_15X15))
def test_every_15x15_instance_is_a_job_shop_of_permutations(name: str) -> None:
    task = taillard_task(name)
    assert (task.num_jobs, task.num_machines, task.num_operations) == (15, 15, 225)
    for job in task.jobs:
        assert sorted(op.alternatives[0].machine for op in job.operations) == list(range(15))
        assert all(1 <= op.alternatives[0].duration <= 99 for op in job.operations)


# Taillard (1993), Table 1: each 20 x 20 instance's trivial lower bound (the longest job or machine load).
TAILLARD_20X20_LOWER_BOUNDS = {"ta21": 1217, "ta22": 1240, "ta23": 1185, "ta24": 1271, "ta25": 1256,
                               "ta26": 1207, "ta27": 1331, "ta28": 1269, "ta29": 1267, "ta30": 1212}


@pytest.mark.parametrize("name", sorted(TAILLARD_20X20))
def test_every_20x20_instance_matches_its_published_lower_bound(name: str) -> None:
    task = taillard_task(name)
    assert (task.num_jobs, task.num_machines, task.num_operations) == (20, 20, 400)
    for job in task.jobs:
        assert sorted(op.alternatives[0].machine for op in job.operations) == list(range(20))
    longest_job = max(sum(op.alternatives[0].duration for op in job.operations) for job in task.jobs)
    loads = [0] * 20
    for job in task.jobs:
        for op in job.operations:
            loads[op.alternatives[0].machine] += op.alternatives[0].duration
    assert max(longest_job, *loads) == TAILLARD_20X20_LOWER_BOUNDS[name]
    assert TAILLARD_20X20[name].best_known >= TAILLARD_20X20_LOWER_BOUNDS[name]


def test_other_sizes_and_bad_input() -> None:
    task = generate_taillard(20, 15, 533484900, 317419073, task_id="ta11")  # ta11's seeds
    assert (task.num_jobs, task.num_machines) == (20, 15)
    assert taillard_matrices(15, 15, 1, 2) != taillard_matrices(15, 15, 2, 1)
    with pytest.raises(ValueError):
        taillard_matrices(0, 3, 1, 1)
    with pytest.raises(KeyError, match="unknown Taillard"):
        taillard_task("ta99")
