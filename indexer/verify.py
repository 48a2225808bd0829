"""Verification: re-derive the read model from the chain into a scratch SQLite database and diff row by row."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.deployment import Deployment
from sqlalchemy.engine import Engine

from .schema import DERIVED, checkpoint, events

COMPARED: dict[str, sa.Table] = {"events": events, **DERIVED}


def _cell(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every compared table's rows ordered by primary key, JSON cells canonicalised, engine-independent."""
    out = {}
    with engine.connect() as conn:
        for name, t in COMPARED.items():
            rows = conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
            out[name] = [tuple(_cell(v) for v in r) for r in rows]
    return out


@dataclass(frozen=True)
class Difference:
    table: str
    kind: str  # "unexpected" (in the index, not on chain) or "missing" (on chain, not in the index)
    row: tuple

    def __str__(self) -> str:
        return f"{self.table}: {self.kind} {self.row}"


def diff(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> list[Difference]:
    out: list[Difference] = []
    for name in COMPARED:
        a, e = set(actual.get(name, [])), set(expected.get(name, []))
        out += [Difference(name, "unexpected", r) for r in sorted(a - e, key=repr)]
        out += [Difference(name, "missing", r) for r in sorted(e - a, key=repr)]
    return out


def checkpoint_block(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(checkpoint.c.block_number)).scalar()


def verify(engine: Engine, rpc_url: str, deployment: Deployment, until: int | None = None) -> list[Difference]:
    """Differences between the index at `engine` and a fresh index of the chain up to its checkpoint."""
    from .sync import Indexer, IndexerConfig  # sync imports this module's siblings; keep the import local

    until = checkpoint_block(engine) if until is None else until
    actual = snapshot(engine)
    with tempfile.TemporaryDirectory(prefix="fabrica-verify-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'oracle.db'}"
        with Indexer(url, rpc_url, deployment, IndexerConfig(confirmations=0)) as oracle:
            if until is not None:
                oracle.sync(until=until)
            expected = snapshot(oracle.engine)
            oracle.engine.dispose()
    return diff(actual, expected)
