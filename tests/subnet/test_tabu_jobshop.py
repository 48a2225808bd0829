"""The numba tabu search for classic job shops: always feasible, never worse than its start, finds ft06's
optimum, and `solve_schedule` picks it for classic tasks while flexible / windowed ones stay on CP-SAT."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from fabrica.miners.solvers.jobshop_tabu import answer_from_order, jobshop_arrays, tabu_search
from fabrica.miners.solvers.schedule_cpsat import CPSAT_MIN_S, CPSAT_SHARE, solve_schedule, warm_up
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import ScheduleTask, parse_task
from fabrica.protocol.tasks.taillard import taillard_task
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[2] / "data" / "benchmarks"
)


def _random_task(rng: random.Random, jobs: int, machines: int, *, ragged: bool = False) -> ScheduleTask:
    """A classic task; `ragged` jobs have 1..2m operations on random machines (repeats allowed)."""
    spec = []
    for _ in range(jobs):
        if ragged:
            route = [rng.randrange(machines) for _ in range(rng.randint(1, 2 * machines))]
        else:
            route = rng.sample(range(machines), machines)
        spec.append({"operations": [{"alternatives": [{"machine": m, "duration": rng.randint(1, 30)}]} for m in route]})
    return parse_task({"task_id": f"rand-{jobs}x{machines}", "num_machines": machines, "jobs": spec})


CASES = [(1, 1, False), (1, 5, False), (5, 1, False), (2, 2, False), (6, 4, False), (10, 10, False),
         (8, 3, True), (4, 6, True), (12, 5, True)]


@pytest.mark.parametrize(("jobs", "machines", "ragged"), CASES)
def test_tabu_is_feasible_and_never_worse_than_its_start(jobs: int, machines: int, ragged: bool) -> None:
    rng = random.Random(jobs * 100 + machines)
    for seed in range(3):
        task = _random_task(rng, jobs, machines, ragged=ragged)
        start = baseline_schedule(task)
        result = tabu_search(jobshop_arrays(task), 10.0, threads=1, seed=seed, start=start, max_iterations=400)
        check = check_schedule(task, result.answer)
        assert check.feasible, check.violations
        assert result.makespan == result.answer.makespan == check.makespan
        assert makespan_lower_bound(task) <= result.makespan <= start.makespan


def test_tabu_without_start_and_on_two_threads_is_feasible() -> None:
    task = _random_task(random.Random(3), 8, 6)
    result = tabu_search(jobshop_arrays(task), 10.0, threads=2, seed=1, max_iterations=500)
    assert check_schedule(task, result.answer).feasible


def test_tabu_is_reproducible_for_a_fixed_iteration_count() -> None:
    task = _random_task(random.Random(5), 10, 5)
    runs = [tabu_search(jobshop_arrays(task), 10.0, seed=4, max_iterations=1500).answer for _ in range(2)]
    assert runs[0] == runs[1]


def test_tabu_reaches_the_ft06_optimum_quickly() -> None:
    task = load_task(BENCHMARKS / "jssp" / "ft06.txt")
    result = tabu_search(jobshop_arrays(task), 5.0, seed=0, max_iterations=20_000)
    assert result.makespan == 55
    assert check_schedule(task, result.answer).feasible


def test_jobshop_arrays_rejects_a_flexible_task() -> None:
    task = parse_task({"task_id": "flex", "num_machines": 2, "jobs": [{"operations": [
        {"alternatives": [{"machine": 0, "duration": 2}, {"machine": 1, "duration": 3}]}]}]})
    with pytest.raises(ValueError, match="not a classic"):
        jobshop_arrays(task)


def test_solve_schedule_hybrid_on_a_classic_task_beats_or_matches_cpsat_and_is_feasible() -> None:
    task = load_task(BENCHMARKS / "jssp" / "la16.txt")  # 10x10, optimum 945
    hybrid = solve_schedule(task, 3.0, workers=2, seed=0)
    assert check_schedule(task, hybrid.answer).feasible
    assert 945 <= hybrid.makespan <= baseline_schedule(task).makespan
    assert hybrid.bound <= 945
    assert hybrid.makespan <= 960  # within ~1.5 % of the optimum in 3 s


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1)])
def test_solve_schedule_edge_shapes(shape: tuple[int, int]) -> None:
    task = _random_task(random.Random(9), *shape)
    result = solve_schedule(task, 1.0, workers=2)
    assert check_schedule(task, result.answer).feasible
    assert result.status == "optimal"  # one job or one machine: CP-SAT proves it at once


def test_bad_method_is_rejected() -> None:
    task = _random_task(random.Random(1), 2, 2)
    with pytest.raises(FabricaValueError, match="method"):
        solve_schedule(task, 1.0, method="magic")  # type: ignore[arg-type]


def test_relinking_walks_feasibly_to_the_guiding_solution() -> None:
    from fabrica.miners.solvers import jobshop_kernels as k
    from fabrica.miners.solvers.jobshop_tabu import _initial, _new_state

    task = _random_task(random.Random(11), 8, 6)
    shop = jobshop_arrays(task)
    n = shop.num_operations
    a, b = _initial(shop, 1, None), _initial(shop, 2, None)
    pos_b = np.empty(n, dtype=np.int64)
    k._positions(b[2], b[1], pos_b)
    distance = k._distance(a[2], a[1], pos_b, np.empty(n, dtype=np.int64))
    assert distance > 4  # two different noisy Giffler-Thompson schedules
    walk = tuple(x.copy() for x in a)
    out = tuple(np.empty_like(x) for x in a)
    # walk all the way, keeping the best solution between 1/4 and 3/4 of the way
    best = k._relink(shop.duration, shop.machine, shop.jpred, shop.jsucc, *walk, pos_b, distance // 4,
                     distance, *out, _new_state(3, 0))
    assert k._distance(walk[2], walk[1], pos_b, np.empty(n, dtype=np.int64)) == 0  # every step removed one pair
    assert all(np.array_equal(x, y) for x, y in zip(walk, b, strict=True))  # ... and reached b itself
    kept = answer_from_order(shop, out[0], out[1])
    assert check_schedule(task, kept).feasible
    assert kept.makespan == best


def test_hybrid_hands_over_to_the_tabu_search_after_its_cpsat_share() -> None:
    assert warm_up(600)  # kernels ready: CP-SAT stops after its share instead of keeping the budget
    task = taillard_task("ta01")
    limit = 3.0
    result = solve_schedule(task, limit, workers=2, seed=0)
    (cp, cp_s), (tabu, tabu_s) = result.phases
    assert (cp, tabu) == ("cpsat", "tabu")
    assert cp_s <= max(CPSAT_MIN_S, CPSAT_SHARE * limit) + 0.5  # the CP-SAT model is built inside its share
    assert tabu_s >= limit - cp_s - 0.5
    assert result.wall_s <= limit + 0.5
    assert check_schedule(task, result.answer).feasible


def test_moving_an_operation_keeps_the_order_topological_and_the_local_update_exact() -> None:
    from fabrica.miners.solvers import jobshop_kernels as k
    from fabrica.miners.solvers.jobshop_tabu import _initial

    task = _random_task(random.Random(21), 8, 6)
    shop = jobshop_arrays(task)
    n = shop.num_operations
    mpred, msucc, mfirst, mlast = _initial(shop, 3, None)
    head, tail, order, indeg, opos = (np.empty(n, dtype=np.int64) for _ in range(5))
    args = (shop.duration, shop.jpred, shop.jsucc, mpred, msucc)
    k._evaluate_ordered(*args, head, tail, order, indeg, opos)
    rng = random.Random(5)
    applied = 0
    for _ in range(3000):
        seq = []
        o = int(mfirst[rng.randrange(shop.num_machines)])
        while o >= 0:
            seq.append(o)
            o = int(msucc[o])
        i, j = sorted(rng.sample(range(len(seq)), 2))
        if rng.random() < 0.5:  # seq[j] moves before seq[i]
            u, v = seq[j], seq[i]
            lo, hi = int(opos[v]), int(opos[u])
            if shop.jpred[u] >= 0 and opos[shop.jpred[u]] >= lo:
                continue  # the order would not stay topological: the solver takes a full pass instead
            k._ins_before(mpred, msucc, mfirst, mlast, shop.machine, u, v)
            k._move_in_order(order, opos, hi, lo)
        else:  # seq[i] moves after seq[j]
            u, v = seq[i], seq[j]
            lo, hi = int(opos[u]), int(opos[v])
            if shop.jsucc[u] >= 0 and opos[shop.jsucc[u]] <= hi:
                continue
            k._ins_after(mpred, msucc, mfirst, mlast, shop.machine, u, v)
            k._move_in_order(order, opos, lo, hi)
        assert all(opos[order[p]] == p for p in range(n))
        cmax = k._repropagate(*args, head, tail, order, lo, hi)
        full_head, full_tail = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        assert k._evaluate(*args, full_head, full_tail, np.empty(n, dtype=np.int64),
                           np.empty(n, dtype=np.int64)) == cmax  # acyclic, same makespan
        assert np.array_equal(head, full_head) and np.array_equal(tail, full_tail)
        applied += 1
    assert applied > 500
