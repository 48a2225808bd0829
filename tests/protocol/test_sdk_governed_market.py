"""The market under the DAO through the SDK on a real devnet: a dispute whose arbiter the DAO removes from the
panel is reassigned, evidence goes on record by CID, and the guardian's pause refuses new jobs while withdrawals
and running jobs go on."""
from __future__ import annotations

from fabrica.protocol import chain_errors
from fabrica.protocol.types import ZERO_ADDRESS, DisputeStage, JobStatus
from protocol_testkit import FAB, PARAMS, USD, Chain, fails_cleanly


def disputed(chain: Chain) -> int:
    job_id = chain.delivered(amount=40 * USD, collateral=20 * FAB)
    chain.customer.dispute_job(job_id, chain.cid(b"the part is warped"))
    return job_id


def test_a_dispute_whose_arbiter_the_dao_removed_is_reassigned(chain: Chain) -> None:
    arbiter, newcomer = chain.arbiter, chain.newcomer
    job_id = disputed(chain)
    assert chain.base.dispute_of(job_id).judge == arbiter.address
    # While its arbiter sits on the panel, nobody can take the case away from it.
    err = fails_cleanly(chain, chain_errors.JobMarket__NotReassignable,
                        lambda: chain.stranger.reassign_dispute(job_id), sends_nothing=True, who=chain.stranger)
    assert "still sits on the arbiter panel" in str(err)

    # Governance appoints a second arbiter and removes the first, in one proposal.
    chain.dao_execute([chain.calldata("ArbiterPanel", "appoint", newcomer.address),
                       chain.calldata("ArbiterPanel", "remove", arbiter.address)], description="rotate arbiters")
    assert chain.base.arbiters() == [newcomer.address]
    # Removed, the old arbiter rules no more, even on its own case: the case waits, untouched, for anyone to
    # reassign it (no race to rule before that).
    fails_cleanly(chain, chain_errors.JobMarket__NotJudge, lambda: arbiter.rule_dispute(job_id, 10_000, 0))
    assert chain.base.dispute_of(job_id).judge == arbiter.address

    moved = chain.stranger.reassign_dispute(job_id).event("DisputeReassigned").args
    assert moved == {"jobId": job_id, "previous": arbiter.address, "arbiter": newcomer.address,
                     "ruleBy": chain.base.now() + PARAMS.dispute_window}
    live = chain.base.dispute_of(job_id)
    record = chain.base.job(job_id)
    assert record.dispute == live and record.reassignments == 1
    assert (live.stage, live.judge, live.arbiter, live.deadline) == (
        DisputeStage.AWAITING_ARBITER, newcomer.address, newcomer.address, moved["ruleBy"])
    fails_cleanly(chain, chain_errors.JobMarket__NotJudge, lambda: arbiter.rule_dispute(job_id, 0, 0))
    ruled = newcomer.rule_dispute(job_id, 3_000, 0).event("DisputeRuled").args
    assert (ruled["arbiter"], ruled["refundBps"]) == (newcomer.address, 3_000)
    # A ruled dispute is never reassigned.
    fails_cleanly(chain, chain_errors.JobMarket__NotReassignable, lambda: chain.stranger.reassign_dispute(job_id),
                  sends_nothing=True, who=chain.stranger)



def test_a_removed_arbiters_dispute_past_its_deadline_takes_the_default_ruling(chain: Chain) -> None:
    arbiter, newcomer = chain.arbiter, chain.newcomer
    job_id = disputed(chain)
    chain.dao_execute([chain.calldata("ArbiterPanel", "appoint", newcomer.address),
                       chain.calldata("ArbiterPanel", "remove", arbiter.address)], description="rotate arbiters")
    deadline = chain.base.dispute_of(job_id).deadline
    chain.advance(deadline - chain.base.now() + 1)
    # Past the deadline the clock never restarts: nobody reassigns the case, and the removed arbiter cannot rule.
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed, lambda: chain.stranger.reassign_dispute(job_id))
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed, lambda: arbiter.rule_dispute(job_id, 0, 0))
    ruled = chain.stranger.finalize_dispute(job_id).event("DisputeRuled").args
    assert (ruled["arbiter"], ruled["refundBps"], ruled["slashBps"]) == (ZERO_ADDRESS, 5_000, 0)
    live = chain.base.dispute_of(job_id)
    assert (live.stage, live.arbiter) == (DisputeStage.RULED, ZERO_ADDRESS)

def test_evidence_round_trip(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    job_id = disputed(chain)
    photo = b"photo of the warped corner"
    first = c.submit_evidence(job_id, photo, store=chain.store)
    assert chain.store.get(first.value) == photo  # stored first, so the arbiter can read what the CID names
    stored = chain.cid(b"the node's print log")
    second = shop.submit_evidence(job_id, stored)
    assert second.value == stored and second.event("EvidenceSubmitted").args["party"] == shop.address
    on_record = chain.base.evidence_of(job_id)
    assert [(e.party, e.cid) for e in on_record] == [(c.address, first.value), (shop.address, stored)]
    assert on_record[0].timestamp <= on_record[1].timestamp <= chain.base.now()
    assert on_record[1].tx_hash == second.tx_hash
    assert chain.base.evidence_of(job_id + 1) == []  # evidence is per dispute

    never = chain.delivered()
    fails_cleanly(chain, chain_errors.JobMarket__WrongStatus, lambda: c.submit_evidence(never, stored),
                  sends_nothing=True, who=c)


def test_the_guardian_pauses_new_jobs_but_never_withdrawals_or_running_jobs(chain: Chain) -> None:
    c, shop, guardian = chain.customer, chain.shop, chain.guardian
    running = chain.claimed(amount=10 * USD)
    c.deposit(chain.usd, 5 * USD)
    assert chain.base.paused() is False and chain.base.guardian() == guardian.address

    fails_cleanly(chain, chain_errors.JobMarket__NotGuardian, lambda: chain.stranger.pause(), sends_nothing=True,
                  who=chain.stranger)
    paused = guardian.pause().event("PausedSet").args
    assert paused == {"by": guardian.address, "paused": True} and chain.base.paused() is True

    err = fails_cleanly(chain, chain_errors.JobMarket__Paused, lambda: chain.post(), sends_nothing=True, who=c)
    assert "new jobs" in str(err) and "withdrawals" in str(err)
    # The guardian's brake only goes one way: unpausing is the DAO's.
    err = fails_cleanly(chain, chain_errors.JobMarket__NotGuardian, lambda: guardian.unpause(), sends_nothing=True,
                        who=guardian)
    assert "only the owner unpauses" in str(err) and "fabrica dao propose" in str(err)

    # What already belongs to someone keeps moving: the running job is delivered and accepted, and both withdraw.
    shop.deliver_job(running, chain.cid(b"proof"))
    c.accept_job(running)
    assert c.withdraw(chain.usd).event("Withdrawn").args["amount"] == 5 * USD
    payout = shop.withdraw(chain.usd).event("Withdrawn").args["amount"]
    assert payout == 10 * USD - 10 * USD * PARAMS.fee_bps // 10_000
    assert c.job(running).status == JobStatus.SETTLED

    chain.dao_execute([chain.calldata("JobMarket", "setPaused", False)], description="unpause")
    assert chain.base.paused() is False
    assert c.job(chain.post()).status == JobStatus.OPEN
