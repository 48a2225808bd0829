"""Shared by every test folder: tests/ itself is importable, so any folder's tests can use `cli_refusal`.

The folders have no __init__.py: pytest puts each test file's own folder on sys.path (its kits import by name),
and this puts tests/ there too, for a single file run alone as much as for the whole suite.
"""
from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
