"""The local stand-in itself: block timer and epochs, pruning on a full subnet, persistence, and the CLI."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

pytest.importorskip("bittensor")

import bittensor  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from fabrica.protocol.cli.main import app as cli_app  # noqa: E402
from fabrica.protocol.subnet.chain import BittensorChain  # noqa: E402
from fabrica.protocol.subnet.localnet.devkeys import dev_wallet  # noqa: E402
from fabrica.protocol.subnet.localnet.server import LocalnetServer, handle_rpc  # noqa: E402
from fabrica.protocol.subnet.localnet.state import LocalnetState, canonical_json, signing_payload  # noqa: E402
from fabrica.protocol.subnet.localnet.substrate import InProcessTransport, LocalnetSubstrate  # noqa: E402
from fabrica.protocol.subnet.port import SubnetChainError  # noqa: E402


@pytest.fixture(autouse=True)
def _symbols_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "symbols.json"))


def in_process_chain(state: LocalnetState, name: str) -> BittensorChain:
    """The port over an in-process stand-in (same SDK paths, no HTTP)."""
    return BittensorChain(
        lambda: bittensor.Client("ws://in-process/fabrica-localnet", substrate=LocalnetSubstrate(InProcessTransport(state))),
        dev_wallet(name),
        network="in-process",
    )


def test_blocks_advance_on_a_timer_and_epochs_run_at_the_tempo(tmp_path: Path) -> None:
    state = LocalnetState.open(tmp_path / "s.json", block_time=0.05, hyperparams={"tempo": 3})
    with LocalnetServer(state, port=0):
        deadline = time.monotonic() + 10
        while state.block < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert state.block >= 12
    subnet = state.subnet(1)
    # epochs run where (block + netuid + 1) % (tempo + 1) == 0: blocks 2, 6, 10, ...
    assert subnet["epoch_index"] >= 3 and (subnet["last_epoch_block"] + 2) % 4 == 0
    assert LocalnetState.load(tmp_path / "s.json").block >= 12  # saved as it goes


def test_a_full_subnet_replaces_the_lowest_emission_non_immune_neuron(tmp_path: Path) -> None:
    state = LocalnetState.create(hyperparams={"max_allowed_uids": 2, "immunity_period": 5, "tempo": 4,
                                              "weights_rate_limit": 0})

    async def go() -> None:
        alice, bob, carol = (in_process_chain(state, n) for n in ("alice", "bob", "carol"))
        assert await alice.register(1) == 0 and await bob.register(1) == 1
        await alice.add_stake(1, 10.0)
        with pytest.raises(SubnetChainError, match="NoNeuronIdAvailable"):
            await carol.register(1)  # everyone is still immune
        state.advance(6)  # past the immunity period and through an epoch (permit for alice)
        await alice.set_weights(1, [0], [1.0])  # self-weight: alice earns, bob does not
        state.advance(5)
        assert await carol.register(1) == 1  # bob (no emission) is pruned
        graph = await alice.metagraph(1)
        assert [n.hotkey for n in graph.neurons] == [dev_wallet("alice").hotkey.ss58_address,
                                                      dev_wallet("carol").hotkey.ss58_address]
        assert graph.by_uid(1).block_at_registration == state.block

    asyncio.run(go())


def test_extrinsics_must_be_signed_by_the_signer_and_carry_the_next_nonce() -> None:
    state = LocalnetState.create()
    alice = dev_wallet("alice").coldkey
    unsigned = {"call": {"module": "SubtensorModule", "function": "burned_register",
                         "params": {"netuid": 1, "hotkey": dev_wallet("alice").hotkey.ss58_address}},
                "signer": alice.ss58_address, "crypto_type": 1, "nonce": 0, "era": None, "tip": 0}
    good = bytes(alice.sign(signing_payload(state.genesis_hash, unsigned))).hex()
    forged = bytes(dev_wallet("eve").coldkey.sign(signing_payload(state.genesis_hash, unsigned))).hex()
    other_chain = bytes(alice.sign(signing_payload("0x" + "00" * 32, unsigned))).hex()
    for sig in (forged, other_chain):
        answer = handle_rpc(state, "submit", {"extrinsic": {**unsigned, "signature": sig}})
        assert answer["error"]["kind"] == "invalid_transaction" and "bad signature" in answer["error"]["message"]
    assert handle_rpc(state, "submit", {"extrinsic": {**unsigned, "signature": good}})["result"]["success"]
    replay = handle_rpc(state, "submit", {"extrinsic": {**unsigned, "signature": good}})
    assert "Stale" in replay["error"]["message"]
    assert canonical_json({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'


def test_unknown_state_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(Exception, match="version 99"):
        LocalnetState.load(path)


def test_cli_register_stake_and_metagraph(tmp_path: Path) -> None:
    state = LocalnetState.open(tmp_path / "s.json", block_time=1.0, hyperparams={"tempo": 5})
    runner = CliRunner()
    with LocalnetServer(state, port=0, produce_blocks=False) as server:
        out = runner.invoke(cli_app, ["subnet", "register", "--network", server.url, "--dev", "alice", "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)["uid"] == 0
        out = runner.invoke(cli_app, ["subnet", "stake", "--network", server.url, "--dev", "alice", "--amount", "5", "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)["stake"] == pytest.approx(5.0)
        out = runner.invoke(cli_app, ["subnet", "advance", "--network", server.url, "--blocks", "4", "--json"])
        assert out.exit_code == 0 and json.loads(out.output)["epochs"] == [1]
        out = runner.invoke(cli_app, ["subnet", "metagraph", "--network", server.url, "--json"])
        assert out.exit_code == 0, out.output
        graph = json.loads(out.output)
        assert graph["tempo"] == 5 and graph["neurons"][0]["validator_permit"] is True
        out = runner.invoke(cli_app, ["subnet", "register", "--network", server.url, "--dev", "alice"])
        assert out.exit_code == 1 and "HotKeyAlreadyRegisteredInSubNet" in out.output
        out = runner.invoke(cli_app, ["subnet", "metagraph", "--network", server.url])
        assert out.exit_code == 0 and "tempo 5" in out.output
