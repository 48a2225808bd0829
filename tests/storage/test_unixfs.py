"""The `ipfs add` importer against CIDs published by Kubo, boxo and js-ipfs-unixfs.

Every expected CID below was produced by a real IPFS implementation and is quoted from
the test or document named beside it; none was computed by this package.

Kubo's deterministic data ("KuboRandom(size, seed)") is the ChaCha20 keystream with
key sha256(seed) and a zero nonce (kubo test/cli/testutils/random_deterministic.go).
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage import (
    CHUNK_SIZE,
    DAG_PB,
    RAW,
    Block,
    Cid,
    CidMismatchError,
    InvalidDagError,
    compute_cid,
    iter_blocks,
    iter_file_bytes,
)
from fabrica.protocol.storage.dagpb import (
    PBLink,
    PBNode,
    UnixFSData,
    UnixFSType,
    decode_pbnode,
    decode_unixfs,
    encode_pbnode,
    encode_unixfs,
)
from hypothesis import given, settings
from hypothesis import strategies as st

KUBO_ADD_TEST = "kubo test/cli/add_test.go"
KUBO_PROFILES = "kubo test/cli/cid_profiles_test.go (also js-ipfs-unixfs ipip-499-profiles.spec.ts)"
KUBO_SHARNESS = "kubo test/sharness/t0040-add-and-cat.sh"
KUBO_COREAPI = "kubo core/coreiface/tests/unixfs.go"
V1_2025 = {"chunk_size": 1_048_576, "max_links": 1024}  # Kubo's unixfs-v1-2025 profile

# (content, cid_version, options, expected CID, source)
SMALL_VECTORS = [
    (b"hello world\n", 0, {}, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
     "kubo docs/changelogs/v0.4.md (`echo 'hello world' | ipfs add`)"),
    (b"hello world\n", 1, {}, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
     "boxo examples/gateway/car-file/main_test.go (TestFile serves 'hello world\\n')"),
    (b"", 0, {}, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", KUBO_COREAPI + " emptyFile"),
    (b"", 0, {"raw_leaves": True}, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
     KUBO_SHARNESS + " (zero length file with raw-leaves)"),
    (b"hello world", 0, {}, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD", KUBO_ADD_TEST),
    (b"hello world", 1, {}, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
     KUBO_ADD_TEST),
    (b"hello world", 1, {"raw_leaves": False},
     "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa", KUBO_ADD_TEST),
    (b"hello world", 1, {"hash_function": "sha2-512"},
     "bafkrgqbqt3gerhas23vuzrapkdeqf4vu2dwxp3srdj6hvg6nhsug2tgyn6mj3u23yx7utftq3i2ckw2fwdh5qmhid5qf3t35yvkc5e5ottlw6",
     KUBO_ADD_TEST),
    (b"hello, world!", 0, {}, "QmQy2Dw4Wk7rdJKjThjYXzfFJNaRKRHhHP5gHHXroJMYxk", KUBO_COREAPI),
    (b"hello, world!", 1, {}, "bafkreidi4zlleupgp2bvrpxyja5lbvi4mym7hz5bvhyoowby2qp7g2hxfa",
     KUBO_COREAPI),
    (b"hello, world!", 1, {"raw_leaves": False},
     "bafybeibhbcn7k7o2m6xsqkrlfiokod3nxwe47viteynhruh6uqx7hvkjfu", KUBO_COREAPI),
    (b"hello, world!", 1, {"hash_function": "sha3-256"},
     "bafkrmichjflejeh6aren53o7pig7zk3m3vxqcoc2i5dv326k3x6obh7jry", KUBO_COREAPI),
    # 2000 bytes in 4-byte chunks = 500 leaves > 174: a two-level balanced DAG.
    (b"aoeuidhtns" * 200, 0, {"chunk_size": 4},
     "QmRo11d4QJrST47aaiGVJYwPhoNA4ihRpJ5WaxBWjWDwbX", KUBO_COREAPI + " addChunks"),
    (b"Hello Worlds!\n", 0, {}, "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH", KUBO_SHARNESS),
    (b"Hello Mars!\n", 0, {}, "QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN", KUBO_SHARNESS),
    (b"Hello Mars!\n", 0, {"raw_leaves": True},
     "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4", KUBO_SHARNESS),
    (b"Hello Mars!\n", 1, {"raw_leaves": False},
     "bafybeiawta2ntdmsy24aro35w3homzl4ak7svr3si7l7gesvq4erglyye4", KUBO_SHARNESS),
    (b"Hello Mars!\n", 1, {"hash_function": "blake2b-256"},
     "bafk2bzaceaqcxw46uzkyd2jmczoogof6pnkqt4dpiv3pwkunsv4g5rkkmecie", KUBO_SHARNESS),
    (b"Hello Venus!\n", 0, {}, "QmU5kp3BH3B8tnWUU2Pikdb2maksBNkb92FHRr56hyghh4", KUBO_SHARNESS),
    (b"Hello Venus!\n", 1, {}, "bafkreihfsphazrk2ilejpekyltjeh5k4yvwgjuwg26ueafohqioeo3sdca",
     KUBO_SHARNESS),
    (b"Hello Jupiter!\n", 0, {}, "QmUnvPcBctVTAcJpigv6KMqDvmDewksPWrNVoy1E1WP5fh", KUBO_SHARNESS),
    (b"Hello Neptune!\nHello Pluton!", 0, {}, "QmZDhWpi8NvKrekaYYhxKCdNVGWsFFe1CREnAjP1QbPaB3",
     KUBO_SHARNESS),
    (b"IPFS\n", 0, {}, "QmdFyxZXsFiP4csgfM5uPu99AvFiKH62CSPDw5TP92nr7w", KUBO_SHARNESS),
]


@pytest.mark.parametrize(
    ("data", "version", "options", "expected", "source"),
    SMALL_VECTORS,
    ids=[f"{v[3][:12]}-{len(v[0])}B" for v in SMALL_VECTORS],
)
def test_small_vectors(data: bytes, version: int, options: dict, expected: str, source: str) -> None:
    assert str(compute_cid(data, version, **options)) == expected, source


def test_cid_base32_upgrade_vector() -> None:
    # kubo sharness t0040: `echo "base32 test" | ipfs add --cid-base=base32` prints the CIDv0
    # root upgraded to CIDv1 (same dag-pb block).
    cid = compute_cid(b"base32 test\n")
    assert cid.version == 0
    assert str(cid.to_v1()) == "bafybeibyosqxljd2eptb4ebbtvk7pb4aoxzqa6ttdsflty6rsslz5y6i34"


# (size, seed, cid_version, options, expected CID, source)
DETERMINISTIC_VECTORS = [
    (262_144, "chunk-v0-seed", 0, {}, "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE",
     KUBO_PROFILES + " FileAtChunkSizeCID (one 256 KiB chunk, no links)"),
    (262_145, "chunk-v0-seed", 0, {}, "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ",
     KUBO_PROFILES + " FileOverChunkSizeCID (256 KiB + 1: two leaves)"),
    (174 * 262_144, "v0-seed", 0, {}, "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2",
     KUBO_PROFILES + " FileAtMaxLinksCID (174 leaves, one level)"),
    (174 * 262_144 + 1, "v0-seed", 0, {}, "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW",
     KUBO_PROFILES + " FileOverMaxLinksCID (175 leaves, two levels)"),
    (1_048_576, "chunk-v1-seed", 1, V1_2025,
     "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta",
     KUBO_PROFILES + " unixfs-v1-2025 FileAtChunkSizeCID (raw leaf)"),
    (1_048_577, "chunk-v1-seed", 1, V1_2025,
     "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64",
     KUBO_PROFILES + " unixfs-v1-2025 FileOverChunkSizeCID"),
]


@pytest.mark.parametrize(
    ("size", "seed", "version", "options", "expected", "source"),
    DETERMINISTIC_VECTORS,
    ids=[f"{v[0]}B-v{v[2]}" for v in DETERMINISTIC_VECTORS],
)
def test_kubo_deterministic_vectors(
    kubo_random, size: int, seed: str, version: int, options: dict, expected: str, source: str
) -> None:
    assert str(compute_cid(kubo_random(size, seed), version, **options)) == expected, source


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "seed", "version", "options", "expected", "source"),
    [
        (262_144 * 1024, "hello world", 0, {"max_links": 1024},
         "QmbBftNHWmjSWKLC49dMVrfnY8pjrJYntiAXirFJ7oJrNk",
         KUBO_ADD_TEST + " (--max-file-links 1024, 256 MiB)"),
        (1024 * 1_048_576, "v1-2025-seed", 1, V1_2025,
         "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm",
         KUBO_PROFILES + " unixfs-v1-2025 FileAtMaxLinksCID (1 GiB)"),
        (1024 * 1_048_576 + 1, "v1-2025-seed", 1, V1_2025,
         "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe",
         KUBO_PROFILES + " unixfs-v1-2025 FileOverMaxLinksCID (1 GiB + 1)"),
    ],
    ids=["256MiB-1024links", "1GiB-v1", "1GiB+1-v1"],
)
def test_kubo_large_deterministic_vectors(
    kubo_random, size: int, seed: str, version: int, options: dict, expected: str, source: str
) -> None:
    assert str(compute_cid(kubo_random(size, seed), version, **options)) == expected, source


def test_js_unixfs_go_parity_vector() -> None:
    # js-ipfs-unixfs packages/ipfs-unixfs-importer/test/hash-parity-with-go-ipfs.spec.ts:
    # the "balanced" tree for 45,900,000 bytes from finite-pseudorandom-byte-stream.ts,
    # whose generator yields only zero bytes (256 & floor(x * 256) == 0 for x in [0, 1)).
    # 176 chunks > 174 links, so the root has two children.
    assert str(compute_cid(bytes(45_900_000))) == "QmRdPboiJQoZ5cdazR9a8vGqdJvWg6M5bfdtUSKNHpuscj"


# --- structure -------------------------------------------------------------------------------

def _blocks(data: bytes, version: int = 0, **options) -> dict[Cid, bytes]:
    return {block.cid: block.data for block in iter_blocks(data, version, **options)}


def test_single_chunk_leaf_bytes_are_kubos() -> None:
    blocks = list(iter_blocks(b"hello world\n"))
    assert len(blocks) == 1
    # PBNode{Data: UnixFS{Type: File, Data: "hello world\n", filesize: 12}}
    assert blocks[0].data == bytes.fromhex("0a120802120c") + b"hello world\n" + bytes.fromhex("180c")


def test_empty_file_is_one_node_without_data() -> None:
    (v0,) = iter_blocks(b"")
    assert v0.data == bytes.fromhex("0a0408021800")  # UnixFS{Type: File, filesize: 0}
    (v1,) = iter_blocks(b"", 1)
    assert v1.cid.codec == RAW and v1.data == b""


@pytest.mark.parametrize("version", [0, 1])
def test_exactly_one_chunk_is_a_single_block(version: int) -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 256)
    blocks = list(iter_blocks(data, version))
    assert len(blocks) == 1
    root = blocks[0].cid
    if version == 1:
        assert root.codec == RAW and blocks[0].data == data
    else:
        node = decode_pbnode(blocks[0].data)
        assert node.links == () and decode_unixfs(node.data).data == data


@pytest.mark.parametrize("version", [0, 1])
def test_one_chunk_plus_one_byte_has_two_leaves(version: int) -> None:
    data = b"\x07" * (CHUNK_SIZE + 1)
    blocks = list(iter_blocks(data, version))
    root = blocks[-1]
    node = decode_pbnode(root.data)
    unixfs = decode_unixfs(node.data)
    assert (root.cid.version, root.cid.codec) == (version, DAG_PB)
    assert unixfs.type == UnixFSType.FILE and unixfs.data is None
    assert unixfs.filesize == CHUNK_SIZE + 1 and unixfs.blocksizes == (CHUNK_SIZE, 1)
    assert [link.name for link in node.links] == ["", ""]
    leaf_codec = RAW if version == 1 else DAG_PB
    assert all(link.cid.codec == leaf_codec for link in node.links)
    # Tsize: the whole subtree's block bytes
    sizes = {b.cid: len(b.data) for b in blocks}
    assert [link.tsize for link in node.links] == [sizes[link.cid] for link in node.links]


def test_dag_pb_links_are_written_before_data() -> None:
    root = list(iter_blocks(b"abcdef", chunk_size=2))[-1].data
    assert root[0] == 0x12  # field 2 (Links) first
    assert decode_pbnode(root).data is not None
    assert root.rindex(b"\x0a") > root.rindex(b"\x12\x00")  # Data (field 1) after the last link


def _leaf_depths(cid: Cid, blocks: dict[Cid, bytes], depth: int = 0) -> Iterator[int]:
    if cid.codec == RAW:
        yield depth
        return
    node = decode_pbnode(blocks[cid])
    if not node.links:
        yield depth
    for link in node.links:
        yield from _leaf_depths(link.cid, blocks, depth + 1)


def test_two_level_dag_is_balanced_and_full_left_to_right() -> None:
    data = bytes(175 * 8)
    blocks = _blocks(data, chunk_size=8)
    root = list(iter_blocks(data, chunk_size=8))[-1].cid
    node = decode_pbnode(blocks[root])
    assert len(node.links) == 2
    assert [len(decode_pbnode(blocks[link.cid]).links) for link in node.links] == [174, 1]
    assert set(_leaf_depths(root, blocks)) == {2}


def _reference_layout(chunks: list[bytes], version: int, raw: bool, max_links: int) -> Cid:
    """A plain transliteration of boxo's balanced.Layout/fillNodeRec, for comparison."""
    blocks: dict[Cid, bytes] = {}

    def leaf(chunk: bytes | None) -> tuple[Cid, int, int]:
        if raw:
            cid = Cid.for_block(chunk or b"", codec=RAW, version=1)
            return cid, len(chunk or b""), len(chunk or b"")
        block = encode_pbnode(PBNode((), encode_unixfs(UnixFSData(2, chunk, len(chunk or b"")))))
        cid = Cid.for_block(block, codec=DAG_PB, version=version)
        blocks[cid] = block
        return cid, len(block), len(chunk or b"")

    def commit(children: list[tuple[Cid, int, int]]) -> tuple[Cid, int, int]:
        unixfs = UnixFSData(2, None, sum(c[2] for c in children), tuple(c[2] for c in children))
        block = encode_pbnode(PBNode(tuple(PBLink(c[0], "", c[1]) for c in children),
                                     encode_unixfs(unixfs)))
        cid = Cid.for_block(block, codec=DAG_PB, version=version)
        return cid, len(block) + sum(c[1] for c in children), unixfs.filesize

    pending = list(chunks)

    def fill(children: list, depth: int) -> tuple[Cid, int, int]:
        while len(children) < max_links and pending:
            if depth == 1:
                children.append(leaf(pending.pop(0)))
            else:
                children.append(fill([], depth - 1))
        return commit(children)

    if not pending:
        return leaf(None)[0]
    root = leaf(pending.pop(0))
    depth = 1
    while pending:
        root = fill([root], depth)
        depth += 1
    return root[0]


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=600),
    chunk_size=st.integers(min_value=1, max_value=16),
    max_links=st.integers(min_value=2, max_value=5),
    version=st.sampled_from([0, 1]),
    raw_leaves=st.sampled_from([None, True, False]),
)
def test_streaming_importer_matches_reference_layout_and_reads_back(
    data: bytes, chunk_size: int, max_links: int, version: int, raw_leaves: bool | None
) -> None:
    options = {"chunk_size": chunk_size, "max_links": max_links, "raw_leaves": raw_leaves}
    blocks = list(iter_blocks(data, version, **options))
    root = blocks[-1].cid
    raw = (version == 1) if raw_leaves is None else raw_leaves
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    assert root == _reference_layout(chunks, version, raw, max_links)
    store = {b.cid: b.data for b in blocks}
    assert b"".join(iter_file_bytes(root, store.__getitem__)) == data
    assert len(set(_leaf_depths(root, store))) == 1  # balanced: every leaf at one depth
    assert compute_cid(io.BytesIO(data), version, **options) == root


