"""What a bad input must leave behind: one clear line, a non-zero exit, no traceback, and nothing changed.

`State.of(...)` reads everything a Fabrica command could change on the devnet and on disk (balances,
allowances, nonces, job and design counts, files under the CLI's home and working folder), so a test
compares it before and after a refused command.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from protocol_testkit import Chain

# The accounts a job, content or design command can sign with, and the spenders they approve.
SIGNERS = ("customer", "shop", "designer", "arbiter", "newcomer", "stranger")


def failed_cleanly(result, *, one_line: bool = True) -> str:
    """Assert a refused command's contract and return its message: exit != 0, no traceback, a short error."""
    output = result.output + (result.stderr if result.stderr not in result.output else "")
    assert result.exit_code != 0, f"exit 0 for a bad input:\n{output}"
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, f"no error message:\n{output}"
    if result.exit_code == 2:  # click's usage error: a short panel that names the option
        assert len(lines) <= 12 and ("Invalid value" in result.stderr or "Error" in result.stderr), result.stderr
    elif one_line:
        assert len(lines) == 1, f"the error is not one line:\n{result.stderr}"
        assert lines[0].startswith("error:"), lines[0]
    return " ".join(lines)


def _calldata(signature: str, *args: str) -> str:
    types = [t for t in signature[signature.index("(") + 1:-1].split(",") if t]
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, list(args))).hex()


def files_under(*folders: Path) -> list[str]:
    """Every file (with its size) under the folders: a refused command must create or change none."""
    out = []
    for folder in folders:
        if folder.exists():
            out += sorted(f"{p}:{p.stat().st_size}" for p in folder.rglob("*") if p.is_file())
    return out


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
        calls = [("eth_call", [{"to": chain.usd, "data": _calldata("allowance(address,address)", s, market)}, "latest"])
                 for s in signers]
        calls += [("eth_call", [{"to": chain.fab_token, "data": _calldata("allowance(address,address)", s, registry)},
                                "latest"]) for s in signers]
        calls += [("eth_getTransactionCount", [s, "latest"]) for s in signers]
        calls += [("eth_call", [{"to": market, "data": _calldata("jobCount()")}, "latest"]),
                  ("eth_call", [{"to": designs, "data": _calldata("designCount()")}, "latest"])]
        batch = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = {a["id"]: a["result"] for a in httpx.post(chain.info.rpc_url, json=batch, timeout=10).json()}
        values = [answers[i] for i in range(len(calls))]
        n = len(signers)
        return cls(chain.ledger(), int(values[-2], 16), int(values[-1], 16), tuple(values[:2 * n]),
                   tuple(values[2 * n:3 * n]), tuple(files_under(*folders)))
