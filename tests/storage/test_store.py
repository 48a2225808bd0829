"""The ContentStore behaviour suite, run against every adapter, plus local-store specifics.

The Kubo adapter runs against ``FakeKubo`` (see conftest.py): Kubo cannot run here, so a
real HTTP server on 127.0.0.1 that implements Kubo's RPC endpoints stands in for it.
"""
from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from fabrica.protocol.storage import (
    CHUNK_SIZE,
    Cid,
    CidMismatchError,
    ContentNotFoundError,
    ContentPinnedError,
    ContentStore,
    InvalidCidError,
    KuboContentStore,
    LocalContentStore,
    PinningContentStore,
    compute_cid,
    iter_blocks,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HELLO = b"hello world\n"
HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"  # kubo docs/changelogs/v0.4.md
HELLO_V1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"  # boxo car-file test
MULTI = bytes(range(256)) * 2100  # 537,600 bytes: three chunks under one parent


@pytest.fixture(params=["local", "kubo"])
def store(request, tmp_path: Path) -> Iterator[PinningContentStore]:
    """Each ContentStore adapter, fresh."""
    if request.param == "local":
        yield LocalContentStore(tmp_path / "content", fsync=False)
    else:
        fake = request.getfixturevalue("fake_kubo")
        with KuboContentStore(fake.url, timeout=10) as kubo:
            yield kubo


# --- shared behaviour -------------------------------------------------------------------------

def test_adapters_satisfy_the_port(store) -> None:
    assert isinstance(store, ContentStore) and isinstance(store, PinningContentStore)


@pytest.mark.parametrize(
    ("data", "version", "expected"),
    [(HELLO, 0, HELLO_V0), (HELLO, 1, HELLO_V1),
     (b"", 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")],  # kubo coreiface emptyFile
)
def test_add_returns_kubos_cid_and_get_returns_the_bytes(store, data, version, expected) -> None:
    cid = store.add(data, cid_version=version)
    assert str(cid) == expected
    assert store.has(cid) and store.has(expected)
    assert store.get(cid) == data
    assert store.get(expected) == data  # strings are accepted too


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", [CHUNK_SIZE, CHUNK_SIZE + 1, len(MULTI)])
def test_multi_chunk_round_trip(store, version: int, size: int) -> None:
    data = (MULTI * 2)[:size]
    cid = store.add(data, cid_version=version)
    assert cid == compute_cid(data, version)
    assert store.get(cid) == data
    assert b"".join(store.iter(cid)) == data
    with store.open(cid) as stream:
        assert stream.read(10) == data[:10]
        assert stream.read() == data[10:]


def test_add_from_path_and_stream(store, tmp_path: Path) -> None:
    path = tmp_path / "design.stl"
    path.write_bytes(MULTI)
    from_path = store.add(path)
    with open(path, "rb") as handle:
        from_stream = store.add(handle)
    assert from_path == from_stream == compute_cid(MULTI)
    assert store.get(from_path) == MULTI


def test_add_rejects_str(store) -> None:
    with pytest.raises(FabricaValueError, match="pathlib.Path"):
        store.add("hello")


def test_missing_content_is_a_lookup_error(store) -> None:
    missing = compute_cid(b"never added")
    assert not store.has(missing)
    with pytest.raises(ContentNotFoundError) as info:
        store.get(missing)
    assert isinstance(info.value, FabricaLookupError)


def test_invalid_cid_strings_are_rejected(store) -> None:
    with pytest.raises(InvalidCidError):
        store.get("../../etc/passwd")


def test_pinned_content_cannot_be_removed(store) -> None:
    cid = store.add(MULTI, cid_version=1)
    store.pin(cid)
    with pytest.raises(ContentPinnedError, match="unpin it"):
        store.remove(cid)
    store.unpin(cid)
    store.unpin(cid)  # idempotent
    store.remove(cid)
    assert not store.has(cid)
    with pytest.raises(ContentNotFoundError):
        store.get(cid)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), version=st.sampled_from([0, 1]))
def test_round_trip_property(store, data: bytes, version: int) -> None:
    cid = store.add(data, cid_version=version)
    assert cid == compute_cid(data, version)
    assert store.get(cid) == data


# --- local store -------------------------------------------------------------------------------

@pytest.fixture
def local(tmp_path: Path) -> LocalContentStore:
    """A fresh local store."""
    return LocalContentStore(tmp_path / "content", fsync=False)


def test_local_blocks_are_named_by_multihash_only(local: LocalContentStore) -> None:
    cid = local.add(MULTI)
    files = [p for p in (local.root / "blocks").rglob("*") if p.is_file()]
    assert len(files) == len({b.cid for b in iter_blocks(MULTI)})
    for path in files:
        assert re.fullmatch(r"CIQ[A-Z2-7]+\.data", path.name), path.name
        assert path.parent.name == path.name[-8:-6]  # flatfs next-to-last/2 sharding
        assert path.resolve().is_relative_to((local.root / "blocks").resolve())
    # v0 and v1 of the same dag-pb block share one file
    assert local.block_path(cid) == local.block_path(cid.to_v1())


def test_local_block_paths_stay_inside_the_store(local: LocalContentStore) -> None:
    # identity CIDs carry arbitrary bytes; they still map to base32 names in blocks/
    hostile = Cid(1, 0x55, b"/../../../../etc/passwd\x00", 0x00)
    path = local.block_path(hostile)
    assert path.resolve().is_relative_to((local.root / "blocks").resolve())
    assert "/" not in path.name and ".." not in path.name


def test_local_corrupted_block_raises_mismatch_naming_the_cid(local: LocalContentStore) -> None:
    cid = local.add(MULTI)
    leaf = next(b.cid for b in iter_blocks(MULTI) if b.cid != cid)
    path = local.block_path(leaf)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CidMismatchError, match=str(leaf)) as info:
        local.get(cid)
    assert str(path) in str(info.value) and info.value.expected == leaf


