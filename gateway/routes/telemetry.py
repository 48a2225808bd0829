"""Node telemetry: batches signed by a node's operator key come in, samples and print-log lines go out to the
node's operator, the job's customer, arbiters and operations staff.

Ingestion (`POST /v1/nodes/{node_id}/telemetry`, body `{"batch": …, "signature": "0x…"}`; the format and the
signature are fabrica.protocol.telemetry's) needs no session: the signature is the credential. A batch is
refused, with its reason audited, when it is too large (413), was signed for another chain, too long ago or in
the future (401), its signature does not recover to the operator it names (401), that operator is not the
node's registered operator in the index or the node is out of service (403), its sequence number is not above
the last one stored for the node (403 `replayed`, with the last one in `X-Fabrica-Telemetry-Seq`), or the node
sends more batches than `telemetry_rate` allows (429 with Retry-After). Reads page by (time, id), oldest first,
and never downsample.
"""
from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fabrica.protocol.errors import FabricaLookupError
from fabrica.protocol.telemetry import SignedBatch, TelemetryBatch, TelemetryError
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from .. import schema as gws
from ..errors import BadRequest, Forbidden, GatewayError, NotFound, RateLimited, TooLarge, Unauthorized
from ..metrics import METRICS
from ..roles import allow
from .common import JS_SAFE, gw_of

router = APIRouter(prefix="/v1", tags=["telemetry"])
log = logging.getLogger("fabrica.gateway.telemetry")
NodeId = Annotated[int, Path(ge=0, le=2**63 - 1)]
JobId = Annotated[int, Path(ge=0, le=2**63 - 1)]
Since = Annotated[float | None, Query(ge=0, description="from this time on (Unix seconds, inclusive)")]
Until = Annotated[float | None, Query(ge=0, description="before this time (Unix seconds, exclusive)")]
PageSize = Annotated[int, Query(ge=1, le=1000, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=80, description="next_cursor of the previous page")]
SEQ_HEADER = "X-Fabrica-Telemetry-Seq"
_SAMPLE_FIELDS = ("state", "hotend", "hotend_target", "bed", "bed_target", "hotend_duty", "bed_duty", "progress",
                  "error")


# ------------------------------------------------------------------------------------------- ingestion
@router.post("/nodes/{node_id}/telemetry", dependencies=[allow("public")])
async def push_telemetry(request: Request, node_id: NodeId, body: SignedBatch) -> dict[str, Any]:
    """Store a batch of samples and print-log lines signed by the node's operator key (no session needed)."""
    gw = gw_of(request)
    stored = await run_in_threadpool(_ingest, request, gw, node_id, body)
    METRICS.telemetry_samples.inc(len(body.batch.samples))
    _publish(request, node_id, body.batch)
    return stored


def _publish(request: Request, node_id: int, batch: TelemetryBatch) -> None:
    """Fan a stored batch out to WebSocket subscribers (on the event loop, after the commit). The batch is stored
    whatever happens here: a failure must not answer the node with an error it would resend the batch for."""
    hub = request.app.state.hub
    message = _message(batch)
    try:
        hub.publish_telemetry(node_id, message)
    except TooLarge:  # more than the stream relays at once: say what arrived; subscribers read it over REST
        summary = {**message, "samples": [], "logs": [], "truncated": True,
                   "counts": {"samples": len(batch.samples), "logs": len(batch.logs)}}
        try:
            hub.publish_telemetry(node_id, summary)
        except Exception:
            log.exception("publishing telemetry of node %s failed", node_id)
    except Exception:
        log.exception("publishing telemetry of node %s failed", node_id)


