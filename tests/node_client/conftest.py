"""Fixtures for node-client tests: peers behind pseudo-terminals."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
