"""CLI start-up: how long `fabrica` makes a user wait before a command does its work.

Times, as subprocesses of the venv's `fabrica` console script, the median over several repetitions of
`fabrica --help`, `fabrica content cid FILE`, and a chain command's overhead before its first JSON-RPC call
(`fabrica job list` against a loopback HTTP server started here, which records when the first request
arrives and answers a JSON-RPC error). The anchor is `python -c pass` with the same interpreter in the same
run; each figure is also given net of it (`*_net_s`), which is what the goals are checked against (the
interpreter's own start-up is not ours to cut). The CPU seconds each command used (`*_cpu_s`, user + system, up
to the first request for the chain command) come too: on a machine shared with other work the wall clock
stretches with the load, the CPU time hardly does. Prints one JSON object last.

    python bench/cli.py [--reps 7]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FABRICA = str(BIN / "fabrica")
# Goals of issue 11 §2, seconds of start-up beyond the interpreter's own.
GOALS = {"help": 0.5, "content_cid": 1.0, "chain_overhead": 1.5}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of proc(5)


class FirstRequest(BaseHTTPRequestHandler):
    """Records when each JSON-RPC request arrives (and the client's CPU time then), answers an error."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        arrived = time.perf_counter()
        server = self.server
        if not server.arrivals and server.pid:  # type: ignore[attr-defined]
            server.cpu_at_first = cpu_of(server.pid)  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.arrivals.append(arrived)  # type: ignore[attr-defined]
        try:
            req_id = json.loads(body).get("id", 1)
        except (ValueError, AttributeError):
            req_id = 1
        out = json.dumps({"jsonrpc": "2.0", "id": req_id,
                          "error": {"code": -32601, "message": "bench/cli.py answers no method"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        """Keep the benchmark's output to its figures."""


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time from spawn to exit of one run of `cmd`, and the CPU time it used; it must succeed."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    elapsed, cpu = time.perf_counter() - t0, children_cpu() - cpu0  # runs are sequential: the delta is this one
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return elapsed, cpu


def chain_overhead(env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Seconds from spawning `fabrica job list` to its first JSON-RPC request, CPU seconds it used until then,
    and seconds to its exit (after the server's error answer)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FirstRequest)
    server.arrivals, server.pid, server.cpu_at_first = [], 0, None  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        t0 = time.perf_counter()
        with subprocess.Popen([FABRICA, "job", "list", "--rpc-url", url], env=env, cwd=cwd, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            server.pid = proc.pid  # type: ignore[attr-defined]
            _, err = proc.communicate(timeout=120)
        total = time.perf_counter() - t0
        if not server.arrivals:  # type: ignore[attr-defined]
            raise SystemExit(f"fabrica job list sent no JSON-RPC request (exit {proc.returncode}): {err[-500:]}")
        if proc.returncode == 0 or "Traceback" in err:
            raise SystemExit(f"fabrica job list should fail with one clear line, got exit {proc.returncode}: "
                             f"{err[-500:]}")
        return server.arrivals[0] - t0, server.cpu_at_first, total  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    """Measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions per command (median reported)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fabrica-bench-cli-"))
    # A clean directory and home: no fabrica.toml or deployments of the caller's change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABRICA_")}
    env["FABRICA_HOME"] = str(tmp / "home")
    sample = ROOT / "README.md"

    names = ("python_startup", "help", "content_cid", "chain_overhead", "chain_command")
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    commands = {"python_startup": [sys.executable, "-c", "pass"], "help": [FABRICA, "--help"],
                "content_cid": [FABRICA, "content", "cid", str(sample)]}
    timed(commands["help"], env, tmp)  # warm the page cache once; not counted
    for _ in range(args.reps):  # interleaved, so load from other work falls on every figure alike
        for name, cmd in commands.items():
            w, c = timed(cmd, env, tmp)
            wall[name].append(w)
            cpu[name].append(c)
        first, first_cpu, total = chain_overhead(env, tmp)
        wall["chain_overhead"].append(first)
        cpu["chain_overhead"].append(first_cpu)
        wall["chain_command"].append(total)
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items() if v}
    for k, v in wall.items():
        print(f"{k:16s} median {med[k]:.3f} s  min {min(v):.3f}  max {max(v):.3f}"
              + (f"  cpu {med_cpu[k]:.3f} s" if k in med_cpu else ""), file=sys.stderr)

    anchor = med["python_startup"]
    figures: dict[str, object] = {"reps": args.reps, "load_avg_1min": round(os.getloadavg()[0], 2),
                                  "cpus": os.cpu_count(), "python_startup_s": round(anchor, 4),
                                  "python_startup_cpu_s": round(med_cpu["python_startup"], 4)}
    met = met_cpu = True
    for name, goal in GOALS.items():
        net = med[name] - anchor
        net_cpu = med_cpu[name] - med_cpu["python_startup"]
        figures[f"{name}_s"] = round(med[name], 3)
        figures[f"{name}_net_s"] = round(net, 3)
        figures[f"{name}_vs_python"] = round(med[name] / anchor, 1)
        figures[f"{name}_cpu_s"] = round(med_cpu[name], 3)
        figures[f"{name}_goal_s"] = goal
        met = met and net <= goal
        met_cpu = met_cpu and net_cpu <= goal
    figures["chain_command_s"] = round(med["chain_command"], 3)
    figures["goals_met"] = met
    figures["goals_met_cpu"] = met_cpu  # the same goals on CPU time, which other work on the machine hardly moves
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
