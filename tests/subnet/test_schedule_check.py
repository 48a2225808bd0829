"""check_schedule on hand-made cases: boundaries that are allowed, each kind of violation, and the baseline."""
from __future__ import annotations

import pytest

from fabrica.protocol.tasks.schedule import parse_answer, parse_task
from fabrica.validators.scoring.schedule import (
    MAX_VIOLATIONS,
    BaselineInfeasibleError,
    ScheduleCheck,
    baseline_schedule,
    check_schedule,
    makespan_lower_bound,
)

# Job 0: op 0 on machine 0 (3) or machine 1 (5); op 1 on machine 1 (2). Job 1: op 0 on machine 1 (4).
# Machine 1 is available in [0, 10) and [12, 40).
TASK = parse_task({
    "task_id": "t",
    "num_machines": 2,
    "jobs": [
        {"operations": [{"alternatives": [{"machine": 0, "duration": 3}, {"machine": 1, "duration": 5}]},
                        {"alternatives": [{"machine": 1, "duration": 2}]}]},
        {"operations": [{"alternatives": [{"machine": 1, "duration": 4}]}]},
    ],
    "availability": [None, [[0, 10], [12, 40]]],
})


def answer(*ops: tuple[int, int, int, int], makespan: int):
    return parse_answer({"operations": [dict(zip(("job", "op", "machine", "start"), o)) for o in ops], "makespan": makespan})


def test_touching_intervals_are_feasible() -> None:
    # Job 1 runs [0, 4) on machine 1; job 0 op 0 runs [0, 3) on machine 0, op 1 [4, 6) on machine 1 (touching both).
    check = check_schedule(TASK, answer((0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 0), makespan=6))
    assert check == ScheduleCheck(feasible=True, makespan=6, violations=[])


def test_operation_ending_at_a_window_end_is_feasible() -> None:
    check = check_schedule(TASK, answer((0, 0, 0, 0), (0, 1, 1, 8), (1, 0, 1, 12), makespan=16))
    assert check.feasible, check.violations


@pytest.mark.parametrize(
    ("ops", "makespan", "expected"),
    [
        ([(0, 0, 0, 0), (0, 1, 1, 2), (1, 0, 1, 5)], 9, ["operations[1]: job 0 op 1 starts at 2 before op 0 ends at 3"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 5)], 9,
         ["operations[2]: job 1 op 0 [5, 9) overlaps job 0 op 1 [4, 6) on machine 1"]),
        ([(0, 0, 0, 0), (0, 1, 1, 9), (1, 0, 1, 0)], 11,
         ["operations[1]: job 0 op 1 [9, 11) is not inside an availability window of machine 1"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 10)], 14,
         ["operations[2]: job 1 op 0 [10, 14) is not inside an availability window of machine 1"]),
        ([(0, 0, 0, 0), (0, 1, 0, 4), (1, 0, 1, 0)], 6,
         ["operations[1]: job 0 op 1 cannot run on machine 0 (eligible: 1)", "makespan: claimed 6 but the operations end at 4"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 0), (2, 0, 0, 0), (0, 2, 1, 0)], 6,
         ["operations[3]: job 2 does not exist (the task has 2 jobs)", "operations[4]: job 0 has no operation 2 (it has 2)"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 0), (0, 1, 1, 20)], 6,
         ["operations[3]: job 0 op 1 is scheduled again (first at operations[1])"]),
        ([(0, 0, 0, 0), (1, 0, 1, 0)], 4, ["job 0 op 1 is not scheduled"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 0)], 7, ["makespan: claimed 7 but the operations end at 6"]),
        ([(0, 0, 0, 0), (0, 1, 1, 4), (1, 0, 1, 0)], 5, ["makespan: claimed 5 but the operations end at 6"]),
        ([], 0, ["job 0 op 0 is not scheduled", "job 0 op 1 is not scheduled", "job 1 op 0 is not scheduled"]),
    ],
)
def test_violations_are_reported_exactly(ops: list, makespan: int, expected: list[str]) -> None:
    check = check_schedule(TASK, answer(*ops, makespan=makespan))
    assert check == ScheduleCheck(feasible=False, makespan=None, violations=expected)


def test_duration_comes_from_the_chosen_machine() -> None:
    # Op 0 on machine 1 takes 5, so op 1 on machine 1 at 4 overlaps it and starts before it ends.
    check = check_schedule(TASK, answer((0, 0, 1, 0), (0, 1, 1, 4), (1, 0, 1, 12), makespan=16))
    assert check.violations == [
        "operations[1]: job 0 op 1 starts at 4 before op 0 ends at 5",
        "operations[1]: job 0 op 1 [4, 6) overlaps job 0 op 0 [0, 5) on machine 1",
    ]


def test_violation_list_is_capped() -> None:
    task = parse_task({"task_id": "big", "num_machines": 1,
                       "jobs": [{"operations": [{"alternatives": [{"machine": 0, "duration": 1}]}]}] * 300})
    check = check_schedule(task, answer(makespan=0))
    assert len(check.violations) == MAX_VIOLATIONS + 1
    assert check.violations[-1] == "... and 200 more violations"


def test_baseline_fills_windows_and_bounds_hold() -> None:
    baseline = baseline_schedule(TASK)
    check = check_schedule(TASK, baseline)
    assert check.feasible, check.violations
    # Machine 1 alone must run job 0 op 1 and job 1 op 0 (2 + 4): the bound is 6, so the baseline is optimal.
    assert makespan_lower_bound(TASK) == baseline.makespan == 6

def test_baseline_raises_when_windows_close_too_early() -> None:
    task = parse_task({
        "task_id": "closing", "num_machines": 1,
        "jobs": [{"operations": [{"alternatives": [{"machine": 0, "duration": 3}]}] * 2}],
        "availability": [[[0, 4]]],
    })
    with pytest.raises(BaselineInfeasibleError, match="job 0 op 1 fits no availability window of its machines after time 3"):
        baseline_schedule(task)
