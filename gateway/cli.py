"""`fabrica gateway serve|roles`: run the HTTP/WebSocket API over the index, or print its role matrix.

Registered through the `fabrica.cli` entry-point group (fabrica.protocol never imports the gateway).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Annotated

import typer

app = typer.Typer(help="HTTP and WebSocket API for wallets, shops and dashboards (sign-in with Ethereum).",
                  no_args_is_help=True)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _db_url(db: str | None, home: str | None) -> str:
    from fabrica.indexer.db import normalize_url
    from fabrica.protocol.config import load_settings

    url = db or os.environ.get("FABRICA_INDEXER_DB") or f"sqlite:///{load_settings(home=home).home / 'index.db'}"
    normalize_url(url)
    return url


@app.command()
def serve(
    db: Annotated[str | None, typer.Option("--db", help="the indexer's database URL [env FABRICA_INDEXER_DB]")] = None,
    host: Annotated[str | None, typer.Option("--host", help="interface to listen on [default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="[default 8000]")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help="worker processes")] = None,
    public_url: Annotated[str | None, typer.Option("--public-url", help="the URL wallets see (SIWE domain)")] = None,
    rpc_url: Annotated[str | None, typer.Option("--rpc", "--rpc-url", help="JSON-RPC URL [env FABRICA_RPC_URL]")] = None,
    home: Annotated[str | None, typer.Option("--home", help="state directory [env FABRICA_HOME]")] = None,
    config: Annotated[str | None, typer.Option("--config", help="TOML file with a [gateway] table")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning")] = "info",
    no_access_log: Annotated[bool, typer.Option("--no-access-log", help="skip the per-request log line")] = False,
) -> None:
    """Serve the API (and the dApp when built) until interrupted; the OpenAPI document is at /openapi.json."""
    from fabrica.protocol.config import load_settings
    from fabrica.protocol.errors import FabricaError

    from .asgi import ENV
    from .config import load_gateway_config

    try:
        settings = load_settings(rpc_url=rpc_url, home=home, config=config)
        cfg = load_gateway_config(config, db=db, host=host, port=port, workers=workers, public_url=public_url)
        url = _db_url(cfg.db, home)
        from fabrica.indexer.db import is_sqlite, make_engine, migrate

        if cfg.workers > 1 and is_sqlite(url):
            raise FabricaError("several workers need PostgreSQL (they share sessions and fan out the stream "
                               "through LISTEN/NOTIFY): give --db postgresql://… or use --workers 1")
        if is_sqlite(url):
            path = url[len("sqlite:///"):].split("?", 1)[0]
            if path and os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
        engine = make_engine(url)
        migrate(engine)  # the read model's tables, so the API answers before the indexer's first sync
        from .schema import ensure_schema

        ensure_schema(engine)
        engine.dispose()
    except FabricaError as exc:
        _fail(exc)
    import uvicorn

    spec = {"config": cfg.model_dump(mode="json"), "settings": settings.model_dump(mode="json"), "db_url": url,
            "log_level": log_level, "access_log": not no_access_log}
    os.environ[ENV] = json.dumps(spec)
    if cfg.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fabrica-gateway-metrics-")
    print(f"gateway on {cfg.public_url} (API {cfg.public_url}/docs, OpenAPI {cfg.public_url}/openapi.json), "
          f"{cfg.workers} worker(s), index {url.split('?')[0]}", file=sys.stderr, flush=True)
    uvicorn.run("fabrica.gateway.asgi:build", factory=True, host=cfg.host, port=cfg.port, workers=cfg.workers,
                loop="uvloop", http="httptools", ws="websockets-sansio", log_config=None, access_log=False,
                proxy_headers=False, server_header=False, timeout_graceful_shutdown=5)


@app.command()
def roles(json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False) -> None:
    """Print every endpoint with the roles it allows (the README's matrix)."""
    from .roles import ROLES, matrix
    from .routes_table import route_app

    rows = matrix(route_app())
    if json_out:
        print(json.dumps([{"method": m, "path": p, "roles": list(r)} for m, p, r in rows], indent=2))
        return
    for name, meaning in ROLES.items():
        print(f"{name:14} {meaning}")
    print()
    for m, p, r in rows:
        print(f"{m:6} {p:48} {', '.join(r)}")
