"""The audit log: one row per security-relevant event (sign-in, failed sign-in, role denied, admin action…)."""
from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import schema

log = logging.getLogger("fabrica.gateway.audit")


class Audit:
    """Writes audit rows; a failed write is logged, never allowed to turn a refusal into an acceptance."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, event: str, *, address: str | None = None, ip: str | None = None,
               request_id: str | None = None, **detail: Any) -> None:
        """Append one event to the audit log (and the structured log)."""
        log.info("audit %s", event, extra={"audit": event, "address": address, "ip": ip, "request_id": request_id,
                                           "detail": detail})
        try:
            with self.engine.begin() as conn:
                conn.execute(schema.audit_log.insert().values(at=time.time(), event=event, address=address, ip=ip,
                                                              request_id=request_id, detail=detail))
        except sa.exc.SQLAlchemyError:
            log.exception("audit write failed for %s", event)

    def recent(self, *, event: str | None = None, address: str | None = None, limit: int = 100,
               before: int | None = None) -> list[dict[str, Any]]:
        """The newest audit rows, optionally by event or address, paged by id."""
        q = sa.select(schema.audit_log).order_by(schema.audit_log.c.id.desc()).limit(limit)
        if event:
            q = q.where(schema.audit_log.c.event == event)
        if address:
            q = q.where(sa.func.lower(schema.audit_log.c.address) == address.lower())
        if before is not None:
            q = q.where(schema.audit_log.c.id < before)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]
