"""Node telemetry: signed ingestion and reads (being built)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["telemetry"])
