"""Serial transcripts: record a session, replay recorded GRBL sessions (real firmware output) against the client."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from peers.grbl_sim import GrblSimulator

from fabrica.node_client.drivers import Driver, create_protocol
from fabrica.node_client.replay import GrblReplay, PtyReplay
from fabrica.node_client.runner import PrintRunner
from fabrica.node_client.serial_transport import SerialTransport
from fabrica.node_client.transcript import (
    Entry,
    RecordingTransport,
    Transcript,
    TranscriptError,
    dump,
    escape,
    load,
    parse,
    unescape,
)

RECORDED = sorted((Path(__file__).parent / "transcripts" / "grbl").glob("*.txt"))
FABRICA = str(Path(sys.executable).with_name("fabrica"))
SESSION = ("$I", "$X")  # what the client sends by itself before the job (`$X` only with unlock)


class _Keep(io.StringIO):
    def close(self) -> None:  # the recorder closes its stream; keep the text for the test
        pass


def test_format_round_trips_bytes_metadata_and_times():
    t = Transcript([
        Entry("firmware", "Grbl 1.1h ['$' for help]", t=0.01),
        Entry("host", "$I"),
        Entry("realtime", "\x18", t=1.5),
        Entry("firmware", "\x00\xfe\\junk\r"),
        Entry("firmware", ""),
    ], {"family": ["grbl"], "source": ["a", "b"]})
    back = parse(dump(t))
    assert [(e.kind, e.text, e.t) for e in back.entries] == [(e.kind, e.text, e.t) for e in t.entries]
    assert back.meta["source"] == ["a", "b"] and back.get("family") == "grbl"
    assert escape(b"a\\b\x85") == "a\\\\b\\x85" and unescape("a\\\\b\\x85") == b"a\\b\x85"


@pytest.mark.parametrize("text, needle", [
    ("< ok\nhello\n", ":2: not a transcript entry"),
    ("! ??\n", ":1: a real-time entry is exactly one byte"),
    ("> G1 \\x4\n", ":1: bad escape"),
    ("> G1\\nG2\n", ":1: an entry is one line"),
])
def test_malformed_transcripts_name_the_line(text, needle):
    with pytest.raises(TranscriptError, match=needle):
        parse(text, "t.txt")


def test_replay_engine_checks_order_and_rx_buffer():
    t = parse("< Grbl 1.1h ['$' for help]\n> G21\n> G90\n< ok\n< ok\n")
    r = GrblReplay(t)
    assert r.boot() == b"Grbl 1.1h ['$' for help]\r\n"
    assert r.feed(b"G21\n") == b"ok\r\n"  # the recorded ok answers the line that arrived, not the recorded pair
    assert r.feed(b"G91\n") == b"" and "host line 2 is 'G91'; the recording has 'G90'" in r.problems[0]
    r = GrblReplay(parse("> G1 X1\n< ok\n"), rx_size=8)
    r.feed(b"G1 X1 Y2 Z3")
    assert any("RX buffer overflow" in p for p in r.problems)
    with pytest.raises(ValueError, match="before the host sent line 2"):
        GrblReplay(parse("> G21\n< ok\n< ok\n"))


def test_replay_answers_status_polls_and_waits_for_recorded_realtime_bytes():
    idle, hold = "<Idle|MPos:0.000,0.000,0.000|FS:0,0>", "<Hold:0|MPos:1.000,0.000,0.000|FS:0,0>"
    r = GrblReplay(parse(f"< {idle}\n> G1 X5 F100\n! !\n< {hold}\n! ~\n< ok\n"))
    assert r.boot() == f"{idle}\r\n".encode()
    assert r.feed(b"G1 X5 F100\n") == b""  # the hold status needs the host's feed hold first
    assert r.feed(b"?") == f"{idle}\r\n".encode()  # a poll gets the latest status played so far
    assert r.feed(b"!") == b"<Hold:0|MPos:1.000,0.000,0.000|FS:0,0>\r\n"
    assert r.feed(b"?") == b"<Hold:0|MPos:1.000,0.000,0.000|FS:0,0>\r\n"
    assert r.feed(b"~") == b"ok\r\n" and r.complete and not r.problems


def _stream(port: str, job: list[str], *, unlock: bool = False, record: io.StringIO | None = None, baud=115200):
    transport = SerialTransport(port, baud)
    if record is not None:
        transport = RecordingTransport(transport, record, family="grbl", meta={"port": port})
    driver = Driver(transport, create_protocol("grbl", status_interval=0.05, ack_timeout=10), boot_wait=3)
    identity = driver.connect(timeout=10)
    if unlock:
        driver.unlock()
    result = PrintRunner(driver).run(job, timeout=60)
    driver.close()
    return identity, result, driver.protocol


def test_recorded_session_replays_against_a_fresh_client():
    job = [f"G1 X{i}.5 Y{i % 7}.25 F900" for i in range(150)]
    sim = GrblSimulator(line_time=0.002)
    sim.fail_on(job[120], "error:33")
    rec = _Keep()
    try:
        _, first, _ = _stream(sim.port, job, record=rec)
    finally:
        sim.close()
    assert not first.ok and "error:33" in first.reason
    recorded = parse(rec.getvalue())
    host = recorded.host_lines()
    assert host[0] == "$I" and host[1:] == job[: len(host) - 1] and len(host) - 1 > 120
    assert {e.text for e in recorded.entries if e.kind == "realtime"} >= {"?", "!"}
    assert recorded.firmware_lines()[0].startswith("Grbl 1.1h") and all(e.t is not None for e in recorded.entries)
    # the recording, played back as the firmware, drives a new client to the same end
    replay = GrblReplay(recorded)
    with PtyReplay(replay) as server:
        _, again, _ = _stream(server.port, job)
    assert not replay.problems, replay.problems
    assert not again.ok and "error:33" in again.reason and again.acked == first.acked == 120
    # how far past the failing line the client had filled GRBL's buffer depends on timing: a prefix, up to it
    assert replay.received == host[: len(replay.received)] and len(replay.received) > 121


def _expectation(t: Transcript) -> tuple[str, str]:
    expect = (t.get("expect") or "").split(None, 1)
    assert expect and expect[0] in ("ok", "halt"), f"{t.name}: `# expect: ok` or `# expect: halt TEXT` is required"
    return expect[0], expect[1] if len(expect) > 1 else ""


def test_recorded_transcripts_are_in_the_repo():
    assert len(RECORDED) >= 8, "tests/node_client/transcripts/grbl/ holds the recorded sessions"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_grbl_session_replays(path):
    """Real firmware output (GRBL 0.9/1.1, grblHAL, FluidNC): every recorded line reaches the replay once, in order."""
    recorded = load(path)
    assert recorded.get("family") == "grbl" and recorded.meta.get("source"), f"{path.name}: family and source"
    outcome, text = _expectation(recorded)
    unlock = (recorded.get("unlock") or "no").lower() == "yes"
    host = recorded.host_lines()
    prefix = 0
    while prefix < len(host) and host[prefix] in SESSION:
        prefix += 1
    job = host[prefix:]
    replay = GrblReplay(recorded)
    with PtyReplay(replay) as server:
        identity, result, protocol = _stream(server.port, job, unlock=unlock)
    assert not replay.problems, replay.problems
    assert identity["firmware"].get("FIRMWARE_NAME") and identity["firmware"].get("VERSION"), identity
    assert protocol.rx_size == replay.rx_size  # learned from the recorded [OPT:…] (128 when it has none)
    assert replay.max_rx_used <= replay.rx_size
    if outcome == "ok":
        assert result.ok, (result.reason, replay.received[-3:])
        assert replay.complete and replay.received == host
        assert result.acked == len(job)
    else:
        assert not result.ok and text in (result.reason or ""), (text, result.reason)
        assert replay.received == host[: len(replay.received)]  # a prefix: nothing skipped, nothing sent twice
        if "error" in text.lower():  # a rejected line: the client holds the machine (an alarm has stopped it)
            assert "!" in replay.realtime


def test_cli_print_records_and_replay_serves_the_recording(tmp_path):
    job = tmp_path / "job.nc"
    job.write_text("G21\nG90\n" + "".join(f"G1 X{i} Y{i} F600\n" for i in range(40)) + "M2\n")
    sim = GrblSimulator()
    record = tmp_path / "session.txt"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        out = subprocess.run(
            [FABRICA, "node", "print", str(job), "--port", sim.port,
             "--firmware", "grbl", "--boot-wait", "1", "--record", str(record), "--json"],
            capture_output=True, text=True, timeout=60, env=env)
    finally:
        sim.close()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["acked"] == 43
    recorded = load(record)
    assert recorded.get("family") == "grbl" and recorded.get("port") == sim.port
    assert recorded.host_lines() == ["$I", "G21", "G90", *[f"G1 X{i} Y{i} F600" for i in range(40)], "M2"]
    server = subprocess.Popen(
        [FABRICA, "node", "replay", str(record), "--json",
         "--idle-exit", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = server.stdout.readline().strip()
        assert port.startswith("/dev/"), server.stderr.read()
        again = subprocess.run(
            [FABRICA, "node", "print", str(job), "--port", port,
             "--firmware", "grbl", "--boot-wait", "1", "--json"], capture_output=True, text=True, timeout=60, env=env)
        summary = json.loads(server.communicate(timeout=30)[0].splitlines()[-1])
    finally:
        if server.poll() is None:
            server.kill()
    assert again.returncode == 0, again.stderr
    assert summary["complete"] and summary["problems"] == [] and summary["host_lines"] == 44
    bad = tmp_path / "bad.txt"
    bad.write_text("# family: grbl\n< ok\n")
    rc = subprocess.run([FABRICA, "node", "replay", str(bad)],
                        capture_output=True, text=True, timeout=60, env=env)
    assert rc.returncode == 2 and "before the host sent line 1" in rc.stderr
