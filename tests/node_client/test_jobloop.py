"""The job loop end to end: a real anvil devnet, the real content store, PrusaSlicer, OctoPrint's virtual printer.

A customer posts a job with an STL; `fabrica node run` registers the machine, claims the job, slices, prints
on the virtual printer behind a pty and delivers its print log as proof; the customer accepts. A second test
kills the loop in the middle of a print and restarts it: the job is printed again and delivered once, and
claimed once; a third does the same to `fabrica node run` as its own process with SIGKILL. The peers are real
(anvil from npm, .venv-peers for the printer, prusa-slicer from Debian).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peers.grbl_sim import GrblSimulator
from peers.launch import virtual_printer
from test_slicer import cube_stl
from typer.testing import CliRunner

from fabrica.node_client import gcode
from fabrica.node_client.cli import app
from fabrica.node_client.config import load_node_config
from fabrica.node_client.jobloop import JobLoop
from fabrica.node_client.state import NodeState
from fabrica.protocol.client import Fabrica
from fabrica.protocol.storage import LocalContentStore, seal
from fabrica.protocol.types import JobSpec, JobStatus, Material, ProcessKind, SpecFile

FAB = 10**18
# The virtual printer heats at 10 °C/s in real time; an ambient above the targets makes M109/M190 instant.
# Its faults are named explicitly: OctoPrint's default list also holds `105:resend_with_timeout`, which marks a
# line accepted without executing it (no host can pass it; see test_virtual_printer.py).
PRINTER = {"ambientTemperature": 230.0, "simulated_errors": ["100:resend", "110:missing_lineno", "115:checksum_mismatch"]}


def post(chain: dict, stl: bytes, material: Material = Material.PLA, name: str = "cube.stl",
         sealed_to: bytes | None = None, *, target_node: int = 0, quantity: int = 1,
         delivery_window: int = 3 * 86_400, collateral: int | None = None, design_id: int = 0) -> int:
    """A customer's job for one part (sealed to `sealed_to` when given); collateral None: the market's minimum."""
    customer: Fabrica = chain["customer"]
    store: LocalContentStore = chain["store"]
    payload = seal(stl, sealed_to) if sealed_to else stl
    part_cid = str(store.add(payload))
    spec = JobSpec(title="test cube", process=ProcessKind.FDM, material=material, quantity=quantity,
                   files=[SpecFile(cid=part_cid, name=name, role="model", size=len(stl), sealed=bool(sealed_to))])
    spec_cid = str(store.add(spec.to_json_bytes()))
    return customer.post_job(token=customer.deployment.payment_tokens["fUSD"], amount=25_000_000, spec_cid=spec_cid,
                             design_id=design_id, claim_by=customer.now() + 86_400, delivery_window=delivery_window,
                             collateral=collateral, target_node=target_node).value


def toml_value(v: object) -> str:
    """A TOML value: JSON's form for strings, numbers, booleans and lists; an inline table for a dict."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def write_config(tmp: Path, chain: dict, port: str, machine: dict | None = None, **node: object) -> Path:
    opts = {"poll_interval": 0.2, "state_db": str(tmp / "state.sqlite"),
            "encryption_key_file": str(tmp / "node.key"), **node}
    fields = {"name": "vp-1", "port": port, "baud": 250000, "profile": "generic-fdm-250", "boot_wait": 0.3,
              "print_timeout": 120, **(machine or {})}
    text = (f'[fabrica]\nrpc_url = "{chain["net"].rpc_url}"\nhome = "{chain["home"]}"\naccount = "shop"\n\n[node]\n'
            + "".join(f"{k} = {toml_value(v)}\n" for k, v in opts.items())
            + "\n[[machines]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))
    path = tmp / "node.toml"
    path.write_text(text)
    return path


def moves(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln.startswith("G1")]


def test_customer_posts_node_prints_delivers_customer_accepts(chain, tmp_path) -> None:
    customer: Fabrica = chain["customer"]
    stl = cube_stl(8, 8, 2)
    job_id = post(chain, stl)
    too_big = post(chain, cube_stl(300, 10, 10))
    wrong_material = post(chain, cube_stl(5, 5, 5), Material.ABS)
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        config = write_config(tmp_path, chain, peer.port)
        result = CliRunner().invoke(app, ["run", "--config", str(config), "--max-jobs", "1"])
        executed = peer.settled()
    assert result.exit_code == 0, result.output
    assert f"job {job_id}: delivered" in result.output

    record = customer.job(job_id)
    assert record.status == JobStatus.DELIVERED and record.node_id is not None
    log = json.loads(chain["store"].get(record.proof_cid))  # the proof, verified against its CID
    assert log["schema"] == "fabrica.print-log/1" and log["job_id"] == job_id
    assert log["slicing"]["slicer"].startswith("PrusaSlicer-2.") and len(log["slicing"]["config_sha256"]) == 64
    assert log["slicing"]["profile"] == "generic-fdm-250"
    (attempt,) = log["attempts"]
    assert attempt["ok"] is True and attempt["result"]["acked"] == log["gcode_lines"]
    assert attempt["telemetry"] and attempt["telemetry"][-1]["temperatures"]["T"][1] == 215.0
    assert attempt["result"]["firmware"]["FIRMWARE_NAME"] == "Virtual Marlin 1.0"
    # Every G-code move the slicer produced reached the printer once, in order.
    sliced = (tmp_path / "jobs" / str(job_id) / "job.gcode").read_text()
    assert moves(executed) == moves([c for c in map(gcode.clean, sliced.splitlines()) if c])

    node = customer.node(record.node_id)
    assert node.operator == chain["shop"].address and node.build_volume_mm == (250, 210, 220)
    assert customer.job(too_big).status == JobStatus.OPEN and customer.job(wrong_material).status == JobStatus.OPEN
    state = NodeState(tmp_path / "state.sqlite")
    skipped = state.skipped()
    assert "along X" in skipped[too_big] and "ABS" in skipped[wrong_material]
    assert state.job(job_id).phase == "delivered" and state.job(job_id).proof_cid == record.proof_cid
    state.close()

    # The telemetry kept locally is readable without SQL (what the gateway will collect).
    shown = CliRunner().invoke(app, ["jobs", "--config", str(config), "--job", str(job_id), "--json"])
    assert shown.exit_code == 0, shown.output
    local = json.loads(shown.stdout)
    assert local["phase"] == "delivered" and local["proof_cid"] == record.proof_cid
    assert local["print_logs"][0]["ok"] is True and local["print_logs"][0]["telemetry"]
    listed = CliRunner().invoke(app, ["jobs", "--config", str(config), "--json"])
    assert [j["job_id"] for j in json.loads(listed.stdout)] == [job_id]
    missing = CliRunner().invoke(app, ["jobs", "--config", str(config), "--job", "999"])
    assert missing.exit_code == 1 and "not in this node's state" in missing.output

    customer.accept_job(job_id)
    assert customer.job(job_id).status == JobStatus.SETTLED


class Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing in the loop may swallow it)."""


def test_crash_mid_print_restart_reprints_and_delivers_once(chain, tmp_path) -> None:
    shop: Fabrica = chain["shop"]
    # The node registered in advance so the customer can seal a private design to its key, in a job targeted at it.
    config = write_config(tmp_path, chain, "/dev/null")
    first = JobLoop(load_node_config(config), threaded=False, say=lambda m: None)
    public_key = first.keys.public_key
    (node_id,) = first.register().values()
    first.state.close()
    assert bytes(shop.node(node_id).encryption_key) == public_key
    job_id = post(chain, cube_stl(8, 8, 2), sealed_to=public_key, target_node=node_id)

    samples = {"n": 0}
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        cfg = load_node_config(write_config(tmp_path, chain, peer.port))
        loop = JobLoop(cfg, threaded=False, say=lambda m: None, telemetry_interval=0.1)
        add = loop.state.add_telemetry

        def dying_telemetry(*args, **kwargs):
            add(*args, **kwargs)
            samples["n"] += 1
            if samples["n"] == 5:
                raise Crash

        loop.state.add_telemetry = dying_telemetry  # the process dies in the middle of the print
        loop.register()
        loop.reconcile()
        with pytest.raises(Crash):
            loop.tick()
        partial = moves(peer.settled())
        loop.state.close()
    state = NodeState(cfg.state_db)
    assert state.job(job_id).phase == "printing"
    state.close()
    assert shop.job(job_id).status == JobStatus.CLAIMED

    said: list[str] = []
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:  # the printer was power-cycled
        cfg = load_node_config(write_config(tmp_path, chain, peer.port))
        loop = JobLoop(cfg, threaded=False, say=said.append)
        loop.register()
        loop.reconcile()
        loop.tick()
        loop.tick()  # nothing more to do: no second claim, no second delivery
        executed = moves(peer.settled())
    assert loop.delivered == [job_id], said
    assert not any("claimed for" in s for s in said), said
    record = shop.job(job_id)
    assert record.status == JobStatus.DELIVERED
    log = json.loads(chain["store"].get(record.proof_cid))
    assert [(a["attempt"], a["ok"], a["state"]) for a in log["attempts"]] == [(1, False, "interrupted"), (2, True, "done")]
    assert log["design"]["sealed"] is True
    sliced = (tmp_path / "jobs" / str(job_id) / "job.gcode").read_text()
    assert executed == moves([c for c in map(gcode.clean, sliced.splitlines()) if c])  # each once, in order
    assert 0 < len(partial) < len(executed)
    claims = shop.w3.eth.get_logs({"address": shop.market.address, "fromBlock": 0, "toBlock": "latest",
                                   "topics": [None, "0x" + job_id.to_bytes(32, "big").hex()]})
    names = [e.name for e in shop.decode_logs(claims)]
    assert names.count("JobClaimed") == 1 and names.count("JobDelivered") == 1
    history = [to for _, to, _ in loop.state.history(job_id)]
    assert history == ["claimed", "fetched", "sliced", "printing", "sliced", "printing", "printed", "delivered"]


def test_sigkill_mid_print_then_restart_delivers_once(chain, tmp_path) -> None:
    """`fabrica node run` as its own process, killed with SIGKILL mid-print (no cleanup runs), then restarted."""
    shop: Fabrica = chain["shop"]
    job_id = post(chain, cube_stl(10, 10, 3))
    fabrica = str(Path(sys.executable).parent / "fabrica")
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        config = write_config(tmp_path, chain, peer.port)
        proc = subprocess.Popen([fabrica, "node", "run", "--config", str(config)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while len(moves(peer.executed())) < 20:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the print never started"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        partial = moves(peer.settled())
    state = NodeState(tmp_path / "state.sqlite")
    assert state.job(job_id).phase == "printing"  # the kill left the job mid-print, as a power cut would
    state.close()
    assert shop.job(job_id).status == JobStatus.CLAIMED

    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:  # the printer was power-cycled
        config = write_config(tmp_path, chain, peer.port)
        done = subprocess.run([fabrica, "node", "run", "--config", str(config), "--max-jobs", "1"],
                              capture_output=True, text=True, timeout=240)
        executed = moves(peer.settled())
    assert done.returncode == 0, done.stdout + done.stderr
    record = shop.job(job_id)
    assert record.status == JobStatus.DELIVERED
    sliced = (tmp_path / "jobs" / str(job_id) / "job.gcode").read_text()
    assert executed == moves([c for c in map(gcode.clean, sliced.splitlines()) if c])  # each once, in order
    assert 0 < len(partial) < len(executed)
    log = json.loads(chain["store"].get(record.proof_cid))
    assert [(a["attempt"], a["ok"], a["state"]) for a in log["attempts"]] == [(1, False, "interrupted"), (2, True, "done")]
    claims = shop.w3.eth.get_logs({"address": shop.market.address, "fromBlock": 0, "toBlock": "latest",
                                   "topics": [None, "0x" + job_id.to_bytes(32, "big").hex()]})
    names = [e.name for e in shop.decode_logs(claims)]
    assert names.count("JobClaimed") == 1 and names.count("JobDelivered") == 1


def test_machine_failure_retries_then_abandons_loudly_and_exits_with_no_machine_left(chain, tmp_path) -> None:
    """A machine that answers but fails every print: retried, abandoned loudly, never delivered, and `node run`
    then stops with one line instead of running on with no usable machine."""
    job_id = post(chain, cube_stl(8, 8, 2))
    sim = GrblSimulator(locked=True)  # answers `$I`, refuses every G-code line with error:9 (alarm lock)
    try:
        config = write_config(tmp_path, chain, sim.port, machine={"firmware": "grbl", "baud": 115200},
                              max_attempts=2)
        started = time.monotonic()
        result = CliRunner().invoke(app, ["run", "--config", str(config)])
        took = time.monotonic() - started
    finally:
        sim.close()
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].startswith("error: no usable machine left: vp-1 is out of service")
    assert "Traceback" not in result.output and took < 120
    state = NodeState(tmp_path / "state.sqlite")
    job = state.job(job_id)
    assert job.phase == "abandoned", result.output
    assert job.attempts == 2 and "gave up after 2 attempt(s)" in job.error and "error:9" in job.error
    assert [log["ok"] for log in state.print_logs(job_id)] == [False, False]
    state.close()
    assert "ABANDONED" in result.output
    record = chain["shop"].job(job_id)
    assert record.status == JobStatus.CLAIMED and record.proof_cid is None  # never delivered
    assert chain["shop"].node(record.node_id).active is False  # taken out of service, not slashed silently


def test_config_errors_name_the_field(tmp_path) -> None:
    from fabrica.node_client.errors import NodeConfigError

    bad = tmp_path / "node.toml"
    bad.write_text('[[machines]]\nname = "m"\nport = "/dev/x"\nfirmware = "klipper"\n')
    with pytest.raises(NodeConfigError, match="machines.0.firmware"):
        load_node_config(bad)
    bad.write_text('[[machines]]\nname = "m"\nport = "/dev/x"\nmaterials = ["ABS"]\n')
    with pytest.raises(NodeConfigError, match="ABS has no settings in profile 'generic-fdm-250'"):
        load_node_config(bad)  # found when the file is read, not when a job comes
    bad.write_text('[node]\npoll_interval = 1\n')
    with pytest.raises(NodeConfigError, match=r"\[\[machines\]\]"):
        load_node_config(bad)
    result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "does not exist" in result.output
