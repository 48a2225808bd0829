"""Node telemetry reaching a real gateway: `fabrica node run --gateway URL` prints a job on OctoPrint's virtual
Marlin printer and its signed samples and log lines arrive at `fabrica gateway serve` (over HTTP on loopback,
its index following the devnet), readable by the job's customer. The pusher on its own, fed samples recorded
from a real print: it waits out a gateway that does not know the node yet, keeps its sequence numbers
increasing across restarts (and recovers from a lost counter), and never makes the print loop wait.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from peers.launch import virtual_printer
from test_jobloop import PRINTER, post, write_config
from test_slicer import cube_stl
from test_virtual_printer import job as moves_job
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_testkit import GatewayProcess, free_port, sign_in  # noqa: E402

from fabrica.indexer.sync import Indexer, IndexerConfig  # noqa: E402
from fabrica.node_client.cli import app  # noqa: E402
from fabrica.node_client.drivers import Driver, create_protocol  # noqa: E402
from fabrica.node_client.runner import PrintRunner  # noqa: E402
from fabrica.node_client.serial_transport import SerialTransport  # noqa: E402
from fabrica.node_client.telemetry_push import TelemetryPusher  # noqa: E402
from fabrica.protocol.accounts import DEV_ROLES, dev_account  # noqa: E402
from fabrica.protocol.types import Material, ProcessKind  # noqa: E402

SHOP = dev_account(DEV_ROLES["shop"])
CUSTOMER = dev_account(DEV_ROLES["customer"])


@contextmanager
def following_index(db_url: str, chain: dict, every: float = 0.2) -> Iterator[Indexer]:
    """The indexer mirroring the devnet into `db_url` now and every `every` seconds until the block ends."""
    net = chain["net"]
    deployment = chain["base"].deployment
    ix = Indexer(db_url, net.rpc_url, deployment, IndexerConfig(confirmations=0))
    ix.sync()
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(every):
            ix.sync()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield ix
    finally:
        stop.set()
        thread.join(30)
        ix.close()


def index_once(db_url: str, chain: dict) -> None:
    with Indexer(db_url, chain["net"].rpc_url, chain["base"].deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()


@contextmanager
def gateway(tmp_path: Path, chain: dict, *, follow: bool = True,
            env: dict[str, str] | None = None) -> Iterator[tuple[GatewayProcess, str]]:
    """`fabrica gateway serve` over an index of the devnet (followed live unless `follow` is False)."""
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    if follow:
        with following_index(db_url, chain), GatewayProcess(db_url, chain["home"], chain["net"].rpc_url,
                                                            env=env) as gw:
            yield gw, db_url
    else:
        index_once(db_url, chain)
        with GatewayProcess(db_url, chain["home"], chain["net"].rpc_url, env=env) as gw:
            yield gw, db_url


def read_all(client: httpx.Client, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        r = client.get(path, params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def test_node_run_pushes_print_telemetry_that_the_customer_reads_at_the_gateway(chain, tmp_path) -> None:
    job_id = post(chain, cube_stl(8, 8, 2))
    with gateway(tmp_path, chain) as (gw, _db), virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        config = write_config(tmp_path, chain, peer.port)
        result = CliRunner().invoke(app, ["run", "--config", str(config), "--max-jobs", "1", "--gateway", gw.url])
        assert result.exit_code == 0, result.output
        assert f"job {job_id}: delivered" in result.output
        node_id = chain["customer"].job(job_id).node_id
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            sign_in(client, CUSTOMER.key)
            samples = read_all(client, f"/v1/jobs/{job_id}/telemetry")
            logs = read_all(client, f"/v1/jobs/{job_id}/logs")
            client.cookies.clear()
            sign_in(client, SHOP.key)
            by_node = read_all(client, f"/v1/nodes/{node_id}/telemetry")
    assert samples and by_node == samples
    assert {s["node_id"] for s in samples} == {node_id} and {s["machine"] for s in samples} == {"vp-1"}
    # What the virtual printer reported: targets 215/60 °C at a 230 °C ambient, heater power `@:64` of 127.
    assert any(s["hotend_target"] == 215.0 for s in samples)
    assert any(s["hotend_duty"] == round(64 / 127, 4) for s in samples)
    assert samples[-1]["progress"] == 1.0 and samples[-1]["state"] == "done"
    assert [s["at"] for s in samples] == sorted(s["at"] for s in samples)
    assert len({s["seq"] for s in samples}) >= 1 and all(s["error"] is None for s in samples)
    lines = [x["line"] for x in logs]
    assert lines[0].startswith("attempt 1: printing") and any(ln.startswith("attempt 1 done") for ln in lines)
    assert lines[-1].startswith("delivered, proof ")
    # The local print log and the gateway agree on how many samples the print produced.
    seq = json.loads((tmp_path / "telemetry-seq.json").read_text())
    assert int(seq[str(node_id)]) == max(s["seq"] for s in samples)


def recorded_print(tmp_path: Path) -> list:
    """Progress snapshots of a real print on the virtual printer (about 20 per second)."""
    snaps: list = []
    with virtual_printer(tmp_path, baud=250000, ambientTemperature=215.0) as peer:
        driver = Driver(SerialTransport(peer.port, 250000), create_protocol("marlin", poll_interval=0.2),
                        boot_wait=0.3)
        try:
            driver.connect(timeout=30)
            runner = PrintRunner(driver, on_progress=snaps.append, progress_interval=0.05)
            assert runner.run(["M104 S215", "M140 S60", *moves_job(600)], timeout=60).ok
        finally:
            driver.close()
    assert len(snaps) > 5 and any(p.heater_power for p in snaps)
    return snaps


def test_pusher_waits_for_the_index_keeps_sequence_and_never_blocks(chain, tmp_path) -> None:
    snaps = recorded_print(tmp_path)
    shop = chain["shop"]
    seq_file = tmp_path / "seq" / "telemetry-seq.json"
    # The gateway takes at most 20 samples a batch: the pusher's 50 are refused (413) until it halves them.
    with gateway(tmp_path, chain, follow=False, env={"FABRICA_GATEWAY_TELEMETRY_MAX_SAMPLES": "20"}) as (gw, db_url):
        # A node registered after the gateway's last index: the gateway answers 404 until the indexer sees it.
        node_id = shop.register_node(processes=ProcessKind.FDM, materials=Material.PLA, build_volume_mm=(200, 200, 200),
                                     encryption_key=b"\x11" * 32,
                                     metadata_cid=str(chain["store"].add(b"telemetry test node"))).value
        pusher = TelemetryPusher(gw.url, SHOP, 31337, seq_file, interval=0.2, max_samples=50)
        for p in snaps:
            pusher.record(node_id, "vp-2", p, job_id=None)
        pusher.log(node_id, "vp-2", "recorded print replayed")
        deadline = time.monotonic() + 15
        while pusher.stats()["retries"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pusher.stats()["retries"] >= 1 and "404" in pusher.stats()["last_error"]
        index_once(db_url, chain)
        assert pusher.flush(30), pusher.stats()
        first = pusher.stats()
        pusher.close()
        assert first["sent_samples"] == len(snaps) and first["sent_logs"] == 1 and first["rejected_batches"] == 0
        assert pusher.max_samples <= 20
        last_seq = json.loads(seq_file.read_text())[str(node_id)]

        # A restart continues above the stored number.
        again = TelemetryPusher(gw.url, SHOP, 31337, seq_file, interval=0.2)
        again.record(node_id, "vp-2", snaps[-1], job_id=None)
        assert again.flush(15), again.stats()
        again.close()
        assert json.loads(seq_file.read_text())[str(node_id)] > last_seq

        # A lost counter behind the gateway's (the file gone, the last number ahead of the clock): the gateway's
        # `replayed` answer names its last number and the pusher continues above it.
        ahead = int(time.time() * 1000) + 10_000_000
        seq_file.write_text(json.dumps({str(node_id): ahead}))
        ahead_pusher = TelemetryPusher(gw.url, SHOP, 31337, seq_file, interval=0.2)
        ahead_pusher.record(node_id, "vp-2", snaps[-1], job_id=None)
        assert ahead_pusher.flush(15), ahead_pusher.stats()
        ahead_pusher.close()
        seq_file.unlink()
        lost = TelemetryPusher(gw.url, SHOP, 31337, seq_file, interval=0.2)
        lost.record(node_id, "vp-2", snaps[-1], job_id=None)
        assert lost.flush(15), lost.stats()
        lost.close()
        assert lost.stats()["rejected_batches"] == 0
        assert json.loads(seq_file.read_text())[str(node_id)] == ahead + 2

        with httpx.Client(base_url=gw.url, timeout=10) as client:
            sign_in(client, SHOP.key)
            stored = read_all(client, f"/v1/nodes/{node_id}/telemetry")
    assert len(stored) == len(snaps) + 3
    assert [s["progress"] for s in stored[:len(snaps)]] == [round(p.fraction, 4) for p in snaps]
    assert any(s["hotend_duty"] == round(64 / 127, 4) for s in stored)


def test_recording_never_waits_for_an_unreachable_gateway(tmp_path) -> None:
    from fabrica.node_client.runner import Progress

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    pusher = TelemetryPusher(dead, SHOP, 31337, tmp_path / "seq.json", interval=0.01, max_samples=10, max_queue=100,
                             timeout=2)
    snap = Progress(5, 10, 1.0, {"T": (200.0, 215.0), "B": (60.0, 60.0)}, "printing", {"T": 0.5, "B": 0.1})
    worst = 0.0
    for _ in range(5000):
        t = time.perf_counter()
        pusher.record(1, "vp-1", snap, job_id=3)
        worst = max(worst, time.perf_counter() - t)
    stats = pusher.stats()
    assert worst < 0.05, f"a record() call took {worst * 1000:.1f} ms"
    # The queue keeps the newest 100 (and at most one batch of 10 in flight); everything older was dropped, counted.
    assert stats["queued_samples"] <= 110 and stats["dropped_samples"] >= 5000 - 110
    deadline = time.monotonic() + 10
    while pusher.stats()["retries"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pusher.stats()["sent_batches"] == 0 and "unreachable" in pusher.stats()["last_error"]
    said: list[str] = []
    pusher.say = said.append
    t = time.monotonic()
    pusher.close(timeout=0.5)
    assert time.monotonic() - t < 5 and "not delivered" in said[-1]


@pytest.fixture(autouse=True)
def _no_env_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FABRICA_GATEWAY_URL", raising=False)
