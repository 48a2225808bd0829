"""Defaults of the topology solver, in a module of their own so the CLI can show them without importing NumPy."""
from __future__ import annotations

DEFAULT_MAX_ITER = 1000
