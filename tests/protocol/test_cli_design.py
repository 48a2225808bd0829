"""Designs and bounties through the `fabrica` CLI with --json on the devnet: mint with metadata, a listing file
signed by a wallet and bought, licences, a bounty funded by two sponsors with one award; bad input refused with one
clear line and nothing sent or written (issue 14)."""
from __future__ import annotations

import json
from pathlib import Path

from bad_input_testkit import State
from cli_refusal import refused_cleanly
from eth_account import Account
from fabrica.protocol.accounts import dev_account
from fabrica.protocol.cli.main import app
from fabrica.protocol.storage.cid import Cid
from protocol_testkit import ROLES, USD, Chain, Cli
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
BRACKET = REPO / "examples/bracket.stl"


def refused(cli: Cli, chain: Chain, tmp_path: Path, *args: str, account: str | None = None) -> str:
    """Run a command that must be refused; check that nothing changed; return the message."""
    return refused_cleanly(lambda: cli(*args, account=account, ok=False), lambda: State.of(chain, tmp_path, cli.home),
                           f"fabrica {' '.join(args)}")


def _content(cli: Cli, *args: str) -> str:
    """`fabrica content …` on the CLI home's store (content commands take no RPC URL)."""
    result = CliRunner().invoke(app, ["content", *args, "--store", str(cli.home / "content")])
    assert result.exit_code == 0, result.output
    return result.stdout


def _stored(cli: Cli, cid: str) -> bytes:
    """Content from the CLI home's store (`fabrica content get`)."""
    out = cli.home.parent / "fetched.bin"
    _content(cli, "get", cid, "--output", str(out))
    return out.read_bytes()


def _mint(cli: Cli) -> tuple[str, str]:
    added = json.loads(_content(cli, "add", str(BRACKET), "--json"))
    minted = cli.json("design", "mint", added["cid"], "--name", "Bracket", "--licence", "CC-BY-4.0",
                      "--royalty-bps", "500", account="designer")
    return minted["design_id"], added["cid"]


def test_mint_list_sign_in_a_wallet_and_buy(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    design_id, cid = _mint(cli)
    shown = cli.json("design", "show", cid)  # a design is named by its id or its CID
    assert shown["id"] == design_id and shown["owner"] == chain.designer.address and shown["state"] == "active"
    metadata = json.loads(_stored(cli, shown["metadata_cid"]))
    assert metadata["name"] == "Bracket" and metadata["model_cid"] == cid and metadata["licence"] == "CC-BY-4.0"
    out = tmp_path / "listing.json"
    written = cli.json("design", "list", design_id, "--price", "50", "--out", str(out), account="designer")
    assert written["signed"] is False and written["price"] == "50 fUSD"
    data = json.loads(out.read_text())
    assert set(data) == {"order", "typedData", "digest", "market", "chainId"}
    assert data["typedData"]["primaryType"] == "Order" and data["typedData"]["domain"]["name"] == "Fabrica DesignMarket"
    # Any wallet signs the payload: eth_account's own EIP-712 code, fed the JSON as a wallet receives it.
    key = dev_account(ROLES["designer"]).key
    signature = "0x" + bytes(Account.sign_typed_data(key, full_message=data["typedData"]).signature).hex()
    bought = cli.json("design", "buy", str(out), "--signature", signature, account="collector")
    assert bought["design_id"] == design_id and bought["paid"] == "50 fUSD"
    assert bought["fee"] == "1.25 fUSD" and bought["royalty"] == "2.5 fUSD"
    assert cli.json("design", "show", design_id)["owner"] == chain.collector.address
    listed = cli.json("design", "ls", "--owner", chain.collector.address)
    assert [d["id"] for d in listed] == [design_id]


def test_licences_from_the_cli(cli: Cli, chain: Chain) -> None:
    design_id, _cid = _mint(cli)
    cli.json("design", "licence", "terms", design_id, "--price-per-print", "2", "--block-size", "10",
             "--block-price", "15", account="designer")
    bought = cli.json("design", "licence", "buy", design_id, "12", account="customer")
    assert bought["paid"] == "19 fUSD"
    assert cli.json("design", "licence", "show", design_id, account="customer")["licences"] == 12
    posted = cli.json("job", "post", "--file", str(BRACKET), "--amount", "25", "--design", design_id,
                      account="customer")
    job = chain.base.job(posted["job_id"]).job
    assert job.royalty == 0 and job.royalty_receiver == chain.deployment.contracts["FabricationLicences"]
    assert cli.json("design", "licence", "show", design_id, account="customer")["licences"] == 11


def test_bounty_with_two_sponsors_and_one_award(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    posted = cli.json("bounty", "post", "--amount", "100", "--title", "Cable clip", "--material", "PETG",
                      "--bbox", "30x15x10", "--deadline", "7d", account="sponsor")
    bounty = posted["bounty_id"]
    cli.json("bounty", "fund", str(bounty), "50", account="customer")
    submitted = cli.json("bounty", "submit", str(bounty), str(BRACKET), account="designer")
    cli.json("bounty", "award", str(bounty), str(submitted["submission_id"]), "120", account="sponsor")
    shown = cli.json("bounty", "show", str(bounty))
    assert shown["pot"] == str(30 * USD) and shown["paid"] == str(120 * USD)
    assert shown["contributions"] == {chain.sponsor.address: str(100 * USD), chain.customer.address: str(50 * USD)}
    assert shown["submissions"][0]["awarded"] is True and shown["terms"]["quorum"] == 1
    before = chain.base.token_balance(chain.usd, chain.designer.address)
    cli.json("bounty", "withdraw", account="designer")
    assert chain.base.token_balance(chain.usd, chain.designer.address) - before == 120 * USD
    minted = cli.json("bounty", "mint", str(bounty), str(submitted["submission_id"]), "--name", "Clip",
                      account="designer")
    assert int(minted["design_id"]) == int.from_bytes(Cid.parse(submitted["cid"]).digest, "big")
    assert [b["id"] for b in cli.json("bounty", "list")] == [bounty]


def test_bad_design_and_bounty_input_is_refused_cleanly(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    design_id, cid = _mint(cli)
    message = refused(cli, chain, tmp_path, "design", "mint", cid, account="designer")
    assert "already" in message
    message = refused(cli, chain, tmp_path, "design", "show", "not-a-design")
    assert "pass the design's id (a number) or its content CID" in message
    message = refused(cli, chain, tmp_path, "design", "list", design_id, "--price", "50", "--out",
                      str(tmp_path / "x.json"), account="customer")
    assert "holds 0 of what it lists" in message
    out = tmp_path / "listing.json"
    cli.json("design", "list", design_id, "--price", "50", "--out", str(out), "--sign", account="designer")
    message = refused(cli, chain, tmp_path, "design", "sell", str(out), account="collector")
    assert "fill it with `fabrica design buy`" in message
    data = json.loads(out.read_text())
    data["order"]["price"] = "1"
    out.write_text(json.dumps(data))
    message = refused(cli, chain, tmp_path, "design", "buy", str(out), account="collector")
    assert "does not match its order (was the file edited?)" in message
    message = refused(cli, chain, tmp_path, "bounty", "fund", "99", "5", account="customer")
    assert "BountyBoard__UnknownBounty" in message
    message = refused(cli, chain, tmp_path, "bounty", "post", "--amount", "10", "--title", "x", "--bbox", "1xq",
                      account="sponsor")
    assert "--bbox" in message
