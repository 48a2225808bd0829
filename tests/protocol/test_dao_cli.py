"""`fabrica dao …` and `fabrica devnet advance` in-process against the devnet: a --json round trip through every
subcommand, and bad input refused with a message naming what is wrong."""
from __future__ import annotations

import json
import subprocess
import time

from fabrica.protocol.devnet import find_anvil, rpc_ready
from protocol_testkit import FAB, Chain, Cli, free_port


def advance(cli: Cli, seconds: int) -> dict:
    return cli.json("devnet", "advance", "--seconds", str(seconds))


def test_dao_json_round_trip(chain: Chain, cli: Cli) -> None:
    gov = chain.deployment.governance
    deployer = chain.deployer.address
    delegated = cli.json("dao", "delegate", account="deployer")
    assert delegated["to"] == deployer and len(delegated["txs"]) == 2
    power = cli.json("dao", "power", "deployer")
    assert power["delegates_fab_to"] == deployer and float(power["votes"]) > 40_000_000
    moved = advance(cli, 1)
    assert moved["now"] >= moved["from"] + 1 and moved["now_utc"].endswith("UTC")

    proposed = cli.json("dao", "propose", "--set-fee-bps", "300", "--spend", f"FAB 1000 {chain.stranger.address}",
                        "--description", "# Lower the fee, pay a grant", account="deployer")
    pid = proposed["proposal_id"]
    assert proposed["actions"] == ["market: set feeBps 250 bps (2.5 %) -> 300 bps (3 %)",
                                   f"treasury: pay 1000 FAB to {chain.stranger.address}"]
    assert proposed["vote_end"] - proposed["vote_start"] == gov.voting_period
    assert proposed["vote_start_utc"].endswith("UTC")
    listed = cli.json("dao", "proposals")
    assert [(p["proposal_id"], p["state"], p["title"]) for p in listed] == [(pid, "pending", "Lower the fee, pay a grant")]

    advance(cli, gov.voting_delay + 1)
    voted = cli.json("dao", "vote", pid, "for", "--reason", "cheaper jobs", account="deployer")
    assert voted["support"] == "for" and voted["weight"] == power["votes"]
    ballot = cli.json("dao", "vote", pid, "against", "--sign-only", account="customer")
    assert ballot["voter"] == chain.customer.address and ballot["signature"].startswith("0x")
    path = cli.home / "ballot.json"
    path.write_text(json.dumps(ballot))
    relayed = cli.json("dao", "vote", "--ballot", str(path), account="7")  # dev account 7: a stranger pays the gas
    assert relayed["voter"] == chain.customer.address and relayed["support"] == "against"

    status = cli.json("dao", "status", pid, "--voter", "customer")
    assert status["state"] == "active" and status["voter"] == {"address": chain.customer.address, "has_voted": True,
                                                                "weight": "0"}  # the customer never delegated
    advance(cli, gov.voting_period + 1)
    queued = cli.json("dao", "queue", pid, account="deployer")
    assert queued["state"] == "queued" and queued["eta_utc"].endswith("UTC")
    early = cli("dao", "execute", pid, account="customer", ok=False)
    assert early.exit_code == 1 and "timelock delay has not passed" in early.output
    advance(cli, gov.timelock_delay + 1)
    executed = cli.json("dao", "execute", pid, account="customer")
    assert executed["state"] == "executed"
    assert chain.base.market_params()["feeBps"] == 300
    assert cli.json("dao", "status", pid)["votes"] == {"for": power["votes"], "against": "0", "abstain": "0"}

    second = cli.json("dao", "propose", "--pause", "--call", "JobMarket setGuardian(address) "
                      + chain.newcomer.address, account="deployer")
    cancelled = cli.json("dao", "cancel", second["proposal_id"], account="deployer")
    assert cancelled["state"] == "canceled"
    assert [p["proposal_id"] for p in cli.json("dao", "proposals", "--state", "cancelled")] == [second["proposal_id"]]
    assert chain.base.token_balance(chain.fab_token, chain.stranger.address) >= 1000 * FAB


def test_dao_bad_input_names_what_is_wrong(chain: Chain, cli: Cli) -> None:
    cases = [
        (("dao", "status", "12345"), "no proposal 12345"),
        (("dao", "status", "twelve"), "proposal id 'twelve' is not a number"),
        (("dao", "delegate", "0xnothex"), "delegate '0xnothex' is not an address"),
        (("dao", "propose", "--spend", f"FAB -5 {chain.stranger.address}"), "spend amount -5: pay a positive amount"),
        (("dao", "propose", "--spend", "FAB 5"), "expected 'TOKEN AMOUNT TO'"),
        (("dao", "propose", "--set-param", "nope=1"), "market parameter 'nope' does not exist"),
        (("dao", "propose"), "nothing to propose"),
        (("dao", "propose", "--appoint-arbiter", "0x12"), "arbiter '0x12' is not an address"),
        (("dao", "vote", "1", "maybe"), "vote 'maybe': choose for, against or abstain"),
        (("dao", "proposals", "--state", "sleeping"), "--state 'sleeping': one of pending"),
        (("devnet", "advance", "--seconds", "-5"), "--seconds -5: time only moves forward"),
    ]
    for args, message in cases:
        result = cli(*args, account="deployer", ok=False) if args[0] == "dao" else cli(*args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)


def test_devnet_advance_refuses_other_chains(tmp_path) -> None:
    port = free_port()
    anvil = subprocess.Popen([find_anvil(), "--port", str(port), "--chain-id", "5", "--silent"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not rpc_ready(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        result = Cli(url, tmp_path)("devnet", "advance", "--seconds", "60", ok=False)
        assert result.exit_code == 1
        assert "is chain 5, not the devnet (chain 31337): only a devnet's clock can be moved" in " ".join(
            result.output.split())
    finally:
        anvil.terminate()
        anvil.wait(10)
