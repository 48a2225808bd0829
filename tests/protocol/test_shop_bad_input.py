"""Bad input to `fabrica account|devnet|node stake…register`, each against real parts (anvil, files, sockets): one
clear line, a non-zero exit, no traceback, and no funds, allowance, node, key or file changed (issue 11 §5)."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bad_input_testkit import State
from cli_refusal import failed_cleanly, files_under, refused_cleanly
from eth_abi import encode
from eth_utils import keccak
from fabrica.protocol.accounts import create_keystore, load_keystore
from fabrica.protocol.cli.main import app
from fabrica.protocol.devnet import Devnet, find_anvil
from fabrica.protocol.storage.sealing import public_key_from_private
from protocol_testkit import FAB, USD, Chain, Cli, free_port
from typer.testing import CliRunner

PASSWORD = "correct horse battery"
UINT96_MAX = (1 << 96) - 1


def shop_state(chain: Chain, *folders: Path) -> tuple:
    """Everything a refused account or node command must leave as it was, nodes included."""
    registry = chain.base.registry.functions
    nodes = [registry.nodeOf(i).call() for i in range(1, registry.nodeCount().call() + 1)]
    return State.of(chain, *folders), nodes


def refused(cli: Cli, chain: Chain, tmp_path: Path, *args: str, account: str | None = None) -> str:
    """Run a command that must be refused; check the contract and that nothing changed; return the message."""
    return refused_cleanly(lambda: cli(*args, account=account, ok=False), lambda: shop_state(chain, tmp_path),
                           f"fabrica {' '.join(args)}")


def allowance(chain: Chain, who: str) -> int:
    fab = chain.base.erc20(chain.fab_token)
    return fab.functions.allowance(who, chain.base.registry.address).call()


def stake_slot(chain: Chain, operator: str) -> int:
    """The registry's storage slot of `operator`'s packed (staked, locked) stake, found from the shop's known stake."""
    shop = chain.shop.address
    staked = chain.base.stake_of(shop).staked
    for index in range(32):
        slot = int.from_bytes(keccak(encode(["address", "uint256"], [shop, index])), "big")
        word = int.from_bytes(chain.w3.eth.get_storage_at(chain.base.registry.address, slot), "big")
        if word & UINT96_MAX == staked:
            return int.from_bytes(keccak(encode(["address", "uint256"], [operator, index])), "big")
    raise AssertionError("no stake mapping slot holds the shop's stake")


# --------------------------------------------------------------------------------------------- funds


