"""Read endpoints over the indexer's read model: jobs, nodes, designs and their market, licences, bounties,
governance, accounts and protocol statistics. Everything here is public chain data; private data (telemetry,
the audit log) lives in other routers behind roles.

Amounts and uint256 ids are decimal strings in base units (JavaScript numbers lose precision beyond 2^53);
every list answers with the indexed block it reflects.
"""
from __future__ import annotations

import base64
import time
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from fabrica.indexer import schema as ix
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .. import schema as gws
from ..fastpath import PgPages, parse_query, public, query_parameters
from ..errors import BadRequest
from ..roles import allow
from .common import address, gw_of, jsonable

router = APIRouter(prefix="/v1", tags=["read"])
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
JOB_STATUSES = ("open", "claimed", "delivered", "disputed", "settled", "refunded", "cancelled", "expired", "resolved")
_encode = msgspec.json.Encoder().encode

# The list columns: enough to draw a row; /v1/jobs/{id} has everything.
_JOB_LIST = (ix.jobs.c.job_id, ix.jobs.c.status, ix.jobs.c.customer, ix.jobs.c.token, ix.jobs.c.node,
             ix.jobs.c.node_id, ix.jobs.c.amount, ix.jobs.c.collateral, ix.jobs.c.royalty, ix.jobs.c.fee_bps,
             ix.jobs.c.deadline, ix.jobs.c.target_node, ix.jobs.c.spec_cid, ix.jobs.c.design_id,
             ix.jobs.c.posted_block, ix.jobs.c.updated_block, gws.job_specs.c.title, gws.job_specs.c.process,
             gws.job_specs.c.material)
_JOB_FROM = ix.jobs.outerjoin(gws.job_specs, gws.job_specs.c.job_id == ix.jobs.c.job_id)
_STRING_COLUMNS = {"amount", "collateral", "royalty", "target_node", "design_id"}


def _json(body: bytes) -> Response:
    """Encoded JSON as the response, as it is (no response model to validate it against again)."""
    return Response(body, media_type="application/json")


