"""The `fabrica` CLI against the devnet: a whole job lifecycle, devnet idempotency, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fabrica.protocol.cli.main import app
from fabrica.protocol.demo import box_stl
from fabrica.protocol.devnet import Devnet
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.storage.store import LocalContentStore
from fabrica.protocol.storage.unixfs import compute_cid
from fabrica.protocol.types import JobSpec
from protocol_testkit import Chain, Cli, free_port
from typer.testing import CliRunner

runner = CliRunner()


def event(tx: dict, name: str) -> dict:
    return next(e["args"] for e in tx["events"] if e["event"] == name)


def test_full_job_lifecycle(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    op = "6"  # a dev account with FAB but no stake and no node yet
    op_address = chain.newcomer.address

    staked = cli.json("node", "stake", "1500", account=op)
    assert event(staked, "Staked")["staked"] == 1_500 * 10**18
    registered = cli.json("node", "register", "--process", "FDM,SLA", "--material", "PLA,PETG",
                          "--volume", "200x200x180", "--name", "test printer", account=op)
    node_id = registered["node_id"]
    assert node_id == 2 and len(registered["encryption_key"]) == 64
    assert list((cli.home / "keys").iterdir())  # the node's private key stays with the shop
    node = cli.json("node", "show", str(node_id))
    assert node["operator"] == op_address and node["build_volume_mm"] == [200, 200, 180]
    assert set(node["processes"].split("|")) == {"FDM", "SLA"}
    assert node["stake"]["staked"] == "1500"
    assert [n["node_id"] for n in cli.json("node", "list")] == [1, 2]

    stl = tmp_path / "bracket.stl"
    stl.write_bytes(box_stl(30, 20, 10))
    posted = cli.json("job", "post", "--file", str(stl), "--title", "bracket", "--material", "PETG",
                      "--amount", "12.5", "--claim-within", "2h", "--delivery-window", "1d", account="customer")
    job_id, spec_cid = posted["job_id"], posted["spec_cid"]
    assert posted["value"] == job_id and event(posted, "JobPosted")["customer"] == chain.customer.address
    store = LocalContentStore(cli.home / "content")
    spec = JobSpec.from_json_bytes(store.get(spec_cid))
    assert spec.title == "bracket" and spec.material.name == "PETG"
    assert spec.files[0].name == "bracket.stl" and spec.files[0].cid == str(compute_cid(stl))
    shown = cli.json("job", "show", str(job_id))
    assert shown["status"] == "OPEN" and shown["spec_cid"] == spec_cid and shown["amount_units"] == "12.5"

    claimed = cli.json("job", "claim", str(job_id), "--node", str(node_id), account=op)
    assert event(claimed, "JobClaimed")["nodeId"] == node_id

    proof = tmp_path / "print.log"
    proof.write_text("layer 1..80 ok\n")
    delivered = cli.json("job", "deliver", str(job_id), "--proof", str(proof), account=op)
    assert delivered["proof_cid"] == str(compute_cid(proof))
    assert cli.json("job", "show", str(job_id))["proof_cid"] == delivered["proof_cid"]

    accepted = cli.json("job", "accept", str(job_id), account="customer")
    settled = event(accepted, "JobSettled")
    payout = 12_500_000 - 12_500_000 * 250 // 10_000
    assert settled == {"jobId": job_id, "accepted": True}

    balance = cli.json("account", "balance", account=op)
    assert balance["balances"][0]["market"] == "12.1875"
    wallet_before = chain.base.token_balance(chain.usd, op_address)
    withdrawn = cli.json("account", "withdraw", account=op)
    assert event(withdrawn, "Withdrawn")["amount"] == payout
    assert chain.base.token_balance(chain.usd, op_address) == wallet_before + payout

    final = cli.json("job", "show", str(job_id))
    assert final["status"] == "SETTLED" and final["node_id"] == node_id
    assert final["job"]["node"] == op_address
    assert [j["job_id"] for j in cli.json("job", "list", "--status", "settled")] == [job_id]
    assert cli.json("job", "list", "--status", "open") == []

    fees = cli.json("account", "withdraw-fees", account="guardian")  # anyone may; the fees go to the treasury
    assert event(fees, "FeesWithdrawn")["amount"] == 12_500_000 - payout
    assert event(fees, "FeesWithdrawn")["treasury"] == chain.timelock


def test_cli_other_actions(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    deposit = cli.json("account", "deposit", "20", account="customer")
    assert event(deposit, "Deposited")["amount"] == 20_000_000
    part = tmp_path / "part.stl"
    part.write_bytes(box_stl(5, 5, 5))
    cid = str(LocalContentStore(cli.home / "content").add(part))
    minted = cli.json("design", "mint", cid, "--royalty-bps", "300", account="designer")
    assert minted["value"] == int(minted["design_id"]) == int.from_bytes(Cid.parse(cid).digest, "big")
    spec = JobSpec(title="part", process="FDM", material="PLA", files=[{"cid": cid, "name": "part.stl"}])
    spec_cid = str(LocalContentStore(cli.home / "content").add(spec.to_json_bytes()))
    posted = cli.json("job", "post", "--spec-cid", spec_cid, "--amount", "5", "--design", cid, account="customer")
    job_id = posted["job_id"]
    assert cli.json("job", "show", str(job_id))["job"]["royalty"] == 150_000
    cancelled = cli.json("job", "cancel", str(job_id), account="customer")
    assert event(cancelled, "JobCancelled")["refund"] == 5_000_000
    assert chain.base.market_balance(chain.usd, chain.customer.address) == 20_000_000

    cli.json("node", "update", "1", "--process", "CNC_MILL", "--material", "BRASS", "--volume", "100x100x50",
             account="shop")
    assert chain.base.node(1).build_volume_mm == (100, 100, 50)
    unbond = cli.json("node", "unbond", "100", account="shop")
    assert event(unbond, "UnbondRequested")["amount"] == 100 * 10**18
    result = cli("node", "withdraw", account="shop", ok=False)
    assert result.exit_code == 1 and "NodeRegistry__UnbondingNotDue" in result.stderr


def test_cli_errors_exit_1_with_a_message(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    job_id = chain.post()
    ledger = chain.ledger()

    result = cli("job", "accept", str(job_id), account="customer", ok=False)
    assert result.exit_code == 1
    assert "JobMarket__WrongStatus" in result.stderr and "fabrica job show" in result.stderr
    assert "Traceback" not in result.output

    result = cli("job", "show", "999", ok=False)
    assert result.exit_code == 1 and "no job 999" in result.stderr

    result = cli("job", "post", "--spec-cid", "Qm-not-a-cid", "--amount", "5", account="customer", ok=False)
    assert result.exit_code == 1 and "error" in result.stderr.lower() and "Qm-not-a-cid" in result.stderr

    result = cli("job", "post", "--spec-cid", chain.cid(), account="customer", ok=False)
    assert result.exit_code == 1 and "--amount is required" in result.stderr

    result = cli("job", "cancel", str(job_id), ok=False)  # no --account
    assert result.exit_code == 1 and "--account" in result.stderr

    result = cli("job", "claim", str(job_id), "--node", "1", account="nobody", ok=False)
    assert result.exit_code == 1 and "neither a dev role" in result.stderr
    assert chain.ledger() == ledger

    empty = Cli(cli.rpc_url, tmp_path / "empty-home")
    result = empty("job", "list", ok=False)
    assert result.exit_code == 1 and "fabrica devnet up" in result.stderr

    down = Cli(f"http://127.0.0.1:{free_port()}", cli.home)
    result = down("job", "list", ok=False)
    assert result.exit_code == 1 and "cannot reach" in result.stderr


def test_devnet_up_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    home, port = tmp_path / "net", free_port()
    args = ["devnet", "up", "--home", str(home), "--port", str(port), "--json"]
    try:
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        second = runner.invoke(app, args)
        assert second.exit_code == 0, second.output
        a, b = json.loads(first.stdout), json.loads(second.stdout)
        assert a == b
        assert a["rpc_url"] == f"http://127.0.0.1:{port}" and a["chain_id"] == 31337
        assert set(a["contracts"]) == {"FabToken", "DesignNFT", "NodeRegistry", "JobMarket", "JobMarketModule",
                                       "FabTimelock", "FabGovernor", "ArbiterPanel", "ManifestRegistry",
                                       "FabricationLicences", "DesignMarket", "BountyBoard",
                                       "ValidatorScoreEvaluator"}
        assert "fUSD" in a["payment_tokens"] and a["accounts"]["customer"].startswith("0x")
        # The DAO governs: its timelock is the owner, treasury and appeal court; the arbiter is the panel.
        timelock = a["contracts"]["FabTimelock"]
        assert a["appeal_court"] == a["treasury"] == a["owner"] == timelock
        assert a["arbiter"] == a["contracts"]["ArbiterPanel"] and "court" not in a["accounts"]
        assert a["token_terms"]["fUSD"] == {"allowed": True, "min_collateral_rate": 10**28,
                                            "max_collateral_rate": 10**31}
        status = json.loads(runner.invoke(app, ["devnet", "status", "--home", str(home), "--port", str(port),
                                                "--json"]).stdout)
        assert status["up"] is True and status["pid"] > 0
    finally:
        stopped = runner.invoke(app, ["devnet", "down", "--home", str(home), "--port", str(port), "--json"])
        Devnet(home, port=port).down()
    down = json.loads(stopped.stdout)
    assert down["stopped"] is True and down["pid"] == status["pid"]
    assert down["manifest_removed"] == str(home / "deployments/31337.json")
    status = json.loads(runner.invoke(app, ["devnet", "status", "--home", str(home), "--port", str(port),
                                            "--json"]).stdout)
    assert status == {"up": False, "rpc_url": f"http://127.0.0.1:{port}", "pid": None, "other": None}
