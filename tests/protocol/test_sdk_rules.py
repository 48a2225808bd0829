"""The job market v2 rules through the SDK on a real devnet: recycled slots, hand-backs, expiry with compensation,
target nodes, and the whole dispute path (the assigned arbiter, the default ruling, appeals to the DAO, lost appeal
bonds, reassignment after the panel removes an arbiter, evidence) and the pause of new jobs."""
from __future__ import annotations

from fabrica.protocol import chain_errors
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.types import ZERO_ADDRESS, DisputeInfo, DisputeStage, JobStatus
from protocol_testkit import FAB, PARAMS, USD, Chain, fails_cleanly

REOPEN_PERIOD = 86_400  # JobMarket.REOPEN_PERIOD
REOPEN_COOLDOWN = 3_600  # JobMarket.REOPEN_COOLDOWN


def locked(chain: Chain, who) -> int:
    return chain.base.stake_of(who.address).locked


# ------------------------------------------------------------------------------------------ recycled slots


def test_post_with_reuse_recycles_a_finished_jobs_slot(chain: Chain) -> None:
    c = chain.customer
    assert c.reusable_key() == 0  # no finished job yet
    first = chain.post(amount=5 * USD)
    c.cancel_job(first)
    assert c.reusable_key() == first  # the cancelled job still sits in its slot

    second = c.post_job(chain.usd, 7 * USD, chain.cid(b"second"), claim_by=c.now() + 3600, delivery_window=3600)
    fresh = c.post_job(chain.usd, 7 * USD, chain.cid(b"third"), claim_by=c.now() + 3600, delivery_window=3600,
                       reuse=False)
    a, b, d = c.job(first), c.job(second.value), c.job(fresh.value)
    assert b.job.key == a.job.key == first != second.value  # the second job lives in the first job's slot
    assert d.job.key == fresh.value  # reuse=False: a fresh slot, keyed by its id
    # Rewriting a used slot (5 000 gas) instead of a fresh one (22 100) saves about 17 000 gas.
    assert fresh.gas_used - second.gas_used > 15_000, (fresh.gas_used, second.gas_used)

    # Both jobs still rebuild from events: the first is CANCELLED although its commitment was overwritten.
    assert a.status == JobStatus.CANCELLED and a.job.amount == 5 * USD and a.job_id == first
    assert b.status == JobStatus.OPEN and b.job.amount == 7 * USD
    stored = c.market.functions.commitmentAt(first).call()
    assert stored == b.job.commitment(second.value, JobStatus.OPEN) != a.job.commitment(first, JobStatus.CANCELLED)
    assert c.market.functions.statusOf(first, a.job.to_abi()).call() == JobStatus.NONE
    assert c.market.functions.statusOf(second.value, b.job.to_abi()).call() == JobStatus.OPEN
    # The recycled slot holds an open job now, so nothing is reusable; the next post takes a fresh slot.
    assert c.reusable_key() == 0
    fourth = chain.post(amount=9 * USD)
    assert c.job(fourth).job.key == fourth
    assert {r.job_id: r.job.key for r in c.jobs()} == {first: first, second.value: first, fresh.value: fresh.value,
                                                       fourth: fourth}

    # The second job finishes in the recycled slot like any other.
    chain.shop.claim_job(second.value, chain.node_id)
    chain.shop.deliver_job(second.value, chain.cid(b"proof"))
    c.accept_job(second.value)
    assert c.job(second.value).status == JobStatus.SETTLED
    assert c.reusable_key() == first  # the slot holds a finished job again


def test_take_with_reuse_recycles_the_nodes_finished_slot(chain: Chain) -> None:
    shop, c = chain.shop, chain.customer
    done = chain.delivered()
    c.accept_job(done)
    assert shop.reusable_key(as_node=True) == done
    c.deposit(chain.usd, 10 * USD)
    order = c.build_order(chain.usd, 10 * USD, chain.cid(b"ordered"), delivery_window=3600, expiry=c.now() + 600)
    job_id = shop.take_order(order, c.sign_order(order), chain.node_id).value
    assert shop.job(job_id).job.key == done and shop.job(done).status == JobStatus.SETTLED


