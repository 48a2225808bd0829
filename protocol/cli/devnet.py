"""`fabrica devnet up|down|status`: the local anvil chain with Fabrica deployed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import HomeOpt, JsonOpt, console, run, settings

if TYPE_CHECKING:  # web3 and the deployer load when a devnet command runs, not for `fabrica devnet --help`
    from ..devnet import Devnet

app = typer.Typer(help="Local devnet: anvil on 127.0.0.1 with every Fabrica contract deployed.", no_args_is_help=True)
PortOpt = Annotated[int, typer.Option("--port", help="anvil port")]


def _devnet(home: str | None, port: int) -> Devnet:
    from ..devnet import Devnet

    return Devnet(Path(settings(home=home).home), port=port)


@app.command()
def up(home: HomeOpt = None, port: PortOpt = 8545, json_out: JsonOpt = False) -> None:
    """Start anvil in the background, deploy, fund dev accounts and print the manifest (idempotent)."""

    def body() -> None:
        from ..devnet import manifest_json

        devnet = _devnet(home, port)
        say = (lambda m: None) if json_out else (lambda m: console.print(f"  {m}", style="dim"))
        deployment = devnet.up(say)
        text = manifest_json(deployment, devnet.rpc_url)
        if json_out:
            print(text)
        else:
            console.print(f"[green]devnet up[/green] at {devnet.rpc_url}")
            console.print(text)
            if port != 8545:
                console.print(f"(other commands need --rpc-url {devnet.rpc_url})")

    run(body)


@app.command()
def down(home: HomeOpt = None, port: PortOpt = 8545, json_out: JsonOpt = False) -> None:
    """Stop the devnet started by `fabrica devnet up`."""

    def body() -> None:
        stopped = _devnet(home, port).down()
        if json_out:
            print(json.dumps({"stopped": stopped}))
        else:
            console.print("devnet stopped" if stopped else "no devnet was running")

    run(body)


@app.command()
def status(home: HomeOpt = None, port: PortOpt = 8545, json_out: JsonOpt = False) -> None:
    """Say whether the devnet is up and where."""

    def body() -> None:
        devnet = _devnet(home, port)
        deployment = devnet.manifest()
        if json_out:
            print(json.dumps({"up": deployment is not None, "rpc_url": devnet.rpc_url, "pid": devnet.running_pid()}))
        else:
            console.print(f"devnet {'up' if deployment else 'down'} at {devnet.rpc_url}")

    run(body)
