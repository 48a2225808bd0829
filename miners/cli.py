"""`fabrica miner …`: serve tasks over signed HTTP (`serve`), or solve one task file and print an answer the
validator can score (`solve`, `design`)."""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from fabrica.protocol.errors import FabricaError

# The task models (pydantic), the solvers (OR-Tools, NumPy, numba) and the server (FastAPI, uvicorn, bittensor)
# are imported by the commands that use them, so `fabrica --help` and each command load only their own.
from .solvers.design_defaults import DEFAULT_MAX_ITER

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
    from fabrica.protocol.tasks.loaders import load_task
    from fabrica.protocol.tasks.schedule_rules import GreedyInfeasibleError, greedy_schedule

    from .solvers.schedule_cpsat import solve_schedule

    try:
        t = load_task(task)
        result = solve_schedule(t, time_limit, workers=workers, seed=seed)
        if not json_out:
            try:
                baseline: int | None = greedy_schedule(t).makespan
            except GreedyInfeasibleError:
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
    from fabrica.protocol.tasks.design import parse_task as parse_design_task

    from .solvers.topology import solve_design

    try:
        try:
            raw = task.read_bytes()
        except OSError as exc:
            raise FabricaError(f"cannot read --task {task}: {exc.strerror}") from None
        if time_limit is not None and not time_limit < float("inf"):
            raise FabricaError(f"--time-limit must be a finite number of seconds, got {time_limit}")
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


def _wallet_spec(wallet: str | None, hotkey: str | None, dev: str | None) -> str:
    """The wallet `open_chain` signs with: `dev:NAME` (the local stand-in's //Name keys) or `cold/hot`."""
    if dev is not None:
        if wallet is not None or hotkey is not None:
            raise FabricaError("give either --dev NAME or --wallet/--hotkey, not both")
        from fabrica.protocol.subnet.localnet.devkeys import known_dev_name

        return f"dev:{known_dev_name(dev)}"  # a typo must not sign with (and advertise) a fresh key
    if wallet is None:
        raise FabricaError("the miner needs a hotkey: pass --wallet NAME --hotkey NAME, or --dev NAME on a local chain")
    if "/" in wallet:
        if hotkey is not None:
            raise FabricaError("give the hotkey either as --wallet cold/hot or as --hotkey, not both")
        return wallet
    return f"{wallet}/{hotkey or 'default'}"


def open_subnet_chain(network: str, *, wallet: str | None, hotkey: str | None, dev: str | None,
                      wallet_path: str | None = None) -> Any:
    """The subnet chain port for `network` signed by the miner's hotkey (`fabrica.protocol.subnet.chain.open_chain`)."""
    from fabrica.protocol.subnet.chain import open_chain

    return open_chain(network, _wallet_spec(wallet, hotkey, dev), wallet_path=wallet_path)


async def _advertise_once(network: str, wallet: str | None, hotkey: str | None, dev: str | None,
                          wallet_path: str | None, config: Any) -> None:
    import inspect

    from .server import advertise, capabilities_of, make_strategy

    chain = open_subnet_chain(network, wallet=wallet, hotkey=hotkey, dev=dev, wallet_path=wallet_path)
    if inspect.isawaitable(chain):
        chain = await chain
    try:
        await advertise(chain, config, capabilities_of(config, make_strategy(config)))
    finally:
        await chain.close()


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _configure_logging(log_level: str) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore"):  # one line per chain RPC otherwise
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def _check_ip(ip: str | None, option: str) -> None:
    """The advertised address must be a literal IP validators can reach (the chain stores 4 or 16 bytes)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        raise FabricaError(f"{option} {ip!r} is not an IPv4 or IPv6 address; pass the address validators reach "
                           "as --external-ip (or --no-advertise)") from None
    if address.is_unspecified:
        raise FabricaError(f"{option} {ip} cannot be advertised; pass --external-ip")


def _bind(host: str, port: int) -> Any:
    """A listening socket on host:port (as uvicorn binds one), or a one-line error when it cannot be had."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError, UnicodeError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FabricaError(f"cannot listen on {host}:{port} ({reason}): stop what uses the port or pass another "
                           "--port; nothing was advertised") from None
    sock.set_inheritable(True)  # --workers > 1: the worker processes accept on it
    return sock


