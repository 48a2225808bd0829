"""The customer's flows end to end, in headless Chromium against the real devnet, indexer and gateway: a part
(examples/bracket.stl) uploaded with its 3D preview and bounding box, the job's spec and terms posted (approve
+ post, after a rejected signature that leaves the form as it was), the job followed live as the shop (driven
from Python) claims it, prints it (telemetry pushed to the gateway, signed by the operator) and delivers a signed
print log, the proof summarised, the delivery accepted and settled; a second job disputed with evidence at a
phone's width. Screenshots of each key state go to .build/test-output/dapp/customer-*.png."""
from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import httpx
from dapp_testkit import PHONE, ROOT, axe_violations, page_errors, shot, wait_indexed
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.proof import LOG_SCHEMA, log_signer, sign_log
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.telemetry import Sample, TelemetryBatch
from fabrica.protocol.types import JobSpec

CUSTOMER = dev_account(DEV_ROLES["customer"])
SHOP = dev_account(DEV_ROLES["shop"])
BRACKET = ROOT / "examples" / "bracket.stl"
USD = 10**6


def stl_box(data: bytes) -> tuple[float, float, float]:
    """The bounding box (mm) of a binary STL, read here independently of the page."""
    (n,) = struct.unpack_from("<I", data, 80)
    assert 84 + 50 * n == len(data), "examples/bracket.stl is a binary STL"
    corners = [struct.unpack_from("<3f", data, 84 + 50 * t + 12 + 12 * k) for t in range(n) for k in range(3)]
    return tuple(max(c[i] for c in corners) - min(c[i] for c in corners) for i in range(3))  # type: ignore[return-value]


def box_text(box: tuple[float, float, float]) -> str:
    """The page's way of writing a box: at most two decimals, no trailing zeros."""
    return " × ".join(f"{round(v, 2):g}" for v in box) + " mm"


def print_log(job_id: int, node_id: int, spec_cid: str) -> bytes:
    """A print log as the node client delivers it (schema fabrica.print-log/1, signed by the operator)."""
    log = {"schema": LOG_SCHEMA, "job_id": job_id, "node_id": node_id, "operator": SHOP.address, "chain_id": 31337,
           "spec_cid": spec_cid, "title": "L bracket", "quantity": 1, "design": {"sealed": False},
           "machine": {"name": "mk4-bay-1", "firmware": "marlin", "profile": "prusa-mk4", "build_volume_mm": [250, 210, 220]},
           "slicing": {"slicer": "PrusaSlicer-2.8.1", "profile": "prusa-mk4", "material": "PLA", "gcode_sha256": "ab" * 32},
           "gcode_lines": 18_342,
           "attempts": [{"attempt": 1, "machine": "mk4-bay-1", "started_at": 1, "finished_at": 2, "ok": True,
                         "state": "finished", "reason": None, "result": "printed",
                         "telemetry": [{"t": 1, "hotend": 214.8}, {"t": 2, "hotend": 215.1}]}],
           "result": "printed"}
    signed = sign_log(log, SHOP)
    assert log_signer(signed) == SHOP.address
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()


def deliver(chain: Any, job_id: int, proof: bytes) -> str:
    """The shop delivers `job_id` with `proof` stored in the content store the gateway serves; the proof's CID."""
    cid = chain.cid(proof)
    chain.send(chain.market.functions.deliver(job_id, chain.struct(job_id), Cid.parse(cid).to_bytes()), chain.shop)
    return cid


def push_telemetry(gateway_url: str, chain: Any, job_id: int, seq: int, progress: float) -> None:
    """One batch of the shop's machine printing `job_id`, signed by the operator (as the node client pushes it)."""
    now = time.time()
    batch = TelemetryBatch(chain_id=chain.deployment.chain_id, node_id=chain.node_id, operator=SHOP.address,
                           machine="mk4-bay-1", seq=seq, sent_at=now,
                           samples=[Sample(t=now - 2 + i * 0.5, state="printing", hotend=210.0 + i * 1.5,
                                           hotend_target=215.0, bed=59.5, bed_target=60.0,
                                           progress=progress, job_id=job_id) for i in range(4)])
    r = httpx.post(f"{gateway_url}/v1/nodes/{chain.node_id}/telemetry", json=batch.sign(SHOP).to_json(), timeout=10)
    assert r.status_code == 200, r.text


def sign_in(d: Any) -> None:
    """Connect the injected wallet and sign in through the header."""
    d.connect()
    d.page.get_by_label(f"Connected account {CUSTOMER.address}").wait_for()
    d.page.locator("header").get_by_role("button", name="Sign in").click()
    d.page.get_by_text("Signed in", exact=True).wait_for()


