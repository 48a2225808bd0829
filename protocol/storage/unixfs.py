"""The UnixFS file importer of ``ipfs add`` (Kubo/boxo defaults) and a verifying DAG reader.

Importer, as boxo's ``balanced`` layout with a ``size-N`` splitter:

* the input is cut into fixed-size chunks (262144 bytes by default; the last one shorter);
* each chunk becomes a leaf: a dag-pb node wrapping ``UnixFS{Type=File, Data=chunk,
  filesize}`` (CIDv0 default), or the chunk itself as a ``raw`` block (``raw_leaves``,
  implied by CIDv1; raw leaves are always CIDv1 since CIDv0 is dag-pb only);
* an empty input is one leaf with no data; a single chunk is its own root;
* otherwise leaves are grouped under dag-pb parents of at most ``max_links`` (174)
  children, ``UnixFS{Type=File, filesize, blocksizes}``, into a balanced tree whose
  leaves all sit at the same depth, filled left to right.

The importer streams: it holds one chunk plus at most ``max_links`` links per tree level.
"""
from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple, Protocol, Union

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.cid import (
    DAG_PB,
    RAW,
    SHA2_256,
    Cid,
    hash_code_for,
    multihash_digest,
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
from fabrica.protocol.storage.errors import InvalidDagError

__all__ = [
    "BLOCK_SIZE_LIMIT",
    "CHUNK_SIZE",
    "CHUNK_SIZE_LIMIT",
    "MAX_LINKS",
    "Block",
    "BlockGetter",
    "DagReader",
    "ImportOptions",
    "Source",
    "compute_cid",
    "import_blocks",
    "iter_blocks",
    "iter_chunks",
    "iter_dag_blocks",
    "iter_file_bytes",
]

#: Kubo's default chunker: ``size-262144``.
CHUNK_SIZE = 262_144
#: Kubo's default ``Import.UnixFSFileMaxLinks`` (boxo ``helpers.DefaultLinksPerBlock``).
MAX_LINKS = 174
#: The bitswap block size limit (boxo ``chunker.BlockSizeLimit``).
BLOCK_SIZE_LIMIT = 2 * 1024 * 1024
#: The largest chunk boxo accepts: the block limit less 256 bytes for framing.
CHUNK_SIZE_LIMIT = BLOCK_SIZE_LIMIT - 256


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


#: What the importer reads: bytes, a path to a file, or a binary file-like object.
Source = Union[bytes, bytearray, memoryview, "os.PathLike[str]", BinaryIO, _Readable]

#: Fetches the raw bytes of one block by CID (raises ContentNotFoundError if absent).
BlockGetter = Callable[[Cid], bytes]


class Block(NamedTuple):
    """One block of a DAG: its CID and its bytes (unpacks as ``cid, data``)."""

    cid: Cid
    data: bytes


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """The ``ipfs add`` options that change the CID; defaults are Kubo's."""

    cid_version: int = 0
    raw_leaves: bool | None = None
    chunk_size: int = CHUNK_SIZE
    max_links: int = MAX_LINKS
    hash_function: str = "sha2-256"

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise FabricaValueError(f"cid_version must be 0 or 1, got {self.cid_version!r}")
        if not isinstance(self.chunk_size, int) or not 1 <= self.chunk_size <= CHUNK_SIZE_LIMIT:
            raise FabricaValueError(
                f"chunk_size must be between 1 and {CHUNK_SIZE_LIMIT} bytes, got {self.chunk_size!r}"
            )
        if not isinstance(self.max_links, int) or self.max_links < 2:
            raise FabricaValueError(f"max_links must be an int of at least 2, got {self.max_links!r}")
        code = hash_code_for(self.hash_function)
        if code == 0:
            raise FabricaValueError("hash_function 'identity' cannot address file content")
        if self.cid_version == 0 and code != SHA2_256:
            raise FabricaValueError(
                f"CIDv0 only supports sha2-256; use cid_version=1 for {self.hash_function}"
            )

    @property
    def hash_code(self) -> int:
        """The multihash code of ``hash_function``."""
        return hash_code_for(self.hash_function)

    @property
    def leaves_are_raw(self) -> bool:
        """Kubo's rule: raw leaves when asked, else exactly when the CID version is 1."""
        return self.cid_version == 1 if self.raw_leaves is None else self.raw_leaves

    def kubo_params(self) -> dict[str, str]:
        """The ``/api/v0/add`` query parameters that reproduce these options in Kubo."""
        params = {
            "cid-version": str(self.cid_version),
            "raw-leaves": "true" if self.leaves_are_raw else "false",
            "chunker": f"size-{self.chunk_size}",
            "hash": self.hash_function,
        }
        if self.max_links != MAX_LINKS:
            params["max-file-links"] = str(self.max_links)
        return params


# --- reading the source ------------------------------------------------------------------


def _read_full(stream: _Readable, size: int) -> bytes:
    """Read exactly ``size`` bytes unless the stream ends first (like Go's io.ReadFull)."""
    first = stream.read(size)
    if first is None:
        raise FabricaValueError("the source stream is non-blocking and returned no data")
    if isinstance(first, str):
        raise FabricaValueError("the source is a text stream; open the file in binary mode ('rb')")
    if len(first) == size or not first:
        return bytes(first)
    parts = [first]
    got = len(first)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def iter_chunks(source: Source, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Cut a source into fixed-size chunks (the last may be shorter; none for empty input)."""
    if isinstance(source, str):
        raise FabricaValueError(
            "a str source is ambiguous: pass bytes for content, or pathlib.Path for a file"
        )
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    if isinstance(source, os.PathLike):
        with open(source, "rb") as handle:
            yield from _iter_stream(handle, chunk_size)
        return
    if not hasattr(source, "read"):
        raise FabricaValueError(
            f"cannot read content from {type(source).__name__}: "
            "pass bytes, a pathlib.Path or a binary file object"
        )
    yield from _iter_stream(source, chunk_size)


def _iter_stream(stream: _Readable, chunk_size: int) -> Iterator[bytes]:
    while True:
        chunk = _read_full(stream, chunk_size)
        if not chunk:
            return
        yield chunk
        if len(chunk) < chunk_size:
            return


# --- building the DAG --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Child:
    cid: Cid
    tsize: int  # bytes of the child's whole DAG (block sizes), as dag-pb Tsize
    filesize: int  # file bytes under the child, as UnixFS blocksizes


class _Builder:
    def __init__(self, options: ImportOptions):
        self.options = options
        self.hash_code = options.hash_code
        self.raw = options.leaves_are_raw

    def _cid(self, block: bytes, codec: int, version: int) -> Cid:
        return Cid(version, codec, multihash_digest(self.hash_code, block), self.hash_code)

    def leaf(self, chunk: bytes | None) -> tuple[Block, _Child]:
        size = len(chunk) if chunk else 0
        if self.raw:
            data = chunk or b""
            cid = self._cid(data, RAW, 1)
            return Block(cid, data), _Child(cid, len(data), size)
        unixfs = encode_unixfs(UnixFSData(UnixFSType.FILE, chunk, size))
        block = encode_pbnode(PBNode((), unixfs))
        cid = self._cid(block, DAG_PB, self.options.cid_version)
        return Block(cid, block), _Child(cid, len(block), size)

    def parent(self, children: list[_Child]) -> tuple[Block, _Child]:
        filesize = sum(c.filesize for c in children)
        unixfs = encode_unixfs(
            UnixFSData(UnixFSType.FILE, None, filesize, tuple(c.filesize for c in children))
        )
        links = tuple(PBLink(c.cid, "", c.tsize) for c in children)
        block = encode_pbnode(PBNode(links, unixfs))
        cid = self._cid(block, DAG_PB, self.options.cid_version)
        tsize = len(block) + sum(c.tsize for c in children)
        return Block(cid, block), _Child(cid, tsize, filesize)


def import_blocks(source: Source, options: ImportOptions | None = None) -> Iterator[Block]:
    """Yield every block of the file's DAG, children before parents; the last one is the root."""
    options = options or ImportOptions()
    builder = _Builder(options)
    max_links = options.max_links
    # levels[0] holds leaves, levels[k] holds finished nodes of height k; a level is only
    # closed into a parent when one more child arrives, which reproduces boxo's layout.
    levels: list[list[_Child]] = []

    def push(height: int, child: _Child) -> Iterator[Block]:
        if height == len(levels):
            levels.append([])
        if len(levels[height]) == max_links:
            block, parent = builder.parent(levels[height])
            levels[height] = []
            yield block
            yield from push(height + 1, parent)
        levels[height].append(child)

    for chunk in iter_chunks(source, options.chunk_size):
        block, child = builder.leaf(chunk)
        yield block
        yield from push(0, child)

    if not levels:  # empty input: one leaf without data
        block, _ = builder.leaf(None)
        yield block
        return
    if len(levels) == 1 and len(levels[0]) == 1:  # one chunk is its own root
        return
    height = 0
    while height < len(levels):
        block, parent = builder.parent(levels[height])
        levels[height] = []
        yield block
        if height == len(levels) - 1:
            return
        yield from push(height + 1, parent)
        height += 1


def iter_blocks(
    source: Source,
    version: int = 0,
    *,
    raw_leaves: bool | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_links: int = MAX_LINKS,
    hash_function: str = "sha2-256",
) -> Iterator[Block]:
    """Yield the (cid, bytes) blocks ``ipfs add`` would store, root last."""
    options = ImportOptions(version, raw_leaves, chunk_size, max_links, hash_function)
    return import_blocks(source, options)


def compute_cid(
    source: Source,
    version: int = 0,
    *,
    raw_leaves: bool | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_links: int = MAX_LINKS,
    hash_function: str = "sha2-256",
) -> Cid:
    """Return the CID ``ipfs add`` (``--cid-version=version``) gives this content."""
    root: Block | None = None
    for root in iter_blocks(  # noqa: B007 - the last block yielded is the root
        source,
        version,
        raw_leaves=raw_leaves,
        chunk_size=chunk_size,
        max_links=max_links,
        hash_function=hash_function,
    ):
        pass
    assert root is not None  # the importer always yields at least one block
    return root.cid


# --- reading a DAG back ------------------------------------------------------------------


def _fetch_verified(cid: Cid, get_block: BlockGetter, verify: bool) -> bytes:
    block = get_block(cid)
    if verify:
        cid.verify(block)
    if len(block) > BLOCK_SIZE_LIMIT:
        raise InvalidDagError(
            f"block {cid} is {len(block)} bytes, over the {BLOCK_SIZE_LIMIT}-byte block limit"
        )
    return block


@dataclass(frozen=True, slots=True)
class _FileNode:
    data: bytes
    links: tuple[PBLink, ...]
    blocksizes: tuple[int, ...]
    filesize: int


def _decode_file_node(cid: Cid, block: bytes) -> _FileNode:
    if cid.codec == RAW:
        return _FileNode(block, (), (), len(block))
    if cid.codec != DAG_PB:
        raise InvalidDagError(
            f"{cid} has codec {cid.codec_name}; only dag-pb (UnixFS) and raw blocks are files"
        )
    try:
        node = decode_pbnode(block)
        if node.data is None:
            raise InvalidDagError("the dag-pb node has no UnixFS Data")
        unixfs = decode_unixfs(node.data)
    except InvalidDagError as exc:
        raise InvalidDagError(f"block {cid} is not a UnixFS file node: {exc}") from None
    if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
        try:
            kind = UnixFSType(unixfs.type).name.lower().replace("_", "-")
        except ValueError:
            kind = f"node of unknown type {unixfs.type}"
        raise InvalidDagError(f"{cid} is a UnixFS {kind}, not a file; only files can be read")
    if len(unixfs.blocksizes) != len(node.links):
        raise InvalidDagError(
            f"UnixFS node {cid} has {len(node.links)} links but {len(unixfs.blocksizes)} blocksizes"
        )
    data = unixfs.data or b""
    total = len(data) + sum(unixfs.blocksizes)
    if unixfs.filesize is not None and unixfs.filesize != total:
        raise InvalidDagError(
            f"UnixFS node {cid} declares filesize {unixfs.filesize} but holds {total} bytes "
            "(data plus blocksizes)"
        )
    return _FileNode(data, node.links, unixfs.blocksizes, total)


def iter_file_bytes(cid: Cid, get_block: BlockGetter, *, verify: bool = True) -> Iterator[bytes]:
    """Stream a UnixFS file's bytes, verifying every block against its CID before use.

    Pass ``verify=False`` only when ``get_block`` already verifies what it returns.
    """
    # Depth-first, left to right, with an explicit stack; each pending entry carries the
    # size its parent promised so that every subtree is checked against its blocksize.
    stack: list[Iterator[tuple[Cid, int | None]]] = [iter([(cid, None)])]
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            continue
        node_cid, expected = nxt
        node = _decode_file_node(node_cid, _fetch_verified(node_cid, get_block, verify))
        if expected is not None and node.filesize != expected:
            raise InvalidDagError(
                f"block {node_cid} holds {node.filesize} file bytes but its parent "
                f"promised {expected}"
            )
        if node.data:
            yield node.data
        if node.links:
            stack.append(iter([(link.cid, size) for link, size in zip(node.links, node.blocksizes)]))


def iter_dag_blocks(cid: Cid, get_block: BlockGetter, *, verify: bool = True) -> Iterator[Block]:
    """Yield every block reachable from ``cid`` (dag-pb links followed), parents first."""
    seen: set[bytes] = set()
    stack = [cid]
    while stack:
        current = stack.pop()
        if current.multihash in seen:
            continue
        seen.add(current.multihash)
        block = _fetch_verified(current, get_block, verify)
        yield Block(current, block)
        if current.codec == DAG_PB:
            try:
                node = decode_pbnode(block)
            except InvalidDagError as exc:
                raise InvalidDagError(f"block {current} is not valid dag-pb: {exc}") from None
            stack.extend(link.cid for link in reversed(node.links))
        elif current.codec != RAW:
            raise InvalidDagError(f"cannot follow links of {current}: codec {current.codec_name}")


class DagReader(io.RawIOBase):
    """A read-only binary stream over a verified UnixFS file (see ``iter_file_bytes``)."""

    def __init__(self, chunks: Iterable[bytes]):
        super().__init__()
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with the next verified bytes; 0 at end of file."""
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = memoryview(chunk)
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count

    def close(self) -> None:
        """Close the stream and release the block iterator."""
        closer = getattr(self._chunks, "close", None)
        if closer is not None:
            closer()
        super().close()