def _ingest(request: Request, gw: Any, node_id: int, body: SignedBatch) -> dict[str, Any]:
    """Check a batch (refusals audited) and store it with its node's new sequence number, in one transaction."""
    batch, cfg = body.batch, gw.config
    refused = _Refusal(request, gw, batch)
    if batch.node_id != node_id:
        refused(BadRequest(f"the batch is for node {batch.node_id} but was posted to node {node_id}'s URL",
                           code="node_mismatch"))
    if len(batch.samples) > cfg.telemetry_max_samples or len(batch.logs) > cfg.telemetry_max_logs:
        refused(TooLarge(f"batch holds {len(batch.samples)} samples and {len(batch.logs)} log lines; this gateway "
                         f"takes at most {cfg.telemetry_max_samples} and {cfg.telemetry_max_logs} per batch: "
                         "send smaller batches", code="batch_too_large"))
    if batch.chain_id != gw.chain_id:
        refused(Unauthorized(f"batch was signed for chain {batch.chain_id}; this gateway serves chain "
                             f"{gw.chain_id}", code="wrong_chain"))
    now = time.time()
    if now - batch.sent_at > cfg.telemetry_max_age_s:
        refused(Unauthorized(f"batch was signed {now - batch.sent_at:.0f} s ago; batches older than "
                             f"{cfg.telemetry_max_age_s} s are refused: sign it again (is the node's clock right?)",
                             code="stale_batch"))
    if batch.sent_at - now > cfg.clock_skew_s:
        refused(Unauthorized(f"batch is dated {batch.sent_at - now:.0f} s in the future (at most "
                             f"{cfg.clock_skew_s} s of clock skew): set the node's clock", code="future_batch"))
    try:
        signer = body.signer()
    except TelemetryError as exc:
        refused(Unauthorized(str(exc), code="bad_signature"))
    refused.signer = signer
    if signer != batch.operator:
        refused(Unauthorized(f"the signature recovers to {signer}, not to the operator the batch names "
                             f"({batch.operator}): sign with the operator's key", code="bad_signature"))
    try:
        node = gw.read.node(node_id)
    except FabricaLookupError:
        raise NotFound(f"node {node_id} is not in the index (a node registered moments ago appears once the "
                       "indexer reaches its block: retry)", code="unknown_node") from None
    if node.operator.lower() != signer:
        refused(Forbidden(f"node {node_id} is operated by {node.operator}, not by the signer {signer}",
                          code="foreign_node"))
    if not node.active:
        refused(Forbidden(f"node {node_id} is out of service on chain; reactivate it to push telemetry",
                          code="node_inactive"))
    try:  # only authentic batches spend the node's budget: forgeries cannot starve a node's telemetry
        gw.telemetry_limiter.take(f"node {node_id}", "telemetry batches")
    except RateLimited:
        METRICS.rate_limited.inc()
        raise
    last = _store(gw.engine, batch, now)
    if last is not None:
        refused(Forbidden(f"sequence number {batch.seq} is not above {last}, the last one stored for node "
                          f"{node_id}: a replay, or the node's counter went back", code="replayed",
                          headers={SEQ_HEADER: str(last)}))
    return {"node_id": node_id, "seq": batch.seq, "samples": len(batch.samples), "logs": len(batch.logs)}


class _Refusal:
    """Raises a refusal after writing it to the audit log (with the signer once it is known)."""

    def __init__(self, request: Request, gw: Any, batch: TelemetryBatch) -> None:
        self.request, self.gw, self.batch, self.signer = request, gw, batch, None

    def __call__(self, exc: GatewayError) -> None:
        r = self.request
        self.gw.audit.record("telemetry_refused", address=self.signer or self.batch.operator,
                             ip=r.client.host if r.client else None,
                             request_id=r.scope.get("state", {}).get("request_id"), node_id=self.batch.node_id,
                             seq=self.batch.seq, reason=exc.code, detail=exc.detail, signed=bool(self.signer))
        raise exc


def _store(engine: sa.Engine, batch: TelemetryBatch, now: float) -> int | None:
    """Move the node's sequence number and insert the rows atomically; the last stored number when `seq` is not
    above it (nothing stored)."""
    cur = gws.telemetry_cursor
    for _ in range(3):  # a concurrent first batch of the same node can win the insert: then compare again
        try:
            with engine.begin() as conn:
                # Compare-and-set in one statement: two workers cannot both accept the same number.
                moved = conn.execute(cur.update().where(cur.c.node_id == batch.node_id, cur.c.last_seq < batch.seq)
                                     .values(last_seq=batch.seq, last_at=now, operator=batch.operator)).rowcount
                if not moved:
                    last = conn.execute(sa.select(cur.c.last_seq).where(cur.c.node_id == batch.node_id)).scalar()
                    if last is not None:
                        return int(last)
                    conn.execute(cur.insert().values(node_id=batch.node_id, last_seq=batch.seq, last_at=now,
                                                     operator=batch.operator))
                if batch.samples:
                    conn.execute(gws.telemetry.insert(), [
                        {"node_id": batch.node_id, "machine": batch.machine, "job_id": s.job_id, "at": s.t,
                         "batch_seq": batch.seq, **{f: getattr(s, f) for f in _SAMPLE_FIELDS}}
                        for s in batch.samples])
                if batch.logs:
                    conn.execute(gws.print_logs.insert(), [
                        {"node_id": batch.node_id, "job_id": x.job_id, "at": x.t, "level": x.level, "line": x.line}
                        for x in batch.logs])
            return None
        except sa.exc.IntegrityError:
            continue
    raise GatewayError(f"node {batch.node_id}'s telemetry cursor is contended: retry", code="conflict")


def _message(batch: TelemetryBatch) -> dict[str, Any]:
    """What WebSocket subscribers of the node get for a stored batch."""
    return {"type": "telemetry", "node_id": batch.node_id, "machine": batch.machine, "seq": batch.seq,
            "job_ids": sorted({x.job_id for x in (*batch.samples, *batch.logs) if x.job_id is not None}),
            "samples": [_sample_item({"node_id": batch.node_id, "machine": batch.machine, "job_id": s.job_id,
                                      "at": s.t, "batch_seq": batch.seq, **{f: getattr(s, f) for f in _SAMPLE_FIELDS}})
                        for s in batch.samples],
            "logs": [_log_item({"node_id": batch.node_id, "job_id": x.job_id, "at": x.t, "level": x.level,
                                "line": x.line}) for x in batch.logs]}


