"""The job loop's refusal rules and hand-back under the market's v2 rules, on the real devnet.

Bait jobs of each kind are left Open by a running loop, each with its reason recorded, while a normal job next to
them is claimed, printed on OctoPrint's virtual printer and delivered with a signed print log that the customer's
`verify_proof` accepts. Jobs that turn out impossible only after the claim (the sealed design does not unseal, is a
registered design the job does not name, or takes longer than the time left) are handed back at once: Open again,
no FAB lost, the machine still in service.
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from peers.grbl_sim import GrblSimulator
from peers.launch import virtual_printer
from test_jobloop import PRINTER, post, write_config
from test_slicer import cube_stl

from fabrica.node_client import jobloop
from fabrica.node_client.config import load_node_config
from fabrica.node_client.jobloop import JobLoop, JobRejected
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.proof import dispute_if_failed, log_signer, verify_proof
from fabrica.protocol.storage import generate_keypair
from fabrica.protocol.types import JobStatus, Material, ProcessKind, format_units

OTHER_SHOP = 7  # a dev account (not a role) that registers another shop's node


def other_node(chain: dict) -> tuple[int, bytes]:
    """Another shop's node (same capabilities as ours) and its sealing key."""
    other = chain["base"].with_account(dev_account(OTHER_SHOP))
    key = generate_keypair().public_key
    node_id = other.register_node(processes=ProcessKind.FDM, materials=Material.PLA | Material.PETG,
                                  build_volume_mm=(250, 210, 220), encryption_key=key,
                                  metadata_cid=str(chain["store"].add(b'{"name":"another shop"}'))).value
    return node_id, key


