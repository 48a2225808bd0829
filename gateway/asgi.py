"""The ASGI entry point uvicorn imports in each worker: the settings travel from `fabrica gateway serve` in
the environment variable FABRICA_GATEWAY_SERVE (JSON)."""
from __future__ import annotations

import json
import os
from typing import Any

ENV = "FABRICA_GATEWAY_SERVE"


def build() -> Any:
    """The application for this worker, from the settings `serve` exported."""
    from fabrica.protocol.config import Settings

    from . import logs
    from .app import create_app
    from .config import GatewayConfig

    spec = json.loads(os.environ[ENV])
    logs.configure(spec.get("log_level", "info"), spec.get("access_log", True))
    return create_app(GatewayConfig(**spec["config"]), Settings(**spec["settings"]), spec["db_url"])
