"""The README's role matrix is the application's: regenerated from the routes' declarations."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_role_matrix_matches_the_routes() -> None:
    r = subprocess.run([sys.executable, "scripts/role_matrix.py", "--check", "README.md"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
