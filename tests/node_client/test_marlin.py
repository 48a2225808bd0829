"""Marlin protocol state machine: scripted transcripts and a randomized in-memory firmware model."""
from __future__ import annotations

import random
import re

import pytest

from fabrica.node_client import events as marlin
from fabrica.node_client.gcode import checksum, clean, frame
from fabrica.node_client.marlin import MarlinProtocol, State, parse_temperatures


def out_lines(p: MarlinProtocol) -> list[str]:
    return [x for x in p.take_output().decode().split("\n") if x]


def started(**kw) -> MarlinProtocol:
    p = MarlinProtocol(**kw)
    p.start(0.0)
    assert out_lines(p) == ["N0 M110 N0*125"]
    p.receive("ok", 0.1)
    assert out_lines(p) == [frame(1, "M115").decode().strip()]
    p.receive("FIRMWARE_NAME:Marlin 2.1 PROTOCOL_VERSION:1.0 MACHINE_TYPE:Test", 0.2)
    p.receive("Cap:EEPROM:1", 0.2)
    p.receive("ok", 0.2)
    assert out_lines(p) == []
    return p


def test_checksum_and_framing():
    assert checksum(b"N0 M110 N0") == 125
    assert frame(5, "G28") == b"N5 G28*22\n"
    assert clean("  G1 X1 ; move") == "G1 X1"
    assert clean("N12 G1 X2*99") == "G1 X2"
    assert clean("; only a comment") == ""


def test_pingpong_transcript_and_firmware_report():
    p = started()
    assert p.firmware["FIRMWARE_NAME"] == "Marlin 2.1" and p.firmware["MACHINE_TYPE"] == "Test"
    assert p.capabilities == {"EEPROM": True}
    for c in ("G28", "G1 X1", "G1 X2"):
        p.enqueue(c)
    p.resume(0.3)  # no-op when streaming, but pumps nothing: pump happens on next event
    p.tick(0.3)
    assert out_lines(p) == ["N2 G28*17"]
    p.receive("echo:busy: processing", 0.4)
    assert out_lines(p) == []
    p.receive("ok", 0.5)
    assert out_lines(p) == [frame(3, "G1 X1").decode().strip()]
    p.receive("ok", 0.6)
    p.take_output()
    p.receive("ok", 0.7)
    assert p.idle and p.job_lines_acked == 3 == p.job_lines_total


def test_resend_rewinds_to_the_asked_line_in_pingpong():
    p = started()
    for i in range(5):
        p.enqueue(f"G1 X{i}")
    p.tick(1)
    assert out_lines(p) == [frame(2, "G1 X0").decode().strip()]
    p.receive("ok", 1)
    assert out_lines(p) == [frame(3, "G1 X1").decode().strip()]
    p.receive("Error:checksum mismatch, Last Line: 2", 1)
    ev = p.receive("Resend: 3", 1)
    assert any(isinstance(e, marlin.Warning) for e in ev)
    assert out_lines(p) == []  # the ok that follows the resend request frees the slot
    p.receive("ok", 1)
    assert out_lines(p) == [frame(3, "G1 X1").decode().strip()]
    p.receive("ok", 1)
    assert out_lines(p) == [frame(4, "G1 X2").decode().strip()]


def test_rs_form_and_error_without_ok():
    p = started()
    for i in range(3):
        p.enqueue(f"G1 Y{i}")
    p.tick(1)
    p.take_output()
    p.receive("ok", 1)
    assert out_lines(p) == [frame(3, "G1 Y1").decode().strip()]
    # OctoPrint's virtual printer: no Resend, no ok after this error
    p.receive("Error: No Line Number with checksum, Last Line: 2", 1)
    assert out_lines(p) == [frame(3, "G1 Y1").decode().strip()]
    # a real Marlin would add Resend + ok for the same error: absorbed
    p.receive("Resend: 3", 1)
    p.receive("ok", 1)
    assert out_lines(p) == []
    p.receive("ok", 1)
    assert out_lines(p) == [frame(4, "G1 Y2").decode().strip()]
    p.receive("rs N4", 1)
    p.receive("ok", 1)
    assert out_lines(p) == [frame(4, "G1 Y2").decode().strip()]


def test_resend_of_unknown_future_line_halts():
    p = started()
    ev = p.receive("Resend: 99", 1)
    assert p.state is State.HALTED and any(isinstance(e, marlin.Halted) for e in ev)


@pytest.mark.parametrize(
    "line",
    ["Error:Printer halted. kill() called!", "!! Lost communication with MCU 'mcu'", "fatal: Heater/sensor error",
     "Error:Thermal Runaway, system stopped! Heater_ID: bed", "Error: MINTEMP triggered!"],
)
def test_fatal_errors_stop_streaming(line):
    p = started()
    for i in range(10):
        p.enqueue(f"G1 Z{i}")
    p.tick(1)
    p.take_output()
    ev = p.receive(line, 1)
    assert p.state is State.HALTED and isinstance(ev[-1], marlin.Halted)
    p.receive("ok", 1)
    p.tick(100)
    assert out_lines(p) == []


