"""`fabrica devnet up|down|status`: the local anvil chain with Fabrica deployed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import FabricaValueError
from .common import HomeOpt, JsonOpt, RpcOpt, console, run, settings

if TYPE_CHECKING:  # web3 and the deployer load when a devnet command runs, not for `fabrica devnet --help`
    from ..config import Settings
    from ..devnet import Devnet

app = typer.Typer(help="Local devnet: anvil on 127.0.0.1 with every Fabrica contract deployed.", no_args_is_help=True)
PortOpt = Annotated[
    int | None, typer.Option("--port", help="anvil port [default: the port of FABRICA_RPC_URL on this machine, or 8545]")
]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _local_port(rpc_url: str) -> int | None:
    """The port of `rpc_url` when it is plain HTTP on this machine (where a devnet can run), else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(rpc_url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        return None
    return port or 80


def _devnet(home: str | None, port: int | None) -> tuple[Devnet, Settings]:
    """The devnet on --port, else on the configured RPC URL's port when that is local, else on 8545."""
    from ..devnet import Devnet

    s = settings(home=home)
    if port is None:
        port = _local_port(s.rpc_url) or 8545
    return Devnet(Path(s.home), port=port), s


@app.command()
def up(home: HomeOpt = None, port: PortOpt = None, json_out: JsonOpt = False) -> None:
    """Start anvil in the background, deploy, fund dev accounts and print the manifest (idempotent).

    Refuses a port where something it did not start already answers."""

    def body() -> None:
        from ..devnet import manifest_json

        devnet, s = _devnet(home, port)
        say = (lambda m: None) if json_out else (lambda m: console.print(f"  {m}", style="dim"))
        deployment = devnet.up(say)
        text = manifest_json(deployment, devnet.rpc_url)
        if json_out:
            print(text)
        else:
            console.print(f"[green]devnet up[/green] at {devnet.rpc_url}")
            console.print(text)
            if _local_port(s.rpc_url) != devnet.port:
                console.print(f"(other commands need --rpc-url {devnet.rpc_url} or FABRICA_RPC_URL={devnet.rpc_url})")

    run(body)


@app.command()
def down(home: HomeOpt = None, port: PortOpt = None, json_out: JsonOpt = False) -> None:
    """Stop the devnet that `fabrica devnet up` started from this home on this port (never anything else)."""

    def body() -> None:
        devnet, s = _devnet(home, port)
        done = devnet.down()
        if json_out:
            print(json.dumps({"stopped": done.stopped, "rpc_url": done.rpc_url, "pid": done.pid,
                              "manifest_removed": str(done.manifest_removed) if done.manifest_removed else None,
                              "other": done.other}))
        elif done.stopped:
            kept = (f"removed its manifest {done.manifest_removed}" if done.manifest_removed
                    else "kept the home's manifest: another devnet of this home uses it")
            console.print(f"stopped the devnet's anvil (pid {done.pid}) at {done.rpc_url}; {kept}")
        else:
            line = f"nothing to stop: no devnet started from home {s.home} runs at {done.rpc_url}"
            if done.other:
                line += f"; {done.other} answers there, which this home did not start (left running)"
            console.print(line)

    run(body)


@app.command()
def status(home: HomeOpt = None, port: PortOpt = None, rpc_url: RpcOpt = None, json_out: JsonOpt = False) -> None:
    """Say whether the devnet at --port, --rpc-url or FABRICA_RPC_URL is up, and who started it."""

    def body() -> None:
        from ..devnet import Devnet, check_home, check_port, describe_endpoint

        s = settings(rpc_url=rpc_url, home=home)
        url = f"http://127.0.0.1:{check_port(port)}" if port is not None else s.rpc_url
        local = _local_port(url)
        pid = deployment = other = None
        if local is not None:
            devnet = Devnet(Path(s.home), port=local)
            url = devnet.rpc_url
            pid, deployment = devnet.running_pid(), devnet.manifest()
            other = devnet.other()
        else:
            check_home(Path(s.home))
            from urllib.parse import urlsplit

            try:
                parts = urlsplit(url)
                scheme, host = parts.scheme, parts.hostname
                remote_port = parts.port or (443 if scheme == "https" else 80)
            except ValueError:  # a port that is no number or out of range
                scheme = host = None
            if scheme not in ("http", "https") or not host:
                raise FabricaValueError(f"RPC URL {url!r} must look like http://127.0.0.1:8545 (http or https, a host, "
                                        "a port 1–65535)")
            other = describe_endpoint(url, host, remote_port)
        up = deployment is not None and pid is not None
        if json_out:
            print(json.dumps({"up": up, "rpc_url": url, "pid": pid, "other": other}))
        elif up:
            console.print(f"devnet up at {url} (anvil pid {pid}, home {s.home})")
        elif pid is not None:
            console.print(f"devnet at {url}: anvil runs (pid {pid}) but Fabrica is not deployed; run `fabrica devnet up`")
        elif other:
            console.print(f"no devnet from home {s.home} at {url}; {other} answers there, which this home did not "
                          "start (`fabrica devnet up` will not use it)")
        else:
            console.print(f"devnet down at {url}: nothing answers")

    run(body)


@app.command()
def advance(
    seconds: Annotated[int, typer.Option("--seconds", help="how far to move the devnet's clock")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
) -> None:
    """Move the devnet's clock forward and mine a block (refused on any chain that is not a devnet)."""

    def body() -> None:
        from web3 import Web3

        from ..devnet import DEVNET_CHAIN_ID
        from ..display import format_duration, format_time
        from ..errors import FabricaConnectionError, FabricaError

        if seconds <= 0:
            raise FabricaValueError(f"--seconds {seconds}: time only moves forward; give a positive number of seconds")
        url = settings(rpc_url=rpc_url, home=home).rpc_url
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise FabricaConnectionError(f"cannot reach an Ethereum node at {url} ({exc.__class__.__name__}); "
                                         "start the devnet with `fabrica devnet up`") from None
        # Only a local devnet's clock may be moved: on any other chain this would be a request the node refuses at
        # best, and a surprise at worst.
        if chain_id != DEVNET_CHAIN_ID:
            raise FabricaValueError(f"{url} is chain {chain_id}, not the devnet (chain {DEVNET_CHAIN_ID}): only a "
                                    "devnet's clock can be moved")
        before = int(w3.eth.get_block("latest")["timestamp"])
        moved = w3.provider.make_request("evm_increaseTime", [seconds])
        mined = w3.provider.make_request("evm_mine", [])
        if "error" in moved or "error" in mined:
            error = (moved.get("error") or mined.get("error") or {}).get("message", "refused")
            raise FabricaError(f"the node at {url} refused to move its clock ({error}): is it anvil?")
        block = w3.eth.get_block("latest")
        after = int(block["timestamp"])
        if json_out:
            print(json.dumps({"advanced": seconds, "from": before, "from_utc": format_time(before), "now": after,
                              "now_utc": format_time(after), "block": block["number"]}))
        else:
            console.print(f"devnet clock moved {format_duration(seconds)}: {format_time(before)} → "
                          f"{format_time(after)} (block {block['number']})")

    run(body)
