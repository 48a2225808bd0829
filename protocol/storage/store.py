"""The ContentStore port and its embedded adapter: blocks on local disk, addressed by CID.

``LocalContentStore`` keeps each block in a file named after its multihash, with the same
layout as Kubo's flatfs datastore (``blocks/<next-to-last two chars>/<BASE32 key>.data``).
File names are derived from CIDs only, so no caller-supplied string ever becomes a path.
Blocks are written atomically (temporary file, fsync, rename), children before parents, so
a root block on disk means its whole DAG was written. Every read verifies each block
against its CID; a corrupted block raises ``CidMismatchError`` naming the CID and the file.
"""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.cid import DAG_PB, Cid, base32_encode
from fabrica.protocol.storage.dagpb import decode_pbnode
from fabrica.protocol.storage.errors import (
    CidMismatchError,
    ContentError,
    ContentNotFoundError,
    ContentPinnedError,
    InvalidCidError,
    InvalidDagError,
)
from fabrica.protocol.storage.unixfs import (
    BLOCK_SIZE_LIMIT,
    CHUNK_SIZE,
    MAX_LINKS,
    Block,
    DagReader,
    ImportOptions,
    Source,
    import_blocks,
    iter_file_bytes,
)

__all__ = ["ContentStore", "LocalContentStore", "PinningContentStore", "as_cid"]

_KEY_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


@runtime_checkable
class ContentStore(Protocol):
    """Where content lives, addressed by the CID ``ipfs add`` would give it."""

    def add(self, data: Source, *, cid_version: int = 0) -> Cid:
        """Store bytes, a file path or a binary stream; return its CID."""
        ...

    def get(self, cid: Cid | str) -> bytes:
        """Return the whole content of ``cid``, every block verified."""
        ...

    def iter(self, cid: Cid | str) -> Iterator[bytes]:
        """Stream the content of ``cid`` in verified pieces."""
        ...

    def open(self, cid: Cid | str) -> BinaryIO:
        """Open the content of ``cid`` as a read-only binary stream."""
        ...

    def has(self, cid: Cid | str) -> bool:
        """Whether the store holds the root block of ``cid``."""
        ...


@runtime_checkable
class PinningContentStore(ContentStore, Protocol):
    """A content store that can protect content from removal and remove it."""

    def pin(self, cid: Cid | str) -> None:
        """Protect ``cid`` and its blocks from removal."""
        ...

    def unpin(self, cid: Cid | str) -> None:
        """Drop the pin on ``cid`` (no error if it was not pinned)."""
        ...

    def remove(self, cid: Cid | str) -> None:
        """Delete the blocks of ``cid`` that no other stored content uses."""
        ...


def as_cid(value: Cid | str | bytes) -> Cid:
    """Accept a Cid, its string or its binary form; raise InvalidCidError otherwise."""
    return value if isinstance(value, Cid) else Cid.parse(value)


def _check_source(data: object) -> None:
    if isinstance(data, str):
        raise FabricaValueError(
            "add() got a str: pass bytes for content, or a pathlib.Path to add a file"
        )