class _TrickleReader:
    """A stream that returns at most 1000 bytes per read and records requested sizes."""

    def __init__(self, data: bytes):
        self._stream = io.BytesIO(data)
        self.requests: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.requests.append(size)
        return self._stream.read(min(size, 1000))


def test_streams_are_read_chunk_by_chunk_with_short_reads() -> None:
    data = bytes(range(256)) * 4100  # 1,049,600 bytes: 5 chunks
    reader = _TrickleReader(data)
    assert compute_cid(reader) == compute_cid(data)
    assert max(reader.requests) <= CHUNK_SIZE  # never asks for more than one chunk


def test_path_sources_stream_from_disk(tmp_path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    assert str(compute_cid(path)) == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"version": 2}, "cid_version must be 0 or 1"),
        ({"version": 0, "hash_function": "sha3-256"}, "CIDv0 only supports sha2-256"),
        ({"chunk_size": 0}, "chunk_size must be between"),
        ({"chunk_size": 4 * 1024 * 1024}, "chunk_size must be between"),
        ({"max_links": 1}, "max_links must be"),
        ({"hash_function": "md5", "version": 1}, "unknown hash function 'md5'"),
    ],
)
def test_importer_rejects_bad_options(kwargs: dict, rule: str) -> None:
    with pytest.raises(FabricaValueError, match=rule):
        compute_cid(b"x", **kwargs)


