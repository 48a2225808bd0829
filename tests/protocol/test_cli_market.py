"""The v2 market through the `fabrica` CLI with --json on the devnet: target nodes and collateral bounds, signed
order files (write, sign, take, cancel), hand-backs, expiry, the dispute path, stake details; and bad input refused
with one clear line and nothing sent or written."""
from __future__ import annotations

import json
import os
from pathlib import Path

from bad_input_testkit import State
from cli_refusal import refused_cleanly
from eth_account import Account
from fabrica.protocol.accounts import dev_account
from fabrica.protocol.orders import OrderFile
from fabrica.protocol.types import JobStatus
from protocol_testkit import FAB, PARAMS, STRANGER, USD, Chain, Cli

REPO = Path(__file__).resolve().parents[2]
BRACKET = REPO / "examples/bracket.stl"


def event(tx: dict, name: str) -> dict:
    return next(e["args"] for e in tx["events"] if e["event"] == name)


def refused(cli: Cli, chain: Chain, tmp_path: Path, *args: str, account: str | None = None) -> str:
    """Run a command that must be refused; check the contract and that nothing changed; return the message."""
    return refused_cleanly(lambda: cli(*args, account=account, ok=False), lambda: State.of(chain, tmp_path, cli.home),
                           f"fabrica {' '.join(args)}")


def test_post_shows_collateral_bounds_and_reserves_a_node(cli: Cli, chain: Chain) -> None:
    posted = cli.json("job", "post", "--file", str(BRACKET), "--amount", "25", "--target-node", "1",
                      account="customer")
    assert posted["collateral"] == "10" and posted["collateral_bounds"] == ["10", "250"]  # the minimum by default
    assert posted["key"] == posted["job_id"] == 1
    shown = cli.json("job", "show", "1")
    assert shown["target_node"] == 1 and shown["job"]["target_node"] == 1
    assert shown["collateral_fab"] == "10" and shown["collateral_bounds_fab"] == ["10", "250"]
    assert shown["deadline_utc"].endswith("UTC") and shown["status"] == "OPEN"
    more = cli.json("job", "post", "--file", str(BRACKET), "--amount", "25", "--collateral", "200",
                    account="customer")
    assert more["collateral"] == "200" and chain.base.job(more["job_id"]).job.collateral == 200 * FAB
    human = cli("job", "post", "--file", str(BRACKET), "--amount", "5", account="customer")
    assert "collateral 10 FAB (the market allows 10–50 FAB for this amount" in human.stdout


