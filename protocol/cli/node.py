"""`fabrica node register|update|stake|unbond|withdraw|show|list`: a shop's stake and nodes on chain."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import FabricaError, FabricaValueError
from ..config import Settings
from ..types import format_units, to_units
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


UINT32_MAX = (1 << 32) - 1  # NodeRegistry keeps each side of the build volume in a uint32


def _volume(text: str) -> tuple[int, int, int]:
    """'250x210x220' -> (250, 210, 220): three positive whole millimetres."""
    rule = "three positive whole numbers of millimetres as XxYxZ, e.g. 250x210x220"
    sides = [v.strip() for v in text.lower().split("x")]
    if len(sides) != 3 or not all(v.isascii() and v.isdigit() for v in sides):
        raise FabricaValueError(f"--volume {text!r} must be {rule}")
    x, y, z = (int(v) for v in sides)
    if not all(0 < v <= UINT32_MAX for v in (x, y, z)):
        raise FabricaValueError(f"--volume {text!r}: each side must be between 1 and {UINT32_MAX} mm ({rule})")
    return x, y, z


def _capabilities(process: str, material: str) -> tuple:
    """--process and --material as flags; a node offers at least one process."""
    from ..types import Material, ProcessKind, parse_flags

    processes, materials = parse_flags(ProcessKind, process), parse_flags(Material, material)
    if not processes:
        known = ", ".join(m.name for m in ProcessKind)  # type: ignore[misc]
        raise FabricaValueError(f"--process {process!r} names no process; a node offers at least one of: {known}")
    return processes, materials


def _public_key(key: str) -> bytes:
    """--encryption-key as the 32 bytes of an X25519 public key."""
    rule = "an X25519 public key: 64 hex characters (32 bytes), not all zero"
    try:
        pub = bytes.fromhex(key.strip().removeprefix("0x"))
    except ValueError:
        raise FabricaValueError(f"--encryption-key must be {rule}; {key!r} is not hex") from None
    if len(pub) != 32 or not any(pub):
        raise FabricaValueError(f"--encryption-key must be {rule}; got {len(pub)} bytes")
    return pub


def _metadata(meta: str | None, description: dict) -> tuple[bytes | Path | None, str]:
    """What to store (generated JSON, a file, or nothing for a CID) and the metadata CID, without writing."""
    from ..storage.cid import Cid
    from ..storage.unixfs import compute_cid

    if meta is None:
        data = json.dumps(description, sort_keys=True).encode()
        return data, str(compute_cid(data))
    if not meta.strip():
        raise FabricaValueError("--metadata is empty; pass a JSON file or a CID, or leave it out to generate one")
    try:
        path = Path(meta).expanduser()
        is_dir, is_file = path.is_dir(), path.is_file()
    except (ValueError, OSError):  # an embedded NUL byte or an unreadable name: not a file, maybe a CID
        is_dir = is_file = False
    if is_dir:
        raise FabricaValueError(f"--metadata {meta} is a folder; pass a JSON file or the CID of stored metadata")
    if is_file:
        try:
            return path, str(compute_cid(path))
        except OSError as exc:
            raise FabricaValueError(f"--metadata {meta}: cannot read the file ({exc.strerror})") from None
    try:
        return None, str(Cid.parse(meta.strip()))
    except FabricaError:
        raise FabricaValueError(
            f"--metadata {meta!r} is neither an existing file nor a CID (Qm… or b…); pass a JSON file or a CID"
        ) from None


def _send_with_node_key(s: Settings, key: str | None, meta: tuple[bytes | Path | None, str],
                        send: Callable[[bytes, str], Any]) -> tuple[Any, bytes]:
    """Run `send(public_key, metadata_cid)`, first writing a new node key when none is given.

    The private half is written (0600, fsynced) before the transaction, so a registered node never loses
    it, and removed again (with any folder made for it) when the chain refused the transaction, so failed
    calls leave no orphan keys. Generated or file metadata is stored once the chain accepted it.
    """
    from ..chain_errors import ContractError

    data, meta_cid = meta
    if key is not None:
        pub = _public_key(key)
        result = send(pub, meta_cid)
    else:
        from ..storage.sealing import generate_keypair

        pair = generate_keypair()
        keys = s.home / "keys"
        made = [d for d in (keys, *keys.parents) if not d.exists()]
        path = keys / f"node-{pair.public_key.hex()[:16]}.key"
        try:
            keys.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(pair.private_key.hex())
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise FabricaValueError(f"cannot write the node's private key into {keys}: {exc.strerror}") from None
        try:
            result = send(pair.public_key, meta_cid)
        except (ContractError, FabricaValueError):
            # Refused before or when mined: no node holds this key. Any other failure (a timeout, Ctrl-C while
            # waiting) may still be mined, so the key stays.
            path.unlink(missing_ok=True)
            for folder in made:  # innermost first; only what this call created, and only if still empty
                try:
                    folder.rmdir()
                except OSError:
                    break
            raise
        pub = pair.public_key
    if data is not None:  # content-addressed: the CID on chain is already right; now make it fetchable
        s.content_store().add(data)
    return result, pub


def _node_id(node_id: int) -> None:
    if node_id <= 0:
        raise FabricaValueError(f"node id {node_id} must be a positive integer (see `fabrica node list`)")


def _stake_note(fab: Any) -> None:
    """Say what is missing before this node can claim: the order is stake, register, claim."""
    from ..display import format_fab

    minimum = fab.min_stake()
    staked = fab.stake_of(fab.address).staked
    if staked < minimum:
        console.print(f"note: {fab.address} has {format_fab(staked)} staked; claiming jobs needs at least "
                      f"{format_fab(minimum)}: run `fabrica node stake {format_units(minimum - staked, 18)}` before "
                      "`fabrica job claim`")


@app.command()
def register(
    process: ProcessOpt = "FDM", material: MaterialOpt = "PLA", volume: VolumeOpt = "250x210x220",
    encryption_key: KeyOpt = None, metadata: MetaOpt = None, name: Annotated[str, typer.Option()] = "node",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Register a node with its processes, materials, build volume and encryption key."""

    def body() -> None:
        processes, materials = _capabilities(process, material)
        vol = _volume(volume)
        if encryption_key is not None:
            _public_key(encryption_key)
        meta = _metadata(metadata, {"name": name, "process": process, "material": material, "volume_mm": vol})
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        result, pub = _send_with_node_key(s, encryption_key, meta, lambda pub, cid: fab.register_node(
            processes=processes, materials=materials, build_volume_mm=vol, encryption_key=pub, metadata_cid=cid))
        print_tx("node registered", result, json_out, {"node_id": result.value, "encryption_key": pub.hex()})
        if not json_out:
            _stake_note(fab)

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
        _node_id(node_id)
        processes, materials = _capabilities(process, material)
        vol = _volume(volume)
        if encryption_key is not None:
            _public_key(encryption_key)
        meta = _metadata(metadata, {"name": name, "process": process, "material": material, "volume_mm": vol})
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        fab.node(node_id)  # an unknown node is a clear error before a key is written
        result, _pub = _send_with_node_key(s, encryption_key, meta, lambda pub, cid: fab.update_node(
            node_id, processes=processes, materials=materials, build_volume_mm=vol, encryption_key=pub,
            metadata_cid=cid))
        print_tx("node updated", result, json_out)

    run(body)