def test_importer_rejects_ambiguous_or_text_sources() -> None:
    with pytest.raises(FabricaValueError, match="ambiguous"):
        compute_cid("hello")  # type: ignore[arg-type]
    with pytest.raises(FabricaValueError, match="binary mode"):
        compute_cid(io.StringIO("hello"))  # type: ignore[arg-type]
    with pytest.raises(FabricaValueError, match="cannot read content from int"):
        compute_cid(42)  # type: ignore[arg-type]


# --- the verifying reader --------------------------------------------------------------------

def test_reader_rejects_a_tampered_leaf() -> None:
    data = bytes(range(200)) * 10
    blocks = _blocks(data, chunk_size=100)
    root = list(blocks)[-1]
    victim = next(cid for cid in blocks if cid != root)
    blocks[victim] = blocks[victim][:-1] + b"\x00"
    with pytest.raises(CidMismatchError, match=str(victim)):
        b"".join(iter_file_bytes(root, blocks.__getitem__))


def _reencode(node: PBNode, unixfs: UnixFSData) -> tuple[Cid, bytes]:
    block = encode_pbnode(PBNode(node.links, encode_unixfs(unixfs)))
    return Cid.for_block(block, codec=DAG_PB, version=1), block


def test_reader_rejects_blocksizes_that_disagree_with_children() -> None:
    blocks = _blocks(b"0123456789", 1, chunk_size=4)
    root = list(blocks)[-1]
    node = decode_pbnode(blocks[root])
    liar = UnixFSData(UnixFSType.FILE, None, 10, (4, 5, 1))  # says 5 where the leaf has 4
    cid, block = _reencode(node, liar)
    blocks[cid] = block
    with pytest.raises(InvalidDagError, match="promised 5"):
        b"".join(iter_file_bytes(cid, blocks.__getitem__))


