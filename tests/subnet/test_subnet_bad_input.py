"""Bad input to `fabrica subnet`, `fabrica miner serve` and `fabrica validator run`, against the real local stand-in.

Each refusal is one clear line with a non-zero exit and no traceback, and leaves the chain (neurons, stakes,
axons, weights, balances) and the disk as they were; the metagraph table shows whole values.
"""
from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabrica.protocol.cli.main import app
from fabrica.protocol.subnet.localnet.devkeys import DEV_NAMES, dev_wallet
from subnet_cli_kit import NETUID, TEMPO, ChainState, Localnet, failed_cleanly, files_under, free_port
from typer.testing import CliRunner
from validator_harness import MinerFarm, closed_port

FABRICA = str(Path(sys.executable).with_name("fabrica"))
CAPABILITIES = json.dumps({"api_version": 1, "kinds": ["schedule", "design"], "max_operations": 20000,
                           "max_elements": 40000, "solver": "cpsat"}, separators=(",", ":"))


def hotkey(name: str) -> str:
    return dev_wallet(name).hotkey.ss58_address


def registered(net: Localnet) -> list[str]:
    return [n["hotkey"] for n in net.state.data["subnets"][str(NETUID)]["neurons"]]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    """alice validates (staked, permit), bob is a registered miner without an axon, eve serves with capabilities,
    charlie registered after the last epoch (no permit); dave is never registered."""
    n = Localnet.start(tmp_path_factory.mktemp("localnet") / "state.json")
    try:
        n.register("alice", stake=1000.0)
        n.register("bob")
        n.register("eve", axon_port=closed_port(), commit=CAPABILITIES)
        n.advance(TEMPO)  # an epoch: permits by stake
        n.register("charlie")
        yield n
    finally:
        n.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Fabrica home and working folder of this test's own; both must stay empty after a refusal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FABRICA_HOME", str(tmp_path / "home"))
    return tmp_path


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_an_unknown_dev_name_is_refused_everywhere_and_registers_nothing(net: Localnet, home: Path) -> None:
    before = ChainState.of(net)
    for args in (["subnet", "register"], ["subnet", "stake", "--amount", "1"],
                 ["miner", "serve", "--netuid", str(NETUID), "--port", str(free_port())],
                 ["validator", "run", "--netuid", str(NETUID), "--rounds", "1"]):
        message = failed_cleanly(invoke(*args, "--network", net.url, "--dev", "nobody"))
        assert "--dev 'nobody' is not a dev wallet" in message and ", ".join(DEV_NAMES) in message, message
    assert net.neuron(hotkey("nobody")) is None
    assert ChainState.of(net).same_as(before) and files_under(home) == []
    # The names are the dev chain's, in any case and as URIs: Bob and //Bob are bob's key, already registered.
    for spelling in ("Bob", "//Bob"):
        message = failed_cleanly(invoke("subnet", "register", "--network", net.url, "--dev", spelling))
        assert f"hotkey {hotkey('bob')} is already registered" in message, message


def test_dev_with_wallet_options_is_refused(net: Localnet, home: Path) -> None:
    before = ChainState.of(net)
    for extra in (["--hotkey", "h1"], ["--wallet-path", str(home)], ["--wallet", "w"]):
        message = failed_cleanly(invoke("subnet", "register", "--network", net.url, "--dev", "dave", *extra))
        assert "either --dev" in message, message
    assert net.neuron(hotkey("dave")) is None and ChainState.of(net).same_as(before)


def test_localnet_on_a_taken_port_keeps_the_saved_chain_even_with_fresh(home: Path) -> None:
    (home / "home").mkdir()
    first = invoke("subnet", "localnet", "--port", "0", "--home", str(home / "home"), "--block-time", "nan")
    failed_cleanly(first)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        saved = home / "home/subnet/localnet-state.json"
        saved.parent.mkdir(parents=True)
        saved.write_text('{"a saved chain": true}')
        message = failed_cleanly(invoke("subnet", "localnet", "--port", str(port), "--home", str(home / "home"),
                                        "--fresh"))
    assert f"cannot listen on 127.0.0.1:{port}" in message, message
    assert saved.read_text() == '{"a saved chain": true}'  # --fresh did not discard it