class LocalContentStore:
    """Blocks on local disk under ``root``, the embedded default content store."""

    def __init__(self, root: Path | str, *, fsync: bool = True):
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._roots = self.root / "roots"
        self._pins = self.root / "pins"
        self._fsync = fsync

    def __repr__(self) -> str:
        return f"LocalContentStore({str(self.root)!r})"

    # -- paths --

    def block_path(self, cid: Cid | str) -> Path:
        """The file that holds the block of ``cid`` (flatfs layout, keyed by multihash)."""
        key = base32_encode(as_cid(cid).multihash).upper()
        if not key or not set(key) <= _KEY_ALPHABET:  # cannot happen: base32 output
            raise InvalidCidError(f"cannot derive a block file name from {cid}")
        shard = key[-3:-1]
        path = self._blocks / shard / f"{key}.data"
        if path.parent.parent != self._blocks:  # defence in depth against traversal
            raise InvalidCidError(f"block path for {cid} escapes the store")
        return path

    def _marker(self, directory: Path, cid: Cid) -> Path:
        return directory / str(cid.to_v1())

    # -- blocks --

    def put_block(self, block: Block) -> None:
        """Store one block after checking that its bytes match its CID."""
        block.cid.verify(block.data)
        self._write_block(block)

    def _write_block(self, block: Block) -> None:
        path = self.block_path(block.cid)
        if path.exists():
            try:
                existing = path.read_bytes()
            except OSError:
                existing = None
            if existing is not None and block.cid.matches(existing):
                return  # already stored intact (content addressing deduplicates)
        self._write_atomic(path, block.data)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self._fsync:
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def get_block(self, cid: Cid | str) -> bytes:
        """Return the verified bytes of one block; raise if missing or corrupted."""
        cid = as_cid(cid)
        path = self.block_path(cid)
        try:
            with open(path, "rb") as handle:
                data = handle.read(BLOCK_SIZE_LIMIT + 1)
        except FileNotFoundError:
            raise ContentNotFoundError(
                f"block {cid} is missing from the local store at {self.root}; "
                "add the content again or fetch it from another store",
                cid=cid,
            ) from None
        try:
            cid.verify(data)
        except CidMismatchError as exc:
            raise CidMismatchError(
                f"block {cid} in the local store is corrupted ({path}): {exc}. "
                "Delete that file and add the content again.",
                expected=exc.expected,
                actual=exc.actual,
            ) from None
        return data

    def has_block(self, cid: Cid | str) -> bool:
        """Whether the block file of ``cid`` exists (not verified)."""
        return self.block_path(cid).is_file()

    # -- ContentStore --

    def add(
        self,
        data: Source,
        *,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
        hash_function: str = "sha2-256",
        pin: bool = False,
    ) -> Cid:
        """Import content as ``ipfs add`` does, store every block, return the root CID."""
        _check_source(data)
        options = ImportOptions(cid_version, raw_leaves, chunk_size, max_links, hash_function)
        root: Cid | None = None
        for block in import_blocks(data, options):
            self._write_block(block)
            root = block.cid
        assert root is not None
        self._write_atomic(self._marker(self._roots, root), str(root).encode())
        if pin:
            self.pin(root)
        return root

    def has(self, cid: Cid | str) -> bool:
        """Whether the root block of ``cid`` is stored (blocks are written root last)."""
        return self.has_block(cid)

    def iter(self, cid: Cid | str) -> Iterator[bytes]:
        """Stream the content of ``cid``; each block is verified before its bytes are used."""
        cid = as_cid(cid)
        if not self.has(cid):
            raise ContentNotFoundError(
                f"no content {cid} in the local store at {self.root}; "
                "add it first (fabrica content add FILE) or fetch it from Kubo",
                cid=cid,
            )
        return iter_file_bytes(cid, self.get_block, verify=False)  # get_block verifies

    def get(self, cid: Cid | str) -> bytes:
        """Return the whole content of ``cid`` after verifying every block."""
        return b"".join(self.iter(cid))

    def open(self, cid: Cid | str) -> BinaryIO:
        """Open the content of ``cid`` as a buffered, verified, read-only stream."""
        return io.BufferedReader(DagReader(self.iter(cid)))  # type: ignore[return-value]

    # -- pins and removal --

    def pin(self, cid: Cid | str) -> None:
        """Protect ``cid`` from ``remove``; the content must be in the store."""
        cid = as_cid(cid)
        if not self.has(cid):
            raise ContentNotFoundError(
                f"cannot pin {cid}: it is not in the local store at {self.root}", cid=cid
            )
        self._write_atomic(self._marker(self._pins, cid), str(cid).encode())

    def unpin(self, cid: Cid | str) -> None:
        """Drop the pin on ``cid``; a no-op if it was not pinned."""
        self._marker(self._pins, as_cid(cid)).unlink(missing_ok=True)

    def is_pinned(self, cid: Cid | str) -> bool:
        """Whether ``cid`` is pinned."""
        return self._marker(self._pins, as_cid(cid)).is_file()

    def pins(self) -> list[Cid]:
        """The pinned CIDs, as they were given."""
        return self._read_markers(self._pins)

    def roots(self) -> list[Cid]:
        """The CIDs of all content added to this store and not removed."""
        return self._read_markers(self._roots)

    def _read_markers(self, directory: Path) -> list[Cid]:
        if not directory.is_dir():
            return []
        found = []
        for entry in sorted(directory.iterdir()):
            if entry.name.startswith("."):
                continue
            try:
                found.append(Cid.parse(entry.read_text().strip()))
            except (InvalidCidError, OSError):
                continue  # a damaged marker must not block listing the others
        return found

    def remove(self, cid: Cid | str) -> None:
        """Delete ``cid``'s blocks except those shared with other stored content."""
        cid = as_cid(cid)
        if self.is_pinned(cid):
            raise ContentPinnedError(f"{cid} is pinned; unpin it before removing it")
        if not self.has(cid) and not self._marker(self._roots, cid).exists():
            raise ContentNotFoundError(f"no content {cid} in the local store at {self.root}", cid=cid)
        doomed = self._reachable(cid)
        keep: set[Path] = set()
        for other in self.roots():
            if other.to_v1() != cid.to_v1():
                keep |= self._reachable(other)
        for path in doomed - keep:
            path.unlink(missing_ok=True)
        self._marker(self._roots, cid).unlink(missing_ok=True)

    def _reachable(self, cid: Cid) -> set[Path]:
        """Block files reachable from ``cid``; missing or undecodable blocks are skipped."""
        found: set[Path] = set()
        stack = [cid]
        while stack:
            current = stack.pop()
            path = self.block_path(current)
            if path in found:
                continue
            found.add(path)
            if current.codec != DAG_PB:
                continue
            try:
                node = decode_pbnode(path.read_bytes())
            except (OSError, InvalidDagError, ContentError):
                continue
            stack.extend(link.cid for link in node.links)
        return found
