"""The miner HTTP API shared by miners (server) and validators (client): paths, headers and capabilities.

Every request carries bittensor's btauth/1 headers (``bittensor.http_auth``)
signed by the validator's hotkey over the exact body bytes; the body of a task
request is the task itself (``ScheduleTask`` / ``DesignTask`` JSON), its answer
the matching answer model.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from fabrica.protocol.tasks.wire import WireModel

API_VERSION = 1
SCHEDULE_PATH = "/v1/tasks/schedule"
DESIGN_PATH = "/v1/tasks/design"
CAPABILITIES_PATH = "/v1/capabilities"
TASK_PATHS: dict[str, str] = {"schedule": SCHEDULE_PATH, "design": DESIGN_PATH}

TaskKind = Literal["schedule", "design"]


class Capabilities(WireModel):
    """What a miner answers: task kinds, size limits and its solver's name (also published as its commitment)."""

    api_version: Literal[1] = API_VERSION
    kinds: tuple[TaskKind, ...] = Field(min_length=1)
    max_operations: int = Field(ge=0, default=0)
    max_elements: int = Field(ge=0, default=0)
    solver: str = Field(max_length=128, default="")
