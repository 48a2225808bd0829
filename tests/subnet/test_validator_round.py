"""Scoring a round (pure): copies share no credit, late and broken answers score 0, better never scores less."""
from __future__ import annotations

import json
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrica.protocol.tasks.design import mbb_beam
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask
from fabrica.validators.round import Submission, baseline_value, combine, score_task
from fabrica.validators.scoring.bands import FLOOR
from fabrica.validators.scoring.design import baseline_densities
from fabrica.validators.scoring.schedule import baseline_schedule
from fabrica.validators.tasks import generate_schedule_task

TASK = generate_schedule_task(b"round-tests", 1, flexible=False)
BASELINE = baseline_value(TASK)


def _body(answer: ScheduleAnswer) -> bytes:
    return answer.model_dump_json().encode()


def _sub(uid: int, body: bytes | None, at: float, status: str = "ok") -> Submission:
    return Submission(uid=uid, hotkey=f"hk{uid}", status=status, body=body, received_s=at)


def random_schedule(task: ScheduleTask, seed: int) -> ScheduleAnswer:
    """A feasible semi-active schedule of a classic job shop from a random dispatch order."""
    rng = random.Random(seed)
    next_op = [0] * task.num_jobs
    job_ready = [0] * task.num_jobs
    machine_ready = [0] * task.num_machines
    ops = []
    pending = [j for j, job in enumerate(task.jobs) for _ in job.operations]
    rng.shuffle(pending)
    for j in pending:
        alt = task.jobs[j].operations[next_op[j]].alternatives[0]
        start = max(job_ready[j], machine_ready[alt.machine])
        ops.append(ScheduledOperation(job=j, op=next_op[j], machine=alt.machine, start=start))
        job_ready[j] = machine_ready[alt.machine] = start + alt.duration
        next_op[j] += 1
    return ScheduleAnswer(operations=tuple(ops), makespan=max(job_ready))


def test_exact_and_shifted_copies_share_no_credit_and_the_earliest_keeps_it() -> None:
    base = baseline_schedule(TASK)
    # Same machine sequences, every start one later: a different digest, the same solution.
    shifted = ScheduleAnswer(
        operations=tuple(op.model_copy(update={"start": op.start + 1}) for op in base.operations),
        makespan=base.makespan + 1,
    )
    reordered = ScheduleAnswer(operations=tuple(reversed(base.operations)), makespan=base.makespan)
    other = random_schedule(TASK, 1)
    result = score_task(TASK, BASELINE, [
        _sub(5, _body(base), 0.30),  # not the lowest uid, but received first
        _sub(1, _body(base), 0.40),  # exact copy
        _sub(2, _body(reordered), 0.35),  # the same answer, entries in another order
        _sub(3, _body(shifted), 0.10 + 0.25),  # near-identical (same sequences), later than uid 5
        _sub(4, _body(other), 0.90),  # an independent (worse) schedule: its own credit
    ])
    s = result.scored
    assert s[5].status == "credited" and s[5].score == FLOOR  # equal to the baseline: the floor
    for uid in (1, 2, 3):
        assert s[uid].status == "copy" and s[uid].copy_of == 5 and s[uid].score == 0.0
    assert s[1].digest == s[5].digest == s[2].digest != s[3].digest
    assert s[4].status == "credited" and s[4].copy_of is None


def test_late_broken_and_infeasible_answers_score_zero() -> None:
    good = baseline_schedule(TASK)
    broken = json.loads(_body(good))
    broken["operations"][3]["start"] = 0
    result = score_task(TASK, BASELINE, [
        _sub(0, _body(good), 0.1),
        _sub(1, _body(good), 11.0, status="timeout"),
        _sub(2, _body(good), 12.0, status="late"),
        _sub(3, b"{not json", 0.2),
        _sub(4, json.dumps({"operations": [], "makespan": -1}).encode(), 0.2),
        _sub(5, json.dumps(broken).encode(), 0.2),
        _sub(6, b"Internal Server Error", 0.2, status="http_error"),
        _sub(7, None, 0.0, status="unreachable"),
    ])
    statuses = {uid: (v.status, v.score) for uid, v in result.scored.items()}
    assert statuses[0] == ("credited", FLOOR)
    assert statuses[1] == ("timeout", 0.0) and statuses[2] == ("late", 0.0)
    assert statuses[3] == ("malformed", 0.0) and statuses[4] == ("malformed", 0.0)
    assert statuses[5] == ("infeasible", 0.0) and result.scored[5].detail
    assert statuses[6] == ("http_error", 0.0) and statuses[7] == ("unreachable", 0.0)
    assert combine([result], [0, 1, 9]) == {0: FLOOR, 1: 0.0, 9: 0.0}


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=8, unique=True))
def test_a_better_makespan_never_scores_less(seeds: list[int]) -> None:
    answers = [random_schedule(TASK, s) for s in seeds] + [baseline_schedule(TASK)]
    subs = [_sub(uid, _body(a), 0.1 * uid) for uid, a in enumerate(answers)]
    result = score_task(TASK, BASELINE, subs)
    credited = [v for v in result.scored.values() if v.status == "credited"]
    for a in credited:
        assert 0.0 <= a.score <= 1.0
        assert (a.score > FLOOR) == (a.value < BASELINE) and (a.score == 0.0) == (a.value > BASELINE)
        for b in credited:
            if a.value < b.value:
                assert a.score >= b.score
            if a.value == b.value:
                assert a.score == b.score
    best = min(v.value for v in credited)
    assert result.best == min(best, BASELINE)
    if best < BASELINE:
        assert max(v.score for v in credited) == 1.0


def test_near_identical_designs_are_copies_and_a_better_design_scores_more() -> None:
    task = mbb_beam(nelx=30, nely=10, volfrac=0.5, rmin=1.5, task_id="mbb-30")
    baseline = baseline_value(task)
    good = baseline_densities(task, 30)
    noisy = np.clip(good - np.random.default_rng(0).uniform(0, 0.008, good.shape), 0, 1)  # copy plus noise
    base = baseline_densities(task)
    uniform = np.full(good.shape, task.volfrac)

    def body(x: np.ndarray) -> bytes:
        return json.dumps({"densities": x.tolist()}).encode()

    result = score_task(task, baseline, [
        _sub(0, body(noisy), 0.9), _sub(1, body(good), 0.5), _sub(2, body(base), 0.6), _sub(3, body(uniform), 0.7),
        _sub(4, body(np.ones_like(good)), 0.1),
    ])
    s = result.scored
    assert s[1].status == "credited" and s[1].score == 1.0
    assert s[0].status == "copy" and s[0].copy_of == 1 and s[0].score == 0.0
    assert s[2].status == "credited" and s[2].score == FLOOR  # the baseline itself
    assert s[3].status == "credited" and s[3].score == 0.0  # worse than the baseline
    assert s[4].status == "infeasible" and "volume" in s[4].detail
