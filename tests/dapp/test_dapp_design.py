"""The designer's and the sponsor's flows end to end, in headless Chromium against the real devnet, indexer and
gateway: a design minted from the browser (model and metadata stored by CID, DesignNFT.mint), listed on the
design market (a rejected typed-data signature first, then a signed, relayed order), licence terms set and
licences bought, the design bought by a collector (the wallet switched accounts), the studio's earnings; a
bounty posted and funded by a sponsor, an entry submitted by the designer, an award above the pot refused at
simulation, the award made and withdrawn. Every step is checked on chain; screenshots go to
.build/test-output/dapp/design-*.png."""
from __future__ import annotations

import json
from typing import Any

from web3.logs import DISCARD

import httpx
from dapp_testkit import DESKTOP, PHONE, ROOT, axe_violations, page_errors, shot
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.bounties import bounty_brief
from fabrica.protocol.designs import design_metadata
from fabrica.protocol.storage.cid import Cid

DESIGNER = dev_account(DEV_ROLES["designer"])
COLLECTOR = dev_account(DEV_ROLES["collector"])
SPONSOR = dev_account(DEV_ROLES["sponsor"])
BRACKET = ROOT / "examples" / "bracket.stl"
USD = 10**6


def model(tag: bytes) -> bytes:
    """examples/bracket.stl with `tag` in its 80-byte header: the same shape, a file (and design) of its own."""
    data = BRACKET.read_bytes()
    return tag.ljust(80, b" ")[:80] + data[80:]


def usd(chain: Any, who: str) -> int:
    return chain.usd_token.functions.balanceOf(who).call()


def receipt_of(chain: Any, tx_hash: str) -> Any:
    r = chain.w3.eth.get_transaction_receipt(tx_hash)
    assert r["status"] == 1
    return r


def sign_in_to_upload(page: Any, address: str) -> None:
    """The page's own sign-in prompt (uploads need a session), for the wallet's active account."""
    page.locator("main").get_by_role("button", name="Sign in to upload").click()
    page.locator("header").get_by_text("Signed in").wait_for()
    page.get_by_label(f"Connected account {address}").wait_for()


def status(page: Any, text: str) -> None:
    """Wait for a confirmed (or done) step whose notice contains `text` (a failure's alert is the error)."""
    try:
        page.get_by_role("status").filter(has_text=text).first.wait_for()
    except Exception:
        alerts = page.get_by_role("alert").all_inner_texts()
        shot(page, "design-failed")
        raise AssertionError(f"no {text!r} on the page; alerts: {alerts}") from None


