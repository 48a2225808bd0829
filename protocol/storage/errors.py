"""Errors raised by the content store: bad CIDs, content that does not match its CID, missing blocks."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fabrica.protocol.errors import FabricaError, FabricaLookupError, FabricaValueError

if TYPE_CHECKING:
    from fabrica.protocol.storage.cid import Cid


class ContentError(FabricaError):
    """Root of the content-store errors."""


class InvalidCidError(FabricaValueError, ContentError):
    """A string or byte string is not a valid CID (names the part that is wrong)."""


class UnsupportedHashError(FabricaValueError, ContentError):
    """A multihash function this package cannot compute or verify."""


class CidMismatchError(ContentError, ValueError):
    """Bytes do not hash to the CID they were stored or served under."""

    def __init__(self, message: str, *, expected: Cid | None = None, actual: Cid | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class InvalidDagError(ContentError, ValueError):
    """A block verified against its CID but is not a well-formed UnixFS file DAG."""


class ContentNotFoundError(FabricaLookupError, ContentError):
    """The store holds no content (or is missing a block) for a CID."""

    def __init__(self, message: str, *, cid: Cid | None = None):
        super().__init__(message)
        self.cid = cid


class ContentPinnedError(ContentError):
    """Content cannot be removed while it is pinned."""


class KuboError(ContentError):
    """Kubo's RPC answered with an error."""


class SealingError(ContentError):
    """Sealing to, or unsealing with, a node's X25519 key failed."""


class InvalidKeyError(FabricaValueError, SealingError):
    """A sealing key is not 32 bytes (64 hex characters)."""


class UnsealError(SealingError, ValueError):
    """Sealed data could not be opened: wrong private key, or the data was modified."""
