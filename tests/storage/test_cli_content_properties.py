"""Property tests: malformed values fed to every option of `fabrica content add|get|cid`.

Each command line is valid except for one value drawn by hypothesis; the command must exit non-zero with
no traceback and a short error (one `error:` line, or click's usage panel), and create or change no file
in the working folder or the store.
"""
from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_refusal import failed_cleanly, files_under, free_port
from fabrica.protocol.cli.content import app
from fabrica.protocol.storage import LocalContentStore
from fabrica.protocol.storage.unixfs import compute_cid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

HELLO = b"hello world\n"
HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
# A few derandomized examples per option keep CI fast and stable; FABRICA_PROPERTY_EXAMPLES=50 explores more.
PROPERTY = settings(max_examples=int(os.environ.get("FABRICA_PROPERTY_EXAMPLES", "12")), deadline=None,
                    derandomize="FABRICA_PROPERTY_EXAMPLES" not in os.environ, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
runner = CliRunner()


@dataclass
class Place:
    """A working folder with a file to add, a store holding it, and a folder for drawn inputs."""

    cwd: Path
    store: Path
    inputs: Path
    hello: Path

    def watched(self) -> list[str]:
        return files_under(self.cwd, self.store)


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    for name in ("FABRICA_CONTENT_DIR", "FABRICA_KUBO_URL", "FABRICA_CONFIG", "FABRICA_HOME"):
        monkeypatch.delenv(name, raising=False)
    cwd, inputs = tmp_path / "cwd", tmp_path / "inputs"
    cwd.mkdir()
    inputs.mkdir()
    hello = inputs / "hello.txt"
    hello.write_bytes(HELLO)
    store = cwd / "store"
    LocalContentStore(store).add(hello)
    monkeypatch.chdir(cwd)
    yield Place(cwd, store, inputs, hello)


# Paths are drawn as kinds and made real inside the place: each is wrong for the option it is given to.
PathKind = str
missing_paths = st.sampled_from(["missing", "missing-in-missing-folder", "folder"])
bad_outputs = st.sampled_from(["folder", "missing-in-missing-folder", "under-a-file"])
bad_stores = st.sampled_from(["a-file", "under-a-file"])


def realise(p: Place, kind: PathKind) -> str:
    return {
        "missing": str(p.cwd / "no-such-file.stl"),
        "missing-in-missing-folder": str(p.cwd / "no-such-folder" / "file.bin"),
        "folder": str(p.inputs),
        "a-file": str(p.hello),
        "under-a-file": str(p.hello / "sub"),
    }[kind]


words = st.text(alphabet=string.ascii_letters + string.digits + "_-.:/ ", min_size=1, max_size=20)
not_cids = st.one_of(st.sampled_from(["Qm-nope", "bafy", HELLO_V0[:-1], "ipfs://", "/ipfs/", "zzz", " "]), words)
unstored = st.binary(min_size=1, max_size=32).map(lambda b: str(compute_cid(b"unstored " + b)))
versions = st.one_of(st.integers(min_value=2, max_value=2**70).map(str), st.integers(max_value=-1).map(str),
                     st.sampled_from(["v1", "1.5", "", "one"]))
kubo_urls = st.one_of(st.sampled_from(["notaurl", "127.0.0.1:5001", "ftp://127.0.0.1:5001", "http://"]),
                      st.builds(lambda: f"http://127.0.0.1:{free_port()}"))
keys = st.one_of(st.text(alphabet=string.hexdigits, max_size=63), st.text(alphabet=string.hexdigits, min_size=65,
                                                                          max_size=80),
                 st.sampled_from(["zz" * 32, "0x" + "g" * 64, "00" * 32]), words)


@dataclass(frozen=True)
class Case:
    """One option of one command, the valid command line around it, and its malformed values."""

    command: str
    option: str  # "FILE" or "CID" for a positional argument
    base: Callable[[Place], list[str]]
    bad: st.SearchStrategy
    paths: bool = False  # values are path kinds to realise

    @property
    def id(self) -> str:
        return f"{self.command} {self.option}"


CASES = [
    Case("add", "FILE", lambda p: ["add", "--store", str(p.store)], missing_paths, paths=True),
    Case("add", "--cid-version", lambda p: ["add", str(p.hello), "--store", str(p.store)], versions),
    Case("add", "--store", lambda p: ["add", str(p.hello)], bad_stores, paths=True),
    Case("add", "--kubo", lambda p: ["add", str(p.hello)], kubo_urls),
    Case("add", "--seal-to", lambda p: ["add", str(p.hello), "--store", str(p.store)], keys),
    Case("get", "CID", lambda p: ["get", "--store", str(p.store)], st.one_of(not_cids, unstored)),
    Case("get", "FILE", lambda p: ["get", HELLO_V0, "--store", str(p.store)], bad_outputs, paths=True),
    Case("get", "-o", lambda p: ["get", HELLO_V0, "--store", str(p.store)], bad_outputs, paths=True),
    Case("get", "--store", lambda p: ["get", HELLO_V0], st.sampled_from(["a-file", "under-a-file"]), paths=True),
    Case("get", "--kubo", lambda p: ["get", HELLO_V0], kubo_urls),
    Case("cid", "FILE", lambda p: ["cid"], missing_paths, paths=True),
    Case("cid", "--cid-version", lambda p: ["cid", str(p.hello)], versions),
]


def command_line(p: Place, case: Case, value: str) -> list[str]:
    argv = case.base(p)
    if case.option in ("FILE", "CID"):
        return [*argv[:1], value, *argv[1:]] if case.option == "CID" or case.command != "get" else [
            *argv[:2], value, *argv[2:]]
    return [*argv, f"{case.option}={value}" if case.option.startswith("--") else case.option, *(
        [] if case.option.startswith("--") else [value])]


def test_every_base_command_line_is_valid(place: Place) -> None:
    valid = {"FILE": str(place.hello), "CID": HELLO_V0, "--cid-version": "1", "--store": str(place.store)}
    for case in CASES:
        if case.option in valid:
            value = str(place.cwd / "out.txt") if (case.command, case.option) == ("get", "FILE") else valid[case.option]
            result = runner.invoke(app, command_line(place, case, value))
            assert result.exit_code == 0, f"{case.id}: {result.output}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_content_options_refuse_malformed_values_cleanly(place: Place, case: Case, data: st.DataObject) -> None:
    drawn = data.draw(case.bad, label=case.id)
    argv = command_line(place, case, realise(place, drawn) if case.paths else drawn)
    before = place.watched()
    result = runner.invoke(app, argv)
    failed_cleanly(result)
    assert place.watched() == before, f"files changed by: fabrica content {' '.join(argv)}"
    assert place.hello.read_bytes() == HELLO
