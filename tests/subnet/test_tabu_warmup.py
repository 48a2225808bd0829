"""The tabu kernels' numba cache: `make install`'s warm-up fills it and a new process loads it without compiling, a
damaged or foreign cache is replaced, a miner's start-up waits for the kernels, and a cold cache never costs a
solve its budget (CP-SAT keeps the budget while the kernels compile in the background).

Every check runs in a subprocess with its own `NUMBA_CACHE_DIR`, so the compiler really runs (or really does not).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KERNELS = ("_tabu_chunk", "_relink", "_distance", "_positions", "_giffler_thompson", "_schedule_heads")
"""The kernels the search calls from Python (`jobshop_tabu.ENTRY_KERNELS`)."""


def _python(args: list[str], cache: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


def _warm_up(cache: Path) -> subprocess.CompletedProcess[str]:
    return _python(["-m", "fabrica.miners.solvers.warmup"], cache, 900)


def _index(cache: Path, kernel: str) -> Path:
    (found,) = cache.rglob(f"jobshop_kernels.{kernel}-*.nbi")
    return found


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache filled by the warm-up that `make install` runs, starting from an empty folder."""
    cache = tmp_path_factory.mktemp("numba-cache")
    proc = _warm_up(cache)
    assert proc.returncode == 0, proc.stderr
    assert f"compiled {len(KERNELS)} into the cache {cache}" in proc.stdout
    return cache


def test_make_install_runs_the_warm_up() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ninstall:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/python -m fabrica.miners.solvers.warmup" in recipe


def test_the_warm_up_leaves_a_cache_a_new_process_loads_without_compiling(warm_cache: Path) -> None:
    for kernel in KERNELS:
        assert _index(warm_cache, kernel).stat().st_size > 0
    proc = _warm_up(warm_cache)
    assert proc.returncode == 0, proc.stderr
    assert f"loaded {len(KERNELS)} from the cache" in proc.stdout


def test_a_damaged_or_foreign_cache_is_compiled_over(warm_cache: Path, tmp_path: Path) -> None:
    cache = shutil.copytree(warm_cache, tmp_path / "cache")
    _index(cache, "_schedule_heads").write_bytes(b"\x80\x04\x95 truncated by a full disk")
    foreign = _index(cache, "_giffler_thompson")
    with foreign.open("rb") as f:
        pickle.load(f)  # numba's version header
        rest = f.read()
    foreign.write_bytes(pickle.dumps("0.50.0") + rest)  # as another numba version wrote it
    proc = _warm_up(cache)
    assert proc.returncode == 0, proc.stderr
    assert "compiled 2 into" in proc.stdout  # _tabu_chunk still came from the cache
    again = _warm_up(cache)
    assert f"loaded {len(KERNELS)} from" in again.stdout, again.stdout + again.stderr


SERVER_START = textwrap.dedent("""
    import asyncio, json, sys
    from bittensor_core import Keypair
    from fabrica.miners import server
    from fabrica.miners.nonces import SqliteNonceStore
    from fabrica.miners.solvers import schedule_cpsat
    from fabrica.protocol.subnet.port import SubnetMetagraph

    class Chain:  # a fixed, empty metagraph: enough for start-up
        hotkey = Keypair.create_from_uri("//Bob").ss58_address
        async def metagraph(self, netuid):
            return SubnetMetagraph(netuid=netuid, block=1, tempo=360, neurons=())
        async def close(self):
            pass

    server.TABU_WARM_UP_WAIT_S = 600.0  # a loaded test machine must not turn a slow load into a skipped wait
    app = server.create_app(server.MinerConfig(netuid=7, strategy="cpsat"), Chain(),
                            nonce_store=SqliteNonceStore(sys.argv[1]))

    async def main():
        before = schedule_cpsat._tabu_ready()
        async with app.router.lifespan_context(app):
            print(json.dumps({"before": before, "serving": schedule_cpsat._tabu_ready()}))

    asyncio.run(main())
""")


def test_miner_start_up_has_the_kernels_ready_before_it_serves(warm_cache: Path, tmp_path: Path) -> None:
    proc = _python(["-c", SERVER_START, str(tmp_path / "nonces.db")], warm_cache, 300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"before": False, "serving": True}


COLD_SOLVE = textwrap.dedent("""
    import json, sys, time
    from fabrica.miners.solvers.schedule_cpsat import solve_schedule
    from fabrica.protocol.tasks.taillard import taillard_task
    from fabrica.validators.scoring.schedule import baseline_schedule, check_schedule

    task, limit = taillard_task("ta01"), float(sys.argv[1])
    t0 = time.perf_counter()
    cold = solve_schedule(task, limit, workers=2, seed=0)  # the kernels start compiling now
    wall = time.perf_counter() - t0
    anchor = solve_schedule(task, limit, workers=2, seed=0, method="cpsat")  # same process, compiler still busy
    print(json.dumps({"wall": wall, "phases": cold.phases, "makespan": cold.makespan,
                      "feasible": check_schedule(task, cold.answer).feasible,
                      "baseline": baseline_schedule(task).makespan, "anchor": anchor.makespan}))
""")


def test_a_cold_cache_does_not_cost_a_solve_its_budget(tmp_path: Path) -> None:
    limit = 4.0
    proc = _python(["-c", COLD_SOLVE, str(limit)], tmp_path / "empty-cache", 300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wall"] <= limit + 1.0
    # compiling takes far longer than the budget: CP-SAT searched for all of it, nothing was spent waiting
    ((solver, seconds),) = out["phases"]
    assert solver == "cpsat" and seconds >= limit - 0.5
    assert out["feasible"]
    assert out["makespan"] <= out["baseline"]
    # Plain CP-SAT with the same budget, for scale: two workers on a loaded 2-core machine are not deterministic
    # (CI saw 1338 against 1310, 2.1 %; a run beside a forge build 1439 against 1369, 5.1 %), so allow 10 %: it
    # still catches a solve that lost its budget (which ends near the greedy baseline, 1589 on ta01, ~18 % worse); the
    # phases above are what prove no budget was lost.
    assert out["makespan"] <= out["anchor"] * 1.10
