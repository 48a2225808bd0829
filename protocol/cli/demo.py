"""`fabrica demo`: one job paid end to end on the devnet, step by step."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import HomeOpt, JsonOpt, console, run, settings


def demo(home: HomeOpt = None, port: Annotated[int, typer.Option(help="devnet port")] = 8545,
         json_out: JsonOpt = False) -> None:
    """Devnet up; a customer posts a job, a shop claims, delivers and is paid; print every step."""

    def body() -> None:
        from ..demo import run_demo  # web3, the deployer and the SDK: only when the demo runs

        say = (lambda m: None) if json_out else (lambda m: console.print(m))
        report = run_demo(Path(settings(home=home).home), port=port, say=say)
        if json_out:
            print(json.dumps(report.__dict__))
        else:
            console.print(f"\nThe devnet stays up at {report.rpc_url}: try `fabrica job show {report.job_id}`, "
                          "`fabrica account balance`; stop it with `fabrica devnet down`.")

    run(body)
