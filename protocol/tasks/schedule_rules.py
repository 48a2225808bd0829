"""The rules of the schedule task: the exact feasibility check of an answer, a makespan lower bound, and a greedy
reference schedule (the validator's baseline, and a start point for miners).

They live in the protocol because miners and validators must agree on them. All functions are pure and
deterministic: the same task and answer always give the same result.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from fabrica.protocol.errors import FabricaValueError
from .schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask

MAX_VIOLATIONS = 100
"""At most this many violations are spelled out; one last line counts the rest."""


class GreedyInfeasibleError(FabricaValueError):
    """The greedy scheduler found no placement: availability windows close before every operation fits."""


@dataclass(frozen=True)
class ScheduleCheck:
    """The verdict on one answer: feasible or not, its computed makespan when feasible, and every violation."""

    feasible: bool
    makespan: int | None
    violations: list[str] = field(default_factory=list)


def check_schedule(task: ScheduleTask, answer: ScheduleAnswer) -> ScheduleCheck:
    """Check `answer` exactly against `task`.

    Feasible means: every operation of every job appears exactly once; on a machine eligible for it; it runs
    `[start, start + duration)` with the task's duration on that machine; each operation of a job starts no
    earlier than the previous one ends; no two operations overlap on a machine; an operation on a machine with
    availability windows lies entirely inside one window; and the claimed makespan equals the latest end.
    """
    violations: list[str] = []
    n = len(task.jobs)
    seen: list[list[int]] = [[-1] * len(job.operations) for job in task.jobs]
    # (start, end, machine, answer index) per job and operation; None when not validly placed.
    placed: list[list[tuple[int, int, int, int] | None]] = [[None] * len(job.operations) for job in task.jobs]
    on_machine: list[list[tuple[int, int, int, int, int]]] = [[] for _ in range(task.num_machines)]

    for i, entry in enumerate(answer.operations):
        j, k, m, start = entry.job, entry.op, entry.machine, entry.start
        if j >= n:
            violations.append(f"operations[{i}]: job {j} does not exist (the task has {n} jobs)")
            continue
        ops = task.jobs[j].operations
        if k >= len(ops):
            violations.append(f"operations[{i}]: job {j} has no operation {k} (it has {len(ops)})")
            continue
        if seen[j][k] >= 0:
            violations.append(f"operations[{i}]: job {j} op {k} is scheduled again (first at operations[{seen[j][k]}])")
            continue
        seen[j][k] = i
        duration = ops[k].duration_on(m)
        if duration is None:
            eligible = ", ".join(str(alt.machine) for alt in ops[k].alternatives)
            violations.append(f"operations[{i}]: job {j} op {k} cannot run on machine {m} (eligible: {eligible})")
            continue
        end = start + duration
        placed[j][k] = (start, end, m, i)
        on_machine[m].append((start, end, j, k, i))

    for j, job_seen in enumerate(seen):
        for k, index in enumerate(job_seen):
            if index < 0:
                violations.append(f"job {j} op {k} is not scheduled")

    for j, job_placed in enumerate(placed):
        for k in range(1, len(job_placed)):
            before, after = job_placed[k - 1], job_placed[k]
            if before is not None and after is not None and after[0] < before[1]:
                violations.append(
                    f"operations[{after[3]}]: job {j} op {k} starts at {after[0]} before op {k - 1} ends at {before[1]}"
                )

    for m, runs in enumerate(on_machine):
        runs.sort()
        latest: tuple[int, int, int, int, int] | None = None  # the run with the latest end so far
        for run in runs:
            if latest is not None and run[0] < latest[1]:
                violations.append(
                    f"operations[{run[4]}]: job {run[2]} op {run[3]} [{run[0]}, {run[1]}) overlaps job {latest[2]} "
                    f"op {latest[3]} [{latest[0]}, {latest[1]}) on machine {m}"
                )
            if latest is None or run[1] > latest[1]:
                latest = run
        windows = task.windows(m)
        if windows is None or not runs:
            continue
        starts = [w[0] for w in windows]
        for start, end, j, k, i in runs:
            w = bisect_right(starts, start) - 1
            if w < 0 or end > windows[w][1]:
                violations.append(
                    f"operations[{i}]: job {j} op {k} [{start}, {end}) is not inside an availability window of machine {m}"
                )

    computed = max((p[1] for job_placed in placed for p in job_placed if p is not None), default=0)
    if answer.makespan != computed:
        violations.append(f"makespan: claimed {answer.makespan} but the operations end at {computed}")

    if len(violations) > MAX_VIOLATIONS:
        extra = len(violations) - MAX_VIOLATIONS
        violations = [*violations[:MAX_VIOLATIONS], f"... and {extra} more violations"]
    feasible = not violations
    return ScheduleCheck(feasible=feasible, makespan=computed if feasible else None, violations=violations)


def makespan_lower_bound(task: ScheduleTask) -> int:
    """A trivial lower bound on any feasible makespan (availability windows ignored, which only loosens it).

    The largest of: each job's sum of shortest durations; each machine's load from operations that can run
    only there; and the total of shortest durations spread evenly over all machines (rounded up).
    """
    job_bound = 0
    load = [0] * task.num_machines
    total = 0
    for job in task.jobs:
        length = 0
        for op in job.operations:
            shortest = min(alt.duration for alt in op.alternatives)
            length += shortest
            if len(op.alternatives) == 1:
                load[op.alternatives[0].machine] += shortest
        job_bound = max(job_bound, length)
        total += length
    return max(job_bound, max(load), -(-total // task.num_machines))


class _Timeline:
    """One machine's busy intervals (sorted, disjoint) and availability windows; finds the earliest fit."""

    __slots__ = ("starts", "ends", "windows", "window_starts")

    def __init__(self, windows: tuple[tuple[int, int], ...] | None) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.windows = windows
        self.window_starts = None if windows is None else [w[0] for w in windows]

    def earliest_start(self, ready: int, duration: int) -> int | None:
        """The earliest t >= ready with [t, t + duration) idle and inside one window, or None if there is none."""
        t = ready
        while True:
            if self.windows is not None:
                w = max(bisect_right(self.window_starts, t) - 1, 0)
                while w < len(self.windows) and max(t, self.windows[w][0]) + duration > self.windows[w][1]:
                    w += 1
                if w == len(self.windows):
                    return None
                t = max(t, self.windows[w][0])
            b = bisect_right(self.ends, t)  # first busy interval ending after t
            if b == len(self.starts) or self.starts[b] >= t + duration:
                return t
            t = self.ends[b]

    def reserve(self, start: int, end: int) -> None:
        b = bisect_right(self.ends, start)
        self.starts.insert(b, start)
        self.ends.insert(b, end)


