"""What a refused `fabrica subnet|miner|validator` command must leave behind, over the real local stand-in.

`Localnet` serves the embedded stand-in chain in this process (blocks only on demand, so a snapshot of its
state is stable); `ChainState.of` reads what a command could change there (neurons, stakes, axons,
commitments, weights, blocks, balances); `failed_cleanly` checks the refusal itself: a non-zero exit, no
traceback, and one line (or click's short usage panel); `running_guard` ends a command that starts serving
on a bad input instead of letting the test hang.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fabrica.protocol.subnet.chain import open_chain
from fabrica.protocol.subnet.localnet.server import LocalnetServer
from fabrica.protocol.subnet.localnet.state import LocalnetState

NETUID = 1
TEMPO = 10


def failed_cleanly(result: Any, *, one_line: bool = True) -> str:
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
    out: list[str] = []
    for folder in folders:
        if folder.exists():
            out += sorted(f"{p}:{p.stat().st_size}" for p in folder.rglob("*") if p.is_file() or p.is_dir())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Localnet:
    """The stand-in chain served on loopback from this process; blocks are produced only by `advance`."""

    server: LocalnetServer
    state: LocalnetState

    @classmethod
    def start(cls, path: Path, **hyperparams: Any) -> Localnet:
        state = LocalnetState.open(path, netuids=(NETUID,), block_time=3600.0,
                                   hyperparams={"tempo": TEMPO, "weights_rate_limit": 0, **hyperparams})
        return cls(LocalnetServer(state, port=0).start(), state)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def advance(self, blocks: int) -> None:
        httpx.post(f"{self.url}/dev/advance", json={"blocks": blocks}, timeout=30).raise_for_status()

    def register(self, dev: str, *, stake: float = 0.0, axon_port: int | None = None, commit: str | None = None) -> None:
        """Register the dev hotkey `dev` (and stake, serve an axon, commit) as a user would, through the chain port."""
        async def go() -> None:
            chain = open_chain(self.url, f"dev:{dev}")
            try:
                await chain.register(NETUID)
                if stake:
                    await chain.add_stake(NETUID, stake)
                if axon_port is not None:
                    await chain.serve(NETUID, "127.0.0.1", axon_port)
                if commit is not None:
                    await chain.commit(NETUID, commit)
            finally:
                await chain.close()

        asyncio.run(go())

    def neuron(self, hotkey: str) -> dict[str, Any] | None:
        subnet = self.state.data["subnets"][str(NETUID)]
        return next((n for n in subnet["neurons"] if n["hotkey"] == hotkey), None)


@dataclass(frozen=True)
class ChainState:
    """Everything a refused subnet command must leave as it was: the head, the subnets, existing balances."""

    block: int
    subnets: str
    balances: str

    @classmethod
    def of(cls, net: Localnet) -> ChainState:
        data = copy.deepcopy(net.state.data)
        # A refused extrinsic may meet its signer for the first time (the dev faucet then opens its account);
        # what must not move is any balance that existed, and every neuron, stake, axon, weight and commitment.
        balances = {address: account["free"] for address, account in data["accounts"].items()}
        return cls(net.state.block, json.dumps(data["subnets"], sort_keys=True), json.dumps(balances, sort_keys=True))

    def same_as(self, other: ChainState) -> bool:
        before, after = json.loads(self.balances), json.loads(other.balances)
        return (self.block, self.subnets) == (other.block, other.subnets) and all(
            after.get(address) == free for address, free in before.items())


@contextlib.contextmanager
def running_guard(seconds: float = 90.0) -> Iterator[threading.Event]:
    """Interrupt (SIGINT) a command still running after `seconds`: a server started on a bad input then stops,
    and the caller asserts the returned event was not set."""
    tripped = threading.Event()

    def fire() -> None:
        tripped.set()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield tripped
    finally:
        timer.cancel()
