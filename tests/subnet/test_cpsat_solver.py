"""The CP-SAT miner: proven optima on small benchmarks, never worse than the baseline, availability windows
respected exactly, and `fabrica miner solve --json` output scored by `fabrica validator score`."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fabrica.miners.solvers.schedule_cpsat import SolveResult, solve_schedule
from fabrica.protocol.cli.main import app
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import ScheduleTask, parse_task
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

BENCHMARKS = Path(
    os.environ.get("FABRICA_BENCHMARKS") or Path(__file__).resolve().parents[2] / "data" / "benchmarks"
)
"""Same lookup as test_schedule_benchmarks: `$FABRICA_BENCHMARKS`, else the repository's own `data/benchmarks`."""

# 4 jobs on 3 machines, flexible, with availability windows on machines 0 and 2 (machine 1 always available).
WINDOWS_TASK = {
    "task_id": "windows-small",
    "num_machines": 3,
    "availability": [[[0, 6], [8, 20], [24, 60]], None, [[2, 9], [12, 40]]],
    "jobs": [
        {"operations": [
            {"alternatives": [{"machine": 0, "duration": 3}, {"machine": 1, "duration": 5}]},
            {"alternatives": [{"machine": 2, "duration": 4}]},
            {"alternatives": [{"machine": 1, "duration": 2}, {"machine": 0, "duration": 2}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 2, "duration": 5}, {"machine": 1, "duration": 6}]},
            {"alternatives": [{"machine": 0, "duration": 4}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 1, "duration": 3}]},
            {"alternatives": [{"machine": 0, "duration": 6}, {"machine": 2, "duration": 7}]},
            {"alternatives": [{"machine": 1, "duration": 4}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 0, "duration": 2}, {"machine": 2, "duration": 2}]},
            {"alternatives": [{"machine": 1, "duration": 4}, {"machine": 2, "duration": 3}]},
            {"alternatives": [{"machine": 0, "duration": 5}]},
        ]},
    ],
}


def _bench(relative: str) -> ScheduleTask:
    path = BENCHMARKS / relative
    if not path.is_file():
        pytest.fail(f"missing benchmark {path}; the repository ships them in data/benchmarks")
    return load_task(path)


def _checked(task: ScheduleTask, result: SolveResult) -> int:
    """Assert the result is consistent and its answer feasible; return the makespan."""
    check = check_schedule(task, result.answer)
    assert check.feasible, check.violations
    assert check.makespan == result.makespan == result.answer.makespan
    assert result.bound <= result.makespan
    assert result.status in ("optimal", "feasible")
    if result.status == "optimal":
        assert result.bound == result.makespan
    assert result.wall_s >= 0
    return result.makespan


def test_ft06_is_solved_to_proven_optimum() -> None:
    task = _bench("jssp/ft06.txt")
    result = solve_schedule(task, 5.0, workers=2)
    assert _checked(task, result) == 55
    assert result.status == "optimal"
    assert result.wall_s < 5.0


def test_la01_is_feasible_and_not_worse_than_baseline() -> None:
    task = _bench("jssp/la01.txt")
    result = solve_schedule(task, 3.0, workers=2)
    assert 666 <= _checked(task, result) <= baseline_schedule(task).makespan


def test_mk01_fjsp_is_feasible_between_optimum_and_baseline() -> None:
    task = _bench("fjsp/mk01.fjs")
    result = solve_schedule(task, 3.0, workers=2)
    assert 40 <= _checked(task, result) <= baseline_schedule(task).makespan
    assert result.bound <= 40


def test_availability_windows_are_respected() -> None:
    task = parse_task(WINDOWS_TASK)
    baseline = baseline_schedule(task)
    result = solve_schedule(task, 3.0, workers=2)
    makespan = _checked(task, result)
    assert makespan_lower_bound(task) <= makespan < baseline.makespan  # 23 (proven) vs the greedy 28
    assert result.status == "optimal"
    for entry in result.answer.operations:
        windows = task.windows(entry.machine)
        if windows is not None:
            end = entry.start + task.jobs[entry.job].operations[entry.op].duration_on(entry.machine)
            assert any(ws <= entry.start and end <= we for ws, we in windows)


def test_one_operation_can_only_fit_a_late_window() -> None:
    # The only machine is closed until 10 and its first window is too short for the 4-unit operation.
    task = parse_task({
        "task_id": "late-window", "num_machines": 1, "availability": [[[0, 2], [10, 12], [20, 30]]],
        "jobs": [{"operations": [{"alternatives": [{"machine": 0, "duration": 4}]}]},
                 {"operations": [{"alternatives": [{"machine": 0, "duration": 2}]}]}],
    })
    result = solve_schedule(task, 2.0, workers=1)
    assert _checked(task, result) == 24
    assert result.status == "optimal"


def test_a_feasible_hint_is_never_lost() -> None:
    task = _bench("jssp/ft06.txt")
    optimum = solve_schedule(task, 5.0, workers=2).answer
    result = solve_schedule(task, 0.01, workers=1, hint=optimum)
    assert _checked(task, result) == 55


def test_single_worker_runs_are_reproducible() -> None:
    task = parse_task(WINDOWS_TASK)
    first = solve_schedule(task, 2.0, workers=1, seed=7)
    second = solve_schedule(task, 2.0, workers=1, seed=7)
    assert first.answer == second.answer


@pytest.mark.parametrize("limit", [0, -1.0, math.nan, math.inf, 1e9, "5", True])
def test_bad_time_limits_are_rejected(limit: object) -> None:
    with pytest.raises(FabricaValueError, match="time limit"):
        solve_schedule(parse_task(WINDOWS_TASK), limit)  # type: ignore[arg-type]


def test_bad_workers_are_rejected() -> None:
    with pytest.raises(FabricaValueError, match="workers"):
        solve_schedule(parse_task(WINDOWS_TASK), 1.0, workers=0)


def test_cli_answer_is_scored_by_the_validator(tmp_path: Path) -> None:
    task = tmp_path / "windows.json"
    task.write_text(json.dumps(WINDOWS_TASK))
    runner = CliRunner()
    solved = runner.invoke(app, ["miner", "solve", "--task", str(task), "--time-limit", "2", "--json"])
    assert solved.exit_code == 0, solved.output
    answer = tmp_path / "answer.json"
    answer.write_text(solved.stdout)
    assert set(json.loads(solved.stdout)) >= {"operations", "makespan"}
    scored = runner.invoke(app, ["validator", "score", "--task", str(task), "--answer", str(answer), "--json"])
    assert scored.exit_code == 0, scored.output
    out = json.loads(scored.stdout)
    assert out["feasible"] is True
    assert out["score"] >= 0.1
    assert out["makespan"] <= out["baseline_makespan"]


def test_cli_human_summary_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    ft06 = BENCHMARKS / "jssp" / "ft06.txt"
    ok = runner.invoke(app, ["miner", "solve", "--task", str(ft06), "--time-limit", "5"])
    assert ok.exit_code == 0, ok.output
    assert "optimal" in ok.stdout and "makespan 55" in ok.stdout and "baseline 58" in ok.stdout
    bad = runner.invoke(app, ["miner", "solve", "--task", str(ft06), "--time-limit", "0"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: time limit")
    missing = runner.invoke(app, ["miner", "solve", "--task", str(tmp_path / "nope.txt"), "--time-limit", "1"])
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: ")
