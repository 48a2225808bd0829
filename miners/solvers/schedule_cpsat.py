"""A CP-SAT solver for the subnet's schedule task: flexible job shop with machine availability windows.

Model: every operation gets one optional interval per *option*, an option being an eligible machine together
with (on a machine with availability windows) one window long enough for the operation there; exactly one
option is chosen. An option inside window `[ws, we)` has its start domain `[ws, we - duration]`, so the chosen
interval lies entirely inside that window: the availability constraint is exact, with no gap-blocking needed.
Operations of a job follow each other; the intervals on one machine do not overlap; the makespan (the latest
end) is minimised.

The validator's greedy baseline is always a valid schedule, so its makespan bounds the horizon
(`makespan <= baseline`) and it (or a caller's feasible hint, when better) is the warm start and the fallback:
`solve_schedule` always returns an answer that passes `check_schedule`.

Classic job shops (one machine per operation, no availability windows) use a hybrid by default: a short CP-SAT
run (it proves small instances optimal and gives a bound and a start), then the numba tabu search of
`jobshop_tabu` (N5 + N7 moves, back-jumping to elite solutions) on `workers` threads for the rest of the
budget, started from the CP-SAT solution. CP-SAT hands over only once the tabu kernels are compiled (loaded from
numba's cache in about a second; `make install` fills the cache), so a cold cache costs no budget: CP-SAT keeps it.
`method="cpsat"` forces plain CP-SAT.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from ortools.sat.python import cp_model

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.schedule import ScheduleAnswer, ScheduledOperation, ScheduleTask
from fabrica.protocol.tasks.schedule_rules import (
    GreedyInfeasibleError,
    greedy_schedule,
    check_schedule,
    makespan_lower_bound,
)

MAX_TIME_LIMIT_S = 3600.0
"""Upper bound accepted for `time_limit_s` (the longest task deadline is one hour)."""

CPSAT_SHARE = 0.1
"""Share of the budget the hybrid gives CP-SAT first on a classic job shop (at least `CPSAT_MIN_S`)."""
CPSAT_MIN_S = 0.2
MIN_TABU_S = 0.05
"""The hybrid skips the tabu phase when less than this is left after CP-SAT."""
YIELD_POLL_S = 0.005
"""How often the hybrid checks whether CP-SAT may hand over to the tabu search."""

Method = Literal["auto", "cpsat", "hybrid"]

_warm_lock = threading.Lock()
_warm_done = threading.Event()
_warm_ok = False
_warm_thread: threading.Thread | None = None


def _warm_up_work() -> None:
    global _warm_ok
    try:
        from fabrica.miners.solvers import jobshop_tabu

        jobshop_tabu.warm_up()
        _warm_ok = True
    finally:
        _warm_done.set()


def _start_warm_up() -> None:
    """Import numba and compile (or load from its cache) the tabu kernels in a background thread, once."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            _warm_thread = threading.Thread(target=_warm_up_work, name="jobshop-tabu-warm-up", daemon=True)
            _warm_thread.start()


def warm_up(timeout_s: float | None = None) -> bool:
    """Get the tabu search ready (numba import + JIT compile / cache load, seconds) before a timed solve.

    `solve_schedule` does this itself in the background while CP-SAT runs; a benchmark calls it first so
    that no budget goes to compilation. Returns whether the tabu search is usable.
    """
    _start_warm_up()
    _warm_done.wait(timeout_s)
    return _warm_ok


@dataclass(frozen=True)
class SolveResult:
    """What `solve_schedule` found: a feasible answer, whether its makespan is proven optimal, and the bound."""

    answer: ScheduleAnswer
    status: Literal["optimal", "feasible"]
    makespan: int
    bound: int
    """A proven lower bound on the optimal makespan (equals `makespan` when status is "optimal")."""
    wall_s: float
    phases: tuple[tuple[str, float], ...] = ()
    """Seconds spent per solver, in order: ("cpsat", s) and, when the hybrid ran it, ("tabu", s)."""


@dataclass(frozen=True)
class _Option:
    machine: int
    duration: int
    start_min: int
    start_max: int
    presence: cp_model.IntVar
    start: cp_model.IntVar
    window: tuple[int, int] | None


