"""Fixtures for the indexer tests: a real anvil devnet per module and a fresh database per test.

Every test runs on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`): each PostgreSQL test gets its
own schema (search_path), dropped afterwards, so parallel runs never collide.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fabrica.protocol.devnet import Devnet
from indexer_testkit import ChainDriver, free_port

@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FABRICA_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FABRICA_") and name != "FABRICA_TEST_POSTGRES":
            monkeypatch.delenv(name)


PG_BASE = os.environ.get("FABRICA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_BASE)
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


PG_OK = _pg_available()


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object, Path]]:
    """anvil on a free port with Fabrica deployed (manifest under `home`/deployments), stopped at the end."""
    home = tmp_path_factory.mktemp("indexer-devnet")
    net = Devnet(home, port=free_port())
    deployment = net.up()
    try:
        yield net.rpc_url, deployment, home
    finally:
        net.down()


@pytest.fixture(scope="module")
def chain(devnet: tuple[str, object, Path], tmp_path_factory: pytest.TempPathFactory) -> ChainDriver:
    rpc_url, deployment, _home = devnet
    driver = ChainDriver(rpc_url, deployment, tmp_path_factory.mktemp("content"), seed=7)  # type: ignore[arg-type]
    driver.setup_shop()
    return driver


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
        return
    if not PG_OK:
        pytest.fail(f"PostgreSQL not reachable at {PG_BASE}: the suite needs it (it runs here and in CI)")
    schema = f"ix_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
