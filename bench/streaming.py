"""Streaming throughput: lines/s and serial link share (8N1) of the node client vs OctoPrint and Printrun.

Every run streams the same realistic G-code file to the same peer: OctoPrint's virtual Marlin printer on a
pseudo-terminal paced at the baud rate (tests/node_client/peers/vp_bridge.py, in .venv-peers). Modes:
ping-pong (one line in flight) and buffered (ADVANCED_OK window bounded by a 128-byte RX buffer); anchors:
OctoPrint's MachineCom and Printrun's printcore (both in .venv-peers). Also: GRBL character counting vs
send-response against our GRBL simulator (115 200), the stall after a lost `ok`, and the emergency-stop round
trip with a full queue. Prints one JSON object last.
Run: scripts/peers-setup.sh && .venv/bin/python bench/streaming.py [--lines 1500]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "node_client"))

from peers.grbl_sim import GrblSimulator  # noqa: E402
from peers.launch import PEERS_PYTHON, peers_available, virtual_printer  # noqa: E402

from fabrica.node_client.drivers import Driver, create_protocol  # noqa: E402
from fabrica.node_client.events import Acked  # noqa: E402
from fabrica.node_client.gcode import frame  # noqa: E402
from fabrica.node_client.runner import PrintRunner  # noqa: E402
from fabrica.node_client.serial_transport import SerialTransport  # noqa: E402

ADVANCED = {"okFormatString": "ok N{lastN} P15 B{buffer}", "capabilities": {"ADVANCED_OK": True}}
PEER = {"simulated_errors": [], "rxBuffer": 128, "sendWait": False}

OCTOPRINT = r'''
import json, logging, os, sys, tempfile, threading, time
port, baud, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logging.basicConfig(level=logging.CRITICAL)
import octoprint.settings, octoprint.plugin, octoprint.events
octoprint.settings.settings(init=True, basedir=tempfile.mkdtemp(prefix="octoprint-anchor-"))
octoprint.plugin.plugin_manager(init=True, plugin_folders=[], plugin_entry_points=[], plugin_disabled_list=[],
                                plugin_sorting_order={})
octoprint.events.eventManager()
from octoprint.printer.profile import PrinterProfileManager
from octoprint.util import comm
done, operational, state = threading.Event(), threading.Event(), {}
class CB(comm.MachineComPrintCallback):
    def on_comm_state_change(self, st):
        if st == comm.MachineCom.STATE_OPERATIONAL: operational.set()
        if st in (comm.MachineCom.STATE_ERROR, comm.MachineCom.STATE_CLOSED_WITH_ERROR): done.set()
    def on_comm_print_job_done(self, suppress_script=False):
        state["end"] = time.monotonic(); done.set()
    def on_comm_print_job_failed(self, reason=None):
        state["fail"] = str(reason); done.set()
c = comm.MachineCom(port, baud, CB(), PrinterProfileManager())
c.start()
if not operational.wait(60):
    print(json.dumps({"error": "MachineCom never became operational"})); os._exit(1)
time.sleep(0.5)
c.selectFile(path, False)
t0 = time.monotonic()
c.startPrint()
done.wait(900)
print(json.dumps({"elapsed": state.get("end", time.monotonic()) - t0, "ok": "end" in state, "error": state.get("fail")}))
os._exit(0)
'''

# printcore resets numbering with `N-1 M110 N-1`; the virtual printer cannot parse a negative N (its regex is
# N([0-9]+)) and its reader thread dies. Shifting printcore's numbers up by one (`N0 M110 N0`, then N1, N2, …)
# is the same protocol; the bench injects no faults, so printcore's resend table is never consulted.
PRINTCORE = r'''
import json, os, sys, time
port, baud, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from printrun.printcore import printcore
from printrun import gcoder
orig = printcore._send
def _send(self, command, lineno=0, calcchecksum=False):
    if calcchecksum:
        command = "M110 N0" if command == "M110 N-1" else command
        lineno += 1
    return orig(self, command, lineno, calcchecksum)
printcore._send = _send
lines = [l.strip() for l in open(path) if l.strip()]
p = printcore(port, baud)
deadline = time.monotonic() + 60
while not p.online and time.monotonic() < deadline:
    time.sleep(0.05)
if not p.online:
    print(json.dumps({"error": "printcore never came online"})); os._exit(1)
time.sleep(0.5)
t0 = time.monotonic()
p.startprint(gcoder.LightGCode(lines))
time.sleep(0.05)
while p.printing:
    time.sleep(0.002)
print(json.dumps({"elapsed": time.monotonic() - t0, "ok": True}))
os._exit(0)
'''


def make_job(n: int) -> list[str]:
    """Realistic perimeter/infill lines (~30 bytes), relative and tiny so the simulated motion takes no time."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        x, y, e = rng.uniform(0.05, 0.9), rng.uniform(0.05, 0.9), rng.uniform(0.001, 0.05)
        out.append(f"G1 X{x:.3f} Y{y:.3f} E{e:.5f}" + (" F1800" if i % 50 == 0 else ""))
    return out