def greedy_schedule(task: ScheduleTask) -> ScheduleAnswer:
    """A reference schedule by Giffler-Thompson-style list scheduling with a most-work-remaining rule.

    Repeatedly take the (operation, machine) that can finish earliest, counting idle gaps a machine can still
    fill and its availability windows; among the operations that could start on that machine before that
    finish, and whose own earliest finish is on it, schedule the one whose job has the most work left. Always
    feasible; raises `GreedyInfeasibleError` when availability windows close before an operation fits.
    """
    timelines = [_Timeline(task.windows(m)) for m in range(task.num_machines)]
    jobs = task.jobs
    next_op = [0] * len(jobs)
    ready = [0] * len(jobs)
    work_left = [sum(min(alt.duration for alt in op.alternatives) for op in job.operations) for job in jobs]
    result: list[ScheduledOperation] = []
    makespan = 0
    remaining = sum(len(job.operations) for job in jobs)
    while remaining:
        # Per job: its best (finish, start, machine) and every feasible (machine -> start, finish).
        best: dict[int, tuple[int, int, int]] = {}
        options: dict[int, dict[int, tuple[int, int]]] = {}
        for j, job in enumerate(jobs):
            k = next_op[j]
            if k == len(job.operations):
                continue
            choice: dict[int, tuple[int, int]] = {}
            for alt in job.operations[k].alternatives:
                start = timelines[alt.machine].earliest_start(ready[j], alt.duration)
                if start is not None:
                    choice[alt.machine] = (start, start + alt.duration)
            if not choice:
                raise GreedyInfeasibleError(
                    f"task {task.task_id}: job {j} op {k} fits no availability window of its machines after time "
                    f"{ready[j]}; give the machines later windows"
                )
            options[j] = choice
            best[j] = min((finish, start, m) for m, (start, finish) in choice.items())
        c_star, _, m_star = min(best.values())
        # The job that finishes at c_star is always in the conflict set (durations are positive).
        conflict = [j for j, (_, _, m) in best.items() if m == m_star and options[j][m_star][0] < c_star]
        chosen = max(conflict, key=lambda j: (work_left[j], -options[j][m_star][0], -j))
        k = next_op[chosen]
        start, finish = options[chosen][m_star]
        timelines[m_star].reserve(start, finish)
        result.append(ScheduledOperation(job=chosen, op=k, machine=m_star, start=start))
        work_left[chosen] -= min(alt.duration for alt in jobs[chosen].operations[k].alternatives)
        ready[chosen] = finish
        next_op[chosen] = k + 1
        makespan = max(makespan, finish)
        remaining -= 1
    result.sort(key=lambda e: (e.job, e.op))
    return ScheduleAnswer(operations=tuple(result), makespan=makespan)


__all__ = [
    "MAX_VIOLATIONS",
    "GreedyInfeasibleError",
    "ScheduleCheck",
    "greedy_schedule",
    "check_schedule",
    "makespan_lower_bound",
]