def _check_args(time_limit_s: float, workers: int, seed: int) -> None:
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, int | float):
        raise FabricaValueError(f"time limit must be a number of seconds, got {time_limit_s!r}")
    if not math.isfinite(time_limit_s) or not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise FabricaValueError(
            f"time limit must be > 0 and <= {MAX_TIME_LIMIT_S:g} seconds, got {time_limit_s!r}"
        )
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise FabricaValueError(f"workers must be an integer from 1 to 256, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise FabricaValueError(f"seed must be an integer from 0 to 2**31 - 1, got {seed!r}")


def _trivial_horizon(task: ScheduleTask) -> int:
    """An upper bound on the makespan of some feasible schedule, used only when the baseline fails.

    Heuristic (not a proof): all operations run one after another at their longest duration, after the last
    window opens.
    """
    last_window = max(
        (w[-1][1] for m in range(task.num_machines) if (w := task.windows(m))), default=0
    )
    work = sum(max(alt.duration for alt in op.alternatives) for job in task.jobs for op in job.operations)
    return last_window + work


def _feasible(task: ScheduleTask, answer: ScheduleAnswer | None) -> bool:
    return answer is not None and check_schedule(task, answer).feasible


def solve_schedule(
    task: ScheduleTask,
    time_limit_s: float,
    *,
    workers: int = 2,
    seed: int = 0,
    hint: ScheduleAnswer | None = None,
    method: Method = "auto",
) -> SolveResult:
    """Minimise the makespan of `task` within `time_limit_s` seconds (wall clock, model building included).

    `method="auto"` picks the hybrid (CP-SAT, then tabu search) for a classic job shop with at least two
    operations and plain CP-SAT otherwise; "cpsat" and "hybrid" force one (the hybrid falls back to CP-SAT on
    a non-classic task). `workers` sets CP-SAT's parallel workers and the tabu threads; `seed` the random
    seeds (CP-SAT runs are reproducible with one worker; timed tabu runs are not exactly). `hint` is an
    optional warm start; when it is feasible and beats the baseline it also bounds the search and serves as
    the fallback. Returns the best answer found (never worse than the baseline / feasible hint); raises
    `FabricaValueError` for bad arguments, and when neither the baseline nor CP-SAT finds any schedule.
    """
    _check_args(time_limit_s, workers, seed)
    if method not in ("auto", "cpsat", "hybrid"):
        raise FabricaValueError(f"method must be 'auto', 'cpsat' or 'hybrid', got {method!r}")
    if method != "cpsat" and task.is_classic and task.num_operations >= 2:
        return _solve_hybrid(task, time_limit_s, workers=workers, seed=seed, hint=hint)
    result = _solve_cpsat(task, time_limit_s, workers=workers, seed=seed, hint=hint)
    return replace(result, phases=(("cpsat", round(result.wall_s, 3)),))


def _tabu_ready() -> bool:
    """Whether the tabu kernels are compiled and loaded in this process."""
    return _warm_done.is_set() and _warm_ok


def _solve_hybrid(
    task: ScheduleTask, time_limit_s: float, *, workers: int, seed: int, hint: ScheduleAnswer | None
) -> SolveResult:
    """CP-SAT for a slice of the budget, then tabu search from its answer on `workers` threads.

    CP-SAT is given the whole budget and stopped once its slice is over *and* the tabu kernels are ready: on a
    cold numba cache (compiling takes tens of seconds) CP-SAT simply keeps the budget while the kernels compile
    in the background, so no solve ever spends its time waiting for the compiler."""
    t0 = time.perf_counter()
    _start_warm_up()
    cp_share = min(time_limit_s, max(CPSAT_MIN_S, CPSAT_SHARE * time_limit_s))
    first = _solve_cpsat(task, time_limit_s, workers=workers, seed=seed, hint=hint,
                         yield_after=t0 + cp_share, yield_when=_tabu_ready)
    cpsat_s = time.perf_counter() - t0
    remaining = time_limit_s - cpsat_s
    if first.status == "optimal" or remaining < MIN_TABU_S or not _tabu_ready():
        return replace(first, wall_s=time.perf_counter() - t0, phases=(("cpsat", round(cpsat_s, 3)),))
    from fabrica.miners.solvers import jobshop_tabu

    best = first.answer
    t1 = time.perf_counter()
    try:
        shop = jobshop_tabu.jobshop_arrays(task)
        found = jobshop_tabu.tabu_search(shop, time_limit_s - (t1 - t0), threads=workers, seed=seed,
                                         start=first.answer)
    except Exception:  # noqa: BLE001 - the CP-SAT answer stands; a miner must always answer
        found = None
    if found is not None and found.makespan < best.makespan and _feasible(task, found.answer):
        best = found.answer
    tabu_s = time.perf_counter() - t1
    bound = min(max(first.bound, makespan_lower_bound(task)), best.makespan)
    status: Literal["optimal", "feasible"] = "optimal" if bound >= best.makespan else "feasible"
    return SolveResult(best, status, best.makespan, bound, time.perf_counter() - t0,
                       (("cpsat", round(cpsat_s, 3)), ("tabu", round(tabu_s, 3))))


def _solve_cpsat(
    task: ScheduleTask, time_limit_s: float, *, workers: int, seed: int, hint: ScheduleAnswer | None,
    yield_after: float | None = None, yield_when: Callable[[], bool] | None = None,
) -> SolveResult:
    """Plain CP-SAT (the original miner): see `solve_schedule`.

    With `yield_when`, the search stops early once `time.perf_counter()` has passed `yield_after` and
    `yield_when()` is true (checked every few milliseconds by a watcher thread)."""
    t0 = time.perf_counter()

    try:
        incumbent: ScheduleAnswer | None = greedy_schedule(task)
    except GreedyInfeasibleError:
        incumbent = None
    if _feasible(task, hint) and (incumbent is None or hint.makespan < incumbent.makespan):  # type: ignore[union-attr]
        incumbent = hint
    horizon = incumbent.makespan if incumbent is not None else _trivial_horizon(task)
    lower = min(makespan_lower_bound(task), horizon)

    model = cp_model.CpModel()
    options: list[list[list[_Option]]] = []
    by_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(task.num_machines)]
    op_start: list[list[cp_model.IntVar]] = []
    op_end: list[list[cp_model.IntVar]] = []
    for j, job in enumerate(task.jobs):
        job_opts, job_starts, job_ends = [], [], []
        for k, op in enumerate(job.operations):
            opts: list[_Option] = []
            for alt in op.alternatives:
                windows = task.windows(alt.machine)
                spans = [(0, horizon, None)] if windows is None else [(ws, we, (ws, we)) for ws, we in windows]
                for ws, we, window in spans:
                    lo, hi = ws, min(we, horizon) - alt.duration
                    if lo > hi:
                        continue  # the operation does not fit this window (or not before the horizon)
                    name = f"j{j}o{k}m{alt.machine}" + ("" if window is None else f"w{ws}")
                    presence = model.NewBoolVar(f"p_{name}")
                    start = model.NewIntVar(lo, hi, f"s_{name}")
                    interval = model.NewOptionalFixedSizeIntervalVar(start, alt.duration, presence, f"i_{name}")
                    by_machine[alt.machine].append(interval)
                    opts.append(_Option(alt.machine, alt.duration, lo, hi, presence, start, window))
            if not opts:
                raise FabricaValueError(
                    f"task {task.task_id}: job {j} op {k} fits no availability window before time {horizon}"
                )
            s = model.NewIntVar(0, horizon, f"start_j{j}o{k}")
            e = model.NewIntVar(0, horizon, f"end_j{j}o{k}")
            model.AddExactlyOne(o.presence for o in opts)
            for o in opts:
                model.Add(s == o.start).OnlyEnforceIf(o.presence)
                model.Add(e == o.start + o.duration).OnlyEnforceIf(o.presence)
            if len(opts) == 1:
                model.Add(opts[0].presence == 1)
            model.Add(e >= s + min(o.duration for o in opts))
            model.Add(e <= s + max(o.duration for o in opts))
            if k > 0:
                model.Add(s >= job_ends[-1])
            job_opts.append(opts)
            job_starts.append(s)
            job_ends.append(e)
        options.append(job_opts)
        op_start.append(job_starts)
        op_end.append(job_ends)
    for intervals in by_machine:
        if len(intervals) > 1:
            model.AddNoOverlap(intervals)
    makespan = model.NewIntVar(lower, horizon, "makespan")
    model.AddMaxEquality(makespan, [ends[-1] for ends in op_end])
    model.Minimize(makespan)

    warm = hint if hint is not None and len(hint.operations) == task.num_operations else incumbent
    if warm is not None:
        _add_hint(model, options, op_start, op_end, warm)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = workers
    params.random_seed = seed
    params.max_time_in_seconds = max(0.0, time_limit_s - (time.perf_counter() - t0))
    params.log_search_progress = False
    if yield_when is not None:
        code = _solve_yielding(solver, model, yield_after or t0, yield_when)
    else:
        code = solver.Solve(model)

    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        answer = _extract(solver, options)
        bound = max(int(math.ceil(solver.BestObjectiveBound() - 1e-9)), lower)
        if _feasible(task, answer) and (incumbent is None or answer.makespan <= incumbent.makespan):
            optimal = code == cp_model.OPTIMAL
            return SolveResult(answer, "optimal" if optimal else "feasible", answer.makespan,
                               answer.makespan if optimal else min(bound, answer.makespan),
                               time.perf_counter() - t0)
    if incumbent is None:
        raise FabricaValueError(
            f"task {task.task_id}: no feasible schedule found in {time_limit_s:g} s "
            "(the baseline fails on its availability windows)"
        )
    bound = lower
    if code == cp_model.INFEASIBLE:  # nothing strictly inside the model: the incumbent is optimal
        bound = incumbent.makespan
    elif code in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
        bound = max(lower, min(incumbent.makespan, int(math.ceil(solver.BestObjectiveBound() - 1e-9))))
    status: Literal["optimal", "feasible"] = "optimal" if bound >= incumbent.makespan else "feasible"
    return SolveResult(incumbent, status, incumbent.makespan, min(bound, incumbent.makespan),
                       time.perf_counter() - t0)


