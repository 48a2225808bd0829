"""Property tests: malformed values fed to every option of every `fabrica job` and `fabrica design` command.

For each (command, option) a valid command line is built against jobs set up in the state that command
needs (open, claimed, delivered, disputed, past its deadlines), one value is replaced by a malformed one
drawn by hypothesis, and the command must fail cleanly: a non-zero exit, no traceback, one line (or click's
short usage panel), and no balance, allowance, nonce, job, design or file changed.
"""
from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from bad_input_testkit import State, numbered_file, reverted
from cli_refusal import PROPERTY, refused_cleanly
from fabrica.protocol.bounties import Bounties, BountyTerms
from fabrica.protocol.client import Fabrica
from fabrica.protocol.orders import OrderFile
from fabrica.protocol.storage.unixfs import compute_cid
from hypothesis import given
from hypothesis import strategies as st
from protocol_testkit import USD, Chain, Cli, DevnetInfo, cli_home, free_port

REPO = Path(__file__).resolve().parents[2]
BRACKET = REPO / "examples/bracket.stl"


@dataclass
class World:
    """The devnet with one job in each state a command needs, a CLI home, and folders for inputs."""

    chain: Chain
    cli: Cli
    cwd: Path
    inputs: Path
    jobs: dict[str, int]
    orders: Path  # holds order.json: a signed order for `job take`

    def input_file(self, name: str, data: bytes) -> str:
        """Write a malformed input outside the folders whose files must not change."""
        return numbered_file(self.inputs, name, data)


