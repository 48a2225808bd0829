"""What a refused `fabrica subnet|miner|validator` command must leave behind, over the real local stand-in.

`Localnet` serves the embedded stand-in chain in this process (blocks only on demand, so a snapshot of its
state is stable); `ChainState.of` reads what a command could change there (neurons, stakes, axons,
commitments, weights, blocks, balances); `failed_cleanly` (cli_refusal's contract) checks the refusal itself:
a non-zero exit, no traceback, and one line (or click's short usage panel, 8 lines at most here).
"""
from __future__ import annotations

import asyncio
import copy
import functools
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cli_refusal
import httpx
import pytest
from cli_refusal import OptionCase, free_port, refused_cleanly
from fabrica.protocol.subnet.chain import open_chain
from fabrica.protocol.subnet.localnet.server import LocalnetServer
from fabrica.protocol.subnet.localnet.state import LocalnetState

NETUID = 1
TEMPO = 10

failed_cleanly = functools.partial(cli_refusal.failed_cleanly, usage_lines=8)
"""The refusal contract, with click's usage panel no longer than these commands print it."""


def files_under(*folders: Path) -> list[str]:
    """Every file (with its size) and folder under the folders: a refused command must create or change none."""
    return cli_refusal.files_under(*folders, with_folders=True)


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


# ------------------------------------------------------------------------------------------------ property tests

REPO = Path(__file__).resolve().parents[2]


@dataclass
class World:
    """A local stand-in with neurons in every role, a bittensor wallet on disk, valid and malformed input files.

    alice (dev) and the wallet `w` hotkey `s` are staked validators with permits; bob (dev) is a registered
    miner; the wallet's hotkey `h` is not registered. Nothing under `home`, `cwd`, `inputs` or `wallets` may
    change when a command refuses a bad input, and neither may the chain.
    """

    net: Localnet
    home: Path
    cwd: Path
    inputs: Path
    wallets: Path
    taken: socket.socket
    down: str

    @property
    def url(self) -> str:
        return self.net.url

    @property
    def taken_port(self) -> int:
        return self.taken.getsockname()[1]

    @property
    def env(self) -> dict[str, str]:
        return {"FABRICA_HOME": str(self.home), "FABRICA_SUBNET_LOCALNET_URL": self.down}

    def input(self, name: str) -> str:
        return str(self.inputs / name)

    def snapshot(self) -> tuple[ChainState, list[str]]:
        return ChainState.of(self.net), files_under(self.home, self.cwd, self.inputs, self.wallets)

    def close(self) -> None:
        self.taken.close()
        self.net.stop()


