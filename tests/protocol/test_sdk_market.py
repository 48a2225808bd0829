"""JobMarket through the SDK on a real devnet: every action once, with its effect on funds and status."""
from __future__ import annotations

import pytest
from fabrica.protocol.deploy import usd_terms
from fabrica.protocol.errors import FabricaLookupError
from fabrica.protocol.types import JobStatus
from protocol_testkit import COLLATERAL, FAB, PARAMS, USD, Chain

DEFAULTS = PARAMS


def status_on_chain(chain: Chain, job_id: int) -> JobStatus:
    """The market's own answer for the job's current struct (None when the slot does not hold it)."""
    job = chain.base.job(job_id).job
    return JobStatus(chain.base.market.functions.statusOf(job_id, job.to_abi()).call())


def test_market_params_match_deployment(chain: Chain) -> None:
    assert chain.base.market_params() == {
        "feeBps": DEFAULTS.fee_bps, "maxRoyaltyBps": DEFAULTS.max_royalty_bps,
        "disputeBondBps": DEFAULTS.dispute_bond_bps, "reviewWindow": DEFAULTS.review_window,
        "minDeliveryWindow": DEFAULTS.min_delivery_window, "minCollateral": DEFAULTS.min_collateral,
        "handBackWindow": DEFAULTS.hand_back_window, "handBackPenaltyBps": DEFAULTS.hand_back_penalty_bps,
        "expirySlashBps": DEFAULTS.expiry_slash_bps, "compensationBps": DEFAULTS.compensation_bps,
        "disputeWindow": DEFAULTS.dispute_window, "appealWindow": DEFAULTS.appeal_window,
        "courtWindow": DEFAULTS.court_window, "arbiterFeeBps": DEFAULTS.arbiter_fee_bps,
    }
    assert chain.base.min_stake() == DEFAULTS.min_stake
    assert chain.base.registry.functions.unbondDelay().call() == DEFAULTS.unbond_delay


def test_token_terms_and_collateral_bounds(chain: Chain) -> None:
    b = chain.base
    terms = b.token_terms(chain.usd)
    # The manifest records what the deployment set: at least 0.01 FAB and at most 10 FAB per fUSD.
    assert terms == chain.deployment.token_terms["fUSD"] == usd_terms(6)
    assert (terms.min_collateral_rate, terms.max_collateral_rate) == (10**28, 10**31)
    assert b.collateral_bounds(chain.usd, 25 * USD) == (10 * FAB, 250 * FAB)  # floor: the minimum collateral
    assert b.collateral_bounds(chain.usd, 5_000 * USD) == (50 * FAB, 50_000 * FAB)
    for amount in (1, 25 * USD, 5_000 * USD, 123_456_789):
        assert b.collateral_bounds(chain.usd, amount) == terms.bounds(amount, DEFAULTS.min_collateral)
    assert b.token_terms(chain.fab_token).allowed is False


def test_token_reads(chain: Chain) -> None:
    b = chain.base
    assert b.token_decimals(chain.usd) == 6
    assert b.token_symbol(chain.usd) == "fUSD"
    assert b.token_balance(chain.usd, chain.customer.address) == 100_000 * USD
    assert b.token_balance(chain.fab_token, chain.customer.address) == 100_000 * FAB


def test_approve_and_ensure_allowance(chain: Chain) -> None:
    c = chain.customer
    allowance = c.erc20(chain.usd).functions.allowance
    spender = c.market.address
    approval = c.approve(chain.usd, spender, 3 * USD)
    assert approval.events == []  # fUSD is not a Fabrica contract: its Approval log is not decoded
    assert allowance(c.address, spender).call() == 3 * USD
    assert c.ensure_allowance(chain.usd, spender, 2 * USD) is None
    assert c.ensure_allowance(chain.usd, spender, 5 * USD) is not None
    assert allowance(c.address, spender).call() == 5 * USD


def test_deposit_credits_market_balance(chain: Chain) -> None:
    c = chain.customer
    wallet, market = c.token_balance(chain.usd, c.address), c.token_balance(chain.usd, c.market.address)
    result = c.deposit(chain.usd, 40 * USD)
    assert result.event("Deposited").args == {"token": chain.usd, "account": c.address, "amount": 40 * USD}
    assert c.market_balance(chain.usd, c.address) == 40 * USD
    assert c.token_balance(chain.usd, c.address) == wallet - 40 * USD
    assert c.token_balance(chain.usd, c.market.address) == market + 40 * USD
    with pytest.raises(FabricaLookupError, match="emitted no JobPosted"):
        result.event("JobPosted")