@pytest.fixture(scope="module")
def world(devnet: DevnetInfo, base: Fabrica, clients: dict[str, Fabrica],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cli-properties")
    with reverted(base.w3):
        chain = Chain(base, devnet, root / "home/content", clients)
        cli_home(root / "home", devnet)
        # Jobs past their deadlines first, then fresh ones in every other state.
        overdue = chain.claimed(window=3_600)
        review_over = chain.delivered(window=3_600)
        defaultable = chain.delivered()  # its arbiter stays silent: finalize applies the default ruling
        chain.customer.dispute_job(defaultable, chain.cid(b"nobody rules"))
        chain.advance(4 * 86_400)
        jobs = {"overdue": overdue, "review_over": review_over, "defaultable": defaultable, "open": chain.post(),
                "claimed": chain.claimed(), "delivered": chain.delivered(), "disputed": chain.delivered(),
                "ruled": chain.delivered()}
        chain.customer.dispute_job(jobs["disputed"], chain.cid(b"it broke"))
        chain.customer.dispute_job(jobs["ruled"], chain.cid(b"it broke too"))
        chain.arbiter.rule_dispute(jobs["ruled"], 1_000, 0)
        # A design the designer may list, and a bounty to fund and submit to (issue 14's commands).
        jobs["design"] = chain.designer.mint_design(chain.cid(b"a design to list"), 500).value
        sponsor = Bounties(chain.sponsor)
        jobs["bounty"] = sponsor.post(BountyTerms(
            token=chain.usd, brief_cid=chain.cid(b"a brief"), deadline=chain.base.now() + 30 * 86_400,
            approvers=(chain.sponsor.address,), quorum=1), 10 * USD).value
        for folder in ("cwd", "inputs", "orders"):
            (root / folder).mkdir()
        # A signed order (with a permit, so the customer needs no approval) for `job take`.
        c = chain.customer
        order = c.build_order(chain.usd, 5 * USD, chain.cid(b"an ordered part"), delivery_window=86_400,
                              expiry=c.now() + 30 * 86_400)
        (root / "orders/order.json").write_text(OrderFile.create(
            order, chain.deployment.chain_id, c.market.address, c.sign_order(order),
            c.sign_permit(chain.usd, order.amount, order.expiry)).to_json())
        yield World(chain, Cli(devnet.rpc_url, root / "home"), root / "cwd", root / "inputs", jobs, root / "orders")


@pytest.fixture
def w(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's world for one test, reverted afterwards in case a property fails half-way."""
    monkeypatch.chdir(world.cwd)
    with reverted(world.chain.w3):
        yield world


# ------------------------------------------------------------------------------------- malformed values

words = st.text(alphabet=string.ascii_letters + "_-. []/", min_size=1, max_size=12).filter(lambda s: s.strip())
unprintable = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)


def ints(*, above: int | None = None) -> st.SearchStrategy[str]:
    """Integers no command accepts here: negative, zero, past 2^64 and 2^256, not integers at all."""
    bad = st.one_of(
        st.sampled_from(["0", "-1", "1.5", "0x10", "1e3", "", str(2**64), str(2**256), str(2**300)]),
        st.integers(max_value=-1).map(str), words,
    )
    return st.one_of(bad, st.integers(min_value=above, max_value=2**80).map(str)) if above else bad


amounts = st.one_of(
    st.sampled_from(["", "0", "-5", "NaN", "inf", "sNaN", "1e999999999", "25,50", "0x19", "1.0000001", "five"]),
    st.integers(min_value=100_001, max_value=10**40).map(str),  # more than any dev wallet holds
    st.decimals(min_value=0, max_value=1000, places=9).filter(lambda d: d != d.quantize(1) and
                                                               d * 10**6 != int(d * 10**6)).map(str),
    st.integers(max_value=-1).map(str), words, unprintable,
)
fab_amounts = st.one_of(
    st.sampled_from(["", "0", "9.999", "-10", "nan", "1e11", "10.0000000000000000001", "ten"]),
    st.decimals(min_value=0, max_value=Decimal("9.99"), places=2).map(str),  # below the minimum collateral
    words, unprintable,
)
durations = st.one_of(
    st.sampled_from(["", "0", "-1d", "soon", "inf", "nan", "1e400d", "366d", "9999w", "3 days", "1y"]),
    st.integers(max_value=0).map(lambda n: f"{n}s"), words, unprintable,
)
short_windows = st.one_of(durations, st.integers(min_value=1, max_value=599).map(lambda n: f"{n}s"))
not_cids = st.one_of(st.sampled_from(["Qm-nope", "bafy", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5", "zzz", ""]),
                     words, unprintable)
unstored_cids = st.binary(min_size=1, max_size=64).map(lambda b: str(compute_cid(b"unstored " + b)))
cids = st.one_of(not_cids, unstored_cids)
bps = st.one_of(st.integers(min_value=10_001, max_value=2**70).map(str), st.integers(max_value=-1).map(str), words)
names = words.filter(lambda s: s.strip().upper().replace("-", "_") not in {
    "FDM", "SLA", "SLS", "MJF", "CNC_MILL", "CNC_LATHE", "LASER_CUT", "LASER_ENGRAVE", "SHEET_METAL", "PCB",
    "PLA", "PETG", "ABS", "ASA", "TPU", "NYLON", "PC", "PA12", "POM", "WOOD", "PLYWOOD", "MDF", "ACRYLIC", "BRASS",
    "COPPER", "TITANIUM", "STEEL_MILD", "STAINLESS_304", "ALUMINIUM_6061", "ALUMINIUM_7075", "RESIN_STANDARD",
    "RESIN_TOUGH", "RESIN_CASTABLE"})
not_accounts = st.one_of(st.sampled_from(["nobody", "99", "-1", "/no/such/keystore.json", "customer "]),
                         words.filter(lambda s: s not in {"deployer", "guardian", "arbiter", "customer", "shop",
                                                          "designer"}))
rpc_urls = st.one_of(st.sampled_from(["", "not a url", "ftp://127.0.0.1:1", "http://", "127.0.0.1:8545",
                                      "http://[::1"]),
                     st.builds(lambda: f"http://127.0.0.1:{free_port()}"), words)
not_addresses = st.one_of(words, st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()[:-1]),
                          st.sampled_from(["0x", "0xZZ", "0x" + "g" * 40]))


# Files are drawn as (suffix, bytes) and written into the world's input folder when the command runs.
FileValue = tuple[str, bytes]
part_files = st.one_of(
    st.tuples(st.sampled_from([".stl", ".3mf", ".step", ".gcode"]), st.binary(max_size=300)),
    st.tuples(st.sampled_from([".stl", ".STL"]), st.sampled_from([b"", b"solid x\nendsolid x\n", b"solid\n" * 3])),
    st.tuples(st.sampled_from([".txt", ".pdf", "", ".stl.bak"]), st.binary(max_size=100)),
    st.just(("missing", b"")),
)
spec_files = st.one_of(
    st.tuples(st.just(".json"), st.binary(max_size=200)),
    st.tuples(st.just(".json"), st.fixed_dictionaries({
        "title": st.one_of(st.just(""), st.integers()), "process": names, "material": names,
        "files": st.just([{"cid": "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "name": "x.stl"}]),
    }).map(lambda d: json.dumps(d).encode())),
    st.just(("missing", b"")),
)
proof_values = st.one_of(cids, st.just(("missing", b"")), st.tuples(st.just(".log"), st.just(b"")),
                         st.just(("folder", b"")))


def realise(w: World, value: str | FileValue) -> str:
    """A drawn value as a command-line string (files are written first)."""
    if isinstance(value, str):
        return value
    suffix, data = value
    if suffix == "missing":
        return str(w.inputs / "does-not-exist.stl")
    if suffix == "folder":
        return str(w.inputs)
    if suffix == "in-cwd":  # a fresh folder where a command that wrongly creates state would be seen
        return str(w.cwd / "no-home")
    if suffix == "existing":
        return w.input_file("existing.json", data)
    if suffix == "missing-parent":
        return str(w.inputs / "no-such-folder" / "order.json")
    return w.input_file(f"input{suffix}", data)


# --------------------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One option of one command: the valid command line around it, and the malformed values to try."""

    command: str
    option: str  # "ID" / "CID" for a positional argument
    base: Callable[[World], list[str]]
    bad: st.SearchStrategy
    account: str | None = None

    @property
    def id(self) -> str:
        return f"{self.command} {self.option}"


def job(*args: str, state: str | None = None) -> Callable[[World], list[str]]:
    """A `fabrica job` command line; `state` puts the id of the job in that state after the verb."""
    return lambda w: ["job", args[0], *([str(w.jobs[state])] if state else []), *args[1:]]


POST = job("post", "--file", str(BRACKET), "--amount", "5")
_outs = iter(range(10**9))


def order_line(*extra: str, out: bool = True) -> Callable[[World], list[str]]:
    """`job order` for the bracket, written to a new file in the inputs folder (a valid --out each time)."""
    return lambda w: ["job", "order", "--file", str(BRACKET), "--amount", "5", *extra,
                      *(["--out", str(w.inputs / f"order-{next(_outs)}.json")] if out else [])]


def take_line(*extra: str, file: bool = True) -> Callable[[World], list[str]]:
    return lambda w: ["job", "take", *([str(w.orders / "order.json")] if file else []), "--node", "1", *extra]


homes = st.sampled_from([("missing", b""), ("in-cwd", b""), (".toml", b"a file, not a folder")])
SHARED = [("--rpc-url", rpc_urls), ("--home", homes), ("--account", not_accounts)]
# Each command's complete valid command line, and who signs it.
COMMANDS = {
    "post": (POST, "customer"),
    "order": (order_line("--sign"), "customer"),
    "take": (take_line(), "shop"),
    "cancel": (job("cancel", state="open"), "customer"),
    "cancel-order": (lambda w: ["job", "cancel-order", "7"], "customer"),
    "cancel-all-orders": (job("cancel-all-orders"), "customer"),
    "accept": (job("accept", state="delivered"), "customer"),
    "settle": (job("settle", state="review_over"), "7"),
    "expire": (job("expire", state="overdue"), "7"),
    "claim": (job("claim", "--node", "1", state="open"), "shop"),
    "hand-back": (job("hand-back", state="claimed"), "shop"),
    "deliver": (job("deliver", "--proof", str(BRACKET), state="claimed"), "shop"),
    "dispute": (job("dispute", "--reason", str(BRACKET), state="delivered"), "customer"),
    "rule": (job("rule", "--refund-bps", "5000", state="disputed"), "arbiter"),
    "appeal": (job("appeal", state="ruled"), "customer"),
    "finalize": (job("finalize", state="defaultable"), "7"),
    "list": (job("list"), None),
    "show": (job("show", state="open"), None),
}
JOB_IDS = ints(above=100)
nonces = st.one_of(st.sampled_from(["1.5", "0x10", "1e3", "", str(2**64), str(2**256)]), words)
signatures = st.one_of(st.sampled_from(["", "0x", "0x1234", "0x" + "11" * 65, "0x" + "ab" * 64 + "05", "0x" + "zz" * 65]),
                       st.binary(min_size=65, max_size=65).map(lambda b: "0x" + b.hex()), words)
order_files = st.one_of(
    st.tuples(st.just(".json"), st.binary(max_size=200)),
    st.tuples(st.just(".json"), st.sampled_from([b"{}", b"[]", b'{"order": {}}', b"null"])),
    st.just(("missing", b"")), st.just(("folder", b"")),
)
outs = st.one_of(st.just(("existing", b"{}")), st.just(("folder", b"")), st.just(("missing-parent", b"")))
CASES = [
    Case("post", "--file", job("post", "--amount", "5"), part_files, "customer"),
    Case("post", "--spec", job("post", "--amount", "5"), spec_files, "customer"),
    Case("post", "--spec-cid", job("post", "--amount", "5"), cids, "customer"),
    Case("post", "--title", POST, st.one_of(st.just(""), st.text(min_size=201, max_size=260)), "customer"),
    Case("post", "--process", POST, st.one_of(names, st.just("FDM,SLA")), "customer"),
    Case("post", "--material", POST, st.one_of(names, st.just("PLA,PETG")), "customer"),
    Case("post", "--quantity", POST, st.one_of(ints(), st.integers(min_value=1_000_001).map(str)), "customer"),
    Case("post", "--amount", POST, amounts, "customer"),
    Case("post", "--token", POST, st.one_of(not_addresses, st.just("FAB")), "customer"),
    Case("post", "--claim-within", POST, durations, "customer"),
    Case("post", "--delivery-window", POST, short_windows, "customer"),
    Case("post", "--collateral", POST, fab_amounts, "customer"),
    Case("post", "--design", POST, ints(above=1).filter(lambda v: v != "0"), "customer"),  # 0: no design
    Case("post", "--target-node", POST, ints(above=2).filter(lambda v: v != "0"), "customer"),  # 0: any node
    Case("order", "--amount", order_line(), amounts, "customer"),
    Case("order", "--expiry", order_line(), durations, "customer"),
    Case("order", "--collateral", order_line(), fab_amounts, "customer"),
    Case("order", "--delivery-window", order_line(), short_windows, "customer"),
    Case("order", "--out", order_line(out=False), outs, "customer"),
    Case("take", "FILE", take_line(file=False), order_files, "shop"),
    Case("take", "--node", take_line(), ints(above=2), "shop"),
    Case("take", "--signature", take_line(), signatures, "shop"),
    Case("cancel-order", "ID", lambda w: ["job", "cancel-order"], nonces, "customer"),
    Case("list", "--status", job("list"), st.one_of(words, st.just("opened"))),
    Case("list", "--customer", job("list"), not_addresses),
    Case("show", "ID", job("show"), JOB_IDS),
    *[Case(name, "ID", job(name), JOB_IDS, COMMANDS[name][1])
      for name in ("cancel", "accept", "settle", "expire", "hand-back", "appeal", "finalize")],
    Case("claim", "ID", job("claim", "--node", "1"), JOB_IDS, "shop"),
    Case("claim", "--node", job("claim", state="open"), ints(above=2), "shop"),
    Case("deliver", "ID", job("deliver", "--proof", str(BRACKET)), JOB_IDS, "shop"),
    Case("deliver", "--proof", job("deliver", state="claimed"), proof_values, "shop"),
    Case("dispute", "ID", job("dispute", "--reason", str(BRACKET)), JOB_IDS, "customer"),
    Case("dispute", "--reason", job("dispute", state="delivered"), proof_values, "customer"),
    Case("rule", "ID", job("rule", "--refund-bps", "5000"), JOB_IDS, "arbiter"),
    Case("rule", "--refund-bps", job("rule", state="disputed"), bps, "arbiter"),
    Case("rule", "--slash-bps", COMMANDS["rule"][0], bps, "arbiter"),
    # Every command's connection options (list and show sign nothing: no --account).
    *[Case(name, option, base, strategy, account)
      for name, (base, account) in COMMANDS.items() for option, strategy in SHARED
      if option != "--account" or account is not None],
]
MINT = ("design", "mint")
DESIGN = [
    Case("mint", "CID", lambda w: [*MINT], cids, "designer"),
    Case("mint", "--royalty-bps", lambda w: [*MINT, w.chain.cid(b"a design")], bps, "designer"),
    *[Case("mint", option, lambda w: [*MINT, w.chain.cid(b"a design")], strategy, "designer")
      for option, strategy in SHARED],
]


def listing(*args: str, design: bool = True) -> Callable[[World], list[str]]:
    """`design list [ID] … --out` with a fresh output file in the inputs folder."""
    return lambda w: ["design", "list", *([str(w.jobs["design"])] if design else []), *args,
                      "--out", str(w.inputs / "listing.json")]


def bounty(verb: str, *args: str, with_id: bool = True) -> Callable[[World], list[str]]:
    """`bounty VERB [ID] ARGS…` on the world's bounty."""
    return lambda w: ["bounty", verb, *([str(w.jobs["bounty"])] if with_id else []), *args]


DESIGN += [
    Case("design-list", "--price", listing(), amounts, "designer"),
    Case("design-list", "--expiry", listing("--price", "5"), durations, "designer"),
    Case("design-list", "--token", listing("--price", "5"), st.one_of(not_addresses, st.just("FAB")), "designer"),
    Case("design-list", "ID", listing("--price", "5", design=False), ints(above=2), "designer"),
    Case("design-buy", "FILE", lambda w: ["design", "buy"], order_files, "collector"),
    Case("design-cancel", "ID", lambda w: ["design", "cancel"], nonces, "designer"),
    Case("bounty-post", "--amount", bounty("post", "--title", "clip", with_id=False), amounts, "sponsor"),
    Case("bounty-post", "--deadline", bounty("post", "--title", "clip", "--amount", "5", with_id=False), durations,
         "sponsor"),
    Case("bounty-post", "--approver", bounty("post", "--title", "clip", "--amount", "5", with_id=False),
         not_addresses, "sponsor"),
    Case("bounty-fund", "ID", lambda w: ["bounty", "fund", "5"], JOB_IDS, "customer"),
    Case("bounty-fund", "AMOUNT", lambda w: ["bounty", "fund", str(w.jobs["bounty"])], amounts, "customer"),
    Case("bounty-submit", "ID", lambda w: ["bounty", "submit", str(BRACKET)], JOB_IDS, "designer"),
    Case("bounty-award", "AMOUNT", lambda w: ["bounty", "award", str(w.jobs["bounty"]), "1"], amounts, "sponsor"),
]


def command_line(w: World, case: Case, value: str) -> tuple[list[str], str | None]:
    """The case's valid command line with `value` in its option's place (and the connection options)."""
    argv = case.base(w)
    account = case.account
    rpc, home = w.cli.rpc_url, str(w.cli.home)
    if case.option in ("ID", "CID", "FILE"):
        argv = [*argv[:2], value, *argv[2:]]
    elif case.option == "AMOUNT":  # the last positional argument
        argv = [*argv, value]
    elif case.option == "--rpc-url":
        rpc = value
    elif case.option == "--home":
        home = value
    elif case.option == "--account":
        account = value
    else:
        argv = [*argv, f"{case.option}={value}"]
    argv += [f"--rpc-url={rpc}", f"--home={home}"]
    if account is not None:
        argv.append(f"--account={account}")
    return argv, account


def check(w: World, case: Case, drawn) -> None:
    from fabrica.protocol.cli.main import app
    from typer.testing import CliRunner

    value = realise(w, drawn)
    argv, _ = command_line(w, case, value)
    refused_cleanly(lambda: CliRunner().invoke(app, argv), lambda: State.of(w.chain, w.cwd, w.cli.home),
                    f"fabrica {' '.join(argv)}")


def test_every_base_command_line_is_valid(w: World) -> None:
    """Each command's base line succeeds as it stands, so a refusal in the properties is the bad value's doing."""
    from fabrica.protocol.cli.main import app
    from fabrica.protocol.types import JobSpec
    from typer.testing import CliRunner

    part = str(w.chain.store.add(BRACKET))
    spec = JobSpec(title="t", process="FDM", material="PLA", files=[{"cid": part, "name": "bracket.stl"}])
    spec_path = w.inputs / "spec.json"
    spec_path.write_bytes(spec.to_json_bytes())
    spec_cid = str(w.chain.store.add(spec.to_json_bytes()))
    valid = {"--spec": str(spec_path), "--spec-cid": spec_cid, "--file": str(BRACKET), "--rpc-url": w.cli.rpc_url}
    lines = [case for case in CASES + DESIGN if case.option == "--rpc-url" or case.id in (
        "post --spec", "post --spec-cid", "post --file", "claim --node", "deliver --proof")]
    valid |= {"--node": "1", "--proof": str(BRACKET)}
    for case in lines:
        with reverted(w.chain.w3):
            argv, _ = command_line(w, case, valid[case.option])
            result = CliRunner().invoke(app, argv)
            assert result.exit_code == 0, f"base of {case.id} fails: {argv}\n{result.output}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_job_options_refuse_malformed_values_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    check(w, case, data.draw(case.bad, label=case.id))


@pytest.mark.parametrize("case", DESIGN, ids=lambda c: c.id)
@PROPERTY
@given(data=st.data())
def test_design_options_refuse_malformed_values_cleanly(w: World, case: Case, data: st.DataObject) -> None:
    check(w, case, data.draw(case.bad, label=case.id))


def test_amounts_larger_than_the_wallet_leave_no_allowance(w: World) -> None:
    """The funds property in one place: no approval survives a refused post, whatever the amount."""
    c = w.chain.customer
    held = c.token_balance(w.chain.usd, c.address) // USD
    for extra in (1, 1_000, 10**12):
        check(w, Case("post", "--amount", POST, st.nothing(), "customer"), str(held + extra))
