"""Errors the indexer raises; all are FabricaError subclasses so the CLI reports them cleanly."""
from __future__ import annotations

from fabrica.protocol.errors import FabricaError


class IndexerError(FabricaError):
    """Root of the indexer's errors."""


class ReorgTooDeepError(IndexerError):
    """The chain forked below the unfinalized window the indexer keeps; it halts with data untouched."""

    def __init__(self, block_number: int, max_depth: int) -> None:
        super().__init__(
            f"chain reorganised deeper than the configured maximum of {max_depth} blocks "
            f"(no stored block at or above {block_number} matches the canonical chain); the index was left "
            "untouched. Investigate the node, then re-index with a larger --max-reorg-depth or from scratch."
        )
        self.block_number = block_number
        self.max_depth = max_depth


class WriterLockError(IndexerError):
    """Another indexer already writes this database."""


class ChainMismatchError(IndexerError):
    """The database indexes a different chain or deployment than the one connected."""


class DatabaseError(IndexerError):
    """The --db URL is malformed, names an unsupported backend, or the database cannot be opened."""
