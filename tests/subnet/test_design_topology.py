"""The design task end to end: the validator's FE model, `check_design`, and the SIMP/OC miner reproducing the
published MBB results of Andreassen et al. 2011 (216.81 with the sensitivity filter, 233.71 with the density filter)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fabrica.miners.solvers.topology import TopologyResult, solve_design
from fabrica.protocol.cli.main import app
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.design import DesignAnswer, mbb_beam, parse_task
from fabrica.validators.scoring.bands import banded_score
from fabrica.validators.scoring.design import (
    VOLUME_TOLERANCE,
    check_design,
    compliance,
    uniform_densities,
)
from fabrica.protocol.tasks.design_fe import element_stiffness

PUBLISHED = {"sensitivity": 216.81, "density": 233.71}
"""The final compliances the 88-line code prints for the 60 x 20 half MBB beam (volfrac 0.5, penal 3, rmin 2.4)."""


@pytest.fixture(scope="module", params=["sensitivity", "density"])
def mbb_run(request: pytest.FixtureRequest) -> tuple[str, TopologyResult]:
    return request.param, solve_design(mbb_beam(filter=request.param))


def _answer(x: np.ndarray | list) -> DesignAnswer:
    return DesignAnswer(densities=tuple(tuple(float(v) for v in row) for row in x))


def test_element_stiffness_is_the_papers_closed_form() -> None:
    nu = 0.3
    a11 = np.array([[12, 3, -6, -3], [3, 12, 3, 0], [-6, 3, 12, -3], [-3, 0, -3, 12]])
    a12 = np.array([[-6, -3, 0, 3], [-3, -6, -3, -6], [0, -3, -6, 3], [3, -6, 3, -6]])
    b11 = np.array([[-4, 3, -2, 9], [3, -4, -9, 4], [-2, -9, -4, -3], [9, 4, -3, -4]])
    b12 = np.array([[2, -3, 4, -9], [-3, 2, 9, -2], [4, 9, 2, 3], [-9, -2, 3, 2]])
    closed = (np.block([[a11, a12], [a12.T, a11]]) + nu * np.block([[b11, b12], [b12.T, b11]])) / (1 - nu**2) / 24
    np.testing.assert_allclose(element_stiffness(nu), closed, atol=1e-14)
    # Three rigid-body modes and nothing else.
    assert int(np.sum(np.abs(np.linalg.eigvalsh(closed)) < 1e-12)) == 3


def test_solver_reaches_the_published_compliance(mbb_run: tuple[str, TopologyResult]) -> None:
    kind, result = mbb_run
    assert result.converged and result.change <= 0.01
    assert 50 < result.iterations < 300 and len(result.history) == result.iterations
    assert result.history[-1] == pytest.approx(PUBLISHED[kind], rel=5e-3)  # the value the paper prints
    assert result.compliance == pytest.approx(PUBLISHED[kind], rel=5e-3)  # of the returned densities
    assert result.densities.shape == (20, 60)
    assert result.volume <= 0.5 * (1 + VOLUME_TOLERANCE)


def test_validator_agrees_with_the_solver(mbb_run: tuple[str, TopologyResult]) -> None:
    kind, result = mbb_run
    task = mbb_beam(filter=kind)
    check = check_design(task, result.answer())
    assert check.feasible and check.violations == []
    assert check.compliance == pytest.approx(result.compliance, rel=1e-9)
    assert check.volume == pytest.approx(result.volume, rel=1e-12)
    assert compliance(task, result.densities) == pytest.approx(result.compliance, rel=1e-9)


def test_uniform_field_is_feasible_and_much_worse(mbb_run: tuple[str, TopologyResult]) -> None:
    kind, result = mbb_run
    task = mbb_beam(filter=kind)
    check = check_design(task, _answer(uniform_densities(task)))
    assert check.feasible and check.volume == pytest.approx(0.5)
    # A uniform field of density 0.5 is the full beam with E = 0.5**3 = 1/8: 8 times the solid beam's compliance.
    solid = compliance(task, np.ones((20, 60)))
    assert check.compliance == pytest.approx(8 * solid, rel=1e-6)
    assert check.compliance > 4 * result.compliance
    score = banded_score(value=result.compliance, baseline=check.compliance, best=result.compliance)
    assert score == 1.0


def test_compliance_is_f_dot_u_of_a_tiny_bar() -> None:
    # A 1 x 1 solid element, left edge pinned (x), bottom-left y fixed, pulled right at both right nodes by 1/2:
    # uniaxial stress 1 in x, strain 1/E, so the right edge moves 1 and F . U = 1.
    task = parse_task({
        "task_id": "bar", "nelx": 1, "nely": 1, "volfrac": 0.99, "nu": 0.0,
        "loads": [{"node": [1, 0], "direction": "x", "value": 0.5}, {"node": [1, 1], "direction": "x", "value": 0.5}],
        "supports": [{"node": [0, 0], "direction": "x"}, {"node": [0, 1], "direction": "x"}, {"node": [0, 1], "direction": "y"}],
    })
    assert compliance(task, [[1.0]]) == pytest.approx(1.0, rel=1e-9)
    assert compliance(task, [[0.5]]) == pytest.approx(8.0, rel=1e-6)  # E = 1e-9 + 0.5**3 (1 - 1e-9)


@pytest.mark.parametrize(
    ("densities", "messages"),
    [
        (np.full((19, 60), 0.5), ["densities: 19 rows but the task has nely = 20"]),
        ([[0.5] * 60] * 19 + [[0.5] * 59], ["densities[19]: 59 entries but the task has nelx = 60"]),
        (np.where(np.eye(20, 60) > 0, math.nan, 0.4), ["densities[0][0] = nan is not finite", "densities[19][19] = nan"]),
        (np.where(np.eye(20, 60) > 0, 1.2, 0.4), ["densities[3][3] = 1.2 is above 1"]),
        (np.where(np.eye(20, 60) > 0, -0.1, 0.4), ["densities[0][0] = -0.1 is below 0"]),
        (np.full((20, 60), math.inf), ["densities[0][0] = inf is not finite", "... and 1101 more densities out of [0, 1]"]),
        (np.full((20, 60), 0.501), ["volume: mean density 0.501 exceeds volfrac = 0.5 (relative tolerance 0.001)"]),
    ],
)
def test_malformed_answers_are_infeasible_with_named_violations(densities: object, messages: list[str]) -> None:
    task = mbb_beam()
    check = check_design(task, _answer(densities))
    assert not check.feasible and check.compliance is None
    for message in messages:
        assert any(message in v for v in check.violations), (message, check.violations[:3])
    assert len(check.violations) <= 101


def test_volume_within_the_tolerance_is_feasible() -> None:
    task = mbb_beam()
    check = check_design(task, _answer(np.full((20, 60), 0.5 * (1 + VOLUME_TOLERANCE / 2))))
    assert check.feasible and check.compliance is not None


def test_compliance_rejects_a_bad_field() -> None:
    task = mbb_beam()
    with pytest.raises(FabricaValueError, match=r"shape \(20, 59\)"):
        compliance(task, np.full((20, 59), 0.5))
    with pytest.raises(FabricaValueError, match=r"in \[0, 1\]"):
        compliance(task, np.full((20, 60), 1.5))


def test_solver_respects_its_limits() -> None:
    task = mbb_beam(nelx=30, nely=10)
    short = solve_design(task, max_iter=3)
    assert short.iterations == 3 and not short.converged and len(short.history) == 3
    assert check_design(task, short.answer()).feasible
    assert short.compliance < short.history[0]
    with pytest.raises(FabricaValueError, match="max_iter"):
        solve_design(task, max_iter=0)
    with pytest.raises(FabricaValueError, match="time_limit_s"):
        solve_design(task, time_limit_s=0)


def test_solver_handles_a_general_load_case() -> None:
    # A cantilever clamped on the left and loaded down at the middle of its right edge.
    task = parse_task({
        "task_id": "cantilever", "nelx": 32, "nely": 16, "volfrac": 0.4, "rmin": 1.5, "filter": "density",
        "loads": [{"node": [32, 8], "direction": "y", "value": -1.0}],
        "supports": [{"node": [0, j], "direction": d} for j in range(17) for d in ("x", "y")],
    })
    result = solve_design(task, max_iter=200)
    check = check_design(task, result.answer())
    assert check.feasible and check.compliance == pytest.approx(result.compliance, rel=1e-9)
    assert result.compliance < 0.5 * compliance(task, uniform_densities(task))
    # Symmetric about the mid-height line, as the load case is.
    np.testing.assert_allclose(result.densities, result.densities[::-1], atol=1e-6)


def test_cli_design_answer_is_scored_by_the_validator(tmp_path: Path) -> None:
    runner = CliRunner()
    task = tmp_path / "mbb.json"
    task.write_text(mbb_beam(nelx=30, nely=10, rmin=1.2).model_dump_json())
    solved = runner.invoke(app, ["miner", "design", "--task", str(task), "--json"])
    assert solved.exit_code == 0, solved.output
    answer = tmp_path / "answer.json"
    answer.write_text(solved.stdout)
    scored = runner.invoke(app, ["validator", "design", "--task", str(task), "--answer", str(answer), "--json"])
    assert scored.exit_code == 0, scored.output
    result = json.loads(scored.stdout)
    assert result["feasible"] and result["violations"] == [] and result["score"] == 1.0
    assert result["compliance"] < result["baseline_compliance"]
    # `validator score` recognises a design task and scores it the same way.
    via_score = runner.invoke(app, ["validator", "score", "--task", str(task), "--answer", str(answer), "--json"])
    assert via_score.exit_code == 0, via_score.output
    assert json.loads(via_score.stdout) == result
    human = runner.invoke(app, ["miner", "design", "--task", str(task), "--max-iter", "2"])
    assert human.exit_code == 0 and "stopped  compliance" in human.stdout and "iterations 2" in human.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"densities": [[0.5] * 30] * 9}))
    rejected = runner.invoke(app, ["validator", "design", "--task", str(task), "--answer", str(bad)])
    assert rejected.exit_code == 0 and "INFEASIBLE" in rejected.stdout and "9 rows but the task has nely = 10" in rejected.stdout
    missing = runner.invoke(app, ["miner", "design", "--task", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and "cannot read --task" in missing.output
