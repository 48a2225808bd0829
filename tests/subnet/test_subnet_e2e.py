"""End to end, as the README runs it: `fabrica subnet localnet`, one validator and two miners (CP-SAT vs a
dispatch rule), each its own process talking over loopback, for several tempos.

The stronger miner must end with strictly more incentive. Everything here is the real code path: the CLI
commands, btauth-signed HTTP, the bittensor SDK's intents against the local stand-in, Yuma epochs.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrica.protocol.subnet.chain import open_chain

NETUID = 1
FABRICA = str(Path(sys.executable).with_name("fabrica"))
pytestmark = pytest.mark.timeout(420)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Child processes whose output goes to files (read on failure), all stopped at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([FABRICA, *args], stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{(self.root / f'{n}.log').read_text()[-3000:]}" for n, _ in self.procs)

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.stop()


def _wait(what: str, predicate, procs: Procs, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}\n{procs.logs()}")


def test_cpsat_miner_earns_more_than_dispatch_miner(tmp_path: Path, procs: Procs) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    procs.start("localnet", "subnet", "localnet", "--port", str(port), "--block-time", "0.5", "--tempo", "10",
                "--netuid", str(NETUID), "--set", "weights_rate_limit=10", "--home", str(tmp_path / "home"),
                "--fresh", "--json")
    _wait("the localnet", lambda: (tmp_path / "localnet.log").read_text().startswith("{"), procs, 90)

    async def setup() -> None:
        for dev in ("alice", "bob", "charlie"):
            chain = open_chain(url, f"dev:{dev}")
            try:
                await chain.register(NETUID)
                if dev == "alice":
                    await chain.add_stake(NETUID, 1000.0)
            finally:
                await chain.close()

    asyncio.run(setup())

    async def graph():
        chain = open_chain(url, "dev:alice")
        try:
            return await chain.metagraph(NETUID)
        finally:
            await chain.close()

    # Permits are handed out at an epoch; the validator needs one to query and to set weights.
    _wait("alice's validator permit", lambda: asyncio.run(graph()).neurons[0].validator_permit, procs, 60)

    for dev, strategy in (("bob", "cpsat"), ("charlie", "dispatch")):
        procs.start(f"miner-{dev}", "miner", "serve", "--network", url, "--netuid", str(NETUID), "--dev", dev,
                    "--port", str(_free_port()), "--strategy", strategy, "--cpsat-workers", "1",
                    "--nonce-store", f"sqlite:{tmp_path / dev}.nonces", "--metagraph-refresh", "2")
    _wait("both miners' axons", lambda: all(n.axon for n in asyncio.run(graph()).neurons[1:]), procs, 90)

    validator = procs.start(
        "validator", "validator", "run", "--network", url, "--netuid", str(NETUID), "--dev", "alice",
        "--state-dir", str(tmp_path / "validator"), "--rounds", "6", "--interval", "1", "--grace", "2",
        "--deadline", "schedule=3000", "--deadline", "design=4000", "--json",
    )
    try:
        validator.wait(timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the validator did not finish its rounds\n{procs.logs()}")
    assert validator.returncode == 0, procs.logs()
    rounds = [json.loads(line) for line in (tmp_path / "validator.log").read_text().splitlines()
              if line.startswith("{")]
    assert len(rounds) == 6, procs.logs()
    sets = [r for r in rounds if r["weights"]["set"]]
    assert sets, procs.logs()
    # The chain rewards the last weights set. A first round can tie (a cold CP-SAT under load finds nothing
    # better than the dispatch rule within its deadline), so the validator must set weights again on later
    # rounds (one tempo is 5 s here) and by then the moving averages must rank the CP-SAT miner first.
    assert sets[-1]["ema"]["1"] > sets[-1]["ema"]["2"], (sets, procs.logs())
    assert all(r["tasks"] for r in rounds), procs.logs()

    # Let an epoch run on the weights, then compare the two miners' incentive.
    start = asyncio.run(graph()).block
    _wait("an epoch after the weights", lambda: asyncio.run(graph()).block >= start + 12, procs, 60)
    g = asyncio.run(graph())
    bob, charlie = g.by_hotkey(g.neurons[1].hotkey), g.by_hotkey(g.neurons[2].hotkey)
    assert bob.incentive > charlie.incentive, (bob, charlie, procs.logs())
    assert bob.incentive > 0.5
    assert g.neurons[0].dividends > 0.99  # the only validator earns all the dividends