def test_post_a_part_follow_it_live_inspect_the_proof_and_accept(open_dapp, chain, gateway) -> None:
    market = chain.market.address
    chain.send(chain.usd_token.functions.approve(market, 0), chain.customer)  # the page must approve first
    assert chain.balance(chain.usd, chain.customer) == 0  # no market credit: the price comes from the wallet
    d = open_dapp()
    page = d.open("/post")
    page.get_by_role("heading", name="Post a job", level=1).wait_for()
    sign_in(d)

    # The part: its bounding box from the mesh, equal to Python's reading of the STL; the preview turns by keys.
    data = BRACKET.read_bytes()
    box = stl_box(data)
    page.get_by_label("Part file (STL or 3MF): choose it, or drop it here").set_input_files(str(BRACKET))
    bbox = page.get_by_test_id("bbox")
    bbox.wait_for()
    assert bbox.inner_text() == box_text(box) == "40 × 20 × 30 mm"
    preview = page.get_by_test_id("part-preview")
    preview.wait_for()
    yaw = preview.get_attribute("data-yaw")
    preview.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(y) => document.querySelector('[data-testid=part-preview]').dataset.yaw !== y", arg=yaw)
    assert page.get_by_label("Title").input_value() == "bracket"
    shot(page, "customer-01-part-preview")

    # The job: what to make and the terms.
    page.get_by_label("Title").fill("L bracket, 2 pieces")
    page.get_by_label("Process").select_option("FDM")
    page.get_by_label("Material").select_option("PETG")
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Notes for the shop (optional)").fill("Print the long side flat.")
    page.get_by_label("Price (fUSD)").fill("12.5")
    low, high = chain.market.functions.collateralBounds(chain.usd, 12_500_000).call()
    page.get_by_test_id("collateral-bounds").get_by_text(f"between {low / 10**18:g} and").wait_for()
    assert page.get_by_label("Shop's collateral (FAB)").input_value() == f"{low / 10**18:g}"  # the minimum
    page.get_by_label("Shops must claim within (hours)").fill("24")
    page.get_by_label("Delivery window after the claim (hours)").fill("48")
    page.get_by_label("Only for node (optional)").fill(str(chain.node_id))
    shot(page, "customer-02-form-filled")

    # A refused signature (the approval): nothing sent, the reason shown, the form as it was and usable.
    post = page.get_by_role("button", name="Post the job")
    d.wallet.reject_next("eth_sendTransaction")
    post.click()
    page.get_by_role("alert").get_by_text("You rejected the transaction in your wallet").wait_for()
    assert d.wallet.sent == [] and post.is_enabled()
    assert page.get_by_label("Title").input_value() == "L bracket, 2 pieces"
    assert page.get_by_label("Price (fUSD)").input_value() == "12.5"
    assert bbox.inner_text() == "40 × 20 × 30 mm"
    shot(page, "customer-03-post-rejected")

    # Approve + post; the page goes to the new job.
    post.click()
    page.wait_for_url("**/#/jobs/*", timeout=30_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("heading", name=f"Job {job_id}: L bracket, 2 pieces").wait_for()
    assert len(d.wallet.sent) == 2  # approve, post
    approve, posted = (chain.w3.eth.get_transaction_receipt(h) for h in d.wallet.sent)
    assert approve["to"] == chain.usd and posted["to"] == market and posted["from"] == CUSTOMER.address
    assert chain.usd_token.functions.allowance(chain.customer, market).call() == 0  # the exact shortfall, spent

    # On chain: the amount, terms and the spec's CID; the spec document is a JobSpec of what the form said.
    on_chain = chain.job(job_id)
    j = on_chain["job"]
    assert on_chain["status"] == "open"
    assert (j["customer"], j["token"], j["amount"], j["collateral"], j["targetNode"], j["deliveryWindow"]) == (
        CUSTOMER.address, chain.usd, 12_500_000, low, chain.node_id, 48 * 3600)
    event = chain.emitted(posted, "JobPosted")[0]
    spec_cid = str(Cid.parse(event["specCid"]))
    view = wait_indexed(gateway.url, f"/v1/jobs/{job_id}", lambda v: v["spec"] is not None)
    assert view["spec_cid"] == spec_cid and view["spec"]["material"] == "PETG"
    spec = JobSpec.from_json_bytes(httpx.get(f"{gateway.url}/v1/content/{spec_cid}").content)
    assert (spec.title, spec.process.name, spec.material.name, spec.quantity, spec.notes) == (
        "L bracket, 2 pieces", "FDM", "PETG", 2, "Print the long side flat.")
    assert spec.bounding_box_mm == box
    assert [(f.cid, f.name, f.role) for f in spec.files] == [(chain.cid(data), "bracket.stl", "model")]
    assert httpx.get(f"{gateway.url}/v1/content/{spec.files[0].cid}").content == data
    page.locator(".badge", has_text="Open").wait_for()
    page.evaluate("window.__sameDocument = true")
    shot(page, "customer-04-posted")

    # The shop claims and prints: the page follows through the stream, the telemetry by the job's own endpoint.
    chain.claim(job_id)
    page.locator(".badge", has_text="Claimed").wait_for()
    push_telemetry(gateway.url, chain, job_id, seq=1, progress=0.42)
    page.get_by_test_id("print-progress").get_by_text("42 %").wait_for()
    assert page.get_by_test_id("print-state").inner_text() == "printing"
    assert page.get_by_test_id("print-hotend").inner_text() == "214.5 °C (target 215 °C)"
    assert page.get_by_test_id("print-bed").inner_text() == "59.5 °C (target 60 °C)"
    push_telemetry(gateway.url, chain, job_id, seq=2, progress=0.9)
    page.get_by_test_id("print-progress").get_by_text("90 %").wait_for()
    shot(page, "customer-05-printing")

    # Delivered with a signed print log: the proof is summarised in the page.
    proof_cid = deliver(chain, job_id, print_log(job_id, chain.node_id, spec_cid))
    page.locator(".badge", has_text="Delivered").wait_for()
    summary = page.get_by_test_id("proof-summary")
    summary.get_by_test_id("proof-result").get_by_text("printed").wait_for()
    assert "mk4-bay-1" in summary.get_by_test_id("proof-machine").inner_text()
    assert summary.get_by_text("(the node's operator)").is_visible()
    assert summary.get_by_test_id("proof-attempts").inner_text() == "1; the last finished with 2 telemetry samples"
    assert page.get_by_role("link", name=f"Open the proof bundle ({proof_cid[:12]}…)").is_visible()
    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload
    assert axe_violations(page) == []
    shot(page, "customer-06-delivered-proof")

    # Accepted in the browser: settled on chain, the shop credited the price less the protocol fee.
    shop_before = chain.balance(chain.usd, chain.shop)
    page.get_by_role("button", name="Accept the delivery").click()
    page.get_by_role("status").get_by_text("Accept the delivery: confirmed in block").wait_for()
    page.locator(".badge", has_text="Settled").wait_for()
    assert chain.job(job_id)["status"] == "settled"
    fee = 12_500_000 * j["feeBps"] // 10_000
    assert chain.balance(chain.usd, chain.shop) - shop_before == 12_500_000 - fee
    assert page.get_by_test_id("customer-actions").count() == 0  # nothing left to decide
    shot(page, "customer-07-accepted")
    assert page_errors(d) == []


def test_dispute_a_delivery_with_evidence_on_a_phone(open_dapp, chain, gateway, tmp_path: Path) -> None:
    job_id = chain.post(8 * USD)
    chain.claim(job_id)
    proof_cid = deliver(chain, job_id, print_log(job_id, chain.node_id, "none"))
    wait_indexed(gateway.url, f"/v1/jobs/{job_id}", lambda v: v["status"] == "delivered")
    bond = chain.job(job_id)["job"]["bond"]
    wallet_before = chain.usd_token.functions.balanceOf(chain.customer).call()

    d = open_dapp(viewport=PHONE)
    page = d.open(f"/jobs/{job_id}")
    page.get_by_role("heading", name=f"Job {job_id}").wait_for()
    page.locator("header").get_by_role("button", name="Connect wallet").wait_for()
    sign_in(d)
    actions = page.get_by_test_id("customer-actions")
    actions.wait_for()
    page.get_by_test_id("proof-summary").wait_for()
    shot(page, "customer-08-phone-delivered")

    measured = tmp_path / "measurements.json"
    measured.write_text(json.dumps({"part": "bracket", "expected_mm": [40, 20, 30], "measured_mm": [40.1, 20.0, 27.2],
                                    "note": "the vertical arm is 2.8 mm short"}))
    actions.get_by_label("What is wrong").fill("The vertical arm is 2.8 mm short of the drawing (30 mm).")
    actions.get_by_label("Evidence files (optional: STL, 3MF, G-code or JSON, e.g. a measured scan)").set_input_files(str(measured))
    actions.get_by_role("button", name="Dispute with this evidence").click()
    page.get_by_role("status").get_by_text("Dispute the delivery: confirmed in block").wait_for()
    page.locator(".badge", has_text="Disputed").wait_for()
    assert len(d.wallet.sent) == 1  # the standing allowance covers the bond: no approval sent

    # On chain: disputed, the bond paid from the wallet; the reason document names the evidence by CID.
    assert chain.job(job_id)["status"] == "disputed"
    assert wallet_before - chain.usd_token.functions.balanceOf(chain.customer).call() == bond
    view = wait_indexed(gateway.url, f"/v1/jobs/{job_id}", lambda v: v["reason_cid"] is not None)
    reason = httpx.get(f"{gateway.url}/v1/content/{view['reason_cid']}").json()
    assert reason["job_id"] == job_id and reason["proof_cid"] == proof_cid
    assert reason["reason"] == "The vertical arm is 2.8 mm short of the drawing (30 mm)."
    assert [(e["cid"], e["name"], e["kind"]) for e in reason["evidence"]] == [
        (chain.cid(measured.read_bytes()), "measurements.json", "json")]
    assert httpx.get(f"{gateway.url}/v1/content/{reason['evidence'][0]['cid']}").json()["measured_mm"][2] == 27.2
    assert page.get_by_test_id("customer-actions").count() == 0
    assert axe_violations(page) == []
    shot(page, "customer-09-phone-disputed")
    assert page_errors(d) == []


def three_mf(vertices: list[tuple[float, float, float]], triangles: list[tuple[int, int, int]], unit: str) -> bytes:
    """A 3MF package (deflated ZIP) holding one mesh object in 3D/3dmodel.model."""
    import io
    import zipfile

    verts = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in vertices)
    tris = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in triangles)
    model = (f'<?xml version="1.0" encoding="UTF-8"?><model unit="{unit}" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
             f'<resources><object id="1" type="model"><mesh><vertices>{verts}</vertices><triangles>{tris}</triangles>'
             '</mesh></object></resources><build><item objectid="1"/></build></model>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="model" ContentType="application/vnd.ms-package.'
                   '3dmanufacturing-3dmodel+xml"/></Types>')
        z.writestr("3D/3dmodel.model", model)
    return out.getvalue()


