"""Property tests: the baseline is always feasible, and every perturbation that breaks a constraint is caught."""
from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schedule_strategies import schedule_tasks

from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def _end(task: ScheduleTask, e: ScheduledOperation) -> int:
    return e.start + task.jobs[e.job].operations[e.op].duration_on(e.machine)


def _with(answer: ScheduleAnswer, operations: list[ScheduledOperation]) -> ScheduleAnswer:
    return ScheduleAnswer(operations=tuple(operations), makespan=answer.makespan)


def _assert_caught(task: ScheduleTask, answer: ScheduleAnswer, needle: str) -> None:
    check = check_schedule(task, answer)
    assert not check.feasible
    assert check.makespan is None
    assert any(needle in v for v in check.violations), check.violations


@PROPERTY
@given(schedule_tasks(windows="maybe"))
def test_baseline_always_feasible(task: ScheduleTask) -> None:
    answer = baseline_schedule(task)
    check = check_schedule(task, answer)
    assert check.feasible, check.violations
    assert check.makespan == answer.makespan >= makespan_lower_bound(task)
    assert len(answer.operations) == task.num_operations


@PROPERTY
@given(schedule_tasks(), st.data())
def test_precedence_violation_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)  # sorted by (job, op)
    later = [i for i, e in enumerate(ops) if e.op > 0]
    assume(later)
    i = data.draw(st.sampled_from(later))
    prev_end = _end(task, ops[i - 1])
    ops[i] = ops[i].model_copy(update={"start": data.draw(st.integers(max(0, prev_end - 20), prev_end - 1))})
    _assert_caught(task, _with(answer, ops), f"before op {ops[i].op - 1} ends")


@PROPERTY
@given(schedule_tasks(), st.data())
def test_overlap_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    # Move some operation y onto operation x's machine so that it starts inside x's run.
    pairs = [
        (x, y)
        for x in range(len(ops))
        for y in range(len(ops))
        if x != y and task.jobs[ops[y].job].operations[ops[y].op].duration_on(ops[x].machine) is not None
    ]
    assume(pairs)
    x, y = data.draw(st.sampled_from(pairs))
    start = data.draw(st.integers(ops[x].start, _end(task, ops[x]) - 1))
    ops[y] = ops[y].model_copy(update={"machine": ops[x].machine, "start": start})
    _assert_caught(task, _with(answer, ops), "overlaps")


@PROPERTY
@given(schedule_tasks(), st.data())
def test_wrong_machine_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    i = data.draw(st.integers(0, len(ops) - 1))
    eligible = {a.machine for a in task.jobs[ops[i].job].operations[ops[i].op].alternatives}
    # An ineligible machine of the task, or one beyond the task's machines.
    machine = data.draw(st.sampled_from(sorted(set(range(task.num_machines + 2)) - eligible)))
    ops[i] = ops[i].model_copy(update={"machine": machine})
    _assert_caught(task, _with(answer, ops), f"cannot run on machine {machine}")


@PROPERTY
@given(schedule_tasks(), st.data())
def test_dropped_operation_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    dropped = ops.pop(data.draw(st.integers(0, len(ops) - 1)))
    _assert_caught(task, _with(answer, ops), f"job {dropped.job} op {dropped.op} is not scheduled")


@PROPERTY
@given(schedule_tasks(), st.data())
def test_duplicated_operation_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    copy = ops[data.draw(st.integers(0, len(ops) - 1))]
    if data.draw(st.booleans()):  # the copy elsewhere in time, where it overlaps nothing
        copy = copy.model_copy(update={"start": answer.makespan + 1_000_000})
    ops.insert(data.draw(st.integers(0, len(ops))), copy)
    _assert_caught(task, _with(answer, ops), "is scheduled again")


@PROPERTY
@given(schedule_tasks(), st.integers(-1_000, 1_000).filter(bool))
def test_wrong_makespan_caught(task: ScheduleTask, delta: int) -> None:
    answer = baseline_schedule(task)
    assume(answer.makespan + delta >= 0)
    wrong = ScheduleAnswer(operations=answer.operations, makespan=answer.makespan + delta)
    _assert_caught(task, wrong, "makespan: claimed")


@PROPERTY
@given(schedule_tasks(windows="all"), st.data())
def test_operation_outside_window_caught(task: ScheduleTask, data: st.DataObject) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    i = data.draw(st.integers(0, len(ops) - 1))
    windows = task.windows(ops[i].machine)
    duration = task.jobs[ops[i].job].operations[ops[i].op].duration_on(ops[i].machine)
    # Start in a gap between windows, straddle a window's end, or start before the first window opens.
    w = data.draw(st.integers(0, len(windows) - 2))
    choices = [windows[w][1], windows[w][1] - duration + 1 + data.draw(st.integers(0, duration - 1))]
    if windows[0][0] > 0:
        choices.append(data.draw(st.integers(0, windows[0][0] - 1)))
    start = max(0, data.draw(st.sampled_from(choices)))
    assume(not any(s <= start and start + duration <= e for s, e in windows))
    ops[i] = ops[i].model_copy(update={"start": start})
    _assert_caught(task, _with(answer, ops), "is not inside an availability window")


@PROPERTY
@given(schedule_tasks(), st.randoms(use_true_random=False))
def test_order_of_entries_does_not_matter(task: ScheduleTask, rnd) -> None:
    answer = baseline_schedule(task)
    ops = list(answer.operations)
    rnd.shuffle(ops)
    check = check_schedule(task, _with(answer, ops))
    assert check.feasible and check.makespan == answer.makespan
