"""Property tests: malformed values fed to every option of every `fabrica subnet` command.

Each case starts from a command line that works against the in-process local stand-in (`test_the_bases_work`
proves it for the ones that end), replaces one option's value by a malformed one drawn by hypothesis, and
the command must refuse cleanly: a non-zero exit, no traceback, one line (or click's short usage panel), and
nothing changed on the chain (neurons, stakes, axons, weights, blocks, balances) or on disk.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fabrica.protocol.cli.main import app
from fabrica.protocol.subnet.localnet.devkeys import dev_wallet
from cli_refusal import PROPERTY, uncovered_options
from hypothesis import given
from hypothesis import strategies as st
from subnet_cli_kit import (
    BAD_HOSTS,
    FAST_BAD_NETWORKS,
    NETUID,
    SubnetCase as Case,
    World,
    ints_outside,
    not_dev_name,
    not_positive,
    one_of,
    refused,
    world_fixtures,
)
from typer.testing import CliRunner

world, w = world_fixtures("subnet-properties")


def localnet_base(w: World) -> dict[str, str]:
    return {"--port": "0", "--host": "127.0.0.1", "--block-time": "1", "--tempo": "10", "--netuid": "1",
            "--home": str(w.home)}


def wallet_base(w: World, hotkey: str) -> dict[str, str]:
    return {"--network": w.url, "--netuid": str(NETUID), "--wallet": "w", "--hotkey": hotkey,
            "--wallet-path": str(w.wallets)}


def dev_base(w: World) -> dict[str, str]:
    return {"--network": w.url, "--netuid": str(NETUID)}


def register_base(w: World) -> dict[str, str]:
    return wallet_base(w, "h")  # w/h is not registered: this line would register it


def stake_base(w: World) -> dict[str, str]:
    return {**wallet_base(w, "s"), "--amount": "1"}


def networks(w: World) -> st.SearchStrategy[str]:
    # `local` names FABRICA_SUBNET_LOCALNET_URL, where nothing answers in these tests
    return one_of(*FAST_BAD_NETWORKS, "ws://", "ws://127.0.0.1:1", w.down, "local")


def netuids(w: World) -> st.SearchStrategy[str]:
    return ints_outside(0, 65535, "77")  # 77: well-formed, but no such subnet


def wallet_names(w: World) -> st.SearchStrategy[str]:
    return one_of("nosuch", "", "a/b/c", "../..", "w/", "/w", "w w", "W")


def hotkey_names(w: World) -> st.SearchStrategy[str]:
    return one_of("nosuch", "a/b", "..", "h h", "H")


def wallet_paths(w: World) -> st.SearchStrategy[str]:
    return one_of(str(w.inputs / "no such folder"), w.input("a file"), w.input("a folder"), "/dev/null")


def signer_cases(command: str, base: Callable[[World], dict[str, str]]) -> list[Case]:
    return [
        Case(command, "--network", networks, base),
        Case(command, "--netuid", netuids, base),
        Case(command, "--wallet", wallet_names, base),
        Case(command, "--hotkey", hotkey_names, base),
        Case(command, "--wallet-path", wallet_paths, base),
        Case(command, "--dev", lambda w: not_dev_name(), dev_base),
    ]


CASES = [
    Case("localnet", "--port", lambda w: ints_outside(0, 65535, str(w.taken_port)), localnet_base),
    Case("localnet", "--host", lambda w: one_of(*BAD_HOSTS), localnet_base),
    Case("localnet", "--block-time", lambda w: not_positive(), localnet_base),
    Case("localnet", "--tempo", lambda w: ints_outside(1, 65535), localnet_base),
    Case("localnet", "--netuid", lambda w: ints_outside(1, 4095), localnet_base),
    Case("localnet", "--set", lambda w: one_of("tempo", "=5", "tempo=abc", "nosuch=1", "tempo=1.5", "tempo=0",
                                               "tempo=70000", "weights_rate_limit=-1", "registration_allowed=2",
                                               "kappa=true"), localnet_base),
    Case("localnet", "--home", lambda w: one_of(w.input("a file"), w.input("a file") + "/below", "/dev/null/x"),
         localnet_base),
    *signer_cases("register", register_base),
    *signer_cases("stake", stake_base),
    Case("stake", "--amount", lambda w: not_positive("1e30"), stake_base),
    Case("stake", "--to", lambda w: one_of("", "nope", "5" * 48, dev_wallet("nobody").hotkey.ss58_address,
                                           "0x" + "00" * 32), stake_base),
    Case("metagraph", "--network", networks, dev_base),
    Case("metagraph", "--netuid", netuids, dev_base),
    Case("advance", "--blocks", lambda w: ints_outside(1, 100_000), lambda w: {"--network": w.url}),
    Case("advance", "--network", lambda w: one_of(*FAST_BAD_NETWORKS, "finney", "ws://127.0.0.1:1", w.down, "local"),
         lambda w: {"--blocks": "1"}),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(data=st.data())
def test_malformed_values_are_refused_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    refused(w, case.args(w, data.draw(case.values(w), label=case.option)))


def test_every_option_of_every_subnet_command_is_covered() -> None:
    from fabrica.protocol.cli.subnet import app as subnet_app

    assert not uncovered_options(subnet_app, CASES)


def test_the_bases_work(world: World, tmp_path: Path) -> None:
    """The starting command lines are valid: with nothing malformed, metagraph and stake succeed."""
    runner = CliRunner()
    out = runner.invoke(app, ["subnet", "metagraph", *(f"{k}={v}" for k, v in dev_base(world).items())], env=world.env)
    assert out.exit_code == 0 and dev_wallet("alice").hotkey.ss58_address in out.stdout, out.output
    out = runner.invoke(app, ["subnet", "stake", *(f"{k}={v}" for k, v in stake_base(world).items())], env=world.env)
    assert out.exit_code == 0 and "staked 1 TAO" in out.stdout, out.output
