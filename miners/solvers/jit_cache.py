"""Where numba caches the solvers' compiled kernels: one folder for `make install`, the tests, the CLI and the server.

Also the repair of a damaged cache: numba recompiles over files from another numba version, CPU or source, but
raises on a file it cannot unpickle (a full disk, a killed writer).

The folder is `$NUMBA_CACHE_DIR` when set, else the checkout's `.cache/numba` (gitignored), so that the warm-up
`make install` runs fills the very cache every later process reads. This module must not import numba at import
time: numba reads its cache setting when it is imported (and again before each compilation).
"""
from __future__ import annotations

import os
import pickle
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


def cache_files(folders: set[str], module: str) -> list[str]:
    """A module's numba cache files (indexes `.nbi`, compiled code `.nbc`) in `folders`."""
    found = []
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if n.startswith(module + ".") and n.endswith((".nbi", ".nbc"))]
    return found


def _index_readable(path: str) -> bool:
    """Whether a numba index file unpickles (a numba version header, then the source stamp and overloads)."""
    try:
        with open(path, "rb") as f:
            pickle.load(f)
            pickle.loads(f.read())
    except Exception:  # noqa: BLE001 - any failure here is one numba would fail on too
        return False
    return True


def _remove(paths: list[str]) -> bool:
    removed = False
    for path in paths:
        try:
            os.remove(path)
            removed = True
        except OSError:
            pass
    return removed


def drop_damaged(folders: set[str], module: str) -> bool:
    """Delete the module's unreadable index files (numba raises on them); whether there were any."""
    return _remove([f for f in cache_files(folders, module) if f.endswith(".nbi") and not _index_readable(f)])


def drop_all(folders: set[str], module: str) -> bool:
    """Delete all the module's cache files; whether there were any."""
    return _remove(cache_files(folders, module))


__all__ = ["REPO_CACHE", "cache_files", "configure_cache", "drop_all", "drop_damaged"]
