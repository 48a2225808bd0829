"""dag-pb (PBNode/PBLink) and UnixFS ``Data`` protobuf codecs, byte for byte as Kubo writes them.

dag-pb canonical form (IPLD dag-pb spec, go-codec-dagpb): a PBNode is written as every
``Links`` entry (field 2) first, in the order given, then ``Data`` (field 1) if present.
A PBLink is written ``Hash`` (1), ``Name`` (2), ``Tsize`` (3); boxo's merkledag always writes
Name (empty for file chunks) and Tsize. The decoder enforces the same order and rejects
unknown fields, as go-codec-dagpb does.

UnixFS ``Data`` (proto2, unixfs.proto) is written in field order: Type (1), Data (2),
filesize (3), blocksizes (4, one unpacked varint per entry). The decoder also accepts the
optional fields hashType, fanout, mode and mtime (5-8), and packed blocksizes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from fabrica.protocol.storage.cid import Cid, InvalidVarintError, decode_varint, encode_varint
from fabrica.protocol.storage.errors import InvalidCidError, InvalidDagError

__all__ = [
    "PBLink",
    "PBNode",
    "UnixFSData",
    "UnixFSType",
    "decode_pbnode",
    "decode_unixfs",
    "encode_pbnode",
    "encode_unixfs",
]

_VARINT = 0
_LEN = 2


class UnixFSType(IntEnum):
    """UnixFS ``Data.DataType`` values (unixfs.proto)."""

    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: target CID, optional name, optional cumulative size of the target DAG."""

    cid: Cid
    name: str | None = ""
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    """A dag-pb node: ordered links and optional opaque data."""

    links: tuple[PBLink, ...] = ()
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """The UnixFS ``Data`` message carried in a dag-pb node's data field."""

    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default=())


# --- protobuf wire helpers ---------------------------------------------------------------


def _key(field_number: int, wire_type: int) -> bytes:
    return encode_varint(field_number << 3 | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, _LEN) + encode_varint(len(payload)) + payload


def _read_varint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    try:
        return decode_varint(buf, pos)
    except InvalidVarintError as exc:
        raise InvalidDagError(f"{what}: bad varint at byte {pos}: {exc}") from None


def _read_bytes(buf: bytes, pos: int, what: str) -> tuple[bytes, int]:
    length, pos = _read_varint(buf, pos, what)
    if pos + length > len(buf):
        raise InvalidDagError(
            f"{what}: a {length}-byte field at byte {pos} runs past the end ({len(buf)} bytes)"
        )
    return buf[pos : pos + length], pos + length


# --- dag-pb --------------------------------------------------------------------------------


def _encode_link(link: PBLink) -> bytes:
    out = _len_field(1, link.cid.to_bytes())
    if link.name is not None:
        out += _len_field(2, link.name.encode("utf-8"))
    if link.tsize is not None:
        if link.tsize < 0:
            raise InvalidDagError(f"link Tsize must be non-negative, got {link.tsize}")
        out += _key(3, _VARINT) + encode_varint(link.tsize)
    return out


def encode_pbnode(node: PBNode) -> bytes:
    """Encode a PBNode in dag-pb canonical form (Links before Data)."""
    parts = [_len_field(2, _encode_link(link)) for link in node.links]
    if node.data is not None:
        parts.append(_len_field(1, node.data))
    return b"".join(parts)


def _decode_link(buf: bytes) -> PBLink:
    pos = 0
    cid: Cid | None = None
    name: str | None = None
    tsize: int | None = None
    last_field = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos, "dag-pb link")
        number, wire = key >> 3, key & 7
        if number not in (1, 2, 3):
            raise InvalidDagError(f"dag-pb link has unknown field {number}")
        if number <= last_field:
            raise InvalidDagError("dag-pb link fields are out of order or repeated")
        last_field = number
        if number == 1:
            if wire != _LEN:
                raise InvalidDagError("dag-pb link Hash must be length-delimited")
            raw, pos = _read_bytes(buf, pos, "dag-pb link Hash")
            try:
                cid = Cid.from_bytes(raw)
            except InvalidCidError as exc:
                raise InvalidDagError(f"dag-pb link Hash is not a CID: {exc}") from None
        elif number == 2:
            if wire != _LEN:
                raise InvalidDagError("dag-pb link Name must be length-delimited")
            raw, pos = _read_bytes(buf, pos, "dag-pb link Name")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidDagError("dag-pb link Name is not UTF-8") from None
        else:
            if wire != _VARINT:
                raise InvalidDagError("dag-pb link Tsize must be a varint")
            tsize, pos = _read_varint(buf, pos, "dag-pb link Tsize")
    if cid is None:
        raise InvalidDagError("dag-pb link has no Hash")
    return PBLink(cid, name, tsize)


