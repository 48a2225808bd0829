"""The Kubo RPC adapter: what it sends, and that it trusts nothing Kubo answers.

Kubo cannot be installed or run here, so ``FakeKubo`` (conftest.py) stands in for it: a real
HTTP server on 127.0.0.1 implementing Kubo's RPC endpoints over a LocalContentStore.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fabrica.protocol.errors import FabricaConnectionError, FabricaTimeoutError
from fabrica.protocol.storage import (
    CHUNK_SIZE,
    CidMismatchError,
    KuboContentStore,
    KuboError,
    compute_cid,
)

MULTI = bytes(range(256)) * 2100


@pytest.fixture
def kubo(fake_kubo) -> Iterator[KuboContentStore]:
    """The adapter pointed at the fake Kubo."""
    with KuboContentStore(fake_kubo.url, timeout=10) as store:
        yield store


def test_version(kubo: KuboContentStore) -> None:
    assert kubo.version() == "0.0.0-fake"


def test_add_sends_explicit_import_options(kubo: KuboContentStore, fake_kubo) -> None:
    kubo.add(b"x", cid_version=1)
    path, query = fake_kubo.calls[-1]
    assert path == "/api/v0/add"
    assert query["cid-version"] == ["1"] and query["raw-leaves"] == ["true"]
    assert query["chunker"] == ["size-262144"] and query["hash"] == ["sha2-256"]
    assert query["pin"] == ["true"] and "max-file-links" not in query
    kubo.add(b"x", max_links=1024, pin=False)
    _, query = fake_kubo.calls[-1]
    assert query["cid-version"] == ["0"] and query["raw-leaves"] == ["false"]
    assert query["max-file-links"] == ["1024"] and query["pin"] == ["false"]


def test_add_rejects_a_cid_that_differs_from_the_local_computation(
    kubo: KuboContentStore, fake_kubo
) -> None:
    fake_kubo.wrong_add_cid = str(compute_cid(b"something else"))
    with pytest.raises(CidMismatchError, match="local importer computes") as info:
        kubo.add(b"hello world\n")
    assert str(info.value.expected) == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def test_add_accepts_kubo_answering_with_the_cidv1_of_our_cidv0(
    kubo: KuboContentStore, fake_kubo
) -> None:
    expected = compute_cid(b"hello world\n")
    fake_kubo.wrong_add_cid = str(expected.to_v1())  # e.g. `--cid-base=base32` upgrades output
    assert kubo.add(b"hello world\n") == expected


@pytest.mark.parametrize("size", [12, CHUNK_SIZE + 1])
def test_tampered_blocks_raise_mismatch(kubo: KuboContentStore, fake_kubo, size: int) -> None:
    data = MULTI[:size]
    cid = kubo.add(data)
    fake_kubo.tamper = True
    with pytest.raises(CidMismatchError, match=f"served block {cid}"):
        kubo.get(cid)
    with pytest.raises(CidMismatchError):
        kubo.open(cid)


def test_reads_use_block_get_not_cat(kubo: KuboContentStore, fake_kubo) -> None:
    cid = kubo.add(MULTI, cid_version=1)
    fake_kubo.calls.clear()
    assert kubo.get(cid) == MULTI
    assert {path for path, _ in fake_kubo.calls} == {"/api/v0/block/get"}
    assert len(fake_kubo.calls) == 4  # root + three leaves, each fetched once


def test_unreachable_kubo_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with KuboContentStore(f"http://127.0.0.1:{port}", timeout=2) as store:
        with pytest.raises(FabricaConnectionError, match="ipfs daemon"):
            store.add(b"x")
        with pytest.raises(FabricaConnectionError, match=f"127.0.0.1:{port}"):
            store.get(compute_cid(b"x"))


def test_silent_kubo_is_a_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with KuboContentStore(f"http://127.0.0.1:{port}", timeout=0.3) as store:
            with pytest.raises(FabricaTimeoutError, match="did not answer version"):
                store.version()
            with pytest.raises(FabricaTimeoutError, match="did not return block"):
                store.get(compute_cid(b"x"))


def test_wrong_endpoint_is_explained(fake_kubo) -> None:
    with (
        KuboContentStore(fake_kubo.url + "/not-rpc", timeout=5) as store,
        pytest.raises(KuboError, match="not a Kubo RPC API"),
    ):
        store.version()


def test_kubo_errors_carry_kubos_message(kubo: KuboContentStore, fake_kubo) -> None:
    fake_kubo.fail_next = "write /data/blocks: no space left on device"
    with pytest.raises(KuboError, match="failed add \\(HTTP 500\\): write .* no space left"):
        kubo.add(b"x")


@pytest.mark.parametrize("url", ["127.0.0.1:5001", "http://", "ftp://127.0.0.1:5001", "http://[::1",
                                 "http://127.0.0.1:99999"])
def test_bad_api_url_is_rejected(url: str) -> None:
    with pytest.raises(KuboError, match="must be http:// or https:// and a host"):
        KuboContentStore(url)
