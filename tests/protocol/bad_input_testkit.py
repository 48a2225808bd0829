"""What a bad input must leave behind: one clear line, a non-zero exit, no traceback, and nothing changed.

`State.of(...)` reads everything a Fabrica command could change on the devnet and on disk (balances,
allowances, nonces, job and design counts, files under the CLI's home and working folder), so a test
compares it before and after a refused command.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        assert len(lines) <= 8 and ("Invalid value" in result.stderr or "Error" in result.stderr), result.stderr
    elif one_line:
        assert len(lines) == 1, f"the error is not one line:\n{result.stderr}"
        assert lines[0].startswith("error:"), lines[0]
    return " ".join(lines)


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
        base = chain.base
        signers = [getattr(chain, r) for r in SIGNERS]
        usd, fab = base.erc20(chain.usd), base.erc20(chain.fab_token)
        allowances = tuple(
            (usd.functions.allowance(s.address, base.market.address).call(),
             fab.functions.allowance(s.address, base.registry.address).call())
            for s in signers
        )
        nonces = tuple(chain.w3.eth.get_transaction_count(s.address) for s in signers)
        designs = base.contracts["DesignNFT"].functions.designCount().call()
        return cls(chain.ledger(), base.job_count(), designs, allowances, nonces, tuple(files_under(*folders)))