# ----------------------------------------------------------------------------------------------- reads
@router.get("/nodes/{node_id}/telemetry", dependencies=[allow("node_operator", "viewer")])
def node_telemetry(request: Request, node_id: NodeId, since: Since = None, until: Until = None,
                   limit: PageSize = 500, cursor: Cursor = None) -> dict[str, Any]:
    """A node's samples in a time range, oldest first, every one (paged by cursor, never downsampled)."""
    gw = gw_of(request)
    try:
        gw.read.node(node_id)
    except FabricaLookupError:
        raise NotFound(f"no node {node_id} in the index") from None
    t = gws.telemetry
    items, nxt = _page(gw, t, [t.c.node_id == node_id], since, until, limit, cursor, _sample_item)
    return {"node_id": node_id, "items": items, "next_cursor": nxt}


@router.get("/jobs/{job_id}/telemetry", dependencies=[allow("customer", "node_operator", "arbiter", "viewer")])
def job_telemetry(request: Request, job_id: JobId, since: Since = None, until: Until = None,
                  limit: PageSize = 500, cursor: Cursor = None) -> dict[str, Any]:
    """A job's samples, oldest first, from the nodes that claimed it (another node cannot write into it)."""
    gw = gw_of(request)
    t = gws.telemetry
    nodes = _claimants(gw, job_id)
    items, nxt = _page(gw, t, [t.c.job_id == job_id, t.c.node_id.in_(nodes)], since, until, limit, cursor,
                       _sample_item)
    return {"job_id": job_id, "node_ids": sorted(nodes), "items": items, "next_cursor": nxt}


@router.get("/jobs/{job_id}/logs", dependencies=[allow("customer", "node_operator", "arbiter", "viewer")])
def job_logs(request: Request, job_id: JobId, since: Since = None, until: Until = None,
             limit: PageSize = 500, cursor: Cursor = None) -> dict[str, Any]:
    """A job's print-log lines, oldest first, from the nodes that claimed it."""
    gw = gw_of(request)
    t = gws.print_logs
    nodes = _claimants(gw, job_id)
    items, nxt = _page(gw, t, [t.c.job_id == job_id, t.c.node_id.in_(nodes)], since, until, limit, cursor, _log_item)
    return {"job_id": job_id, "node_ids": sorted(nodes), "items": items, "next_cursor": nxt}


def _claimants(gw: Any, job_id: int) -> set[int]:
    """Every node that ever claimed the job (the current one and any that handed it back), from the index."""
    job = gw.read.job(job_id)  # 404 when unknown
    nodes = {int(job.node_id)} if job.node_id is not None else set()
    for event in job.history:
        node = (event.args or {}).get("nodeId")
        if node is not None:
            nodes.add(int(node))
    return nodes


def _page(gw: Any, table: sa.Table, where: list[Any], since: float | None, until: float | None, limit: int,
          cursor: str | None, shape: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One page ordered by (time, id) with keyset paging: rows stored later never shift a page."""
    if since is not None and until is not None and until <= since:
        raise BadRequest(f"until ({until}) must be after since ({since})")
    q = sa.select(table).where(*where)
    if since is not None:
        q = q.where(table.c.at >= since)
    if until is not None:
        q = q.where(table.c.at < until)
    if cursor is not None:
        at, row_id = _decode(cursor)
        q = q.where(sa.or_(table.c.at > at, sa.and_(table.c.at == at, table.c.id > row_id)))
    q = q.order_by(table.c.at, table.c.id).limit(limit)
    with gw.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    nxt = _encode(rows[-1]["at"], rows[-1]["id"]) if len(rows) == limit else None
    return [shape(r) for r in rows], nxt


def _encode(at: float, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at!r}:{row_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[float, int]:
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        return float(at), int(row_id)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"cursor {cursor[:40]!r} is not one this API returned") from None


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _id(value: int | None) -> int | str | None:
    return str(value) if value is not None and value > JS_SAFE else value  # JavaScript loses bigger integers


def _sample_item(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r.get("id"), "node_id": _id(r["node_id"]), "machine": r["machine"], "job_id": _id(r["job_id"]),
            "at": r["at"], "at_iso": _iso(r["at"]), **{f: r[f] for f in _SAMPLE_FIELDS}, "seq": r["batch_seq"]}


def _log_item(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r.get("id"), "node_id": _id(r["node_id"]), "job_id": _id(r["job_id"]), "at": r["at"],
            "at_iso": _iso(r["at"]), "level": r["level"], "line": r["line"]}
