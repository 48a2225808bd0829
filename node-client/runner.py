"""Print runner: streams one job through a driver and owns its state (progress, pause/cancel, outcome)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import events as marlin
from .drivers import Driver
from .errors import NodeClientError


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running job."""

    acked: int
    total: int
    elapsed: float
    temperatures: dict[str, Any]
    state: str
    heater_power: dict[str, float] = field(default_factory=dict)  # duty 0..1 per heater, where the firmware says

    @property
    def fraction(self) -> float:
        """Share of lines acknowledged, 0..1."""
        return self.acked / self.total if self.total else 1.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, None until there is a rate."""
        if self.acked == 0 or self.elapsed <= 0:
            return None
        return (self.total - self.acked) * self.elapsed / self.acked


@dataclass
class PrintResult:
    """How a job ended; `ok` only when the firmware acknowledged every line."""

    ok: bool
    state: str
    acked: int
    total: int
    elapsed: float
    reason: str | None = None
    resends: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok, "state": self.state, "acked": self.acked, "total": self.total,
            "elapsed_s": round(self.elapsed, 3), "reason": self.reason, "resends": self.resends,
            "warnings": len(self.warnings),
        }


class PrintRunner:
    """Runs one job on one driver; `pause`, `resume`, `cancel`, `emergency_stop` may come from other threads."""

    def __init__(
        self,
        driver: Driver,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        """`on_progress` is called at most every `progress_interval` seconds and once at the end; `on_warning` with
        each recoverable problem (resend, unknown command, ack timeout) as it happens."""
        self.driver, self.on_progress, self.progress_interval, self.clock = driver, on_progress, progress_interval, clock
        self.on_warning = on_warning
        self.state = "idle"
        self._cancel = threading.Event()
        self._start = 0.0

    def progress(self) -> Progress:
        """Current progress."""
        p = self.driver.protocol
        return Progress(p.job_lines_acked, p.job_lines_total, self.clock() - self._start, dict(p.temperatures), self.state,
                        dict(getattr(p, "heater_power", {})))

    def pause(self) -> None:
        """Hold the job after the lines already in flight."""
        self.driver.pause()
        self.state = "paused"

    def resume(self) -> None:
        """Continue a paused job."""
        self.driver.resume()
        self.state = "printing"

    def cancel(self) -> None:
        """Stop sending the job; lines in flight finish; the result is `cancelled` (not ok)."""
        self._cancel.set()
        self.driver.cancel()

    def emergency_stop(self) -> None:
        """Emergency stop now (M112 / Ctrl-X on the wire ahead of the queue)."""
        self.driver.emergency_stop()

    def run(self, commands: Sequence[str], timeout: float | None = None) -> PrintResult:
        """Stream `commands` and block until every line is acknowledged, the firmware halts, or `timeout`."""
        self._start = self.clock()
        self.state = "printing"
        resends = 0
        warnings: list[str] = []
        reason: str | None = None
        last_report = 0.0
        proto = self.driver.protocol
        lost: str | None = None
        try:
            self.driver.submit(commands)
        except NodeClientError as exc:  # the port failed as the first lines went out
            lost = str(exc)
        while lost is None:
            try:
                polled = self.driver.poll(0.05)
            except NodeClientError as exc:
                # The port went away (unplugged, peer closed) or failed: the print cannot go on; say why.
                lost = str(exc)
                break
            for ev in polled:
                if isinstance(ev, marlin.Sent) and ev.resend:
                    resends += 1
                elif isinstance(ev, marlin.Warning):
                    warnings.append(ev.text)
                    if self.on_warning:
                        self.on_warning(ev.text)
                elif isinstance(ev, marlin.Halted):
                    reason = ev.reason
            now = self.clock()
            if proto.halted:
                self.state = "failed"
                reason = reason or proto.halt_reason
                break
            if proto.idle:
                self.state = "cancelled" if self._cancel.is_set() else "done"
                break
            if timeout is not None and now - self._start > timeout:
                self.state = "failed"
                reason = f"job did not finish within {timeout:.0f} s"
                break
            if self.on_progress and now - last_report >= self.progress_interval:
                last_report = now
                self.on_progress(self.progress())
        if lost is not None:
            self.state, reason = "failed", lost
        if self.on_progress:
            self.on_progress(self.progress())
        acked, total = proto.job_lines_acked, proto.job_lines_total
        if self.state == "cancelled":
            total = len(commands)
        ok = self.state == "done" and acked == total == len(commands)
        return PrintResult(ok, self.state, acked, total, self.clock() - self._start, reason, resends, warnings)
