"""Endpoints that change chain state never hold a key: they build the unsigned transaction (with its gas
estimate and, when it would revert, the contract's custom error in words) or the EIP-712 payload for the
wallet to sign, and relay signed orders to whoever will take them."""
from __future__ import annotations

import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from .. import schema as gws
from ..errors import BadRequest, Conflict, NotFound, RateLimited
from ..roles import allow
from .common import address, gw_of, jsonable

router = APIRouter(prefix="/v1", tags=["transactions"])
ContractName = Annotated[str, Path(max_length=48, pattern=r"^[A-Za-z][A-Za-z0-9]*$")]
MAX_LIVE_ORDERS = 200
FunctionName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class CallBody(BaseModel):
    args: list[Any] = Field(default_factory=list, max_length=32,
                            description="the function's arguments in order; integers as decimal strings, bytes "
                                        "as 0x hex, structs as lists")
    value: str = Field("0", pattern=r"^[0-9]{1,78}$", description="wei sent with the call")
    sender: str | None = Field(None, alias="from", description="who will send it (for the gas estimate); "
                                                               "default: the signed-in address")


def _coerce(value: Any, abi_type: dict[str, Any]) -> Any:
    """JSON arguments to what web3 encodes: integer strings to ints, hex to bytes, lists to tuples for structs."""
    t = abi_type["type"]
    if t.endswith("]"):
        if not isinstance(value, list):
            raise BadRequest(f"argument {abi_type.get('name') or t} must be a list")
        inner = dict(abi_type, type=t[: t.rindex("[")])
        return [_coerce(v, inner) for v in value]
    if t == "tuple":
        comps = abi_type["components"]
        if isinstance(value, dict):
            value = [value.get(c["name"]) for c in comps]
        if not isinstance(value, list) or len(value) != len(comps):
            raise BadRequest(f"argument {abi_type.get('name')} must be a struct of {len(comps)} fields")
        return tuple(_coerce(v, c) for v, c in zip(value, comps))
    if t.startswith(("uint", "int")):
        try:
            return int(value, 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"argument {abi_type.get('name') or t} must be an integer, got {value!r}") from None
    if t.startswith("bytes"):
        if not isinstance(value, str) or not value.startswith("0x"):
            raise BadRequest(f"argument {abi_type.get('name') or t} must be 0x hex")
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise BadRequest(f"argument {abi_type.get('name') or t} is not hex") from None
    if t == "address":
        return address(value, abi_type.get("name") or "address")
    if t == "bool" and not isinstance(value, bool):
        raise BadRequest(f"argument {abi_type.get('name')} must be true or false")
    return value


@router.post("/tx/{contract}/{function}", dependencies=[allow("public")])
def build_tx(request: Request, contract: ContractName, function: FunctionName, body: CallBody) -> dict[str, Any]:
    """The unsigned transaction calling `contract.function(args)`: to, data, value, chain id and a gas estimate;
    when the call would revert now, the contract's error in words instead of an estimate."""
    gw = gw_of(request)
    dep = gw.deployment()
    if contract not in dep.contracts:
        raise NotFound(f"no contract {contract} in the deployment; it has {', '.join(sorted(dep.contracts))}")
    from fabrica.protocol.artifacts import abi

    entries = [e for e in abi(contract) if e.get("type") == "function" and e.get("name") == function
               and e.get("stateMutability") not in ("view", "pure")]
    if not entries:
        raise NotFound(f"{contract} has no state-changing function {function}")
    matching = [e for e in entries if len(e["inputs"]) == len(body.args)]
    if not matching:
        arities = ", ".join(str(len(e["inputs"])) for e in entries)
        raise BadRequest(f"{contract}.{function} takes {arities} argument(s), got {len(body.args)}")
    entry = matching[0]
    args = [_coerce(v, t) for v, t in zip(body.args, entry["inputs"])]
    value = int(body.value)
    if value and entry.get("stateMutability") != "payable":
        raise BadRequest(f"{contract}.{function} is not payable: send value 0")
    c = gw.contract(contract)
    try:
        data = c.encode_abi(function, args=args)
    except Exception as exc:
        raise BadRequest(f"arguments do not fit {contract}.{function}: {exc}") from None
    who = request.state.principal
    sender = address(body.sender, "from") if body.sender else (who.address if who else None)
    tx: dict[str, Any] = {"chainId": dep.chain_id, "to": c.address, "data": data, "value": hex(value)}
    if sender:
        tx["from"] = sender
    out: dict[str, Any] = {"tx": tx, "function": f"{contract}.{function}", "gas": None, "revert": None}
    if sender:
        try:
            out["gas"] = hex(gw.web3.eth.estimate_gas({**tx, "value": value}))
        except Exception as exc:
            out["revert"] = _revert_words(exc)
    return out