# ------------------------------------------------------------------------------------------ hand-backs


def test_hand_back_then_another_node_claims(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    before = locked(chain, shop)
    job_id = chain.post(amount=20 * USD, collateral=30 * FAB)
    claim = shop.claim_job(job_id, chain.node_id)
    record = c.job(job_id)
    assert record.claimed_at == shop.w3.eth.get_block(claim.block_number)["timestamp"]
    assert record.hand_backs == 0 and locked(chain, shop) == before + 30 * FAB

    staked = shop.stake_of(shop.address).staked
    handed = shop.hand_back_job(job_id).event("JobHandedBack").args
    now = shop.now()
    # Within the hand-back window a hand-back is free: nothing slashed, the collateral unlocked.
    assert handed == {"jobId": job_id, "node": shop.address, "penalty": 0, "compensation": 0,
                      "claimBy": now + REOPEN_PERIOD}
    assert locked(chain, shop) == before and shop.stake_of(shop.address).staked == staked
    assert c.market_balance(chain.fab_token, c.address) == 0 and c.fees(chain.fab_token) == 0
    record = c.job(job_id)
    assert record.status == JobStatus.OPEN and record.node_id is None
    assert record.job.node == shop.address  # the struct keeps naming who handed it back
    assert record.hand_backs == 1 and record.claimed_at is None and record.job.deadline == now + REOPEN_PERIOD

    # That shop may not take it again, and nobody may for a cooldown (the customer can still cancel meanwhile).
    err = fails_cleanly(chain, chain_errors.JobMarket__HandedBackByCaller,
                        lambda: shop.claim_job(job_id, chain.node_id))
    assert "another shop may claim it" in str(err)
    node_2 = chain.operator()
    other = chain.newcomer
    err = fails_cleanly(chain, chain_errors.JobMarket__ReopenCooldown, lambda: other.claim_job(job_id, node_2))
    assert err.args_by_name["claimableAt"] == now + REOPEN_COOLDOWN and "UTC" in str(err)
    chain.advance(REOPEN_COOLDOWN)
    other.claim_job(job_id, node_2)
    record = c.job(job_id)
    assert record.status == JobStatus.CLAIMED and record.job.node == other.address and record.node_id == node_2
    assert record.hand_backs == 1 and locked(chain, other) == 30 * FAB
    other.deliver_job(job_id, chain.cid(b"made by the second shop"))
    c.accept_job(job_id)
    fee = 20 * USD * PARAMS.fee_bps // 10_000
    assert c.market_balance(chain.usd, other.address) == 20 * USD - fee
    assert c.market_balance(chain.usd, shop.address) == 0


def test_a_late_hand_back_costs_a_penalty_shared_with_the_customer(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    job_id = chain.claimed(collateral=40 * FAB)
    chain.advance(PARAMS.hand_back_window + 1)
    staked = shop.stake_of(shop.address).staked
    handed = shop.hand_back_job(job_id).event("JobHandedBack").args
    penalty = 40 * FAB * PARAMS.hand_back_penalty_bps // 10_000
    compensation = penalty * PARAMS.compensation_bps // 10_000
    assert (handed["penalty"], handed["compensation"]) == (penalty, compensation) == (4 * FAB, 2 * FAB)
    assert shop.stake_of(shop.address).staked == staked - penalty
    # The customer's share is credited in FAB in the market; the rest is the treasury's.
    assert c.market_balance(chain.fab_token, c.address) == compensation
    assert c.fees(chain.fab_token) == penalty - compensation
    assert c.job(job_id).status == JobStatus.OPEN


def test_only_the_claimer_hands_back_and_not_after_its_deadline(chain: Chain) -> None:
    job_id = chain.claimed(window=PARAMS.min_delivery_window)
    err = fails_cleanly(chain, chain_errors.JobMarket__NotClaimer, lambda: chain.customer.hand_back_job(job_id))
    assert err.args_by_name["node"] == chain.shop.address
    chain.advance(PARAMS.min_delivery_window + 1)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed, lambda: chain.shop.hand_back_job(job_id))


# -------------------------------------------------------------------------------------------- expiry


def test_expire_by_a_stranger_refunds_and_compensates_in_fab(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    job_id = chain.claimed(amount=15 * USD, window=PARAMS.min_delivery_window, collateral=50 * FAB)
    stake = shop.stake_of(shop.address)
    registry_fab = c.token_balance(chain.fab_token, c.registry.address)
    market_fab = c.token_balance(chain.fab_token, c.market.address)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlineNotPassed, lambda: chain.stranger.expire_job(job_id))
    chain.advance(PARAMS.min_delivery_window + 1)

    result = chain.stranger.expire_job(job_id)
    slashed = 50 * FAB * PARAMS.expiry_slash_bps // 10_000
    compensation = slashed * PARAMS.compensation_bps // 10_000
    assert result.event("JobExpired").args == {"jobId": job_id, "node": shop.address, "refund": 15 * USD,
                                               "slashed": slashed, "compensation": compensation}
    assert result.event("Slashed").args["amount"] == slashed
    assert (slashed, compensation) == (25 * FAB, 25 * FAB // 2)
    assert c.market_balance(chain.usd, c.address) == 15 * USD
    assert c.market_balance(chain.fab_token, c.address) == compensation
    assert c.fees(chain.fab_token) == slashed - compensation
    assert c.token_balance(chain.fab_token, c.registry.address) == registry_fab - slashed
    assert c.token_balance(chain.fab_token, c.market.address) == market_fab + slashed
    after = shop.stake_of(shop.address)
    assert after.staked == stake.staked - slashed and after.locked == stake.locked - 50 * FAB
    assert c.job(job_id).status == JobStatus.EXPIRED

    wallet = c.token_balance(chain.fab_token, c.address)
    c.withdraw(chain.fab_token)  # the compensation is paid out like any market balance
    assert c.token_balance(chain.fab_token, c.address) == wallet + compensation


def test_expire_an_unclaimed_job_after_its_claim_by(chain: Chain) -> None:
    job_id = chain.post(amount=8 * USD, claim_in=600)
    chain.advance(601)
    cancelled = chain.stranger.expire_job(job_id).event("JobCancelled").args
    assert cancelled == {"jobId": job_id, "customer": chain.customer.address, "refund": 8 * USD}
    assert chain.base.job(job_id).status == JobStatus.CANCELLED
    assert chain.base.market_balance(chain.usd, chain.customer.address) == 8 * USD


# ------------------------------------------------------------------------------------------ target nodes


def test_a_job_for_one_node_only(chain: Chain) -> None:
    node_2 = chain.operator()
    job_id = chain.post(target_node=chain.node_id)
    assert chain.base.job(job_id).job.target_node == chain.node_id
    err = fails_cleanly(chain, chain_errors.JobMarket__NotTargetNode, lambda: chain.newcomer.claim_job(job_id, node_2))
    assert err.args_by_name == {"jobId": job_id, "nodeId": node_2, "targetNode": chain.node_id}
    chain.shop.claim_job(job_id, chain.node_id)
    assert chain.base.job(job_id).status == JobStatus.CLAIMED
    err = fails_cleanly(chain, chain_errors.JobMarket__UnknownNode, lambda: chain.post(target_node=99),
                        sends_nothing=True, who=chain.customer)
    assert "nodes are 1..2" in str(err)


def test_a_claim_below_the_minimum_stake_says_how_much_to_stake(chain: Chain) -> None:
    op = chain.newcomer
    node_id = chain.operator(stake=999 * FAB)
    job_id = chain.post()
    err = fails_cleanly(chain, chain_errors.JobMarket__NodeInactive, lambda: op.claim_job(job_id, node_id),
                        sends_nothing=True, who=op)
    assert "has 999 FAB staked; claiming jobs needs at least 1000 FAB: run `fabrica node stake 1`" in str(err)
    op.stake(FAB)  # eligibility follows the stake at once
    op.claim_job(job_id, node_id)
    assert chain.base.job(job_id).node_id == node_id


# ---------------------------------------------------------------------------------------------- disputes


def disputed(chain: Chain, amount: int = 40 * USD, collateral: int = 20 * FAB) -> int:
    job_id = chain.delivered(amount=amount, collateral=collateral)
    chain.customer.dispute_job(job_id, chain.cid(b"the part is warped"))
    return job_id


def assert_folded(chain: Chain, job_id: int) -> DisputeInfo:
    """The dispute the events fold to is the chain's own; returns it."""
    live = chain.base.dispute_of(job_id)
    assert chain.base.job(job_id).dispute == live
    return live


def test_dispute_ruling_appeal_and_final_ruling(chain: Chain) -> None:
    c, shop, arbiter = chain.customer, chain.shop, chain.arbiter
    amount, bond = 40 * USD, 4 * USD
    job_id = chain.delivered(amount=amount, collateral=20 * FAB)
    wallet = c.token_balance(chain.usd, c.address)
    reason = chain.cid(b"the part is warped")
    opened = c.dispute_job(job_id, reason).event("JobDisputed").args
    # The panel assigned its only member, the dev arbiter, who rules on the market directly.
    assert opened["bond"] == bond == c.job(job_id).job.bond and opened["arbiter"] == arbiter.address
    assert c.token_balance(chain.usd, c.address) == wallet - bond
    d = assert_folded(chain, job_id)
    assert d == DisputeInfo(stage=DisputeStage.AWAITING_ARBITER, judge=arbiter.address, arbiter=arbiter.address,
                            deadline=c.now() + PARAMS.dispute_window)
    assert c.job(job_id).reason_cid == reason

    fails_cleanly(chain, chain_errors.JobMarket__NotJudge, lambda: chain.stranger.rule_dispute(job_id, 10_000, 0))
    ruled = arbiter.rule_dispute(job_id, 2_000, 0).event("DisputeRuled").args
    assert (ruled["arbiter"], ruled["refundBps"], ruled["slashBps"], ruled["appealBy"]) == (
        arbiter.address, 2_000, 0, c.now() + PARAMS.appeal_window)
    d = assert_folded(chain, job_id)
    assert (d.stage, d.refund_bps, d.deadline, d.default_ruling) == (DisputeStage.RULED, 2_000, ruled["appealBy"], False)
    assert c.job(job_id).status == JobStatus.DISPUTED  # a ruling that can be appealed ends nothing yet

    assert c.appeal_bond(job_id) == bond
    appealed = c.appeal_job(job_id).event("DisputeAppealed").args
    assert appealed == {"jobId": job_id, "appellant": c.address, "court": chain.timelock, "bond": bond,
                        "ruleBy": c.now() + PARAMS.court_window}
    d = assert_folded(chain, job_id)
    assert (d.stage, d.judge, d.appellant, d.arbiter) == (DisputeStage.APPEALED, chain.timelock, c.address,
                                                           arbiter.address)
    # The court is the DAO's timelock: no account rules for it, and the SDK says how instead of sending.
    err = fails_cleanly(chain, chain_errors.JobMarket__NotJudge, lambda: arbiter.rule_dispute(job_id, 0, 0),
                        sends_nothing=True, who=arbiter)
    assert "governance proposal" in str(err)

    stake = shop.stake_of(shop.address)
    result = chain.dao_rule(job_id, 6_000, 5_000)  # proposed by the customer, voted, queued, executed
    resolved = result.event("JobResolved").args
    refund, rest = amount * 6_000 // 10_000, amount - amount * 6_000 // 10_000
    fee = rest * PARAMS.fee_bps // 10_000
    slashed, compensation = 10 * FAB, 5 * FAB
    assert resolved == {"jobId": job_id, "by": chain.timelock, "refundBps": 6_000, "slashBps": 5_000,
                        "customerRefund": refund, "nodePayout": rest - fee, "fee": fee, "royalty": 0,
                        "slashed": slashed, "compensation": compensation}
    # The customer won the appeal (a larger refund) and at least half the payment: both bonds come back.
    assert c.market_balance(chain.usd, c.address) == refund + bond + bond
    assert c.market_balance(chain.usd, shop.address) == rest - fee
    assert c.market_balance(chain.fab_token, c.address) == compensation
    after = shop.stake_of(shop.address)
    assert after.staked == stake.staked - slashed and after.locked == stake.locked - 20 * FAB
    record = c.job(job_id)
    assert record.status == JobStatus.RESOLVED and record.resolution.by == chain.timelock
    assert record.resolution.customer_refund == refund and record.resolution.compensation == compensation
    assert c.dispute_of(job_id).stage == DisputeStage.NONE  # the market forgets a finished dispute


def test_a_silent_arbiter_gets_the_default_ruling_which_stands_unappealed(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    job_id = disputed(chain)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlineNotPassed, lambda: chain.stranger.finalize_dispute(job_id))
    chain.advance(PARAMS.dispute_window + 1)
    ruled = chain.stranger.finalize_dispute(job_id).event("DisputeRuled").args
    # No escalation: the default ruling (half back, no slash) applies, and the silent arbiter is forgotten.
    assert (ruled["arbiter"], ruled["refundBps"], ruled["slashBps"], ruled["appealBy"]) == (
        ZERO_ADDRESS, 5_000, 0, c.now() + PARAMS.appeal_window)
    d = assert_folded(chain, job_id)
    assert (d.stage, d.arbiter, d.default_ruling, d.judge) == (DisputeStage.RULED, ZERO_ADDRESS, True,
                                                               chain.arbiter.address)
    fails_cleanly(chain, chain_errors.JobMarket__WrongDisputeStage, lambda: chain.arbiter.rule_dispute(job_id, 0, 0))

    chain.advance(PARAMS.appeal_window + 1)
    resolved = chain.stranger.finalize_dispute(job_id).event("JobResolved").args
    assert (resolved["by"], resolved["refundBps"], resolved["slashBps"]) == (ZERO_ADDRESS, 5_000, 0)
    fee = 20 * USD * PARAMS.fee_bps // 10_000
    assert c.market_balance(chain.usd, c.address) == 20 * USD + 4 * USD  # half back, and the bond
    assert c.market_balance(chain.usd, shop.address) == 20 * USD - fee
    assert c.job(job_id).resolution.by == ZERO_ADDRESS


def test_the_default_ruling_can_be_appealed_and_a_lost_appeal_bond_goes_to_the_treasury(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    job_id = disputed(chain)
    chain.advance(PARAMS.dispute_window + 1)
    chain.stranger.finalize_dispute(job_id)  # the default ruling: 5000 refund, no slash
    shop.deposit(chain.usd, 4 * USD)  # the node appeals the default, paying its bond from its market balance
    appealed = shop.appeal_job(job_id).event("DisputeAppealed").args
    assert (appealed["appellant"], appealed["court"], appealed["bond"]) == (shop.address, chain.timelock, 4 * USD)
    d = assert_folded(chain, job_id)
    assert (d.stage, d.judge, d.default_ruling) == (DisputeStage.APPEALED, chain.timelock, True)
    fees = c.fees(chain.usd)
    arbiter_balance = c.market_balance(chain.usd, chain.arbiter.address)

    resolved = chain.dao_rule(job_id, 7_500, 0, proposer=shop).event("JobResolved").args  # worse for the node
    assert (resolved["by"], resolved["refundBps"]) == (chain.timelock, 7_500)
    rest = 10 * USD
    # The node lost its appeal: no arbiter ruled (the default stood), so the whole bond is the treasury's; the
    # customer gets its refund and its own bond, never the node's.
    assert c.fees(chain.usd) == fees + resolved["fee"] + 4 * USD
    assert c.market_balance(chain.usd, chain.arbiter.address) == arbiter_balance
    assert c.market_balance(chain.usd, c.address) == 30 * USD + 4 * USD
    assert c.market_balance(chain.usd, shop.address) == rest - rest * PARAMS.fee_bps // 10_000


def test_an_unappealed_ruling_is_applied_by_anyone(chain: Chain) -> None:
    c, shop, arbiter = chain.customer, chain.shop, chain.arbiter
    job_id = disputed(chain)
    arbiter.rule_dispute(job_id, 2_000, 1_000)
    chain.advance(PARAMS.appeal_window + 1)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed, lambda: shop.appeal_job(job_id),
                  sends_nothing=True, who=shop)
    resolved = chain.stranger.finalize_dispute(job_id).event("JobResolved").args
    assert (resolved["by"], resolved["refundBps"], resolved["slashBps"]) == (arbiter.address, 2_000, 1_000)
    # The customer won less than half: its dispute bond goes to the node.
    rest = 32 * USD
    assert c.market_balance(chain.usd, c.address) == 8 * USD
    assert c.market_balance(chain.usd, shop.address) == rest - rest * PARAMS.fee_bps // 10_000 + 4 * USD
    assert c.job(job_id).status == JobStatus.RESOLVED


def test_a_lost_appeal_bond_pays_the_arbiters_fee_and_the_treasury(chain: Chain) -> None:
    c, shop, arbiter = chain.customer, chain.shop, chain.arbiter
    job_id = disputed(chain)
    arbiter.rule_dispute(job_id, 6_000, 0)
    shop.deposit(chain.usd, 4 * USD)  # the node pays its appeal bond from its market balance
    shop.appeal_job(job_id)
    assert c.market_balance(chain.usd, shop.address) == 0
    fees = c.fees(chain.usd)
    resolved = chain.dao_rule(job_id, 8_000, 0, proposer=shop).event("JobResolved").args  # worse for the node
    rest = 8 * USD
    arbiter_fee = 4 * USD * PARAMS.arbiter_fee_bps // 10_000
    assert arbiter_fee > 0
    # The arbiter whose ruling stood earns its fee from the lost bond; the treasury gets the rest; the customer
    # gets its refund and its own bond only (an appeal never pays the other side).
    assert c.market_balance(chain.usd, arbiter.address) == arbiter_fee
    assert c.fees(chain.usd) == fees + resolved["fee"] + 4 * USD - arbiter_fee
    assert c.market_balance(chain.usd, c.address) == 32 * USD + 4 * USD
    assert c.market_balance(chain.usd, shop.address) == rest - rest * PARAMS.fee_bps // 10_000
    withdrawn = arbiter.withdraw(chain.usd).event("Withdrawn").args
    assert withdrawn["amount"] == arbiter_fee


def test_appeals_are_checked_before_any_bond_is_approved(chain: Chain) -> None:
    job_id = disputed(chain)
    err = fails_cleanly(chain, chain_errors.JobMarket__WrongDisputeStage, lambda: chain.customer.appeal_job(job_id),
                        sends_nothing=True, who=chain.customer)
    assert "actual=AWAITING_ARBITER" in str(err)
    chain.arbiter.rule_dispute(job_id, 0, 0)
    fails_cleanly(chain, chain_errors.JobMarket__NotParty, lambda: chain.stranger.appeal_job(job_id),
                  sends_nothing=True, who=chain.stranger)
    fails_cleanly(chain, FabricaValueError, lambda: chain.arbiter.rule_dispute(job_id, 10_001, 0),
                  match="refund_bps", sends_nothing=True, who=chain.arbiter)
    assert chain.base.job(job_id).status == JobStatus.DISPUTED