def build_world(root: Path) -> World:
    """Start the stand-in, register and stake the neurons, write the wallet and the input files."""
    import bittensor
    from fabrica.miners.solvers.topology import solve_design
    from fabrica.protocol.tasks.loaders import load_task
    from fabrica.validators.scoring.schedule import baseline_schedule
    from fabrica.validators.tasks import generate_design_task

    wallets = root / "wallets"
    for hot in ("h", "s"):
        wallet = bittensor.Wallet("w", hot, path=str(wallets))
        if hot == "h":
            wallet.create_new_coldkey(use_password=False, suppress=True)
        wallet.create_new_hotkey(use_password=False, suppress=True)
    net = Localnet.start(root / "localnet.json")
    net.register("alice", stake=1000.0)
    net.register("bob")

    async def wallet_validator() -> None:
        chain = open_chain(net.url, "w/s", wallet_path=str(wallets))
        try:
            await chain.register(NETUID)
            await chain.add_stake(NETUID, 10.0)
        finally:
            await chain.close()

    asyncio.run(wallet_validator())
    net.advance(TEMPO)  # an epoch hands out the validator permits

    inputs = root / "inputs"
    (inputs / "a folder").mkdir(parents=True)
    task = inputs / "ft06.txt"
    task.write_bytes((REPO / "data/benchmarks/jssp/ft06.txt").read_bytes())
    (inputs / "answer.json").write_text(baseline_schedule(load_task(task)).model_dump_json())
    design = generate_design_task(b"property tests", 0, 5000, max_elements=900)
    (inputs / "design.json").write_text(design.model_dump_json())
    (inputs / "design-answer.json").write_text(solve_design(design, max_iter=2).answer().model_dump_json())
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "garbage.txt").write_text("this is not a task\n")
    (inputs / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (inputs / "numbers.txt").write_text("2 2\n0 5 1\n")
    (inputs / "list.json").write_text("[1, 2, 3]")
    (inputs / "a file").write_text("a file where a folder belongs\n")
    for folder in ("home", "cwd"):
        (root / folder).mkdir()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    down = f"http://127.0.0.1:{free_port()}"  # `--network local` points here: nothing answers
    return World(net, root / "home", root / "cwd", inputs, wallets, taken, down)


def refused(world: World, args: list[str], *, guard_s: float = 90.0) -> str:
    """Run the CLI in this process on a bad command line; assert the refusal contract and that nothing changed."""
    from fabrica.protocol.cli.main import app
    from typer.testing import CliRunner

    return refused_cleanly(lambda: CliRunner().invoke(app, args, env=world.env), world.snapshot, args,
                           same=lambda before, after: after[0].same_as(before[0]) and after[1] == before[1],
                           guard_s=guard_s, usage_lines=8)


def world_fixtures(name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """A property test module's fixtures: `world`, built once per module under a folder called `name`, and `w`,
    the same world with the working folder set to its `cwd`."""

    @pytest.fixture(scope="module")
    def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
        w = build_world(tmp_path_factory.mktemp(name))
        try:
            yield w
        finally:
            w.close()

    @pytest.fixture
    def w(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
        monkeypatch.chdir(world.cwd)
        return world

    return world, w


class SubnetCase(OptionCase):
    """One option of one `fabrica subnet` command."""

    prefix = ("subnet",)


class MinerCase(OptionCase):
    """One option of one `fabrica miner` command."""

    prefix = ("miner",)


class ValidatorCase(OptionCase):
    """One option of one `fabrica validator` command."""

    prefix = ("validator",)


# Malformed option values. Every value is passed as `--option=value`, so one that starts with "-" reaches the
# command instead of being taken for another option.


def _strategies() -> Any:
    from hypothesis import strategies as st

    return st


def not_int() -> Any:
    st = _strategies()
    return st.sampled_from(["abc", "", " ", "1.5", "0x10", "1e3", "12abc", "--"])


def ints_outside(low: int, high: int | None = None, *extra: str) -> Any:
    """Integers below `low` or above `high`, and text that is no integer."""
    st = _strategies()
    parts = [st.integers(min_value=low - 10**12, max_value=low - 1).map(str), not_int()]
    if high is not None:
        parts.append(st.integers(min_value=high + 1, max_value=high + 10**12).map(str))
    if extra:
        parts.append(st.sampled_from(extra))
    return st.one_of(*parts)


def not_positive(*extra: str) -> Any:
    """Numbers that are not positive and finite, and text that is no number."""
    st = _strategies()
    return st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "-inf", "-0.0", "abc", "", *extra]),
                     st.floats(max_value=0.0, allow_nan=False).map(repr))


def not_dev_name() -> Any:
    from fabrica.protocol.subnet.localnet.devkeys import DEV_NAMES

    st = _strategies()
    return st.one_of(st.sampled_from(["nobody", "", "alicee", "ali ce", "//", "//Nobody", "root", "Ālice", "miner0"]),
                     st.text(min_size=1, max_size=12)).filter(
        lambda s: s.strip().removeprefix("//").lower() not in DEV_NAMES and "\x00" not in s)


def one_of(*values: str) -> Any:
    return _strategies().sampled_from(values)


FAST_BAD_NETWORKS = ("", " ", "nowhere", "ftp://127.0.0.1", "http://", "localhost:9944", "http://127.0.0.1:99999",
                     "http://[::1", "finney-typo")
"""Networks refused before any connection (no retries, no waiting)."""

BAD_HOSTS = ("256.1.1.1", "::zz", "1.2.3.4.5", "not a host", "10.255.255.1")
