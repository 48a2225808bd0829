"""Events the host protocols emit (Marlin and GRBL share them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """A line went on the wire (`resend` when it repeats a line the firmware asked for again)."""

    number: int
    command: str
    resend: bool = False


@dataclass(frozen=True)
class Acked:
    """The firmware confirmed every line up to `number`; `file_lines` is how many queued job lines that covers."""

    number: int
    file_lines: int


@dataclass(frozen=True)
class Temperatures:
    """A temperature report: heater -> (actual, target or None)."""

    readings: dict[str, tuple[float, float | None]]


@dataclass(frozen=True)
class FirmwareInfo:
    """The M115 report's fields (FIRMWARE_NAME, PROTOCOL_VERSION, MACHINE_TYPE, …)."""

    fields: dict[str, str]


@dataclass(frozen=True)
class Capability:
    """One `Cap:NAME:0|1` line of the M115 report."""

    name: str
    enabled: bool


@dataclass(frozen=True)
class Busy:
    """The firmware is alive but busy (`busy:` / `echo:busy`)."""

    text: str


@dataclass(frozen=True)
class Warning:  # noqa: A001 - an event name, not the builtin
    """Something recoverable happened (resend requested, unknown command, ack timeout)."""

    text: str


@dataclass(frozen=True)
class Message:
    """Any other line from the firmware (echo:, //action:, start, …)."""

    text: str


@dataclass(frozen=True)
class Halted:
    """Streaming stopped for good: fatal firmware error, kill, emergency stop or no answer."""

    reason: str
    timeout: bool = False


Event = Sent | Acked | Temperatures | FirmwareInfo | Capability | Busy | Warning | Message | Halted
# Status is defined below (GRBL); Event lists the Marlin ones.




@dataclass(frozen=True)
class Status:
    """A GRBL status report: machine state (Idle, Run, Hold:0, Alarm, …) and its fields (MPos, FS, Bf, …)."""

    state: str
    fields: dict[str, str]
