"""`fabrica demo` (what `make demo` runs) on a devnet of its own: the main job on the v2 rules, a signed order taken
by the shop, gas per step; run twice, the second run recycles the first run's finished slot."""
from __future__ import annotations

from pathlib import Path

from fabrica.protocol.client import Fabrica
from fabrica.protocol.demo import run_demo
from fabrica.protocol.devnet import Devnet
from fabrica.protocol.types import JobStatus
from protocol_testkit import free_port


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
        assert first.balances["customer"]["change"] == "-37"  # 25 fUSD for the job, 12 for the order

        second = run_demo(tmp_path, port=port, say=lines.append)  # the devnet is up: it is reused
        assert any("recycled from a finished job" in line for line in lines)
        client = Fabrica.connect(second.rpc_url, deployments_dir=tmp_path / "deployments")
        again, earlier = client.job(second.job_id), client.job(first.job_id)
        assert again.job.key == earlier.job.key == first.job_id and again.status == JobStatus.SETTLED
        assert earlier.status == JobStatus.SETTLED  # still rebuilt from its events
        assert client.job(second.order_job_id).order_hash is not None
    finally:
        Devnet(tmp_path, port=port).down()
