"""`fabrica node register|update|stake|unbond|withdraw|show|list`: a shop's stake and nodes on chain."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FabricaValueError
from ..storage.sealing import generate_keypair
from ..config import Settings
from ..types import Material, ProcessKind, format_units, parse_flags, to_units
from .common import (
    AccountOpt,
    HomeOpt,
    JsonOpt,
    RpcOpt,
    client,
    console,
    jsonable,
    print_tx,
    run,
    settings,
)

app = typer.Typer(help="Fabrication shops: stake FAB and register nodes with their capabilities.", no_args_is_help=True)

ProcessOpt = Annotated[str, typer.Option(help="comma-separated process kinds, e.g. FDM,SLA")]
MaterialOpt = Annotated[str, typer.Option(help="comma-separated materials, e.g. PLA,PETG")]
VolumeOpt = Annotated[str, typer.Option(help="build volume in mm, XxYxZ")]
KeyOpt = Annotated[str | None, typer.Option(help="X25519 public key (64 hex chars); default: generate one")]
MetaOpt = Annotated[str | None, typer.Option(help="metadata JSON file or CID; default: generated")]


def _volume(text: str) -> tuple[int, int, int]:
    try:
        x, y, z = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FabricaValueError(f"--volume {text!r} must look like 250x210x220 (millimetres)") from None
    return x, y, z


def _key_and_meta(key: str | None, meta: str | None, s: Settings, description: dict) -> tuple[bytes, str]:
    home_dir = s.home
    store = s.content_store()
    if key is None:
        # The private half stays with the shop: it unseals private designs sent to this node.
        pair = generate_keypair()
        public, private = pair.public_key, pair.private_key
        keys = home_dir / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        path = keys / f"node-{public.hex()[:16]}.key"
        path.write_text(private.hex())
        path.chmod(0o600)
        pub = public
    else:
        try:
            pub = bytes.fromhex(key.removeprefix("0x"))
        except ValueError:
            raise FabricaValueError("--encryption-key must be hex") from None
    if meta is None:
        meta_cid = str(store.add(json.dumps(description, sort_keys=True).encode()))
    elif Path(meta).is_file():
        meta_cid = str(store.add(Path(meta)))
    else:
        meta_cid = meta
    return pub, meta_cid


@app.command()
def register(
    process: ProcessOpt = "FDM", material: MaterialOpt = "PLA", volume: VolumeOpt = "250x210x220",
    encryption_key: KeyOpt = None, metadata: MetaOpt = None, name: Annotated[str, typer.Option()] = "node",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Register a node with its processes, materials, build volume and encryption key."""

    def body() -> None:
        s = settings(rpc_url, home, account)
        processes, materials = parse_flags(ProcessKind, process), parse_flags(Material, material)
        vol = _volume(volume)
        pub, meta_cid = _key_and_meta(encryption_key, metadata, s,
                                      {"name": name, "process": process, "material": material, "volume_mm": vol})
        result = client(rpc_url, home, account).register_node(
            processes=processes, materials=materials, build_volume_mm=vol, encryption_key=pub, metadata_cid=meta_cid)
        print_tx("node registered", result, json_out, {"node_id": result.value, "encryption_key": pub.hex()})

    run(body)


@app.command()
def update(
    node_id: Annotated[int, typer.Argument(help="node id")],
    process: ProcessOpt = "FDM", material: MaterialOpt = "PLA", volume: VolumeOpt = "250x210x220",
    encryption_key: KeyOpt = None, metadata: MetaOpt = None, name: Annotated[str, typer.Option()] = "node",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Replace a node's capabilities, key and metadata."""

    def body() -> None:
        s = settings(rpc_url, home, account)
        vol = _volume(volume)
        pub, meta_cid = _key_and_meta(encryption_key, metadata, s,
                                      {"name": name, "process": process, "material": material, "volume_mm": vol})
        result = client(rpc_url, home, account).update_node(
            node_id, processes=parse_flags(ProcessKind, process), materials=parse_flags(Material, material),
            build_volume_mm=vol, encryption_key=pub, metadata_cid=meta_cid)
        print_tx("node updated", result, json_out)

    run(body)


@app.command()
def stake(amount: Annotated[str, typer.Argument(help="FAB to stake, e.g. 1000")],
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Stake FAB so your nodes can claim jobs."""
    run(lambda: print_tx("staked", client(rpc_url, home, account).stake(to_units(amount, 18)), json_out))


@app.command()
def unbond(amount: Annotated[str, typer.Argument(help="FAB to unbond")],
           rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Start unbonding free stake; withdraw it after the unbonding delay."""
    run(lambda: print_tx("unbond requested", client(rpc_url, home, account).request_unbond(to_units(amount, 18)), json_out))


@app.command()
def withdraw(rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Withdraw stake whose unbonding delay has passed."""
    run(lambda: print_tx("stake withdrawn", client(rpc_url, home, account).withdraw_stake(), json_out))


@app.command()
def show(node_id: Annotated[int, typer.Argument(help="node id")],
         rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Show a node and its operator's stake."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        node = fab.node(node_id)
        data = jsonable(node)
        data["processes"] = str(node.processes.name)
        data["materials"] = str(node.materials.name)
        st = fab.stake_of(node.operator)
        data["stake"] = {"staked": format_units(st.staked, 18), "locked": format_units(st.locked, 18),
                         "unbonding": format_units(st.unbonding, 18), "unbond_at": st.unbond_at}
        print(json.dumps(data, indent=None if json_out else 2))

    run(body)


@app.command("list")
def list_nodes(rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """List registered nodes."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        nodes = fab.nodes()
        if json_out:
            print(json.dumps([jsonable(n) for n in nodes]))
        else:
            for n in nodes:
                console.print(f"{n.node_id}  {n.operator}  {n.processes.name}  {n.materials.name}  "
                              f"{'x'.join(map(str, n.build_volume_mm))} mm  {'active' if n.active else 'inactive'}")

    run(body)
