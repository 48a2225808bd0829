"""Content addressing exactly as IPFS Kubo computes it, content stores, and sealing.

* ``Cid`` and the multiformats pieces (varint, multihash, multibase) — ``cid``;
* the ``ipfs add`` importer (fixed-size chunker, balanced DAG, dag-pb/UnixFS, raw leaves)
  and a verifying DAG reader — ``unixfs``, ``dagpb``;
* the ``ContentStore`` port with a local on-disk adapter and a Kubo RPC adapter;
* sealing content to a node's X25519 public key — ``sealing``.
"""
from __future__ import annotations

import importlib
from typing import Any

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

# The Kubo adapter (httpx) and sealing (PyNaCl) load on first use: computing or checking a CID needs neither,
# and `fabrica content cid` should not wait for them.
_LAZY = {
    "DEFAULT_KUBO_API": "kubo", "KuboContentStore": "kubo",
    "SealingKeyPair": "sealing", "generate_keypair": "sealing", "key_from_hex": "sealing", "key_to_hex": "sealing",
    "public_key_from_private": "sealing", "seal": "sealing", "unseal": "sealing",
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name from its submodule on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
