"""The shop dashboard in the browser as the dev shop (ChainDriver.setup_shop registered and staked its node): its
node and stake show; an open job it could take appears live when the customer posts one from Python; an unbond
request beyond the free stake is refused at simulation with the registry's error in words, a rejected one sends
nothing, then a real unbond and more stake confirm and the stake updates live; once signed in, telemetry signed
by the operator (fabrica.protocol.telemetry) and pushed to the gateway appears in the machine's charts live."""
from __future__ import annotations

import time

import httpx
from dapp_testkit import PHONE, axe_violations, page_errors, shot, wait_indexed
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.telemetry import TelemetryBatch

SHOP = dev_account(DEV_ROLES["shop"])
DELEGATE = dev_account(DEV_ROLES["guardian"]).address  # whom the shop trusts with its votes
FAB = 10**18


def push_telemetry(gateway_url: str, node_id: int, seq: int, temps: list[float], job_id: int | None = None,
                   ago: float = 0.0) -> None:
    """Sign a batch of hotend readings a second apart (the last `ago` seconds before now) with the operator's key
    and push it."""
    now = time.time()
    samples = [{"t": round(now - ago - len(temps) + 1 + i, 3), "state": "printing", "hotend": t, "hotend_target": 215.0,
                "bed": 59.5 + i / 10, "bed_target": 60.0, "progress": round((seq * 10 + i) / 100, 4), "job_id": job_id}
               for i, t in enumerate(temps)]
    batch = TelemetryBatch.model_validate({"schema": "fabrica.telemetry/1", "chain_id": 31337, "node_id": node_id,
                                           "operator": SHOP.address, "machine": "mk4-1", "seq": seq,
                                           "sent_at": round(now, 3), "samples": samples, "logs": []})
    r = httpx.post(f"{gateway_url}/v1/nodes/{node_id}/telemetry", json=batch.sign(SHOP).to_json(), timeout=10)
    assert r.status_code == 200, r.text


def test_shop_dashboard_stake_open_jobs_and_live_telemetry(open_dapp, chain, gateway) -> None:
    node_id = chain.node_id
    wait_indexed(gateway.url, f"/v1/nodes/{node_id}", lambda n: n["stake"] is not None)
    d = open_dapp(accounts=[SHOP])
    page = d.open("/shop")
    d.connect()
    panel = page.locator(f'[data-node-id="{node_id}"]')
    panel.get_by_role("heading", name=f"Node {node_id}").wait_for()
    stake = page.get_by_test_id("stake")
    stake.get_by_text("2,000 FAB").first.wait_for()
    shot(page, "shop-01-dashboard")

    # An open job this node could take appears without a reload when the customer posts it.
    job_id = chain.post()
    panel.get_by_test_id(f"open-jobs-{node_id}").locator(f'[data-job-id="{job_id}"]').wait_for()
    shot(page, "shop-02-open-job-live")

    # Unbonding more than the free stake: refused at simulation, the registry's error in words, nothing signed.
    unbond = page.get_by_role("button", name="Request unbond")
    page.get_by_label("Unbond (FAB)").fill("999999")
    unbond.click()
    alert = page.get_by_role("alert").filter(has_text="Request unbond failed")
    alert.wait_for()
    assert "NodeRegistry__InsufficientFreeStake" in alert.inner_text()
    assert d.wallet.sent == []
    shot(page, "shop-03-unbond-reverted")

    # Rejected in the wallet: nothing sent, the form usable again.
    page.get_by_label("Unbond (FAB)").fill("100")
    d.wallet.reject_next("eth_sendTransaction")
    unbond.click()
    page.get_by_role("alert").get_by_text("You rejected the transaction in your wallet").wait_for()
    assert d.wallet.sent == [] and unbond.is_enabled()

    # A real unbond request and more stake: confirmed, the stake and its requests update live.
    unbond.click()
    page.get_by_role("status").get_by_text("Request unbond: confirmed in block").wait_for()
    page.get_by_test_id("unbond-requests").get_by_text("100 FAB").wait_for()
    staked, _locked, unbonding, _at = chain.stake_of(SHOP.address)
    assert unbonding == 100 * FAB
    page.get_by_label("Stake more (FAB)").fill("50")
    page.get_by_role("button", name="Stake", exact=True).click()
    page.get_by_role("status").get_by_text("Stake: confirmed in block").wait_for()
    assert chain.stake_of(SHOP.address)[0] == staked + 50 * FAB
    stake.get_by_text(f"{(staked + 50 * FAB) // FAB:,} FAB").first.wait_for()
    assert len(d.wallet.sent) == 3  # request unbond, approve, stake
    shot(page, "shop-04-staked")

    # Telemetry is private: sign in, then readings pushed by the node's operator key appear in the charts live.
    panel.get_by_role("button", name="Sign in to see it").click()
    panel.get_by_test_id(f"no-telemetry-{node_id}").get_by_text("No telemetry in the last hour").wait_for()
    push_telemetry(gateway.url, node_id, 1, [180.0, 195.5, 207.25], job_id=job_id, ago=3)
    machine = panel.locator('[data-machine="mk4-1"]')
    hotend = machine.get_by_test_id("chart-hotend")
    hotend.locator("figcaption").get_by_text("Hotend 207 °C").wait_for()
    machine.get_by_text("Printing").wait_for()
    assert int(hotend.get_attribute("data-points")) == 6  # three readings and their targets
    push_telemetry(gateway.url, node_id, 2, [212.0, 214.75])
    hotend.locator("figcaption").get_by_text("Hotend 215 °C").wait_for()
    assert int(hotend.get_attribute("data-points")) == 10
    assert machine.locator("polyline").count() >= 4
    shot(page, "shop-05-telemetry-live")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    shot(page, "shop-05b-telemetry-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # The node's public page tells its operator so and lists the jobs it could take.
    panel.get_by_role("link", name="public page").click()
    page.get_by_test_id("your-node").wait_for()
    page.get_by_test_id(f"open-jobs-{node_id}").locator(f'[data-job-id="{job_id}"]').wait_for()
    shot(page, "shop-06-node-page")

    # A staking shop's votes come from two sources (its stake self-delegated when it first staked): delegating
    # both to another address on /dao takes two transactions, a typo in the address none.
    page.get_by_role("link", name="DAO", exact=True).click()
    page.get_by_test_id("stake-delegate").get_by_text("yourself").wait_for()
    page.get_by_test_id("fab-delegate").get_by_text("nobody (not counted)").wait_for()
    page.get_by_label("Another address").check()
    page.get_by_label("Delegate's address").fill("0x1234")
    delegate = page.get_by_role("button", name="Delegate", exact=True)
    page.get_by_text("Enter an address: 0x and 40 hex characters.").wait_for()
    assert delegate.is_disabled()
    page.get_by_label("Delegate's address").fill(DELEGATE)
    sent = len(d.wallet.sent)
    delegate.click()
    page.get_by_role("status").get_by_text("Delegate staked FAB votes: confirmed in block").wait_for()
    assert len(d.wallet.sent) == sent + 2
    assert chain.fab.functions.delegates(SHOP.address).call() == DELEGATE
    assert chain.registry.functions.delegates(SHOP.address).call() == DELEGATE
    page.get_by_test_id("stake-delegate").get_by_text("0x7099…79C8").wait_for()
    assert chain.registry.functions.getVotes(DELEGATE).call() >= chain.stake_of(SHOP.address)[0] > 0
    shot(page, "shop-07-stake-votes-delegated")
    assert page_errors(d) == []