def test_stake_more_than_the_wallet_holds_approves_nothing(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    newcomer = chain.newcomer.address
    held = chain.base.token_balance(chain.fab_token, newcomer) // FAB
    message = refused(cli, chain, tmp_path, "node", "stake", str(held + 1), account="6")
    assert f"needs {held + 1} FAB" in message and f"which holds {held} FAB" in message, message
    assert "top up the wallet" in message and str(held * FAB) not in message  # token units, not base units
    assert allowance(chain, newcomer) == 0


def test_stake_approves_exactly_and_a_failed_stake_sets_the_allowance_back(cli: Cli, chain: Chain,
                                                                          tmp_path: Path) -> None:
    newcomer = chain.newcomer
    # A stake that succeeds uses up an approval of exactly its amount.
    cli.json("node", "stake", "1500", account="6")
    assert allowance(chain, newcomer.address) == 0
    assert newcomer.stake_of(newcomer.address).staked == 1_500 * FAB

    # Now a stake the registry refuses after the approval was mined: the operator's stake is put just under the
    # registry's uint96 cap, so staking 10 FAB more reverts NodeRegistry__AmountTooLarge.
    newcomer.approve(chain.fab_token, newcomer.registry.address, 3 * FAB)  # an allowance the user had set before
    slot = stake_slot(chain, newcomer.address)
    chain.w3.provider.make_request("anvil_setStorageAt", [
        newcomer.registry.address, hex(slot), "0x" + (UINT96_MAX - 5 * FAB).to_bytes(32, "big").hex()])
    ledger = chain.ledger()
    message = failed_cleanly(cli("node", "stake", "10", account="6", ok=False))
    assert "NodeRegistry__AmountTooLarge(amount=10 FAB" in message, message
    assert allowance(chain, newcomer.address) == 3 * FAB  # set back to what it was
    assert chain.ledger() == ledger  # balances and stakes as before


def test_deposit_more_than_the_wallet_holds_approves_nothing(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    c = chain.customer
    held = c.token_balance(chain.usd, c.address) // USD
    message = refused(cli, chain, tmp_path, "account", "deposit", str(held + 1), account="customer")
    assert f"depositing {held + 1} fUSD needs {held + 1} fUSD from the wallet" in message
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 0
    deposited = cli.json("account", "deposit", "20", account="customer")
    assert deposited["value"] is None and c.market_balance(chain.usd, c.address) == 20 * USD
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 0


# ----------------------------------------------------------------------------------------- tracebacks


@pytest.mark.parametrize("volume", ["-10x10x10", "0x10x10", "10x10", "10x10x10x10", "axbxc", "1.5x2x3",
                                    "99999999999x1x1", ""])
def test_register_volume_must_be_three_positive_millimetres(cli: Cli, chain: Chain, tmp_path: Path,
                                                            volume: str) -> None:
    message = refused(cli, chain, tmp_path, "node", "register", "--volume", volume, account="shop")
    assert f"--volume {volume!r}" in message and "250x210x220" in message and "millimetres" in message
    assert not (cli.home / "keys").exists()  # nothing written before the checks


def test_account_new_into_a_missing_folder_or_onto_a_folder(cli: Cli, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRICA_PASSWORD", PASSWORD)
    before = files_under(tmp_path)
    result = CliRunner().invoke(app, ["account", "new", str(tmp_path / "no/such/folder/shop.json")])
    assert "folder " + str(tmp_path / "no/such/folder") + " does not exist; create it first" in failed_cleanly(result)
    result = CliRunner().invoke(app, ["account", "new", str(tmp_path)])
    assert "is a folder; name the keystore file to create in it" in failed_cleanly(result)
    (tmp_path / "a-file").write_text("x")
    before = files_under(tmp_path)
    result = CliRunner().invoke(app, ["account", "new", str(tmp_path / "a-file/shop.json")])
    assert "is not a folder" in failed_cleanly(result)
    assert files_under(tmp_path) == before


def keystore_with_tokens_but_no_eth(chain: Chain, path: Path) -> str:
    """A new keystore account holding 50 FAB and 5 fUSD from the customer, and no ETH at all."""
    account = create_keystore(path, PASSWORD)
    chain.customer._send(chain.customer.fab, "transfer", account.address, 50 * FAB)
    chain.customer._send(chain.customer.erc20(chain.usd), "transfer", account.address, 5 * USD)
    assert chain.w3.eth.get_balance(account.address) == 0
    return account.address


def test_an_account_without_eth_for_gas_is_named(cli: Cli, chain: Chain, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    keystore = tmp_path / "poor.json"
    address = keystore_with_tokens_but_no_eth(chain, keystore)
    monkeypatch.setenv("FABRICA_PASSWORD", PASSWORD)
    for args in (("account", "deposit", "1"), ("node", "stake", "10"), ("node", "register")):
        message = refused(cli, chain, tmp_path, *args, account=str(keystore))
        assert f"account {address} has 0 ETH for gas on chain 31337" in message, message
        assert "send it some ETH first" in message
    assert not (cli.home / "keys").exists()  # register's key was removed with the refusal


def test_dev_index_beyond_the_funded_accounts(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    for index in ("12", "15", "19"):
        message = refused(cli, chain, tmp_path, "account", "deposit", "1", account=index)
        assert f"dev account {index} does not exist: the devnet funds 12 dev accounts, 0..11" in message
    message = refused(cli, chain, tmp_path, "node", "stake", "1", account="-1")
    assert "a dev index (0..11)" in message


def test_devnet_home_naming_a_file(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a folder")
    port = free_port()
    for home, says in [(tmp_path / "state", "is a file"), (tmp_path / "state/sub", "which is a file")]:
        for verb in ("up", "down", "status"):
            result = CliRunner().invoke(app, ["devnet", verb, "--home", str(home), "--port", str(port)])
            message = failed_cleanly(result)
            assert f"--home {home}" in message and says in message and "must be a folder" in message
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # no anvil was started
    assert files_under(tmp_path) == [f"{tmp_path / 'state'}:12"]


# ----------------------------------------------------------------------------------------- misleading


def test_keystore_passwords_come_from_the_environment_or_a_file_never_a_flag(cli: Cli, chain: Chain, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    keystore = tmp_path / "shop.json"
    created = CliRunner().invoke(app, ["account", "new", str(keystore), "--password-file", str(secret), "--json"])
    assert created.exit_code == 0, created.output
    address = json.loads(created.stdout)["address"]

    message = refused(cli, chain, tmp_path, "account", "balance", account=str(keystore))
    assert "set FABRICA_PASSWORD, or FABRICA_PASSWORD_FILE to a file holding it" in message
    assert "--password" not in message
    monkeypatch.setenv("FABRICA_PASSWORD_FILE", str(secret))
    balance = cli.json("account", "balance", account=str(keystore))
    assert balance["balances"][0]["address"] == address
    monkeypatch.setenv("FABRICA_PASSWORD_FILE", str(tmp_path / "nope.txt"))
    assert "cannot read password file" in refused(cli, chain, tmp_path, "account", "balance", account=str(keystore))
    (tmp_path / "empty.txt").write_text("")
    result = CliRunner().invoke(app, ["account", "new", str(tmp_path / "k2.json"), "--password-file",
                                      str(tmp_path / "empty.txt")])
    assert "is empty or starts with an empty line" in failed_cleanly(result)
    assert not (tmp_path / "k2.json").exists()


def test_account_new_asks_in_a_terminal_and_refuses_without_one(tmp_path: Path) -> None:
    """No password anywhere: a terminal is asked (twice, hidden); piped input gets one clear line instead."""
    result = CliRunner().invoke(app, ["account", "new", str(tmp_path / "piped.json")], input=PASSWORD + "\n")
    assert "no keystore password: pass --password-file FILE, set FABRICA_PASSWORD" in failed_cleanly(result)
    assert not (tmp_path / "piped.json").exists()

    fabrica = Path(sys.executable).with_name("fabrica")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABRICA_")}
    controller, terminal = pty.openpty()

    def controlling_terminal() -> None:  # the pty becomes the child's /dev/tty, which getpass reads hidden
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([str(fabrica), "account", "new", str(tmp_path / "asked.json"), "--json"],
                            stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=tmp_path,
                            preexec_fn=controlling_terminal)
    os.close(terminal)
    seen = b""
    try:
        for prompt in (b"Keystore password:", b"Repeat for confirmation:"):
            deadline = time.monotonic() + 60
            # The prompt is shown, then echo is switched off: type only once the terminal no longer echoes.
            while prompt not in seen or termios.tcgetattr(controller)[3] & termios.ECHO:
                assert time.monotonic() < deadline, seen
                if select.select([controller], [], [], 0.05)[0]:
                    seen += os.read(controller, 1024)
            os.write(controller, PASSWORD.encode() + b"\n")
        assert proc.wait(timeout=60) == 0
        while select.select([controller], [], [], 0.5)[0]:
            try:
                seen += os.read(controller, 1024)
            except OSError:  # the terminal closed with the process
                break
    finally:
        proc.kill()
        os.close(controller)
    assert PASSWORD.encode() not in seen  # hidden input
    address = json.loads(seen[seen.index(b"{"):].decode())["address"]
    assert load_keystore(tmp_path / "asked.json", PASSWORD).address == address


def test_account_naming_a_folder_or_a_file_that_is_no_keystore(cli: Cli, chain: Chain, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    message = refused(cli, chain, tmp_path, "node", "stake", "1", account=str(tmp_path))
    assert f"account {tmp_path} is a folder, expected a keystore file" in message
    monkeypatch.setenv("FABRICA_PASSWORD", PASSWORD)
    (tmp_path / "notes.json").write_text('{"hello": "world"}')
    message = refused(cli, chain, tmp_path, "node", "stake", "1", account=str(tmp_path / "notes.json"))
    assert "is not a keystore file" in message


def test_devnet_port_out_of_range(tmp_path: Path) -> None:
    for port in ("99999", "0", "-1", "65536"):
        for verb in ("up", "down", "status"):
            result = CliRunner().invoke(app, ["devnet", verb, "--home", str(tmp_path / "h"), f"--port={port}"])
            assert f"port {port} must be 1–65535" in failed_cleanly(result)
    assert not (tmp_path / "h").exists()


# ------------------------------------------------------------------------- a devnet it did not start


@pytest.fixture
def foreign_anvil() -> Iterator[str]:
    """An anvil with the devnet's chain id that `fabrica devnet up` did not start."""
    port = free_port()
    proc = subprocess.Popen([find_anvil(), "--port", str(port), "--chain-id", "31337"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "anvil did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rpc(url: str, method: str, *params) -> object:
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                      timeout=5).json()["result"]


def test_devnet_never_takes_over_an_anvil_it_did_not_start(foreign_anvil: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    port = foreign_anvil.rsplit(":", 1)[1]
    home = tmp_path / "home"
    runner = CliRunner()
    message = failed_cleanly(runner.invoke(app, ["devnet", "up", "--home", str(home), "--port", port]))
    assert f"port {port} is taken: an Ethereum node, chain 31337 answers at {foreign_anvil}" in message
    assert "did not start it" in message and "--port" in message
    assert rpc(foreign_anvil, "eth_blockNumber") == "0x0"  # nothing was deployed onto it
    assert not (home / "deployments").exists()

    down = runner.invoke(app, ["devnet", "down", "--home", str(home), "--port", port])
    assert down.exit_code == 0, down.output
    assert f"nothing to stop: no devnet started from home {home} runs at {foreign_anvil}" in down.stdout
    assert "an Ethereum node, chain 31337 answers there, which this home did not start (left running)" in down.stdout
    assert rpc(foreign_anvil, "eth_chainId") == "0x7a69"  # still running

    # status follows FABRICA_RPC_URL and --rpc-url, and says who started what answers there.
    monkeypatch.setenv("FABRICA_RPC_URL", foreign_anvil)
    status = json.loads(runner.invoke(app, ["devnet", "status", "--home", str(home), "--json"]).stdout)
    assert status == {"up": False, "rpc_url": foreign_anvil, "pid": None, "other": "an Ethereum node, chain 31337"}
    monkeypatch.delenv("FABRICA_RPC_URL")
    shown = runner.invoke(app, ["devnet", "status", "--home", str(home), "--rpc-url", foreign_anvil])
    assert shown.exit_code == 0 and "which this home did not start" in shown.stdout
    message = failed_cleanly(runner.invoke(app, ["devnet", "status", "--rpc-url", "ftp://127.0.0.1:1"]))
    assert "must look like http://127.0.0.1:8545" in message


def test_devnet_up_refuses_a_port_held_by_something_else(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        message = failed_cleanly(CliRunner().invoke(app, ["devnet", "up", "--home", str(tmp_path), "--port",
                                                          str(port)]))
    assert f"port {port} is taken: a program that is not an Ethereum JSON-RPC node answers" in message
    assert files_under(tmp_path) == []


def test_devnet_state_is_kept_per_port(tmp_path: Path) -> None:
    """Two ports, one home: each port's anvil has its own pid file, and `down` on one leaves the other."""
    home, first, second = tmp_path / "home", free_port(), free_port()
    runner = CliRunner()
    try:
        up = runner.invoke(app, ["devnet", "up", "--home", str(home), "--port", str(first), "--json"])
        assert up.exit_code == 0, up.output
        assert (home / f"devnet/anvil-{first}.pid").exists() and (home / f"devnet/deployment-{first}.json").exists()
        other = runner.invoke(app, ["devnet", "down", "--home", str(home), "--port", str(second)])
        assert other.exit_code == 0 and "nothing to stop" in other.stdout
        status = json.loads(runner.invoke(app, ["devnet", "status", "--home", str(home), "--port", str(first),
                                                "--json"]).stdout)
        assert status["up"] is True and status["pid"] == int((home / f"devnet/anvil-{first}.pid").read_text())
        stopped = runner.invoke(app, ["devnet", "down", "--home", str(home), "--port", str(first)])
        assert stopped.exit_code == 0
        assert f"stopped the devnet's anvil (pid {status['pid']}) at http://127.0.0.1:{first}" in stopped.stdout
        assert f"removed its manifest {home / 'deployments/31337.json'}" in stopped.stdout
        assert not (home / f"devnet/anvil-{first}.pid").exists()
    finally:
        Devnet(home, port=first).down()


# ------------------------------------------------------------------------------------------ node keys


def test_failed_register_leaves_no_key_and_a_registered_node_keeps_its_key(cli: Cli, chain: Chain, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    keys = cli.home / "keys"
    # Refused by the chain (an account with no ETH for gas), then by the registry (not the node's operator).
    keystore_with_tokens_but_no_eth(chain, tmp_path / "poor.json")
    monkeypatch.setenv("FABRICA_PASSWORD", PASSWORD)
    refused(cli, chain, tmp_path, "node", "register", account=str(tmp_path / "poor.json"))
    message = refused(cli, chain, tmp_path, "node", "update", "1", account="customer")
    assert "NodeRegistry__NotNodeOperator" in message
    assert not keys.exists()  # neither the key nor the folder made for it is left behind

    registered = cli.json("node", "register", "--volume", "200x200x180", account="6")
    files = list(keys.iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    node = chain.base.node(registered["node_id"])
    assert public_key_from_private(bytes.fromhex(files[0].read_text())) == node.encryption_key
    assert registered["encryption_key"] == node.encryption_key.hex()


# ------------------------------------------------------------------------------- the README's path


def test_claim_before_staking_says_the_order_in_fab(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    registered = cli("node", "register", account="6")  # the newcomer registers first, without a stake
    assert registered.exit_code == 0
    assert "has 0 FAB staked; claiming jobs needs at least 1000 FAB: run `fabrica node stake 1000`" in registered.stdout
    node_id = chain.base.nodes()[-1].node_id
    job_id = chain.post()
    message = refused(cli, chain, tmp_path, "job", "claim", str(job_id), "--node", str(node_id), account="6")
    assert f"JobMarket__NodeInactive(nodeId={node_id})" in message
    assert "has 0 FAB staked; claiming jobs needs at least 1000 FAB: run `fabrica node stake 1000`" in message
    assert "the order is stake, register, claim" in message
    assert str(1_000 * FAB) not in message


def test_withdraw_before_the_unbonding_delay_shows_dates(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    cli.json("node", "unbond", "100", account="shop")
    message = refused(cli, chain, tmp_path, "node", "withdraw", account="shop")
    assert "NodeRegistry__UnbondingNotDue" in message and message.count("UTC") == 2
    assert str(chain.base.stake_of(chain.shop.address).unbond_at) not in message
    shown = cli.json("node", "show", "1")
    assert shown["stake"]["unbonding"] == "100" and shown["stake"]["unbond_at_utc"].endswith("UTC")


def test_node_ids_and_unknown_nodes(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    assert "node id 0 must be a positive integer" in refused(cli, chain, tmp_path, "node", "show", "0")
    message = refused(cli, chain, tmp_path, "node", "show", "99")
    assert "NodeRegistry__UnknownNode(nodeId=99)" in message and "`fabrica node list`" in message
    message = refused(cli, chain, tmp_path, "node", "update", str(2**256), account="shop")
    assert "node id" in message


def test_key_files_are_private(cli: Cli, chain: Chain) -> None:
    """The node key is never readable by others, whatever the umask."""
    old = os.umask(0)
    try:
        cli.json("node", "register", account="6")
    finally:
        os.umask(old)
    (key,) = (cli.home / "keys").iterdir()
    assert key.stat().st_mode & 0o777 == 0o600