def _revert_words(exc: Exception) -> dict[str, Any]:
    """A failed estimate as the contract's custom error name and message."""
    from fabrica.protocol.chain_errors import decode_revert

    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, tuple):
        data = data[0] if data else None
    if isinstance(data, str) and data.startswith("0x"):
        err = decode_revert(data)
        return {"error": type(err).__name__, "message": str(err)}
    return {"error": type(exc).__name__, "message": str(exc)[:500]}


# ---------------------------------------------------------------------- EIP-712 payloads
@router.post("/eip712/job-order", dependencies=[allow("public")])
def job_order_payload(request: Request, order: dict[str, Any]) -> dict[str, Any]:
    """The eth_signTypedData_v4 payload and digest of a job order (JobMarket), for the customer to sign."""
    from fabrica.protocol.orders import Order

    return _order_payload(request, Order, order, "job order", "JobMarket")


@router.post("/eip712/design-order", dependencies=[allow("public")])
def design_order_payload(request: Request, order: dict[str, Any]) -> dict[str, Any]:
    """The eth_signTypedData_v4 payload and digest of a design-market listing or offer."""
    from fabrica.protocol.design_orders import DesignOrder

    return _order_payload(request, DesignOrder, order, "design order", "DesignMarket")


def _order_payload(request: Request, model: Any, order: dict[str, Any], what: str, market_name: str) -> dict[str, Any]:
    """An order's typed data and digest on the deployment's `market_name`."""
    dep = gw_of(request).deployment()
    o = _model(model, order, what)
    market = dep.address(market_name)
    return {"typed_data": o.typed_data(dep.chain_id, market), "digest": "0x" + o.digest(dep.chain_id, market).hex()}


class BallotBody(BaseModel):
    proposal_id: str = Field(pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")
    support: str = Field(pattern="^(against|for|abstain|0|1|2)$")
    voter: str


@router.post("/eip712/ballot", dependencies=[allow("public")])
def ballot_payload(request: Request, body: BallotBody) -> dict[str, Any]:
    """The eth_signTypedData_v4 payload of a vote by signature (FabGovernor Ballot) with the voter's nonce."""
    gw = gw_of(request)
    voter = address(body.voter, "voter")
    pid = int(body.proposal_id, 0) if body.proposal_id.startswith("0x") else int(body.proposal_id)
    gw.read.proposal(pid)  # 404 for an unknown proposal
    support = {"against": 0, "for": 1, "abstain": 2}.get(body.support)
    support = int(body.support) if support is None else support
    governor = gw.contract("FabGovernor")
    nonce = governor.functions.nonces(voter).call()
    _f, name, version, chain_id, verifying, _s, _e = governor.functions.eip712Domain().call()
    return {"typed_data": {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}],
                  "Ballot": [{"name": "proposalId", "type": "uint256"}, {"name": "support", "type": "uint8"},
                             {"name": "voter", "type": "address"}, {"name": "nonce", "type": "uint256"}]},
        "primaryType": "Ballot",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
        "message": {"proposalId": str(pid), "support": support, "voter": voter, "nonce": str(nonce)}}}


