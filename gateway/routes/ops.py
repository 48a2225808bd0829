"""Operations: liveness, readiness (database reachable, index not too far behind), Prometheus metrics, the
audit log and session revocation for operations staff."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from ..metrics import METRICS, render
from ..roles import Principal, allow
from .common import address, gw_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[allow("public")])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[allow("public")])
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and the index is at most `max_lag_blocks` behind the chain."""
    gw = gw_of(request)
    problems: list[str] = []
    try:
        await run_in_threadpool(gw.ping_db)
    except Exception as exc:
        problems.append(f"database unreachable ({exc.__class__.__name__})")
        return JSONResponse({"ready": False, "problems": problems}, status_code=503)
    indexed, head = await run_in_threadpool(gw.index_lag)
    lag = None if indexed is None or head is None else max(0, head - indexed)
    if indexed is None:
        problems.append("nothing indexed yet: run `fabrica indexer run`")
    if head is None:
        problems.append(f"chain node at {gw.settings.rpc_url} unreachable")
    if lag is not None:
        METRICS.index_lag.set(lag)
        if lag > gw.config.max_lag_blocks:
            problems.append(f"index is {lag} blocks behind the chain (limit {gw.config.max_lag_blocks})")
    body = {"ready": not problems, "indexed_block": indexed, "chain_head": head, "lag_blocks": lag,
            "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics", dependencies=[allow("public")])
async def metrics(request: Request) -> Response:
    """Prometheus metrics (request latency histogram, WebSocket clients, indexer lag)."""
    gw = gw_of(request)
    indexed, head = await run_in_threadpool(gw.index_lag)
    if indexed is not None and head is not None:
        METRICS.index_lag.set(max(0, head - indexed))
    return Response(render(), media_type="text/plain; version=0.0.4")


@router.get("/v1/admin/audit", dependencies=[allow("operator")])
def audit_log(request: Request, event: str | None = None, address_: Annotated[str | None, Query(alias="address")] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100, before: int | None = None) -> dict[str, Any]:
    """The newest audit events (sign-ins, refusals, admin actions), paged by id."""
    gw = gw_of(request)
    rows = gw.audit.recent(event=event, address=address(address_) if address_ else None, limit=limit, before=before)
    return {"items": rows, "next_before": rows[-1]["id"] if len(rows) == limit else None}


@router.post("/v1/admin/sessions/{account}/revoke", dependencies=[allow("admin")])
def revoke_sessions(request: Request, account: str) -> dict[str, Any]:
    """End every session of `account` (an admin action, audited)."""
    gw = gw_of(request)
    who: Principal = request.state.principal
    target = address(account, "account")
    n = gw.sessions.revoke(address=target)
    gw.audit.record("admin_revoke_sessions", address=who.address, ip=request.client.host if request.client else None,
                    request_id=request.scope.get("state", {}).get("request_id"), target=target, sessions=n)
    return {"account": target, "revoked": n}


@router.get("/v1/admin/roles", dependencies=[allow("viewer")])
def role_matrix(request: Request) -> dict[str, Any]:
    """Every endpoint with the roles it allows (the README's table)."""
    from ..roles import ROLES, matrix

    return {"roles": ROLES, "endpoints": [{"method": m, "path": p, "roles": list(r)} for m, p, r in matrix(request.app)]}
