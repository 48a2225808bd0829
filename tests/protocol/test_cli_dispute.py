"""`fabrica dispute …` with --json on the devnet: open with a reason file, evidence from both sides, the arbiter's
ruling, an appeal whose --bond must match the job's, the DAO's ruling, the default ruling, reassignment refused
while the arbiter sits on the panel; and `fabrica dispute show` following every step."""
from __future__ import annotations

from pathlib import Path

from fabrica.protocol.storage.store import LocalContentStore
from protocol_testkit import FAB, PARAMS, STRANGER, USD, Chain, Cli

ZERO = "0x" + "00" * 20


def event(tx: dict, name: str) -> dict:
    return next(e["args"] for e in tx["events"] if e["event"] == name)


def sent_nothing(chain: Chain, who: str, nonce: int) -> bool:
    return chain.w3.eth.get_transaction_count(who) == nonce


def test_dispute_commands_follow_a_dispute_to_the_dao(cli: Cli, chain: Chain, tmp_path: Path) -> None:
    job_id = chain.delivered(amount=40 * USD, collateral=20 * FAB)
    reason = tmp_path / "reason.txt"
    reason.write_text("the part is warped")
    opened = cli.json("dispute", "open", str(job_id), "--reason", str(reason), account="customer")
    assert event(opened, "JobDisputed")["arbiter"] == chain.arbiter.address
    assert LocalContentStore(cli.home / "content").get(opened["reason_cid"]) == b"the part is warped"

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo of the corner")
    mine = cli.json("dispute", "evidence", str(job_id), str(photo), account="customer")
    assert event(mine, "EvidenceSubmitted") == {"jobId": job_id, "party": chain.customer.address,
                                                "cid": event(mine, "EvidenceSubmitted")["cid"]}
    log_cid = str(LocalContentStore(cli.home / "content").add(b"the node's print log"))
    theirs = cli.json("dispute", "evidence", str(job_id), log_cid, account="shop")
    assert theirs["cid"] == log_cid

    shown = cli.json("dispute", "show", str(job_id))
    assert (shown["stage"], shown["judge"], shown["judge_is_court"]) == ("AWAITING_ARBITER", chain.arbiter.address,
                                                                         False)
    assert shown["deadline_utc"].endswith("UTC") and shown["reason_cid"] == opened["reason_cid"]
    assert [(e["role"], e["cid"]) for e in shown["evidence"]] == [("customer", mine["cid"]), ("node", log_cid)]
    assert all(e["time_utc"].endswith("UTC") for e in shown["evidence"])
    assert (shown["bond"], shown["token"]) == ("4", "fUSD")

    ruled = cli.json("dispute", "rule", str(job_id), "--refund-bps", "2000", account="arbiter")
    assert event(ruled, "DisputeRuled")["refundBps"] == 2000
    assert cli.json("dispute", "show", str(job_id))["stage"] == "RULED"

    # --bond is a confirmation: a different amount is refused with the real one, before anything is sent.
    nonce = chain.w3.eth.get_transaction_count(chain.customer.address)
    wrong = cli("dispute", "appeal", str(job_id), "--bond", "5", account="customer", ok=False)
    assert wrong.exit_code == 1 and "fixed at 4 fUSD" in wrong.stderr and "--bond 4" in wrong.stderr
    assert sent_nothing(chain, chain.customer.address, nonce)
    appealed = cli.json("dispute", "appeal", str(job_id), "--bond", "4.00", account="customer")
    assert appealed["bond"] == "4" and event(appealed, "DisputeAppealed")["court"] == chain.timelock
    shown = cli.json("dispute", "show", str(job_id))
    assert (shown["stage"], shown["judge"], shown["judge_is_court"]) == ("APPEALED", chain.timelock, True)
    assert shown["appellant"] == chain.customer.address and "DAO" in shown["next"]
    human = cli("dispute", "show", str(job_id))
    assert "appeal court" in human.stdout and "evidence" in human.stdout

    chain.dao_rule(job_id, 6_000, 0)
    done = cli.json("dispute", "show", str(job_id))
    assert done["stage"] == "RESOLVED" and done["resolution"]["by"] == chain.timelock
    assert done["resolution"]["refund_bps"] == 6_000 and len(done["evidence"]) == 2


def test_dispute_default_ruling_reassign_and_refusals(cli: Cli, chain: Chain) -> None:
    job_id = chain.delivered()
    never = cli("dispute", "show", str(job_id), ok=False)
    assert never.exit_code == 1 and "never disputed" in never.stderr
    chain.customer.dispute_job(job_id, chain.cid(b"reason"))

    stranger = chain.stranger.address
    nonce = chain.w3.eth.get_transaction_count(stranger)
    refused = cli("dispute", "reassign", str(job_id), account=str(STRANGER), ok=False)
    assert refused.exit_code == 1 and "JobMarket__NotReassignable" in refused.stderr
    assert "still sits on the arbiter panel" in refused.stderr and sent_nothing(chain, stranger, nonce)

    chain.advance(PARAMS.dispute_window + 1)
    assert "default ruling" in cli.json("dispute", "show", str(job_id))["next"]
    defaulted = cli.json("dispute", "finalize", str(job_id), account=str(STRANGER))
    assert event(defaulted, "DisputeRuled")["arbiter"] == ZERO
    shown = cli.json("dispute", "show", str(job_id))
    assert (shown["stage"], shown["default_ruling"], shown["refund_bps"]) == ("RULED", True, 5_000)
    # The old `fabrica job` commands act on the same dispute.
    appealed = cli.json("job", "appeal", str(job_id), account="shop")
    assert event(appealed, "DisputeAppealed")["appellant"] == chain.shop.address
