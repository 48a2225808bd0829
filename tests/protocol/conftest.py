"""Fixtures for the SDK and CLI tests: one real anvil devnet per session, state reverted after each test.

The session starts a `Devnet` on a free port with a temporary home, deploys once, and sets up a
baseline (the shop has staked and registered node 1). Each test that touches the chain takes a
`chain` fixture, which wraps the test in `evm_snapshot`/`evm_revert`, so tests never see each
other's transactions and can move the clock freely with `chain.advance(seconds)`.
A CLI test takes `cli`: `fabrica` in-process against that chain, with a home of its own.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.client import Fabrica
from fabrica.protocol.devnet import Devnet
from fabrica.protocol.storage.store import LocalContentStore
from fabrica.protocol.types import Material, ProcessKind
from protocol_testkit import SHOP_STAKE, Chain, Cli, DevnetInfo, cli_home, free_port, role_clients


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FABRICA_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FABRICA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    """anvil on a free port with Fabrica deployed, a baseline set up, stopped at the end."""
    home = tmp_path_factory.mktemp("devnet-home")
    net = Devnet(home, port=free_port())
    deployment = net.up()
    try:
        base = Fabrica.connect(net.rpc_url, deployments_dir=home / "deployments")
        shop = base.with_account(dev_account(DEV_ROLES["shop"]))
        shop.stake(SHOP_STAKE)
        store = LocalContentStore(home / "content")
        meta = str(store.add(b'{"name":"baseline printer"}'))
        node_id = shop.register_node(
            processes=ProcessKind.FDM | ProcessKind.SLA, materials=Material.PLA | Material.PETG,
            build_volume_mm=(250, 210, 220), encryption_key=b"\x11" * 32, metadata_cid=meta,
        ).value
        assert node_id == 1
        yield DevnetInfo(net, deployment, home)
    finally:
        net.down()


@pytest.fixture(scope="session")
def base(devnet: DevnetInfo) -> Fabrica:
    """A read-only client (no account)."""
    return Fabrica.connect(devnet.rpc_url, deployment=devnet.deployment)


@pytest.fixture(scope="session")
def clients(base: Fabrica) -> dict[str, Fabrica]:
    """Signing clients for the dev roles (built once: each holds its own contract handles)."""
    return role_clients(base)


@pytest.fixture
def chain(devnet: DevnetInfo, base: Fabrica, clients: dict[str, Fabrica], tmp_path: Path) -> Iterator[Chain]:
    """The devnet with this test's changes reverted afterwards (evm_snapshot / evm_revert)."""
    snap = base.w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield Chain(base, devnet, tmp_path / "content", clients)
    finally:
        reverted = base.w3.provider.make_request("evm_revert", [snap])
        assert reverted.get("result") is True, reverted


@pytest.fixture
def cli(chain: Chain, devnet: DevnetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A CLI home holding only the devnet's manifest; cwd is an empty folder (no fabrica.toml)."""
    monkeypatch.chdir(tmp_path)
    return Cli(devnet.rpc_url, cli_home(tmp_path / "home", devnet))
