"""`fabrica validator …`: the validator's scoring as a command, so miners can score their own answers."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fabrica.protocol.errors import FabricaError
from fabrica.protocol.tasks import design as design_wire
from fabrica.protocol.tasks.loaders import load_task
from fabrica.protocol.tasks.schedule import parse_answer

from .scoring.bands import banded_score
from .scoring.design import check_design, uniform_densities
from .scoring.design import compliance as design_compliance
from .scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

app = typer.Typer(help="Subnet validator: score answers to schedule and design tasks.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Subnet validator commands."""


@app.command()
def score(
    task: Annotated[Path, typer.Option(help="task file: JSSP .txt, FJSP .fjs or JSON")],
    answer: Annotated[Path, typer.Option(help="answer JSON: {operations: [...], makespan}")],
    json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Check an answer exactly and score it against the validator's baseline, as the sole answer of its round."""
    try:
        t = load_task(task)
        try:
            raw = answer.read_bytes()
        except OSError as exc:
            raise FabricaError(f"cannot read --answer {answer}: {exc.strerror}") from None
        a = parse_answer(raw)
        check = check_schedule(t, a)
        baseline = check_schedule(t, baseline_schedule(t)).makespan
        result = {
            "feasible": check.feasible,
            "makespan": check.makespan,
            "baseline_makespan": baseline,
            "lower_bound": makespan_lower_bound(t),
            "score": banded_score(check.makespan, baseline, check.makespan) if check.feasible else 0.0,
            "violations": check.violations,
        }
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result))
        return
    verdict = "feasible" if result["feasible"] else "INFEASIBLE"
    print(f"{verdict}  makespan {result['makespan']}  baseline {baseline}  lower bound {result['lower_bound']}  "
          f"score {result['score']:.3f}")
    for v in check.violations:
        print(f"  - {v}")


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FabricaError(f"cannot read {option} {path}: {exc.strerror}") from None


@app.command()
def design(
    task: Annotated[Path, typer.Option(help="design task JSON")],
    answer: Annotated[Path, typer.Option(help="answer JSON: {densities: [[...], ...]} (nely rows of nelx)")],
    json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Check a design answer, compute its compliance by the validator's own FE solve, and score it against the uniform field."""
    try:
        t = design_wire.parse_task(_read(task, "--task"))
        a = design_wire.parse_answer(_read(answer, "--answer"))
        check = check_design(t, a)
        baseline = design_compliance(t, uniform_densities(t))
        result = {
            "feasible": check.feasible,
            "compliance": check.compliance,
            "volume": check.volume,
            "baseline_compliance": baseline,
            "score": banded_score(check.compliance, baseline, check.compliance) if check.compliance is not None else 0.0,
            "violations": check.violations,
        }
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result))
        return
    verdict = "feasible" if result["feasible"] else "INFEASIBLE"
    shown = f"{check.compliance:.6g}" if check.compliance is not None else "none"
    print(f"{verdict}  compliance {shown}  baseline {baseline:.6g}  score {result['score']:.3f}")
    for v in check.violations:
        print(f"  - {v}")