def test_unknown_command_is_not_fatal():
    p = started()
    p.receive('echo:Unknown command: "G999"', 1)
    p.receive("Error:Unknown command G999", 1)
    assert p.state is State.STREAMING


def test_emergency_stop_bypasses_queue():
    p = started()
    p.buffered = True
    for i in range(100):
        p.enqueue(f"G1 X{i} Y{i}")
    p.tick(1)
    assert p.emergency_stop() == b"M112\n"
    assert p.take_output() == b"" and p.state is State.HALTED
    p.receive("ok", 1)
    assert p.take_output() == b""


def test_temperature_autoreport_and_polling():
    p = MarlinProtocol(poll_interval=2)
    p.start(0)
    p.receive("ok", 0)
    p.take_output()
    p.receive("FIRMWARE_NAME:Marlin PROTOCOL_VERSION:1.0", 0)
    p.receive("Cap:AUTOREPORT_TEMP:1", 0)
    p.receive("ok", 0)
    assert out_lines(p) == [frame(2, "M155 S2").decode().strip()]
    p.receive("ok", 0)
    ev = p.receive("T:210.5 /215.0 B:60.0 /60.0 @:127 B@:0", 1)
    assert ev and ev[0].readings == {"T": (210.5, 215.0), "B": (60.0, 60.0)}
    assert out_lines(p) == [] and p.tick(10) == []  # autoreport: no polling
    q = started(poll_interval=2)
    q.tick(1)
    assert out_lines(q) == []
    q.tick(2.5)
    assert out_lines(q) == [frame(2, "M105").decode().strip()]
    ev = q.receive("ok T:21.30/ 0.00 B:21.30/ 0.00 @:64", 2.6)
    assert q.temperatures["T"] == (21.3, 0.0) and q.idle
    assert parse_temperatures("X:0.00 Y:0.00 Z:0.00 E:0.00 Count: A:0 B:0 C:0") is None


def test_lost_ok_recovers_after_timeout():
    p = started(ack_timeout=5, poll_interval=0)
    p.enqueue("G1 X1")
    p.enqueue("G1 X2")
    p.tick(1)
    assert out_lines(p) == [frame(2, "G1 X1").decode().strip()]
    assert p.tick(5.5) == []
    ev = p.tick(6.5)  # the ok was lost
    assert any(isinstance(e, marlin.Warning) for e in ev)
    assert out_lines(p) == [frame(2, "G1 X1").decode().strip()]
    # the firmware already had it: rejects the duplicate and asks for the next one
    p.receive("Error:Line Number is not Last Line Number+1, Last Line: 2", 7)
    p.receive("Resend: 3", 7)
    p.receive("ok", 7)
    assert out_lines(p) == [frame(3, "G1 X2").decode().strip()]
    p.receive("ok", 7)
    assert p.idle and p.job_lines_acked == 2


def test_lost_ok_recovers_while_temperature_autoreports_keep_coming():
    p = started(ack_timeout=5, poll_interval=0)
    p.enqueue("G1 X1")
    p.tick(1)
    p.take_output()
    for t in range(2, 7):  # M155 reports every second: chatter, not an answer to our line
        p.receive("T:210.0 /210.0 B:60.0 /60.0 @:0 B@:0", t)
    ev = p.tick(6.5)
    assert any(isinstance(e, marlin.Warning) and "no answer" in e.text for e in ev)
    assert out_lines(p) == [frame(2, "G1 X1").decode().strip()]


def test_heat_up_reports_hold_off_recovery_while_m109_is_in_flight():
    p = started(ack_timeout=5, poll_interval=0)
    p.enqueue("M109 S210")
    p.tick(1)
    p.take_output()
    for t in range(2, 60):  # a heat-up on firmware without busy keepalive: minutes of reports, then ok
        assert not p.receive(f"T:{20 + 3 * t}.0 /210.0 B:60.0 /60.0 @:127", t)[1:]
        assert p.tick(t + 0.5) == []
    p.receive("ok", 60)
    assert p.idle and p.job_lines_acked == 1


def test_silent_firmware_halts_with_timeout():
    p = started(ack_timeout=1, max_recoveries=2)
    p.enqueue("G28")
    p.tick(0.5)
    halted = [e for t in range(2, 12) for e in p.tick(t) if isinstance(e, marlin.Halted)]
    assert halted and halted[0].timeout and p.state is State.HALTED