def test_post_job_from_deposit_pulls_nothing(chain: Chain) -> None:
    c = chain.customer
    c.deposit(chain.usd, 30 * USD)
    wallet = c.token_balance(chain.usd, c.address)
    spec = chain.cid(b"bracket spec")
    claim_by = c.now() + 3600
    result = c.post_job(token=chain.usd, amount=25 * USD, spec_cid=spec, claim_by=claim_by,
                        delivery_window=7200, collateral=COLLATERAL)
    job_id = result.value
    assert job_id == 1 and c.job_count() == 1
    posted = result.event("JobPosted")
    assert posted.args["jobId"] == job_id and posted.args["customer"] == c.address
    assert c.token_balance(chain.usd, c.address) == wallet  # escrow came from the deposit
    assert c.market_balance(chain.usd, c.address) == 5 * USD
    record = c.job(job_id)
    assert record.status == JobStatus.OPEN == status_on_chain(chain, job_id)
    assert record.spec_cid == spec and record.job.key == job_id  # nothing to recycle: a fresh slot
    assert record.job.collateral == COLLATERAL  # the minimum when none is given
    assert record.job.bond == 25 * USD * DEFAULTS.dispute_bond_bps // 10_000  # fixed at post
    assert record.job.amount == 25 * USD and record.job.deadline == claim_by
    assert record.job.fee_bps == DEFAULTS.fee_bps and record.job.review_window == DEFAULTS.review_window
    assert record.job.customer == c.address and int(record.job.node, 16) == 0


def test_post_job_pulls_shortfall_with_transfer_from(chain: Chain) -> None:
    c = chain.customer
    c.deposit(chain.usd, 10 * USD)
    c.approve(chain.usd, c.market.address, 0)  # post_job must approve the shortfall itself
    wallet = c.token_balance(chain.usd, c.address)
    market = c.token_balance(chain.usd, c.market.address)
    job_id = chain.post(amount=25 * USD)
    assert c.market_balance(chain.usd, c.address) == 0
    assert c.token_balance(chain.usd, c.address) == wallet - 15 * USD
    assert c.token_balance(chain.usd, c.market.address) == market + 15 * USD
    assert c.job(job_id).status == JobStatus.OPEN


def test_cancel_job_credits_escrow_back(chain: Chain) -> None:
    c = chain.customer
    job_id = chain.post(amount=12 * USD)
    result = c.cancel_job(job_id)
    assert result.event("JobCancelled").args == {"jobId": job_id, "customer": c.address, "refund": 12 * USD}
    assert c.market_balance(chain.usd, c.address) == 12 * USD
    assert c.job(job_id).status == JobStatus.CANCELLED == status_on_chain(chain, job_id)


