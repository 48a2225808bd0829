"""Private per-round task generation: deterministic per (seed, round), fresh every round, realistic and valid."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fabrica.protocol.cli.main import app
from fabrica.protocol.tasks.design import mbb_beam
from fabrica.protocol.tasks.design import parse_task as parse_design_task
from fabrica.protocol.tasks.schedule import MAX_TIME
from fabrica.validators.scoring.design import (
    VOLUME_TOLERANCE,
    baseline_compliance,
    baseline_densities,
    compliance,
    uniform_densities,
)
from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule
from fabrica.validators.tasks import (
    DESIGN_CASES,
    JSSP_SIZES,
    generate_design_task,
    generate_schedule_task,
    generate_task,
    round_rng,
)

SECRET = b"validator-secret-for-tests"


def test_same_seed_and_round_give_the_same_tasks_and_other_rounds_or_seeds_do_not() -> None:
    for kind in ("schedule", "design"):
        a = generate_task(SECRET, 7, kind)
        assert a.model_dump_json() == generate_task(SECRET, 7, kind).model_dump_json()
        others = {generate_task(SECRET, r, kind).model_dump_json() for r in range(8, 14)}
        assert a.model_dump_json() not in others and len(others) == 6
        assert generate_task(b"another-secret", 7, kind).model_dump_json() != a.model_dump_json()
        # The id names the round but carries nothing of the seed.
        assert a.task_id.startswith(f"r7-{kind}-") and SECRET.decode() not in a.model_dump_json()
    # Streams of different kinds (and rounds) are independent.
    assert round_rng(SECRET, 1, "schedule").integers(1 << 62) != round_rng(SECRET, 1, "design").integers(1 << 62)


def test_schedule_tasks_have_realistic_sizes_and_always_a_feasible_baseline() -> None:
    classic = flexible = 0
    for r in range(40):
        task = generate_schedule_task(SECRET, r)
        answer = baseline_schedule(task)
        assert check_schedule(task, answer).feasible
        durations = [alt.duration for job in task.jobs for op in job.operations for alt in op.alternatives]
        assert min(durations) >= 1 and max(durations) <= 99
        if task.is_classic:
            classic += 1
            assert (task.num_jobs, task.num_machines) in JSSP_SIZES
            for job in task.jobs:  # every job visits every machine once
                assert sorted(op.alternatives[0].machine for op in job.operations) == list(range(task.num_machines))
        else:
            flexible += 1
            assert 10 <= task.num_jobs <= 20 and 5 <= task.num_machines <= 10
            assert all(2 <= len(op.alternatives) <= 4 for job in task.jobs for op in job.operations)
            windowed = [w for w in task.availability if w is not None]
            assert windowed, "some machines have maintenance downtimes"
            assert all(w[-1][1] == MAX_TIME for w in windowed), "the last window never closes"
    assert classic >= 8 and flexible >= 8


def test_design_tasks_cover_the_load_cases_and_sizes() -> None:
    seen = set()
    for r in range(40):
        task = generate_design_task(SECRET, r)
        assert 30 <= task.nelx <= 90 and 10 <= task.nely <= 30
        assert 0.3 <= task.volfrac <= 0.6
        parse_design_task(task.model_dump_json())  # valid on the wire (supports stop rigid motion, …)
        seen.add((task.nelx, task.nely))
    assert len(seen) > 20
    for case in DESIGN_CASES:
        task = generate_design_task(SECRET, 3, case=case)
        assert baseline_compliance(task) < compliance(task, uniform_densities(task))


def test_design_baseline_is_fast_feasible_and_stronger_than_the_uniform_field() -> None:
    task = mbb_beam(nelx=60, nely=20, volfrac=0.5)
    started = time.perf_counter()
    x = baseline_densities(task)
    c = compliance(task, x)
    assert time.perf_counter() - started < 1.0
    assert x.shape == (20, 60) and x.min() >= 0 and x.max() <= 1
    assert x.mean() <= task.volfrac * (1 + VOLUME_TOLERANCE)
    assert c < 0.5 * compliance(task, uniform_densities(task))
    np.testing.assert_array_equal(baseline_densities(task), x)  # deterministic
    np.testing.assert_array_equal(baseline_densities(task, 0), uniform_densities(task))


@pytest.mark.parametrize("kind", ["schedule", "design"])
def test_cli_gen_task_writes_the_generated_task(tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.json"
    result = CliRunner().invoke(app, ["validator", "gen-task", "--kind", kind, "--seed", "42", "--round", "3",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == json.loads(generate_task(b"42", 3, kind).model_dump_json())
    printed = CliRunner().invoke(app, ["validator", "gen-task", "--kind", kind, "--seed", "42", "--round", "3"])
    assert printed.exit_code == 0 and json.loads(printed.stdout) == json.loads(out.read_text())
    bad = CliRunner().invoke(app, ["validator", "gen-task", "--kind", "paint", "--seed", "42", "--round", "3"])
    assert bad.exit_code == 1 and "--kind" in bad.output