async def _check_registered(network: str, wallet: str | None, hotkey: str | None, dev: str | None,
                            wallet_path: str | None, netuid: int) -> None:
    """Refuse to advertise for a hotkey the subnet does not know (the chain would refuse the axon anyway)."""
    chain = open_subnet_chain(network, wallet=wallet, hotkey=hotkey, dev=dev, wallet_path=wallet_path)
    try:
        graph = await chain.metagraph(netuid)
        if graph.by_hotkey(chain.hotkey) is None:
            how = f"--dev {dev}" if dev else "your --wallet/--hotkey"
            raise FabricaError(f"hotkey {chain.hotkey} is not registered on subnet {netuid} ({network}): register it "
                               f"first (`fabrica subnet register --network {network} --netuid {netuid} {how}`)")
    finally:
        await chain.close()


def _default_nonce_store() -> str:
    from fabrica.protocol.config import load_settings

    return f"sqlite:{load_settings().home / 'miner' / 'nonces.sqlite'}"


@app.command()
def serve(
    netuid: Annotated[int, typer.Option(envvar="FABRICA_MINER_NETUID", help="subnet uid")],
    network: Annotated[str, typer.Option(envvar="FABRICA_MINER_NETWORK",
                                         help="subnet chain: finney, test, local, or a ws:// URL")] = "local",
    wallet: Annotated[str | None, typer.Option(envvar="FABRICA_MINER_WALLET", help="bittensor wallet name")] = None,
    hotkey: Annotated[str | None, typer.Option(envvar="FABRICA_MINER_HOTKEY", help="hotkey name in the wallet")] = None,
    wallet_path: Annotated[str | None, typer.Option("--wallet-path", help="bittensor wallets directory")] = None,
    dev: Annotated[str | None, typer.Option(help="dev hotkey //NAME instead of a wallet (local stand-in), e.g. bob")] = None,
    host: Annotated[str, typer.Option(envvar="FABRICA_MINER_HOST", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="FABRICA_MINER_PORT", help="port to listen on")] = 8091,
    external_ip: Annotated[str | None, typer.Option("--external-ip", envvar="FABRICA_MINER_EXTERNAL_IP",
                                                    help="IP to advertise on chain [default: --host unless 0.0.0.0]")] = None,
    external_port: Annotated[int | None, typer.Option("--external-port", help="port to advertise [default: --port]")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes (share the nonce store)")] = 1,
    nonce_store: Annotated[str | None, typer.Option("--nonce-store", envvar="FABRICA_MINER_NONCE_STORE",
                                                    help="replay store: sqlite:PATH, redis://HOST:PORT/DB or memory "
                                                         "[default: sqlite:$FABRICA_HOME/miner/nonces.sqlite]")] = None,
    strategy: Annotated[str, typer.Option(help="cpsat (CP-SAT + SIMP) or dispatch (simple dispatch rule)")] = "cpsat",
    min_stake: Annotated[float, typer.Option("--min-stake", envvar="FABRICA_MINER_MIN_STAKE",
                                             help="least stake a caller needs")] = 0.0,
    require_permit: Annotated[bool, typer.Option("--require-permit/--no-require-permit",
                                                 help="callers need a validator permit")] = True,
    rate: Annotated[float, typer.Option(help="requests per second per hotkey (token bucket refill)")] = 2.0,
    burst: Annotated[float, typer.Option(help="token bucket size per hotkey")] = 10.0,
    max_concurrent: Annotated[int, typer.Option("--max-concurrent", help="solves running at once per worker")] = 2,
    max_queue: Annotated[int, typer.Option("--max-queue", help="solves waiting per worker before 503")] = 4,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", help="largest request body")] = 8 * 1024 * 1024,
    cpsat_workers: Annotated[int, typer.Option("--cpsat-workers", help="CP-SAT threads per solve")] = 2,
    metagraph_refresh: Annotated[float, typer.Option("--metagraph-refresh", help="seconds between metagraph reads")] = 60.0,
    advertise: Annotated[bool, typer.Option("--advertise/--no-advertise",
                                            help="publish endpoint and capabilities on chain at start-up")] = True,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning, error")] = "info",
) -> None:
    """Serve schedule and design tasks over HTTP to validators, every request signed with btauth/1."""
    import uvicorn

    from .nonces import check_nonce_store_spec, is_shared, open_nonce_store
    from .ratelimit import open_rate_limiter
    from .server import SERVE_ENV, MinerConfig, create_app, serve_spec

    try:
        if log_level.upper() not in _LOG_LEVELS:
            raise FabricaError(f"--log-level {log_level!r} is not one of {', '.join(s.lower() for s in _LOG_LEVELS)}")
        _configure_logging(log_level)
        if workers < 1:
            raise FabricaError(f"--workers must be at least 1, got {workers}")
        if not 0 <= port <= 65535:
            raise FabricaError(f"--port must be in 0..65535 (0 picks a free port), got {port}")
        if external_port is not None and not 1 <= external_port <= 65535:
            raise FabricaError(f"--external-port must be in 1..65535, got {external_port}")
        import math

        for option, value in (("--min-stake", min_stake), ("--rate", rate), ("--burst", burst),
                              ("--metagraph-refresh", metagraph_refresh)):
            if not math.isfinite(value):  # the settings' own checks catch nan, not infinity
                raise FabricaError(f"{option} must be a finite number, got {value}")
        if dev is not None and wallet_path is not None:
            raise FabricaError("--wallet-path is for --wallet; --dev keys need no files (give one or the other)")
        store_spec = nonce_store if nonce_store is not None else _default_nonce_store()
        check_nonce_store_spec(store_spec)
        if workers > 1 and not is_shared(store_spec):
            raise FabricaError("--nonce-store memory works in one process only; with --workers > 1 use "
                               "sqlite:PATH or redis://…")
        adv_ip = external_ip if external_ip is not None else (host if host not in ("0.0.0.0", "::", "") else None)
        if advertise and adv_ip is None:
            raise FabricaError("listening on all interfaces: pass --external-ip to advertise (or --no-advertise)")
        if advertise:
            _check_ip(adv_ip, "--external-ip" if external_ip is not None else "--host")
        config = MinerConfig(
            netuid=netuid, strategy=strategy, require_permit=require_permit, min_stake=min_stake,  # type: ignore[arg-type]
            max_body_bytes=max_body_bytes, rate_per_s=rate, rate_burst=burst, max_concurrent=max_concurrent,
            max_queue=max_queue, cpsat_workers=cpsat_workers, metagraph_refresh_s=metagraph_refresh,
            external_ip=adv_ip, port=external_port or port, advertise=advertise,
        )
        open_subnet_chain(network, wallet=wallet, hotkey=hotkey, dev=dev, wallet_path=wallet_path)  # fail fast: bad network, key (no I/O)
        # Bind before anything reaches the chain: a taken port must fail here, with no axon advertised that
        # validators would then score 0. The socket listens at once, so queries queue while the app starts.
        sock = _bind(host, port)
        try:
            import asyncio
            from dataclasses import replace

            config = replace(config, port=external_port or sock.getsockname()[1])
            if advertise:
                asyncio.run(_check_registered(network, wallet, hotkey, dev, wallet_path, netuid))
            store = open_nonce_store(store_spec)  # after the checks: bad input leaves no store file behind
            if advertise:
                asyncio.run(_advertise_once(network, wallet, hotkey, dev, wallet_path, config))
            print(f"miner: subnet {netuid} on {network}, strategy {strategy}, listening on {host}:"
                  f"{sock.getsockname()[1]} with {workers} worker(s), nonce store {store_spec.split('@')[-1]}",
                  file=sys.stderr)
            served = replace(config, advertise=False)  # advertised above, once the port was ours
            if workers == 1:
                app_ = create_app(served, chain_factory=lambda: open_subnet_chain(
                    network, wallet=wallet, hotkey=hotkey, dev=dev, wallet_path=wallet_path), nonce_store=store,
                    rate_limiter=open_rate_limiter(store_spec, rate, burst))
                server = uvicorn.Server(uvicorn.Config(app_, host=host, port=port, log_level=log_level.lower()))
                server.run(sockets=[sock])
                if not server.started:
                    raise FabricaError("the miner's HTTP server did not start (see the log above)")
                return
            from uvicorn.supervisors import Multiprocess

            os.environ[SERVE_ENV] = serve_spec(served, network=network, wallet=wallet, hotkey=hotkey, dev=dev,
                                               wallet_path=wallet_path, nonce_store=store_spec)
            # Each worker is a fresh (spawned) interpreter that imports the solvers before it answers uvicorn's
            # health pings; on a busy machine that takes longer than uvicorn's 5 s default, which kills it.
            multi = uvicorn.Config("fabrica.miners.server:serve_app_factory", factory=True, host=host, port=port,
                                   workers=workers, log_level=log_level.lower(), timeout_worker_healthcheck=60)
            Multiprocess(multi, sockets=[sock]).run()
        finally:
            sock.close()
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
