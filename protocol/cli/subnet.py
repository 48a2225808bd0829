"""`fabrica subnet …`: the local stand-in chain and dev helpers that go through the subnet chain port like a user would."""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from ..errors import FabricaError, FabricaValueError
from .common import HomeOpt, JsonOpt, console, run, settings

T = TypeVar("T")

app = typer.Typer(help="Bittensor subnet chain: the local stand-in and dev helpers.", no_args_is_help=True)

NetworkOpt = Annotated[
    str,
    typer.Option("--network", "-n", help="local / http://HOST:PORT (the stand-in), finney, test or a ws:// URL"),
]
NetuidOpt = Annotated[int, typer.Option("--netuid", help="subnet id")]
WalletOpt = Annotated[str | None, typer.Option("--wallet", "-w", help="bittensor wallet name (its coldkey and hotkey)")]
HotkeyOpt = Annotated[str | None, typer.Option("--hotkey", help="hotkey name inside the wallet [default: default]")]
WalletPathOpt = Annotated[str | None, typer.Option("--wallet-path", help="bittensor wallets directory [default ~/.bittensor/wallets]")]
DevOpt = Annotated[str | None, typer.Option("--dev", help="dev wallet for the local stand-in: alice, bob, … (hotkey //Alice)")]


def _wallet(wallet: str | None, hotkey: str | None, wallet_path: str | None, dev: str | None) -> Any:
    from ..subnet.chain import resolve_wallet
    from ..subnet.localnet.devkeys import known_dev_name

    if dev is not None and (wallet, hotkey, wallet_path) != (None, None, None):
        # --hotkey or --wallet-path beside --dev would be ignored: say so rather than sign with another key
        raise FabricaValueError("give either --dev NAME or --wallet NAME [--hotkey NAME] [--wallet-path DIR], not both")
    if dev is not None:
        return resolve_wallet(f"dev:{known_dev_name(dev)}")  # a typo must not register (and burn for) a new key
    if wallet is None:
        raise FabricaValueError("this command signs: pass --wallet NAME [--hotkey NAME], or --dev NAME on the local stand-in")
    return resolve_wallet(f"{wallet}/{hotkey or 'default'}", wallet_path=wallet_path)


