"""Loaders for classic JSSP text, Brandimarte `.fjs` and JSON tasks: parsing, dispatch, and errors with line numbers."""
from __future__ import annotations

from pathlib import Path

import pytest

from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from fabrica.protocol.tasks.loaders import ScheduleFormatError, load_task, parse_fjs, parse_jssp
from fabrica.protocol.tasks.schedule import DEFAULT_DEADLINE_MS

JSSP = """\
# a 2x2 job shop
2 2

0 3 1 2   # job 0
1 4 0 1
"""
FJS = """\
2 3 1.5
2 2 1 5 3 4 1 2 6
1 1 3 7
"""


def test_parse_jssp_with_comments_and_blank_lines() -> None:
    task = parse_jssp(JSSP, task_id="tiny")
    assert (task.task_id, task.num_jobs, task.num_machines, task.is_classic) == ("tiny", 2, 2, True)
    assert [(op.alternatives[0].machine, op.alternatives[0].duration) for op in task.jobs[1].operations] == [(1, 4), (0, 1)]
    assert task.deadline_ms == DEFAULT_DEADLINE_MS


def test_parse_fjs_converts_machines_to_zero_based() -> None:
    task = parse_fjs(FJS, task_id="flex")
    assert (task.num_jobs, task.num_machines, task.num_operations) == (2, 3, 3)
    job0 = [[(a.machine, a.duration) for a in op.alternatives] for op in task.jobs[0].operations]
    assert job0 == [[(0, 5), (2, 4)], [(1, 6)]]
    assert [(a.machine, a.duration) for a in task.jobs[1].operations[0].alternatives] == [(2, 7)]
    assert parse_fjs("1 1\n1 1 1 3\n").num_machines == 1  # the avg column is optional


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "<jssp>: empty input, expected a header line `n m`"),
        ("# only a comment\n\n", "empty input"),
        ("2\n", "<jssp> line 1: header must be `n m`, got 1 values"),
        ("2 2 1\n", "<jssp> line 1: header must be `n m`, got 3 values"),
        ("2 x\n", "<jssp> line 1: header `n m`: token 2 'x' is not an integer"),
        ("0 2\n", "<jssp> line 1: header needs n >= 1 jobs and m >= 1 machines, got 0 2"),
        ("2 2\n0 3 1 2\n\n1 4 0\n", "<jssp> line 4: job 1 needs 4 numbers (2 pairs `machine time`), got 3"),
        ("2 2\n0 3 1 2\n1 4 0 1.5\n", "<jssp> line 3: job 1: token 4 '1.5' is not an integer"),
        ("2 2\n0 3 2 2\n1 4 0 1\n", "<jssp> line 2: job 0 operation 1: machine 2 is out of range 0..1"),
        ("2 2\n0 3 1 -2\n1 4 0 1\n", "<jssp> line 2: job 0 operation 1: duration -2 must be a positive integer"),
        ("2 2\n0 3 1 0\n1 4 0 1\n", "duration 0 must be a positive integer"),
        ("2 2\n0 3 1 2\n", "<jssp>: the header announces 2 jobs but only 1 job lines follow"),
        ("1 2\n0 3 1 2\n# end\n0 1 1 1\n", "<jssp> line 4: unexpected data after the 1 job lines the header announced"),
    ],
)
def test_jssp_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ScheduleFormatError) as info:
        parse_jssp(text)
    assert message in str(info.value)
    assert isinstance(info.value, FabricaValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 3 x\n", "<fjs> line 1: header avg 'x' is not a number"),
        ("2 3 1 1\n", "<fjs> line 1: header must be `n m [avg]`, got 4 values"),
        ("2 3\n2 2 1 5 3 4 1 2\n1 1 3 7\n", "<fjs> line 2: job 0: line ends where operation 1 alternative 0's time was expected"),
        ("2 3\n2 2 1 5 3 4\n1 1 3 7\n", "<fjs> line 2: job 0: line ends where operation 1's number of machines was expected"),
        ("2 3\n\n2 2 1 5 3 4 1 2 6 9\n1 1 3 7\n", "<fjs> line 3: job 0: 1 unexpected values after its 2 operations"),
        ("2 3\n2 2 0 5 3 4 1 2 6\n1 1 3 7\n", "<fjs> line 2: job 0 operation 0: machine 0 is out of range 1..3 (.fjs machines are 1-based)"),
        ("2 3\n2 2 1 5 4 4 1 2 6\n1 1 3 7\n", "machine 4 is out of range 1..3"),
        ("2 3\n2 2 1 5 1 4 1 2 6\n1 1 3 7\n", "<fjs> line 2: job 0 operation 0: machine 1 is listed twice"),
        ("2 3\n2 2 1 5 3 -4 1 2 6\n1 1 3 7\n", "<fjs> line 2: job 0 operation 0: time -4 must be a positive integer"),
        ("2 3\n2 0 1 2 6\n1 1 3 7\n", "<fjs> line 2: job 0 operation 0: number of machines 0 must be >= 1"),
        ("2 3\n0\n1 1 3 7\n", "<fjs> line 2: job 0: number of operations 0 must be >= 1"),
        ("2 3\n2 2 1 5 3 4 1 2 6\n1 1 3 a\n", "<fjs> line 3: job 1: token 4 'a' is not an integer"),
        ("2 3\n2 2 1 5 3 4 1 2 6\n", "<fjs>: the header announces 2 jobs but only 1 job lines follow"),
    ],
)
def test_fjs_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ScheduleFormatError) as info:
        parse_fjs(text)
    assert message in str(info.value)


