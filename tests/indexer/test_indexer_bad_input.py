"""Bad `--db` values and missing databases: one clear line, a non-zero exit, no traceback, nothing created.

Real parts: SQLite files, the PostgreSQL server at 127.0.0.1:5432 (and a port where none listens), and for the
commands that read the chain first, an address where no node answers (the database is checked before it).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import PG_BASE, PG_OK
from fabrica.indexer.cli import app
from typer.testing import CliRunner

NO_NODE = "http://127.0.0.1:1"


def refused(args: list[str], *, cwd: Path) -> str:
    """Run `fabrica indexer ARGS`; assert the refusal contract and return its one line."""
    before = sorted(cwd.rglob("*"))
    result = CliRunner().invoke(app, args, env={"FABRICA_HOME": str(cwd / "home")})
    output = result.output + result.stderr
    assert result.exit_code == 1, output
    assert "Traceback" not in output and (result.exception is None or isinstance(result.exception, SystemExit)), output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert sorted(cwd.rglob("*")) == before, "a refused command created files"
    return lines[0]


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", [["status"], ["verify", "--rpc", NO_NODE], ["sync", "--rpc", NO_NODE],
                                     ["run", "--rpc", NO_NODE]])
def test_a_malformed_or_unsupported_db_url_is_one_line_naming_the_forms(command: list[str], cwd: Path) -> None:
    for db, says in (("notaurl", "is not a database URL"), ("foo://bar", "not 'foo'"),
                     ("mysql://u@h/db", "not 'mysql'"), ("sqlite+aiosqlite:///x.db", "write the URL as sqlite:///PATH"),
                     ("", "--db is empty")):
        line = refused([*command, "--db", db], cwd=cwd)
        assert says in line, line
        assert "sqlite:///PATH" in line, line


@pytest.mark.parametrize("command", [["status"], ["verify", "--rpc", NO_NODE]])
def test_readers_never_create_a_database(command: list[str], cwd: Path) -> None:
    new = cwd / "sub" / "new.db"
    line = refused([*command, "--db", f"sqlite:///{new}"], cwd=cwd)
    assert f"no index at {new}" in line and "fabrica indexer sync" in line, line
    assert not (cwd / "sub").exists()
    # The default database in the home is a reader's business too: not there, not created.
    line = refused(list(command), cwd=cwd)
    assert f"no index at {cwd / 'home' / 'index.db'}" in line, line


def test_status_of_a_file_that_is_no_index(cwd: Path) -> None:
    empty = cwd / "empty.db"
    sqlite3.connect(empty).close()  # a valid SQLite file without the indexer's tables
    text = cwd / "notes.txt"
    text.write_text("not a database at all, but long enough to be read as one " * 20)
    assert "holds no index yet" in refused(["status", "--db", f"sqlite:///{empty}"], cwd=cwd)
    assert f"{text} is not a SQLite database" in refused(["status", "--db", f"sqlite:///{text}"], cwd=cwd)
    assert empty.read_bytes() == b""  # read without writing: not even switched to WAL


@pytest.mark.parametrize("command", [["status"], ["verify", "--rpc", NO_NODE], ["sync", "--rpc", NO_NODE]])
def test_an_unreachable_postgresql_is_one_line_without_the_password(command: list[str], cwd: Path) -> None:
    line = refused([*command, "--db", "postgresql://fabrica:s3cret@127.0.0.1:1/index"], cwd=cwd)
    if command[0] == "sync":  # a writer asks the chain which deployment to index first; with no node, that is the line
        assert f"cannot reach an Ethereum node at {NO_NODE}" in line, line
        return
    assert line.startswith("error: cannot use postgresql://fabrica:***@127.0.0.1:1/index: connection failed"), line
    assert "s3cret" not in line


@pytest.mark.skipif(not PG_OK, reason=f"PostgreSQL not reachable at {PG_BASE}")
def test_a_postgresql_database_that_does_not_exist_is_one_line(cwd: Path) -> None:
    url = PG_BASE.rsplit("/", 1)[0] + "/no_such_database_for_fabrica"
    line = refused(["status", "--db", url], cwd=cwd)
    assert "cannot use postgresql" in line and "no_such_database_for_fabrica" in line, line


def test_run_refuses_a_poll_that_is_not_a_positive_number(cwd: Path) -> None:
    for poll in ("0", "-1", "nan", "inf"):
        assert "--poll must be a positive number" in refused(["run", "--rpc", NO_NODE, "--poll", poll], cwd=cwd)
