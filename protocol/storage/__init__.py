"""Content addressing exactly as IPFS Kubo computes it, content stores, and sealing.

* ``Cid`` and the multiformats pieces (varint, multihash, multibase) — ``cid``;
* the ``ipfs add`` importer (fixed-size chunker, balanced DAG, dag-pb/UnixFS, raw leaves)
  and a verifying DAG reader — ``unixfs``, ``dagpb``;
* the ``ContentStore`` port with a local on-disk adapter and a Kubo RPC adapter;
* sealing content to a node's X25519 public key — ``sealing``.
"""
from __future__ import annotations

from fabrica.protocol.storage.cid import (
    BLAKE2B_256,
    DAG_PB,
    IDENTITY,
    RAW,
    SHA2_256,
    SHA2_512,
    SHA3_256,
    Cid,
    decode_varint,
    encode_varint,
)
from fabrica.protocol.storage.errors import (
    CidMismatchError,
    ContentError,
    ContentNotFoundError,
    ContentPinnedError,
    InvalidCidError,
    InvalidDagError,
    InvalidKeyError,
    KuboError,
    SealingError,
    UnsealError,
    UnsupportedHashError,
)
from fabrica.protocol.storage.kubo import DEFAULT_KUBO_API, KuboContentStore
from fabrica.protocol.storage.sealing import (
    SealingKeyPair,
    generate_keypair,
    key_from_hex,
    key_to_hex,
    public_key_from_private,
    seal,
    unseal,
)
from fabrica.protocol.storage.store import (
    ContentStore,
    LocalContentStore,
    PinningContentStore,
    as_cid,
)
from fabrica.protocol.storage.unixfs import (
    BLOCK_SIZE_LIMIT,
    CHUNK_SIZE,
    MAX_LINKS,
    Block,
    ImportOptions,
    compute_cid,
    iter_blocks,
    iter_file_bytes,
)

__all__ = [
    "BLAKE2B_256",
    "BLOCK_SIZE_LIMIT",
    "CHUNK_SIZE",
    "DAG_PB",
    "DEFAULT_KUBO_API",
    "IDENTITY",
    "MAX_LINKS",
    "RAW",
    "SHA2_256",
    "SHA2_512",
    "SHA3_256",
    "Block",
    "Cid",
    "CidMismatchError",
    "ContentError",
    "ContentNotFoundError",
    "ContentPinnedError",
    "ContentStore",
    "ImportOptions",
    "InvalidCidError",
    "InvalidDagError",
    "InvalidKeyError",
    "KuboContentStore",
    "KuboError",
    "LocalContentStore",
    "PinningContentStore",
    "SealingError",
    "SealingKeyPair",
    "UnsealError",
    "UnsupportedHashError",
    "as_cid",
    "compute_cid",
    "decode_varint",
    "encode_varint",
    "generate_keypair",
    "iter_blocks",
    "iter_file_bytes",
    "key_from_hex",
    "key_to_hex",
    "public_key_from_private",
    "seal",
    "unseal",
]