def test_reader_rejects_filesize_that_disagrees_with_blocksizes() -> None:
    blocks = _blocks(b"0123456789", 1, chunk_size=4)
    root = list(blocks)[-1]
    node = decode_pbnode(blocks[root])
    cid, block = _reencode(node, UnixFSData(UnixFSType.FILE, None, 99, (4, 4, 2)))
    blocks[cid] = block
    with pytest.raises(InvalidDagError, match="declares filesize 99"):
        b"".join(iter_file_bytes(cid, blocks.__getitem__))


def test_reader_refuses_directories_and_unknown_codecs() -> None:
    # `ipfs add` of an empty directory, UnixFS{Type: Directory}, is
    # QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn (kubo core/commands/diag.go).
    directory = encode_pbnode(PBNode((), encode_unixfs(UnixFSData(UnixFSType.DIRECTORY))))
    cid = Cid.for_block(directory, codec=DAG_PB, version=0)
    assert str(cid) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    with pytest.raises(InvalidDagError, match="directory, not a file"):
        b"".join(iter_file_bytes(cid, {cid: directory}.__getitem__))
    cbor = Cid.for_block(b"\xa0", codec=0x71)
    with pytest.raises(InvalidDagError, match="dag-cbor"):
        b"".join(iter_file_bytes(cbor, {cbor: b"\xa0"}.__getitem__))


