"""Property tests: malformed values fed to every option of every `fabrica indexer` command.

Each case starts from a command line that works against a real anvil devnet with Fabrica deployed (`sync` into a
new SQLite file, `run` that would follow the head, `verify` and `status` of an index synced beforehand),
replaces one option's value by a malformed one drawn by hypothesis, and the command must refuse cleanly: a
non-zero exit, no traceback, one line (or click's short usage panel), and no database, folder or other file
created or changed.
"""
from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_refusal import PROPERTY, files_under, refused_cleanly, uncovered_options
from cli_refusal import OptionCase as Case  # `fabrica indexer` is the app here: no group before the command
from fabrica.indexer.cli import app
from fabrica.indexer.sync import Indexer, IndexerConfig
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner


@dataclass
class World:
    rpc_url: str
    root: Path
    home: Path  # deployments/31337.json of the devnet
    cwd: Path
    synced: Path  # an index of the devnet, synced before the tests
    inputs: Path

    def files(self) -> list[str]:
        return files_under(self.root, with_folders=True)


@pytest.fixture(scope="module")
def world(devnet: tuple[str, object, Path], tmp_path_factory: pytest.TempPathFactory) -> World:
    rpc_url, deployment, devnet_home = devnet
    root = tmp_path_factory.mktemp("indexer-properties")
    home, cwd, synced, inputs = root / "home", root / "cwd", root / "synced", root / "inputs"
    (home / "deployments").mkdir(parents=True)
    shutil.copy(devnet_home / "deployments" / "31337.json", home / "deployments" / "31337.json")
    for folder in (cwd, synced, inputs / "a folder"):
        folder.mkdir(parents=True)
    with Indexer(f"sqlite:///{synced / 'index.db'}", rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:  # type: ignore[arg-type]
        ix.sync()
    (inputs / "a file").write_text("not a database at all, but long enough to be read as one " * 20)
    (inputs / "empty.db").write_bytes(b"")
    return World(rpc_url, root, home, cwd, synced, inputs)


@pytest.fixture
def w(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(world.cwd)
    sigterm = signal.getsignal(signal.SIGTERM)  # `indexer run` stops on SIGTERM like Ctrl-C: put it back
    try:
        yield world
    finally:
        signal.signal(signal.SIGTERM, sigterm)


def writer_base(w: World) -> dict[str, str]:
    return {"--db": f"sqlite:///{w.cwd / 'new' / 'index.db'}", "--rpc": w.rpc_url, "--home": str(w.home),
            "--confirmations": "0"}


def reader_base(w: World) -> dict[str, str]:
    return {"--db": f"sqlite:///{w.synced / 'index.db'}", "--rpc": w.rpc_url, "--home": str(w.home)}


def status_base(w: World) -> dict[str, str]:
    return {"--db": f"sqlite:///{w.synced / 'index.db'}"}


class JobCase(Case):
    """`job ID`: the job id is an argument, after the options."""

    def args(self, w: World, value: str) -> list[str]:
        return [*super().args(w, value), "1"]


def one_of(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


def bad_urls(w: World) -> st.SearchStrategy[str]:
    return one_of("notaurl", "foo://bar", "mysql://u@h/db", "sqlite+aiosqlite:///x.db", "",
                  "postgresql://u:pw@127.0.0.1:1/x", f"sqlite:///{w.inputs / 'a file'}/below.db",
                  f"sqlite:///{w.inputs / 'a folder'}")


def bad_indexes(w: World) -> st.SearchStrategy[str]:
    """For readers also: a database that is not there, is not SQLite, or holds no index."""
    return st.one_of(bad_urls(w), one_of(f"sqlite:///{w.cwd / 'missing.db'}", f"sqlite:///{w.inputs / 'a file'}",
                                         f"sqlite:///{w.inputs / 'empty.db'}"))


def bad_addresses(w: World) -> st.SearchStrategy[str]:
    return one_of("bob", "", "0x123", "0x" + "g" * 40, "0x" + "ab" * 21)


def bad_rpcs(w: World) -> st.SearchStrategy[str]:
    return one_of("notaurl", "", "http://127.0.0.1:1", "ftp://127.0.0.1:8545", "http://[::1", "http://127.0.0.1:99999")


def bad_homes(w: World) -> st.SearchStrategy[str]:
    return one_of(str(w.inputs / "a file"), str(w.inputs / "a file" / "below"), str(w.inputs / "a folder"),
                  "/dev/null/x")


def not_int_below(low: int) -> st.SearchStrategy[str]:
    return st.one_of(st.integers(max_value=low - 1, min_value=low - 10**9).map(str),
                     one_of("abc", "", "1.5", "1e3"))


CASES = [
    *(Case(cmd, "--db", bad_urls, writer_base) for cmd in ("sync", "run")),
    *(Case(cmd, "--rpc", bad_rpcs, writer_base) for cmd in ("sync", "run")),
    *(Case(cmd, "--home", bad_homes, lambda w: {k: v for k, v in writer_base(w).items() if k != "--rpc"})
      for cmd in ("sync", "run")),
    *(Case(cmd, "--confirmations", lambda w: not_int_below(0), writer_base) for cmd in ("sync", "run")),
    *(Case(cmd, "--max-reorg-depth", lambda w: not_int_below(1), writer_base) for cmd in ("sync", "run")),
    Case("run", "--poll", lambda w: one_of("0", "-1", "nan", "inf", "-inf", "abc", ""), writer_base),
    Case("verify", "--db", bad_indexes, reader_base),
    Case("verify", "--rpc", bad_rpcs, reader_base),
    Case("verify", "--home", bad_homes, lambda w: {"--rpc": w.rpc_url}),  # the default database is under --home
    Case("status", "--db", bad_indexes, status_base),
    Case("status", "--home", bad_homes, lambda w: {}),
    # The read commands.
    *(Case(cmd, "--db", bad_indexes, status_base) for cmd in ("jobs", "disputes", "stakes")),
    *(Case(cmd, "--home", bad_homes, lambda w: {}) for cmd in ("jobs", "disputes", "stakes")),
    JobCase("job", "--db", bad_indexes, status_base),
    JobCase("job", "--home", bad_homes, lambda w: {}),
    Case("jobs", "--status", lambda w: one_of("lost", "", "OPEN", "open,claimed"), status_base),
    Case("jobs", "--customer", bad_addresses, status_base),
    Case("jobs", "--node", bad_addresses, status_base),
    Case("disputes", "--stage", lambda w: one_of("lost", "", "Ruled", "appeal"), status_base),
    Case("disputes", "--judge", bad_addresses, status_base),
    Case("stakes", "--operator", bad_addresses, status_base),
    *(Case(cmd, "--limit", lambda w: not_int_below(1), status_base) for cmd in ("jobs", "disputes")),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(data=st.data())
def test_malformed_values_are_refused_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    args = case.args(w, data.draw(case.values(w), label=case.option))
    # `run` on a bad input that it accepted would follow the head forever: the guard interrupts it after 60 s.
    refused_cleanly(lambda: CliRunner().invoke(app, args, env={"FABRICA_HOME": str(w.home)}), w.files, args,
                    guard_s=60, usage_lines=8, usage_marks=("Invalid value",), prefix="error: ")


def test_every_option_of_every_indexer_command_is_covered() -> None:
    assert not uncovered_options(app, CASES)


def test_the_bases_work(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sync, verify and status succeed on the command lines the cases start from."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for command, base in (("sync", writer_base), ("verify", reader_base), ("status", status_base),
                          ("jobs", status_base), ("disputes", status_base), ("stakes", status_base)):
        opts = base(world)
        if command == "sync":
            opts["--db"] = f"sqlite:///{tmp_path / 'new' / 'index.db'}"
        out = runner.invoke(app, [command, *(f"{k}={v}" for k, v in opts.items())], env={"FABRICA_HOME": str(world.home)})
        assert out.exit_code == 0, (command, out.output)
