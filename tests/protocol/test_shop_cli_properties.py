"""Property tests: malformed values fed to every option of every `fabrica account`, `fabrica devnet` and
`fabrica node stake|unbond|withdraw|register|update|show|list` command.

Each (command, option) has a valid command line (checked to succeed in `test_every_base_command_line_is_valid`);
one value is replaced by a malformed one drawn by hypothesis, and the command must fail cleanly: a non-zero exit,
no traceback, one line (or click's short usage panel), and no balance, allowance, nonce, stake, node, key or file
changed, and no anvil started. `--name` of `node register|update` is the one option left out: any text is a name.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_input_testkit import State, numbered_file, reverted
from cli_refusal import PROPERTY, files_under, refused_cleanly
from fabrica.protocol.client import Fabrica
from fabrica.protocol.storage.unixfs import compute_cid
from hypothesis import given
from hypothesis import strategies as st
from protocol_testkit import USD, Chain, Cli, DevnetInfo, cli_home, free_port

PASSWORD = "correct horse battery"


@dataclass
class World:
    """The devnet with every base command line valid (a deposit, fees, stake due for withdrawal), a CLI home,
    a working folder and a folder for inputs; `devnet_port` is a free port no devnet may start on."""

    chain: Chain
    cli: Cli
    cwd: Path
    inputs: Path
    devnet_port: int

    def input_file(self, name: str, data: bytes) -> str:
        """Write an input outside the folders whose files must not change."""
        return numbered_file(self.inputs, name, data)


@pytest.fixture(scope="module")
def world(devnet: DevnetInfo, base: Fabrica, clients: dict[str, Fabrica],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("shop-cli-properties")
    with reverted(base.w3):
        chain = Chain(base, devnet, root / "chain-content", clients)
        cli_home(root / "home", devnet)
        chain.customer.accept_job(chain.delivered())  # `account withdraw-fees` has fees to send
        chain.customer.deposit(chain.usd, 10 * USD)  # `account withdraw` has something to withdraw
        chain.shop.request_unbond(100 * 10**18)
        chain.advance(8 * 86_400)  # `node withdraw` is due
        for folder in ("cwd", "inputs"):
            (root / folder).mkdir()
        yield World(chain, Cli(devnet.rpc_url, root / "home"), root / "cwd", root / "inputs", free_port())


@pytest.fixture
def w(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's world for one test, reverted afterwards in case a property fails half-way."""
    monkeypatch.chdir(world.cwd)
    with reverted(world.chain.w3):
        yield world


# ------------------------------------------------------------------------------------- malformed values

words = st.text(alphabet=string.ascii_letters + "_-. ", min_size=1, max_size=12).filter(lambda s: s.strip())
unprintable = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)

# Token amounts: not numbers, negative, zero, more decimals than the token has, more than any wallet holds.
amounts = st.one_of(
    st.sampled_from(["", "0", "-5", "NaN", "inf", "-inf", "sNaN", "1e999999999", "1,5", "0x19", "five", "1 000"]),
    st.integers(min_value=100_001, max_value=10**40).map(str),  # dev wallets hold 100 000 FAB and fUSD
    st.integers(max_value=-1).map(str), words, unprintable,
)
fab_amounts = st.one_of(amounts, st.just("1.0000000000000000001"))  # 19 decimals: below a FAB base unit
usd_amounts = st.one_of(amounts, st.decimals(min_value=0, max_value=1000, places=9).filter(
    lambda d: d * 10**6 != int(d * 10**6)).map(str))  # more decimals than fUSD's 6
unbond_amounts = st.one_of(fab_amounts, st.integers(min_value=1_901, max_value=10**6).map(str))  # > free stake
not_accounts = st.one_of(
    st.sampled_from(["", "nobody", "10", "15", "99", "-1", "customer ", "/no/such/keystore.json", "x\0y"]),
    words.filter(lambda s: s not in {"deployer", "guardian", "arbiter", "customer", "shop", "designer"}),
    st.just(("folder", b"")), st.just((".json", b'{"not": "a keystore"}')), st.just((".json", b"\xff\xfe")),
)
rpc_urls = st.one_of(st.sampled_from(["", "not a url", "ftp://127.0.0.1:1", "http://", "127.0.0.1:8545",
                                      "http://[::1", "http://127.0.0.1:99999"]),
                     st.builds(lambda: f"http://127.0.0.1:{free_port()}"), words)
