"""`python -m fabrica.miners.solvers.warmup`: compile the tabu search's kernels into the shared cache.

`make install` runs it, so that the first `fabrica miner solve` or `fabrica miner serve` after installing loads
compiled kernels (about a second) instead of compiling them (tens of seconds on a small machine). Prints one line;
exits 1 when the kernels fail to compile or nothing could be cached.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .jit_cache import configure_cache


def main() -> int:
    """Compile or load the kernels, report what happened and where the cache is; the exit status."""
    folder = configure_cache()
    t0 = time.perf_counter()
    try:
        from . import jobshop_tabu

        done = jobshop_tabu.warm_up()
    except Exception as exc:  # noqa: BLE001 - one line at the edge, whatever numba raised
        print(f"error: the tabu search kernels failed to compile: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - t0
    cache = Path(done.cache_path) if done.cache_path else folder
    if cache is None or not any(cache.glob("jobshop_kernels.*.nbi")):
        print(f"error: the tabu search kernels compiled but were not cached (cache folder {cache}); set "
              "NUMBA_CACHE_DIR to a writable folder, or every new miner process compiles them again",
              file=sys.stderr)
        return 1
    how = f"compiled {done.compiled} into" if done.compiled else f"loaded {done.loaded} from"
    print(f"tabu search kernels ready in {elapsed:.1f} s ({how} the cache {cache})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
