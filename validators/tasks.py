"""Private, per-round task generation: synthetic schedule and design instances of realistic sizes.

Every task of a round is derived from the validator's secret seed and the round number alone:
`HMAC-SHA256(secret, "fabrica/round/<round>/<kind>")` seeds a numpy `Generator`, so the same (secret, round)
always gives the same task (the validator can re-derive and audit a past round), different rounds give unrelated
tasks, and without the secret nobody can compute a round's task before it is sent, so answers cannot be
precomputed or looked up. The task id carries the round and a separate HMAC tag, never the seed.

Schedule tasks (`kind = "schedule"`): half classic job shops in the Taillard style (every job visits every machine
once in a random order, durations uniform in 1..99; sizes 10x5 to 20x15), half flexible job shops in the
Brandimarte style (10 to 20 jobs, 5 to 10 machines, 2 to 4 eligible machines per operation with durations that
vary by machine, and maintenance downtimes on some machines, expressed as availability windows whose last one
never closes, so a feasible schedule always exists).

Design tasks (`kind = "design"`): minimum-compliance load cases on 30x10 to 90x30 grids, volume fraction 0.3 to
0.6: cantilevers (clamped left edge, tip load of varied height and angle), half MBB beams (symmetry edge, roller,
load near the symmetry line), simply supported beams (a point load anywhere on the top edge) and bridges (both
bottom corners pinned, a distributed deck load on the top edge).
"""
from __future__ import annotations

import hashlib
import hmac
import math
from typing import Literal

import numpy as np

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.design import DesignTask, PointLoad, Support
from fabrica.protocol.tasks.schedule import MAX_TIME, ScheduleTask

TaskKind = Literal["schedule", "design"]
KINDS: tuple[TaskKind, ...] = ("schedule", "design")

SCHEDULE_DEADLINE_MS = 10_000
DESIGN_DEADLINE_MS = 20_000

JSSP_SIZES: tuple[tuple[int, int], ...] = (
    (10, 5), (15, 5), (20, 5), (10, 10), (15, 10), (20, 10), (15, 15), (20, 15),
)
"""(jobs, machines) of the classic instances, the sizes of the Lawrence and Taillard sets."""

DESIGN_CASES = ("cantilever", "mbb", "beam", "bridge")


def _digest(secret: bytes, round_number: int, label: str) -> bytes:
    if not secret:
        raise FabricaValueError("secret: the task seed must not be empty")
    if round_number < 0:
        raise FabricaValueError(f"round: must be >= 0, got {round_number}")
    return hmac.new(secret, f"fabrica/round/{round_number}/{label}".encode(), hashlib.sha256).digest()


def round_rng(secret: bytes, round_number: int, label: str) -> np.random.Generator:
    """The random generator of one round's `label` (a task kind), seeded by HMAC-SHA256 of the secret."""
    return np.random.default_rng(int.from_bytes(_digest(secret, round_number, label), "big"))


def task_id(secret: bytes, round_number: int, kind: TaskKind) -> str:
    """`r<round>-<kind>-<tag>`: the tag is a separate HMAC, so the id reveals nothing about the task's seed."""
    tag = _digest(secret, round_number, f"{kind}/id")[:6].hex()
    return f"r{round_number}-{kind}-{tag}"


def secret_from_seed(seed: str | int) -> bytes:
    """The secret bytes of a seed given on the command line (public seeds are for testing and miners)."""
    text = str(seed)
    if not text:
        raise FabricaValueError("--seed: must not be empty")
    return text.encode()


