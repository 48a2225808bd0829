"""The subnet chain port (BittensorChain over bittensor.Client) against a real localnet server on loopback.

Nothing of ours is mocked: the SDK's intents, preflights, weight quantisation and metagraph decode
run unchanged over LocalnetSubstrate, which talks JSON over HTTP to a LocalnetServer (uvicorn)
started here. Blocks are produced on demand (POST /dev/advance) so the tests are fast and exact.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

pytest.importorskip("bittensor")

import bittensor  # noqa: E402
from bittensor.sp_core import Keypair  # noqa: E402

from fabrica.protocol.subnet.chain import BittensorChain, open_chain  # noqa: E402
from fabrica.protocol.subnet.localnet.devkeys import dev_wallet  # noqa: E402
from fabrica.protocol.subnet.localnet.server import LocalnetServer  # noqa: E402
from fabrica.protocol.subnet.localnet.state import LocalnetState  # noqa: E402
from fabrica.protocol.subnet.localnet.substrate import LocalnetSubstrate, LocalnetUnsupported  # noqa: E402
from fabrica.protocol.subnet.port import (  # noqa: E402
    SubnetChain,
    SubnetChainError,
    SubnetConnectionError,
    SubnetValueError,
)

NETUID = 1
TEMPO = 10
RATE_LIMIT = 5
HPARAMS = {"tempo": TEMPO, "weights_rate_limit": RATE_LIMIT, "serving_rate_limit": 0, "immunity_period": 0}


def advance(url: str, blocks: int) -> dict:
    answer = httpx.post(f"{url}/dev/advance", json={"blocks": blocks}, timeout=30).json()
    return answer["result"]


def past_epoch(url: str) -> None:
    """Advance until one epoch has run on NETUID (at most tempo + 1 blocks)."""
    for _ in range(TEMPO + 1):
        if NETUID in advance(url, 1)["epochs"]:
            return
    raise AssertionError("no epoch within a tempo")


@pytest.fixture(scope="module")
def chain_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("localnet")


@pytest.fixture(scope="module", autouse=True)
def _symbols_cache(chain_home: Path):
    # Client.connect caches token symbols on disk; keep that out of the real home directory.
    mp = pytest.MonkeyPatch()
    mp.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(chain_home / "symbols.json"))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def server(chain_home: Path):
    state = LocalnetState.open(chain_home / "state.json", block_time=0.5, hyperparams=HPARAMS)
    srv = LocalnetServer(state, port=0, produce_blocks=False).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def network(server: LocalnetServer) -> dict:
    """Alice validates, Bob and Charlie mine: registered, staked, served, committed, weights set, one epoch run."""
    url = server.url

    async def setup() -> dict:
        chains = {name: open_chain(url, f"dev:{name}") for name in ("alice", "bob", "charlie")}
        uids = {name: await chain.register(NETUID) for name, chain in chains.items()}
        await chains["alice"].add_stake(NETUID, 100.0)
        await chains["bob"].serve(NETUID, "127.0.0.1", 8091)
        await chains["charlie"].serve(NETUID, "127.0.0.1", 8092)
        await chains["bob"].commit(NETUID, '{"api_version":1,"kinds":["schedule"]}')
        await chains["charlie"].commit(NETUID, "x" * 300)  # three Raw fields, concatenated on read
        past_epoch(url)  # the validator permit is granted at an epoch
        advance(url, RATE_LIMIT)
        before = await chains["alice"].metagraph(NETUID)
        await chains["alice"].set_weights(NETUID, [uids["bob"], uids["charlie"]], [0.8, 0.2])
        rate_limited = None
        try:
            await chains["alice"].set_weights(NETUID, [uids["bob"], uids["charlie"]], [0.5, 0.5])
        except SubnetChainError as exc:
            rate_limited = exc
        advance(url, 1)
        past_epoch(url)
        after = await chains["alice"].metagraph(NETUID)
        for chain in chains.values():
            await chain.close()
        return {"uids": uids, "before": before, "after": after, "rate_limited": rate_limited}

    return asyncio.run(setup())


def test_bittensor_chain_implements_the_port(server: LocalnetServer) -> None:
    chain = open_chain(server.url, "dev:alice")
    assert isinstance(chain, SubnetChain)
    assert chain.hotkey == Keypair.create_from_uri("//Alice").ss58_address


def test_metagraph_shows_registrations_axons_and_commitments(network: dict) -> None:
    graph = network["after"]
    uids = network["uids"]
    assert graph.netuid == NETUID and graph.tempo == TEMPO and graph.weights_rate_limit == RATE_LIMIT
    assert sorted(uids.values()) == [0, 1, 2] and len(graph.neurons) == 3
    assert graph.by_uid(uids["alice"]).hotkey == dev_wallet("alice").hotkey.ss58_address
    assert graph.by_uid(uids["alice"]).coldkey == dev_wallet("alice").coldkey.ss58_address
    assert graph.by_uid(uids["bob"]).axon == "127.0.0.1:8091"
    assert graph.by_uid(uids["charlie"]).axon == "127.0.0.1:8092"
    assert graph.by_uid(uids["alice"]).axon is None
    assert graph.by_uid(uids["bob"]).commitment == '{"api_version":1,"kinds":["schedule"]}'
    assert graph.by_uid(uids["charlie"]).commitment == "x" * 300
    assert graph.by_uid(uids["alice"]).commitment is None


def test_yuma_epoch_pays_incentive_by_weight_and_dividends_to_the_validator(network: dict) -> None:
    before, after, uids = network["before"], network["after"], network["uids"]
    alice, bob, charlie = (after.by_uid(uids[n]) for n in ("alice", "bob", "charlie"))
    assert before.by_uid(uids["alice"]).validator_permit and alice.validator_permit
    assert not bob.validator_permit and not charlie.validator_permit  # no stake, no permit
    assert alice.last_update > alice.block_at_registration
    # The miner with more weight gets more incentive, in proportion (one validator: consensus = its weights).
    assert bob.incentive > charlie.incentive > 0
    assert bob.incentive == pytest.approx(0.8, abs=0.01) and charlie.incentive == pytest.approx(0.2, abs=0.01)
    assert alice.dividends == pytest.approx(1.0, abs=0.01) and alice.incentive == 0
    assert bob.dividends == 0 and charlie.dividends == 0
    # Emission is paid as stake: miners by incentive, the validator by dividends, split evenly.
    assert bob.emission == pytest.approx(4 * charlie.emission, rel=0.01)
    assert alice.emission == pytest.approx(bob.emission + charlie.emission, rel=0.01)
    assert bob.stake == pytest.approx(bob.emission) and charlie.stake == pytest.approx(charlie.emission)
    assert alice.stake > before.by_uid(uids["alice"]).stake >= 100.0
    assert all(n.active for n in after.neurons)


def test_weights_rate_limit_is_enforced_with_a_clear_error(network: dict, server: LocalnetServer) -> None:
    err = network["rate_limited"]
    assert isinstance(err, SubnetChainError)
    assert f"the rate limit is {RATE_LIMIT} blocks" in str(err) and "set weights on subnet 1" in str(err)

    # The chain enforces it too, not just the SDK's preflight: a raw call straight to the pallet.
    async def raw() -> bittensor.ExtrinsicResult:
        async with bittensor.Client("ws://127.0.0.1:1/x", substrate=LocalnetSubstrate.http(server.url)) as client:
            await client.submit_call(bittensor.calls.SubtensorModule.set_mechanism_weights(
                netuid=NETUID, mecid=0, dests=[1], weights=[65535], version_key=0), dev_wallet("alice"), signer="hotkey")
            return await client.submit_call(bittensor.calls.SubtensorModule.set_mechanism_weights(
                netuid=NETUID, mecid=0, dests=[1], weights=[65535], version_key=0), dev_wallet("alice"), signer="hotkey")

    advance(server.url, RATE_LIMIT)
    result = asyncio.run(raw())
    assert not result.success and "SettingWeightsTooFast" in result.message and "rate limit" in result.message


def test_a_forged_signature_is_rejected(network: dict, server: LocalnetServer) -> None:
    victim = dev_wallet("bob").hotkey
    mallory = Keypair.create_from_uri("//Mallory")

    class Forger:
        """Claims Bob's hotkey address but signs with Mallory's key."""

        ss58_address = victim.ss58_address
        public_key = bytes(victim.public_key)
        crypto_type = 1

        def sign(self, payload: bytes) -> bytes:
            return bytes(mallory.sign(payload))

    async def attempt() -> None:
        chain = open_chain(server.url, Forger())
        try:
            await chain.serve(NETUID, "10.0.0.66", 6666)
        finally:
            await chain.close()

    with pytest.raises(SubnetChainError, match="bad signature"):
        asyncio.run(attempt())

    async def axon() -> str | None:
        chain = open_chain(server.url, "dev:bob")
        try:
            return (await chain.metagraph(NETUID)).by_hotkey(victim.ss58_address).axon
        finally:
            await chain.close()

    assert asyncio.run(axon()) == "127.0.0.1:8091"  # unchanged


def test_bad_input_and_unsupported_items_give_clear_errors(network: dict, server: LocalnetServer) -> None:
    async def go() -> None:
        chain = open_chain(server.url, "dev:alice")
        try:
            with pytest.raises(SubnetValueError, match="2 uids but 1 weights"):
                await chain.set_weights(NETUID, [1, 2], [1.0])
            with pytest.raises(SubnetValueError, match="subnet 77 does not exist"):
                await chain.metagraph(77)
            with pytest.raises(SubnetValueError, match="not an IPv4 or IPv6"):
                await chain.serve(NETUID, "not-an-ip", 80)
            with pytest.raises(SubnetValueError, match="do not fit a commitment"):
                await chain.commit(NETUID, "y" * 500)
            with pytest.raises(SubnetChainError, match="not registered on netuid 1"):
                await open_chain(server.url, "dev:dave").set_weights(NETUID, [1], [1.0])
        finally:
            await chain.close()
        async with bittensor.Client("ws://127.0.0.1:1/x", substrate=LocalnetSubstrate.http(server.url)) as client:
            with pytest.raises(LocalnetUnsupported, match="storage item SubtensorModule.NoSuchItem"):
                await client.query(("SubtensorModule", "NoSuchItem"), [NETUID])
            with pytest.raises(LocalnetUnsupported, match="runtime API DelegateInfoRuntimeApi.get_delegates"):
                await client.runtime(("DelegateInfoRuntimeApi", "get_delegates"), [])
            with pytest.raises(LocalnetUnsupported, match="call Balances.transfer_keep_alive"):
                await client.compose(bittensor.calls.Balances.transfer_keep_alive(dest=dev_wallet("bob").coldkey.ss58_address, value=1))

    asyncio.run(go())


def test_a_keyfile_wallet_registers_and_serves(server: LocalnetServer, tmp_path: Path) -> None:
    wallet = bittensor.Wallet("fab", "miner", path=str(tmp_path))
    wallet.create_new_coldkey(use_password=False, suppress=True)
    wallet.create_new_hotkey(use_password=False, suppress=True)

    async def go() -> tuple[int, str | None]:
        chain = open_chain(server.url, "fab/miner", wallet_path=str(tmp_path))
        try:
            uid = await chain.register(NETUID)
            await chain.serve(NETUID, "192.168.1.20", 9000)
            return uid, (await chain.metagraph(NETUID)).by_uid(uid).axon
        finally:
            await chain.close()

    uid, axon = asyncio.run(go())
    assert uid == 3 and axon == "192.168.1.20:9000"


def test_restart_resumes_state_and_the_client_reconnects(network: dict, server: LocalnetServer, chain_home: Path) -> None:
    async def go() -> None:
        chain = open_chain(server.url, "dev:alice", timeout=10)
        try:
            before = await chain.metagraph(NETUID)
            port = server.port
            server.stop()  # the module's server; the same state file is resumed below
            with pytest.raises(SubnetConnectionError, match="unreachable"):
                await chain.block()
            resumed = LocalnetState.open(chain_home / "state.json", block_time=0.5)
            again = LocalnetServer(resumed, port=port, produce_blocks=False).start()
            try:
                after = await chain.metagraph(NETUID)  # the same chain object reconnects
            finally:
                again.stop()
            assert after.block == before.block
            assert [n.hotkey for n in after.neurons] == [n.hotkey for n in before.neurons]
            assert [n.axon for n in after.neurons] == [n.axon for n in before.neurons]
            assert [n.commitment for n in after.neurons] == [n.commitment for n in before.neurons]
            assert [n.stake for n in after.neurons] == [n.stake for n in before.neurons]
        finally:
            await chain.close()

    asyncio.run(go())


def test_unreachable_network_raises_connection_error() -> None:
    async def go() -> None:
        chain = open_chain("http://127.0.0.1:9", "dev:alice", timeout=5)
        with pytest.raises(SubnetConnectionError, match="unreachable"):
            await chain.block()
        await chain.close()

    asyncio.run(go())
    with pytest.raises(SubnetValueError, match="Unknown network"):
        open_chain("nowhere", "dev:alice")
    assert isinstance(open_chain("finney", "dev:alice"), BittensorChain)  # does not connect until used
