"""`GET /v1/config`: what the dApp needs to know about this deployment at start — nothing about a deployment is
baked into its build, so one build serves every chain."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..errors import Unavailable
from ..roles import allow
from .common import gw_of

router = APIRouter(prefix="/v1", tags=["read"])


def _token_meta(gw: Any, address: str) -> tuple[str | None, int | None]:
    """(symbol, decimals) of a token: the indexer's record, else the token itself on chain (None when unreadable)."""
    known = getattr(gw, "_token_meta", None)
    if known is None:
        known = gw._token_meta = {}
    key = address.lower()
    if key not in known:
        indexed = {a.lower(): v for a, v in gw.read.tokens().items()}
        if key in indexed:
            known[key] = indexed[key]
        else:
            from fabrica.protocol.artifacts import abi

            try:  # any ERC-20 answers symbol() and decimals() through FabToken's ABI
                erc20 = gw.web3.eth.contract(address=address, abi=abi("FabToken"))
                known[key] = (str(erc20.functions.symbol().call()), int(erc20.functions.decimals().call()))
            except Exception:  # a token that is not a standard ERC-20: the dApp shows base units
                return None, None
    return known[key]


def _config(gw: Any) -> dict[str, Any]:
    dep = gw.deployment_or_none()
    if dep is None:
        raise Unavailable("the index has no deployment yet: start `fabrica indexer run` against the chain; the "
                          "dApp reads its chain and contracts from here")
    fab = dep.contracts["FabToken"]
    tokens = []
    for kind, symbol, addr in [("fab", "FAB", fab)] + [("payment", s, a) for s, a in dep.payment_tokens.items()]:
        onchain_symbol, decimals = _token_meta(gw, addr)
        tokens.append({"kind": kind, "symbol": onchain_symbol or symbol, "address": addr, "decimals": decimals})
    from fabrica.protocol.types import Material, ProcessKind

    from .reads import JOB_STATUSES

    status = gw.read.status()
    return {
        "chain_id": dep.chain_id,
        "rpc_url": gw.config.public_rpc_url or gw.settings.rpc_url,
        "contracts": dict(dep.contracts),
        "tokens": tokens,
        "deployed_block": dep.deployed_block,
        "siwe": {"domain": gw.config.domain, "uri": gw.config.public_url, "version": "1"},
        # The protocol's vocabularies, so filters and forms list exactly what the API accepts.
        "job_statuses": list(JOB_STATUSES),
        "materials": list(Material.__members__),
        "processes": list(ProcessKind.__members__),
        "block": status.block_number if status else None,
    }


@router.get("/config", dependencies=[allow("public")])
async def config(request: Request) -> dict[str, Any]:
    """The chain id, the browser-facing JSON-RPC URL, every contract address, FAB and the payment tokens (symbol,
    decimals), the sign-in domain and URI, and the job statuses, materials and processes the API filters by:
    everything the dApp reads at start."""
    return await run_in_threadpool(_config, gw_of(request))