def test_signed_order_file_round_trip(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    c = chain.customer
    c.deposit(chain.usd, 50 * USD)
    out = tmp_path / "order.json"
    nonce = chain.w3.eth.get_transaction_count(c.address)
    written = cli.json("job", "order", "--file", str(BRACKET), "--amount", "12", "--expiry", "2h",
                       "--delivery-window", "1d", "--out", str(out), "--sign", account="customer")
    assert written["signed"] is True and written["nonce"] == 0 and written["collateral"] == "10"
    file = OrderFile.read(out)
    data = json.loads(out.read_text())
    assert set(data) == {"order", "typedData", "digest", "market", "chainId", "signature"}
    assert data["digest"] == written["digest"] == "0x" + c.order_digest(file.order).hex()
    assert data["market"] == c.market.address and data["chainId"] == 31337
    # The file's typedData, signed the way a wallet signs it, gives the file's signature.
    wallet_sig = Account.sign_typed_data(dev_account(3).key, full_message=data["typedData"]).signature.hex()
    assert data["signature"] == "0x" + wallet_sig
    assert chain.w3.eth.get_transaction_count(c.address) == nonce  # writing and signing the order sent nothing

    taken = cli.json("job", "take", str(out), "--node", "1", account="shop")
    job_id = taken["job_id"]
    assert event(taken, "OrderTaken")["orderHash"] == data["digest"]
    shown = cli.json("job", "show", str(job_id))
    assert shown["status"] == "CLAIMED" and shown["order_hash"] == data["digest"] and shown["node_id"] == 1
    assert shown["job"]["amount"] == 12 * USD and shown["claimed_at_utc"].endswith("UTC")

    # A second order from the same home gets the next nonce although the first was never cancelled.
    unsigned = tmp_path / "unsigned.json"
    second = cli.json("job", "order", "--spec-cid", shown["spec_cid"], "--amount", "3", "--out", str(unsigned),
                      account="customer")
    assert second["nonce"] == 1 and second["signed"] is False and "signature" not in json.loads(unsigned.read_text())
    signature = c.sign_order(OrderFile.read(unsigned).order)  # e.g. signed in a wallet from the typedData
    taken = cli.json("job", "take", str(unsigned), "--node", "1", "--signature", signature, account="shop")
    assert chain.base.job(taken["job_id"]).job.amount == 3 * USD


def test_order_with_a_permit_and_cancellations(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    c = chain.customer
    c.approve(chain.usd, c.market.address, 0)
    out = tmp_path / "permit.json"
    written = cli.json("job", "order", "--file", str(BRACKET), "--amount", "20", "--out", str(out), "--sign",
                       "--permit", account="customer")
    assert written["permit"] is True and json.loads(out.read_text())["permit"]["value"] == str(20 * USD)
    wallet = c.token_balance(chain.usd, c.address)
    cli.json("job", "take", str(out), "--node", "1", account="shop")
    assert c.token_balance(chain.usd, c.address) == wallet - 20 * USD

    cancel_me = tmp_path / "cancel.json"
    nonce = cli.json("job", "order", "--file", str(BRACKET), "--amount", "2", "--out", str(cancel_me), "--sign",
                     "--permit", account="customer")["nonce"]
    cancelled = cli.json("job", "cancel-order", str(nonce), account="customer")
    assert event(cancelled, "OrderCancelled") == {"customer": c.address, "nonce": nonce}
    message = refused(cli, chain, tmp_path, "job", "take", str(cancel_me), "--node", "1", account="shop")
    assert "JobMarket__OrderNonceUsed" in message and "taken or cancelled" in message

    stale = tmp_path / "stale.json"
    cli.json("job", "order", "--file", str(BRACKET), "--amount", "2", "--out", str(stale), "--sign", "--permit",
             account="customer")
    bumped = cli.json("job", "cancel-all-orders", account="customer")
    assert bumped["value"] == 1 and event(bumped, "OrderCounterIncremented")["counter"] == 1
    message = refused(cli, chain, tmp_path, "job", "take", str(stale), "--node", "1", account="shop")
    assert "JobMarket__OrderCounterStale" in message and "cancel-all-orders" in message


def test_hand_back_expire_and_the_dispute_path(cli: Cli, chain: Chain) -> None:
    handed = chain.claimed()
    back = cli.json("job", "hand-back", str(handed), account="shop")
    assert event(back, "JobHandedBack")["penalty"] == 0
    shown = cli.json("job", "show", str(handed))
    assert shown["status"] == "OPEN" and shown["hand_backs"] == 1 and shown["node_id"] is None

    overdue = chain.claimed(window=PARAMS.min_delivery_window, collateral=20 * FAB)
    chain.advance(PARAMS.min_delivery_window + 1)
    expired = cli.json("job", "expire", str(overdue), account=str(STRANGER))
    assert event(expired, "JobExpired")["compensation"] == 5 * FAB

    job_id = chain.delivered(amount=40 * USD)
    reason = REPO / "README.md"
    cli.json("job", "dispute", str(job_id), "--reason", str(reason), account="customer")
    shown = cli.json("job", "show", str(job_id))
    assert shown["dispute"]["stage"] == "AWAITING_ARBITER" and shown["dispute"]["judge"] == chain.arbiter.address
    assert shown["dispute"]["deadline_utc"].endswith("UTC")
    ruled = cli.json("job", "rule", str(job_id), "--refund-bps", "1000", account="arbiter")
    assert event(ruled, "DisputeRuled")["refundBps"] == 1000
    assert cli.json("job", "show", str(job_id))["dispute"]["stage"] == "RULED"
    appealed = cli.json("job", "appeal", str(job_id), account="customer")
    assert event(appealed, "DisputeAppealed")["court"] == chain.timelock  # the appeal court is the DAO
    shown = cli.json("job", "show", str(job_id))
    assert shown["dispute"]["stage"] == "APPEALED" and shown["dispute"]["judge"] == chain.timelock
    # No account signs for the DAO: the CLI says so (a governance proposal rules) and sends nothing.
    refusal = cli("job", "rule", str(job_id), "--refund-bps", "7000", account="arbiter", ok=False)
    assert refusal.exit_code == 1 and "JobMarket__NotJudge" in refusal.stderr and "proposal" in refusal.stderr
    final = chain.dao_rule(job_id, 7_000, 5_000)
    assert final.event("JobResolved").args["by"] == chain.timelock
    assert cli.json("job", "show", str(job_id))["status"] == "RESOLVED"

    silent = chain.delivered()
    chain.customer.dispute_job(silent, chain.cid(b"reason"))
    chain.advance(PARAMS.dispute_window + 1)
    defaulted = cli.json("job", "finalize", str(silent), account=str(STRANGER))
    ruled = event(defaulted, "DisputeRuled")  # the silent arbiter's dispute gets the default ruling
    assert (ruled["arbiter"], ruled["refundBps"], ruled["slashBps"]) == ("0x" + "00" * 20, 5_000, 0)
    assert chain.base.job(silent).status == JobStatus.DISPUTED  # appealable until the window closes


def test_stake_unbond_and_show_list_requests_votes_and_eligibility(cli: Cli, chain: Chain) -> None:
    staked = cli.json("node", "stake", "1500", account="6")
    assert staked["stake"]["staked"] == "1500" and staked["stake"]["eligible"] is True
    assert staked["stake"]["min_stake"] == "1000" and staked["stake"]["requests"] == []
    unbond = cli.json("node", "unbond", "600", account="6")
    release = event(unbond, "UnbondRequested")["unbondAt"]
    assert unbond["release_at"] == release and unbond["release_at_utc"].endswith("UTC")
    human = cli("node", "unbond", "100", account="6")
    assert "released 20" in human.stdout and "fabrica node withdraw" in human.stdout
    cli.json("node", "register", account="6")
    shown = cli.json("node", "show", "2")
    stake = shown["stake"]
    assert [r["amount"] for r in stake["requests"]] == ["600", "100"] and stake["requests"][0]["release_at"] == release
    assert stake["staked"] == "800" and stake["unbonding"] == "700" and stake["eligible"] is False
    assert shown["can_claim"] is False  # 800 FAB bonded is below the minimum
    assert float(stake["votes"]) > 0


def test_market_bad_input_is_refused_with_nothing_sent_or_written(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    out = tmp_path / "order.json"
    order = ("job", "order", "--file", str(BRACKET), "--out", str(out))
    message = refused(cli, chain, tmp_path, *order, "--amount", "5", "--collateral", "60", account="customer")
    assert "JobMarket__CollateralOutOfBounds(collateral=60 FAB, min=10 FAB, max=50 FAB)" in message
    message = refused(cli, chain, tmp_path, *order, "--amount", "5", "--delivery-window", "30m", account="customer")
    assert "JobMarket__InvalidDeliveryWindow(window=30m, min=1h" in message
    message = refused(cli, chain, tmp_path, *order, "--amount", "5", "--permit", account="customer")
    assert "--permit needs --sign" in message
    message = refused(cli, chain, tmp_path, *order, "--amount", "5", "--expiry", "400d", account="customer")
    assert "at most 365 days" in message
    message = refused(cli, chain, tmp_path, "job", "order", "--file", str(BRACKET), "--amount", "5", "--out",
                      str(tmp_path / "no-such-folder" / "o.json"), account="customer")
    assert "does not exist" in message
    assert not out.exists() and not (cli.home / "content").exists()

    cli.json(*order, "--amount", "5", "--expiry", "20m", "--sign", "--permit", account="customer")
    message = refused(cli, chain, tmp_path, *order, "--amount", "5", account="customer")
    assert "already exists" in message  # a written order is never overwritten
    stranger_sig = "0x" + Account.sign_typed_data(dev_account(STRANGER).key, full_message=json.loads(
        out.read_text())["typedData"]).signature.hex()
    message = refused(cli, chain, tmp_path, "job", "take", str(out), "--node", "1", "--signature", stranger_sig,
                      account="shop")
    assert "JobMarket__InvalidSignature" in message and chain.stranger.address in message
    message = refused(cli, chain, tmp_path, "job", "take", str(out), "--node", "1", "--signature", "0x1234",
                      account="shop")
    assert "must be 0x and 130 hex characters" in message

    edited = tmp_path / "edited.json"
    data = json.loads(out.read_text())
    data["order"]["amount"] = "1"
    edited.write_text(json.dumps(data))
    message = refused(cli, chain, tmp_path, "job", "take", str(edited), "--node", "1", account="shop")
    assert "digest does not match its order" in message
    data = json.loads(out.read_text())
    data["signature"] = data["signature"][:-4] + "abcd"  # a signature that recovers to someone (or no one) else
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    message = refused(cli, chain, tmp_path, "job", "take", str(broken), "--node", "1", account="shop")
    assert "InvalidSignature" in message or "last byte (v)" in message
    notjson = tmp_path / "notes.txt"
    notjson.write_text("take my order")
    message = refused(cli, chain, tmp_path, "job", "take", str(notjson), "--node", "1", account="shop")
    assert "is not JSON" in message

    chain.advance(20 * 60 + 1)
    message = refused(cli, chain, tmp_path, "job", "take", str(out), "--node", "1", account="shop")
    assert "JobMarket__OrderExpired" in message and "UTC" in message

    job_id = chain.post()
    message = refused(cli, chain, tmp_path, "job", "hand-back", str(job_id), account="shop")
    assert "JobMarket__WrongStatus" in message and "actual=OPEN, expected=CLAIMED" in message
    message = refused(cli, chain, tmp_path, "job", "expire", str(job_id), account=str(STRANGER))
    assert "JobMarket__DeadlineNotPassed" in message and "UTC" in message
    message = refused(cli, chain, tmp_path, "job", "rule", str(job_id), "--refund-bps", "20000", account="arbiter")
    assert "refund_bps must be between 0 and 10000" in message
    message = refused(cli, chain, tmp_path, "job", "cancel-order", str(2**64), account="customer")
    assert "between 0 and 2^64 - 1" in message


def test_verify_proof_reports_and_disputes_a_failed_proof(cli: Cli, chain: Chain) -> None:
    from fabrica.protocol.storage.store import LocalContentStore
    from test_proof import claimed_job, deliver, print_log, signed

    chain.store = LocalContentStore(cli.home / "content")  # the CLI reads specs and proofs from its own store
    good = claimed_job(chain)
    deliver(chain, good, signed(print_log(chain, good), chain.shop.account))
    report = cli.json("job", "verify-proof", str(good))
    assert report["ok"] is True and report["job_id"] == good and all(c["ok"] for c in report["checks"])
    assert "proof ok" in cli("job", "verify-proof", str(good)).stdout

    bad = claimed_job(chain)
    deliver(chain, bad, os.urandom(256))
    result = cli("job", "verify-proof", str(bad), "--json", ok=False)
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False
    assert chain.base.job(bad).status == JobStatus.DELIVERED  # without --dispute nothing is sent
    result = cli("job", "verify-proof", str(bad), "--dispute", "--json", account="customer", ok=False)
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["ok"] is False and event(data["dispute"], "JobDisputed")["jobId"] == bad
    record = chain.base.job(bad)
    assert record.status == JobStatus.DISPUTED
    assert json.loads(chain.store.get(record.reason_cid))["ok"] is False  # the report is the dispute's reason


def test_watch_verifies_every_delivery_and_disputes_only_the_failed_ones(cli: Cli, chain: Chain) -> None:
    from fabrica.protocol.storage.store import LocalContentStore
    from test_proof import claimed_job, deliver, print_log, signed

    chain.store = LocalContentStore(cli.home / "content")  # the CLI reads specs and proofs from its own store
    good = claimed_job(chain)
    deliver(chain, good, signed(print_log(chain, good), chain.shop.account))
    junk = claimed_job(chain)
    deliver(chain, junk, os.urandom(300))  # a valid CID of random bytes: a junk proof
    other_key = claimed_job(chain)
    deliver(chain, other_key, signed(print_log(chain, other_key), chain.stranger.account))

    lines = cli("job", "watch", "--once", "--dispute", "--json", account="customer").stdout.splitlines()
    reports = {r["job_id"]: r for r in map(json.loads, lines)}
    assert {good, junk, other_key} <= set(reports)
    assert reports[good]["ok"] is True and "dispute" not in reports[good]
    for job_id in (junk, other_key):
        assert reports[job_id]["ok"] is False and event(reports[job_id]["dispute"], "JobDisputed")["jobId"] == job_id
        assert chain.base.job(job_id).status == JobStatus.DISPUTED
    assert chain.base.job(good).status == JobStatus.DELIVERED  # an honest delivery is left to be accepted
    # A second look finds nothing new to dispute (the disputed jobs are no longer Delivered).
    again = cli("job", "watch", "--once", "--dispute", "--json", account="customer").stdout.splitlines()
    assert all(json.loads(line).get("dispute") is None for line in again)
