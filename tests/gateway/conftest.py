"""Fixtures for the gateway tests: a real anvil devnet per module with Fabrica deployed, the indexer mirroring
it into SQLite or PostgreSQL (a fresh schema per test), and the gateway served over HTTP on loopback."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "indexer"))  # the indexer's chain driver

from fabrica.protocol.devnet import Devnet  # noqa: E402
from gateway_testkit import drop_schema, pg_schema_url  # noqa: E402
from indexer_testkit import ChainDriver, free_port  # noqa: E402



@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FABRICA_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FABRICA_") and name != "FABRICA_TEST_POSTGRES":
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object, Path]]:
    """anvil on a free port with Fabrica deployed (manifest under `home`/deployments), stopped at the end."""
    home = tmp_path_factory.mktemp("gateway-devnet")
    net = Devnet(home, port=free_port())
    deployment = net.up()
    try:
        yield net.rpc_url, deployment, home
    finally:
        net.down()


@pytest.fixture(scope="module")
def chain(devnet: tuple[str, object, Path]) -> ChainDriver:
    """A driver acting as the dev roles; content goes to the devnet home's store (the gateway's too)."""
    rpc_url, deployment, home = devnet
    driver = ChainDriver(rpc_url, deployment, home / "content", seed=11)  # type: ignore[arg-type]
    driver.setup_shop()
    return driver


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
        return
    schema, url = pg_schema_url()
    try:
        yield url
    finally:
        drop_schema(schema)


@pytest.fixture
def pg_url() -> Iterator[str]:
    schema, url = pg_schema_url()
    try:
        yield url
    finally:
        drop_schema(schema)
