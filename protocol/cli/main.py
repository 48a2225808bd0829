"""The `fabrica` command: one CLI, `fabrica <component> <verb>`."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated

import typer

from . import account, content, devnet, job, node, subnet
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, print_tx, run
from .demo import demo

app = typer.Typer(
    help="Fabrica: a blockchain-native marketplace for digital fabrication.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(devnet.app, name="devnet")
app.add_typer(job.app, name="job")
app.add_typer(node.app, name="node")
app.add_typer(account.app, name="account")
app.add_typer(subnet.app, name="subnet")

design_app = typer.Typer(help="Designs as NFTs with royalties.", no_args_is_help=True)
app.add_typer(design_app, name="design")


@design_app.command("mint")
def design_mint(
    cid: Annotated[str, typer.Argument(help="content CID of the design")],
    royalty_bps: Annotated[int, typer.Option(help="royalty on each job, basis points")] = 500,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Mint a design NFT whose holder earns a royalty on every job that fabricates it."""

    def body() -> None:
        from ..errors import FabricaLookupError, FabricaValueError
        from ..storage.cid import Cid
        from ..storage.errors import InvalidCidError
        from .common import settings

        try:
            parsed = Cid.parse(cid.strip())
        except InvalidCidError as exc:
            raise FabricaValueError(f"design CID {cid!r}: {exc}") from None
        if not 0 <= royalty_bps <= 10_000:
            raise FabricaValueError(f"--royalty-bps {royalty_bps}: basis points run from 0 to 10000 (500 = 5 %)")
        store = settings(rpc_url, home, account).content_store()
        # A design nobody can fetch earns royalties on jobs no node can make: mint only what is stored.
        if not store.has(parsed):
            where = f"the local content store at {store.root}" if hasattr(store, "root") else f"the content store {store!r}"
            raise FabricaLookupError(f"design CID {parsed}: no such content in {where}; add the design first with "
                                     "`fabrica content add FILE` and mint the CID it prints")
        print_tx("design minted", client(rpc_url, home, account).mint_design(str(parsed), royalty_bps), json_out)

    run(body)


app.add_typer(content.app, name="content")
app.command("demo")(demo)

# Components outside fabrica.protocol (node client, miners, …) add command groups through entry points,
# so the dependency arrows keep pointing at fabrica.protocol.
for _ep in entry_points(group="fabrica.cli"):
    app.add_typer(_ep.load(), name=_ep.name)
# A component may also add commands to an existing group: `fabrica.cli.<group>` entry points are typer apps
# whose commands join that group (the node client's `print` and `probe` join `fabrica node`).
_groups = {"node": node.app}
for _name, _group in _groups.items():
    for _ep in entry_points(group=f"fabrica.cli.{_name}"):
        _group.registered_commands.extend(_ep.load().registered_commands)


def main() -> None:
    """Entry point of the `fabrica` console script."""
    app()
