"""The DAO through the SDK (`fabrica.protocol.governance.Dao`) on the devnet: every controlled action goes
propose -> vote -> queue -> execute with time travel; defeated and cancelled proposals, the timelock delay,
snapshots, staked votes, signature votes and bad input."""
from __future__ import annotations

import pytest
from eth_account import Account
from fabrica.protocol import chain_errors
from fabrica.protocol.deploy import Deployer
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from fabrica.protocol.governance import Action, Dao, Proposal, ProposalState, Support
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.types import DisputeStage, JobStatus
from protocol_testkit import FAB, PARAMS, USD, Chain

def dao(client) -> Dao:
    return Dao(client)


def settings(chain: Chain):
    return chain.deployment.governance


def open_vote(chain: Chain, actions: list[Action], *, description: str | None = None,
              proposer=None) -> tuple[Dao, Proposal]:
    """The deployer (most FAB) delegates to itself and proposes; the clock moves into the voting period."""
    d = dao(proposer or chain.deployer)
    d.delegate()
    chain.advance(1)  # proposing reads votes at the last second
    p = d.propose(actions, description)
    assert d.state(p.id) == ProposalState.PENDING
    chain.advance(settings(chain).voting_delay + 1)
    assert d.state(p.id) == ProposalState.ACTIVE
    return d, p


def pass_and_execute(chain: Chain, actions: list[Action], description: str | None = None) -> Proposal:
    """The full lifecycle: propose, vote for, queue, wait the timelock delay, execute."""
    d, p = open_vote(chain, actions, description=description)
    d.vote(p.id, Support.FOR, "looks right")
    chain.advance(settings(chain).voting_period + 1)
    assert d.state(p.id) == ProposalState.SUCCEEDED
    queued = d.queue(p.id).event("ProposalQueued").args
    assert d.state(p.id) == ProposalState.QUEUED
    assert queued["etaSeconds"] == chain.base.now() + settings(chain).timelock_delay
    chain.advance(settings(chain).timelock_delay + 1)
    d.execute(p.id)
    assert d.state(p.id) == ProposalState.EXECUTED
    return p


def test_fee_change_goes_through_and_the_next_job_pays_it(chain: Chain) -> None:
    d = dao(chain.deployer)
    action = d.fee_action(300)
    assert action.summary == "market: set feeBps 250 bps (2.5 %) -> 300 bps (3 %)"
    p = pass_and_execute(chain, [action])
    params = chain.base.market_params()
    assert params["feeBps"] == 300
    assert {k: v for k, v in params.items() if k != "feeBps"} == {
        k: v for k, v in zip(params, PARAMS.market_tuple()) if k != "feeBps"}  # nothing else moved
    # The proposal still reads as what it changed, against the state before it was made.
    assert d.status(p.id).actions == [action.summary]

    amount = 40 * USD
    job_id = chain.delivered(amount=amount)
    assert chain.customer.job(job_id).job.fee_bps == 300
    fees = chain.base.fees(chain.usd)
    chain.customer.accept_job(job_id)
    assert chain.base.fees(chain.usd) - fees == amount * 300 // 10_000  # 3 %, no longer 2.5 %


def test_token_allowlist_allow_then_forbid(chain: Chain) -> None:
    token = Deployer(chain.w3, chain.stranger.account).deploy("TestStablecoin", chain.stranger.address)
    d = dao(chain.deployer)
    assert not chain.base.market.functions.isTokenAllowed(token).call()
    allow = d.allow_token_action(token, min_fab="0.5", max_fab="20")
    assert allow.summary.startswith("market: allow payment token fUSD") and "0.5..20 FAB per token" in allow.summary
    pass_and_execute(chain, [allow])
    terms = chain.base.token_terms(token)
    assert terms.allowed and terms.min_collateral_rate == 5 * 10**29 and terms.max_collateral_rate == 2 * 10**31
    assert chain.base.collateral_bounds(token, 100 * USD) == (50 * FAB, 2_000 * FAB)

    pass_and_execute(chain, [d.forbid_token_action(token)], description="forbid the new token")
    assert not chain.base.market.functions.isTokenAllowed(token).call()


