"""A deliberately simple dispatch-rule scheduler for the schedule task: the "dispatch" miner strategy.

Non-delay list scheduling: repeatedly take, among the next unscheduled operation of every job, the one that can
start earliest (on its eligible machine that finishes it first, inside one of that machine's availability
windows); ties go to the job with the most work remaining (MWKR), then to the shortest processing time (SPT).
Operations are appended to their machine (no insertion into earlier idle gaps). It is fast (no search) and
respects eligible machines, precedence and availability windows; it makes no attempt at optimality and exists
as the reference weak miner the CP-SAT miner is compared with.
"""
from __future__ import annotations

import heapq

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask


class DispatchInfeasibleError(FabricaValueError):
    """The dispatch rule painted itself into a corner: some operation fits in no remaining availability window."""


def earliest_fit(windows: tuple[tuple[int, int], ...] | None, ready: int, duration: int) -> int | None:
    """The earliest start `>= ready` such that `[start, start + duration)` lies inside one window, or None."""
    if windows is None:
        return ready
    for ws, we in windows:
        start = max(ready, ws)
        if start + duration <= we:
            return start
    return None


def dispatch_schedule(task: ScheduleTask) -> ScheduleAnswer:
    """A feasible schedule by the non-delay earliest-start / MWKR / SPT rule; raises DispatchInfeasibleError."""
    m = task.num_machines
    machine_free = [0] * m
    windows = [task.windows(i) for i in range(m)]
    min_duration = [[min(a.duration for a in op.alternatives) for op in job.operations] for job in task.jobs]
    remaining = [sum(d) for d in min_duration]  # work left per job, each operation at its shortest duration
    next_op = [0] * task.num_jobs
    job_ready = [0] * task.num_jobs
    # A job's candidate (start, -work left, duration, job, machine, end) for its next operation only changes when
    # the job advances or one of that operation's machines gets busier: keep the candidates in a heap (stale
    # entries are skipped by their version) and, per machine, the jobs whose next operation may use it.
    heap: list[tuple[int, int, int, int, int, int, int]] = []
    version = [0] * task.num_jobs
    waiting_on: list[set[int]] = [set() for _ in range(m)]

    def evaluate(j: int) -> None:
        k = next_op[j]
        choice: tuple[int, int, int, int] | None = None  # (end, start, duration, machine)
        for alt in task.jobs[j].operations[k].alternatives:
            start = earliest_fit(windows[alt.machine], max(job_ready[j], machine_free[alt.machine]), alt.duration)
            if start is not None:
                option = (start + alt.duration, start, alt.duration, alt.machine)
                if choice is None or option < choice:
                    choice = option
        if choice is None:
            raise DispatchInfeasibleError(
                f"jobs[{j}].operations[{k}]: no eligible machine has an availability window left after "
                f"time {job_ready[j]}; the dispatch rule found no feasible schedule"
            )
        end, start, duration, machine = choice
        version[j] += 1
        heapq.heappush(heap, (start, -remaining[j], duration, j, machine, end, version[j]))

    def enter(j: int) -> None:
        for alt in task.jobs[j].operations[next_op[j]].alternatives:
            waiting_on[alt.machine].add(j)
        evaluate(j)

    for j in range(task.num_jobs):
        enter(j)
    out: list[ScheduledOperation] = []
    while heap:
        start, _, _, j, machine, end, v = heapq.heappop(heap)
        if v != version[j]:
            continue  # superseded by a later evaluation
        k = next_op[j]
        out.append(ScheduledOperation(job=j, op=k, machine=machine, start=start))
        for alt in task.jobs[j].operations[k].alternatives:
            waiting_on[alt.machine].discard(j)
        machine_free[machine] = end
        job_ready[j] = end
        remaining[j] -= min_duration[j][k]
        next_op[j] = k + 1
        if next_op[j] < len(task.jobs[j].operations):
            enter(j)
        else:
            version[j] += 1
        for i in list(waiting_on[machine]):
            if i != j:
                evaluate(i)
    return ScheduleAnswer(operations=tuple(out), makespan=max(job_ready))


__all__ = ["DispatchInfeasibleError", "dispatch_schedule", "earliest_fit"]
