"""Shared CLI plumbing: common options, building a client from settings, printing results."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from ..errors import FabricaError

if TYPE_CHECKING:  # the SDK (web3, eth_account, pydantic) is imported by the commands that use it
    from ..client import Fabrica, TxResult
    from ..config import Settings

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

RpcOpt = Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL [env FABRICA_RPC_URL]")]
HomeOpt = Annotated[str | None, typer.Option("--home", help="state directory [env FABRICA_HOME, default .fabrica]")]
AccountOpt = Annotated[
    str | None, typer.Option("--account", "-a", help="dev role (customer, shop…), dev index or keystore file")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


def settings(rpc_url: str | None = None, home: str | None = None, account: str | None = None) -> Settings:
    """Settings from flags, environment and fabrica.toml."""
    from ..config import load_settings

    return load_settings(rpc_url=rpc_url, home=home, account=account)


def client(rpc_url: str | None, home: str | None, account: str | None, *, need_account: bool = True) -> Fabrica:
    """A connected SDK client with the chosen account."""
    from ..accounts import resolve_account
    from ..client import Fabrica

    s = settings(rpc_url, home, account)
    acct = None
    if s.account is not None:
        acct = resolve_account(s.account)
    elif need_account:
        raise FabricaError("this command signs a transaction: pass --account (e.g. customer, shop) or set FABRICA_ACCOUNT")
    fab = Fabrica.connect(s.rpc_url, deployments_dir=s.deployments_dir, account=acct)
    fab.receipt_timeout = s.receipt_timeout
    return fab


def jsonable(value: Any) -> Any:
    """Make SDK values printable as JSON (bytes -> 0x hex, enums -> names)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "name") and hasattr(value, "value") and isinstance(value.value, int):
        return value.name
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def tx_json(result: TxResult) -> dict[str, Any]:
    """A transaction result as a JSON object."""
    return {
        "tx_hash": result.tx_hash,
        "gas_used": result.gas_used,
        "block": result.block_number,
        "value": jsonable(result.value),
        "events": [{"contract": e.contract, "event": e.name, "args": jsonable(e.args)} for e in result.events],
    }


def print_tx(action: str, result: TxResult, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    """Print a transaction result for people or scripts."""
    if as_json:
        print(json.dumps({"action": action, **tx_json(result), **(extra or {})}))
        return
    value = f" -> {result.value}" if result.value is not None else ""
    console.print(f"[green]✓[/green] {action}{value}  tx {result.tx_hash}  gas {result.gas_used:,}")
    for e in result.events:
        args = ", ".join(f"{k}={_short(v)}" for k, v in e.args.items() if k != "job")
        console.print(f"    {e.contract}.{e.name}({args})", style="dim")


def _short(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)


def run(fn: Callable[[], None]) -> None:
    """Run a command body, turning Fabrica errors into a clear message and exit code 1."""
    try:
        fn()
    except FabricaError as exc:
        from rich.markup import escape

        # Messages quote user input ('[/x]' as a material, control bytes in a path): print it as text, never
        # as markup or terminal control, on one line.
        text = " ".join(str(exc).split("\n"))
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        err_console.print(f"[red]error:[/red] {escape(message)}")
        sys.exit(1)
