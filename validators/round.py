"""Scoring one round: pure functions from (task, baseline, what each miner sent and when) to scores in [0, 1].

Rules, applied per task (one schedule and one design task per round):

1. An answer scores 0 unless it arrived in time (within deadline + grace), with HTTP 200, parses as the task's
   answer model and is feasible by the validator's own check (schedules: `check_schedule`; designs:
   `check_design`, whose compliance comes from the validator's own FE solve; the miner's claims are not used).
2. Copies share no credit. Feasible answers are grouped: schedules by the digest of their machine sequences
   (which operations each machine runs, in which order: a schedule with shifted start times but the same
   sequences is the same solution); designs by the exact digest of their densities (rounded to 1e-6) and, for
   near-identical fields, by a mean absolute density difference of at most `DESIGN_COPY_TOLERANCE` (linked
   transitively). In each group only the answer received first (ties: the lower uid) is credited; the others
   score 0 and are reported as copies of it.
3. Each credited answer is scored by `banded_score` against the validator's baseline on the same task (the
   greedy list schedule; 12 SIMP/OC iterations for designs): worse than the baseline 0, equal `FLOOR`, better
   rising linearly to 1 at the round's best credited value. Beating the baseline therefore always pays more
   than matching it, and a better objective never scores less within a round.

A miner's round score is the mean of its task scores over the round's tasks (a task it was not sent counts 0).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.design import DesignAnswer, DesignTask
from fabrica.protocol.tasks.design import parse_answer as parse_design_answer
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduleTask
from fabrica.protocol.tasks.schedule import parse_answer as parse_schedule_answer

from .scoring.bands import banded_score
from .scoring.design import baseline_compliance, check_design
from .scoring.schedule import BaselineInfeasibleError, baseline_schedule
from .scoring.schedule_fast import ScheduleVerifier

DESIGN_COPY_TOLERANCE = 0.01
"""Two density fields whose mean absolute difference is at most this are the same design."""


@dataclass(frozen=True)
class Submission:
    """What one miner sent for one task: the query status, the raw body, and when it was received."""

    uid: int
    hotkey: str
    status: str
    """The query status ("ok" when an answer arrived in time with HTTP 200; see `query.Status`)."""
    body: bytes | None
    received_s: float
    """Seconds from the round's send to the last byte received (orders copies)."""


@dataclass
class Scored:
    """The verdict on one submission."""

    uid: int
    hotkey: str
    status: str
    """"credited", "copy", "infeasible", "malformed", or the query status when no usable answer came."""
    score: float = 0.0
    value: float | None = None
    """The objective recomputed by the validator (makespan or compliance), when feasible."""
    copy_of: int | None = None
    digest: str | None = None
    detail: str = ""


@dataclass
class TaskResult:
    """One task's outcome: its baseline, the round's best credited value, and every miner's verdict."""

    kind: str
    task_id: str
    size: str
    baseline: float | None
    best: float | None
    scored: dict[int, Scored] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for s in self.scored.values() if s.status == status)


def task_size(task: ScheduleTask | DesignTask) -> str:
    if isinstance(task, ScheduleTask):
        flex = "" if task.is_classic else " flex"
        return f"{task.num_jobs}x{task.num_machines}{flex}"
    return f"{task.nelx}x{task.nely} vf{task.volfrac:g}"


def baseline_value(task: ScheduleTask | DesignTask) -> float | None:
    """The validator's baseline objective on `task` (None when the greedy schedule finds no placement)."""
    if isinstance(task, ScheduleTask):
        try:
            return float(baseline_schedule(task).makespan)
        except BaselineInfeasibleError:
            return None
    return baseline_compliance(task)


