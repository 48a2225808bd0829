"""The dispatch-rule miner strategy (`fabrica.miners.solvers.dispatch`): always a feasible schedule (eligible
machines, precedence, availability windows) as the validator's exact checker judges it, fast, and a clear error
when a finite last window leaves an operation nowhere to go."""
from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from schedule_strategies import schedule_tasks

from fabrica.miners.solvers.dispatch import DispatchInfeasibleError, dispatch_schedule, earliest_fit
from fabrica.protocol.tasks.schedule import ScheduleTask, parse_task
from fabrica.protocol.tasks.taillard import taillard_task
from fabrica.validators.scoring.schedule import check_schedule, makespan_lower_bound


@settings(max_examples=150, deadline=None)
@given(schedule_tasks(windows="maybe", max_jobs=5, max_machines=4))
def test_dispatch_schedule_is_always_feasible(task: ScheduleTask) -> None:
    answer = dispatch_schedule(task)
    check = check_schedule(task, answer)
    assert check.feasible, check.violations
    assert answer.makespan == check.makespan >= makespan_lower_bound(task)


def test_dispatch_on_a_taillard_instance_is_fast_feasible_and_bounded() -> None:
    task = taillard_task("ta01")
    started = time.perf_counter()
    answer = dispatch_schedule(task)
    assert time.perf_counter() - started < 2.0
    assert check_schedule(task, answer).feasible
    assert 1231 <= answer.makespan < 2 * 1231  # ta01's optimum is 1231


def test_earliest_fit_respects_windows() -> None:
    assert earliest_fit(None, 7, 3) == 7
    assert earliest_fit(((0, 5), (8, 20)), 3, 3) == 8  # [3, 6) crosses the end of [0, 5)
    assert earliest_fit(((0, 5), (8, 20)), 1, 3) == 1
    assert earliest_fit(((0, 5), (8, 10)), 6, 3) is None


def test_dispatch_reports_a_dead_end_naming_the_operation() -> None:
    # machine 0 is open only in [0, 4): job 1's only operation cannot fit once job 0 has used it
    task = parse_task({
        "task_id": "dead-end", "num_machines": 1, "availability": [[[0, 4]]],
        "jobs": [{"operations": [{"alternatives": [{"machine": 0, "duration": 3}]}]},
                 {"operations": [{"alternatives": [{"machine": 0, "duration": 3}]}]}],
    })
    with pytest.raises(DispatchInfeasibleError, match=r"jobs\[1\]\.operations\[0\]"):
        dispatch_schedule(task)