def test_metagraph_shows_whole_hotkeys_axons_and_commitments_when_piped_and_in_json(net: Localnet) -> None:
    out = invoke("subnet", "metagraph", "--network", net.url)
    assert out.exit_code == 0, out.output
    assert "…" not in out.stdout
    for key in registered(net):
        assert key in out.stdout, out.stdout
    eve = net.neuron(hotkey("eve"))
    assert eve is not None
    assert CAPABILITIES in out.stdout
    row = next(line for line in out.stdout.splitlines() if hotkey("eve") in line)
    assert re.search(r"127\.0\.0\.1:\d+", row), row

    data = json.loads(invoke("subnet", "metagraph", "--network", net.url, "--json").stdout)
    by_key = {n["hotkey"]: n for n in data["neurons"]}
    assert set(by_key) == set(registered(net))
    assert by_key[hotkey("eve")]["commitment"] == CAPABILITIES and by_key[hotkey("eve")]["axon"].startswith("127.0.0.1:")
    assert by_key[hotkey("alice")]["coldkey"] == dev_wallet("alice").coldkey.ss58_address


def test_metagraph_on_an_80_column_terminal_folds_values_instead_of_cutting_them(net: Localnet) -> None:
    """On a terminal (a pseudo-terminal here) the table wraps a long hotkey onto more lines; nothing is elided."""
    main, sub = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen([FABRICA, "subnet", "metagraph", "--network", net.url], stdin=sub, stdout=sub,
                            stderr=sub, env=env, close_fds=True)
    os.close(sub)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    assert proc.returncode == 0, text
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text
    # Rebuild each row's hotkey cell from its folded lines (a new row starts where the uid cell is filled).
    cells: list[str] = []
    for line in text.splitlines():
        parts = line.split("│")
        if len(parts) < 4:
            continue
        if parts[1].strip():
            cells.append("")
        if cells:
            cells[-1] += parts[2].strip()
    assert sorted(cells) == sorted(registered(net)), text


def test_miner_serve_on_a_taken_port_fails_before_advertising(net: Localnet, home: Path) -> None:
    before = ChainState.of(net)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("1", "2"):
            message = failed_cleanly(invoke("miner", "serve", "--network", net.url, "--netuid", str(NETUID),
                                            "--dev", "bob", "--port", str(port), "--workers", workers,
                                            "--nonce-store", f"sqlite:{home / 'nonces.sqlite'}"))
            assert f"cannot listen on 127.0.0.1:{port}" in message and "nothing was advertised" in message, message
    assert ChainState.of(net).same_as(before) and files_under(home) == []