def encode_cursor(job_id: int) -> str:
    """The opaque cursor of a page ending at `job_id` (the next page lists older jobs)."""
    return base64.urlsafe_b64encode(f"j{job_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The job id inside a cursor this API returned, or 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[0] != "j":
            raise ValueError
        job_id = int(raw[1:])
        if not 0 <= job_id < 2**63:  # job ids are BIGINTs: no page of this API ends beyond them
            raise ValueError
        return job_id
    except (ValueError, IndexError, UnicodeDecodeError):
        raise BadRequest(f"cursor {cursor[:40]!r} is not one this API returned") from None


def _block(gw: Any) -> int | None:
    """The indexed block (cached for a quarter second: lists are read far more often than blocks arrive)."""
    now = time.monotonic()
    cached = getattr(gw, "_block_cache", None)
    if cached and now - cached[0] < 0.25:
        return cached[1]
    status = gw.read.status()
    block = status.block_number if status else None
    gw._block_cache = (now, block)
    return block


# Filters of the jobs list by name: each compares one column with a named bind parameter, so a filter shape
# compiles once (and PostgreSQL prepares it once per connection).
_JOB_FILTERS = {"status": ix.jobs.c.status, "customer": ix.jobs.c.customer, "node": ix.jobs.c.node,
                "node_id": ix.jobs.c.node_id, "material": gws.job_specs.c.material,
                "process": gws.job_specs.c.process}


def _jobs_query(shape: tuple[str, ...]) -> sa.Select:
    """The jobs list for a shape (the filter names in use, then "cursor" when paging), newest first."""
    q = sa.select(*_JOB_LIST).select_from(_JOB_FROM)
    for name in shape:
        if name == "cursor":
            q = q.where(ix.jobs.c.job_id < sa.bindparam("cursor", type_=sa.BigInteger))
        else:
            q = q.where(_JOB_FILTERS[name] == sa.bindparam(name, type_=_JOB_FILTERS[name].type))
    return q.order_by(ix.jobs.c.job_id.desc()).limit(sa.bindparam("limit", type_=sa.Integer))


def _jobs_page_sqlite(gw: Any, shape: tuple[str, ...], params: dict[str, Any]) -> bytes:
    """A page through SQLAlchemy (SQLite, and any engine without the PostgreSQL fast path)."""
    with gw.engine.connect() as conn:
        rows = conn.execute(_jobs_query(shape), params).all()
    keys = [c.name for c in _JOB_LIST]
    items = [dict(zip(keys, r)) for r in rows]
    for item in items:  # U256 columns come back as ints: strings for JavaScript
        for k in _STRING_COLUMNS:
            item[k] = str(item[k])
    nxt = encode_cursor(items[-1]["job_id"]) if len(items) == params["limit"] else None
    return _encode({"items": items, "next_cursor": nxt, "block": _block(gw)})


def _pg_pages(gw: Any) -> PgPages:
    pages = getattr(gw, "_pg_pages", None)
    if pages is None:
        pages = gw._pg_pages = PgPages(gw.engine)
    return pages


class JobsQuery(BaseModel):
    """The jobs list's query string."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = Field(None, description=f"one of {', '.join(JOB_STATUSES)}")
    customer: str | None = None
    node: str | None = Field(None, description="claiming operator")
    node_id: int | None = Field(None, ge=0, le=2**63 - 1)
    material: str | None = Field(None, max_length=32, description="PLA, PETG, …")
    process: str | None = Field(None, max_length=32, description="FDM, SLA, …")
    limit: int = Field(50, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64, description="next_cursor of the last page")


@router.get("/jobs", dependencies=[public()], openapi_extra=query_parameters(JobsQuery))
async def list_jobs(request: Request) -> Response:
    """Jobs, newest first, filtered by status, customer, claiming node, material or process; paged by cursor."""
    q = parse_query(JobsQuery, request)
    gw = gw_of(request)
    params: dict[str, Any] = {}  # filter name -> bind value, in a fixed order: the shape names the statement
    if q.status is not None:
        if q.status not in JOB_STATUSES:
            raise BadRequest(f"status {q.status!r} is not one of {', '.join(JOB_STATUSES)}")
        params["status"] = q.status
    if q.customer is not None:
        params["customer"] = address(q.customer, "customer").lower()
    if q.node is not None:
        params["node"] = address(q.node, "node").lower()
    if q.node_id is not None:
        params["node_id"] = q.node_id
    if q.material is not None:
        params["material"] = _flag_name("Material", q.material)
    if q.process is not None:
        params["process"] = _flag_name("ProcessKind", q.process)
    if q.cursor is not None:
        params["cursor"] = decode_cursor(q.cursor)
    shape = tuple(params)
    params["limit"] = limit = q.limit
    if gw.sqlite:
        return _json(await run_in_threadpool(_jobs_page_sqlite, gw, shape, params))
    pages = _pg_pages(gw)
    sql = pages.sql(shape, lambda: _jobs_query(shape), "job_id")
    block, count, last, items = await pages.page(sql, params)
    nxt = b'"' + encode_cursor(last).encode() + b'"' if count == limit else b"null"
    return _json(b'{"items":[' + items.encode() + b'],"next_cursor":' + nxt + b',"block":' +
                       (b"null" if block is None else str(block).encode()) + b"}")


def _flag_name(kind: str, value: str) -> str:
    from fabrica.protocol.types import Material, ProcessKind

    flags = {"Material": Material, "ProcessKind": ProcessKind}[kind]
    name = value.strip().upper().replace("-", "_")
    if name not in flags.__members__:
        raise BadRequest(f"unknown {kind.lower().replace('kind', '')} {value!r}; known: {', '.join(flags.__members__)}")
    return name


JobId = Annotated[int, Path(ge=0, le=2**63 - 1)]
NodeId = Annotated[int, Path(ge=0, le=2**63 - 1)]
U256Path = Annotated[str, Path(max_length=80, pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")]


def _u256(text: str, name: str) -> int:
    value = int(text, 16) if text.startswith("0x") else int(text)
    if value >= 2**256:
        raise BadRequest(f"{name} {text} is beyond uint256")
    return value


@router.get("/jobs/{job_id}", dependencies=[allow("public")])
def get_job(request: Request, job_id: JobId) -> dict[str, Any]:
    """A job with its history, dispute, spec (process, material, size) and proof CID."""
    gw = gw_of(request)
    job = gw.read.job(job_id)
    body = jsonable(job)
    body["expected_fee"] = str(job.expected_fee)
    with gw.engine.connect() as conn:
        spec = conn.execute(sa.select(gws.job_specs).where(gws.job_specs.c.job_id == job_id)).mappings().first()
    body["spec"] = dict(spec) if spec else None
    body["proof"] = {"cid": job.proof_cid, "url": f"/v1/content/{job.proof_cid}"} if job.proof_cid else None
    body["block"] = _block(gw)
    return body


@router.get("/nodes", dependencies=[allow("public")])
def list_nodes(request: Request, operator: str | None = None, active: bool | None = None) -> dict[str, Any]:
    """Registered nodes with their capabilities, optionally by operator or active flag."""
    gw = gw_of(request)
    nodes = gw.read.nodes(operator=address(operator, "operator") if operator else None, active=active)
    return {"items": [_node(n) for n in nodes], "block": _block(gw)}


def _node(n: Any) -> dict[str, Any]:
    from fabrica.protocol.types import Material, ProcessKind

    body = jsonable(n)
    body["process_names"] = [m.name for m in ProcessKind if n.processes & m.value]
    body["material_names"] = [m.name for m in Material if n.materials & m.value]
    return body


def _reputation(gw: Any, node_id: int) -> dict[str, int]:
    """Delivered, failed (expired or handed back), disputed and ruled-against counts of a node's jobs."""
    j, h, d = ix.jobs, ix.job_history, ix.disputes
    with gw.engine.connect() as conn:
        by_status = dict(conn.execute(sa.select(j.c.status, sa.func.count()).where(j.c.node_id == node_id)
                                      .group_by(j.c.status)).all())
        handed = conn.execute(sa.select(sa.func.count()).select_from(h)
                              .where(h.c.event == "JobHandedBack",
                                     sa.cast(h.c.args["nodeId"].as_string(), sa.String) == str(node_id))).scalar()
        disputed = conn.execute(sa.select(sa.func.count()).select_from(d.join(j, j.c.job_id == d.c.job_id))
                                .where(j.c.node_id == node_id)).scalar()
        lost = conn.execute(sa.select(sa.func.count()).select_from(d.join(j, j.c.job_id == d.c.job_id))
                            .where(j.c.node_id == node_id, d.c.final_refund_bps > 0)).scalar()
    delivered = sum(by_status.get(s, 0) for s in ("delivered", "settled", "disputed", "resolved"))
    return {"claimed": sum(by_status.values()), "delivered": delivered, "settled": by_status.get("settled", 0),
            "failed": by_status.get("expired", 0) + int(handed or 0), "disputed": int(disputed or 0),
            "disputes_lost": int(lost or 0), "in_progress": by_status.get("claimed", 0)}


@router.get("/nodes/{node_id}", dependencies=[allow("public")])
def get_node(request: Request, node_id: NodeId) -> dict[str, Any]:
    """A node: capabilities, its operator's stake (bonded, locked, free, slashed) and reputation counts."""
    gw = gw_of(request)
    n = gw.read.node(node_id)
    stake = gw.read.stake(n.operator)
    body = _node(n)
    body["stake"] = None if stake is None else {**jsonable(stake), "free": str(stake.free)}
    body["reputation"] = _reputation(gw, node_id)
    body["block"] = _block(gw)
    return body


@router.get("/nodes/{node_id}/open-jobs", dependencies=[allow("public")])
def node_open_jobs(request: Request, node_id: NodeId, limit: Limit = 50) -> dict[str, Any]:
    """Open jobs this node may claim now: stake, target and, where the spec is known, process, material and size."""
    gw = gw_of(request)
    node = gw.read.node(node_id)
    jobs = gw.read.open_jobs_for_node(node_id, limit=1000)
    specs = _specs(gw, [j.job_id for j in jobs])
    out = [j for j in jobs if fits(node, specs.get(j.job_id))][:limit]
    return {"items": [{**jsonable(j), "spec": specs.get(j.job_id)} for j in out], "block": _block(gw)}


def _specs(gw: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    with gw.engine.connect() as conn:
        rows = conn.execute(sa.select(gws.job_specs).where(gws.job_specs.c.job_id.in_(ids))).mappings().all()
    return {r["job_id"]: dict(r) for r in rows}


def fits(node: Any, spec: dict[str, Any] | None) -> bool:
    """Whether a node can make a job's spec (unknown specs are shown: the node client checks them itself)."""
    if spec is None or spec.get("process_bits") is None:
        return True
    if not (node.processes & spec["process_bits"]) or not (node.materials & spec["material_bits"]):
        return False
    size = [spec.get("size_x"), spec.get("size_y"), spec.get("size_z")]
    if None in size:
        return True
    return sorted(size) <= sorted([node.build_x, node.build_y, node.build_z]) or all(
        a <= b for a, b in zip(sorted(size), sorted([node.build_x, node.build_y, node.build_z])))


# ---------------------------------------------------------------------- designs and their market
@router.get("/designs", dependencies=[allow("public")])
def list_designs(request: Request, creator: str | None = None, owner: str | None = None,
                 state: Annotated[str | None, Query(pattern="^(active|taken_down|appealed)$")] = None,
                 limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Designs, newest first, by creator, owner or moderation state."""
    gw = gw_of(request)
    items = gw.read.designs(creator=address(creator, "creator") if creator else None,
                            owner=address(owner, "owner") if owner else None, state=state, limit=limit, offset=offset)
    return {"items": jsonable(items), "block": _block(gw)}


@router.get("/designs/{design_id}", dependencies=[allow("public")])
def get_design(request: Request, design_id: U256Path) -> dict[str, Any]:
    """A design with its licence terms, holders, purchases, uses, sales and royalties."""
    gw = gw_of(request)
    body = jsonable(gw.read.design(_u256(design_id, "design id")))
    body["block"] = _block(gw)
    return body


@router.get("/listings", dependencies=[allow("public")])
def listings(request: Request, maker: str | None = None, limit: Limit = 50) -> dict[str, Any]:
    """Signed design-market orders relayed here that can still fill (not expired, cancelled or used up)."""
    gw = gw_of(request)
    t = gws.signed_orders
    q = sa.select(t).where(t.c.kind == "design", t.c.expiry > int(time.time())).order_by(t.c.relayed_at.desc())
    if maker:
        q = q.where(t.c.maker == address(maker, "maker"))
    with gw.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q.limit(limit * 4)).mappings()]
    out = []
    for r in rows:
        order = r["order"]
        cancelled = set(gw.read.design_cancelled_nonces(r["maker"]))
        if int(order["nonce"]) in cancelled or int(order["counter"]) != gw.read.design_order_counter(r["maker"]):
            continue
        out.append({"order_hash": r["order_hash"], "maker": r["maker"], "order": order, "signature": r["signature"]})
        if len(out) == limit:
            break
    return {"items": out, "block": _block(gw)}


@router.get("/sales", dependencies=[allow("public")])
def sales(request: Request, design_id: Annotated[str | None, Query(pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")] = None,
          account: str | None = None, asset: Annotated[str | None, Query(pattern="^(design|licence)$")] = None,
          limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Design-market fills, newest first."""
    gw = gw_of(request)
    items = gw.read.sales(design_id=_u256(design_id, "design id") if design_id else None,
                          account=address(account, "account") if account else None, asset=asset,
                          limit=limit, offset=offset)
    return {"items": jsonable(items), "block": _block(gw)}


@router.get("/licences", dependencies=[allow("public")])
def licences(request: Request, holder: str | None = None,
             design_id: Annotated[str | None, Query(pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")] = None
             ) -> dict[str, Any]:
    """Fabrication licences held, and the purchases that made them, by holder or design."""
    gw = gw_of(request)
    who = address(holder, "holder") if holder else None
    did = _u256(design_id, "design id") if design_id else None
    return {"holdings": jsonable(gw.read.licence_holdings(holder=who, design_id=did)),
            "purchases": jsonable(gw.read.licence_purchases(design_id=did, buyer=who)),
            "terms": jsonable(gw.read.licence_terms(did)) if did is not None else None, "block": _block(gw)}


# ---------------------------------------------------------------------- bounties
@router.get("/bounties", dependencies=[allow("public")])
def list_bounties(request: Request, poster: str | None = None, sponsor: str | None = None, limit: Limit = 50,
                  offset: Offset = 0) -> dict[str, Any]:
    """Bounties, newest first, by poster or sponsor, with their pots."""
    gw = gw_of(request)
    items = gw.read.bounties(poster=address(poster, "poster") if poster else None,
                             sponsor=address(sponsor, "sponsor") if sponsor else None, limit=limit, offset=offset)
    return {"items": [{**jsonable(b), "pot": str(b.pot)} for b in items], "block": _block(gw)}


@router.get("/bounties/{bounty_id}", dependencies=[allow("public")])
def get_bounty(request: Request, bounty_id: Annotated[int, Path(ge=0, le=2**63 - 1)]) -> dict[str, Any]:
    """A bounty with its contributions, submissions, approvals and awards."""
    gw = gw_of(request)
    b = gw.read.bounty(bounty_id)
    return {**jsonable(b), "pot": str(b.pot), "block": _block(gw)}


# ---------------------------------------------------------------------- governance
@router.get("/proposals", dependencies=[allow("public")])
def list_proposals(request: Request,
                   status: Annotated[str | None, Query(pattern="^(created|queued|executed|canceled)$")] = None,
                   proposer: str | None = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """DAO proposals, newest first, with their tallies and decoded actions."""
    gw = gw_of(request)
    items = gw.read.proposals(status=status, proposer=address(proposer, "proposer") if proposer else None,
                              limit=limit, offset=offset)
    return {"items": [_proposal(gw, p) for p in items], "block": _block(gw)}


@router.get("/proposals/{proposal_id}", dependencies=[allow("public")])
def get_proposal(request: Request, proposal_id: U256Path) -> dict[str, Any]:
    """A proposal with its history, votes and decoded actions."""
    gw = gw_of(request)
    body = _proposal(gw, gw.read.proposal(_u256(proposal_id, "proposal id")))
    body["block"] = _block(gw)
    return body


def _proposal(gw: Any, p: Any) -> dict[str, Any]:
    body = jsonable(p)
    body["title"] = p.title
    body["actions"] = [decode_action(gw, t, v, c) for t, v, c in zip(p.targets, p.call_values, p.calldatas)]
    return body


def decode_action(gw: Any, target: str, value: int, calldata: str) -> dict[str, Any]:
    """One proposal action as contract, function and named arguments (raw calldata when unknown)."""
    out: dict[str, Any] = {"target": target, "value": str(value), "calldata": calldata}
    dep = gw.deployment_or_none()
    if dep is None:
        return out
    names = {a.lower(): n for n, a in dep.contracts.items()}
    name = names.get(target.lower())
    if name is None:
        return out
    out["contract"] = name
    try:
        from fabrica.protocol.artifacts import abi
        from web3 import Web3

        contract = Web3().eth.contract(abi=abi(name))
        fn, args = contract.decode_function_input(calldata)
        out["function"] = fn.fn_name
        out["args"] = jsonable({k: (v.hex() if isinstance(v, bytes) else v) for k, v in args.items()})
    except Exception:  # an artifact without that function: leave the raw calldata
        pass
    return out


@router.get("/delegations", dependencies=[allow("public")])
def delegations(request: Request, source: Annotated[str | None, Query(pattern="^(fab|stake)$")] = None,
                delegate: str | None = None) -> dict[str, Any]:
    """Who delegates votes to whom, per source (fab: FAB held, stake: FAB staked)."""
    gw = gw_of(request)
    items = gw.read.delegations(source=source, delegate=address(delegate, "delegate") if delegate else None)
    return {"items": jsonable(items), "block": _block(gw)}


# ---------------------------------------------------------------------- accounts and statistics
@router.get("/accounts/{account}", dependencies=[allow("public")])
def get_account(request: Request, account: Annotated[str, Path(max_length=42)]) -> dict[str, Any]:
    """An account's balances (market credit, bounty awards, wallet tokens), stake, votes, royalties and activity."""
    gw = gw_of(request)
    who = address(account, "account")
    read = gw.read
    tokens = read.tokens()
    body: dict[str, Any] = {
        "address": who,
        "market_balances": jsonable(read.balances(account=who)),
        "bounty_balances": {t: str(read.bounty_balance(t, who)) for t in tokens},
        "stake": jsonable(read.stake(who)),
        "votes": jsonable(read.votes_of(who)),
        "royalties": jsonable(read.royalty_totals(who)),
        "jobs_as_customer": len(read.jobs(customer=who, limit=10_000)),
        "designs_owned": len(read.designs(owner=who, limit=10_000)),
        "wallet": _wallet(gw, who),
        "block": _block(gw),
    }
    return body


def _wallet(gw: Any, who: str) -> dict[str, str] | None:
    """Token balances in the wallet itself, read from the chain (None when the node is unreachable)."""
    dep = gw.deployment_or_none()
    if dep is None:
        return None
    try:
        from fabrica.protocol.artifacts import abi

        erc20 = abi("FabToken")
        out = {"ETH": str(gw.web3.eth.get_balance(who))}
        tokens = {"FAB": dep.contracts["FabToken"], **dep.payment_tokens}
        for sym, addr in tokens.items():
            out[sym] = str(gw.web3.eth.contract(address=addr, abi=erc20).functions.balanceOf(who).call())
        return out
    except Exception:
        return None


@router.get("/tokens", dependencies=[allow("public")])
def tokens(request: Request) -> dict[str, Any]:
    """Payment tokens the market accepts, with their collateral terms."""
    gw = gw_of(request)
    return {"items": jsonable(gw.read.token_terms()), "currencies": jsonable(gw.read.currencies()),
            "block": _block(gw)}


@router.get("/stats", dependencies=[allow("public")])
def stats(request: Request) -> dict[str, Any]:
    """Protocol statistics: jobs by status, settled volume and fees per token, active nodes, designs, bounties,
    proposals."""
    gw = gw_of(request)
    j = ix.jobs
    with gw.engine.connect() as conn:
        by_status = {s: n for s, n in conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status))}
        volume: dict[str, int] = {}
        for token, amount in conn.execute(sa.select(j.c.token, j.c.amount).where(j.c.status.in_(("settled", "resolved")))):
            volume[token] = volume.get(token, 0) + int(amount)
        nodes_active = conn.execute(sa.select(sa.func.count()).select_from(ix.nodes).where(ix.nodes.c.active)).scalar()
        designs = conn.execute(sa.select(sa.func.count()).select_from(ix.designs)).scalar()
        bounties = conn.execute(sa.select(sa.func.count()).select_from(ix.bounties)).scalar()
        proposals = conn.execute(sa.select(sa.func.count()).select_from(ix.proposals)).scalar()
    fees = gw.read.fees()
    return {"jobs": {"total": sum(by_status.values()), "by_status": by_status},
            "volume": {k: str(v) for k, v in volume.items()}, "fees": {k: str(v) for k, v in fees.items()},
            "nodes_active": nodes_active, "designs": designs, "bounties": bounties, "proposals": proposals,
            "block": _block(gw)}



# ---------------------------------------------------------------------- work queues behind chain roles
@router.get("/arbiter/disputes", dependencies=[allow("arbiter", "viewer")])
def arbiter_disputes(request: Request,
                     stage: Annotated[str | None, Query(pattern="^(awaiting_arbiter|ruled|appealed|resolved)$")] = None,
                     limit: Limit = 50) -> dict[str, Any]:
    """Disputes the signed-in judge must rule on (staff see every judge's), with the job's evidence CIDs."""
    gw = gw_of(request)
    who = request.state.principal
    staff = who.staff_rank(gw.config.admins) > 0
    items = gw.read.disputes(stage=stage, judge=None if staff else who.address, limit=limit)
    out = []
    for d in items:
        job = gw.read.job(d.job_id)
        out.append({**jsonable(d), "proof_cid": job.proof_cid, "reason_cid": job.reason_cid,
                    "customer": job.customer, "node": job.node})
    return {"items": out, "block": _block(gw)}


@router.get("/moderation", dependencies=[allow("dao", "arbiter", "viewer")])
def moderation(request: Request, limit: Limit = 50) -> dict[str, Any]:
    """Designs taken down or under appeal, with the takedown reason and the appeal's evidence."""
    gw = gw_of(request)
    items = gw.read.designs(state="taken_down", limit=limit) + gw.read.designs(state="appealed", limit=limit)
    return {"items": jsonable(items), "block": _block(gw)}


@router.get("/designs/{design_id}/offers", dependencies=[allow("design_owner", "viewer")])
def design_offers(request: Request, design_id: U256Path, limit: Limit = 50) -> dict[str, Any]:
    """Signed offers relayed for this design (for its owner to accept), newest first."""
    gw = gw_of(request)
    token_id = _u256(design_id, "design id")
    t = gws.signed_orders
    q = (sa.select(t).where(t.c.kind == "design", t.c.expiry > int(time.time()))
         .order_by(t.c.relayed_at.desc()).limit(500))
    with gw.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    offers = [r for r in rows if str(r["order"].get("side")) == "1" and int(r["order"].get("token_id", -1)) == token_id]
    return {"items": jsonable(offers[:limit]), "block": _block(gw)}