homes = st.one_of(st.just(("missing", b"")), st.just(("file", b"")), st.just(("under-file", b"")),
                  st.just("x\0y"))
not_addresses = st.one_of(words, st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()[:-1]),
                          st.sampled_from(["0x", "0xZZ", "0x" + "g" * 40, "0x" + "0" * 40, ""]))
tokens = st.one_of(not_addresses.filter(lambda s: s != "0x" + "0" * 40), st.sampled_from(["FAB", "fusd", "USD"]))
ids = st.one_of(st.sampled_from(["0", "-1", "1.5", "0x1", "", str(2**64), str(2**256), str(2**300)]),
                st.integers(min_value=3, max_value=2**80).map(str), words)
ports = st.one_of(st.sampled_from(["0", "-1", "65536", "99999", "", "80.5", "http"]),
                  st.integers(min_value=65_536, max_value=2**70).map(str), st.integers(max_value=0).map(str), words)
KNOWN = {"FDM", "SLA", "SLS", "MJF", "PCB", "PLA", "PETG", "ABS", "ASA", "TPU", "NYLON", "PC", "PA12", "POM", "WOOD",
         "PLYWOOD", "MDF", "ACRYLIC", "BRASS", "COPPER", "TITANIUM"}  # the names short enough for `words` to draw
flag_names = words.filter(lambda s: s.strip().upper().replace("-", "_") not in KNOWN)
processes = st.one_of(flag_names, st.sampled_from(["", ",", " , ", "FDM;SLA", "FDM,WELDING", "PLA"]))
materials = st.one_of(flag_names, st.sampled_from(["PLA;PETG", "PLA,GOLD", "FDM"]))
volumes = st.one_of(
    st.sampled_from(["", "-10x10x10", "0x10x10", "10x10", "10x10x10x10", "axbxc", "1.5x2x3", "10 x 10", "１0x10x10",
                     "4294967296x1x1", "10X10X-1", "x10x10"]),
    st.tuples(st.integers(max_value=0), st.integers(1, 500), st.integers(1, 500)).map(lambda t: "x".join(map(str, t))),
    words, unprintable,
)
keys = st.one_of(st.sampled_from(["", "0x", "zz", "00", "0x" + "00" * 32, "11" * 31, "11" * 33]),
                 st.binary(max_size=40).filter(lambda b: len(b) != 32).map(bytes.hex), words)
metadata = st.one_of(st.sampled_from(["", "Qm-nope", "bafy", "not a cid"]), st.just(("missing", b"")),
                     st.just(("folder", b"")), words)
keystore_paths = st.one_of(st.just(("existing", b"{}")), st.just(("folder", b"")), st.just(("missing-parent", b"")),
                           st.just(("under-file", b"")), st.sampled_from(["", "a\0b.json"]))
password_files = st.one_of(st.just(("missing", b"")), st.just(("folder", b"")), st.just((".txt", b"")),
                           st.just((".txt", b"short\n")), st.just((".txt", b"\n" + PASSWORD.encode())),
                           st.just((".txt", b"\xff\xfe\x00")))

Value = str | tuple[str, bytes]


def realise(w: World, value: Value) -> str:
    """A drawn value as a command-line string (files and folders are made first, outside the watched folders)."""
    if isinstance(value, str):
        return value
    kind, data = value
    if kind == "missing":
        return str(w.inputs / "does-not-exist")
    if kind == "folder":
        return str(w.inputs)
    if kind == "missing-parent":
        return str(w.inputs / "no-such-folder/new.json")
    if kind in ("file", "existing"):
        return w.input_file("a-file", data)
    if kind == "under-file":
        return w.input_file("a-file", data) + "/inside"
    return w.input_file(f"input{kind}", data)


