"""What every firmware protocol's host side shares: the job queue, host commands ahead of it, and the outbox."""
from __future__ import annotations

from collections import deque


class HostQueue:
    """Job lines waiting to be sent, host commands that go first, and the bytes to write now.

    A protocol calls `_init_queue()` when it is built and implements `_pump(now)`, which moves lines from the
    queues to the outbox as far as its flow control allows.
    """

    def _init_queue(self) -> None:
        self._out = bytearray()
        self._jobs: deque[str] = deque()  # job lines not yet sent
        self._priority: deque[str] = deque()  # host commands, sent before job lines
        self._jobs_total = 0

    def _pump(self, now: float) -> None:  # pragma: no cover - every protocol defines it
        raise NotImplementedError

    def enqueue(self, command: str) -> None:
        """Queue one job line (comments already stripped) for streaming."""
        self._jobs.append(command)
        self._jobs_total += 1

    def command(self, command: str, now: float) -> None:
        """Send a host command ahead of queued job lines (`M105`, `$X`, `G0 X0`, …)."""
        self._priority.append(command)
        self._pump(now)

    def cancel(self) -> int:
        """Drop every queued job line not yet sent; returns how many were dropped."""
        dropped = len(self._jobs)
        self._jobs.clear()
        self._jobs_total -= dropped
        return dropped

    def take_output(self) -> bytes:
        """Bytes the caller must write to the serial port now (empties the outbox)."""
        data = bytes(self._out)
        self._out.clear()
        return data

    @property
    def job_lines_total(self) -> int:
        """How many job lines were queued (minus those cancelled)."""
        return self._jobs_total
