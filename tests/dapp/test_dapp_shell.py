"""The dApp's shell end to end, in headless Chromium against the real devnet, indexer and gateway: the injected
wallet found through EIP-6963 (two at once), connect, Sign-In with Ethereum (the gateway's session checked
through the page's own fetch), jobs browsed and filtered, a job page that shows a new chain event without a
reload, a rejected signature and a wrong network that leave the page usable, and axe-core on the overview at
desktop and phone widths. Screenshots of each key state go to .build/test-output/dapp/."""
from __future__ import annotations

from playwright.sync_api import expect

from dapp_testkit import DESKTOP, PHONE, axe_violations, page_errors, shot, wait_indexed
from fabrica.protocol.accounts import DEV_ROLES, dev_account

CUSTOMER = dev_account(DEV_ROLES["customer"])


def test_connect_sign_in_browse_and_follow_a_job_live(open_dapp, chain, gateway) -> None:
    job = chain.post()
    wait_indexed(gateway.url, f"/v1/jobs/{job}", lambda j: j["status"] == "open")
    d = open_dapp(wallets=2)
    page = d.open("/")
    page.get_by_role("heading", name="Protocol at a glance").wait_for()
    page.locator(f'tr[data-job-id="{job}"]').wait_for()  # the newest jobs, from /v1/jobs
    shot(page, "shell-01-home")

    # EIP-6963: both injected wallets are offered; connecting asks the chosen one for its accounts.
    page.get_by_role("button", name="Connect wallet").click()
    picker = page.get_by_role("group", name="Wallets found in this browser")
    assert picker.get_by_role("button").all_inner_texts() == ["Fabrica Test Wallet", "Other Wallet 1"]
    shot(page, "shell-02-wallet-picker")
    picker.get_by_role("button", name="Fabrica Test Wallet").click()
    page.get_by_label(f"Connected account {CUSTOMER.address}").wait_for()
    assert "eth_requestAccounts" in d.wallets[0].methods() and d.wallets[1].methods() == []

    # Sign-In with Ethereum: the wallet signs the EIP-4361 message; the gateway's cookie session is the proof.
    assert d.me()["status"] == 401
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in", exact=True).wait_for()
    signed = [p for m, p in d.wallet.requests if m == "personal_sign"]
    assert len(signed) == 1
    text = bytes.fromhex(signed[0][0][2:]).decode()
    assert text.startswith(f"{gateway.url.split('://')[1]} wants you to sign in with your Ethereum account:\n"
                           f"{CUSTOMER.address}\n")
    me = d.me()
    assert me["status"] == 200 and me["body"]["address"] == CUSTOMER.address, me
    shot(page, "shell-03-signed-in")

    # Jobs: the list filtered by status through the form, then the job's page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    page.get_by_role("heading", name="Jobs", exact=True).wait_for()
    page.get_by_label("Status", exact=True).select_option("open")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/#/jobs?status=open")
    row = page.locator(f'tr[data-job-id="{job}"]')
    row.wait_for()
    # The list may redraw as the stream reports in: let Playwright retry until the filtered rows stand still.
    expect(page.locator("tbody tr").first).to_be_visible()
    expect(page.locator("tbody .badge").filter(has_not_text="Open")).to_have_count(0)
    expect(row).to_be_visible()
    shot(page, "shell-04-jobs-open")
    row.get_by_role("link").click()
    page.get_by_role("heading", name=f"Job {job}").wait_for()
    history = page.get_by_test_id("job-history")
    history.locator('li[data-event="JobPosted"]').wait_for()
    assert history.locator("li").count() == 1
    page.locator(".badge", has_text="Open").wait_for()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloaded
    shot(page, "shell-05-job-open")

    # A claim on chain reaches the open page through the stream: no reload, no click.
    chain.claim(job)
    history.locator('li[data-event="JobClaimed"]').wait_for()
    page.locator(".badge", has_text="Claimed").wait_for()
    page.get_by_text("Update: Job claimed in block").wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert page.get_by_role("link", name=f"Node {chain.node_id}").is_visible()
    shot(page, "shell-06-job-claimed-live")
    assert page_errors(d) == []