def generate_schedule_task(
    secret: bytes, round_number: int, deadline_ms: int = SCHEDULE_DEADLINE_MS, *, flexible: bool | None = None
) -> ScheduleTask:
    """The round's schedule task (classic or flexible job shop; `flexible` forces the variant)."""
    rng = round_rng(secret, round_number, "schedule")
    is_flexible = bool(rng.random() < 0.5) if flexible is None else flexible
    tid = task_id(secret, round_number, "schedule")
    if not is_flexible:
        n, m = JSSP_SIZES[int(rng.integers(len(JSSP_SIZES)))]
        jobs = []
        for _ in range(n):
            order = rng.permutation(m)
            durations = rng.integers(1, 100, size=m)
            jobs.append({"operations": [
                {"alternatives": [{"machine": int(mi), "duration": int(d)}]} for mi, d in zip(order, durations, strict=True)
            ]})
        return ScheduleTask.model_validate(
            {"task_id": tid, "num_machines": m, "jobs": jobs, "deadline_ms": deadline_ms}
        )

    n = int(rng.integers(10, 21))
    m = int(rng.integers(5, 11))
    jobs = []
    total = 0.0
    for _ in range(n):
        ops = []
        for _ in range(int(rng.integers(max(2, m // 2), m + 1))):
            k = int(rng.integers(2, min(4, m) + 1))
            machines = rng.choice(m, size=k, replace=False)
            base = int(rng.integers(1, 100))
            alts = []
            for mi in sorted(int(v) for v in machines):
                d = int(np.clip(round(base * rng.uniform(0.7, 1.3)), 1, 99))
                alts.append({"machine": mi, "duration": d})
            total += sum(a["duration"] for a in alts) / len(alts)
            ops.append({"alternatives": alts})
        jobs.append({"operations": ops})
    # Maintenance downtimes inside the expected horizon on some machines; the last window never closes.
    horizon = max(10, int(total / m))
    availability: list[list[tuple[int, int]] | None] = [None] * m
    for mi in rng.choice(m, size=int(rng.integers(1, max(2, m // 3) + 1)), replace=False):
        downs = sorted(
            (int(rng.integers(max(1, horizon // 10), max(2, horizon))), int(rng.integers(max(5, horizon // 20), max(6, horizon // 8))))
            for _ in range(int(rng.integers(1, 3)))
        )
        windows: list[tuple[int, int]] = []
        t = 0
        for start, length in downs:
            if start > t:
                windows.append((t, start))
            t = max(t, start + length)
        windows.append((t, MAX_TIME))
        availability[int(mi)] = windows
    return ScheduleTask.model_validate({
        "task_id": tid, "num_machines": m, "jobs": jobs, "availability": availability, "deadline_ms": deadline_ms,
    })


def generate_design_task(
    secret: bytes, round_number: int, deadline_ms: int = DESIGN_DEADLINE_MS, *, case: str | None = None,
    max_elements: int | None = None,
) -> DesignTask:
    """The round's design task: a load case (`case` forces one of DESIGN_CASES) on a 30x10 to 90x30 grid."""
    rng = round_rng(secret, round_number, "design")
    drawn = DESIGN_CASES[int(rng.integers(len(DESIGN_CASES)))]
    chosen = drawn if case is None else case
    if chosen not in DESIGN_CASES:
        raise FabricaValueError(f"case: {chosen!r} is not one of {', '.join(DESIGN_CASES)}")
    nely = int(rng.integers(10, 31))
    nelx = int(np.clip(round(nely * rng.uniform(2.0, 3.0)), 30, 90))
    if max_elements is not None and nelx * nely > max_elements:
        scale = math.sqrt(max_elements / (nelx * nely))
        nelx, nely = max(2, int(nelx * scale)), max(2, int(nely * scale))
    volfrac = round(float(rng.uniform(0.3, 0.6)), 2)
    rmin = round(float(rng.uniform(1.5, 3.0)), 2)
    filt = "sensitivity" if rng.random() < 0.5 else "density"
    loads: list[PointLoad] = []
    supports: list[Support] = []
    if chosen == "cantilever":
        supports = [Support(node=(0, j), direction=d) for j in range(nely + 1) for d in ("x", "y")]
        j = int(rng.integers(0, nely + 1))
        angle = math.radians(float(rng.uniform(-30.0, 30.0)))
        loads = [PointLoad(node=(nelx, j), direction="y", value=-round(math.cos(angle), 6))]
        if abs(angle) > math.radians(5):
            loads.append(PointLoad(node=(nelx, j), direction="x", value=round(math.sin(angle), 6)))
    elif chosen == "mbb":
        supports = [Support(node=(0, j), direction="x") for j in range(nely + 1)]
        supports.append(Support(node=(nelx, nely), direction="y"))
        loads = [PointLoad(node=(int(rng.integers(0, max(1, nelx // 6))), 0), direction="y", value=-1.0)]
    elif chosen == "beam":
        supports = [Support(node=(0, nely), direction="x"), Support(node=(0, nely), direction="y"),
                    Support(node=(nelx, nely), direction="y")]
        loads = [PointLoad(node=(int(rng.integers(nelx // 5, nelx - nelx // 5 + 1)), 0), direction="y", value=-1.0)]
    else:  # bridge: pinned bottom corners, deck load spread over the top edge
        supports = [Support(node=(i, nely), direction=d) for i in (0, nelx) for d in ("x", "y")]
        count = int(rng.integers(3, 8))
        nodes = sorted({int(round(v)) for v in np.linspace(0, nelx, count + 2)[1:-1]})
        loads = [PointLoad(node=(i, 0), direction="y", value=-round(1.0 / len(nodes), 6)) for i in nodes]
    return DesignTask(
        task_id=task_id(secret, round_number, "design"), nelx=nelx, nely=nely, volfrac=volfrac, rmin=rmin,
        filter=filt, loads=tuple(loads), supports=tuple(supports), deadline_ms=deadline_ms,
    )


def generate_task(secret: bytes, round_number: int, kind: TaskKind, deadline_ms: int | None = None) -> ScheduleTask | DesignTask:
    """The round's task of `kind` (with the kind's default deadline unless `deadline_ms` is given)."""
    if kind == "schedule":
        return generate_schedule_task(secret, round_number, deadline_ms or SCHEDULE_DEADLINE_MS)
    if kind == "design":
        return generate_design_task(secret, round_number, deadline_ms or DESIGN_DEADLINE_MS)
    raise FabricaValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")


__all__ = [
    "DESIGN_CASES",
    "DESIGN_DEADLINE_MS",
    "JSSP_SIZES",
    "KINDS",
    "SCHEDULE_DEADLINE_MS",
    "TaskKind",
    "generate_design_task",
    "generate_schedule_task",
    "generate_task",
    "round_rng",
    "secret_from_seed",
    "task_id",
]
