"""Property tests: malformed values fed to every option of every `fabrica miner` command.

Each case starts from a command line that works (a solve and a design that finish, a `serve` of a registered
hotkey against the in-process local stand-in that would start serving), replaces one option's value by a
malformed one drawn by hypothesis, and the command must refuse cleanly: a non-zero exit, no traceback, one line
(or click's short usage panel), no port left bound, no nonce store or other file created, and nothing changed on
the chain (no axon or capabilities advertised).
"""
from __future__ import annotations

import socket

import pytest
from cli_refusal import PROPERTY, uncovered_options
from fabrica.protocol.cli.main import app
from hypothesis import given
from hypothesis import strategies as st
from subnet_cli_kit import (
    BAD_HOSTS,
    FAST_BAD_NETWORKS,
    NETUID,
    MinerCase as Case,
    World,
    free_port,
    ints_outside,
    not_dev_name,
    not_positive,
    one_of,
    refused,
    world_fixtures,
)
from typer.testing import CliRunner

world, w = world_fixtures("miner-properties")


def serve_common(w: World) -> dict[str, str]:
    return {"--netuid": str(NETUID), "--network": w.url, "--port": str(free_port()), "--strategy": "dispatch",
            "--nonce-store": f"sqlite:{w.cwd / 'nonces.sqlite'}", "--log-level": "warning"}


def serve_dev(w: World) -> dict[str, str]:
    return {**serve_common(w), "--dev": "bob"}  # bob is registered: this line would serve and advertise


def serve_wallet(w: World) -> dict[str, str]:
    return {**serve_common(w), "--wallet": "w", "--hotkey": "s", "--wallet-path": str(w.wallets)}


def schedule_files(w: World) -> st.SearchStrategy[str]:
    return one_of(*(w.input(n) for n in ("no such file.txt", "a folder", "empty.txt", "garbage.txt", "binary.bin",
                                         "numbers.txt", "list.json", "design.json", "answer.json")))


def design_files(w: World) -> st.SearchStrategy[str]:
    return one_of(*(w.input(n) for n in ("no such file.json", "a folder", "empty.txt", "garbage.txt", "binary.bin",
                                         "list.json", "ft06.txt", "design-answer.json")))


CASES = [
    Case("solve", "--task", schedule_files, lambda w: {"--time-limit": "0.3", "--workers": "1"}),
    Case("solve", "--time-limit", lambda w: not_positive("3601", "1e9"), lambda w: {"--task": w.input("ft06.txt")}),
    Case("solve", "--workers", lambda w: ints_outside(1, 256),
         lambda w: {"--task": w.input("ft06.txt"), "--time-limit": "0.3"}),
    Case("solve", "--seed", lambda w: ints_outside(0, 2**31 - 1),
         lambda w: {"--task": w.input("ft06.txt"), "--time-limit": "0.3", "--workers": "1"}),
    Case("design", "--task", design_files, lambda w: {"--max-iter": "2"}),
    Case("design", "--time-limit", lambda w: not_positive(), lambda w: {"--task": w.input("design.json"),
                                                                          "--max-iter": "2"}),
    Case("design", "--max-iter", lambda w: ints_outside(1), lambda w: {"--task": w.input("design.json")}),
    Case("serve", "--netuid", lambda w: ints_outside(0, 65535, "77"), serve_dev),
    Case("serve", "--network", lambda w: one_of(*FAST_BAD_NETWORKS, "ws://127.0.0.1:1", w.down, "local"), serve_dev),
    Case("serve", "--wallet", lambda w: one_of("nosuch", "", "a/b/c", "../..", "w/", "/w", "w/s", "W"), serve_wallet),
    Case("serve", "--hotkey", lambda w: one_of("nosuch", "a/b", "..", "h", "H"), serve_wallet),  # h: unregistered
    Case("serve", "--wallet-path", lambda w: one_of(str(w.inputs / "no such folder"), w.input("a file"),
                                                    w.input("a folder"), "/dev/null"), serve_wallet),
    Case("serve", "--dev", lambda w: st.one_of(not_dev_name(), one_of("dave")), serve_common),  # dave: unregistered
    Case("serve", "--host", lambda w: one_of(*BAD_HOSTS, "0.0.0.0", "::"), serve_dev),
    Case("serve", "--port", lambda w: ints_outside(0, 65535, str(w.taken_port)), serve_dev),
    Case("serve", "--external-ip", lambda w: one_of("notanip", "0.0.0.0", "::", "256.1.1.1", "", "localhost"),
         serve_dev),
    Case("serve", "--external-port", lambda w: ints_outside(1, 65535), serve_dev),
    Case("serve", "--workers", lambda w: ints_outside(1), serve_dev),
    Case("serve", "--nonce-store", lambda w: one_of("postgres://x", "sqlite:", "memory2", "", "redis://127.0.0.1:1/0",
                                                    f"sqlite:{w.input('a file')}/below.sqlite",
                                                    "sqlite:/dev/null/x.sqlite"), serve_dev),
    Case("serve", "--strategy", lambda w: one_of("magic", "", "CPSAT", " cpsat", "cp-sat"), serve_dev),
    Case("serve", "--min-stake", lambda w: one_of("-1", "nan", "inf", "-inf", "abc", "", "-1e-9"), serve_dev),
    Case("serve", "--rate", lambda w: not_positive(), serve_dev),
    Case("serve", "--burst", lambda w: one_of("0", "0.5", "nan", "inf", "-1", "abc"), serve_dev),
    Case("serve", "--max-concurrent", lambda w: ints_outside(1), serve_dev),
    Case("serve", "--max-queue", lambda w: ints_outside(0), serve_dev),
    Case("serve", "--max-body-bytes", lambda w: ints_outside(1024), serve_dev),
    Case("serve", "--cpsat-workers", lambda w: ints_outside(1, 256), serve_dev),
    Case("serve", "--metagraph-refresh", lambda w: not_positive(), serve_dev),
    Case("serve", "--log-level", lambda w: one_of("loud", "", "warn ", "trace", "0"), serve_dev),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(data=st.data())
def test_malformed_values_are_refused_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    args = case.args(w, data.draw(case.values(w), label=case.option))
    refused(w, args)
    port = next((a.split("=", 1)[1] for a in args if a.startswith("--port=")), None)
    if port is not None and port.isdigit() and 0 < int(port) <= 65535 and int(port) != w.taken_port:
        with socket.socket() as again:
            again.bind(("127.0.0.1", int(port)))  # the refused command let its port go


def test_every_option_of_every_miner_command_is_covered() -> None:
    from fabrica.miners.cli import app as miner_app

    assert not uncovered_options(miner_app, CASES)


def test_the_bases_that_end_work(world: World) -> None:
    """The solve and design command lines the cases start from succeed as they are."""
    runner = CliRunner()
    for case in (CASES[1], CASES[5]):
        args = ["miner", case.command, *(f"{k}={v}" for k, v in case.base(world).items())]
        if case.option == "--time-limit":
            args.append("--time-limit=0.3" if case.command == "solve" else "--time-limit=5")
        out = runner.invoke(app, args, env=world.env)
        assert out.exit_code == 0, (args, out.output)
