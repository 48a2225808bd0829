"""What every subnet task schema shares: the frozen wire base model and parsing with field-naming errors."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from fabrica.protocol.errors import FabricaValueError

M = TypeVar("M", bound=BaseModel)


class WireModel(BaseModel):
    """Base of every task and answer on the wire: immutable, and unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def format_validation_error(what: str, exc: ValidationError) -> str:
    """One line naming each offending field, e.g. `invalid schedule task: jobs[0].operations: …`."""
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors:
        # A tuple whose items failed also reports "too short after validation": noise next to the real cause.
        if err["type"] == "too_short" and any(
            len(o["loc"]) > len(err["loc"]) and o["loc"][: len(err["loc"])] == err["loc"] for o in errors
        ):
            continue
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}" if loc else msg)
    return f"invalid {what}: " + "; ".join(lines)


def parse_wire(
    model: type[M], what: str, data: str | bytes | Mapping[str, Any], error: type[FabricaValueError]
) -> M:
    """Validate `data` (JSON text or a mapping) as `model`; schema errors raise `error` naming the fields."""
    try:
        if isinstance(data, str | bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(what, exc)) from None