def test_local_corrupted_root_is_detected(local: LocalContentStore) -> None:
    cid = local.add(HELLO)
    local.block_path(cid).write_bytes(HELLO)
    with pytest.raises(CidMismatchError, match=HELLO_V0):
        local.get(cid)


def test_local_missing_inner_block_is_reported(local: LocalContentStore) -> None:
    cid = local.add(MULTI)
    leaf = next(b.cid for b in iter_blocks(MULTI) if b.cid != cid)
    local.block_path(leaf).unlink()
    with pytest.raises(ContentNotFoundError, match=f"block {leaf} is missing"):
        local.get(cid)


def test_local_re_add_repairs_a_corrupted_block(local: LocalContentStore) -> None:
    cid = local.add(HELLO)
    local.block_path(cid).write_bytes(b"garbage")
    assert local.add(HELLO) == cid
    assert local.get(cid) == HELLO


class _Exploding(io.RawIOBase):
    def __init__(self, good: int):
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            raise OSError("disk went away")
        n = min(len(buffer), self._left)
        buffer[:n] = b"\x01" * n
        self._left -= n
        return n


def test_local_failed_add_leaves_no_root_and_no_temp_files(local: LocalContentStore) -> None:
    with pytest.raises(OSError, match="disk went away"):
        local.add(io.BufferedReader(_Exploding(3 * CHUNK_SIZE + 5)))
    assert local.roots() == []
    assert not list(local.root.rglob("*.part"))


def test_local_remove_keeps_blocks_shared_with_other_content(local: LocalContentStore) -> None:
    first = local.add(MULTI[: 2 * CHUNK_SIZE + 10], pin=False)
    second = local.add(MULTI[: 2 * CHUNK_SIZE + 20], pin=False)  # shares the first two leaves
    local.remove(first)
    assert not local.has(first)
    assert local.get(second) == MULTI[: 2 * CHUNK_SIZE + 20]
    assert local.roots() == [second]


def test_local_pins_and_roots_are_listed(local: LocalContentStore) -> None:
    cid = local.add(HELLO, pin=True)
    assert local.pins() == [cid] and local.roots() == [cid] and local.is_pinned(cid)
    with pytest.raises(ContentNotFoundError, match="cannot pin"):
        local.pin(compute_cid(b"absent"))


def test_local_put_block_refuses_bytes_that_do_not_match(local: LocalContentStore) -> None:
    (block,) = iter_blocks(HELLO)
    with pytest.raises(CidMismatchError):
        local.put_block(type(block)(block.cid, b"other bytes"))
    local.put_block(block)
    assert local.get_block(block.cid) == block.data


def test_local_store_works_across_instances(tmp_path: Path) -> None:
    cid = LocalContentStore(tmp_path / "c").add(MULTI)
    assert LocalContentStore(str(tmp_path / "c")).get(cid) == MULTI


def test_local_large_two_level_file_round_trip(tmp_path: Path) -> None:
    # 175 chunks: two DAG levels, streamed from disk and read back through open().
    source = tmp_path / "big.bin"
    with open(source, "wb") as handle:
        handle.writelines(bytes([i]) * CHUNK_SIZE for i in range(175))
    store = LocalContentStore(tmp_path / "content", fsync=False)
    cid = store.add(source)
    assert cid == compute_cid(source)
    with store.open(cid) as stream, open(source, "rb") as original:
        while True:
            expected = original.read(1 << 20)
            assert stream.read(1 << 20) == expected
            if not expected:
                break


def test_hypothesis_round_trip_in_fresh_directories() -> None:
    directory = Path(tempfile.mkdtemp())
    try:
        @settings(max_examples=30, deadline=None)
        @given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
        def run(data: bytes, chunk_size: int) -> None:
            store = LocalContentStore(directory, fsync=False)
            cid = store.add(data, chunk_size=chunk_size, max_links=3, cid_version=1)
            assert store.get(cid) == data

        run()
    finally:
        shutil.rmtree(directory)
