"""Property tests: malformed values fed to every option of every `fabrica validator` command.

Each case starts from a command line that works (`test_the_bases_work` runs them: a score, a design check, a
generated task, and one round of a permitted validator against the in-process local stand-in), replaces one
option's value by a malformed one drawn by hypothesis, and the command must refuse cleanly: a non-zero exit,
no traceback, one line (or click's short usage panel), no state folder, seed or task file created, and nothing
changed on the chain (no weights).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_refusal import PROPERTY, uncovered_options
from fabrica.protocol.cli.main import app
from hypothesis import given
from hypothesis import strategies as st
from subnet_cli_kit import (
    FAST_BAD_NETWORKS,
    NETUID,
    ValidatorCase as Case,
    World,
    ints_outside,
    not_dev_name,
    one_of,
    refused,
    world_fixtures,
)
from typer.testing import CliRunner

world, w = world_fixtures("validator-properties")


def run_common(w: World) -> dict[str, str]:
    return {"--network": w.url, "--netuid": str(NETUID), "--rounds": "1", "--interval": "0",
            "--state-dir": str(w.cwd / "validator"), "--kinds": "schedule", "--deadline": "schedule=1000"}


def run_dev(w: World) -> dict[str, str]:
    return {**run_common(w), "--dev": "alice"}  # staked, with a permit: this line runs a round


def run_wallet(w: World) -> dict[str, str]:
    return {**run_common(w), "--wallet": "w", "--hotkey": "s", "--wallet-path": str(w.wallets)}


def score_base(w: World) -> dict[str, str]:
    return {"--task": w.input("ft06.txt"), "--answer": w.input("answer.json")}


def design_base(w: World) -> dict[str, str]:
    return {"--task": w.input("design.json"), "--answer": w.input("design-answer.json")}


def gen_task_base(w: World) -> dict[str, str]:
    return {"--kind": "schedule", "--seed": "s", "--round": "0", "--out": str(w.cwd / "task.json"),
            "--deadline-ms": "5000"}


def bad_files(*names: str) -> Callable[[World], st.SearchStrategy[str]]:
    return lambda w: one_of(*(w.input(n) for n in ("no such file", "a folder", "empty.txt", "garbage.txt",
                                                    "binary.bin", "list.json", *names)))


def bad_seconds(w: World) -> st.SearchStrategy[str]:
    return one_of("-1", "nan", "inf", "-inf", "abc", "", "-1e-9")


CASES = [
    Case("score", "--task", bad_files("numbers.txt", "answer.json"), score_base),
    Case("score", "--answer", bad_files("ft06.txt", "design-answer.json"), score_base),
    Case("design", "--task", bad_files("ft06.txt", "design-answer.json"), design_base),
    Case("design", "--answer", bad_files("design.json", "answer.json"), design_base),
    Case("gen-task", "--kind", lambda w: one_of("paint", "", "Schedule", "schedule ", "both"), gen_task_base),
    Case("gen-task", "--seed", lambda w: one_of(""), gen_task_base),  # any other text is a seed
    Case("gen-task", "--round", lambda w: ints_outside(0), gen_task_base),
    Case("gen-task", "--out", lambda w: one_of(w.input("a folder"), w.input("a file") + "/below.json",
                                               "/dev/null/x.json", ""), gen_task_base),
    Case("gen-task", "--deadline-ms", lambda w: ints_outside(1, 3_600_000), gen_task_base),
    Case("run", "--network", lambda w: one_of(*FAST_BAD_NETWORKS), run_dev),
    Case("run", "--netuid", lambda w: ints_outside(0, 65535, "77"), run_dev),
    Case("run", "--wallet", lambda w: one_of("nosuch", "a/b/c", "../..", "w/", "/w", "w/s", "W"), run_wallet),
    Case("run", "--hotkey", lambda w: one_of("nosuch", "a/b", "..", "h", "H"), run_wallet),  # h: unregistered
    Case("run", "--wallet-path", lambda w: one_of(str(w.inputs / "no such folder"), w.input("a file"),
                                                  w.input("a folder"), "/dev/null"), run_wallet),
    Case("run", "--dev", lambda w: st.one_of(not_dev_name(), one_of("dave")), run_common),  # dave: unregistered
    Case("run", "--state-dir", lambda w: one_of(w.input("a file"), w.input("a file") + "/below", "/dev/null/x"),
         run_dev),
    Case("run", "--rounds", lambda w: ints_outside(0), run_dev),
    Case("run", "--interval", bad_seconds, run_dev),
    Case("run", "--grace", bad_seconds, run_dev),
    Case("run", "--kinds", lambda w: one_of("", ",", "paint", "schedule,paint", " ", "Schedule"), run_dev),
    Case("run", "--deadline", lambda w: one_of("schedule", "=5", "schedule=0", "schedule=abc", "paint=5",
                                               "schedule=3600001", "schedule=-5", "schedule= 5"), run_dev),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(data=st.data())
def test_malformed_values_are_refused_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    refused(w, case.args(w, data.draw(case.values(w), label=case.option)))


def test_every_option_of_every_validator_command_is_covered() -> None:
    from fabrica.validators.cli import app as validator_app

    assert not uncovered_options(validator_app, CASES)


def test_the_bases_work(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command line the cases start from succeeds as it is (in a folder of its own)."""
    monkeypatch.chdir(tmp_path)
    bases = [("score", score_base), ("design", design_base), ("gen-task", gen_task_base), ("run", run_dev),
             ("run", run_wallet)]
    for i, (command, base) in enumerate(bases):
        opts = base(world)
        for key in ("--state-dir", "--out"):
            if key in opts:
                opts[key] = str(tmp_path / f"{i}-{Path(opts[key]).name}")
        out = CliRunner().invoke(app, ["validator", command, *(f"{k}={v}" for k, v in opts.items())], env=world.env)
        assert out.exit_code == 0, (command, out.output)
