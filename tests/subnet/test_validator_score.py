"""Banded scoring against the baseline, and `fabrica validator score` end to end on task and answer files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from fabrica.protocol.cli.main import app
from fabrica.protocol.errors import FabricaValueError
from fabrica.validators.scoring.bands import FLOOR, banded_score

# A 3x3 job shop where the greedy baseline reaches 28 but 23 is optimal (found by brute force over all
# machine orders); the answer below is that optimal schedule.
SMALL_JSSP = "3 3\n0 5 1 4 2 2\n2 1 0 1 1 9\n2 4 1 7 0 1\n"
OPTIMAL = {
    "operations": [
        {"job": 1, "op": 0, "machine": 2, "start": 0}, {"job": 1, "op": 1, "machine": 0, "start": 1},
        {"job": 1, "op": 2, "machine": 1, "start": 2}, {"job": 2, "op": 0, "machine": 2, "start": 1},
        {"job": 0, "op": 0, "machine": 0, "start": 2}, {"job": 0, "op": 1, "machine": 1, "start": 11},
        {"job": 0, "op": 2, "machine": 2, "start": 15}, {"job": 2, "op": 1, "machine": 1, "start": 15},
        {"job": 2, "op": 2, "machine": 0, "start": 22},
    ],
    "makespan": 23,
}


def test_bands() -> None:
    assert banded_score(30, baseline=28, best=23) == 0.0
    assert banded_score(28, baseline=28, best=23) == FLOOR
    assert banded_score(23, baseline=28, best=23) == 1.0
    assert banded_score(25.5, baseline=28, best=23) == pytest.approx(FLOOR + (1 - FLOOR) / 2)
    with pytest.raises(FabricaValueError, match="cannot be worse"):
        banded_score(23, baseline=28, best=24)


@given(st.integers(1, 1000), st.integers(0, 500), st.integers(0, 500))
def test_beating_the_baseline_always_pays_more(baseline: int, gain: int, extra: int) -> None:
    value = max(1, baseline - gain)
    best = max(1, value - extra)
    s = banded_score(value, baseline, best)
    assert 0.0 <= s <= 1.0
    if value < baseline:
        assert s > banded_score(baseline, baseline, best) == FLOOR


def _score(tmp_path: Path, answer: dict) -> tuple[int, dict]:
    task = tmp_path / "small.txt"
    task.write_text(SMALL_JSSP)
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    result = CliRunner().invoke(app, ["validator", "score", "--task", str(task), "--answer", str(path), "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.exit_code == 0 else {"output": result.output})


def test_cli_scores_an_optimal_answer_above_the_baseline(tmp_path: Path) -> None:
    code, out = _score(tmp_path, OPTIMAL)
    assert code == 0
    assert out["feasible"] and out["makespan"] == 23 and out["baseline_makespan"] == 28
    assert out["score"] == 1.0 and out["violations"] == []


def test_cli_scores_an_infeasible_answer_zero_and_names_the_violation(tmp_path: Path) -> None:
    broken = json.loads(json.dumps(OPTIMAL))
    broken["operations"][5]["start"] = 3  # job 0 op 1 before op 0 ends, and on top of job 1 on machine 1
    code, out = _score(tmp_path, broken)
    assert code == 0
    assert out["feasible"] is False and out["score"] == 0.0 and out["violations"]


def test_cli_rejects_a_malformed_answer_with_a_clear_error(tmp_path: Path) -> None:
    code, out = _score(tmp_path, {"operations": [{"job": -1, "op": 0, "machine": 0, "start": 0}], "makespan": 1})
    assert code == 1 and "job" in out["output"]
