"""Bad input to `fabrica job|design` and the settings, each against the devnet: one clear line, exit 1, no traceback,
and no funds, allowance, job, design or file changed (issue 11 §5)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from bad_input_testkit import State
from cli_refusal import failed_cleanly, refused_cleanly
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.client import Fabrica
from fabrica.protocol.deployment import Deployment
from fabrica.protocol.devnet import find_anvil
from fabrica.protocol.errors import FabricaLookupError
from fabrica.protocol.storage.unixfs import compute_cid
from fabrica.protocol.types import JobSpec
from protocol_testkit import FAB, USD, Chain, Cli, DevnetInfo, free_port

REPO = Path(__file__).resolve().parents[2]
BRACKET = REPO / "examples/bracket.stl"


def refused(cli: Cli, chain: Chain, tmp_path: Path, *args: str, account: str | None = None) -> str:
    """Run a command that must be refused; check the contract and that nothing changed; return the message."""
    return refused_cleanly(lambda: cli(*args, account=account, ok=False), lambda: State.of(chain, tmp_path),
                           f"fabrica {' '.join(args)}")


# --------------------------------------------------------------------------------------------- funds


def test_post_more_than_the_wallet_holds_approves_nothing(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    c = chain.customer
    held = c.token_balance(chain.usd, c.address)
    too_much = str(held // USD + 25)
    message = refused(cli, chain, tmp_path, "job", "post", "--file", str(BRACKET), "--amount", too_much,
                      account="customer")
    assert f"needs {held // USD + 25} fUSD" in message and f"which holds {held // USD} fUSD" in message
    assert "top up the wallet" in message and "0x" in message


def test_a_deposit_counts_and_only_the_shortfall_is_approved_exactly(cli: Cli, chain: Chain) -> None:
    c = chain.customer
    c.deposit(chain.usd, 20 * USD)
    c.approve(chain.usd, c.market.address, 0)
    wallet = c.token_balance(chain.usd, c.address)
    posted = cli.json("job", "post", "--file", str(BRACKET), "--amount", "25", account="customer")
    assert posted["job_id"] == 1
    # 20 came from the deposit, 5 from the wallet through an approval of exactly 5, now used up.
    assert c.token_balance(chain.usd, c.address) == wallet - 5 * USD
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 0


def test_a_failed_call_sets_the_allowance_back(chain: Chain) -> None:
    """pay_from_wallet: approve exactly, and restore the previous allowance when the main call reverts."""
    from fabrica.protocol import chain_errors
    from fabrica.protocol.client import cid_bytes

    c = chain.customer
    c.approve(chain.usd, c.market.address, 2 * USD)  # a smaller allowance the user had set before
    ledger = chain.ledger()

    def post_that_reverts():
        # Collateral below the market's minimum: the post reverts after the approval was mined.
        return c._send(c.market, "post", chain.usd, 7 * USD, cid_bytes(chain.cid()), 0, c.now() + 3600, 86_400, 1,
                       0, 0)

    with pytest.raises(chain_errors.JobMarket__CollateralOutOfBounds) as exc:
        c.pay_from_wallet(chain.usd, c.market.address, 7 * USD, post_that_reverts, what="a test post")
    assert "collateral=0.000000000000000001 FAB, min=10 FAB, max=70 FAB" in str(exc.value)
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 2 * USD
    assert chain.ledger() == ledger


def test_a_refused_dispute_leaves_no_bond_allowance(chain: Chain) -> None:
    from fabrica.protocol import chain_errors

    c = chain.customer
    job_id = chain.delivered()
    c.approve(chain.usd, c.market.address, 0)
    chain.advance(4 * 86_400)  # past the review window: the market refuses after the bond was approved
    ledger = chain.ledger()
    with pytest.raises(chain_errors.JobMarket__DeadlinePassed) as exc:
        c.dispute_job(job_id, chain.cid(b"too late"))
    assert "UTC" in str(exc.value)  # deadline and now as dates
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 0
    assert chain.ledger() == ledger
    nonce = chain.w3.eth.get_transaction_count(chain.shop.address)
    with pytest.raises(chain_errors.JobMarket__NotCustomer):  # refused with reads: nothing sent at all
        chain.shop.dispute_job(job_id, chain.cid(b"not mine"))
    assert chain.w3.eth.get_transaction_count(chain.shop.address) == nonce


# ------------------------------------------------------------------------------------------ part files


@pytest.mark.parametrize(("name", "data", "says"), [
    ("empty.stl", b"", "the file is empty (0 bytes)"),
    ("garbage.stl", b"\xde\xad\xbe\xef" * 100, "is not an STL"),
    ("readme.stl", b"solid but really a text file\nhello\n", "unexpected 'hello'"),
    ("notes.txt", b"please print my part\n", "unsupported part format '.txt'"),
])
def test_post_refuses_a_part_file_that_is_not_a_part(cli: Cli, chain: Chain, tmp_path: Path,
                                                     name: str, data: bytes, says: str) -> None:
    part = tmp_path / name
    part.write_bytes(data)
    message = refused(cli, chain, tmp_path, "job", "post", "--file", str(part), "--amount", "5", account="customer")
    assert says in message and "--file" in message
    assert not (cli.home / "content").exists()  # nothing was stored either


def test_post_of_spec_cids_not_in_the_store(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    elsewhere = str(compute_cid(b'{"title": "stored nowhere"}'))
    message = refused(cli, chain, tmp_path, "job", "post", "--spec-cid", elsewhere, "--amount", "5",
                      account="customer")
    assert f"--spec-cid {elsewhere}: no such content in the local content store" in message
    assert "fabrica content add" in message
    # Content that is in the store but is not a job spec is refused too (a node could not read it).
    part = compute_cid(BRACKET)
    from fabrica.protocol.storage.store import LocalContentStore

    LocalContentStore(cli.home / "content").add(BRACKET)
    message = refused(cli, chain, tmp_path, "job", "post", "--spec-cid", str(part), "--amount", "5",
                      account="customer")
    assert f"--spec-cid {part} is not a JobSpec" in message


def test_post_names_unknown_materials_processes_and_bad_spec_fields(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    message = refused(cli, chain, tmp_path, "job", "post", "--file", str(BRACKET), "--material", "GOLD",
                      "--amount", "5", account="customer")
    assert "--material: unknown Material 'GOLD'; known: PLA, PETG" in message
    message = refused(cli, chain, tmp_path, "job", "post", "--file", str(BRACKET), "--process", "WELDING",
                      "--amount", "5", account="customer")
    assert "--process: unknown ProcessKind 'WELDING'; known: FDM, SLA" in message
    message = refused(cli, chain, tmp_path, "job", "post", "--file", str(BRACKET), "--process", "FDM,SLA",
                      "--amount", "5", account="customer")
    assert "exactly one" in message

    spec = tmp_path / "spec.json"
    cid = chain.cid(b"part")  # chain.store is another folder: the CLI's store must hold the files
    good = {"title": "bracket", "process": "FDM", "material": "PLA", "files": [{"cid": cid, "name": "b.stl"}]}
    for broken, says in [
        ({**good, "material": "GOLD"}, "field material: unknown Material 'GOLD'"),
        ({**good, "quantity": 0}, "field quantity: Input should be greater than or equal to 1"),
        ({**good, "files": [{"cid": "Qm-nope", "name": "b.stl"}]}, "field files.0.cid"),
        ({k: v for k, v in good.items() if k != "title"}, "field title: Field required"),
        ({**good, "colour": "red"}, "field colour: Extra inputs are not permitted"),
    ]:
        spec.write_text(json.dumps(broken))
        message = refused(cli, chain, tmp_path, "job", "post", "--spec", str(spec), "--amount", "5",
                          account="customer")
        assert f"--spec {spec}: {says}" in message, message
    spec.write_text("{not json")
    message = refused(cli, chain, tmp_path, "job", "post", "--spec", str(spec), "--amount", "5", account="customer")
    assert "Invalid JSON" in message
    spec.write_text(json.dumps(good))
    message = refused(cli, chain, tmp_path, "job", "post", "--spec", str(spec), "--amount", "5", account="customer")
    assert f"its file 'b.stl' ({cid}) is not in the local content store" in message


def test_market_rules_are_shown_in_units_and_dates(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    post = ("job", "post", "--file", str(BRACKET), "--amount", "5")
    message = refused(cli, chain, tmp_path, *post, "--collateral", "1", account="customer")
    assert "JobMarket__CollateralOutOfBounds(collateral=1 FAB, min=10 FAB, max=50 FAB)" in message
    assert "for 5 fUSD a job asks for 10 FAB to 50 FAB of collateral" in message
    message = refused(cli, chain, tmp_path, *post, "--collateral", "50.5", account="customer")
    assert "JobMarket__CollateralOutOfBounds(collateral=50.5 FAB, min=10 FAB, max=50 FAB)" in message
    message = refused(cli, chain, tmp_path, *post, "--delivery-window", "60s", account="customer")
    assert "JobMarket__InvalidDeliveryWindow(window=1m, min=1h, max=365d)" in message
    message = refused(cli, chain, tmp_path, *post, "--target-node", "7", account="customer")
    assert "JobMarket__UnknownNode(nodeId=7)" in message and "nodes are 1..1" in message
    message = refused(cli, chain, tmp_path, *post, "--claim-within", "400d", account="customer")
    assert "at most 365 days" in message
    message = refused(cli, chain, tmp_path, *post, "--design", "3", account="customer")
    assert "Licences__UnknownDesign(designId=3)" in message and "no design has this id" in message
    message = refused(cli, chain, tmp_path, *post, "--token", chain.fab_token, account="customer")
    assert "JobMarket__TokenNotAllowed" in message and "pay with one of: fUSD" in message
    for flag, value in [("--amount", "1.0000001"), ("--amount", "NaN"), ("--collateral", "-3"),
                        ("--claim-within", "soon"), ("--delivery-window", "inf")]:
        message = refused(cli, chain, tmp_path, "job", "post", "--file", str(BRACKET), "--amount", "5", flag, value,
                          account="customer")
        assert message.startswith(f"error: {flag}"), message


def test_a_claim_deadline_error_shows_dates(chain: Chain) -> None:
    from fabrica.protocol import chain_errors

    c = chain.customer
    with pytest.raises(chain_errors.JobMarket__InvalidClaimDeadline) as exc:
        c.check_post(token=chain.usd, amount=USD, claim_by=c.now() - 10, delivery_window=86_400, collateral=10 * FAB)
    assert "UTC" in str(exc.value) and str(c.now()) not in str(exc.value)


# ------------------------------------------------------------------------------- proofs, reasons, designs


def test_missing_proof_and_reason_files_are_named(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    claimed = chain.claimed()
    message = refused(cli, chain, tmp_path, "job", "deliver", str(claimed), "--proof", "print.log", account="shop")
    assert "--proof 'print.log': file not found (and not a CID either)" in message and "print log" in message
    elsewhere = str(compute_cid(b"a proof stored nowhere"))
    message = refused(cli, chain, tmp_path, "job", "deliver", str(claimed), "--proof", elsewhere, account="shop")
    assert f"--proof {elsewhere}: no such content" in message
    (tmp_path / "empty.log").write_bytes(b"")
    message = refused(cli, chain, tmp_path, "job", "deliver", str(claimed), "--proof", "empty.log", account="shop")
    assert "the file is empty" in message

    delivered = chain.delivered()
    message = refused(cli, chain, tmp_path, "job", "dispute", str(delivered), "--reason", "why.txt",
                      account="customer")
    assert "--reason 'why.txt': file not found (and not a CID either)" in message


def test_design_mint_of_content_not_in_the_store(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    elsewhere = str(compute_cid(BRACKET))  # a real part's CID, but this home's store does not hold it
    message = refused(cli, chain, tmp_path, "design", "mint", elsewhere, account="designer")
    assert f"design CID {elsewhere}: no such content in the local content store" in message
    message = refused(cli, chain, tmp_path, "design", "mint", "Qm-nope", account="designer")
    assert "design CID 'Qm-nope'" in message
    from fabrica.protocol.storage.store import LocalContentStore

    cid = str(LocalContentStore(cli.home / "content").add(BRACKET))
    message = refused(cli, chain, tmp_path, "design", "mint", cid, "--royalty-bps", "20000", account="designer")
    assert "--royalty-bps 20000: basis points run from 0 to 10000" in message
    minted = cli.json("design", "mint", cid, account="designer")
    assert minted["value"] == int(minted["design_id"]) == int.from_bytes(Cid.parse(cid).digest, "big")
    # The same file under its other `ipfs add` CID (v1, raw leaves: another digest) is refused too.
    other = str(LocalContentStore(cli.home / "content").add(BRACKET, cid_version=1))
    assert other != cid
    message = refused(cli, chain, tmp_path, "design", "mint", other, account="designer")
    assert f"this file is design {minted['design_id']} already, minted as {cid}" in message


# -------------------------------------------------------------------------------------- settings, chain


def test_fabrica_config_naming_a_missing_file(cli: Cli, chain: Chain, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRICA_CONFIG", str(tmp_path / "fabrica-typo.toml"))
    message = refused(cli, chain, tmp_path, "job", "list")
    assert f"config file {tmp_path / 'fabrica-typo.toml'} named by FABRICA_CONFIG does not exist" in message


@pytest.fixture
def bare_anvil() -> str:
    """An anvil on chain 31337 with nothing deployed (a devnet restarted behind a manifest's back)."""
    port = free_port()
    proc = subprocess.Popen([find_anvil(), "--port", str(port), "--silent"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_chain_without_the_contracts_of_the_manifest(cli: Cli, bare_anvil: str, tmp_path: Path) -> None:
    stale = Cli(bare_anvil, cli.home)
    result = stale("job", "post", "--file", str(BRACKET), "--amount", "5", account="customer", ok=False)
    message = failed_cleanly(result)
    assert "no Fabrica contracts at 0x" in message and "on chain 31337" in message
    assert "run `fabrica devnet up`" in message
    assert not (cli.home / "content").exists()


def test_a_chain_without_a_manifest_names_a_real_way_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(FabricaLookupError) as exc:
        Deployment.load(tmp_path, 8453)
    message = str(exc.value)
    assert "fabrica deploy`" not in message  # no such command
    assert "deploy_protocol" in message and "--rpc-url" in message


def test_job_list_customer_filter_must_be_an_address(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    chain.post()
    message = refused(cli, chain, tmp_path, "job", "list", "--customer", "alice")
    assert "--customer 'alice': pass an address" in message
    assert [j["job_id"] for j in cli.json("job", "list", "--customer", "customer")] == [1]


def test_a_job_id_beyond_any_job(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    message = refused(cli, chain, tmp_path, "job", "show", str(2**70))
    assert f"no job {2**70}" in message
    message = refused(cli, chain, tmp_path, "job", "claim", "1", "--node", str(2**300), account="shop")
    assert "no job 1" in message


def test_client_connect_checks_the_contracts_exist(bare_anvil: str, devnet: DevnetInfo) -> None:
    with pytest.raises(FabricaLookupError, match="no Fabrica contracts at"):
        Fabrica.connect(bare_anvil, deployment=devnet.deployment)


# ------------------------------------------------------------------------------------------- README path


def test_the_readme_first_job_runs_against_the_devnet(cli: Cli, chain: Chain, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's "First job" commands, run as written (in a copy of the repository's examples), on the devnet."""
    import shlex

    from fabrica.protocol.cli.main import app
    from typer.testing import CliRunner

    readme = (REPO / "README.md").read_text()
    section = readme.split("### First job", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert any("job post --file examples/bracket.stl" in c and "--account customer" in c for c in lines), lines
    work = tmp_path / "checkout"
    shutil.copytree(REPO / "examples", work / "examples")
    monkeypatch.chdir(work)
    monkeypatch.setenv("FABRICA_RPC_URL", cli.rpc_url)
    monkeypatch.setenv("FABRICA_HOME", str(cli.home))
    runner = CliRunner()
    for line in lines:
        argv = shlex.split(line)
        if argv[0] != "fabrica":
            subprocess.run(line, shell=True, check=True, cwd=work)  # e.g. writing the print log
            continue
        if argv[1:2] == ["devnet"]:
            continue  # the session's devnet is already up
        result = runner.invoke(app, argv[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (work / "bracket-copy.stl").read_bytes() == BRACKET.read_bytes()
    job = chain.base.job(1)
    assert job.status.name == "SETTLED" and job.job.customer == chain.customer.address
    from fabrica.protocol.storage.store import LocalContentStore

    spec = JobSpec.from_json_bytes(LocalContentStore(cli.home / "content").get(job.spec_cid))
    assert spec.files[0].name == "bracket.stl" and spec.material.name == "PETG"
    assert spec.files[0].cid == "QmUxZ9bRLECpv6RtfnwLZJrTRNY8EEC49evzaAbWTBL8Dg"  # the CID the README fetches