def test_miner_serve_advertises_only_once_its_port_accepts_connections(net: Localnet, tmp_path: Path) -> None:
    """The real command in its own process: when ferdie's axon appears on chain, the port already answers."""
    net.register("ferdie")
    port = free_port()
    env = {**os.environ, "FABRICA_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([FABRICA, "miner", "serve", "--network", net.url, "--netuid", str(NETUID), "--dev", "ferdie",
                             "--port", str(port), "--strategy", "dispatch", "--nonce-store", "memory",
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    async def axon() -> str | None:
        from fabrica.protocol.subnet.chain import open_chain

        chain = open_chain(net.url, "dev:alice")
        try:
            neuron = (await chain.metagraph(NETUID)).by_hotkey(hotkey("ferdie"))
            return neuron.axon if neuron else None
        finally:
            await chain.close()

    try:
        deadline = time.monotonic() + 120
        while (advertised := asyncio.run(axon())) is None:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the miner never advertised"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # bound and listening before the axon was published
        assert advertised == f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def test_miner_serve_with_an_unregistered_hotkey_or_the_subnet_down_is_one_line(net: Localnet, home: Path) -> None:
    before = ChainState.of(net)
    port = free_port()
    message = failed_cleanly(invoke("miner", "serve", "--network", net.url, "--netuid", str(NETUID), "--dev", "dave",
                                    "--port", str(port)))
    assert f"hotkey {hotkey('dave')} is not registered on subnet {NETUID}" in message, message
    assert "fabrica subnet register" in message
    down = f"http://127.0.0.1:{closed_port()}"
    message = failed_cleanly(invoke("miner", "serve", "--network", down, "--netuid", str(NETUID), "--dev", "bob",
                                    "--port", str(port)))
    assert "cannot reach the subnet chain" in message and down in message, message
    message = failed_cleanly(invoke("miner", "serve", "--network", net.url, "--netuid", "77", "--dev", "bob",
                                    "--port", str(port)))
    assert "subnet 77 does not exist" in message, message
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the refused command let its port go
    assert ChainState.of(net).same_as(before) and files_under(home) == []  # no nonce store either


def test_validator_run_refuses_an_unregistered_hotkey_or_one_without_a_permit(net: Localnet, home: Path) -> None:
    before = ChainState.of(net)
    base = ["validator", "run", "--network", net.url, "--netuid", str(NETUID), "--rounds", "1",
            "--state-dir", str(home / "validator")]
    message = failed_cleanly(invoke(*base, "--dev", "dave"))
    assert f"hotkey {hotkey('dave')} is not registered on subnet {NETUID}" in message, message
    message = failed_cleanly(invoke(*base, "--dev", "charlie"))
    assert f"has no validator permit on subnet {NETUID}" in message and f"every {TEMPO} blocks" in message, message
    assert ChainState.of(net).same_as(before) and files_under(home) == []  # not even the task seed


def test_validator_run_with_rounds_gives_up_on_an_unreachable_subnet(home: Path) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    result = invoke("validator", "run", "--network", down, "--netuid", str(NETUID), "--dev", "alice", "--rounds", "1",
                    "--state-dir", str(home / "validator"))
    elapsed = time.monotonic() - started
    message = failed_cleanly(result, one_line=False)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and "gave up after 3 tries" in lines[-1] and down in lines[-1], message
    assert all(line.startswith("waiting for the subnet chain") for line in lines[:-1]), message
    assert elapsed < 60, elapsed
    assert files_under(home) == []


def test_a_round_whose_weights_fail_fails_the_run_and_dead_miners_are_not_counted_as_answering(
    tmp_path: Path,
) -> None:
    """min_allowed_weights = 3 on a subnet where the validator can weight one live miner: the chain refuses
    the weights, so `--rounds 1` must not exit 0; the round line counts the dead miner as unreachable."""
    net = Localnet.start(tmp_path / "localnet.json", min_allowed_weights=3)
    try:
        with MinerFarm(["good"]) as farm:
            miner = farm.miners[0]
            net.register("alice", stake=1000.0)
            net.register(miner.name, axon_port=miner.port)  # //Miner0, the farm's key
            net.register("dave", axon_port=closed_port())  # registered, its address dead
            net.advance(TEMPO)
            before = ChainState.of(net)
            result = invoke("validator", "run", "--network", net.url, "--netuid", str(NETUID), "--dev", "alice",
                            "--state-dir", str(tmp_path / "validator"), "--rounds", "1", "--interval", "0",
                            "--deadline", "schedule=4000", "--deadline", "design=4000")
    finally:
        net.stop()
    message = failed_cleanly(result)
    assert "weights were not set in 1 of 1 round(s)" in message, message
    line = next(line for line in result.stdout.splitlines() if line.startswith("round 0"))
    assert "answered 1/2, 1 unreachable" in line and "weights FAILED" in line, line
    assert "queried" not in line
    assert ChainState.of(net).subnets == before.subnets  # the refused weights left nothing behind
