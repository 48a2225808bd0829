"""The validator's schedule scoring: the protocol's exact rules, with its greedy schedule as the baseline."""
from __future__ import annotations

from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduleTask
from fabrica.protocol.tasks.schedule_rules import (
    MAX_VIOLATIONS,
    GreedyInfeasibleError,
    ScheduleCheck,
    check_schedule,
    greedy_schedule,
    makespan_lower_bound,
)

BaselineInfeasibleError = GreedyInfeasibleError
"""The baseline found no placement (availability windows close before every operation fits)."""


def baseline_schedule(task: ScheduleTask) -> ScheduleAnswer:
    """The validator's baseline for `task`: the protocol's greedy list schedule (most work remaining)."""
    return greedy_schedule(task)


__all__ = [
    "MAX_VIOLATIONS",
    "BaselineInfeasibleError",
    "ScheduleCheck",
    "baseline_schedule",
    "check_schedule",
    "makespan_lower_bound",
]