def test_3mf_and_ascii_stl_previews_and_an_unreadable_file(open_dapp, tmp_path: Path) -> None:
    """Parts are read in the page: a 3MF's mesh from its ZIP (units converted to mm), an ASCII STL; a file that is
    neither says so and the form stays usable."""
    box = [(0, 0, 0), (2.5, 0, 0), (2.5, 1.2, 0), (0, 1.2, 0), (0, 0, 0.8), (2.5, 0, 0.8), (2.5, 1.2, 0.8), (0, 1.2, 0.8)]
    faces = [(0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4), (1, 2, 6), (1, 6, 5), (2, 3, 7),
             (2, 7, 6), (3, 0, 4), (3, 4, 7)]
    part = tmp_path / "block.3mf"
    part.write_bytes(three_mf(box, faces, "centimeter"))
    ascii_stl = tmp_path / "wedge.stl"
    ascii_stl.write_text("solid wedge\n" + "".join(
        f"facet normal 0 0 1\nouter loop\n{''.join(f'vertex {x} {y} {z}' + chr(10) for x, y, z in tri)}endloop\nendfacet\n"
        for tri in [((0, 0, 0), (12.5, 0, 0), (0, 7.25, 0)), ((0, 0, 0), (0, 7.25, 0), (0, 0, 3.333))]) + "endsolid wedge\n")
    junk = tmp_path / "notes.stl"
    junk.write_text("these are not triangles")

    d = open_dapp()
    page = d.open("/post")
    field = page.get_by_label("Part file (STL or 3MF): choose it, or drop it here")
    field.set_input_files(str(part))
    page.get_by_test_id("bbox").get_by_text("25 × 12 × 8 mm").wait_for()  # centimetres in the file
    page.get_by_test_id("part-preview").wait_for()
    shot(page, "customer-10-3mf-preview")
    field.set_input_files(str(ascii_stl))
    page.get_by_test_id("bbox").get_by_text("12.5 × 7.25 × 3.33 mm").wait_for()
    field.set_input_files(str(junk))
    page.get_by_role("alert").get_by_text("notes.stl cannot be read").wait_for()
    assert page.get_by_test_id("bbox").count() == 0
    field.set_input_files(str(BRACKET))
    page.get_by_test_id("bbox").get_by_text("40 × 20 × 30 mm").wait_for()
    page.get_by_test_id("part-preview").wait_for()
    assert axe_violations(page) == []  # the post form with its preview
    assert page_errors(d) == []