def _model(model: Any, data: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise BadRequest(f"{what}: {exc}") from None


# ---------------------------------------------------------------------- relayed signed orders
class RelayBody(BaseModel):
    kind: str = Field(pattern="^(job|design)$")
    order: dict[str, Any]
    signature: str = Field(pattern=r"^0x([0-9a-fA-F]{2}){64,4096}$", description="0x hex, 65 bytes for an EOA")


@router.post("/orders", dependencies=[allow("public")])
def relay_order(request: Request, body: RelayBody) -> dict[str, Any]:
    """Relay a signed order: kept only when its signature is the maker's (or the maker's contract wallet accepts
    it) and it can still be taken; takers read it from GET /v1/orders."""
    from fabrica.protocol.design_orders import DesignOrder, recover_maker
    from fabrica.protocol.orders import Order, recover_signer

    gw = gw_of(request)
    dep = gw.deployment()
    sig = bytes.fromhex(body.signature[2:])
    if body.kind == "job":
        o = _model(Order, body.order, "job order")
        market, maker = dep.address("JobMarket"), o.customer
        signer = recover_signer(o, dep.chain_id, market, sig)
        taken = {t.order_hash.lower() for t in gw.read.taken_orders(customer=maker)}
        voided = o.nonce in set(gw.read.cancelled_nonces(maker)) or o.counter != gw.read.order_counter(maker)
    else:
        o = _model(DesignOrder, body.order, "design order")
        market, maker = dep.address("DesignMarket"), o.maker
        signer = recover_maker(o, dep.chain_id, market, sig)
        taken = set()
        voided = o.nonce in set(gw.read.design_cancelled_nonces(maker)) or \
            o.counter != gw.read.design_order_counter(maker)
    digest = "0x" + o.digest(dep.chain_id, market).hex()
    if signer != maker and not _wallet_accepts(gw, maker, bytes.fromhex(digest[2:]), sig):
        raise BadRequest(f"the signature is not {maker}'s over this order (recovered {signer})")
    if o.expiry <= int(time.time()):
        raise BadRequest("the order has expired")
    if voided or digest in taken:
        raise Conflict("the order was cancelled, superseded by a newer counter, or already taken")
    t = gws.signed_orders
    with gw.engine.begin() as conn:
        live = conn.execute(sa.select(sa.func.count()).select_from(t)
                            .where(t.c.maker == maker, t.c.expiry > int(time.time()))).scalar()
        if live >= MAX_LIVE_ORDERS:  # anyone can sign orders for free: one maker may not fill the relay
            raise RateLimited(f"{maker} has {live} live relayed orders (at most {MAX_LIVE_ORDERS}); withdraw some "
                              "or let them expire", headers={"Retry-After": "60"})
        if conn.execute(sa.select(t.c.order_hash).where(t.c.order_hash == digest)).first() is None:
            conn.execute(t.insert().values(order_hash=digest, kind=body.kind, maker=maker, order=o.to_json(),
                                           signature=body.signature, expiry=o.expiry, relayed_at=time.time()))
    return {"order_hash": digest, "kind": body.kind, "maker": maker}


def _wallet_accepts(gw: Any, maker: str, digest: bytes, sig: bytes) -> bool:
    from .auth import _contract_check

    return _contract_check(gw)(maker, digest, sig)


@router.get("/orders", dependencies=[allow("public")])
def list_orders(request: Request, kind: Annotated[str, Query(pattern="^(job|design)$")] = "job",
                maker: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> dict[str, Any]:
    """Relayed signed orders that have not expired (newest first); takers check them on chain before filling."""
    gw = gw_of(request)
    t = gws.signed_orders
    q = sa.select(t).where(t.c.kind == kind, t.c.expiry > int(time.time())).order_by(t.c.relayed_at.desc())
    if maker:
        q = q.where(t.c.maker == address(maker, "maker"))
    with gw.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q.limit(limit)).mappings()]
    return {"items": jsonable(rows)}


@router.delete("/orders/{order_hash}", dependencies=[allow("account", "operator")])
def withdraw_order(request: Request, order_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]) -> dict[str, Any]:
    """Withdraw a relayed order: its maker may (staff too, audited); it stays valid on chain until cancelled there."""
    gw = gw_of(request)
    who = request.state.principal
    t = gws.signed_orders
    with gw.engine.begin() as conn:
        row = conn.execute(sa.select(t.c.maker).where(t.c.order_hash == order_hash.lower())).first()
        if row is None:
            raise NotFound(f"no relayed order {order_hash}")
        staff = who.staff_rank(gw.config.admins) >= 2
        if row[0].lower() != who.address.lower() and not staff:
            from ..errors import Forbidden

            gw.audit.record("role_denied", address=who.address, path=request.url.path, method="DELETE",
                            allowed=["maker", "operator"])
            raise Forbidden(f"only the order's maker {row[0]} may withdraw it", code="role_denied")
        conn.execute(t.delete().where(t.c.order_hash == order_hash.lower()))
    if row[0].lower() != who.address.lower():
        gw.audit.record("admin_withdraw_order", address=who.address, order_hash=order_hash, maker=row[0])
    return {"withdrawn": order_hash.lower()}