def ours(tmp: Path, job: list[str], baud: int, buffered: bool) -> dict:
    with virtual_printer(tmp, baud=baud, **PEER, **(ADVANCED if buffered else {})) as peer:
        transport = SerialTransport(peer.port, baud)
        driver = Driver(transport, create_protocol("marlin", buffered=buffered, poll_interval=0), boot_wait=0.3)
        driver.connect(timeout=30)
        time.sleep(0.3)
        before = transport.bytes_written
        result = PrintRunner(driver).run(job, timeout=900)
        sent = transport.bytes_written - before
        driver.close()
        delivered = [c for c in peer.executed() if c.startswith("G1")] == job
    return {"ok": result.ok and delivered, "elapsed": result.elapsed, "bytes": sent}


def estop_latency(tmp: Path, job: list[str], baud: int) -> dict:
    """Milliseconds from `emergency_stop()` mid-print (buffered, full send queue) to the firmware's kill reply.

    The round trip bounds the time M112 takes to reach the firmware from above: the reply has to cross the
    paced link back as well.
    """
    import threading

    with virtual_printer(tmp, baud=baud, **PEER, **ADVANCED) as peer:
        transport = SerialTransport(peer.port, baud)
        driver = Driver(transport, create_protocol("marlin", buffered=True, poll_interval=0), boot_wait=0.3)
        driver.connect(timeout=30)
        runner = PrintRunner(driver)
        out: dict = {}
        thread = threading.Thread(target=lambda: out.setdefault("r", runner.run(job, timeout=120)))
        thread.start()
        while driver.protocol.job_lines_acked < min(200, len(job) // 2):
            time.sleep(0.005)
        t0 = time.monotonic()
        runner.emergency_stop()
        killed = None
        while killed is None and time.monotonic() < t0 + 10:
            line = transport.read_line(0.002) or ""
            if "EMERGENCY SHUTDOWN" in line or any("EMERGENCY SHUTDOWN" in getattr(e, "text", "") for e in list(driver.log)):
                killed = time.monotonic() - t0
        thread.join(10)
        driver.close()
        stopped = [c for c in peer.executed() if c.startswith("G1")]
    return {"ok": killed is not None and stopped == job[: len(stopped)] and len(stopped) < len(job),
            "ms": None if killed is None else round(killed * 1000, 1)}


def lost_ok(tmp: Path, job: list[str], baud: int, ack_timeout: float = 1.0) -> dict:
    """Seconds the stream stalls when one `ok` is lost on the wire mid-job (ping-pong).

    The transport drops the firmware's `ok` for the middle line, as line noise would; the firmware itself ran
    the line. The stall is the longest gap between two acknowledgements: recovering within one timeout means
    it stays below `ack_timeout` plus a line's round trip, and every line still runs exactly once.
    """
    with virtual_printer(tmp, baud=baud, **PEER) as peer:
        transport = SerialTransport(peer.port, baud)
        driver = Driver(transport, create_protocol("marlin", buffered=False, poll_interval=0, ack_timeout=ack_timeout),
                        boot_wait=0.3)
        driver.connect(timeout=30)
        read_line, oks, lost = transport.read_line, [0], [0]

        def lossy_read_line(timeout: float) -> str | None:
            line = read_line(timeout)
            if line is not None and line.startswith("ok"):
                oks[0] += 1
                if oks[0] == len(job) // 2:
                    lost[0] += 1
                    return None  # this ok never arrives
            return line

        transport.read_line = lossy_read_line  # type: ignore[method-assign]
        acks: list[float] = []
        poll = driver.poll

        def timed_poll(timeout: float) -> list:
            events = poll(timeout)
            if any(isinstance(e, Acked) for e in events):
                acks.append(time.monotonic())
            return events

        driver.poll = timed_poll  # type: ignore[method-assign]
        result = PrintRunner(driver).run(job, timeout=900)
        driver.close()
        delivered = [c for c in peer.settled() if c.startswith("G1")] == job
    stall = max(b - a for a, b in zip(acks, acks[1:], strict=False)) if len(acks) > 1 else None
    return {"ok": result.ok and delivered and lost[0] == 1 and stall is not None, "stall_s": stall,
            "ack_timeout_s": ack_timeout}


def grbl_stream(job: list[str], baud: int, counting: bool) -> dict:
    """Stream to our GRBL simulator: character counting (ours) or send-response (one line, wait for `ok`)."""
    sim = GrblSimulator(baud=baud)
    try:
        transport = SerialTransport(sim.port, baud)
        if counting:
            driver = Driver(transport, create_protocol("grbl", status_interval=0), boot_wait=1.0)
            driver.connect(timeout=30)
            before = transport.bytes_written
            result = PrintRunner(driver).run(job, timeout=900)
            ok, elapsed, sent = result.ok, result.elapsed, transport.bytes_written - before
            driver.close()
        else:  # the simple streaming every GRBL host starts with: write a line, wait for its answer
            while (line := transport.read_line(2.0)) is not None and not line.startswith("Grbl"):
                pass
            t0, sent, ok = time.monotonic(), 0, True
            for command in job:
                data = (command + "\n").encode()
                transport.write(data)
                sent += len(data)
                answer = transport.read_line(10.0)
                ok = ok and answer == "ok"
            elapsed = time.monotonic() - t0
            transport.close()
        delivered = sim.executed == job and not sim.overflow
    finally:
        sim.close()
    return {"ok": ok and delivered, "elapsed": elapsed, "bytes": sent}


def anchor(tmp: Path, job: list[str], baud: int, script: str, buffered_peer: bool = False) -> dict:
    gfile = tmp / "job.gcode"
    gfile.write_text("\n".join(job) + "\n")
    with virtual_printer(tmp, baud=baud, **PEER) as peer:
        try:
            proc = subprocess.run([str(PEERS_PYTHON), "-c", script, peer.port, str(baud), str(gfile)],
                                  capture_output=True, text=True, timeout=900)
            data = json.loads(proc.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        delivered = [c for c in peer.executed() if c.startswith("G1")] == job
    # anchors frame lines the same way (N<n> … *cs); estimate their bytes with our framing
    data["bytes"] = sum(len(frame(i + 1, c)) for i, c in enumerate(job))
    data["ok"] = bool(data.get("ok")) and delivered
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1500)
    ap.add_argument("--bauds", default="115200,250000")
    ap.add_argument("--no-anchors", action="store_true")
    args = ap.parse_args()
    if not peers_available():
        sys.exit("the virtual printer lives in .venv-peers: run scripts/peers-setup.sh first")
    job = make_job(args.lines)
    figures: dict[str, object] = {"lines": len(job), "avg_line_bytes": round(sum(len(frame(i, c)) for i, c in enumerate(job)) / len(job), 1)}
    tmp = Path(tempfile.mkdtemp(prefix="fabrica-bench-"))
    for baud in (int(b) for b in args.bauds.split(",")):
        runs = {"pingpong": lambda b=baud: ours(tmp, job, b, False), "buffered": lambda b=baud: ours(tmp, job, b, True)}
        if not args.no_anchors:
            runs["octoprint"] = lambda b=baud: anchor(tmp, job, b, OCTOPRINT)
            runs["printcore"] = lambda b=baud: anchor(tmp, job, b, PRINTCORE)
        for name, run in runs.items():
            r = run()
            print(f"{name:10s} {baud:6d}: {r}", file=sys.stderr, flush=True)
            if not r.get("ok"):
                figures[f"{name}_error_{baud}"] = r.get("error") or "not every line delivered exactly once"
                figures[f"{name}_lines_per_s_{baud}"] = None
                continue
            figures[f"{name}_lines_per_s_{baud}"] = round(len(job) / r["elapsed"], 1)
            figures[f"{name}_link_share_{baud}"] = round(r["bytes"] * 10 / baud / r["elapsed"], 3)
        if baud == 115200:  # GRBL speaks 115200
            # the same moves as a laser/CNC job: GRBL has no extruder axis, so E words become laser power S
            cnc_job = [re.sub(r" E(\S+)", lambda m: f" S{int(float(m[1]) * 20000)}", c) for c in job]
            for name, counting in (("grbl_counting", True), ("grbl_send_response", False)):
                r = grbl_stream(cnc_job, baud, counting)
                print(f"{name:10s} {baud:6d}: {r}", file=sys.stderr, flush=True)
                figures[f"{name}_lines_per_s_{baud}"] = round(len(job) / r["elapsed"], 1) if r["ok"] else None
                figures[f"{name}_link_share_{baud}"] = (
                    round(r["bytes"] * 10 / baud / r["elapsed"], 3) if r["ok"] else None)
        lost = lost_ok(tmp, job[:400], baud)
        print(f"lost ok    {baud:6d}: {lost}", file=sys.stderr, flush=True)
        figures[f"lost_ok_stall_s_{baud}"] = round(lost["stall_s"], 3) if lost["ok"] else None
        figures[f"lost_ok_ack_timeout_s_{baud}"] = lost["ack_timeout_s"]
        samples = [estop_latency(tmp, job, baud) for _ in range(3)]
        print(f"estop      {baud:6d}: {samples}", file=sys.stderr, flush=True)
        figures[f"estop_round_trip_ms_max_{baud}"] = (
            max(x["ms"] for x in samples) if all(x["ok"] for x in samples) else None)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
