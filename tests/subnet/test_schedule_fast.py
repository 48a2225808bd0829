"""The compiled verifier gives exactly `check_schedule`'s verdict, on feasible answers and on random damage."""
from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schedule_strategies import schedule_tasks
from test_schedule_benchmarks import BENCHMARKS

from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule
from fabrica.validators.scoring.schedule_fast import ScheduleVerifier

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def _damage(task: ScheduleTask, answer: ScheduleAnswer, data: st.DataObject) -> ScheduleAnswer:
    """Apply one to three random edits of the kinds a bad miner (or a bug) produces."""
    ops = list(answer.operations)
    makespan = answer.makespan
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["start", "machine", "drop", "dup", "makespan", "swap", "job", "op"]))
        i = data.draw(st.integers(0, len(ops) - 1)) if ops else 0
        if kind == "start" and ops:
            ops[i] = ops[i].model_copy(update={"start": max(0, ops[i].start + data.draw(st.integers(-30, 30)))})
        elif kind == "machine" and ops:
            ops[i] = ops[i].model_copy(update={"machine": data.draw(st.integers(0, task.num_machines))})
        elif kind == "drop" and ops:
            ops.pop(i)
        elif kind == "dup" and ops:
            ops.insert(data.draw(st.integers(0, len(ops))), ops[i])
        elif kind == "makespan":
            makespan = max(0, makespan + data.draw(st.integers(-5, 5)))
        elif kind == "swap" and len(ops) > 1:
            k = data.draw(st.integers(0, len(ops) - 1))
            ops[i], ops[k] = ops[i].model_copy(update={"start": ops[k].start}), ops[k].model_copy(
                update={"start": ops[i].start}
            )
        elif kind == "job" and ops:
            ops[i] = ops[i].model_copy(update={"job": data.draw(st.integers(0, len(task.jobs)))})
        elif kind == "op" and ops:
            ops[i] = ops[i].model_copy(update={"op": data.draw(st.integers(0, 6))})
    return ScheduleAnswer(operations=tuple(ops), makespan=makespan)


@settings(PROPERTY)
@given(schedule_tasks(windows="maybe"), st.data())
def test_same_verdict_as_exact_checker(task: ScheduleTask, data: st.DataObject) -> None:
    verifier = ScheduleVerifier(task)
    good = baseline_schedule(task)
    assert verifier.check(good) == check_schedule(task, good)
    assert verifier.check(good).feasible
    bad = _damage(task, good, data)
    assert verifier.check(bad) == check_schedule(task, bad)


@settings(PROPERTY)
@given(schedule_tasks(windows="maybe"), st.randoms(use_true_random=False))
def test_entry_order_does_not_matter(task: ScheduleTask, rnd) -> None:
    good = baseline_schedule(task)
    ops = list(good.operations)
    rnd.shuffle(ops)
    shuffled = ScheduleAnswer(operations=tuple(ops), makespan=good.makespan)
    assert ScheduleVerifier(task).check(shuffled).feasible


def test_zero_length_answer_and_touching_runs() -> None:
    task = ScheduleTask.model_validate(
        {"task_id": "t", "num_machines": 1, "jobs": [
            {"operations": [{"alternatives": [{"machine": 0, "duration": 5}]}]},
            {"operations": [{"alternatives": [{"machine": 0, "duration": 5}]}]},
        ]}
    )
    verifier = ScheduleVerifier(task)
    touching = ScheduleAnswer(
        operations=(ScheduledOperation(job=0, op=0, machine=0, start=0), ScheduledOperation(job=1, op=0, machine=0, start=5)),
        makespan=10,
    )
    assert verifier.check(touching).feasible
    overlapping = touching.model_copy(update={"operations": (touching.operations[0], touching.operations[1].model_copy(update={"start": 4})), "makespan": 9})
    check = verifier.check(overlapping)
    assert not check.feasible and any("overlaps" in v for v in check.violations)
    empty = ScheduleAnswer(operations=(), makespan=0)
    assert verifier.check(empty) == check_schedule(task, empty)
    assert not verifier.check(empty).feasible


@pytest.mark.parametrize("name", ["ft06", "la36"])
def test_benchmark_instance(name: str) -> None:
    task = load_task(BENCHMARKS / "jssp" / f"{name}.txt")
    good = baseline_schedule(task)
    assert ScheduleVerifier(task).check(good) == check_schedule(task, good)


def test_index_beyond_int64_is_named_not_crashed() -> None:
    task = load_task(BENCHMARKS / "jssp" / "ft06.txt")
    good = baseline_schedule(task)
    ops = list(good.operations)
    ops[0] = ops[0].model_copy(update={"machine": 2**70})
    bad = ScheduleAnswer(operations=tuple(ops), makespan=good.makespan)
    check = ScheduleVerifier(task).check(bad)
    assert check == check_schedule(task, bad) and not check.feasible
