"""The repository stands alone: nothing in it reads a sibling folder outside the checkout, and the data look-ups of the suite and
the benchmarks work from a copy of the repository in an empty folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Files that look up bundled data through a module-level BENCHMARKS path.
DATA_USERS = [
    "tests/subnet/test_schedule_benchmarks.py",
    "tests/subnet/test_cpsat_solver.py",
    "tests/subnet/test_tabu_jobshop.py",
    "bench/schedule.py",
    "bench/scoring.py",
    "bench/scheduling.py",
]
# How a path to the sibling folder outside the checkout would be spelled (assembled, so this file holds none).
_SIBLING = "sha" + "red"
FORBIDDEN = (f"../{_SIBLING}", f'"{_SIBLING}" / "benchmarks"', f"'{_SIBLING}' / 'benchmarks'",
             f"{_SIBLING}/DESIGN.md", f"{_SIBLING}/benchmarks")


def _tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary files (sample parts) cannot name a path
        offenders += [f"{path.relative_to(ROOT)}: {needle}" for needle in FORBIDDEN if needle in text]
    assert not offenders, "files that read outside the repository:\n" + "\n".join(offenders)


def test_architecture_document_is_in_the_repository() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    for heading in ("Components", "Dependency direction", "A job from post to settlement", "Production"):
        assert heading in text, f"docs/architecture.md lacks a section on {heading!r}"
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()


def test_data_lookups_work_from_a_copy_in_an_empty_folder(tmp_path: Path) -> None:
    checkout = tmp_path / "fabrica"  # tmp_path has no sibling data folder: a clone on a stranger's machine
    for path in _tracked_files():
        if path.is_file():
            target = checkout / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    assert not (tmp_path / _SIBLING).exists()
    probe = (
        "import importlib.util, json, sys\n"
        "from pathlib import Path\n"
        "for rel in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('probe_' + Path(rel).stem, rel)\n"
        "    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "    root = Path(mod.BENCHMARKS).resolve()\n"
        "    assert root.is_relative_to(Path.cwd().resolve()), f'{rel} reads {root}, outside the checkout'\n"
        "    for kind in ('jssp', 'fjsp'):\n"
        "        refs = json.loads((root / kind / 'references.json').read_text())\n"
        "        assert all((root / kind / r['file']).is_file() for r in refs.values()), (rel, kind)\n"
        "    print(rel, 'ok', root)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FABRICA_BENCHMARKS"}
    done = subprocess.run([sys.executable, "-c", probe, *DATA_USERS], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" ok ") == len(DATA_USERS)
    # And the suite's own benchmark tests pass from the copy.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/subnet/test_schedule_benchmarks.py::test_benchmark_set_is_present_and_complete",
         "tests/subnet/test_schedule_benchmarks.py::test_instance_size_matches_references"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
