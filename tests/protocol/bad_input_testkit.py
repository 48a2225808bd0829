"""What a bad input must leave behind on the devnet: `State.of(...)` reads everything a Fabrica command could change
there and on disk (balances, allowances, nonces, job and design counts, files under the CLI's home and working
folder), so a test compares it before and after a refused command (see cli_refusal for the rest of the contract).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cli_refusal import files_under
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from protocol_testkit import Chain

# The accounts a job, content or design command can sign with, and the spenders they approve.
SIGNERS = ("customer", "shop", "designer", "arbiter", "guardian", "newcomer", "stranger")


def numbered_file(folder: Path, name: str, data: bytes) -> str:
    """Write `data` to a new file in `folder` (numbered, so no draw overwrites another) and return its path."""
    path = folder / f"{len(list(folder.iterdir()))}-{name}"
    path.write_bytes(data)
    return str(path)


@contextlib.contextmanager
def reverted(w3: Any) -> Iterator[None]:
    """Undo on the devnet whatever happens inside (evm_snapshot, then evm_revert)."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield
    finally:
        w3.provider.make_request("evm_revert", [snap])


def _calldata(signature: str, *args: str) -> str:
    types = [t for t in signature[signature.index("(") + 1:-1].split(",") if t]
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, list(args))).hex()


@dataclass(frozen=True)
class State:
    """Everything a refused job, content or design command must leave as it was."""

    ledger: dict
    jobs: int
    designs: int
    allowances: tuple
    nonces: tuple
    files: tuple

    @classmethod
    def of(cls, chain: Chain, *folders: Path) -> State:
        """Read it all: the ledger, then allowances, nonces and counts in one JSON-RPC batch."""
        base = chain.base
        signers = [getattr(chain, r).address for r in SIGNERS]
        market, registry, designs = base.market.address, base.registry.address, base.contracts["DesignNFT"].address
        # Every contract that pulls fUSD from a wallet: the job market, the design market, licences, bounties.
        spenders = [market] + [base.contracts[n].address for n in ("DesignMarket", "FabricationLicences", "BountyBoard")]
        calls = [("eth_call", [{"to": chain.usd, "data": _calldata("allowance(address,address)", s, spender)},
                               "latest"]) for spender in spenders for s in signers]
        calls += [("eth_call", [{"to": chain.fab_token, "data": _calldata("allowance(address,address)", s, registry)},
                                "latest"]) for s in signers]
        n_allow = len(calls)
        calls += [("eth_getTransactionCount", [s, "latest"]) for s in signers]
        # Designs have no counter (their ids are content digests): count what every signer holds.
        calls += [("eth_call", [{"to": designs, "data": _calldata("balanceOf(address)", s)}, "latest"])
                  for s in signers]
        calls += [("eth_call", [{"to": market, "data": _calldata("jobCount()")}, "latest"])]
        batch = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = {a["id"]: a["result"] for a in httpx.post(chain.info.rpc_url, json=batch, timeout=10).json()}
        values = [answers[i] for i in range(len(calls))]
        n = len(signers)
        held = sum(int(v, 16) for v in values[n_allow + n:n_allow + 2 * n])
        return cls(chain.ledger(), int(values[-1], 16), held, tuple(values[:n_allow]),
                   tuple(values[n_allow:n_allow + n]), tuple(files_under(*folders)))
