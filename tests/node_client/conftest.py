"""Fixtures for node-client tests: peers behind pseudo-terminals, and one anvil devnet for the job-loop tests."""
from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

FAB = 10**18


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """anvil with Fabrica deployed; the shop has staked (it registers its own node through the loop)."""
    from fabrica.protocol.accounts import DEV_ROLES, dev_account
    from fabrica.protocol.client import Fabrica
    from fabrica.protocol.devnet import Devnet

    home = tmp_path_factory.mktemp("node-devnet")
    net = Devnet(home, port=_free_port())
    deployment = net.up()
    try:
        base = Fabrica.connect(net.rpc_url, deployment=deployment)
        base.with_account(dev_account(DEV_ROLES["shop"])).stake(2_000 * FAB)
        yield net, home
    finally:
        net.down()


@pytest.fixture
def chain(devnet) -> Iterator[dict]:
    """Role clients and the shared content store; the chain is reverted after each test."""
    from fabrica.protocol.accounts import DEV_ROLES, dev_account
    from fabrica.protocol.client import Fabrica
    from fabrica.protocol.storage import LocalContentStore

    net, home = devnet
    base = Fabrica.connect(net.rpc_url, deployments_dir=home / "deployments")
    snap = base.w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield {"net": net, "home": home, "base": base, "store": LocalContentStore(home / "content"),
               "customer": base.with_account(dev_account(DEV_ROLES["customer"])),
               "shop": base.with_account(dev_account(DEV_ROLES["shop"]))}
    finally:
        assert base.w3.provider.make_request("evm_revert", [snap]).get("result") is True
