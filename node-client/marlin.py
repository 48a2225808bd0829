"""Marlin/RepRap host protocol as a pure state machine: feed it received lines, take bytes to send and events.

No I/O and no clock of its own: callers pass `now` (monotonic seconds). Correctness rests on line numbers:
every line goes out as `N<n> <cmd>*<cs>`, the firmware rejects anything but `lastN + 1`, and the host resends
from its history exactly the line the firmware asks for, so no line is ever skipped or executed twice.
Flow control (how many lines are in flight) rests on counting `ok`s: one per line in ping-pong mode, a window
bounded by the firmware's receive buffer in buffered mode (ADVANCED_OK, `ok N<n> P<p> B<b>`). Accounting
slips (a lost `ok`, a firmware that answers an error without `ok`) are repaired by a numbered probe after
`ack_timeout`.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from .drivers import register
from .events import Acked, Busy, Capability, Event, FirmwareInfo, Halted, Message, Sent, Temperatures, Warning
from .gcode import frame
from .hostqueue import HostQueue

class State(Enum):
    """Where the protocol stands."""

    STREAMING = "streaming"
    PAUSED = "paused"
    HALTED = "halted"


@dataclass
class _InFlight:
    number: int
    size: int
    epoch: int


@dataclass
class _Line:
    command: str
    payload: bytes
    file_index: int | None  # position in the job queue, None for host-issued commands


# ---- parsing ------------------------------------------------------------------------------------------------

_RESEND = re.compile(r"^(?:resend|rs)\s*:?\s*N?:?\s*(\d+)", re.IGNORECASE)
_OK_N = re.compile(r"\bN(\d+)\b")
_OK_B = re.compile(r"\bB(\d+)\b")
_OK_P = re.compile(r"\bP(\d+)\b")
_LAST_LINE = re.compile(r"last line:?\s*(\d+)", re.IGNORECASE)
_TEMP = re.compile(r"(?:^|\s)([TBC]\d*|[A-Z]):\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*(-?\d+(?:\.\d+)?))?")
# Heater power in a temperature report: `@:` (hotend), `@0:`/`@1:` (each hotend), `B@:` (bed), `C@:` (chamber).
_POWER = re.compile(r"(?:^|\s)([BC]?)@(\d*):\s*(\d+(?:\.\d+)?)")
HEATER_POWER_MAX = 127  # Marlin and Prusa firmware report soft-PWM power 0..127 (PID output >> 1): 127 is full on
_FW_FIELD = re.compile(r"([A-Z_]+):(.*?)(?=\s+[A-Z_]+:|$)")
_CAP = re.compile(r"^Cap:([A-Z0-9_]+):([01])", re.IGNORECASE)
_BUSY = re.compile(r"^(?:echo:)?\s*busy\b", re.IGNORECASE)
_RESEND_ERRORS = ("checksum", "line number", "expected line", "last line", "format error", "missing")
_NONFATAL_ERRORS = ("unknown command", "cold extrusion")
MAX_LINE_BYTES = 96  # Marlin's MAX_CMD_SIZE: the framed line with its newline must fit


# commands that may run for minutes before their `ok`, reporting temperatures (not `busy:`) on older firmware
_BLOCKING = frozenset({"G4", "G28", "G29", "G33", "G34", "G76", "M0", "M1", "M109", "M190", "M191", "M303", "M400",
                       "M600"})


def parse_temperatures(line: str) -> dict[str, tuple[float, float | None]] | None:
    """Parse `T:210.0 /210.0 B:60 /60 @:0` style reports; None when the line holds no temperature."""
    text = line[2:].strip() if line.lower().startswith("ok") else line
    if "T:" not in text and "T0:" not in text:
        return None
    out: dict[str, tuple[float, float | None]] = {}
    for m in _TEMP.finditer(text):
        name = m.group(1)
        if name[0] not in "TBC" or "@" in name:
            continue
        target = float(m.group(3)) if m.group(3) is not None else None
        out[name] = (float(m.group(2)), target)
    return out or None


def parse_heater_power(line: str) -> dict[str, float]:
    """Heater power of a temperature report as a 0..1 duty per heater (`T`, `T0`…, `B`, `C`); empty when none."""
    out: dict[str, float] = {}
    for m in _POWER.finditer(line):
        name = (m.group(1) or "T") + m.group(2)
        out[name] = min(1.0, float(m.group(3)) / HEATER_POWER_MAX)
    return out


def parse_firmware_info(line: str) -> dict[str, str] | None:
    """Parse an M115 `FIRMWARE_NAME:… PROTOCOL_VERSION:…` line into its fields."""
    if "FIRMWARE_NAME:" not in line:
        return None
    return {k: v.strip() for k, v in _FW_FIELD.findall(line[line.index("FIRMWARE_NAME:") :])}


# ---- the state machine ----------------------------------------------------------------------------------


@register("marlin")
@dataclass
class MarlinProtocol(HostQueue):
    """Host side of the Marlin serial protocol; see the module docstring.

    rx_window: bytes the host may have in flight in buffered mode (Marlin's RX buffer is 128; keep one spare).
    max_lines: cap on lines in flight in buffered mode (the firmware's command buffer, learned from `B`).
    ack_timeout: seconds without any answer before probing; after `max_recoveries` silent probes it halts.
    poll_interval: M105 period when the firmware cannot autoreport; also the M155 interval.
    buffered: None = decide from ADVANCED_OK; True/False forces the mode.
    max_cmd_size: the firmware's MAX_CMD_SIZE (96 stock; M115 does not report it): a longer framed line halts.
    """

    rx_window: int = 127
    max_lines: int = 16
    ack_timeout: float = 10.0
    poll_interval: float = 2.0
    buffered: bool | None = None
    max_recoveries: int = 3
    history_size: int = 10_000
    max_cmd_size: int = MAX_LINE_BYTES
    state: State = State.STREAMING
    capabilities: dict[str, bool] = field(default_factory=dict)
    firmware: dict[str, str] = field(default_factory=dict)
    temperatures: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    heater_power: dict[str, float] = field(default_factory=dict)  # duty 0..1 per heater, from the last report
    halt_reason: str | None = None

    ESTOP = b"M112\n"
    BOOT_MARKERS = ("start",)

    def __post_init__(self) -> None:
        self._init_queue()
        self._history: dict[int, _Line] = {}
        self._next_number = 0  # number the next new line gets
        self._next_send = 0  # number of the next line to transmit (< _next_number while resending)
        self._confirmed = -1  # the firmware has every line <= this
        self._epoch = 0
        self._in_flight: deque[_InFlight] = deque()
        self._in_flight_bytes = 0
        self._reject_next_ok = False
        self._absorb_resend: int | None = None
        self._absorb_ok = False
        self._last_rx = 0.0
        self._recoveries = 0
        self._last_poll = 0.0
        self._poll_pending = False
        self._autoreport = False
        self._learned_lines = 1
        self._jobs_sent = 0
        self._file_acked = 0
        self._started = False
        self._now = 0.0

    # -- commands from the host side --

    def start(self, now: float) -> None:
        """Reset line numbering (`M110 N0`) and ask for the firmware report (`M115`)."""
        self._started = True
        self._now = now
        self._last_rx = now
        self._last_poll = now
        self._send_new("M110 N0", None, number=0)
        self._priority.append("M115")
        self._pump(now)

    def pause(self) -> None:
        """Stop feeding job lines; lines already in flight still complete, host commands still flow."""
        if self.state is State.STREAMING:
            self.state = State.PAUSED

    def resume(self, now: float) -> None:
        """Continue feeding job lines after `pause`."""
        if self.state is State.PAUSED:
            self.state = State.STREAMING
            self._pump(now)

    def emergency_stop(self) -> bytes:
        """Halt now: return `M112` for the caller to write immediately, ahead of anything queued."""
        self._halt("emergency stop (M112) sent by the host")
        self._out.clear()
        return self.ESTOP

    # -- status --

    @property
    def buffered_mode(self) -> bool:
        """True when streaming with a window of lines (ADVANCED_OK or forced)."""
        if self.buffered is not None:
            return self.buffered
        return bool(self.capabilities.get("ADVANCED_OK"))

    @property
    def halted(self) -> bool:
        """True once streaming stopped for good (see `halt_reason`)."""
        return self.state is State.HALTED

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing waiting to be (re)sent and nothing in flight."""
        return (
            not self._jobs
            and not self._priority
            and self._next_send >= self._next_number
            and not self._in_flight
            and self._confirmed >= self._next_number - 1
        )

    @property
    def job_lines_acked(self) -> int:
        """How many job lines the firmware has confirmed."""
        return self._file_acked

    @property
    def in_flight(self) -> int:
        """Lines on the wire without an answer yet."""
        return len(self._in_flight)

    # -- input from the firmware --

    def receive(self, line: str, now: float) -> list[Event]:
        """Process one line received from the firmware; returns the events it caused."""
        events: list[Event] = []
        line = line.strip().lstrip("\x00")
        if not line:
            return events
        low = line.lower()
        if self._answers(line, low) or self._blocking_in_flight():
            # Only an answer proves the firmware is working through our lines: temperature autoreports and
            # echo chatter keep coming while an `ok` is lost, and must not hold off recovery for ever (they do
            # count while a heat-up, homing or dwell is in flight, which reports instead of answering).
            self._last_rx = now
            if low != "wait":  # `wait` says the firmware holds none of our lines: no progress, so no reset
                self._recoveries = 0
        absorb, self._absorb_resend = self._absorb_resend, None

        if low.startswith("ok"):
            if self._absorb_ok:
                self._absorb_ok = False
            else:
                self._on_ok(line, events)
            temps = parse_temperatures(line)
            if temps:
                self._on_temps(temps, events, line)
        elif _RESEND.match(line):
            number = int(_RESEND.match(line).group(1))  # type: ignore[union-attr]
            if absorb is not None and number == absorb:
                self._absorb_ok = True  # real Marlin follows its line error with Resend + ok; already handled
            else:
                self._on_resend(number, events, consumes=False)
        elif low.startswith("error") or low.startswith("!!") or low.startswith("fatal"):
            self._on_error(line, events)
        elif _BUSY.match(line):
            events.append(Busy(line))
        elif low == "wait":
            if self._in_flight:
                events.extend(self._recover(now, "firmware says `wait` with lines in flight"))
        elif _CAP.match(line):
            m = _CAP.match(line)
            name, enabled = m.group(1).upper(), m.group(2) == "1"  # type: ignore[union-attr]
            self.capabilities[name] = enabled
            events.append(Capability(name, enabled))
            if name == "AUTOREPORT_TEMP" and enabled and not self._autoreport:
                self._autoreport = True
                self._priority.append(f"M155 S{max(1, round(self.poll_interval))}")
        elif (info := parse_firmware_info(line)) is not None:
            self.firmware = info
            events.append(FirmwareInfo(info))
        elif (temps := parse_temperatures(line)) is not None:
            self._on_temps(temps, events, line)
        else:
            if "emergency" in low and "kill" in low and self.state is not State.HALTED:
                self._halt(line)
                events.append(Halted(line))
            else:
                events.append(Message(line))
        self._pump(now, events)
        return events

    def tick(self, now: float) -> list[Event]:
        """Advance time: ack timeouts (probe and resend) and M105 polling. Call a few times a second."""
        events: list[Event] = []
        if self.state is State.HALTED or not self._started:
            return events
        if self._in_flight and now - self._last_rx > self.ack_timeout:
            events.extend(self._recover(now, f"no answer for {now - self._last_rx:.1f} s"))
        elif (
            not self._autoreport
            and not self._poll_pending
            and self.poll_interval > 0
            and now - self._last_poll >= self.poll_interval
            and "FIRMWARE_NAME" in self.firmware
        ):
            self._last_poll = now
            self._poll_pending = True
            self._priority.append("M105")
        self._pump(now, events)
        return events

    # -- internals --

    @staticmethod
    def _answers(line: str, low: str) -> bool:
        return (low.startswith(("ok", "error", "!!", "fatal", "start", "wait")) or _RESEND.match(line) is not None
                or _BUSY.match(line) is not None)

    def _blocking_in_flight(self) -> bool:
        if not self._in_flight:
            return False
        entry = self._history.get(self._in_flight[0].number)
        return entry is not None and entry.command.split(" ", 1)[0].upper() in _BLOCKING

    def _on_temps(self, temps: dict[str, tuple[float, float | None]], events: list[Event], line: str = "") -> None:
        self._poll_pending = False
        self.temperatures.update(temps)
        self.heater_power.update(parse_heater_power(line))
        events.append(Temperatures(temps))

    def _on_ok(self, line: str, events: list[Event]) -> None:
        m_n = _OK_N.search(line)
        m_b = _OK_B.search(line)
        if m_b and _OK_P.search(line):
            if self.buffered is None and not self.capabilities.get("ADVANCED_OK"):
                self.capabilities["ADVANCED_OK"] = True
            self._learned_lines = min(self.max_lines, max(self._learned_lines, int(m_b.group(1)) + 1))
        if not self._in_flight:
            return  # a stray ok (e.g. after a probe already settled things)
        entry = self._in_flight.popleft()
        self._in_flight_bytes -= entry.size
        if self._reject_next_ok:
            self._reject_next_ok = False
        elif entry.epoch == self._epoch and entry.number > self._confirmed:
            self._confirm(entry.number, events)
        if m_n:
            n = int(m_n.group(1))
            if self._confirmed < n < self._next_send:
                self._confirm(n, events)
            while self._in_flight and self._in_flight[0].number <= n and self._in_flight[0].epoch == self._epoch:
                gone = self._in_flight.popleft()  # its own ok was lost; the firmware is past it
                self._in_flight_bytes -= gone.size

    def _confirm(self, number: int, events: list[Event]) -> None:
        for n in range(self._confirmed + 1, number + 1):
            entry = self._history.get(n)
            if entry is not None and entry.file_index is not None:
                self._file_acked += 1
        self._confirmed = number
        for old in [k for k in self._history if k < number - self.history_size]:
            del self._history[old]
        events.append(Acked(number, self._file_acked))

    def _on_resend(self, number: int, events: list[Event], consumes: bool) -> None:
        """The firmware wants every line from `number` again. `consumes`: no `ok` will follow this request."""
        owner = self._in_flight[0] if self._in_flight else None
        if consumes:
            if self._in_flight:
                gone = self._in_flight.popleft()
                self._in_flight_bytes -= gone.size
        else:
            self._reject_next_ok = True
        if owner is not None and owner.epoch != self._epoch:
            return  # answer to a line sent before the last rewind: already being resent
        if number - 1 > self._confirmed and number <= self._next_send:
            self._confirm(number - 1, events)
        if number > self._next_number:
            self._halt(f"firmware asked to resend line {number}, which was never sent (next is {self._next_number})")
            events.append(Halted(self.halt_reason or ""))
            return
        if number not in self._history and number < self._next_number:
            self._halt(f"firmware asked to resend line {number}, no longer in the history; restart the print")
            events.append(Halted(self.halt_reason or ""))
            return
        if number < self._next_send:
            events.append(Warning(f"resend requested from line {number} ({self._next_send - number} lines)"))
            self._next_send = number
            self._epoch += 1

    def _on_error(self, line: str, events: list[Event]) -> None:
        low = line.lower()
        body = low.split(":", 1)[1] if ":" in low else low
        if low.startswith("error") and any(k in body for k in _RESEND_ERRORS):
            events.append(Warning(line))
            m = _LAST_LINE.search(line)
            if m and "no line number" in body:
                # Sent without Resend/ok by some firmwares: resend from the next line ourselves.
                number = int(m.group(1)) + 1
                self._on_resend(number, events, consumes=True)
                self._absorb_resend = number
            return
        if low.startswith("error") and any(k in body for k in _NONFATAL_ERRORS):
            events.append(Warning(line))
            return
        if self.state is not State.HALTED:
            self._halt(line)
            events.append(Halted(f"firmware reported a fatal error: {line}"))

    def _halt(self, reason: str) -> None:
        self.state = State.HALTED
        self.halt_reason = reason
        self._jobs.clear()
        self._priority.clear()

    def _recover(self, now: float, why: str) -> list[Event]:
        self._recoveries += 1
        if self._recoveries > self.max_recoveries:
            self._halt(f"firmware not answering ({why}) after {self.max_recoveries} probes; check cable and power")
            return [Halted(self.halt_reason or "", timeout=True)]
        # Forget the in-flight accounting and send again from the first unconfirmed line: if the firmware
        # lacks it, it takes it; if only its ok was lost, the firmware rejects the duplicate and names the
        # line it wants. With nothing unconfirmed, a numbered M105 probe re-synchronises the ok count.
        self._in_flight.clear()
        self._in_flight_bytes = 0
        self._reject_next_ok = False
        self._epoch += 1
        self._last_rx = now
        if self._confirmed + 1 < self._next_number:
            self._next_send = self._confirmed + 1
            what = f"resending from line {self._next_send}"
        else:
            self._send_new("M105", None)
            what = "probing with M105"
        return [Warning(f"{why}; {what} (recovery {self._recoveries})")]

    def _window_open(self, size: int) -> bool:
        if not self._in_flight:
            return True
        if not self.buffered_mode:
            return False
        lines = self.max_lines if self.buffered else self._learned_lines
        return len(self._in_flight) < lines and self._in_flight_bytes + size <= self.rx_window

    def _send_new(self, command: str, file_index: int | None, number: int | None = None) -> None:
        if number is not None:
            self._next_number = number
            self._next_send = number
            self._confirmed = number - 1
        n = self._next_number
        self._history[n] = _Line(command, frame(n, command), file_index)
        self._next_number += 1
        self._transmit(n, resend=False)

    def _transmit(self, n: int, resend: bool) -> Sent:
        entry = self._history[n]
        if not self._in_flight:
            self._last_rx = max(self._last_rx, self._now)  # the ack clock starts when a line goes out
        self._out += entry.payload
        self._in_flight.append(_InFlight(n, len(entry.payload), self._epoch))
        self._in_flight_bytes += len(entry.payload)
        self._next_send = n + 1
        return Sent(n, entry.command, resend)

    def _pump(self, now: float, events: list[Event] | None = None) -> None:
        self._now = now
        if self.state is State.HALTED or not self._started:
            return
        while True:
            if self._next_send < self._next_number:
                entry = self._history[self._next_send]
                if not self._window_open(len(entry.payload)):
                    return
                sent = self._transmit(self._next_send, resend=True)
            else:
                if self._priority:
                    command, index = self._priority[0], None
                elif self._jobs and self.state is State.STREAMING:
                    command, index = self._jobs[0], self._jobs_sent
                else:
                    return
                size = len(frame(self._next_number, command))
                if size > self.max_cmd_size:
                    # Marlin drops a line longer than its buffer without an answer: stop with the reason.
                    self._halt(f"line {command[:40]!r}… is {size - 1} characters framed; Marlin's command buffer "
                               f"takes {self.max_cmd_size - 1} (MAX_CMD_SIZE {self.max_cmd_size}); shorten or split it")
                    if events is not None:
                        events.append(Halted(self.halt_reason or ""))
                    return
                if not self._window_open(size):
                    return
                if index is None:
                    self._priority.popleft()
                else:
                    self._jobs.popleft()
                    self._jobs_sent += 1
                self._send_new(command, index)
                sent = Sent(self._next_number - 1, command)
            if events is not None:
                events.append(sent)