# --------------------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One option of one command: the valid command line around it, and the malformed values to try."""

    group: str
    command: str
    option: str  # "ARG" for the positional argument
    base: Callable[[World], list[str]]
    bad: st.SearchStrategy
    account: str | None = None
    connects: bool = True  # takes --rpc-url and --home

    @property
    def id(self) -> str:
        return f"{self.group} {self.command} {self.option}"


def line(*args: str) -> Callable[[World], list[str]]:
    return lambda w: list(args)


SHARED = [("--rpc-url", rpc_urls), ("--home", homes), ("--account", not_accounts)]
# Each chain command's complete valid command line and who signs it (None: signs nothing, has no --account).
ACCOUNT = {
    "balance": (line("account", "balance"), None),
    "deposit": (line("account", "deposit", "5"), "customer"),
    "withdraw": (line("account", "withdraw"), "customer"),
    "withdraw-fees": (line("account", "withdraw-fees"), "7"),
}
NODE = {
    "stake": (line("node", "stake", "100"), "shop"),
    "unbond": (line("node", "unbond", "100"), "shop"),
    "withdraw": (line("node", "withdraw"), "shop"),
    "register": (line("node", "register"), "6"),
    "update": (line("node", "update", "1"), "shop"),
    "show": (line("node", "show", "1"), None),
    "list": (line("node", "list"), None),
}
CAPABILITIES = [("--process", processes), ("--material", materials), ("--volume", volumes),
                ("--encryption-key", keys), ("--metadata", metadata)]


def shared(group: str, commands: dict) -> list[Case]:
    """Every chain command's connection options (commands that sign nothing take no --account)."""
    return [Case(group, name, option, base, strategy, account)
            for name, (base, account) in commands.items() for option, strategy in SHARED
            if option != "--account" or account is not None]


def devnet(verb: str) -> Callable[[World], list[str]]:
    return lambda w: ["devnet", verb, f"--home={w.inputs / 'devnet-home'}", f"--port={w.devnet_port}"]


CASES = [
    Case("account", "new", "ARG", line("account", "new"), keystore_paths, connects=False),
    Case("account", "new", "--password-file", lambda w: ["account", "new", str(w.inputs / "fresh.json")],
         password_files, connects=False),
    Case("account", "balance", "--account", line("account", "balance"), not_accounts),
    *[Case("account", name, "--token", base, tokens, account) for name, (base, account) in ACCOUNT.items()],
    Case("account", "deposit", "ARG", line("account", "deposit"), usd_amounts, "customer"),
    Case("account", "withdraw", "--to", line("account", "withdraw"), not_addresses, "customer"),
    *shared("account", ACCOUNT),
    Case("node", "stake", "ARG", line("node", "stake"), fab_amounts, "shop"),
    Case("node", "unbond", "ARG", line("node", "unbond"), unbond_amounts, "shop"),
    *[Case("node", "register", option, line("node", "register"), strategy, "6") for option, strategy in CAPABILITIES],
    Case("node", "update", "ARG", line("node", "update"), ids, "shop"),
    *[Case("node", "update", option, line("node", "update", "1"), strategy, "shop")
      for option, strategy in CAPABILITIES],
    Case("node", "show", "ARG", line("node", "show"), ids),
    *shared("node", NODE),
    *[Case("devnet", verb, "--home", devnet(verb), homes.filter(lambda h: h != ("missing", b"")), connects=False)
      for verb in ("up", "down", "status")],
    *[Case("devnet", verb, "--port", devnet(verb), ports, connects=False) for verb in ("up", "down", "status")],
    Case("devnet", "status", "--rpc-url", lambda w: ["devnet", "status", f"--home={w.inputs / 'devnet-home'}"],
         st.one_of(st.sampled_from(["", "not a url", "ftp://127.0.0.1:1", "http://", "http://[::1",
                                    "http://127.0.0.1:99999", "https://"]), words), connects=False),
]


