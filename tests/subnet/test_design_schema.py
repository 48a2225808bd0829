"""Wire schemas of the design task and answer: the MBB helper, round trips, and errors that name the field."""
from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from fabrica.protocol.errors import FabricaError, FabricaValueError
from fabrica.protocol.tasks.design import (
    DESIGN_SCHEMA_VERSION,
    DesignSchemaError,
    DesignTask,
    dof_index,
    mbb_beam,
    parse_answer,
    parse_task,
)

# A 4 x 2 cantilever: left edge clamped, a downward load at the middle of the right edge.
TASK = {
    "task_id": "cantilever-1",
    "nelx": 4,
    "nely": 2,
    "volfrac": 0.4,
    "penal": 3,
    "rmin": 1.5,
    "filter": "density",
    "loads": [{"node": [4, 1], "direction": "y", "value": -1.0}],
    "supports": [{"node": [0, j], "direction": d} for j in range(3) for d in ("x", "y")],
    "deadline_ms": 5000,
}


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
    task = parse_task(json.dumps(TASK))
    assert task.schema_version == DESIGN_SCHEMA_VERSION == 1
    assert (task.kind, task.objective) == ("design", "compliance")
    assert (task.E0, task.Emin, task.nu) == (1.0, 1e-9, 0.3)
    assert (task.num_elements, task.num_dofs) == (8, 30)
    assert parse_task(task.model_dump_json()) == task
    assert json.loads(task.model_dump_json())["loads"] == [{"node": [4, 1], "direction": "y", "value": -1.0}]


def test_mbb_beam_is_the_88_line_setup() -> None:
    task = mbb_beam()
    assert (task.nelx, task.nely, task.volfrac, task.penal, task.rmin, task.filter) == (60, 20, 0.5, 3.0, 2.4, "sensitivity")
    # F(2) = -1 and fixeddofs = union(1:2:2*(nely+1), 2*(nelx+1)*(nely+1)), 1-based, in the paper.
    loads = {dof_index(task.nely, ld.node, ld.direction): ld.value for ld in task.loads}
    assert loads == {1: -1.0}
    fixed = sorted(dof_index(task.nely, s.node, s.direction) for s in task.supports)
    assert fixed == [*range(0, 2 * 21, 2), 2 * 61 * 21 - 1]
    assert mbb_beam(filter="density", nelx=30, nely=10).filter == "density"
    assert parse_task(task.model_dump_json()) == task


def test_answer_is_rows_of_floats_and_keeps_nan_for_the_checker() -> None:
    answer = parse_answer({"densities": [[0.5, 1], [0, float("nan")]]})
    assert answer.densities[0] == (0.5, 1.0) and answer.schema_version == 1
    assert answer.densities[1][1] != answer.densities[1][1]
    with pytest.raises(DesignSchemaError, match=r"densities\[0\]\[0\]: Input should be a valid number"):
        parse_answer({"densities": [["a"]]})
    with pytest.raises(DesignSchemaError, match="densities: Tuple should have at least 1 item"):
        parse_answer({"densities": []})
    with pytest.raises(DesignSchemaError, match="extra: Extra inputs are not permitted"):
        parse_answer({"densities": [[0.5]], "extra": 1})


def test_models_are_frozen() -> None:
    task = parse_task(TASK)
    with pytest.raises(ValidationError):
        task.nelx = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("nelx", 0, "nelx: Input should be greater than or equal to 1"),
        ("nelx", 2.5, "nelx: Input should be a valid integer"),
        ("nelx", 1001, "nelx: Input should be less than or equal to 1000"),
        ("volfrac", 0, "volfrac: Input should be greater than 0"),
        ("volfrac", 1, "volfrac: Input should be less than 1"),
        ("penal", 0.5, "penal: Input should be greater than or equal to 1"),
        ("rmin", 0, "rmin: Input should be greater than 0"),
        ("filter", "heaviside", "filter: Input should be 'sensitivity' or 'density'"),
        ("nu", 0.5, "nu: Input should be less than 0.5"),
        ("Emin", 0, "Emin: Input should be greater than 0"),
        ("Emin", 2, "Emin = 2.0 must be smaller than E0 = 1.0"),
        ("loads", [], "loads: Tuple should have at least 1 item"),
        ("loads.0.value", float("inf"), "loads[0].value: Input should be a finite number"),
        ("loads.0.value", 0, "every load value is 0"),
        ("loads.0.direction", "z", "loads[0].direction: Input should be 'x' or 'y'"),
        ("loads.0.node", [5, 1], "loads[0].node = [5, 1] is outside the grid: i in 0..4, j in 0..2"),
        ("loads.0.node", [0, 1], "loads[0] acts on y at [0, 1], which supports[3] fixes"),
        ("loads.1", {"node": [4, 1], "direction": "y", "value": 2.0}, "loads[1] loads y at [4, 1] again"),
        ("supports.5.node", [0, 0], "supports[5] fixes y at [0, 0] again (first at supports[1])"),
        ("supports.0.node", [0, 3], "supports[0].node = [0, 3] is outside the grid"),
        ("supports", [{"node": [0, j], "direction": "x"} for j in range(3)], "supports do not prevent rigid motion"),
        ("supports", [{"node": [0, 0], "direction": "x"}, {"node": [4, 0], "direction": "x"}, {"node": [2, 2], "direction": "y"}], "supports do not prevent rigid motion"),
        ("supports", [{"node": [0, 1], "direction": "x"}, {"node": [2, 2], "direction": "y"}], "supports: Tuple should have at least 3 items"),
        ("task_id", "a b", "task_id: String should match pattern"),
        ("schema_version", 2, "schema_version: Input should be 1"),
        ("extra", 1, "extra: Extra inputs are not permitted"),
        ("loads.0.extra", 1, "loads[0].extra: Extra inputs are not permitted"),
        ("volfrac", ..., "volfrac: Field required"),
    ],
)
def test_invalid_task_names_the_field(path: str, value: object, message: str) -> None:
    data = {**TASK, "loads": [*TASK["loads"], value]} if path == "loads.1" else _bad(path, value)
    with pytest.raises(DesignSchemaError) as info:
        parse_task(data)
    assert message in str(info.value)
    assert str(info.value).startswith("invalid design task: ")
    assert isinstance(info.value, FabricaValueError) and isinstance(info.value, FabricaError)


def test_size_is_bounded_by_the_element_count() -> None:
    assert parse_task({**TASK, "nelx": 200, "nely": 200}).num_elements == 40_000
    with pytest.raises(DesignSchemaError, match="nelx \\* nely = 40200 elements exceed the limit of 40000"):
        parse_task({**TASK, "nelx": 201, "nely": 200})


def test_rotation_stopped_by_a_second_x_support_row() -> None:
    supports = [{"node": [0, 0], "direction": "x"}, {"node": [0, 2], "direction": "x"}, {"node": [4, 2], "direction": "y"}]
    assert len(parse_task(_bad("supports", supports)).supports) == 3


def test_direct_construction_still_validates() -> None:
    with pytest.raises(ValidationError, match="outside the grid"):
        DesignTask.model_validate(_bad("loads.0.node", [9, 9]))