# --- dag-pb codec ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("block", "rule"),
    [
        (bytes.fromhex("0a00") + bytes.fromhex("1200"), "Links after Data"),
        (bytes.fromhex("0a000a00"), "more than one Data"),
        (bytes.fromhex("1a00"), "unexpected field 3"),
        (bytes.fromhex("1200"), "link has no Hash"),
        (bytes.fromhex("0a05ab"), "runs past the end"),
    ],
)
def test_dagpb_decoder_is_strict(block: bytes, rule: str) -> None:
    with pytest.raises(InvalidDagError, match=rule):
        decode_pbnode(block)


_cids = st.builds(
    lambda digest, v1: Cid(1, RAW, digest) if v1 else Cid(0, DAG_PB, digest),
    st.binary(min_size=32, max_size=32),
    st.booleans(),
)
_links = st.builds(
    PBLink, _cids, st.one_of(st.none(), st.text(max_size=8)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2**40)),
)


@given(st.lists(_links, max_size=5), st.one_of(st.none(), st.binary(max_size=40)))
def test_dagpb_round_trip(links: list[PBLink], data: bytes | None) -> None:
    node = PBNode(tuple(links), data)
    assert decode_pbnode(encode_pbnode(node)) == node


@given(
    st.sampled_from(list(UnixFSType)),
    st.one_of(st.none(), st.binary(max_size=40)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2**50)),
    st.lists(st.integers(min_value=0, max_value=2**40), max_size=6),
)
def test_unixfs_round_trip(kind, data, filesize, blocksizes) -> None:
    message = UnixFSData(int(kind), data, filesize, tuple(blocksizes))
    assert decode_unixfs(encode_unixfs(message)) == message


def test_iter_blocks_yields_cid_and_bytes_pairs() -> None:
    for cid, data in iter_blocks(b"abc" * 100, chunk_size=64):
        cid.verify(data)
    assert all(isinstance(b, Block) for b in iter_blocks(b"abc"))