def _with_chain(network: str, signer: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    from ..subnet.chain import open_chain

    async def main() -> T:
        chain = open_chain(network, signer)
        try:
            return await body(chain)
        finally:
            await chain.close()

    return asyncio.run(main())


def _parse_sets(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FabricaValueError(f"--set {item!r}: expected NAME=VALUE, e.g. --set weights_rate_limit=10")
        text = value.strip().lower()
        try:
            out[key.strip()] = True if text == "true" else False if text == "false" else int(value)
        except ValueError:
            raise FabricaValueError(f"--set {item!r}: the value must be an integer, true or false") from None
    return out


_TYPE_RANGES = {"u16": (0, 2**16 - 1), "u64": (0, 2**64 - 1), "i16": (-(2**15), 2**15 - 1)}


def _check_hyperparam(key: str, value: Any) -> None:
    """A `--set` value must fit the chain's type for it (u16, u64, bool…); a tempo of 0 would never run an epoch."""
    from ..subnet.localnet.state import HYPERPARAM_TYPES

    kind = HYPERPARAM_TYPES.get(key, "u64")
    if kind == "bool":
        if not isinstance(value, bool):
            raise FabricaValueError(f"--set {key}={value}: {key} is true or false")
        return
    low, high = _TYPE_RANGES.get(kind, _TYPE_RANGES["u64"])
    if key == "tempo":
        low = 1
    if isinstance(value, bool) or not low <= value <= high:
        raise FabricaValueError(f"--set {key}={value}: {key} must be an integer in {low}..{high}")


def _check_netuid(netuid: int) -> None:
    """Subnet ids are u16 on chain; refuse others before any connection (an encoder error is no message)."""
    if not 0 <= netuid <= 65535:
        raise FabricaValueError(f"--netuid must be in 0..65535, got {netuid}")


def _probe_port(host: str, port: int) -> None:
    """Fail before any state is touched (or discarded by --fresh) when ``host:port`` cannot be bound."""
    import socket

    if not 0 <= port <= 65535:
        raise FabricaValueError(f"--port must be in 0..65535 (0 picks a free port), got {port}")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FabricaError(f"cannot listen on {host}:{port} ({reason}): pick another --port or --host") from None


@app.command("localnet")
def localnet(
    port: Annotated[int, typer.Option(help="loopback port to serve on (0 picks a free one)")] = 9944,
    host: Annotated[str, typer.Option(help="address to bind; keep it on loopback")] = "127.0.0.1",
    block_time: Annotated[float, typer.Option("--block-time", help="seconds per block")] = 12.0,
    tempo: Annotated[int | None, typer.Option(help="blocks per epoch [chain default 360]")] = None,
    netuid: NetuidOpt = 1,
    set_: Annotated[list[str] | None, typer.Option("--set", help="subnet hyperparameter NAME=VALUE (repeatable), e.g. weights_rate_limit=10")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="discard the saved state and start at block 0")] = False,
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the local subnet stand-in (registration, stakes, axons, weights, Yuma epochs) until Ctrl-C."""

    def body() -> None:
        from ..subnet.localnet.server import LocalnetServer, state_path
        from ..subnet.localnet.state import LocalnetState

        from ..subnet.localnet.state import DEFAULT_HYPERPARAMS, GLOBAL_MAX_SUBNET_COUNT

        if not (math.isfinite(block_time) and block_time > 0):
            raise FabricaValueError(f"--block-time must be a positive number of seconds, got {block_time}")
        if tempo is not None and not 0 < tempo < 65536:
            raise FabricaValueError(f"--tempo must be in 1..65535, got {tempo}")
        if not 1 <= netuid < GLOBAL_MAX_SUBNET_COUNT:
            raise FabricaValueError(f"--netuid must be in 1..{GLOBAL_MAX_SUBNET_COUNT - 1}, got {netuid}")
        overrides = _parse_sets(set_)
        unknown = sorted(set(overrides) - set(DEFAULT_HYPERPARAMS))
        if unknown:
            raise FabricaValueError(f"--set {unknown[0]}: unknown hyperparameter; known: {', '.join(sorted(DEFAULT_HYPERPARAMS))}")
        for key, value in overrides.items():
            _check_hyperparam(key, value)
        if tempo is not None:
            overrides["tempo"] = tempo
        _probe_port(host, port)  # before --fresh discards the saved chain
        path = state_path(settings(home=home).home)
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise FabricaValueError(f"--home: {blocker} is a file, not a directory; pass a directory for the localnet state")
        try:
            if fresh and path.exists():
                path.unlink()
            state = LocalnetState.open(path, netuids=(netuid,), block_time=block_time, hyperparams=overrides)
        except OSError as exc:
            raise FabricaError(f"cannot keep the localnet state at {path}: {exc.strerror or exc}") from None
        if str(netuid) not in state.data["subnets"]:
            owner = next(iter(state.data["subnets"].values()), None)
            state.add_subnet(netuid, owner_coldkey=owner["owner_coldkey"] if owner else "",
                             owner_hotkey=owner["owner_hotkey"] if owner else "", hyperparams=overrides)
        for key, value in overrides.items():  # flags win over a resumed state's values
            for subnet in state.data["subnets"].values():
                if key not in subnet["hyperparams"]:
                    raise FabricaValueError(f"--set {key}: unknown hyperparameter; known: {', '.join(sorted(subnet['hyperparams']))}")
                subnet["hyperparams"][key] = type(subnet["hyperparams"][key])(value)
        state.save()
        server = LocalnetServer(state, host=host, port=port, log_level="warning")

        def ready() -> None:
            info = {"url": server.url, "state": str(path), "block": state.block, "block_time": state.block_time,
                    "netuids": sorted(int(k) for k in state.data["subnets"]), "genesis_hash": state.genesis_hash}
            if json_out:
                print(json.dumps(info), flush=True)
            else:
                console.print(f"[green]✓[/green] subnet localnet at [bold]{server.url}[/bold]  "
                              f"block {state.block}  {state.block_time:g}s blocks  subnets {info['netuids']}")
                console.print(f"    state {path}; use --network {server.url} (or local); Ctrl-C stops", style="dim")

        try:
            server.serve_forever(on_ready=ready)
        except KeyboardInterrupt:
            pass
        state.save()

    run(body)


@app.command("register")
def register(
    network: NetworkOpt = "local", netuid: NetuidOpt = 1, wallet: WalletOpt = None, hotkey: HotkeyOpt = None,
    wallet_path: WalletPathOpt = None, dev: DevOpt = None, json_out: JsonOpt = False,
) -> None:
    """Register the wallet's hotkey on a subnet, paying the burn from its coldkey."""

    def body() -> None:
        _check_netuid(netuid)
        signer = _wallet(wallet, hotkey, wallet_path, dev)

        async def go(chain: Any) -> dict[str, Any]:
            uid = await chain.register(netuid)
            return {"netuid": netuid, "uid": uid, "hotkey": chain.hotkey}

        out = _with_chain(network, signer, go)
        if json_out:
            print(json.dumps(out))
        else:
            console.print(f"[green]✓[/green] registered {out['hotkey']} on subnet {netuid} as uid {out['uid']}")

    run(body)


@app.command("stake")
def stake(
    amount: Annotated[float, typer.Option("--amount", help="TAO to stake from the coldkey")],
    network: NetworkOpt = "local", netuid: NetuidOpt = 1, wallet: WalletOpt = None, hotkey: HotkeyOpt = None,
    wallet_path: WalletPathOpt = None, dev: DevOpt = None,
    to: Annotated[str | None, typer.Option("--to", help="hotkey ss58 to stake on [default: the wallet's hotkey]")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Stake TAO from the wallet's coldkey onto a hotkey (on the stand-in: dev faucet funds, 1:1 alpha)."""

    def body() -> None:
        _check_netuid(netuid)
        if not (math.isfinite(amount) and amount > 0):
            raise FabricaValueError(f"--amount must be a positive number of TAO, got {amount}")
        if to is not None and not to.strip():
            raise FabricaValueError("--to is empty: give the ss58 address of the hotkey to stake on (or leave --to out)")
        signer = _wallet(wallet, hotkey, wallet_path, dev)

        async def go(chain: Any) -> dict[str, Any]:
            target = chain.hotkey if to is None else to.strip()
            await chain.add_stake(netuid, amount, target)
            graph = await chain.metagraph(netuid)
            neuron = graph.by_hotkey(target)
            return {"netuid": netuid, "hotkey": target, "amount": amount, "stake": neuron.stake if neuron else None}

        out = _with_chain(network, signer, go)
        if json_out:
            print(json.dumps(out))
        else:
            total = f"; total stake {out['stake']:.4f}" if out["stake"] is not None else ""
            console.print(f"[green]✓[/green] staked {amount:g} TAO on {out['hotkey']} in subnet {netuid}{total}")

    run(body)


@app.command("metagraph")
def metagraph(network: NetworkOpt = "local", netuid: NetuidOpt = 1, json_out: JsonOpt = False) -> None:
    """Show a subnet's neurons: stake, permits, axons, scores and commitments."""

    def body() -> None:
        from ..subnet.localnet.devkeys import dev_wallet

        _check_netuid(netuid)
        # Reads need no key; any public hotkey view satisfies the port.
        graph = _with_chain(network, dev_wallet("reader"), lambda chain: chain.metagraph(netuid))
        if json_out:
            print(json.dumps({
                "netuid": graph.netuid, "block": graph.block, "tempo": graph.tempo,
                "weights_rate_limit": graph.weights_rate_limit,
                "neurons": [n.__dict__ for n in graph.neurons],
            }))
            return
        title = (f"subnet {graph.netuid}  block {graph.block}  tempo {graph.tempo}  "
                 f"weights rate limit {graph.weights_rate_limit}")
        rows = [[str(n.uid), n.hotkey, f"{n.stake:.4f}", "yes" if n.validator_permit else "-",
                 "yes" if n.active else "-", n.axon or "-", f"{n.incentive:.4f}", f"{n.dividends:.4f}",
                 f"{n.emission:.4f}", n.commitment or "-"] for n in graph.neurons]
        if not console.is_terminal:
            # Piped or redirected: full values in aligned columns, whatever the width (no wrapping, no "…").
            print(title)
            print(_aligned([list(_METAGRAPH_COLUMNS), *rows]))
            return
        from rich.table import Table

        table = Table(title=title)
        for col in _METAGRAPH_COLUMNS:
            # Long values wrap onto more lines rather than being cut: a hotkey or axon is copied from here.
            table.add_column(col, justify="right" if col in _NUMERIC_COLUMNS else "left",
                             overflow="fold", no_wrap=col not in ("hotkey", "axon", "commitment"))
        for row in rows:
            table.add_row(*row)
        console.print(table)

    run(body)


_METAGRAPH_COLUMNS = ("uid", "hotkey", "stake", "vp", "active", "axon", "incentive", "dividends", "emission", "commitment")
_NUMERIC_COLUMNS = ("uid", "stake", "incentive", "dividends", "emission")


def _aligned(rows: list[list[str]]) -> str:
    """Rows as text columns two spaces apart, numbers right-aligned, nothing truncated."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.rjust(w) if col in _NUMERIC_COLUMNS else c.ljust(w)
                 for c, w, col in zip(r, widths, _METAGRAPH_COLUMNS, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@app.command("advance")
def advance(
    blocks: Annotated[int, typer.Option("--blocks", help="blocks to produce now")] = 1,
    network: NetworkOpt = "local", json_out: JsonOpt = False,
) -> None:
    """Produce blocks on the local stand-in right away (epochs run at their tempo boundaries)."""

    def body() -> None:
        import httpx

        from ..subnet.chain import is_localnet, localnet_url

        if not is_localnet(network):
            raise FabricaValueError(f"--network {network}: only the local stand-in produces blocks on demand")
        if not 1 <= blocks <= 100_000:
            raise FabricaValueError(f"--blocks must be in 1..100000, got {blocks}")
        url = localnet_url(network)
        try:
            answer = httpx.post(f"{url}/dev/advance", json={"blocks": blocks}, timeout=60).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise FabricaError(f"cannot reach the local stand-in at {url}: {exc}") from None
        if "error" in answer:
            raise FabricaError(answer["error"]["message"])
        result = answer["result"]
        if json_out:
            print(json.dumps(result))
        else:
            epochs = f"; epochs on subnets {result['epochs']}" if result["epochs"] else ""
            console.print(f"[green]✓[/green] now at block {result['block']}{epochs}")

    run(body)

