"""Where numba caches the solvers' compiled kernels: one folder for `make install`, the tests, the CLI and the server.

The folder is `$NUMBA_CACHE_DIR` when set, else the checkout's `.cache/numba` (gitignored), so that the warm-up
`make install` runs fills the very cache every later process reads. This module must not import numba at import
time: numba reads its cache setting when it is imported (and again before each compilation).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "numba"
"""The checkout's cache folder (miners/solvers/ -> the repository root)."""


def configure_cache() -> Path | None:
    """Point numba at the shared cache folder and return it (None: numba's default beside the sources applies)."""
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if not chosen:
        try:
            REPO_CACHE.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        if not os.access(REPO_CACHE, os.W_OK):
            return None
        chosen = str(REPO_CACHE)
        os.environ["NUMBA_CACHE_DIR"] = chosen
    numba = sys.modules.get("numba")
    if numba is not None:
        # numba was imported before the variable was set (e.g. by the validator's kernels): re-read it, or the
        # kernels defined next would cache beside their sources instead of in the shared folder
        numba.core.config.reload_config()
    return Path(chosen)


__all__ = ["REPO_CACHE", "configure_cache"]
