"""Start the OctoPrint virtual printer bridge (in .venv-peers) and hand back its pty path and execution log."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
BRIDGE = Path(__file__).with_name("vp_bridge.py")


def peers_available() -> bool:
    """True when scripts/peers-setup.sh has built .venv-peers."""
    return PEERS_PYTHON.exists()


class VirtualPrinterPeer:
    """A running bridge: `port` to open, `executed()` for the lines the printer executed."""

    def __init__(self, proc: subprocess.Popen, port: str, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    def executed(self) -> list[str]:
        """Every command line the virtual printer accepted and executed, in order."""
        return self.log.read_text(encoding="ascii").splitlines() if self.log.exists() else []

    def settled(self, quiet_s: float = 0.4, timeout_s: float = 15.0) -> list[str]:
        """`executed()` once it stops changing: the printer may acknowledge a move before it logs it."""
        last, end = self.executed(), time.monotonic() + timeout_s
        while time.monotonic() < end:
            time.sleep(quiet_s)
            now = self.executed()
            if now == last:
                return now
            last = now
        return last


@contextmanager
def virtual_printer(tmp: Path, baud: int = 250000, **settings: object) -> Iterator[VirtualPrinterPeer]:
    """Run OctoPrint's VirtualPrinter behind a pty at `baud` with the given settings overrides."""
    if not peers_available():
        raise RuntimeError(f"{PEERS_PYTHON} is missing: run `make install` (scripts/peers-setup.sh builds it)")
    log = tmp / f"vp-received-{len(list(tmp.glob('vp-received-*')))}.txt"
    proc = subprocess.Popen(
        [str(PEERS_PYTHON), str(BRIDGE), "--baud", str(baud), "--log", str(log), "--settings", json.dumps(settings)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
    )
    try:
        port = proc.stdout.readline().strip()
        if not port.startswith("/dev/"):
            raise RuntimeError(f"virtual printer bridge did not start (exit {proc.poll()})")
        yield VirtualPrinterPeer(proc, port, log)
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
