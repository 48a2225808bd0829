"""Wire schemas of the schedule task and answer: round trips, strictness, and errors that name the field."""
from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from fabrica.protocol.errors import FabricaError, FabricaValueError
from fabrica.protocol.tasks.schedule import (
    SCHEDULE_SCHEMA_VERSION,
    ScheduleAnswer,
    ScheduleSchemaError,
    ScheduleTask,
    parse_answer,
    parse_task,
)

TASK = {
    "task_id": "t-1",
    "num_machines": 3,
    "jobs": [
        {"operations": [{"alternatives": [{"machine": 0, "duration": 3}, {"machine": 2, "duration": 5}]},
                        {"alternatives": [{"machine": 1, "duration": 2}]}]},
        {"operations": [{"alternatives": [{"machine": 1, "duration": 4}]}]},
    ],
    "availability": [None, [[0, 10], [12, 40]], None],
    "deadline_ms": 5000,
}
ANSWER = {"operations": [{"job": 0, "op": 0, "machine": 0, "start": 0}], "makespan": 3}


def _bad(path: str, value: object) -> dict:
    """TASK with the value at a dotted path (ints index lists) replaced, or deleted when value is ...."""
    data = copy.deepcopy(TASK)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for p in parents:
        node = node[p]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


def test_task_round_trips_through_json() -> None:
    task = parse_task(TASK)
    assert task.schema_version == SCHEDULE_SCHEMA_VERSION == 1
    assert task.objective == "makespan" and task.kind == "schedule"
    assert parse_task(task.model_dump_json()) == task
    assert json.loads(task.model_dump_json())["availability"] == [None, [[0, 10], [12, 40]], None]
    assert (task.num_jobs, task.num_operations, task.is_classic) == (2, 3, False)
    assert task.jobs[0].operations[0].duration_on(2) == 5
    assert task.jobs[0].operations[0].duration_on(1) is None
    assert task.windows(0) is None and task.windows(1) == ((0, 10), (12, 40))


def test_answer_matches_the_documented_json() -> None:
    answer = parse_answer(json.dumps(ANSWER))
    assert answer.operations[0].machine == 0 and answer.makespan == 3
    assert parse_answer(answer.model_dump_json()) == answer
    assert json.loads(answer.model_dump_json(exclude={"schema_version"})) == ANSWER


def test_models_are_frozen() -> None:
    task = parse_task(TASK)
    with pytest.raises(ValidationError):
        task.num_machines = 4  # type: ignore[misc]
    with pytest.raises(ValidationError):
        parse_answer(ANSWER).makespan = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("jobs.0.operations.0.alternatives.0.duration", -3, "jobs[0].operations[0].alternatives[0].duration: Input should be greater than or equal to 1"),
        ("jobs.0.operations.0.alternatives.0.duration", 0, "alternatives[0].duration: Input should be greater than or equal to 1"),
        ("jobs.0.operations.0.alternatives.0.duration", 2.5, "alternatives[0].duration: Input should be a valid integer"),
        ("jobs.0.operations.0.alternatives.0.duration", "3", "alternatives[0].duration: Input should be a valid integer"),
        ("jobs.0.operations.0.alternatives.0.duration", True, "alternatives[0].duration: Input should be a valid integer"),
        ("jobs.0.operations.1.alternatives.0.machine", 3, "jobs[0].operations[1].alternatives[0].machine = 3 is out of range: the task has 3 machines (0..2)"),
        ("jobs.0.operations.1.alternatives.0.machine", -1, "jobs[0].operations[1].alternatives[0].machine: Input should be greater than or equal to 0"),
        ("jobs.0.operations.0.alternatives.1.machine", 0, "alternatives[1].machine = 0 is listed twice"),
        ("jobs", [], "jobs: Tuple should have at least 1 item"),
        ("jobs.1.operations", [], "jobs[1].operations: Tuple should have at least 1 item"),
        ("jobs.1.operations.0.alternatives", [], "jobs[1].operations[0].alternatives: Tuple should have at least 1 item"),
        ("num_machines", 0, "num_machines: Input should be greater than or equal to 1"),
        ("task_id", "", "task_id: String should have at least 1 character"),
        ("task_id", "a b", "task_id: String should match pattern"),
        ("deadline_ms", 0, "deadline_ms: Input should be greater than or equal to 1"),
        ("availability", [None, None], "availability has 2 entries but num_machines = 3"),
        ("availability.1.0", [5, 5], "availability[1][0] = [5, 5]: a window [start, end) needs start < end"),
        ("availability.1.1", [8, 20], "availability[1][1] = [8, 20]: windows must be sorted and must not overlap"),
        ("availability.1.0", [-1, 4], "availability[1][0][0]: Input should be greater than or equal to 0"),
        ("availability.1", [[0, 3]], "jobs[1].operations[0]: no eligible machine has an availability window long enough"),
        ("objective", "tardiness", "objective: Input should be 'makespan'"),
        ("schema_version", 2, "schema_version: Input should be 1"),
        ("extra", 1, "extra: Extra inputs are not permitted"),
        ("jobs.0.operations.0.extra", 1, "jobs[0].operations[0].extra: Extra inputs are not permitted"),
        ("task_id", ..., "task_id: Field required"),
    ],
)
def test_invalid_task_names_the_field(path: str, value: object, message: str) -> None:
    with pytest.raises(ScheduleSchemaError) as info:
        parse_task(_bad(path, value))
    assert message in str(info.value)
    assert str(info.value).startswith("invalid schedule task: ")
    assert isinstance(info.value, FabricaValueError) and isinstance(info.value, FabricaError)


def test_adjacent_windows_are_allowed() -> None:
    assert parse_task(_bad("availability.1", [[0, 5], [5, 9]])).windows(1) == ((0, 5), (5, 9))


def test_direct_construction_still_validates() -> None:
    with pytest.raises(ValidationError, match="out of range"):
        ScheduleTask.model_validate(_bad("jobs.1.operations.0.alternatives.0.machine", 9))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**ANSWER, "makespan": -1}, "makespan: Input should be greater than or equal to 0"),
        ({**ANSWER, "operations": [{"job": 0, "op": 0, "machine": 0, "start": -2}]}, "operations[0].start: Input should be greater than or equal to 0"),
        ({**ANSWER, "operations": [{"job": 0, "op": 0, "machine": 0, "start": 1.0}]}, "operations[0].start: Input should be a valid integer"),
        ({**ANSWER, "operations": [{"job": 0, "op": 0, "start": 1}]}, "operations[0].machine: Field required"),
        ({**ANSWER, "operations": [{"job": 0, "op": -1, "machine": 0, "start": 1}]}, "operations[0].op: Input should be greater than or equal to 0"),
        ({**ANSWER, "score": 1}, "score: Extra inputs are not permitted"),
        ({"operations": []}, "makespan: Field required"),
    ],
)
def test_invalid_answer_names_the_field(data: dict, message: str) -> None:
    with pytest.raises(ScheduleSchemaError, match="^invalid schedule answer: ") as info:
        parse_answer(data)
    assert message in str(info.value)


def test_malformed_json_is_a_schema_error() -> None:
    with pytest.raises(ScheduleSchemaError, match="Invalid JSON"):
        parse_answer('{"operations": [')
    assert isinstance(ScheduleAnswer.model_json_schema(), dict)