def test_bait_jobs_stay_open_and_the_normal_job_is_delivered_with_a_proof_that_verifies(
        chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    customer, shop, store = chain["customer"], chain["shop"], chain["store"]
    designer = chain["base"].with_account(dev_account(DEV_ROLES["designer"]))
    token = customer.deployment.payment_tokens["fUSD"]
    low, high = customer.collateral_bounds(token, 25_000_000)
    assert low < high  # the devnet's fUSD terms leave room between the least and the most collateral
    design_stl = cube_stl(7, 7, 2)
    design_id = designer.mint_design(str(store.add(design_stl)), 500).value
    elsewhere, elsewhere_key = other_node(chain)
    slices: list[str] = []
    real_prepare = jobloop.prepare

    def counting_prepare(data: bytes, *args, **kwargs):
        slices.append(hashlib.sha256(data).hexdigest())
        return real_prepare(data, *args, **kwargs)

    monkeypatch.setattr(jobloop, "prepare", counting_prepare)
    said: list[str] = []
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        cfg = load_node_config(write_config(tmp_path, chain, peer.port, max_collateral=format_units(low, 18)))
        loop = JobLoop(cfg, threaded=False, say=said.append, telemetry_interval=0.1)
        baits = {  # posted before the normal job, so the loop looks at every one of them first
            "window": post(chain, cube_stl(8, 8, 2), quantity=100, delivery_window=2 * 3600),
            "sealed elsewhere": post(chain, cube_stl(8, 8, 2), sealed_to=elsewhere_key, target_node=elsewhere),
            "sealed untargeted": post(chain, cube_stl(8, 8, 2), sealed_to=loop.keys.public_key),
            "collateral": post(chain, cube_stl(8, 8, 2), collateral=high),
            "targeted elsewhere": post(chain, cube_stl(8, 8, 2), target_node=elsewhere),
            "registered design": post(chain, design_stl),
        }
        good_stl = cube_stl(9, 9, 2)
        good = post(chain, good_stl)
        try:
            assert loop.run(max_jobs=1) == [good], said
            skipped = loop.state.skipped()
        finally:
            loop.close()

    for kind, job_id in baits.items():
        assert customer.job(job_id).status == JobStatus.OPEN, kind  # never claimed, no collateral locked
        assert job_id in skipped, (kind, said)
    assert "delivery window 2h is shorter than the 'cube.stl' print time" in skipped[baits["window"]]
    assert "(slicer estimate) x 100 x time_margin 1.25" in skipped[baits["window"]]
    assert f"targeted at node {elsewhere}, not at this shop's nodes" in skipped[baits["sealed elsewhere"]]
    assert "is sealed but the job is open to any node" in skipped[baits["sealed untargeted"]]
    assert (f"collateral {format_units(high, 18)} FAB is above max_collateral {format_units(low, 18)} FAB"
            in skipped[baits["collateral"]])
    assert f"targeted at node {elsewhere}" in skipped[baits["targeted elsewhere"]]
    assert (f"is registered design #{design_id}, but the job names no design"
            in skipped[baits["registered design"]])
    assert any(s.startswith(f"job {baits['window']}: not for this node: delivery window") for s in said)
    # The normal job's STL was sliced once, before the claim, and that slice was the one printed.
    assert slices.count(hashlib.sha256(good_stl).hexdigest()) == 1, slices

    record = customer.job(good)
    assert record.status == JobStatus.DELIVERED
    report = verify_proof(customer, store, good)
    assert report.ok, report.to_json()
    log = json.loads(store.get(record.proof_cid))
    assert log_signer(log) == shop.address and log["signature"]["signer"] == shop.address
    assert store.get(log["slicing"]["gcode_cid"]) == (tmp_path / "jobs" / str(good) / "job.gcode").read_bytes()
    assert dispute_if_failed(customer, store, report) is None


def _grbl_loop(chain: dict, tmp_path: Path, port: str, said: list[str]) -> JobLoop:
    cfg = load_node_config(write_config(tmp_path, chain, port, machine={"firmware": "grbl", "baud": 115200,
                                                                         "boot_wait": 0.2}))
    loop = JobLoop(cfg, threaded=False, say=said.append)
    loop.check_machines()
    loop.register()
    loop.reconcile()
    return loop


def test_a_job_found_impossible_after_the_claim_is_handed_back_at_once(chain, tmp_path: Path) -> None:
    customer, shop, store = chain["customer"], chain["shop"], chain["store"]
    designer = chain["base"].with_account(dev_account(DEV_ROLES["designer"]))
    fab = shop.deployment.contracts["FabToken"]
    design_stl = cube_stl(7, 7, 2)
    design_id = designer.mint_design(str(store.add(design_stl)), 500).value
    sim = GrblSimulator()
    said: list[str] = []
    try:
        loop = _grbl_loop(chain, tmp_path, sim.port, said)
        node_id = loop.machines["vp-1"].node_id
        funds = lambda: (shop.stake_of(shop.address), shop.token_balance(fab, shop.address),  # noqa: E731
                         shop.market_balance(fab, shop.address))
        before = funds()
        jobs = {  # all targeted at this node and sealed: unreadable, and so unestimated, until claimed
            "unseal": post(chain, cube_stl(8, 8, 2), sealed_to=generate_keypair().public_key, target_node=node_id),
            "royalty": post(chain, design_stl, sealed_to=loop.keys.public_key, target_node=node_id),
            "time": post(chain, cube_stl(8, 8, 2), sealed_to=loop.keys.public_key, target_node=node_id,
                         quantity=5000),
        }
        for _ in jobs:
            loop.tick()  # claims the next one, reads it, hands it back
        loop.tick()  # nothing left: a job handed back is never claimed again
        states = {kind: loop.state.job(job_id) for kind, job_id in jobs.items()}
        in_service = loop.machines["vp-1"].in_service
        loop.close()
    finally:
        sim.close()
    for kind, job_id in jobs.items():
        assert states[kind].phase == "handed_back", (kind, said)
        assert customer.job(job_id).status == JobStatus.OPEN, kind  # another node can take it
        assert sum(1 for s in said if s.startswith(f"job {job_id}: claimed for")) == 1, said
        assert any(s.startswith(f"job {job_id}: HANDED BACK (cannot make it: ") and "no penalty" in s
                   for s in said), said
    assert "cannot unseal" in states["unseal"].error
    assert f"is registered design #{design_id}, but the job names no design" in states["royalty"].error
    assert "time left" in states["time"].error and "x 5000 x time_margin" in states["time"].error
    assert funds() == before  # no FAB lost: handed back inside the hand-back window
    assert in_service and shop.node(node_id).active
    assert sim.executed == []  # nothing reached the machine


def test_collateral_worth_more_than_the_configured_share_of_the_payment_is_refused(chain, tmp_path: Path) -> None:
    job_id = post(chain, cube_stl(8, 8, 2))
    rec = chain["customer"].job(job_id)
    collateral = Decimal(rec.job.collateral) / 10**18
    price = Decimal(50) / collateral  # at this price the collateral is worth 50 fUSD: twice the 25 fUSD paid

    def loop_with(**node: object) -> JobLoop:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        return JobLoop(load_node_config(write_config(folder, chain, "/dev/null", **node)), say=lambda m: None)

    strict = loop_with(max_collateral_share="1.5", fab_prices={"fUSD": str(price)})
    with pytest.raises(JobRejected, match=r"worth 50(\.0*)? fUSD at .* fUSD/FAB, more than max_collateral_share 1\.5 "
                                          r"x the payment of 25 fUSD"):
        strict._check_terms(rec)
    lenient = loop_with(max_collateral_share="2.5", fab_prices={"fUSD": str(price)})
    lenient._check_terms(rec)  # within the share: no refusal
    unpriced = loop_with(max_collateral_share="1")
    with pytest.raises(JobRejected, match="fab_prices has no price of FAB in fUSD"):
        unpriced._check_terms(rec)
    for loop in (strict, lenient, unpriced):
        loop.close()
