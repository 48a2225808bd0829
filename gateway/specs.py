"""Each job's spec, read from content storage by the CID the chain holds, kept in `gw_job_specs` so jobs can be
filtered by process and material and matched against nodes' capabilities and build volumes."""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fabrica.indexer import schema as ix

from . import schema as gws

log = logging.getLogger("fabrica.gateway.specs")


def read_spec(store: Any, cid: str) -> dict[str, Any]:
    """The spec's filterable fields, or {"error": why} when the content is missing or is not a JobSpec."""
    from fabrica.protocol.types import JobSpec

    try:
        spec = JobSpec.model_validate_json(store.get(cid))
    except LookupError:
        return {"error": "content not in this gateway's store"}
    except Exception as exc:  # not JSON, not a spec, sealed: recorded, never retried in a loop
        return {"error": f"not a job spec ({exc.__class__.__name__})"}
    box = spec.bounding_box_mm or (None, None, None)
    return {"title": spec.title, "process": spec.process.name, "material": spec.material.name,
            "process_bits": int(spec.process), "material_bits": int(spec.material),
            "size_x": box[0], "size_y": box[1], "size_z": box[2]}


def resolve_pending(engine: Any, store: Any, limit: int = 500) -> int:
    """Read the specs of jobs that have none recorded yet (or whose content was missing); returns how many."""
    j, s = ix.jobs, gws.job_specs
    q = (sa.select(j.c.job_id, j.c.spec_cid).select_from(j.outerjoin(s, s.c.job_id == j.c.job_id))
         .where(sa.or_(s.c.job_id.is_(None), s.c.spec_cid != j.c.spec_cid,
                       s.c.error == "content not in this gateway's store"))
         .order_by(j.c.job_id.desc()).limit(limit))
    with engine.connect() as conn:
        todo = conn.execute(q).all()
    done = 0
    for job_id, cid in todo:
        fields = read_spec(store, cid)
        row = {"job_id": job_id, "spec_cid": cid, "title": None, "process": None, "material": None,
               "process_bits": None, "material_bits": None, "size_x": None, "size_y": None, "size_z": None,
               "error": None, **fields}
        with engine.begin() as conn:
            conn.execute(s.delete().where(s.c.job_id == job_id))
            conn.execute(s.insert().values(**row))
        done += 1
    return done
