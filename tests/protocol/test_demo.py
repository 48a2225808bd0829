"""`fabrica demo` (what `make demo` runs) on a devnet of its own: the main job on the v2 rules, a signed order taken
by the shop, the DAO's fee vote, a design sale and a bounty, gas per step; run twice, the second run recycles the
first run's finished slot and sells the design back."""
from __future__ import annotations

from pathlib import Path

from fabrica.protocol.client import Fabrica
from fabrica.protocol.demo import run_demo
from fabrica.protocol.devnet import Devnet
from fabrica.protocol.types import JobStatus
from protocol_testkit import free_port


def client_fee(report, home: Path) -> int:
    """The fee the job posted after the DAO's vote was charged, in basis points (from its on-chain record)."""
    return Fabrica.connect(report.rpc_url, deployments_dir=home / "deployments").job(report.next_job_id).job.fee_bps


def test_demo_runs_the_job_and_a_signed_order_and_reuses_slots(tmp_path: Path) -> None:
    port, lines = free_port(), []
    try:
        first = run_demo(tmp_path, port=port, say=lines.append)
        steps = {s["step"]: s for s in first.steps}
        assert {"customer posts job", "shop claims job", "shop delivers proof", "customer accepts",
                "shop takes signed order", "customer accepts order job"} <= set(steps)
        assert all(s["gas_used"] > 0 and s["tx_hash"].startswith("0x") for s in first.steps)
        assert first.lifecycle_gas == sum(steps[n]["gas_used"] for n in (
            "customer posts job", "shop claims job", "shop delivers proof", "customer accepts"))
        assert steps["shop takes signed order"]["value"] == first.order_job_id == 2
        assert any("(a fresh slot)" in line for line in lines)
        # 25 fUSD for the job, 12 for the order, 12 the next, 50 into the bounty
        assert first.balances["customer"]["change"] == "-99"
        # The DAO step: the proposal passed and was executed, and the job posted after it pays the new fee.
        assert (first.fee_bps_before, first.fee_bps_after) == (250, 200) and first.proposal_id > 0
        assert client_fee(first, tmp_path) == 200 and first.next_job_fee == "0.24"
        treasury_change = first.balances["treasury"]["change"]
        # 2.5 % of 25 and of 12, then 2 % of 12, then 2.5 % of the design's 50 fUSD sale: all paid to the timelock
        assert treasury_change == "2.415"
        # The design sale paid fee and the creator's royalty; the bounty paid 120 of its 150 and minted the winner.
        designer = first.balances["designer"]["address"]
        assert {k: first.sale[k] for k in ("seller", "buyer", "price", "fee", "royalty", "royalty_receiver")} == {
            "seller": "designer", "buyer": "collector", "price": "50", "fee": "1.25", "royalty": "2.5",
            "royalty_receiver": designer}
        assert first.bounty["pot_left"] == "30" and int(first.bounty["design_id"]) > 0
        assert first.bounty["royalty_receiver"] != designer  # a split with the sponsors

        second = run_demo(tmp_path, port=port, say=lines.append)  # the devnet is up: it is reused
        assert any("recycled from a finished job" in line for line in lines)
        client = Fabrica.connect(second.rpc_url, deployments_dir=tmp_path / "deployments")
        again, earlier = client.job(second.job_id), client.job(first.job_id)
        assert again.job.key == earlier.job.key == first.job_id and again.status == JobStatus.SETTLED
        assert earlier.status == JobStatus.SETTLED  # still rebuilt from its events
        assert client.job(second.order_job_id).order_hash is not None
        # The second run voted the fee back up; its next job paid 2.5 %.
        assert (second.fee_bps_before, second.fee_bps_after) == (200, 250) and second.next_job_fee == "0.3"
        # The collector sells the design back; the royalty still goes to its creator.
        assert (second.sale["seller"], second.sale["buyer"], second.sale["royalty_receiver"]) == \
            ("collector", "designer", designer)
        assert second.design_id == first.design_id and second.bounty["design_id"] != first.bounty["design_id"]
    finally:
        Devnet(tmp_path, port=port).down()
