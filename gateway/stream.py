"""The WebSocket stream `/v1/stream` (being built: see Hub)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter()


class Hub:
    """Per-worker fan-out of index notifications and telemetry to WebSocket clients."""

    def __init__(self, gw: Any) -> None:
        self.gw = gw

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def publish_telemetry(self, node_id: int, message: dict[str, Any]) -> None:
        return None