def _solve_yielding(
    solver: cp_model.CpSolver, model: cp_model.CpModel, after: float, when: Callable[[], bool]
) -> int:
    """`solver.Solve(model)`, stopped by a watcher thread once past `after` with `when()` true."""
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(YIELD_POLL_S):
            if time.perf_counter() >= after and when():
                solver.stop_search()  # repeated until Solve returns: a call before the search starts is a no-op

    watcher = threading.Thread(target=watch, name="cpsat-yield", daemon=True)
    watcher.start()
    try:
        return solver.Solve(model)
    finally:
        finished.set()
        watcher.join()


def _add_hint(
    model: cp_model.CpModel,
    options: list[list[list[_Option]]],
    op_start: list[list[cp_model.IntVar]],
    op_end: list[list[cp_model.IntVar]],
    warm: ScheduleAnswer,
) -> None:
    """Hint every variable from `warm` (entries out of range or on no option are skipped)."""
    placed: dict[tuple[int, int], ScheduledOperation] = {}
    for entry in warm.operations:
        placed.setdefault((entry.job, entry.op), entry)
    for j, job_opts in enumerate(options):
        for k, opts in enumerate(job_opts):
            entry = placed.get((j, k))
            chosen = None
            if entry is not None:
                for o in opts:
                    if o.machine == entry.machine and o.start_min <= entry.start <= o.start_max:
                        chosen = o
                        break
            if chosen is None:
                continue
            for o in opts:
                model.AddHint(o.presence, o is chosen)
            model.AddHint(chosen.start, entry.start)  # type: ignore[union-attr]
            model.AddHint(op_start[j][k], entry.start)  # type: ignore[union-attr]
            model.AddHint(op_end[j][k], entry.start + chosen.duration)  # type: ignore[union-attr]


def _extract(solver: cp_model.CpSolver, options: list[list[list[_Option]]]) -> ScheduleAnswer:
    result = []
    end = 0
    for j, job_opts in enumerate(options):
        for k, opts in enumerate(job_opts):
            chosen = next(o for o in opts if solver.BooleanValue(o.presence))
            start = solver.Value(chosen.start)
            result.append(ScheduledOperation(job=j, op=k, machine=chosen.machine, start=start))
            end = max(end, start + chosen.duration)
    return ScheduleAnswer(operations=tuple(result), makespan=end)


__all__ = ["MAX_TIME_LIMIT_S", "Method", "SolveResult", "solve_schedule", "warm_up"]
