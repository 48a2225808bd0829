"""The application's routes without starting it (for `fabrica gateway roles` and the README's table)."""
from __future__ import annotations

from typing import Any


def route_app() -> Any:
    """A FastAPI app with every router mounted and no state (its lifespan never runs)."""
    from fabrica.protocol.config import Settings

    from .app import create_app
    from .config import GatewayConfig

    return create_app(GatewayConfig(), Settings(), "sqlite:///:memory:")