def test_load_task_dispatches_on_extension(tmp_path: Path) -> None:
    (tmp_path / "tiny.txt").write_text(JSSP)
    (tmp_path / "flex.fjs").write_text(FJS)
    jssp, fjs = load_task(tmp_path / "tiny.txt"), load_task(tmp_path / "flex.fjs", deadline_ms=250)
    assert (jssp.task_id, jssp.is_classic) == ("tiny", True)
    assert (fjs.task_id, fjs.num_machines, fjs.deadline_ms) == ("flex", 3, 250)
    (tmp_path / "task.json").write_text(fjs.model_dump_json())
    assert load_task(tmp_path / "task.json") == fjs
    assert load_task(tmp_path / "task.json", deadline_ms=900).deadline_ms == 900


def test_load_task_sniffs_unknown_extensions(tmp_path: Path) -> None:
    expected = {"a.dat": parse_jssp(JSSP), "b.dat": parse_fjs(FJS), "c": parse_fjs("2 3\n1 1 1 2\n1 1 2 2\n")}
    (tmp_path / "a.dat").write_text(JSSP)
    (tmp_path / "b.dat").write_text(FJS)
    (tmp_path / "c").write_text("2 3\n1 1 1 2\n1 1 2 2\n")
    (tmp_path / "d.task").write_text(parse_fjs(FJS, task_id="d").model_dump_json())
    for name, task in expected.items():
        assert load_task(tmp_path / name).jobs == task.jobs, name
    assert load_task(tmp_path / "d.task").task_id == "d"


def test_load_task_errors(tmp_path: Path) -> None:
    with pytest.raises(FabricaLookupError, match="No task file at"):
        load_task(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("2 2\n0 3 1 2\n1 4 0\n")
    with pytest.raises(ScheduleFormatError, match=rf"^{bad} line 3: job 1 needs 4 numbers"):
        load_task(bad)
    (tmp_path / "bad.json").write_text('{"task_id": "x", "num_machines": 1, "jobs": []}')
    with pytest.raises(ScheduleFormatError, match="bad.json: invalid schedule task: jobs: Tuple should have at least 1 item"):
        load_task(tmp_path / "bad.json")
    (tmp_path / "bin.fjs").write_bytes(b"\xff\xfe1 1\n")
    with pytest.raises(ScheduleFormatError, match="not UTF-8"):
        load_task(tmp_path / "bin.fjs")
    (tmp_path / "odd name!.txt").write_text(JSSP)
    assert load_task(tmp_path / "odd name!.txt").task_id == "odd_name_"
