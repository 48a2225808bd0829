"""In-process notifications: "new events" and "reorg to block N" (the gateway's WebSocket relays them).

Subscribers are plain callables, or an asyncio queue through `Notifier.queue()`. On PostgreSQL the indexer
also sends each notification with NOTIFY on channel `fabrica_indexer` inside the writing transaction, so
listeners in other processes hear of it exactly when the rows become visible.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)
PG_CHANNEL = "fabrica_indexer"


@dataclass(frozen=True)
class Notification:
    kind: Literal["events", "reorg"]
    block: int  # events: last block applied; reorg: the common ancestor the index rolled back to
    from_block: int | None = None
    count: int = 0
    depth: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Notifier:
    """Fan-out of notifications to callbacks and asyncio queues."""

    def __init__(self) -> None:
        self._subs: list[Callable[[Notification], None]] = []

    def subscribe(self, callback: Callable[[Notification], None]) -> Callable[[], None]:
        """Call `callback` for every notification; returns a function that unsubscribes."""
        self._subs.append(callback)
        return lambda: self._subs.remove(callback) if callback in self._subs else None

    def queue(self, loop: asyncio.AbstractEventLoop | None = None, maxsize: int = 0) -> asyncio.Queue[Notification]:
        """An asyncio queue fed with every notification (thread-safe: the indexer may run in a thread)."""
        loop = loop or asyncio.get_event_loop()
        q: asyncio.Queue[Notification] = asyncio.Queue(maxsize)
        self.subscribe(lambda n: loop.call_soon_threadsafe(q.put_nowait, n))
        return q

    def publish(self, note: Notification) -> None:
        for cb in list(self._subs):
            try:
                cb(note)
            except Exception:  # a broken subscriber must not stop indexing
                log.exception("indexer notification subscriber failed")