def test_treasury_spend_pays_from_the_timelock(chain: Chain) -> None:
    d = dao(chain.deployer)
    to = chain.stranger.address
    treasury_before = chain.base.token_balance(chain.fab_token, d.treasury)
    usd_before = chain.base.token_balance(chain.fab_token, to)
    action = d.spend_action("FAB", "1234.5", to)
    assert action.summary == f"treasury: pay 1234.5 FAB to {to}"
    pass_and_execute(chain, [action])
    assert chain.base.token_balance(chain.fab_token, to) - usd_before == 12345 * FAB // 10
    assert treasury_before - chain.base.token_balance(chain.fab_token, d.treasury) == 12345 * FAB // 10


def test_appoint_and_remove_arbiters(chain: Chain) -> None:
    d = dao(chain.deployer)
    newcomer, arbiter = chain.newcomer.address, chain.arbiter.address
    assert d.panel.functions.arbiters().call() == [arbiter]
    pass_and_execute(chain, [d.appoint_arbiter_action(newcomer), d.remove_arbiter_action(arbiter)])
    assert d.panel.functions.arbiters().call() == [newcomer]
    # The next dispute goes to the new arbiter.
    job_id = chain.delivered()
    assert chain.customer.dispute_job(job_id, chain.cid(b"warped")).event("JobDisputed").args["arbiter"] == newcomer
    with pytest.raises(chain_errors.ArbiterPanel__NotArbiter, match="not on the arbiter panel"):
        d.remove_arbiter_action(arbiter)
    with pytest.raises(chain_errors.ArbiterPanel__AlreadyArbiter):
        d.appoint_arbiter_action(newcomer)


def test_pause_refuses_posts_but_withdrawals_and_running_jobs_go_on(chain: Chain) -> None:
    d = dao(chain.deployer)
    c = chain.customer
    delivered = chain.delivered()
    c.deposit(chain.usd, 5 * USD)  # after the post, which would have drawn on it
    pass_and_execute(chain, [d.pause_action(True)])
    assert chain.base.market.functions.paused().call()
    with pytest.raises(chain_errors.JobMarket__Paused):
        chain.post()
    wallet = c.token_balance(chain.usd, c.address)
    c.withdraw(chain.usd)  # money that belongs to someone is never frozen
    assert c.token_balance(chain.usd, c.address) == wallet + 5 * USD
    c.accept_job(delivered)  # a running job still finishes
    assert c.job(delivered).status == JobStatus.SETTLED

    pass_and_execute(chain, [d.pause_action(False)], description="resume")
    assert not chain.base.market.functions.paused().call()
    assert chain.post() > 0


def test_publish_manifest_and_set_guardian_in_one_proposal(chain: Chain) -> None:
    d = dao(chain.deployer)
    cid = chain.cid(b'{"manifest": 2}')
    pass_and_execute(chain, [d.manifest_action(cid), d.guardian_action(chain.newcomer.address)])
    assert Cid.parse(bytes(d.manifests.functions.manifestCid().call())) == Cid.parse(cid)
    assert d.manifests.functions.version().call() == 1
    assert chain.base.market.functions.guardian().call() == chain.newcomer.address


def test_appeal_ruling_proposed_by_a_party_and_executed_by_the_market(chain: Chain) -> None:
    c = chain.customer
    amount = 40 * USD
    job_id = chain.delivered(amount=amount, collateral=20 * 10**18)
    c.dispute_job(job_id, chain.cid(b"warped"))
    chain.arbiter.rule_dispute(job_id, 0, 0)
    c.appeal_job(job_id)
    assert chain.base.dispute_of(job_id).stage == DisputeStage.APPEALED
    customer_dao = dao(c)
    action = customer_dao.ruling_action(job_id, 10_000, 5_000)
    assert action.summary == (f"market: rule on appealed job {job_id}: refund 100 % of the payment, slash 50 % "
                              "of the collateral")
    p = customer_dao.propose([action])  # the customer never delegated: a party needs no threshold
    assert p.proposer == c.address
    voters = dao(chain.deployer)
    voters.delegate()
    chain.advance(settings(chain).voting_delay + 1)
    voters.vote(p.id, "for")
    chain.advance(settings(chain).voting_period + 1)
    voters.queue(p.id)
    chain.advance(settings(chain).timelock_delay + 1)
    resolved = dao(chain.stranger).execute(p.id).event("JobResolved").args
    assert (resolved["refundBps"], resolved["slashBps"], resolved["by"]) == (10_000, 5_000, voters.treasury)
    assert c.job(job_id).status == JobStatus.RESOLVED

    with pytest.raises(chain_errors.JobMarket__WrongDisputeStage, match="not before the DAO"):
        customer_dao.ruling_action(job_id, 0, 0)


