"""The contract every CLI group's bad-input tests hold a refused command to, and the scaffolding of their property tests.

A refused command exits non-zero, prints no traceback, says what is wrong in one `error:` line (or click's short
usage panel), and changes nothing: `refused_cleanly` runs a command and checks all of it against a snapshot the
caller chooses (the chain, files, both). `OptionCase` is one option of one command with its malformed values, and
`uncovered_options` proves a group's cases reach every option. Any test folder imports this module by name
(tests/conftest.py puts tests/ on sys.path).
"""
from __future__ import annotations

import contextlib
import operator
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings

# A few derandomized examples per option keep CI fast and stable; FABRICA_PROPERTY_EXAMPLES=50 explores more.
PROPERTY = settings(max_examples=int(os.environ.get("FABRICA_PROPERTY_EXAMPLES", "3")), deadline=None,
                    derandomize="FABRICA_PROPERTY_EXAMPLES" not in os.environ, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def failed_cleanly(result: Any, *, one_line: bool = True, usage_lines: int = 12,
                   usage_marks: tuple[str, ...] = ("Invalid value", "Error"), prefix: str = "error:") -> str:
    """Assert a refused command's contract and return its message: exit != 0, no traceback, a short error.

    click's own usage error (exit 2) may take up to `usage_lines` lines and must carry one of `usage_marks`;
    any other refusal is one line starting with `prefix` (unless `one_line` is False).
    """
    output = result.output + (result.stderr if result.stderr not in result.output else "")
    assert result.exit_code != 0, f"exit 0 for a bad input:\n{output}"
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, f"no error message:\n{output}"
    if result.exit_code == 2:  # click's usage error: a short panel that names the option
        assert len(lines) <= usage_lines and any(mark in result.stderr for mark in usage_marks), result.stderr
    elif one_line:
        assert len(lines) == 1, f"the error is not one line:\n{result.stderr}"
        assert lines[0].startswith(prefix), lines[0]
    return " ".join(lines)


def files_under(*folders: Path, with_folders: bool = False) -> list[str]:
    """Every file (with its size) under the folders, and with `with_folders` every folder too: a refused command
    must create, change or remove none."""
    out: list[str] = []
    for folder in folders:
        if folder.exists():
            out += sorted(f"{p}:{p.stat().st_size if p.is_file() else '-'}" for p in folder.rglob("*")
                          if p.is_file() or (with_folders and p.is_dir()))
    return out


def free_port() -> int:
    """A loopback port nothing listens on (as of now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_guard(seconds: float) -> Iterator[threading.Event]:
    """Interrupt (SIGINT) a command still running after `seconds`: one that starts serving or following the chain
    on a bad input then stops, and the caller asserts the returned event was not set."""
    tripped = threading.Event()

    def fire() -> None:
        tripped.set()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield tripped
    finally:
        timer.cancel()


def _what_changed(before: Any, after: Any) -> str:
    """The entries that appeared or went, for the parts of a snapshot that are lists (file listings)."""
    pairs = zip(before, after) if isinstance(before, tuple) and isinstance(after, tuple) else [(before, after)]
    return "; ".join(str(sorted(set(b) ^ set(a))) for b, a in pairs if isinstance(b, list) and b != a)


def refused_cleanly(run: Callable[[], Any], snapshot: Callable[[], Any], what: object, *,
                    same: Callable[[Any, Any], bool] = operator.eq, guard_s: float | None = None,
                    **contract: Any) -> str:
    """Run a command that must be refused: it ends (within `guard_s`, when given), `failed_cleanly(**contract)`
    holds, and `snapshot()` is the `same` afterwards. Returns the error message."""
    before = snapshot()
    with running_guard(guard_s) if guard_s is not None else contextlib.nullcontext() as tripped:
        result = run()
    assert tripped is None or not tripped.is_set(), \
        f"still running on a bad input after {guard_s:g} s: {what}\n{result.output}"
    message = failed_cleanly(result, **contract)
    after = snapshot()
    assert same(before, after), f"state changed by a refused command: {what}\n{_what_changed(before, after)}"
    return message


@dataclass(frozen=True)
class OptionCase:
    """One option of one command: the working command line to start from (`base`, options by name), and the
    option's malformed values. A subclass names the command group in `prefix`."""

    prefix: ClassVar[tuple[str, ...]] = ()

    command: str
    option: str
    values: Callable[[Any], Any]  # world -> hypothesis strategy of malformed values
    base: Callable[[Any], dict[str, str]]

    def args(self, w: Any, value: str) -> list[str]:
        """The base command line with this option's value replaced by `value` (as `--option=value`, so a value
        that starts with "-" reaches the command instead of being taken for another option)."""
        opts = {k: v for k, v in self.base(w).items() if k != self.option}
        return [*self.prefix, self.command, *(f"{k}={v}" for k, v in opts.items()), f"{self.option}={value}"]

    def __str__(self) -> str:
        return f"{self.command} {self.option}"


def uncovered_options(app: Any, cases: list[Any]) -> list[tuple[str, list[str]]]:
    """The (command, option names) of a typer group's value-taking options that no case feeds malformed values."""
    import click
    import typer.main

    group = typer.main.get_command(app)
    return [(name, p.opts) for name, command in group.commands.items()  # type: ignore[attr-defined]
            for p in command.params if isinstance(p, click.Option) and not p.is_flag
            and not any(c.command == name and c.option in p.opts for c in cases)]