def stake_summary(fab: Any, operator: str) -> dict:
    """An operator's stake in FAB: bonded, locked, unbonding with each pending request's release date, voting
    power and eligibility."""
    from ..display import format_time

    st = fab.stake_of(operator)
    minimum = fab.min_stake()
    return {
        "staked": format_units(st.staked, 18), "locked": format_units(st.locked, 18),
        "free": format_units(st.free, 18), "unbonding": format_units(st.unbonding, 18),
        "unbond_at": st.unbond_at, "unbond_at_utc": format_time(st.unbond_at) if st.unbond_at else None,
        "requests": [{"amount": format_units(amount, 18), "release_at": at, "release_at_utc": format_time(at)}
                     for amount, at in fab.unbond_requests(operator)],
        "votes": format_units(fab.votes(operator), 18), "min_stake": format_units(minimum, 18),
        "eligible": fab.eligible(operator),
    }


def _print_stake(summary: dict) -> None:
    """The stake summary for people."""
    eligible = "meets" if summary["eligible"] else "is below"
    console.print(f"    staked {summary['staked']} FAB ({summary['locked']} locked as collateral), which {eligible} "
                  f"the {summary['min_stake']} FAB minimum for claims; voting power {summary['votes']} FAB")
    for r in summary["requests"]:
        console.print(f"    unbonding {r['amount']} FAB, released {r['release_at_utc']}")


@app.command()
def stake(amount: Annotated[str, typer.Argument(help="FAB to stake, e.g. 1000")],
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Stake FAB so your nodes can claim jobs (the order is stake, register, claim)."""

    def body() -> None:
        units = to_units(amount, 18)  # a malformed amount is refused before any connection
        fab = client(rpc_url, home, account)
        result = fab.stake(units)
        summary = stake_summary(fab, fab.address)
        print_tx("staked", result, json_out, {"stake": summary})
        if not json_out:
            _print_stake(summary)

    run(body)


@app.command()
def unbond(amount: Annotated[str, typer.Argument(help="FAB to unbond")],
           rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Start unbonding bonded stake; each request is released at its own time, slashable until withdrawn."""

    def body() -> None:
        from ..display import format_time

        units = to_units(amount, 18)
        result = client(rpc_url, home, account).request_unbond(units)
        release = result.event("UnbondRequested").args["unbondAt"]
        print_tx("unbond requested", result, json_out, {"release_at": release, "release_at_utc": format_time(release)})
        if not json_out:
            console.print(f"    released {format_time(release)}: withdraw it then with `fabrica node withdraw`")

    run(body)


@app.command()
def withdraw(rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Withdraw every unbond request whose release time has passed."""
    run(lambda: print_tx("stake withdrawn", client(rpc_url, home, account).withdraw_stake(), json_out))


@app.command()
def show(node_id: Annotated[int, typer.Argument(help="node id")],
         rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Show a node, whether it can claim, and its operator's stake, unbond requests and voting power."""

    def body() -> None:
        _node_id(node_id)
        fab = client(rpc_url, home, None, need_account=False)
        node = fab.node(node_id)
        data = jsonable(node)
        data["processes"] = str(node.processes.name)
        data["materials"] = str(node.materials.name)
        data["can_claim"] = bool(fab.registry.functions.claimInfo(node_id).call()[1])
        data["stake"] = stake_summary(fab, node.operator)
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