def test_defeated_for_lack_of_quorum_cannot_be_queued(chain: Chain) -> None:
    small = dao(chain.customer)  # 100 000 FAB, far below the 4 % quorum
    small.delegate()
    chain.advance(1)
    p = small.propose([small.fee_action(100)])
    chain.advance(settings(chain).voting_delay + 1)
    small.vote(p.id, "for")
    chain.advance(settings(chain).voting_period + 1)
    status = small.status(p.id, small.fab.address)
    assert status.state == ProposalState.DEFEATED
    assert status.votes_for == 100_000 * FAB and status.quorum == 40_000_000 * FAB and status.quorum_final
    assert status.voter_weight == 100_000 * FAB and status.has_voted
    with pytest.raises(chain_errors.GovernorUnexpectedProposalState, match="is Defeated; this needs it Succeeded"):
        small.queue(p.id)


def test_cancelled_while_pending_then_voting_is_refused(chain: Chain) -> None:
    d = dao(chain.deployer)
    d.delegate()
    chain.advance(1)
    p = d.propose([d.pause_action(True)])
    d.cancel(p.id)
    assert d.state(p.id) == ProposalState.CANCELED
    chain.advance(settings(chain).voting_delay + 1)
    with pytest.raises(chain_errors.GovernorUnexpectedProposalState, match="is Canceled; this needs it Active"):
        d.vote(p.id, "for")
    assert [q.id for q in d.proposals(ProposalState.CANCELED)] == [p.id]


def test_only_the_proposer_cancels_and_only_while_pending(chain: Chain) -> None:
    d, p = open_vote(chain, [dao(chain.deployer).pause_action(True)])
    with pytest.raises(chain_errors.GovernorUnableToCancel, match="is Active: only its proposer may cancel it"):
        d.cancel(p.id)
    d2 = dao(chain.customer)
    d2.delegate()
    chain.advance(1)
    mine = d2.propose([d2.pause_action(True)], "the customer's own pause")
    with pytest.raises(chain_errors.GovernorUnableToCancel, match="is Pending: only its proposer"):
        d.cancel(mine.id)


def test_execute_before_the_timelock_delay_is_refused_with_the_date(chain: Chain) -> None:
    d, p = open_vote(chain, [dao(chain.deployer).fee_action(400)])
    d.vote(p.id, "for")
    chain.advance(settings(chain).voting_period + 1)
    d.queue(p.id)
    eta = d.status(p.id).eta
    with pytest.raises(chain_errors.TimelockUnexpectedOperationState,
                       match=r"timelock delay has not passed: proposal \d+ can be executed from 20"):
        d.execute(p.id)
    assert d.state(p.id) == ProposalState.QUEUED and eta == d.governor.functions.proposalEta(p.id).call()
    assert chain.base.market_params()["feeBps"] == PARAMS.fee_bps


def test_fab_acquired_after_the_snapshot_has_no_weight(chain: Chain) -> None:
    latecomer = Account.create()
    chain.w3.provider.make_request("anvil_setBalance", [latecomer.address, hex(10**18)])
    d, p = open_vote(chain, [dao(chain.deployer).fee_action(350)])
    snapshot = d.status(p.id).snapshot
    # After the snapshot: 50 million FAB arrive (as a flash loan would) and are delegated at once.
    chain.deployer._send(chain.deployer.fab, "transfer", latecomer.address, 50_000_000 * FAB)
    late = dao(chain.base.with_account(latecomer))
    late.delegate()
    assert late.voting_power(latecomer.address).total == 50_000_000 * FAB
    assert late.voting_power(latecomer.address, snapshot).total == 0
    cast = late.vote(p.id, "against").event("VoteCast").args
    assert cast["weight"] == 0
    assert d.status(p.id).votes_against == 0


def test_staked_fab_votes(chain: Chain) -> None:
    shop = dao(chain.shop)  # the baseline staked 2 000 FAB; its wallet FAB is not delegated
    d, p = open_vote(chain, [dao(chain.deployer).fee_action(260)])
    snapshot = d.status(p.id).snapshot
    power = shop.voting_power(chain.shop.address, snapshot)
    assert (power.token_votes, power.stake_votes) == (0, 2_000 * FAB)
    assert shop.vote(p.id, "abstain").event("VoteCast").args["weight"] == 2_000 * FAB
    assert d.status(p.id).votes_abstain == 2_000 * FAB