def schedule_digest(answer: ScheduleAnswer) -> str:
    """sha256 of the canonical answer: its (job, op, machine, start) entries sorted."""
    rows = sorted((e.job, e.op, e.machine, e.start) for e in answer.operations)
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def schedule_sequence_digest(answer: ScheduleAnswer) -> str:
    """sha256 of the machine sequences: per machine, its (job, op) in start order; start times are left out."""
    per_machine: dict[int, list[tuple[int, int, int]]] = {}
    for e in answer.operations:
        per_machine.setdefault(e.machine, []).append((e.start, e.job, e.op))
    seqs = {str(m): [(j, k) for _, j, k in sorted(runs)] for m, runs in sorted(per_machine.items())}
    return hashlib.sha256(json.dumps(seqs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def design_digest(densities: np.ndarray) -> str:
    """sha256 of the densities rounded to 1e-6 (so float noise in the last digits changes nothing)."""
    q = np.round(np.asarray(densities, dtype=float), 6) + 0.0  # + 0.0 folds -0.0 into 0.0
    return hashlib.sha256(q.shape.__repr__().encode() + q.tobytes()).hexdigest()


class _UnionFind:
    def __init__(self, items: Sequence[int]) -> None:
        self.parent = {i: i for i in items}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def score_task(
    task: ScheduleTask | DesignTask,
    baseline: float | None,
    submissions: Sequence[Submission],
    design_copy_tolerance: float = DESIGN_COPY_TOLERANCE,
) -> TaskResult:
    """Score every submission to `task` by the rules of this module (pure: same inputs, same result)."""
    kind = "schedule" if isinstance(task, ScheduleTask) else "design"
    result = TaskResult(kind=kind, task_id=task.task_id, size=task_size(task), baseline=baseline, best=None)
    verifier = ScheduleVerifier(task) if isinstance(task, ScheduleTask) else None
    feasible: list[Submission] = []
    group_key: dict[int, str] = {}
    fields: dict[int, np.ndarray] = {}
    checked: dict[str, tuple[bool, float | None, str]] = {}  # exact digest -> verdict, so copies are checked once

    for sub in submissions:
        verdict = result.scored[sub.uid] = Scored(sub.uid, sub.hotkey, sub.status)
        if sub.status != "ok" or sub.body is None:
            continue
        try:
            if verifier is not None:
                answer: ScheduleAnswer | DesignAnswer = parse_schedule_answer(sub.body)
            else:
                answer = parse_design_answer(sub.body)
        except FabricaValueError as exc:
            verdict.status, verdict.detail = "malformed", str(exc)[:300]
            continue
        if isinstance(answer, ScheduleAnswer):
            digest = schedule_digest(answer)
            if digest not in checked:
                check = verifier.check(answer)
                checked[digest] = (check.feasible, check.makespan, "; ".join(check.violations[:3]))
            key = schedule_sequence_digest(answer)
        else:
            x = np.asarray(answer.densities, dtype=float) if _rectangular(answer) else None
            digest = design_digest(x) if x is not None else hashlib.sha256(sub.body).hexdigest()
            if digest not in checked:
                dcheck = check_design(task, answer)
                checked[digest] = (dcheck.feasible, dcheck.compliance, "; ".join(dcheck.violations[:3]))
            key = digest
            if x is not None:
                fields[sub.uid] = x
        ok, value, why = checked[digest]
        verdict.digest = digest
        if not ok:
            verdict.status, verdict.detail = "infeasible", why
            continue
        verdict.value = float(value)
        feasible.append(sub)
        group_key[sub.uid] = key

    # Copy groups: identical keys, and for designs near-identical fields.
    groups = _UnionFind([s.uid for s in feasible])
    first_with_key: dict[str, int] = {}
    for s in feasible:
        other = first_with_key.setdefault(group_key[s.uid], s.uid)
        groups.union(other, s.uid)
    if kind == "design" and len(feasible) > 1:
        uids = [s.uid for s in feasible]
        stack = np.stack([fields[u].ravel() for u in uids])
        for i in range(len(uids) - 1):
            diffs = np.abs(stack[i + 1:] - stack[i]).mean(axis=1)
            for j in np.nonzero(diffs <= design_copy_tolerance)[0]:
                groups.union(uids[i], uids[i + 1 + int(j)])
    leader: dict[int, Submission] = {}
    for s in sorted(feasible, key=lambda s: (s.received_s, s.uid)):
        leader.setdefault(groups.find(s.uid), s)

    credited = [s for s in feasible if leader[groups.find(s.uid)].uid == s.uid]
    values = [result.scored[s.uid].value for s in credited]
    if baseline is None:  # no baseline (never for generated tasks): the worst credited answer is the floor
        baseline = max(values, default=None)
        result.baseline = baseline
    result.best = min([*values, baseline]) if values and baseline is not None else baseline
    for s in feasible:
        verdict = result.scored[s.uid]
        first = leader[groups.find(s.uid)]
        if first.uid != s.uid:
            verdict.status, verdict.copy_of, verdict.score = "copy", first.uid, 0.0
            verdict.detail = f"same solution as uid {first.uid}, received earlier"
            continue
        verdict.status = "credited"
        verdict.score = banded_score(verdict.value, baseline, result.best) if baseline is not None else 0.0
    return result


def _rectangular(answer: DesignAnswer) -> bool:
    rows = answer.densities
    return all(len(r) == len(rows[0]) for r in rows)


def combine(results: Sequence[TaskResult], uids: Sequence[int]) -> dict[int, float]:
    """Each uid's round score: the mean of its task scores over the round's tasks (missing = 0)."""
    if not results:
        return {uid: 0.0 for uid in uids}
    return {
        uid: sum(r.scored[uid].score if uid in r.scored else 0.0 for r in results) / len(results) for uid in uids
    }


def round_scores(tasks: Mapping[str, tuple[ScheduleTask | DesignTask, float | None, Sequence[Submission]]],
                 uids: Sequence[int]) -> tuple[list[TaskResult], dict[int, float]]:
    """Score every task of a round and combine: `tasks` maps kind -> (task, baseline, submissions)."""
    results = [score_task(task, baseline, subs) for task, baseline, subs in tasks.values()]
    return results, combine(results, uids)


__all__ = [
    "DESIGN_COPY_TOLERANCE",
    "Scored",
    "Submission",
    "TaskResult",
    "baseline_value",
    "combine",
    "design_digest",
    "round_scores",
    "schedule_digest",
    "schedule_sequence_digest",
    "score_task",
    "task_size",
]
