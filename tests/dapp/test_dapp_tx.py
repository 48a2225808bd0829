"""A transaction from the dApp end to end (chain/tx.ts, through the Account page's withdrawal): simulated, signed
by the injected wallet, sent raw to anvil, confirmed, and the page updated by the stream; a rejected
transaction and a reverting one (the contract's custom error decoded from the artifacts' ABIs) leave the page
usable and say what happened."""
from __future__ import annotations

from dapp_testkit import page_errors, shot, wait_indexed
from fabrica.protocol.accounts import DEV_ROLES, dev_account

CUSTOMER = dev_account(DEV_ROLES["customer"])


def test_withdraw_confirms_and_a_revert_or_rejection_is_explained(open_dapp, chain, gateway, indexer) -> None:
    chain.deposit()  # market credit for the customer
    wait_indexed(gateway.url, f"/v1/accounts/{CUSTOMER.address}",
                 lambda a: any(int(b["amount"]) > 0 for b in a["market_balances"]))
    d = open_dapp()
    page = d.open("/account")
    d.connect()
    balances = page.get_by_test_id("market-balances")
    withdraw = balances.get_by_role("button", name="Withdraw")
    withdraw.wait_for()
    shot(page, "tx-01-credit")

    # Rejected in the wallet: nothing sent, the reason shown, the button usable again.
    d.wallet.reject_next("eth_sendTransaction")
    withdraw.click()
    page.get_by_role("alert").get_by_text("You rejected the transaction in your wallet").wait_for()
    assert d.wallet.sent == [] and withdraw.is_enabled()
    shot(page, "tx-02-rejected")

    # Reverts: the credit was withdrawn elsewhere while the page (index held still) still shows it.
    with indexer.paused():
        chain.withdraw(chain.customer)
        withdraw.click()
        alert = page.get_by_role("alert").filter(has_text="Withdraw failed")
        alert.get_by_text("Nothing to withdraw").wait_for()
        assert "JobMarket__NothingToWithdraw" in alert.inner_text()
        assert d.wallet.sent == []  # refused at simulation: the wallet was never asked to sign
        shot(page, "tx-03-reverted")
    page.get_by_text("Nothing to withdraw.", exact=True).wait_for()  # the index moved on: the stream told the page

    # Confirmed: a new credit, withdrawn from the page; the balance goes away without a reload.
    chain.deposit()
    withdraw.wait_for()
    before = chain.usd_token.functions.balanceOf(chain.customer).call()
    withdraw.click()
    page.get_by_role("status").get_by_text("Withdraw: confirmed in block").wait_for()
    assert len(d.wallet.sent) == 1
    receipt = chain.w3.eth.get_transaction_receipt(d.wallet.sent[0])
    assert receipt["status"] == 1 and receipt["from"] == CUSTOMER.address
    assert chain.usd_token.functions.balanceOf(chain.customer).call() > before  # the wallet got it back
    assert chain.balance(chain.usd, chain.customer) == 0
    page.get_by_text("Nothing to withdraw.", exact=True).wait_for()
    shot(page, "tx-04-confirmed")
    assert page_errors(d) == []