def test_vote_by_signature_submitted_by_anyone(chain: Chain) -> None:
    voter = dao(chain.customer)
    voter.delegate()
    d, p = open_vote(chain, [dao(chain.deployer).fee_action(270)])
    ballot = voter.sign_ballot(p.id, "against")
    relayer = dao(chain.stranger)
    nonce = chain.w3.eth.get_transaction_count(chain.customer.address)
    cast = relayer.cast_ballot(ballot).event("VoteCast").args
    assert (cast["voter"], cast["support"], cast["weight"]) == (chain.customer.address, 0, 100_000 * FAB)
    assert chain.w3.eth.get_transaction_count(chain.customer.address) == nonce  # the voter sent nothing
    status = d.status(p.id, chain.stranger.address)
    assert status.votes_against == 100_000 * FAB and status.has_voted is False
    with pytest.raises(chain_errors.InvalidAccountNonce, match="sign a new ballot"):
        relayer.cast_ballot(ballot)
    # A ballot whose signature is not the voter's is refused by the governor.
    forged = type(ballot)(ballot.proposal_id, Support.FOR, chain.deployer.address,
                          d.governor.functions.nonces(chain.deployer.address).call(), ballot.signature)
    with pytest.raises(chain_errors.GovernorInvalidSignature):
        relayer.cast_ballot(forged)


def test_proposals_are_read_back_from_the_chain(chain: Chain) -> None:
    d = dao(chain.deployer)
    assert d.proposals() == []
    d.delegate()
    chain.advance(1)
    one = d.propose([d.fee_action(300)], "# Lower the fee\n\nbecause")
    two = d.propose([d.call_action("JobMarket", "setPaused(bool)", ["true"])])
    listed = d.proposals()
    assert [p.id for p in listed] == [one.id, two.id]
    assert listed[0].title == "Lower the fee" and listed[0] == one
    assert d.actions(listed[1]) == ["market: pause new jobs"]
    assert one.id == d.governor.functions.hashProposal(one.targets, one.values, one.calldatas,
                                                       one.description_hash).call()
    with pytest.raises(chain_errors.GovernorUnexpectedProposalState, match="exists already"):
        d.propose([d.fee_action(300)], "# Lower the fee\n\nbecause")


def test_bad_input_is_named(chain: Chain) -> None:
    d = dao(chain.deployer)
    with pytest.raises(chain_errors.GovernorNonexistentProposal, match="no proposal 12345"):
        d.status(12345)
    with pytest.raises(FabricaValueError, match="recipient '0x123' is not an address"):
        d.spend_action("FAB", "1", "0x123")
    with pytest.raises(FabricaValueError, match="spend amount -5: pay a positive amount"):
        d.spend_action("FAB", "-5", chain.stranger.address)
    with pytest.raises(FabricaValueError, match="token 'DOGE': give an address or one of FAB, fUSD"):
        d.spend_action("DOGE", "5", chain.stranger.address)
    with pytest.raises(FabricaValueError, match="market parameter 'feeBPS' does not exist"):
        d.params_action({"feeBPS": 1})
    with pytest.raises(FabricaValueError, match="feeBps='20000': basis points run from 0 to 10000"):
        d.params_action({"fee_bps": "20000"})
    with pytest.raises(FabricaValueError, match="vote 'maybe': choose for, against or abstain"):
        Support.parse("maybe")
    # An action the timelock could not execute is refused before anything is proposed.
    with pytest.raises(chain_errors.JobMarket__ParameterOutOfBounds, match="would fail when the timelock executes"):
        d.propose([d.params_action({"reviewWindow": "1"})])
    with pytest.raises(chain_errors.ERC20InsufficientBalance, match="would fail"):
        d.propose([d.spend_action("fUSD", "5", chain.stranger.address)])  # the treasury holds no fUSD
    # Proposing without delegated votes: the governor's threshold, explained.
    with pytest.raises(chain_errors.GovernorInsufficientProposerVotes, match="delegate your FAB"):
        dao(chain.stranger).propose([d.pause_action(True)])


def test_a_deployment_without_a_dao_says_so(chain: Chain) -> None:
    manifest = chain.deployment.model_copy(update={"governance": None})
    with pytest.raises(FabricaLookupError, match="has no DAO"):
        Dao(type(chain.base)(chain.w3, manifest))