def test_a_rejected_signature_leaves_the_page_usable(open_dapp) -> None:
    d = open_dapp()
    page = d.open("/")
    d.connect()
    page.get_by_label(f"Connected account {CUSTOMER.address}").wait_for()
    d.wallet.reject_next("personal_sign")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.get_by_text("You rejected the sign-in signature in your wallet").wait_for()
    assert d.me()["status"] == 401
    shot(page, "shell-07-signature-rejected")

    # Still usable: navigation works and signing in again succeeds.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nodes").click()
    page.get_by_role("heading", name="Nodes", exact=True).wait_for()
    sign_in = page.get_by_role("button", name="Sign in")
    assert sign_in.is_enabled()
    sign_in.click()
    page.get_by_text("Signed in", exact=True).wait_for()
    assert d.me()["body"]["address"] == CUSTOMER.address
    assert page.get_by_role("alert").count() == 0  # the old message went with the new attempt
    assert page_errors(d) == []


def test_a_wrong_network_prompts_a_switch(open_dapp, devnet) -> None:
    _rpc, deployment, _home = devnet
    # The wallet is on mainnet and has never heard of the devnet: switching answers 4902, so the dApp adds it.
    d = open_dapp(chain_id=1, known_chains={1})
    page = d.open("/")
    d.wallet.reject_next("wallet_switchEthereumChain")
    d.connect()
    page.get_by_label(f"Connected account {CUSTOMER.address}").wait_for()
    banner = page.get_by_role("alert").filter(has_text="Your wallet is on chain 1")
    banner.wait_for()
    page.get_by_text("You rejected the network switch in your wallet").wait_for()
    assert page.get_by_role("button", name="Sign in").is_disabled()  # SIWE would name the wrong chain
    shot(page, "shell-08-wrong-network")
    assert d.wallet.methods().count("wallet_switchEthereumChain") == 1  # prompted as soon as it connected

    banner.get_by_role("button", name="Switch network").click()
    page.get_by_role("button", name="Sign in").and_(page.locator(":enabled")).wait_for()
    assert banner.count() == 0
    assert d.wallet.chain_id == deployment.chain_id
    added = [p for m, p in d.wallet.requests if m == "wallet_addEthereumChain"]
    assert len(added) == 1 and int(added[0][0]["chainId"], 16) == deployment.chain_id
    assert added[0][0]["rpcUrls"] == [_rpc]  # the gateway's /v1/config names the browser-facing RPC
    shot(page, "shell-09-network-switched")
    assert page_errors(d) == []


def test_overview_has_no_serious_accessibility_violations(open_dapp) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        d = open_dapp(viewport=viewport)
        page = d.open("/")
        page.get_by_role("heading", name="Protocol at a glance").wait_for()
        page.locator(".cards").wait_for()
        page.locator("table, p:has-text('No jobs match')").first.wait_for()
        violations = axe_violations(page)
        shot(page, f"shell-10-overview-{name}")
        assert violations == [], f"{name}: {violations}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px wide)"
        # Keyboard: the first Tab reaches the skip link, Enter on it moves focus into the page.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        assert page_errors(d) == []


def test_a_reorg_under_an_open_job_page_rolls_it_back(open_dapp, chain, gateway) -> None:
    job = chain.post()
    wait_indexed(gateway.url, f"/v1/jobs/{job}", lambda j: j["status"] == "open")
    d = open_dapp()
    page = d.open(f"/jobs/{job}")
    history = page.get_by_test_id("job-history")
    history.locator('li[data-event="JobPosted"]').wait_for()
    page.get_by_text("Live updates: live").wait_for()
    chain.claim(job)
    history.locator('li[data-event="JobClaimed"]').wait_for()
    page.evaluate("window.__sameDocument = true")
    shot(page, "shell-11-before-reorg")

    chain.reorg(1)  # the claim's block is replaced by one without it: the job is open again
    page.get_by_text("The chain reorganised after block").wait_for()
    page.locator(".badge", has_text="Open").wait_for()
    assert history.locator('li[data-event="JobClaimed"]').count() == 0
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "shell-12-after-reorg")
    assert page_errors(d) == []
