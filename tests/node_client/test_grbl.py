"""GRBL: protocol state machine transcripts and whole jobs against our GRBL simulator on a pty."""
from __future__ import annotations

import threading
import time

import pytest
from peers.grbl_sim import GrblSimulator

from fabrica.node_client.drivers import Driver, create_protocol
from fabrica.node_client.events import Halted, Status
from fabrica.node_client.grbl import GrblProtocol, parse_status
from fabrica.node_client.runner import PrintRunner
from fabrica.node_client.serial_transport import SerialTransport


def started(**kw) -> GrblProtocol:
    p = GrblProtocol(status_interval=0, **kw)
    p.start(0)
    assert p.take_output() == b"$I\n"
    for line in ("[VER:1.1h.20190825:]", "[OPT:V,15,128]", "ok"):
        p.receive(line, 0)
    return p


def test_character_counting_keeps_rx_buffer_within_128_bytes():
    p = started()
    lines = [f"G1 X{i}.12345 Y{i}.54321 F1000" for i in range(20)]  # 30 bytes each with \n
    for c in lines:
        p.enqueue(c)
    p.tick(0.1)
    out = p.take_output()
    assert out.count(b"\n") == 4 and len(out) <= 127 and p.in_flight_bytes == len(out)
    p.receive("ok", 0.2)
    assert p.take_output() == (lines[4] + "\n").encode()
    assert p.job_lines_acked == 1


def test_realtime_commands_bypass_the_count():
    p = started()
    p.enqueue("G1 X1 F100")
    p.tick(0)
    p.take_output()
    p.pause()
    assert p.take_output() == b"!"
    p.resume(1)
    assert p.take_output() == b"~"
    assert p.emergency_stop() == b"\x18" and p.halted
    q = GrblProtocol(status_interval=0.2)
    q.start(0)
    q.take_output()
    q.tick(0.3)
    assert q.take_output() == b"?"


def test_status_report_parsing():
    s = parse_status("<Hold:0|MPos:1.000,2.000,3.000|Bf:15,128|FS:500,0|WCO:0.000,0.000,0.000>")
    assert s.state == "Hold:0" and s.fields["MPos"] == "1.000,2.000,3.000" and s.fields["Bf"] == "15,128"
    assert parse_status("<Idle,MPos:0.000,0.000,0.000,WPos:0.000,0.000,0.000>").fields["WPos"] == "0.000,0.000,0.000"
    assert parse_status("ok") is None


def test_error_and_alarm_stop_with_feed_hold():
    p = started()
    for c in ("G1 X1 F100", "G99", "G1 X2"):
        p.enqueue(c)
    p.tick(0)
    p.take_output()
    p.receive("ok", 0)
    ev = p.receive("error:20", 0)
    assert p.halted and isinstance(ev[-1], Halted) and "unsupported or invalid g-code" in ev[-1].reason
    assert "'G99'" in ev[-1].reason and p.take_output() == b"!"
    q = started()
    ev = q.receive("ALARM:1", 0)
    assert q.halted and "hard limit" in ev[-1].reason
    q.unlock(1)
    assert q.take_output() == b"$X\n" and not q.halted


def test_opt_line_sets_rx_size_and_banner_mid_job_halts():
    p = started()
    p.receive("[OPT:VL,35,255]", 0)
    assert p.rx_size == 255 and p.capabilities["OPT_L"]
    p.enqueue("G1 X1")
    p.tick(0)
    ev = p.receive("Grbl 1.1h ['$' for help]", 1)
    assert p.halted and any(isinstance(e, Halted) for e in ev)


def test_late_boot_banner_resends_the_lost_host_commands():
    # the board was still resetting (DTR) when `$I` went out: GRBL never saw it, so it is sent again
    p = GrblProtocol(status_interval=0)
    p.start(0)
    assert p.take_output() == b"$I\n"
    ev = p.receive("Grbl 1.1h ['$' for help]", 0.5)
    assert not p.halted and any("again" in getattr(e, "text", "") for e in ev)
    assert p.take_output() == b"$I\n" and p.in_flight_bytes == 3
    for line in ("[VER:1.1h.20190825:]", "[OPT:V,15,128]", "ok"):
        p.receive(line, 0.6)
    assert p.idle and p.firmware["VERSION"] == "1.1h.20190825"


def test_silence_with_lines_in_flight_halts():
    p = started(ack_timeout=2)
    p.enqueue("G1 X1")
    p.tick(0)
    assert not p.tick(1.5)
    ev = p.tick(3)
    assert p.halted and ev[-1].timeout


# ---- against the simulator ----------------------------------------------------------------------------------


def connect(sim: GrblSimulator, **options) -> Driver:
    transport = SerialTransport(sim.port, sim.baud)
    driver = Driver(transport, create_protocol("grbl", **options), boot_wait=0.3)
    driver.connect(timeout=20)
    return driver


def cnc_job(n: int) -> list[str]:
    return [f"G1 X{i % 100}.{i % 997:03d} Y{(i * 7) % 100}.5 F1200" for i in range(n)]


@pytest.fixture
def sim():
    s = GrblSimulator(baud=115200)
    yield s
    s.close()


def test_whole_job_streams_every_line_once_without_overflow(sim):
    job = cnc_job(800)
    sim.line_time = 0.004  # slower than the wire, so GRBL's buffer fills up
    driver = connect(sim, status_interval=0.1)
    assert driver.identity()["firmware"]["VERSION"] == "1.1h.20190825"
    result = PrintRunner(driver).run(job, timeout=120)
    driver.close()
    assert result.ok, result
    assert sim.executed == job
    assert not sim.overflow and sim.max_rx > 80  # the buffer was actually filled, never overrun
    assert b"?" in sim.received_realtime and isinstance(driver.protocol.status, Status)


def test_error_stops_job_and_locked_machine_unlocks(sim):
    job = cnc_job(200)
    sim.fail_on(job[50], "error:33")
    driver = connect(sim)
    result = PrintRunner(driver).run(job, timeout=60)
    assert not result.ok and "error:33" in result.reason and "invalid target" in result.reason
    assert sim.executed == job[:50] + job[51 : 51 + len(sim.executed) - 50]
    assert len(sim.executed) < 60  # only what was already in GRBL's buffer
    driver.close()
    locked = GrblSimulator(locked=True)
    try:
        driver = connect(locked)
        driver.unlock()
        result = PrintRunner(driver).run(cnc_job(20), timeout=60)
        driver.close()
        assert result.ok and locked.executed == cnc_job(20)
    finally:
        locked.close()


def test_feed_hold_resume_and_soft_reset(sim):
    job = cnc_job(3000)
    sim.line_time = 0.002
    driver = connect(sim)
    runner = PrintRunner(driver)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", runner.run(job, timeout=120)))
    thread.start()
    while len(sim.executed) < 100:
        time.sleep(0.01)
    runner.pause()
    time.sleep(0.3)
    held = len(sim.executed)
    time.sleep(0.4)
    assert len(sim.executed) == held and sim.hold
    runner.resume()
    while len(sim.executed) < held + 100:
        time.sleep(0.01)
    t0 = time.monotonic()
    runner.emergency_stop()
    while b"\x18" not in sim.received_realtime and time.monotonic() - t0 < 5:
        time.sleep(0.001)
    assert time.monotonic() - t0 < 1.0  # on the wire behind at most 127 buffered bytes (~11 ms at 115200)
    thread.join(30)
    result = out["r"]
    assert not result.ok and "Ctrl-X" in result.reason
    assert sim.executed == job[: len(sim.executed)]
    driver.close()
