"""`fabrica miner …`: solve schedule tasks with the CP-SAT miner, printing an answer the validator can score."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fabrica.protocol.errors import FabricaError
from fabrica.protocol.tasks.design import parse_task as parse_design_task
from fabrica.protocol.tasks.loaders import load_task
from fabrica.validators.scoring.schedule import BaselineInfeasibleError, baseline_schedule

from .solvers.schedule_cpsat import solve_schedule
from .solvers.topology import DEFAULT_MAX_ITER, solve_design

app = typer.Typer(help="Subnet miner: solve schedule and design tasks.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Subnet miner commands."""


@app.command()
def solve(
    task: Annotated[Path, typer.Option(help="task file: JSSP .txt, FJSP .fjs or JSON")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="solver time limit, seconds")],
    workers: Annotated[int, typer.Option(help="CP-SAT parallel workers")] = 2,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print the answer JSON (the wire format)")] = False,
) -> None:
    """Minimise the makespan of a schedule task with CP-SAT, warm-started from (and never worse than) the baseline."""
    try:
        t = load_task(task)
        result = solve_schedule(t, time_limit, workers=workers, seed=seed)
        if not json_out:
            try:
                baseline: int | None = baseline_schedule(t).makespan
            except BaselineInfeasibleError:
                baseline = None
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result.answer.model_dump(mode="json")))
        return
    print(f"{result.status}  makespan {result.makespan}  bound {result.bound}  "
          f"baseline {baseline if baseline is not None else 'none'}  time {result.wall_s:.2f} s")


@app.command()
def design(
    task: Annotated[Path, typer.Option(help="design task JSON")],
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="optimizer time limit, seconds")] = None,
    max_iter: Annotated[int, typer.Option("--max-iter", help="most SIMP/OC iterations")] = DEFAULT_MAX_ITER,
    json_out: Annotated[bool, typer.Option("--json", help="print the answer JSON (the wire format)")] = False,
) -> None:
    """Minimise the compliance of a design task with SIMP + Optimality Criteria and the task's filter."""
    try:
        try:
            raw = task.read_bytes()
        except OSError as exc:
            raise FabricaError(f"cannot read --task {task}: {exc.strerror}") from None
        result = solve_design(parse_design_task(raw), max_iter=max_iter, time_limit_s=time_limit)
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result.answer().model_dump(mode="json")))
        return
    status = "converged" if result.converged else "stopped"
    print(f"{status}  compliance {result.compliance:.6g}  volume {result.volume:.6g}  "
          f"iterations {result.iterations}  change {result.change:.4g}")
