"""Taillard's job-shop benchmark instances, regenerated from their published seeds.

E. Taillard, "Benchmarks for basic scheduling problems", EJOR 64 (1993) 278-285: processing times are drawn
with `unif(time_seed, 1, 99)` job by job, operation by operation; each job's machine order starts as the
identity and, for every job and every position `i`, is swapped with position `unif(machine_seed, i, m - 1)`.
`unif` is Taillard's Lehmer generator (a = 16807, m = 2^31 - 1, Schrage's decomposition), as in the
OR-Library file `jobshop2.txt`.

The 15 x 15 (ta01-ta10) and 20 x 20 (ta21-ta30) sets are tabulated here; `generate_taillard` takes any seeds
and size.
"""
from __future__ import annotations

from dataclasses import dataclass

from fabrica.protocol.tasks.schedule import DEFAULT_DEADLINE_MS, ScheduleTask, parse_task

_M = 2147483647
_A = 16807
_B = 127773
_C = 2836


@dataclass(frozen=True)
class TaillardSpec:
    """One published instance: size, seeds and the best-known makespan (all ta01-ta10 are proven optima)."""

    name: str
    jobs: int
    machines: int
    time_seed: int
    machine_seed: int
    best_known: int


TAILLARD_15X15: dict[str, TaillardSpec] = {
    spec.name: spec
    for spec in (
        TaillardSpec("ta01", 15, 15, 840612802, 398197754, 1231),
        TaillardSpec("ta02", 15, 15, 1314640371, 386720536, 1244),
        TaillardSpec("ta03", 15, 15, 1227221349, 316176388, 1218),
        TaillardSpec("ta04", 15, 15, 342269428, 1806358582, 1175),
        TaillardSpec("ta05", 15, 15, 1603221416, 1501949241, 1224),
        TaillardSpec("ta06", 15, 15, 1357584978, 1734077082, 1238),
        TaillardSpec("ta07", 15, 15, 44531661, 1374316395, 1227),
        TaillardSpec("ta08", 15, 15, 302545136, 2092186050, 1217),
        TaillardSpec("ta09", 15, 15, 1153780144, 1393392374, 1274),
        TaillardSpec("ta10", 15, 15, 73896786, 1544979948, 1241),
    )
}
"""Seeds from Taillard (1993), Table 1; best-known (optimal) makespans from the literature."""

TAILLARD_20X20: dict[str, TaillardSpec] = {
    spec.name: spec
    for spec in (
        TaillardSpec("ta21", 20, 20, 1035939303, 773961798, 1642),
        TaillardSpec("ta22", 20, 20, 5997802, 1872541150, 1600),
        TaillardSpec("ta23", 20, 20, 1357503601, 722225039, 1557),
        TaillardSpec("ta24", 20, 20, 806159563, 1166962073, 1644),
        TaillardSpec("ta25", 20, 20, 1902815253, 1879990068, 1595),
        TaillardSpec("ta26", 20, 20, 1503184031, 1850351876, 1643),
        TaillardSpec("ta27", 20, 20, 1032645967, 99711329, 1680),
        TaillardSpec("ta28", 20, 20, 229894219, 1158117804, 1603),
        TaillardSpec("ta29", 20, 20, 823349822, 108033225, 1625),
        TaillardSpec("ta30", 20, 20, 1297900341, 489486403, 1584),
    )
}
"""Seeds from Taillard (1993), Table 1; best-known upper bounds from the literature (ta21, ta24 and ta28 are
proven optima; the others' lower bounds are below them, so a gap to these values can be slightly pessimistic)."""

TAILLARD: dict[str, TaillardSpec] = {**TAILLARD_15X15, **TAILLARD_20X20}
"""Every tabulated instance by name."""


class _Lehmer:
    """Taillard's `unif(seed, low, high)`: the seed advances in place, the draw is in [low, high]."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def unif(self, low: int, high: int) -> int:
        k = self.seed // _B
        self.seed = _A * (self.seed % _B) - k * _C
        if self.seed < 0:
            self.seed += _M
        return low + int((self.seed / _M) * (high - low + 1))


def taillard_matrices(jobs: int, machines: int, time_seed: int, machine_seed: int) -> tuple[list[list[int]], list[list[int]]]:
    """(durations, machine orders), both `jobs x machines`; machines 0-based (Taillard prints them 1-based)."""
    if jobs < 1 or machines < 1:
        raise ValueError(f"need jobs >= 1 and machines >= 1, got {jobs} x {machines}")
    times = _Lehmer(time_seed)
    durations = [[times.unif(1, 99) for _ in range(machines)] for _ in range(jobs)]
    order_rng = _Lehmer(machine_seed)
    orders = []
    for _ in range(jobs):
        order = list(range(machines))
        for i in range(machines):
            other = order_rng.unif(i, machines - 1)
            order[i], order[other] = order[other], order[i]
        orders.append(order)
    return durations, orders


def generate_taillard(
    jobs: int, machines: int, time_seed: int, machine_seed: int, *, task_id: str = "taillard",
    deadline_ms: int = DEFAULT_DEADLINE_MS,
) -> ScheduleTask:
    """A classic `ScheduleTask` for Taillard's generator with the given size and seeds."""
    durations, orders = taillard_matrices(jobs, machines, time_seed, machine_seed)
    return parse_task({
        "task_id": task_id,
        "num_machines": machines,
        "deadline_ms": deadline_ms,
        "jobs": [
            {"operations": [{"alternatives": [{"machine": mach, "duration": dur}]} for mach, dur in zip(order, times, strict=True)]}
            for order, times in zip(orders, durations, strict=True)
        ],
    })


def taillard_task(name: str, *, deadline_ms: int = DEFAULT_DEADLINE_MS) -> ScheduleTask:
    """The published instance `name` (e.g. "ta01")."""
    try:
        spec = TAILLARD[name]
    except KeyError:
        raise KeyError(f"unknown Taillard instance {name!r}; known: {', '.join(TAILLARD)}") from None
    return generate_taillard(spec.jobs, spec.machines, spec.time_seed, spec.machine_seed, task_id=name,
                             deadline_ms=deadline_ms)


__all__ = ["TAILLARD", "TAILLARD_15X15", "TAILLARD_20X20", "TaillardSpec", "generate_taillard", "taillard_matrices", "taillard_task"]
