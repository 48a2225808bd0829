"""Whole prints against OctoPrint's virtual Marlin printer on a pty, with faults injected.

The peer runs in .venv-peers (scripts/peers-setup.sh, run by `make install`); without it these tests fail.
"""
from __future__ import annotations

import threading
import time

import pytest
from peers.launch import virtual_printer

from fabrica.node_client.drivers import Driver, create_protocol
from fabrica.node_client.runner import PrintRunner
from fabrica.node_client.serial_transport import SerialTransport


SAFE_FAULTS = ["100:resend", "110:missing_lineno", "115:checksum_mismatch"]


def job(n: int, start: int = 0) -> list[str]:
    """Unique, fast moves (relative, tiny) so the printer's simulated motion takes no time."""
    return [f"G1 X0.{i % 9 + 1}{i:05d} Y0.1 E0.001 F6000" for i in range(start, start + n)]


def run_print(peer, commands, baud=250000, timeout=120, **options):
    transport = SerialTransport(peer.port, baud)
    driver = Driver(transport, create_protocol("marlin", **options), boot_wait=0.3)
    try:
        driver.connect(timeout=30)
        runner = PrintRunner(driver)
        return runner.run(commands, timeout=timeout), driver
    finally:
        driver.close()


def moves(peer) -> list[str]:
    return [line for line in peer.settled() if line.startswith("G1")]


# Faults not injected, because no host can pass them (they are the peer's quirks, read from its source):
# - `resend_with_timeout` marks the line accepted (lastN) without executing it and then drops the answer, so
#   the firmware never asks for it again: no host can deliver that line.
# - `!!DEBUG:trigger_resend_lineno|checksum|missing_checksum` make the printer ask again for its last accepted
#   line (expected=lastN), which is the !!DEBUG line itself; resending it re-arms the fault, an endless loop
#   for any host that honours Resend (OctoPrint included).


@pytest.mark.parametrize("baud", [115200, 250000])
def test_whole_print_with_resend_faults_delivers_every_line_once_in_order(tmp_path, baud):
    commands = job(3000 if baud == 250000 else 1200)
    with virtual_printer(tmp_path, baud=baud, simulated_errors=SAFE_FAULTS, rxBuffer=128) as peer:
        result, driver = run_print(peer, commands, baud=baud)
        assert result.ok, result
        assert moves(peer) == commands
        assert result.acked == len(commands) and result.resends >= 3
        assert driver.identity()["firmware"]["FIRMWARE_NAME"] == "Virtual Marlin 1.0"


@pytest.mark.parametrize(
    "settings",
    [
        {"okBeforeCommandOutput": True},
        {"sendBusy": True, "busyInterval": 0.2},
        {"forceChecksum": True},
        {"sendWait": True, "waitInterval": 0.3},
        {"okFormatString": "ok N{lastN} P15 B{buffer}", "capabilities": {"ADVANCED_OK": True}, "rxBuffer": 128},
    ],
    ids=["ok-before-output", "busy", "force-checksum", "wait", "advanced-ok"],
)
def test_firmware_variants(tmp_path, settings):
    commands = ["G28", "G4 P500", "M114", *job(800), "M400"]
    with virtual_printer(tmp_path, simulated_errors=SAFE_FAULTS, **settings) as peer:
        result, driver = run_print(peer, commands)
        assert result.ok, result
        executed = [c for c in peer.settled() if c.startswith(("G1", "G4", "G28", "M114", "M400"))]
        assert executed == commands
        if "okFormatString" in settings:
            assert driver.protocol.buffered_mode


