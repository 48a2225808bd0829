"""Wire schemas of the subnet's schedule task: a flexible job shop, answered with a machine and start per operation.

A task is a list of jobs; a job is an ordered list of operations; an operation lists the machines it may run
on, each with its (integer, positive) duration there. Machines may have availability windows: half-open
intervals `[start, end)` of integer time; an operation assigned to such a machine must lie entirely inside
one of its windows. The objective is the makespan (the end of the last operation).

An answer gives, for every operation, `{"job": j, "op": k, "machine": m, "start": t}` (0-based indices) and
the makespan it claims. These models check only the shape of an answer; whether it is a feasible schedule for
a task is decided by `fabrica.protocol.tasks.schedule_rules.check_schedule`.

Use `parse_task` / `parse_answer` on untrusted input: they raise `ScheduleSchemaError` (a
`FabricaValueError`) naming every offending field.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, model_validator

from fabrica.protocol.errors import FabricaValueError

from .wire import WireModel, parse_wire

SCHEDULE_SCHEMA_VERSION = 1
"""Version of both schedule wire schemas; bumped on any incompatible change."""

DEFAULT_DEADLINE_MS = 10_000
"""Answer deadline given to tasks that come from a benchmark file (which carries none)."""

MAX_TIME = 2**40
"""Upper bound for every duration, window bound and start time (keeps arithmetic exact and bounded)."""

MAX_OPERATIONS = 100_000
"""Upper bound on the number of operations in one task (and entries in one answer)."""

MAX_MACHINES = 10_000

Index = Annotated[int, Strict(), Field(ge=0)]
Time = Annotated[int, Strict(), Field(ge=0, le=MAX_TIME)]
Duration = Annotated[int, Strict(), Field(ge=1, le=MAX_TIME)]
Window = tuple[Time, Time]
"""A half-open availability interval `[start, end)`, written `[start, end]` on the wire."""


class ScheduleSchemaError(FabricaValueError):
    """A schedule task or answer does not match its wire schema; the message names each offending field."""




class Alternative(WireModel):
    """One way to run an operation: on `machine`, taking `duration` time units."""

    machine: Index
    duration: Duration


class Operation(WireModel):
    """One step of a job; it runs on exactly one of its alternatives."""

    alternatives: tuple[Alternative, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_machines(self) -> Operation:
        seen: set[int] = set()
        for i, alt in enumerate(self.alternatives):
            if alt.machine in seen:
                raise ValueError(f"alternatives[{i}].machine = {alt.machine} is listed twice; give each machine once")
            seen.add(alt.machine)
        return self

    def duration_on(self, machine: int) -> int | None:
        """The duration on `machine`, or None when the operation cannot run there."""
        for alt in self.alternatives:
            if alt.machine == machine:
                return alt.duration
        return None


class Job(WireModel):
    """An ordered list of operations: each may start only when the previous one has ended."""

    operations: tuple[Operation, ...] = Field(min_length=1)


class ScheduleTask(WireModel):
    """A flexible job-shop scheduling task with optional machine availability windows."""

    schema_version: Literal[1] = SCHEDULE_SCHEMA_VERSION
    kind: Literal["schedule"] = "schedule"
    task_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    num_machines: Annotated[int, Strict(), Field(ge=1, le=MAX_MACHINES)]
    jobs: tuple[Job, ...] = Field(min_length=1)
    availability: tuple[tuple[Window, ...] | None, ...] | None = None
    """Per machine: its availability windows (sorted, disjoint), or null for always available.
    Null for the whole field: every machine is always available."""
    objective: Literal["makespan"] = "makespan"
    deadline_ms: Annotated[int, Strict(), Field(ge=1, le=3_600_000)] = DEFAULT_DEADLINE_MS

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleTask:
        total = sum(len(job.operations) for job in self.jobs)
        if total > MAX_OPERATIONS:
            raise ValueError(f"jobs: {total} operations exceed the limit of {MAX_OPERATIONS}")
        m = self.num_machines
        if self.availability is not None:
            if len(self.availability) != m:
                raise ValueError(
                    f"availability has {len(self.availability)} entries but num_machines = {m}; "
                    "give one entry per machine (null = always available)"
                )
            for mi, windows in enumerate(self.availability):
                if windows is None:
                    continue
                prev_end = -1
                for wi, (start, end) in enumerate(windows):
                    where = f"availability[{mi}][{wi}] = [{start}, {end}]"
                    if start >= end:
                        raise ValueError(f"{where}: a window [start, end) needs start < end")
                    if start < prev_end:
                        raise ValueError(f"{where}: windows must be sorted and must not overlap the previous one")
                    prev_end = end
        for j, job in enumerate(self.jobs):
            for k, op in enumerate(job.operations):
                for a, alt in enumerate(op.alternatives):
                    if alt.machine >= m:
                        raise ValueError(
                            f"jobs[{j}].operations[{k}].alternatives[{a}].machine = {alt.machine} is out of range: "
                            f"the task has {m} machines (0..{m - 1})"
                        )
                if not any(self._fits_somewhere(alt.machine, alt.duration) for alt in op.alternatives):
                    raise ValueError(
                        f"jobs[{j}].operations[{k}]: no eligible machine has an availability window long enough "
                        "for its duration there; the task has no feasible schedule"
                    )
        return self

    def _fits_somewhere(self, machine: int, duration: int) -> bool:
        windows = self.windows(machine)
        return windows is None or any(end - start >= duration for start, end in windows)

    def windows(self, machine: int) -> tuple[Window, ...] | None:
        """The availability windows of `machine`, or None when it is always available."""
        if self.availability is None:
            return None
        return self.availability[machine]

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    @property
    def num_operations(self) -> int:
        return sum(len(job.operations) for job in self.jobs)

    @property
    def is_classic(self) -> bool:
        """True for a classic job shop: one machine per operation and no availability windows."""
        return self.availability is None and all(
            len(op.alternatives) == 1 for job in self.jobs for op in job.operations
        )


class ScheduledOperation(WireModel):
    """Where and when one operation runs: job `job`'s operation `op` on `machine` from `start`."""

    job: Index
    op: Index
    machine: Index
    start: Time


class ScheduleAnswer(WireModel):
    """A miner's answer to a `ScheduleTask`: one entry per operation and the makespan it claims."""

    schema_version: Literal[1] = SCHEDULE_SCHEMA_VERSION
    operations: tuple[ScheduledOperation, ...] = Field(max_length=MAX_OPERATIONS)
    makespan: Annotated[int, Strict(), Field(ge=0, le=2 * MAX_TIME)]


def parse_task(data: str | bytes | Mapping[str, Any]) -> ScheduleTask:
    """Validate a schedule task from JSON text or a mapping; raises `ScheduleSchemaError` naming the fields."""
    return parse_wire(ScheduleTask, "schedule task", data, ScheduleSchemaError)


def parse_answer(data: str | bytes | Mapping[str, Any]) -> ScheduleAnswer:
    """Validate a schedule answer from JSON text or a mapping; raises `ScheduleSchemaError` naming the fields."""
    return parse_wire(ScheduleAnswer, "schedule answer", data, ScheduleSchemaError)


__all__ = [
    "DEFAULT_DEADLINE_MS",
    "MAX_OPERATIONS",
    "MAX_TIME",
    "SCHEDULE_SCHEMA_VERSION",
    "Alternative",
    "Job",
    "Operation",
    "ScheduleAnswer",
    "ScheduleSchemaError",
    "ScheduleTask",
    "ScheduledOperation",
    "parse_answer",
    "parse_task",
]
