"""`fabrica` starts at once: a command imports what it needs, never the heavy stacks of the other commands.

Each case runs the real entry point (`fabrica.protocol.cli.main:main`) in a fresh interpreter and records the
modules loaded by the time it exits, so one eager `import web3` (or SQLAlchemy, OR-Tools, …) at the top of any
CLI module, or a group imported just to list it, fails here. bench/cli.py measures the seconds.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fabrica.protocol.cli import main as cli_main
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

# The entry point run in a subprocess; at exit it writes every module name it loaded to the file named first.
PROBE = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from fabrica.protocol.cli.main import main
sys.argv[0] = "fabrica"
main()
"""

CHAIN = {"web3", "eth_account", "eth_abi", "eth_utils", "eth_keys", "aiohttp", "requests", "websockets"}
HEAVY = CHAIN | {
    "sqlalchemy", "alembic", "psycopg", "ortools", "numpy", "numba", "scipy", "pandas", "bittensor",
    "fastapi", "uvicorn", "httpx", "nacl", "serial",
}
# What Typer itself needs to run any command (it validates parameters with pydantic).
TYPER_RUNTIME = {"pydantic", "pydantic_core"}
GROUP_MODULES = {
    "fabrica.protocol.cli.devnet", "fabrica.protocol.cli.job", "fabrica.protocol.cli.node",
    "fabrica.protocol.cli.account", "fabrica.protocol.cli.subnet", "fabrica.protocol.cli.content",
    "fabrica.protocol.cli.demo", "fabrica.indexer.cli", "fabrica.miners.cli", "fabrica.validators.cli",
    "fabrica.node_client.cli", "fabrica.gateway.cli",
}


def run_probe(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
              ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `fabrica ARGS` through its entry point; its result and the names of the modules it loaded."""
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env={**os.environ, **(env or {})})
    loaded = set(json.loads(out.read_text()))
    return proc, loaded


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_lists_every_group_without_importing_one(tmp_path: Path) -> None:
    proc, loaded = run_probe(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    for name, target in cli_main.lazy_entries().items():
        assert f" {name} " in proc.stdout
        if target is not None:
            first_words = cli_main.static_help(target).split()[:3]
            assert first_words and " ".join(first_words) in " ".join(proc.stdout.split()), name
    assert loaded & GROUP_MODULES == set()
    assert tops(loaded) & (HEAVY | TYPER_RUNTIME) == set()


def test_completing_a_group_name_imports_no_group(tmp_path: Path) -> None:
    proc, loaded = run_probe(tmp_path, env={"_FABRICA_COMPLETE": "complete_bash", "COMP_WORDS": "fabrica in",
                                            "COMP_CWORD": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["indexer"]
    assert loaded & GROUP_MODULES == set()


def test_content_cid_loads_only_the_cid_code(tmp_path: Path) -> None:
    part = tmp_path / "part.stl"
    part.write_bytes(b"solid part\nendsolid part\n")
    proc, loaded = run_probe(tmp_path, "content", "cid", str(part))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("Qm")
    assert tops(loaded) & HEAVY == set()
    assert loaded & GROUP_MODULES == {"fabrica.protocol.cli.content"}


@pytest.mark.parametrize("group", ["devnet", "job", "account", "subnet", "design", "content", "indexer",
                                   "miner", "validator", "gateway"])
def test_group_help_loads_only_that_group(tmp_path: Path, group: str) -> None:
    proc, loaded = run_probe(tmp_path, group, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"fabrica {group} [OPTIONS] COMMAND" in proc.stdout
    assert tops(loaded) & HEAVY == set()
    assert len(loaded & GROUP_MODULES) <= 1


def test_node_help_lists_the_node_clients_commands_too(tmp_path: Path) -> None:
    proc, loaded = run_probe(tmp_path, "node", "--help")
    assert proc.returncode == 0, proc.stderr
    for verb in ("stake", "register", "print", "probe", "run"):
        assert f" {verb} " in proc.stdout
    assert tops(loaded) & (HEAVY - {"serial"}) == set()  # the node client's serial transport is its own


def test_chain_command_loads_web3_but_no_other_stack_and_fails_in_one_line(tmp_path: Path) -> None:
    port = closed_port()
    proc, loaded = run_probe(tmp_path, "job", "list", "--rpc-url", f"http://127.0.0.1:{port}")
    # The SDK's error, raised from a lazily imported module, is still caught by common.run: one line, exit 1.
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach an Ethereum node at http://127.0.0.1:{port}")
    assert "web3" in tops(loaded)
    assert tops(loaded) & (HEAVY - CHAIN) == set()


def test_group_placeholders_carry_the_loaded_groups_help() -> None:
    for name, target in cli_main.lazy_entries().items():
        if target is None:
            continue
        loaded = cli_main.load(name, target)
        assert loaded.name == name
        assert cli_main.static_help(target) == loaded.help, name


def test_a_group_invoked_twice_gets_its_extension_commands_once() -> None:
    runner = CliRunner()
    outputs = [runner.invoke(cli_main.app, ["node", "--help"]).output for _ in range(2)]
    for out in outputs:
        assert out.count(" probe ") == 1, out


def test_a_mistyped_group_is_answered_with_the_nearest_name() -> None:
    result = CliRunner().invoke(cli_main.app, ["nod"])
    assert result.exit_code == 2
    assert "Did you mean 'node'?" in result.output
