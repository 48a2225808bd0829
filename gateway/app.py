"""The FastAPI application: `create_app(config, settings, db_url)` wires state, the edge middleware, the error
handlers, the /v1 routers, the WebSocket stream and the dApp's static files."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fabrica.protocol.config import Settings
from fabrica.protocol.errors import FabricaError, FabricaLookupError, FabricaValueError

from .config import GatewayConfig
from .edge import Edge
from .errors import GatewayError

log = logging.getLogger("fabrica.gateway")
API_VERSION = "1"


def _error(request: Request, status: int, code: str, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    rid = request.scope.get("state", {}).get("request_id")
    return JSONResponse({"error": code, "detail": detail, "request_id": rid}, status_code=status, headers=headers)


def create_app(config: GatewayConfig, settings: Settings, db_url: str) -> FastAPI:
    """The gateway application for one worker process."""
    from . import stream
    from .routes import auth, config as config_routes, content, ops, reads, telemetry, tx
    from .state import Gateway

    holder: dict[str, Gateway | None] = {"gw": None}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - FastAPI's protocol
        gw = Gateway(config, settings, db_url)
        holder["gw"] = gw
        app.state.gw = gw
        hub = stream.Hub(gw)
        app.state.hub = hub
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            gw.close()
            holder["gw"] = None

    app = FastAPI(title="Fabrica gateway", version=API_VERSION, lifespan=lifespan,
                  description="Jobs, nodes, designs, bounties and governance of a Fabrica deployment, read from "
                              "the indexer; sign-in with Ethereum; unsigned transactions and EIP-712 payloads for "
                              "wallets to sign; content storage; node telemetry; a WebSocket stream.",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return _error(request, exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(FabricaLookupError)
    async def _lookup(request: Request, exc: FabricaLookupError) -> JSONResponse:
        return _error(request, 404, "not_found", str(exc))

    @app.exception_handler(FabricaValueError)
    async def _value(request: Request, exc: FabricaValueError) -> JSONResponse:
        return _error(request, 400, "bad_request", str(exc))

    @app.exception_handler(FabricaError)
    async def _fabrica(request: Request, exc: FabricaError) -> JSONResponse:
        return _error(request, 502, "upstream", str(exc))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        return _error(request, 400, "out_of_range", "a number in the request is out of range for the index")

    import sqlalchemy.exc

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _data(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL refuses a value its column cannot hold (a 2^63 id): the client's input, not our fault.
        return _error(request, 400, "out_of_range", "a value in the request is out of range for the index")

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def _db_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error: %s", exc)
        return _error(request, 503, "unavailable", "the database is unavailable; retry shortly", {"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg")}
                    for e in exc.errors()]
        return _error(request, 422, "invalid_request", problems)

    app.include_router(ops.router)
    app.include_router(auth.router)
    app.include_router(reads.router)
    app.include_router(config_routes.router)
    app.include_router(content.router)
    app.include_router(tx.router)
    app.include_router(telemetry.router)
    app.include_router(stream.router)
    _mount_web(app, config)
    app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE"], allow_headers=["authorization", "content-type",
                                                                               "x-request-id", "x-fabrica-signature"],
                       max_age=600)
    app.add_middleware(Edge, gateway_getter=lambda: holder["gw"])
    return app


def _mount_web(app: FastAPI, config: GatewayConfig) -> None:
    """Serve the dApp's build (gateway/web/dist) at /, when it has been built."""
    web = Path(config.web_dir) if config.web_dir else Path(__file__).resolve().parent / "web" / "dist"
    if not (web / "index.html").is_file():
        return
    PrecompressedStatic = _precompressed_static()
    app.mount("/", PrecompressedStatic(directory=web, html=True), name="web")


def _precompressed_static() -> Any:
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import FileResponse

    class Precompressed(StaticFiles):
        """Static files, sending `name.gz` (written beside each asset by the build) to clients that accept gzip:
        the dApp's JavaScript crosses the wire at a third of its size, with no compression work per request."""

        def file_response(self, full_path: Any, stat_result: Any, scope: Any, status_code: int = 200) -> Any:
            accepts = b"gzip" in dict(scope.get("headers") or []).get(b"accept-encoding", b"")
            gz = f"{full_path}.gz"
            if accepts and str(full_path).endswith((".js", ".css", ".html", ".svg", ".json")):
                import mimetypes
                import os

                if os.path.isfile(gz):
                    media = mimetypes.guess_type(str(full_path))[0] or "application/octet-stream"
                    response = FileResponse(gz, status_code=status_code, media_type=media,
                                            headers={"content-encoding": "gzip", "vary": "accept-encoding"})
                    if "/assets/" in str(full_path):  # hashed names: never change
                        response.headers["cache-control"] = "public, max-age=31536000, immutable"
                    return response
            return super().file_response(full_path, stat_result, scope, status_code)

    return Precompressed

