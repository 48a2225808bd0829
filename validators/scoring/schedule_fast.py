"""A compiled schedule verifier: the same verdict as `check_schedule`, with the task prepared once.

A validator checks many answers to one task each round, so the task is turned into flat NumPy arrays once and
every answer is checked in one pass of a Numba-compiled function. Only an answer that fails is re-checked by the exact
`check_schedule`, which spells out every violation; the verdicts of the two paths are identical (tested).
"""
from __future__ import annotations

from itertools import chain
from operator import attrgetter

import numpy as np
from numba import njit

from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduleTask

from fabrica.protocol.tasks.schedule_rules import ScheduleCheck, check_schedule

_FIELDS = attrgetter("job", "op", "machine", "start")
_MACHINE_STRIDE = 1 << 42
"""Above every start time (MAX_TIME = 2**40), so machine * stride + start sorts by machine, then start."""


class ScheduleVerifier:
    """Checks answers to one task; build it once per task and call `check` per answer."""

    def __init__(self, task: ScheduleTask) -> None:
        """Compile `task` into arrays: op offsets, a sorted (op, machine) -> duration table, precedence, windows."""
        self.task = task
        counts = np.array([len(job.operations) for job in task.jobs], dtype=np.int64)
        self._num_jobs = len(counts)
        self._counts = counts
        self._offset = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        self._num_ops = int(counts.sum())
        self._num_machines = task.num_machines
        keys: list[int] = []
        durations: list[int] = []
        flat = 0
        for job in task.jobs:
            for op in job.operations:
                for alt in op.alternatives:
                    keys.append(flat * task.num_machines + alt.machine)
                    durations.append(alt.duration)
                flat += 1
        order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
        self._keys = np.array(keys, dtype=np.int64)[order]
        self._durations = np.array(durations, dtype=np.int64)[order]
        # Availability as CSR over machines: windows of machine m are [ptr[m], ptr[m+1]) of start/end.
        self._windowed = np.zeros(task.num_machines, dtype=np.bool_)
        ptr, starts, ends = [0], [], []
        for m in range(task.num_machines):
            windows = task.windows(m)
            if windows is not None:
                self._windowed[m] = True
                starts += [w[0] for w in windows]
                ends += [w[1] for w in windows]
            ptr.append(len(starts))
        self._window_ptr = np.array(ptr, dtype=np.int64)
        self._window_start = np.array(starts, dtype=np.int64)
        self._window_end = np.array(ends, dtype=np.int64)

    def check(self, answer: ScheduleAnswer) -> ScheduleCheck:
        """The exact verdict on `answer` (feasible, makespan, violations), as `check_schedule` gives it."""
        if self._feasible_makespan(answer) is None:
            return check_schedule(self.task, answer)
        return ScheduleCheck(feasible=True, makespan=answer.makespan, violations=[])

    def _feasible_makespan(self, answer: ScheduleAnswer) -> int | None:
        """The makespan when `answer` is feasible, else None (no explanation: the slow path gives it)."""
        ops = answer.operations
        if len(ops) != self._num_ops or self._num_ops == 0:
            return None
        try:
            rows = np.fromiter(chain.from_iterable(map(_FIELDS, ops)), dtype=np.int64, count=4 * len(ops))
        except OverflowError:  # an index beyond int64 is certainly wrong; the exact path names it
            return None
        makespan = _verify(
            rows, answer.makespan, self._counts, self._offset, self._num_machines, self._keys, self._durations,
            self._windowed, self._window_ptr, self._window_start, self._window_end,
        )
        return None if makespan < 0 else int(makespan)


@njit(cache=True, nogil=True)
def _verify(rows, claimed, counts, offset, num_machines, keys, durations, windowed, wptr, wstart, wend):  # pragma: no cover - compiled
    """Makespan of the flat answer `rows` (job, op, machine, start)*, or -1 when any constraint fails."""
    num_ops = offset[-1] + counts[-1]
    num_jobs = counts.shape[0]
    n = rows.shape[0] // 4
    if n != num_ops:
        return -1
    seen = np.zeros(num_ops, dtype=np.bool_)
    start_of = np.empty(num_ops, dtype=np.int64)
    end_of = np.empty(num_ops, dtype=np.int64)
    machine_of = np.empty(num_ops, dtype=np.int64)
    makespan = 0
    for i in range(n):
        j, k, m, s = rows[4 * i], rows[4 * i + 1], rows[4 * i + 2], rows[4 * i + 3]
        if j >= num_jobs or k >= counts[j] or m >= num_machines:
            return -1
        flat = offset[j] + k
        if seen[flat]:
            return -1
        seen[flat] = True
        key = flat * num_machines + m
        at = np.searchsorted(keys, key)
        if at >= keys.shape[0] or keys[at] != key:
            return -1  # not eligible on this machine
        e = s + durations[at]
        if windowed[m]:
            lo, hi = wptr[m], wptr[m + 1]
            w = np.searchsorted(wstart[lo:hi], s, side="right") - 1
            if w < 0 or e > wend[lo + w]:
                return -1
        start_of[flat] = s
        end_of[flat] = e
        machine_of[flat] = m
        if e > makespan:
            makespan = e
    # n distinct flat indices out of n: every operation is present exactly once.
    for j in range(num_jobs):
        base = offset[j]
        for k in range(1, counts[j]):
            if start_of[base + k] < end_of[base + k - 1]:
                return -1
    # Durations are >= 1, so two runs starting together on a machine always overlap and sorting by
    # (machine, start) alone finds every overlap between neighbours.
    order = np.argsort(machine_of * _MACHINE_STRIDE + start_of, kind="mergesort")
    for t in range(1, n):
        a, b = order[t - 1], order[t]
        if machine_of[a] == machine_of[b] and start_of[b] < end_of[a]:
            return -1
    return makespan if makespan == claimed else -1