def test_claim_deliver_accept_pays_node_treasury_and_designer(chain: Chain) -> None:
    c, shop, designer = chain.customer, chain.shop, chain.designer
    design = designer.mint_design(chain.cid(b"design stl"), 500)
    design_id = design.value
    assert design.event("DesignMinted").args["creator"] == designer.address
    job_id = chain.post(amount=25 * USD, design_id=design_id)
    record = c.job(job_id)
    assert record.design_id == design_id
    assert record.job.royalty_receiver == designer.address and record.job.royalty == 25 * USD * 500 // 10_000

    locked_before = shop.stake_of(shop.address).locked
    claim = shop.claim_job(job_id, chain.node_id)
    claimed = claim.event("JobClaimed").args
    assert claimed["node"] == shop.address and claimed["nodeId"] == chain.node_id
    assert claimed["deliverBy"] == shop.now() + record.job.delivery_window
    assert shop.stake_of(shop.address).locked == locked_before + COLLATERAL
    record = c.job(job_id)
    assert record.status == JobStatus.CLAIMED and record.node_id == chain.node_id
    assert record.job.node == shop.address and record.job.deadline == claimed["deliverBy"]

    proof = chain.cid(b"print log")
    delivered = shop.deliver_job(job_id, proof).event("JobDelivered").args
    assert delivered["reviewUntil"] == shop.now() + DEFAULTS.review_window
    record = c.job(job_id)
    assert record.status == JobStatus.DELIVERED and record.proof_cid == proof

    settled = c.accept_job(job_id).event("JobSettled").args
    fee = 25 * USD * DEFAULTS.fee_bps // 10_000
    royalty = 25 * USD * 500 // 10_000
    assert settled == {"jobId": job_id, "accepted": True}
    assert c.job(job_id).status == JobStatus.SETTLED == status_on_chain(chain, job_id)
    # The settled job keeps its slot (until a later job recycles it).
    record = c.job(job_id)
    assert c.market.functions.commitmentAt(record.job.key).call() == record.job.commitment(job_id, JobStatus.SETTLED)
    assert shop.market_balance(chain.usd, shop.address) == 25 * USD - fee - royalty
    assert c.market_balance(chain.usd, designer.address) == royalty
    assert c.fees(chain.usd) == fee
    assert shop.stake_of(shop.address).locked == locked_before

    # Pull payments: node and designer withdraw, anyone sends fees to the treasury (the DAO's timelock).
    shop_wallet = shop.token_balance(chain.usd, shop.address)
    w = shop.withdraw(chain.usd).event("Withdrawn").args
    assert w["amount"] == 25 * USD - fee - royalty and w["to"] == shop.address
    assert shop.token_balance(chain.usd, shop.address) == shop_wallet + 25 * USD - fee - royalty
    assert shop.market_balance(chain.usd, shop.address) == 0

    stranger_wallet = c.token_balance(chain.usd, chain.stranger.address)
    designer.withdraw(chain.usd, to=chain.stranger.address)
    assert c.token_balance(chain.usd, chain.stranger.address) == stranger_wallet + royalty

    assert chain.base.market.functions.treasury().call() == chain.timelock == chain.deployment.treasury
    treasury_wallet = c.token_balance(chain.usd, chain.timelock)
    fees = chain.stranger.withdraw_fees(chain.usd).event("FeesWithdrawn").args
    assert fees == {"token": chain.usd, "treasury": chain.timelock, "amount": fee}
    assert c.token_balance(chain.usd, chain.timelock) == treasury_wallet + fee
    assert c.fees(chain.usd) == 0


def test_settle_after_review_window_by_anyone(chain: Chain) -> None:
    job_id = chain.delivered(amount=20 * USD)
    chain.advance(DEFAULTS.review_window + 1)
    settled = chain.stranger.settle_job(job_id).event("JobSettled").args
    fee = 20 * USD * DEFAULTS.fee_bps // 10_000
    assert settled == {"jobId": job_id, "accepted": False}
    assert chain.base.job(job_id).status == JobStatus.SETTLED
    assert chain.base.market_balance(chain.usd, chain.shop.address) == 20 * USD - fee


def test_dispute_bond_from_deposit(chain: Chain) -> None:
    c = chain.customer
    job_id = chain.delivered(amount=30 * USD)
    c.deposit(chain.usd, 5 * USD)
    wallet = c.token_balance(chain.usd, c.address)
    c.dispute_job(job_id, chain.cid(b"reason"))
    assert c.token_balance(chain.usd, c.address) == wallet
    assert c.market_balance(chain.usd, c.address) == 5 * USD - 3 * USD


def test_jobs_filters(chain: Chain) -> None:
    c, other = chain.customer, chain.stranger
    a = chain.post(amount=1 * USD)
    b = chain.claimed(amount=2 * USD)
    d = chain.post(amount=3 * USD, who=other)
    c.cancel_job(a)
    assert [r.job_id for r in c.jobs()] == [a, b, d]
    assert [r.job_id for r in c.jobs(status=JobStatus.OPEN)] == [d]
    assert [r.job_id for r in c.jobs(status=JobStatus.CANCELLED)] == [a]
    assert [r.job_id for r in c.jobs(customer=c.address.lower())] == [a, b]
    assert [r.job_id for r in c.jobs(customer=other.address)] == [d]
    assert [r.job_id for r in c.jobs(node=chain.shop.address)] == [b]
    assert c.jobs(status=JobStatus.SETTLED) == []
    # Every rebuilt record matches the commitment in its slot.
    for r in c.jobs():
        assert c.market.functions.commitmentAt(r.job.key).call() == r.job.commitment(r.job_id, r.status)