def decode_pbnode(block: bytes) -> PBNode:
    """Decode a dag-pb block strictly (canonical field order, no unknown fields)."""
    buf = bytes(block)
    pos = 0
    links: list[PBLink] = []
    data: bytes | None = None
    while pos < len(buf):
        key, pos = _read_varint(buf, pos, "dag-pb node")
        number, wire = key >> 3, key & 7
        if wire != _LEN or number not in (1, 2):
            raise InvalidDagError(f"dag-pb node has unexpected field {number} (wire type {wire})")
        raw, pos = _read_bytes(buf, pos, "dag-pb node")
        if number == 2:
            if data is not None:
                raise InvalidDagError("dag-pb node has Links after Data (not canonical)")
            links.append(_decode_link(raw))
        else:
            if data is not None:
                raise InvalidDagError("dag-pb node has more than one Data field")
            data = raw
    return PBNode(tuple(links), data)


# --- UnixFS Data ----------------------------------------------------------------------------


def encode_unixfs(message: UnixFSData) -> bytes:
    """Encode a UnixFS Data message in field order, as boxo's FSNode.GetBytes does."""
    out = _key(1, _VARINT) + encode_varint(int(message.type))
    if message.data is not None:
        out += _len_field(2, message.data)
    if message.filesize is not None:
        out += _key(3, _VARINT) + encode_varint(message.filesize)
    for size in message.blocksizes:
        out += _key(4, _VARINT) + encode_varint(size)
    return out


def decode_unixfs(payload: bytes) -> UnixFSData:
    """Decode a UnixFS Data message; fields 5-8 (hashType, fanout, mode, mtime) are skipped."""
    buf = bytes(payload)
    pos = 0
    type_: int | None = None
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    while pos < len(buf):
        key, pos = _read_varint(buf, pos, "UnixFS Data")
        number, wire = key >> 3, key & 7
        if number == 1 and wire == _VARINT:
            type_, pos = _read_varint(buf, pos, "UnixFS Type")
        elif number == 2 and wire == _LEN:
            data, pos = _read_bytes(buf, pos, "UnixFS Data")
        elif number == 3 and wire == _VARINT:
            filesize, pos = _read_varint(buf, pos, "UnixFS filesize")
        elif number == 4 and wire == _VARINT:
            size, pos = _read_varint(buf, pos, "UnixFS blocksizes")
            blocksizes.append(size)
        elif number == 4 and wire == _LEN:  # packed repeated
            packed, pos = _read_bytes(buf, pos, "UnixFS blocksizes")
            ppos = 0
            while ppos < len(packed):
                size, ppos = _read_varint(packed, ppos, "UnixFS blocksizes")
                blocksizes.append(size)
        elif wire == _VARINT and number >= 5:
            _, pos = _read_varint(buf, pos, "UnixFS Data")
        elif wire == _LEN and number >= 5:
            _, pos = _read_bytes(buf, pos, "UnixFS Data")
        elif wire == 5 and number >= 5:  # fixed32
            pos += 4
        elif wire == 1 and number >= 5:  # fixed64
            pos += 8
        else:
            raise InvalidDagError(f"UnixFS Data has unexpected field {number} (wire type {wire})")
        if pos > len(buf):
            raise InvalidDagError("UnixFS Data is truncated")
    if type_ is None:
        raise InvalidDagError("UnixFS Data has no Type (a required field)")
    return UnixFSData(type_, data, filesize, tuple(blocksizes))