def test_wait_triggers_recovery_only_with_lines_in_flight():
    p = started()
    assert p.receive("wait", 1) == []
    p.enqueue("G1 X1")
    p.tick(1)
    p.take_output()
    p.receive("wait", 2)
    assert out_lines(p) == [frame(2, "G1 X1").decode().strip()]


def test_pause_resume_cancel():
    p = started()
    for i in range(4):
        p.enqueue(f"G1 X{i}")
    p.tick(1)
    p.take_output()
    p.pause()
    p.receive("ok", 1)
    assert out_lines(p) == []
    p.resume(2)
    assert out_lines(p) == [frame(3, "G1 X1").decode().strip()]
    assert p.cancel() == 2
    p.receive("ok", 3)
    assert out_lines(p) == [] and p.idle and p.job_lines_total == 2


def test_advanced_ok_window_bounded_by_rx_buffer():
    p = MarlinProtocol(rx_window=127)
    p.start(0)
    p.receive("ok N0 P15 B3", 0)
    p.take_output()
    p.receive("Cap:ADVANCED_OK:1", 0)
    p.receive("ok N1 P15 B3", 0)
    for i in range(50):
        p.enqueue(f"G1 X{i}.123 Y{i}.456 E{i}.789")
    p.tick(0.1)
    sent = p.take_output()
    assert 1 < sent.count(b"\n") <= 4 and len(sent) <= 127
    p.receive("ok N2 P14 B2", 0.2)
    more = p.take_output()
    assert more.startswith(b"N") and p.in_flight <= 4


# ---- randomized firmware model -----------------------------------------------------------------------------

LINE = re.compile(r"^N(\d+) (.*)\*(\d+)$")


class FakeMarlin:
    """A tiny Marlin: RX buffer of bytes, strict lastN + 1, faults injected at random (seeded)."""

    def __init__(self, rng: random.Random, advanced: bool, fault_rate: float):
        self.rng, self.advanced, self.fault_rate = rng, advanced, fault_rate
        self.rx = bytearray()
        self.last_n = -1
        self.executed: list[str] = []
        self.overflow = False

    def feed(self, data: bytes) -> None:
        self.rx += data
        if len(self.rx) > 128 + 200:  # a window sender must stay close to the RX size
            self.overflow = True

    def step(self) -> list[str]:
        if b"\n" not in self.rx:
            return []
        raw, _, rest = self.rx.partition(b"\n")
        self.rx = bytearray(rest)
        text = raw.decode()
        if text == "M112":
            return ["echo:killed"]
        m = LINE.match(text)
        assert m, text
        n, cmd, cs = int(m.group(1)), m.group(2), int(m.group(3))
        ok = f"ok N{self.last_n} P15 B3" if self.advanced else "ok"
        r = self.rng.random()
        if checksum(f"N{n} {cmd}".encode()) != cs:
            return ["Error:checksum mismatch", f"Resend: {self.last_n + 1}", ok]
        if cmd.startswith("M110"):
            self.last_n = n
            return [ok]
        if n != self.last_n + 1:
            return [f"Error:Line Number is not Last Line Number+1, Last Line: {self.last_n}", f"Resend: {self.last_n + 1}", ok]
        if r < self.fault_rate:
            return [f"Error:checksum mismatch, Last Line: {self.last_n}", f"Resend: {n}", ok]
        if r < self.fault_rate * 1.5:
            return [f"Error: No Line Number with checksum, Last Line: {self.last_n}"]
        self.last_n = n
        self.executed.append(cmd)
        out = []
        if r < self.fault_rate * 2:
            out.append("echo:busy: processing")
        if r < self.fault_rate * 2.3:
            return out  # the ok is lost on the wire
        ok = f"ok N{self.last_n} P15 B3" if self.advanced else "ok"
        return [*out, ok]


@pytest.mark.parametrize("advanced", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_every_line_executed_once_in_order_under_faults(advanced, seed):
    rng = random.Random(seed)
    fw = FakeMarlin(rng, advanced, fault_rate=0.05)
    p = MarlinProtocol(ack_timeout=2.0, buffered=advanced or None)
    job = [f"G1 X{i} Y{(i * 7) % 100} E{i * 0.01:.2f}" for i in range(600)]
    for c in job:
        p.enqueue(c)
    now = 0.0
    p.start(now)
    pending: list[str] = []
    while not p.idle and now < 10_000:
        now += 0.05
        fw.feed(p.take_output())
        replies = fw.step()
        if rng.random() < 0.02 and replies:  # jitter: deliver a reply late
            pending.extend(replies)
            replies = []
        elif pending:
            replies, pending = pending + replies, []
        for line in replies:
            p.receive(line, now)
        p.tick(now)
    assert p.state is State.STREAMING
    assert [c for c in fw.executed if c.startswith("G1")] == job
    assert p.job_lines_acked == len(job) and not fw.overflow
