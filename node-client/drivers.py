"""Machine drivers: a host protocol (Marlin, GRBL, …) bound to a transport, registered by firmware name."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .errors import FirmwareTimeoutError, NodeConfigError
from .serial_transport import Transport


class HostProtocol(Protocol):
    """What a driver needs of a pure protocol state machine (see marlin.MarlinProtocol)."""

    ESTOP: bytes
    BOOT_MARKERS: tuple[str, ...]
    firmware: dict[str, str]
    capabilities: dict[str, bool]
    temperatures: dict[str, Any]
    halt_reason: str | None

    def start(self, now: float) -> None: ...
    def enqueue(self, command: str) -> None: ...
    def command(self, command: str, now: float) -> None: ...
    def receive(self, line: str, now: float) -> list[Any]: ...
    def tick(self, now: float) -> list[Any]: ...
    def take_output(self) -> bytes: ...
    def emergency_stop(self) -> bytes: ...
    def pause(self) -> None: ...
    def resume(self, now: float) -> None: ...
    def cancel(self) -> int: ...

    @property
    def idle(self) -> bool: ...
    @property
    def halted(self) -> bool: ...
    @property
    def job_lines_acked(self) -> int: ...
    @property
    def job_lines_total(self) -> int: ...


_REGISTRY: dict[str, Callable[..., HostProtocol]] = {}


def register(name: str) -> Callable[[Callable[..., HostProtocol]], Callable[..., HostProtocol]]:
    """Class decorator: make a protocol available as firmware `name` (`--firmware name`)."""

    def deco(factory: Callable[..., HostProtocol]) -> Callable[..., HostProtocol]:
        _REGISTRY[name] = factory
        return factory

    return deco


def firmware_names() -> list[str]:
    """Names of every registered firmware family."""
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    from . import grbl, marlin  # noqa: F401 - registration side effect


def create_protocol(name: str, **options: Any) -> HostProtocol:
    """Build the protocol registered as `name`; unknown names and options are errors, not silently ignored."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise NodeConfigError(f"--firmware {name!r} is not known; choose one of {', '.join(sorted(_REGISTRY))}") from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise NodeConfigError(f"bad option for firmware {name!r}: {exc}") from None


class Driver:
    """One machine: a protocol state machine pumped against a transport. Thread-safe."""

    def __init__(
        self,
        transport: Transport,
        protocol: HostProtocol,
        *,
        clock: Callable[[], float] = time.monotonic,
        boot_wait: float = 2.0,
    ) -> None:
        """Bind `protocol` to `transport`; `boot_wait` is how long to wait for the firmware's boot banner."""
        self.transport, self.protocol, self.clock, self.boot_wait = transport, protocol, clock, boot_wait
        self._lock = threading.RLock()
        self.log: list[Any] = []

    def _flush(self) -> None:
        self.transport.write(self.protocol.take_output())

    def connect(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the boot banner, reset line numbering, ask for the firmware's identity; return it."""
        deadline = self.clock() + self.boot_wait
        while self.clock() < deadline:
            line = self.transport.read_line(0.05)
            if line is None:
                continue
            with self._lock:
                self.log.extend(self.protocol.receive(line, self.clock()))
            if any(line.lower().startswith(m) for m in self.protocol.BOOT_MARKERS):
                break
        with self._lock:
            self.protocol.start(self.clock())
            self._flush()
        deadline = self.clock() + timeout
        while not (self.protocol.idle and self.protocol.firmware):
            if self.protocol.halted:
                break
            if self.clock() > deadline:
                raise FirmwareTimeoutError(
                    f"no firmware report within {timeout:.0f} s; check --baud (115200 and 250000 are common), "
                    "the --firmware family and that the machine is powered"
                )
            self.poll(0.05)
        return self.identity()

    def identity(self) -> dict[str, Any]:
        """The firmware's report and capabilities as learned so far."""
        return {"firmware": dict(self.protocol.firmware), "capabilities": dict(self.protocol.capabilities)}

    def submit(self, commands: Iterable[str]) -> None:
        """Queue job lines for streaming."""
        with self._lock:
            for c in commands:
                self.protocol.enqueue(c)
            self.protocol.tick(self.clock())
            self._flush()

    def command(self, command: str) -> None:
        """Send one host command ahead of the job (e.g. `M105`, `$X`)."""
        with self._lock:
            self.protocol.command(command, self.clock())
            self._flush()

    def poll(self, timeout: float) -> list[Any]:
        """Wait up to `timeout` for a line, feed it and the clock to the protocol, write what it says."""
        line = self.transport.read_line(timeout)
        events: list[Any] = []
        with self._lock:
            now = self.clock()
            while line is not None:
                events.extend(self.protocol.receive(line, now))
                line = self.transport.read_line(0)
            events.extend(self.protocol.tick(now))
            self._flush()
        self.log.extend(events)
        return events

    def unlock(self) -> None:
        """Clear an alarm lock (GRBL `$X`); a protocol without locks ignores it."""
        with self._lock:
            unlock = getattr(self.protocol, "unlock", None)
            if unlock is not None:
                unlock(self.clock())
                self._flush()

    def pause(self) -> None:
        """Hold the job (GRBL: feed hold `!` too)."""
        with self._lock:
            self.protocol.pause()
            self._flush()

    def resume(self) -> None:
        """Continue the job."""
        with self._lock:
            self.protocol.resume(self.clock())
            self._flush()

    def cancel(self) -> int:
        """Drop the job lines not yet sent; returns how many."""
        with self._lock:
            return self.protocol.cancel()

    def emergency_stop(self) -> None:
        """Put the emergency stop on the wire at once (M112 / Ctrl-X), ahead of anything queued."""
        self.transport.write(self.protocol.ESTOP)
        with self._lock:
            self.protocol.emergency_stop()
            self.protocol.take_output()

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()