def test_runtime_debug_faults_are_recovered(tmp_path):
    commands = job(300)
    faults = ["!!DEBUG:trigger_missing_lineno", "!!DEBUG:dont_answer", "!!DEBUG:send busy:processing", "!!DEBUG:action_pause"]
    stream = []
    for i, c in enumerate(commands):
        stream.append(c)
        if i % 60 == 30:
            stream.append(faults[(i // 60) % len(faults)])
    with virtual_printer(tmp_path, simulated_errors=[]) as peer:
        result, driver = run_print(peer, stream, ack_timeout=1.5)
        assert result.ok, result
        assert moves(peer) == commands
        assert any("no answer" in w or "`wait`" in w for w in result.warnings)  # dont_answer: recovered


def test_fatal_error_stops_the_print(tmp_path):
    commands = job(400)
    stream = commands[:100] + ["!!DEBUG:trigger_fatal_error_marlin"] + commands[100:]
    with virtual_printer(tmp_path, simulated_errors=[]) as peer:
        result, _ = run_print(peer, stream)
        assert not result.ok and result.state == "failed"
        assert "Thermal Runaway" in (result.reason or "")
        executed = moves(peer)
        assert executed == commands[: len(executed)] and len(executed) < 110


def test_emergency_stop_reaches_the_firmware_fast_with_a_full_queue(tmp_path):
    commands = job(5000)
    with virtual_printer(
        tmp_path, simulated_errors=SAFE_FAULTS, okFormatString="ok N{lastN} P15 B{buffer}", capabilities={"ADVANCED_OK": True}
    ) as peer:
        transport = SerialTransport(peer.port, 250000)
        driver = Driver(transport, create_protocol("marlin"), boot_wait=0.3)
        driver.connect(timeout=30)
        runner = PrintRunner(driver)
        out = {}
        thread = threading.Thread(target=lambda: out.setdefault("r", runner.run(commands, timeout=60)))
        thread.start()
        while driver.protocol.job_lines_acked < 200:
            time.sleep(0.01)
        t0 = time.monotonic()
        runner.emergency_stop()
        killed = None
        deadline = t0 + 10
        while killed is None and time.monotonic() < deadline:
            line = transport.read_line(0.005) or ""  # the runner stops reading once halted
            seen = [getattr(e, "text", "") for e in list(driver.log)] + [line]
            if any("EMERGENCY SHUTDOWN" in text for text in seen):
                killed = time.monotonic() - t0
        thread.join(10)
        driver.close()
        assert killed is not None and killed < 1.0  # generous for a loaded CI box; ~ms in practice
        result = out["r"]
        assert not result.ok and "emergency" in (result.reason or "")
        executed = moves(peer)
        assert executed == commands[: len(executed)] and len(executed) < 1000


def test_pause_resume_cancel(tmp_path):
    commands = job(2000)
    with virtual_printer(tmp_path, simulated_errors=[]) as peer:
        transport = SerialTransport(peer.port, 250000)
        driver = Driver(transport, create_protocol("marlin"), boot_wait=0.3)
        driver.connect(timeout=30)
        runner = PrintRunner(driver)
        out = {}
        thread = threading.Thread(target=lambda: out.setdefault("r", runner.run(commands, timeout=120)))
        thread.start()
        while driver.protocol.job_lines_acked < 100:
            time.sleep(0.01)
        runner.pause()
        time.sleep(0.3)
        held = driver.protocol.job_lines_acked
        time.sleep(0.5)
        assert driver.protocol.job_lines_acked == held  # nothing more streams while paused
        runner.resume()
        while driver.protocol.job_lines_acked < held + 200:
            time.sleep(0.01)
        runner.cancel()
        thread.join(30)
        driver.close()
        result = out["r"]
        assert result.state == "cancelled" and not result.ok
        assert moves(peer) == commands[: result.acked]


def test_temperature_polling_without_autoreport(tmp_path):
    caps = {"AUTOREPORT_TEMP": False}
    with virtual_printer(tmp_path, simulated_errors=[], capabilities=caps) as peer:
        transport = SerialTransport(peer.port, 250000)
        driver = Driver(transport, create_protocol("marlin", poll_interval=0.2), boot_wait=0.3)
        driver.connect(timeout=30)
        result = PrintRunner(driver).run(["M104 S200", "G4 P1000", *job(50)], timeout=60)
        driver.close()
        assert result.ok
        assert "T" in driver.protocol.temperatures and driver.protocol.temperatures["T"][1] == 200.0
        assert "M105" in peer.executed()
