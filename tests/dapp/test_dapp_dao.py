"""The governance flows in the browser against the devnet's DAO (its settings: votes open a minute after a
proposal, last ten minutes, and the timelock waits two): a FAB holder delegates to itself and sees its voting
power; a fee change proposed from Python shows with its action decoded; the holder votes in the browser (a
rejected transaction first), a second holder signs a ballot in the dApp (a rejected signature first) that the
first relays with castVoteBySig; time moves on, and the proposal is queued and executed from the browser, after
which the market charges the new fee."""
from __future__ import annotations

from dapp_testkit import PHONE, axe_violations, page_errors, shot, wait_indexed
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.client import Fabrica
from fabrica.protocol.governance import Dao

HOLDER = dev_account(DEV_ROLES["deployer"])  # holds most of FAB's supply: enough for quorum alone
VOTER = dev_account(DEV_ROLES["customer"])  # a small holder who votes by signature
FEE_AFTER = 200


def state_is(page, state: str) -> None:
    """Wait until the page shows the governor's state `state` (read from the chain on each new block)."""
    page.locator(f'[data-testid="proposal-state"][data-state="{state}"]').wait_for()


def test_delegate_vote_by_signature_queue_and_execute(open_dapp, chain, gateway, devnet) -> None:
    rpc_url, deployment, _home = devnet
    settings = deployment.governance
    d = open_dapp(accounts=[HOLDER, VOTER])
    page = d.open("/dao")
    d.connect()

    # Delegating: the holder's FAB counts for nobody until delegated; one transaction makes it its own votes.
    power = page.get_by_test_id("voting-power")
    power.get_by_text("nobody (not counted)").first.wait_for()
    shot(page, "dao-01-undelegated")
    page.get_by_role("button", name="Delegate", exact=True).click()
    page.get_by_role("status").get_by_text("Delegate FAB votes: confirmed in block").wait_for()
    page.get_by_test_id("fab-delegate").get_by_text("yourself").wait_for()
    assert chain.fab.functions.delegates(HOLDER.address).call() == HOLDER.address
    votes = chain.fab.functions.getVotes(HOLDER.address).call()
    assert votes > 0
    assert page.get_by_test_id("votes-total").inner_text().startswith(f"{votes // 10**18:,}")
    shot(page, "dao-02-delegated")
    assert axe_violations(page) == []

    # A fee change proposed from Python (as `fabrica demo` does) appears in the list with its action.
    chain.delegate(VOTER.address, VOTER.address)  # the second holder's votes count from the snapshot on
    chain.advance(1)  # proposing reads the proposer's votes at the previous second
    dao = Dao(Fabrica.connect(rpc_url, deployment=deployment, account=HOLDER))
    fee_before = dao.fab.market_params()["feeBps"]
    action = dao.fee_action(FEE_AFTER)
    description = f"Set the protocol fee to {FEE_AFTER / 100:g} %\n\nCheaper jobs bring more of them."
    pid = chain.propose([(action.target, action.calldata)], description, HOLDER.address)
    wait_indexed(gateway.url, f"/v1/proposals/{pid}", lambda p: p["title"].startswith("Set the protocol fee"))
    card = page.locator(f'[data-proposal-id="{pid}"]')
    card.get_by_text("JobMarket.setParams").wait_for()  # no reload: the list follows new blocks
    shot(page, "dao-03-proposals")
    card.get_by_role("link", name="Set the protocol fee to 2 %").click()

    state_is(page, "Pending")
    actions = page.get_by_test_id("actions")
    actions.get_by_text(f"JobMarket.setParams: feeBps {fee_before} bps ({fee_before / 100:g} %) → {FEE_AFTER} bps (2 %)").wait_for()
    assert page.locator("h1").inner_text() == "Set the protocol fee to 2 %"
    shot(page, "dao-04-pending")

    # Voting opens with the clock: the page reads the governor's state on the next block.
    chain.advance(settings.voting_delay + 1)
    state_is(page, "Active")
    page.get_by_test_id("my-weight").get_by_text(f"{votes // 10**18:,}", exact=False).wait_for()
    cast = page.get_by_role("button", name="Cast vote")
    page.get_by_label("Reason (optional, public)").fill("cheaper jobs bring more of them")
    sent = len(d.wallet.sent)
    d.wallet.reject_next("eth_sendTransaction")
    cast.click()
    page.get_by_role("alert").get_by_text("You rejected the transaction in your wallet").wait_for()
    assert cast.is_enabled() and len(d.wallet.sent) == sent
    shot(page, "dao-05-vote-rejected")
    cast.click()
    page.get_by_role("status").get_by_text("Vote: confirmed in block").wait_for()
    page.get_by_text("You have voted on this proposal.").wait_for()
    page.get_by_test_id("votes").get_by_text("cheaper jobs bring more of them").wait_for()
    assert chain.governor.functions.hasVoted(pid, HOLDER.address).call()
    shot(page, "dao-06-voted")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    shot(page, "dao-06b-voted-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # The second holder signs a ballot in the dApp (refused once: the page stays usable), then the first relays it.
    d.wallet.use_account(1)
    sign = page.get_by_role("button", name="Sign ballot")
    sign.wait_for()
    page.get_by_label("Ballot", exact=True).select_option(label="Against")
    d.wallet.reject_next("eth_signTypedData_v4")
    sign.click()
    page.get_by_role("alert").get_by_text("You rejected the ballot signature in your wallet").wait_for()
    assert sign.is_enabled()
    shot(page, "dao-07-ballot-rejected")
    sign.click()
    page.get_by_text("Ballot signed.").wait_for()
    ballot = page.get_by_label("Signed ballot (JSON)").input_value()
    assert VOTER.address in ballot and '"support": "against"' in ballot
    sent_before = len(d.wallet.sent)
    shot(page, "dao-08-ballot-signed")
    d.wallet.use_account(0)  # the holder relays it, paying the gas
    page.get_by_role("button", name="Submit ballot").click()
    page.get_by_role("status").get_by_text("Submit ballot: confirmed in block").wait_for()
    assert len(d.wallet.sent) == sent_before + 1
    receipt = chain.w3.eth.get_transaction_receipt(d.wallet.sent[-1])
    assert receipt["from"] == HOLDER.address
    assert chain.governor.functions.hasVoted(pid, VOTER.address).call()
    against, _for, _abstain = chain.governor.functions.proposalVotes(pid).call()
    assert against == chain.fab.functions.getVotes(VOTER.address).call() > 0
    page.get_by_test_id("votes").locator("li").filter(has_text="Against").wait_for()
    shot(page, "dao-09-ballot-relayed")

    # The vote closes; queued and executed from the browser once the timelock's delay is over.
    deadline = chain.governor.functions.proposalDeadline(pid).call()
    chain.advance(deadline - chain.now() + 1)
    state_is(page, "Succeeded")
    page.get_by_role("button", name="Queue").click()
    page.get_by_role("status").get_by_text("Queue: confirmed in block").wait_for()
    state_is(page, "Queued")
    execute = page.get_by_role("button", name="Execute")
    assert execute.is_disabled()  # the timelock's delay is still running
    shot(page, "dao-10-queued")
    chain.advance(settings.timelock_delay + 1)
    state_is(page, "Queued")
    page.get_by_text("The timelock's delay is over").wait_for()
    execute.click()
    page.get_by_role("status").get_by_text("Execute: confirmed in block").wait_for()
    state_is(page, "Executed")
    assert dao.fab.market_params()["feeBps"] == FEE_AFTER  # the effect on chain
    shot(page, "dao-11-executed")
    assert page_errors(d) == []