def test_design_minted_listed_licensed_and_sold(open_dapp, chain, gateway) -> None:
    d = open_dapp(accounts=[DESIGNER, COLLECTOR, SPONSOR])
    page = d.open("/designs/new")
    d.connect()
    sign_in_to_upload(page, DESIGNER.address)
    stl = model(b"fabrica dapp design test: bracket v1")
    page.get_by_label("Model file (STL or 3MF)").set_input_files({"name": "bracket.stl", "mimeType": "model/stl", "buffer": stl})
    page.get_by_role("img", name="Preview of bracket.stl").wait_for()
    page.get_by_label("Name", exact=True).fill("L bracket")
    page.get_by_label("Description").fill("A 90° shelf bracket, 4 mm walls.")
    page.get_by_label("Licence in words").fill("CC-BY-4.0")
    page.get_by_label("Royalty (%)").fill("7.5")
    shot(page, "design-01-mint-form")
    page.get_by_role("button", name="Mint design").click()

    # The design page, reached once the mint confirmed; its data arrives as the index catches up (the stream).
    page.get_by_test_id("design-id").wait_for()
    design_id = int(page.get_by_test_id("design-id").inner_text())
    page.get_by_role("heading", level=1, name="L bracket").wait_for()
    owner, creator, receiver, bps, state = chain.designs.functions.designOf(design_id).call()
    assert (owner, creator, receiver, bps, state) == (DESIGNER.address, DESIGNER.address, DESIGNER.address, 750, 1)
    cid = Cid.parse(bytes(chain.designs.functions.cidOf(design_id).call()))
    assert int.from_bytes(cid.digest, "big") == design_id  # the token id is the CID's sha-256 digest
    assert httpx.get(f"{gateway.url}/v1/content/{cid}").content == stl  # the CID is the file's
    view = httpx.get(f"{gateway.url}/v1/designs/{design_id}").json()
    metadata = httpx.get(f"{gateway.url}/v1/content/{view['metadata_cid']}").content
    assert metadata == design_metadata(name="L bracket", model_cid=str(cid), description="A 90° shelf bracket, 4 mm walls.",
                                       licence="CC-BY-4.0")  # byte for byte the SDK's document
    page.get_by_role("img", name="Preview of L bracket").wait_for()
    shot(page, "design-02-minted")

    # Listing: the typed-data signature refused in the wallet first (the market was approved before it).
    page.get_by_label("Price", exact=True).fill("40")
    d.wallet.reject_next("eth_signTypedData_v4")
    page.get_by_role("button", name="List for sale").click()
    page.get_by_role("alert").get_by_text("You rejected the listing's signature").wait_for()
    market = chain.design_market.address
    assert chain.designs.functions.isApprovedForAll(DESIGNER.address, market).call()
    assert httpx.get(f"{gateway.url}/v1/listings", params={"maker": DESIGNER.address}).json()["items"] == []
    assert page.get_by_role("button", name="List for sale").is_enabled()
    shot(page, "design-03-listing-rejected")
    page.get_by_role("button", name="List for sale").click()
    status(page, "Listed for 40 fUSD")
    listings = page.get_by_test_id("listings")
    listings.get_by_text("40 fUSD").wait_for()
    relayed = httpx.get(f"{gateway.url}/v1/listings", params={"maker": DESIGNER.address}).json()["items"]
    assert len(relayed) == 1 and relayed[0]["order"]["token_id"] == str(design_id)

    # Licence terms: 2 fUSD a print.
    page.get_by_label("Price per print").fill("2")
    page.get_by_role("button", name="Set licence terms").click()
    status(page, "Set licence terms: confirmed")
    terms, valid = chain.licences.functions.termsOf(design_id).call()
    assert valid and terms[0] == chain.usd and terms[1] == 2 * USD
    page.get_by_test_id("licence-terms").get_by_text("2 fUSD").wait_for()
    shot(page, "design-04-listed-and-licensed")
    assert axe_violations(page) == []

    # The collector: licences first (terms are the designer's while the designer owns it), then the design.
    fee_bps = chain.design_market.functions.feeBps().call()
    lic_fee_bps = chain.licences.functions.feeBps().call()
    designer_before, collector_before = usd(chain, DESIGNER.address), usd(chain, COLLECTOR.address)
    d.wallet.use_account(1)
    page.get_by_label(f"Connected account {COLLECTOR.address}").wait_for()
    page.get_by_label("Prints", exact=True).fill("3")
    page.get_by_text("Cost: 6 fUSD").wait_for()
    page.get_by_role("button", name="Buy licences").click()
    status(page, "Buy licences: confirmed")
    assert chain.licences.functions.balanceOf(COLLECTOR.address, design_id).call() == 3
    cost = 6 * USD
    assert usd(chain, DESIGNER.address) - designer_before == cost - cost * lic_fee_bps // 10_000
    page.get_by_text("You hold 3 licences of this design.").wait_for()

    designer_before, collector_before = usd(chain, DESIGNER.address), usd(chain, COLLECTOR.address)
    sent = len(d.wallet.sent)
    page.get_by_role("button", name="Buy for 40 fUSD").click()
    status(page, "Buy the design: confirmed")
    assert len(d.wallet.sent) == sent + 2  # approve the price, then fill
    fill = receipt_of(chain, d.wallet.sent[-1])
    filled = chain.design_market.events.OrderFilled().process_receipt(fill, errors=DISCARD)[0]["args"]
    total = 40 * USD
    fee = total * fee_bps // 10_000
    assert chain.designs.functions.ownerOf(design_id).call() == COLLECTOR.address
    assert (filled["royaltyReceiver"], filled["royalty"]) == (DESIGNER.address, total * 750 // 10_000)
    assert usd(chain, COLLECTOR.address) == collector_before - total
    assert usd(chain, DESIGNER.address) - designer_before == total - fee  # seller's proceeds, its royalty included
    page.get_by_test_id("design-owner").get_by_label(COLLECTOR.address).wait_for()  # the stream moved the page on
    page.get_by_test_id("sales").get_by_text("40 fUSD").wait_for()
    page.get_by_text("Not listed for sale.").wait_for()  # the filled order is gone
    shot(page, "design-05-sold")

    # The collector resells it to a third account: this time the royalty goes to the designer, apart.
    page.get_by_label("Price", exact=True).fill("50")
    page.get_by_role("button", name="List for sale").click()
    status(page, "Listed for 50 fUSD")
    d.wallet.use_account(2)
    page.get_by_label(f"Connected account {SPONSOR.address}").wait_for()
    designer_before, collector_before = usd(chain, DESIGNER.address), usd(chain, COLLECTOR.address)
    page.get_by_role("button", name="Buy for 50 fUSD").click()
    status(page, "Buy the design: confirmed")
    total = 50 * USD
    royalty = total * 750 // 10_000
    assert chain.designs.functions.ownerOf(design_id).call() == SPONSOR.address
    assert usd(chain, DESIGNER.address) - designer_before == royalty
    assert usd(chain, COLLECTOR.address) - collector_before == total - total * fee_bps // 10_000 - royalty
    page.get_by_test_id("royalties").get_by_text("3.75 fUSD").wait_for()
    page.get_by_test_id("design-owner").get_by_label(SPONSOR.address).wait_for()
    shot(page, "design-06-resold-royalty")

    # The designer's studio: the design, the sale and the royalty.
    d.wallet.use_account(0)
    page = d.open("/studio")
    page.get_by_test_id("my-designs").wait_for()
    page.get_by_test_id("sales-proceeds").wait_for()
    page.get_by_test_id("royalties-earned").get_by_text("3.75 fUSD").wait_for()  # 7.5 % of the 50 fUSD resale
    page.get_by_test_id("sales-proceeds").get_by_text(f"{(40 * USD - 40 * USD * fee_bps // 10_000) / USD:g} fUSD").wait_for()
    page.get_by_test_id("my-sales").get_by_text("Sold").wait_for()
    shot(page, "design-07-studio")
    assert axe_violations(page) == []
    assert page_errors(d) == []


def test_bounty_posted_funded_entered_awarded_and_withdrawn(open_dapp, chain, gateway) -> None:
    d = open_dapp(accounts=[SPONSOR, DESIGNER], viewport=DESKTOP)
    page = d.open("/bounties/new")
    d.connect()
    sign_in_to_upload(page, SPONSOR.address)
    page.get_by_label("Title", exact=True).fill("Cable clip for 6 mm cords")
    page.get_by_label("What the design must do").fill("Holds two cords on a desk edge up to 25 mm thick.")
    page.get_by_label("Material").select_option("PLA")
    page.get_by_label("Size x (mm)").fill("40")
    page.get_by_label("Size y (mm)").fill("20")
    page.get_by_label("Size z (mm)").fill("12.5")
    page.get_by_label("Funding now").fill("100")
    shot(page, "design-08-bounty-form")
    page.get_by_role("button", name="Post bounty").click()
    page.get_by_test_id("bounty-pot").get_by_text("100 fUSD").wait_for()
    bounty_id = int(page.url.rsplit("/", 1)[1])
    b = chain.board.functions.bountyOf(bounty_id).call()
    assert b[0] == SPONSOR.address and b[1] == chain.usd and b[10] == 100 * USD
    view = httpx.get(f"{gateway.url}/v1/bounties/{bounty_id}").json()
    assert view["approvers"] == [SPONSOR.address.lower()] or [a.lower() for a in view["approvers"]] == [SPONSOR.address.lower()]
    brief = httpx.get(f"{gateway.url}/v1/content/{view['brief_cid']}").content
    assert brief == bounty_brief(title="Cable clip for 6 mm cords", description="Holds two cords on a desk edge up to 25 mm thick.",
                                 material="PLA", bounding_box_mm=(40, 20, 12.5))
    page.get_by_role("heading", level=1, name="Bounty 1: Cable clip for 6 mm cords").wait_for()

    # More funding from the same sponsor, by the terms' hash.
    page.get_by_label("Amount", exact=True).fill("25")
    page.get_by_role("button", name="Fund", exact=True).click()
    status(page, "Fund the bounty: confirmed")
    assert chain.board.functions.bountyOf(bounty_id).call()[10] == 125 * USD
    page.get_by_test_id("bounty-pot").get_by_text("125 fUSD").wait_for()

    # The designer submits an entry (its own session for the upload).
    d.wallet.use_account(1)
    page.get_by_label(f"Connected account {DESIGNER.address}").wait_for()
    sign_in_to_upload(page, DESIGNER.address)
    entry = model(b"fabrica dapp bounty entry: cable clip")
    page.get_by_label("Design file (STL or 3MF)").set_input_files({"name": "clip.stl", "mimeType": "model/stl", "buffer": entry})
    page.get_by_role("button", name="Submit entry").click()
    status(page, "Submit your design: confirmed")
    submitter, awarded, _minted, cid = chain.board.functions.submissionOf(bounty_id, 1).call()
    assert submitter == DESIGNER.address and not awarded
    assert httpx.get(f"{gateway.url}/v1/content/{Cid.parse(bytes(cid))}").content == entry
    page.get_by_test_id("entries").get_by_text("Entry 1").wait_for()
    assert page.get_by_label("Award entry 1").count() == 0  # only approvers award
    shot(page, "design-09-entry")

    # The approver (the sponsor) awards: more than the pot is refused at simulation, nothing sent.
    d.wallet.use_account(0)
    page.get_by_label("Award entry 1").fill("500")
    sent = len(d.wallet.sent)
    page.get_by_role("button", name="Award", exact=True).click()
    alert = page.get_by_role("alert").filter(has_text="Award entry 1 failed")
    alert.get_by_text("Exceeds pot").wait_for()
    assert "BountyBoard__ExceedsPot" in alert.inner_text()
    assert len(d.wallet.sent) == sent
    assert page.get_by_role("button", name="Award", exact=True).is_enabled()
    shot(page, "design-10-award-reverted")
    page.get_by_label("Award entry 1").fill("100")
    page.get_by_role("button", name="Award", exact=True).click()
    status(page, "Award entry 1: confirmed")
    assert chain.board.functions.balanceOf(chain.usd, DESIGNER.address).call() == 100 * USD
    page.get_by_test_id("awards").get_by_text("100 fUSD").wait_for()

    # The winner withdraws, at a phone's width.
    d.wallet.use_account(1)
    page.set_viewport_size(PHONE)
    before = usd(chain, DESIGNER.address)
    withdraw = page.get_by_test_id("award-balances").get_by_role("button", name="Withdraw awards")
    withdraw.click()
    status(page, "Withdraw awards: confirmed")
    assert usd(chain, DESIGNER.address) - before == 100 * USD
    assert chain.board.functions.balanceOf(chain.usd, DESIGNER.address).call() == 0
    page.get_by_text("No bounty awards waiting for you.").wait_for()
    shot(page, "design-11-withdrawn-phone")

    page.set_viewport_size(DESKTOP)
    page = d.open("/bounties")
    page.get_by_test_id("bounties").get_by_role("link", name="Cable clip for 6 mm cords").wait_for()
    shot(page, "design-12-bounties")
    assert axe_violations(page) == []
    assert page_errors(d) == []
    assert json.loads(brief)["bounding_box_mm"] == [40.0, 20.0, 12.5]