def command_line(w: World, case: Case, value: str) -> list[str]:
    """The case's valid command line with `value` in its option's place (and the connection options)."""
    argv = case.base(w)
    account, rpc, home = case.account, w.cli.rpc_url, str(w.cli.home)
    if case.option == "ARG":
        argv = [*argv[:2], value, *argv[2:]]
    elif case.option == "--rpc-url" and case.connects:
        rpc = value
    elif case.option == "--home" and case.connects:
        home = value
    elif case.option == "--account":
        account = value
    else:
        argv = [*argv, f"{case.option}={value}"]
    if case.connects:
        argv += [f"--rpc-url={rpc}", f"--home={home}"]
    if account is not None:
        argv.append(f"--account={account}")
    return argv


def snapshot(w: World) -> tuple:
    """Everything a refused command must leave as it was: the devnet's funds and nodes, files, the devnet port."""
    registry = w.chain.base.registry.functions
    nodes = [registry.nodeOf(i).call() for i in range(1, registry.nodeCount().call() + 1)]
    return State.of(w.chain, w.cwd, w.cli.home), nodes, files_under(w.inputs / "devnet-home")


def invoke(argv: list[str]):
    from fabrica.protocol.cli.main import app
    from typer.testing import CliRunner

    # A keystore password for `account new`; a password file, when given, is read instead.
    return CliRunner().invoke(app, argv, env={"FABRICA_PASSWORD": PASSWORD})


def check(w: World, case: Case, drawn: Value) -> None:
    import socket

    argv = command_line(w, case, realise(w, drawn))
    refused_cleanly(lambda: invoke(argv), lambda: snapshot(w), f"fabrica {' '.join(argv)}")
    assert not (w.inputs / "fresh.json").exists() and not (w.inputs / "devnet-home").exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", w.devnet_port)) != 0, "an anvil was started"


def test_every_base_command_line_is_valid(w: World) -> None:
    """Each chain command's base line succeeds as it stands, so a refusal in the properties is the bad value's."""
    for case in CASES:
        if not case.connects or case.option == "ARG" or case.option in dict(SHARED):
            continue
        with reverted(w.chain.w3):
            argv = [a for a in command_line(w, case, "") if not a.startswith(f"{case.option}=")]
            result = invoke(argv)
            assert result.exit_code == 0, f"base of {case.id} fails: {argv}\n{result.output}"
    new = invoke(["account", "new", str(w.inputs / "valid.json")])
    assert new.exit_code == 0, new.output
    status = invoke(["devnet", "status", f"--home={w.inputs / 'devnet-home'}", f"--port={w.devnet_port}"])
    assert status.exit_code == 0 and "nothing answers" in status.stdout


@pytest.mark.parametrize("case", [c for c in CASES if c.group == "account"], ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_account_options_refuse_malformed_values_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    check(w, case, data.draw(case.bad, label=case.id))


@pytest.mark.parametrize("case", [c for c in CASES if c.group == "node"], ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_node_options_refuse_malformed_values_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    check(w, case, data.draw(case.bad, label=case.id))


@pytest.mark.parametrize("case", [c for c in CASES if c.group == "devnet"], ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_devnet_options_refuse_malformed_values_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    check(w, case, data.draw(case.bad, label=case.id))


def test_stakes_and_deposits_larger_than_the_wallet_leave_no_allowance(w: World) -> None:
    """The funds property in one place: no approval survives a refused stake or deposit, whatever the amount."""
    fab = w.chain.shop.token_balance(w.chain.fab_token, w.chain.shop.address) // 10**18
    usd = w.chain.customer.token_balance(w.chain.usd, w.chain.customer.address) // USD
    for extra in (1, 1_000, 10**12):
        check(w, Case("node", "stake", "ARG", line("node", "stake"), st.nothing(), "shop"), str(fab + extra))
        check(w, Case("account", "deposit", "ARG", line("account", "deposit"), st.nothing(), "customer"),
              str(usd + extra))


def test_unstored_metadata_cids_are_fine_but_malformed_ones_are_not(w: World) -> None:
    """A well-formed CID is accepted as --metadata even when not stored here (it may live on IPFS)."""
    cid = str(compute_cid(b"metadata published elsewhere"))
    result = invoke(command_line(w, Case("node", "register", "--metadata", line("node", "register"), st.nothing(),
                                         "6"), cid))
    assert result.exit_code == 0, result.output
