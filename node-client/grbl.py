"""GRBL host protocol as a pure state machine: character counting against the RX buffer, real-time commands.

GRBL acknowledges every line with `ok` or `error:N` and has no line numbers or resends, so the host keeps the
bytes of unacknowledged lines in flight within GRBL's serial receive buffer (128 bytes; `[OPT:…,…,RX]` can say
otherwise). Real-time commands (`?` status, `!` feed hold, `~` cycle start, Ctrl-X soft reset) bypass the
buffer. An `error:N` (line rejected) or `ALARM:N` stops the job with a feed hold; silence past `ack_timeout`
with lines in flight stops it too (no line may be sent twice, so there is no blind resend).
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from .drivers import register
from .events import Acked, Event, FirmwareInfo, Halted, Message, Sent, Status, Warning
from .hostqueue import HostQueue

ERRORS = {
    1: "G-code words consist of a letter and a value; letter was not found",
    2: "numeric value format is not valid or missing an expected value",
    3: "grbl '$' system command was not recognized or supported",
    4: "negative value received for an expected positive value",
    5: "homing cycle is not enabled via settings",
    6: "minimum step pulse time must be greater than 3 microseconds",
    7: "EEPROM read failed; reset and restored to default values",
    8: "'$' command cannot be used unless grbl is IDLE",
    9: "G-code locked out during alarm or jog state; unlock with $X or home with $H",
    10: "soft limits cannot be enabled without homing also enabled",
    11: "max characters per line exceeded; line was not processed",
    12: "'$' setting value exceeds the maximum step rate supported",
    13: "safety door detected as opened and door state initiated",
    14: "build info or startup line exceeded EEPROM line length limit",
    15: "jog target exceeds machine travel",
    16: "jog command with no '=' or contains prohibited g-code",
    17: "laser mode requires PWM output",
    20: "unsupported or invalid g-code command found in block",
    21: "more than one g-code command from same modal group found in block",
    22: "feed rate has not yet been set or is undefined",
    23: "g-code command in block requires an integer value",
    24: "two g-code commands that both require the use of the XYZ axis words were detected in the block",
    25: "a g-code word was repeated in the block",
    26: "a g-code command implicitly or explicitly requires XYZ axis words in the block, but none were detected",
    27: "N line number value is not within the valid range of 1 - 9,999,999",
    28: "a g-code command was sent, but is missing some required P or L value words in the line",
    29: "grbl supports six work coordinate systems G54-G59; G59.1, G59.2, and G59.3 are not supported",
    30: "the G53 g-code command requires either a G0 seek or G1 feed motion mode to be active",
    31: "there are unused axis words in the block and G80 motion mode cancel is active",
    32: "a G2 or G3 arc was commanded but there are no XYZ axis words in the selected plane to trace the arc",
    33: "the motion command has an invalid target",
    34: "a G2 or G3 arc, traced with the radius definition, had a mathematical error",
    35: "a G2 or G3 arc, traced with the offset definition, is missing the IJK offset word",
    36: "there are unused, leftover g-code words that aren't used by any command in the block",
    37: "the G43.1 dynamic tool length offset command cannot apply an offset to an axis other than its configured axis",
    38: "tool number greater than max supported value",
}

ALARMS = {
    1: "hard limit triggered; position likely lost, re-home with $H",
    2: "G-code motion target exceeds machine travel (soft limit); unlock with $X",
    3: "reset while in motion; position likely lost, re-home with $H",
    4: "probe fail: probe is not in the expected initial state",
    5: "probe fail: probe did not contact the workpiece",
    6: "homing fail: reset during active homing cycle",
    7: "homing fail: safety door opened during homing",
    8: "homing fail: could not clear the limit switch; check wiring and pull-off setting",
    9: "homing fail: could not find the limit switch within the search distance",
    # grblHAL's additions
    10: "emergency stop input asserted; release it and reset",
    11: "homing required before motion; home with $H",
    12: "a limit switch is engaged; clear it before continuing",
    13: "probe protection triggered",
    14: "spindle did not reach the programmed speed in time",
    15: "homing fail: could not find the second limit switch of an auto-squared axis",
    16: "power-on self test failed",
    17: "motor fault",
}

_STATUS = re.compile(r"^<([^|,>]+)[|,]?(.*)>$")
# `Grbl 1.1h ['$' for help]`, `GrblHAL 1.1f ['$' or '$HELP' for help]`, `Grbl 3.7 [FluidNC v3.7.8 (wifi) '$' for help]`
_BANNER = re.compile(r"^(Grbl(?:HAL)?)\s+(\S+)(?:\s+\[(\w+)\s+(v?[\w.\-]+))?", re.IGNORECASE)
# `[OPT:V,15,128]`; grblHAL adds fields (`[OPT:VNMSL,35,1024,3,0]`), some ports leave the sizes out
_OPT = re.compile(r"^\[OPT:([^,\]]*)(?:,(\d+))?(?:,(\d+))?")
_VER09 = re.compile(r"^\[(\d+\.\d+[a-z]?\.\d{8}):(.*)\]$")  # GRBL 0.9's `$I`: `[0.9j.20160726:]`


def parse_status(line: str) -> Status | None:
    """Parse `<Idle|MPos:0.000,0.000,0.000|FS:0,0>` (1.1) or `<Idle,MPos:…,WPos:…>` (0.9)."""
    m = _STATUS.match(line.strip())
    if not m:
        return None
    state, rest = m.group(1), m.group(2)
    fields: dict[str, str] = {}
    if "|" in rest or (rest and ":" in rest and "|" not in line):
        parts = rest.split("|") if "|" in line else re.split(r",(?=[A-Za-z]+:)", rest)
        for part in parts:
            if ":" in part:
                k, v = part.split(":", 1)
                fields[k] = v
    return Status(state, fields)


@register("grbl")
@dataclass
class GrblProtocol(HostQueue):
    """Host side of GRBL's serial interface; see the module docstring.

    rx_size: GRBL's serial RX buffer (128 on an Uno; updated from `[OPT:…]`).
    status_interval: seconds between `?` status polls (0 disables).
    ack_timeout: seconds of total silence with lines in flight before the job is stopped.
    """

    rx_size: int = 128
    status_interval: float = 0.5
    ack_timeout: float = 30.0
    firmware: dict[str, str] = field(default_factory=dict)
    capabilities: dict[str, bool] = field(default_factory=dict)
    temperatures: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    status: Status | None = None
    halt_reason: str | None = None
    errors: list[str] = field(default_factory=list)

    ESTOP = b"\x18"
    BOOT_MARKERS = ("grbl",)

    def __post_init__(self) -> None:
        self._init_queue()
        self._in_flight: deque[tuple[int, bool, str]] = deque()  # (bytes, is_job_line, command)
        self._in_flight_bytes = 0
        self._halted = False
        self._paused = False
        self._started = False
        self._sent = 0
        self._jobs_acked = 0
        self._acked = 0
        self._last_rx = 0.0
        self._last_status = 0.0
        self._now = 0.0

    # -- host side --

    def start(self, now: float) -> None:
        """Ask for the build info (`$I`) and start status polling."""
        self._started = True
        self._last_rx = self._last_status = self._now = now
        self._priority.append("$I")
        self._pump(now)

    def realtime(self, byte: bytes) -> None:
        """Queue a real-time command (`?`, `!`, `~`, `\\x18`); it bypasses the RX buffer count."""
        self._out += byte

    def unlock(self, now: float) -> None:
        """Clear an alarm lock (`$X`) so streaming can continue; position may be wrong: re-home if unsure."""
        self._halted = False
        self.halt_reason = None
        self.command("$X", now)

    def soft_reset(self) -> None:
        """Ctrl-X: GRBL stops at once and empties its buffers; everything in flight is lost (job stops)."""
        self._out += b"\x18"
        self._in_flight.clear()
        self._in_flight_bytes = 0
        self._halt("soft reset (Ctrl-X) sent by the host")

    def pause(self) -> None:
        """Feed hold (`!`) and stop feeding lines."""
        self._paused = True
        self._out += b"!"

    def resume(self, now: float) -> None:
        """Cycle start (`~`) and continue feeding."""
        if self._paused:
            self._paused = False
            self._out += b"~"
            self._pump(now)

    def emergency_stop(self) -> bytes:
        """Halt: return Ctrl-X (soft reset) for the caller to write at once."""
        self._halt("emergency stop (Ctrl-X soft reset) sent by the host")
        self._out.clear()
        self._in_flight.clear()
        self._in_flight_bytes = 0
        return self.ESTOP

    # -- status --

    @property
    def halted(self) -> bool:
        """True once the job stopped for good (error, alarm, reset, silence)."""
        return self._halted

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing unacknowledged."""
        return not self._jobs and not self._priority and not self._in_flight

    @property
    def job_lines_acked(self) -> int:
        """Job lines GRBL answered `ok`."""
        return self._jobs_acked

    @property
    def in_flight_bytes(self) -> int:
        """Bytes sent but not yet acknowledged (always <= rx_size - 1)."""
        return self._in_flight_bytes

    # -- firmware side --

    def receive(self, line: str, now: float) -> list[Event | Status]:
        """Process one received line; returns events."""
        events: list[Event | Status] = []
        line = line.strip()
        self._last_rx = now
        if not line:
            return events
        low = line.lower()
        if low == "ok":
            self._ack(events)
        elif low.startswith("error:"):
            code = line.split(":", 1)[1].strip()
            command = self._ack(events, ok=False)
            if code.isdigit():
                msg = f"GRBL error:{code} ({ERRORS.get(int(code), 'unknown error code')}) on line {command!r}"
            else:  # GRBL 0.9 and older spell the error out: `error: Bad number format`
                msg = f"GRBL error: {code} on line {command!r}"
            self.errors.append(msg)
            self._out += b"!"  # feed hold: the job cannot continue with a rejected line
            self._halt(msg)
            events.append(Halted(msg))
        elif low.startswith("alarm:"):
            code = line.split(":", 1)[1].strip()
            if code.isdigit():
                msg = f"GRBL ALARM:{code} ({ALARMS.get(int(code), 'unknown alarm code')})"
            else:  # GRBL 0.9: `ALARM: Hard/soft limit`
                msg = f"GRBL ALARM: {code}"
            self._halt(msg)
            events.append(Halted(msg))
        elif line.startswith("<"):
            status = parse_status(line)
            if status is not None:
                self.status = status
                events.append(status)
        elif (m := _BANNER.match(line)) is not None:
            fork = m.group(3)
            if fork and fork.lower() != "grbl":  # FluidNC says which GRBL protocol it speaks and what it is
                self.firmware.update({"FIRMWARE_NAME": fork, "VERSION": m.group(4), "GRBL_VERSION": m.group(2)})
            else:
                self.firmware.update({"FIRMWARE_NAME": m.group(1), "VERSION": m.group(2)})
            if self._in_flight and not self._jobs_acked and not any(job for _, job, _ in self._in_flight):
                # A late boot banner (the board was still resetting after the port opened): the host commands sent
                # into the reset were lost, nothing of the job was; send them again.
                self._priority.extendleft(reversed([command for _, _, command in self._in_flight]))
                self._in_flight.clear()
                self._in_flight_bytes = 0
                events.append(Warning("GRBL booted after host commands were sent; sending them again"))
            elif self._in_flight or self._jobs_acked:
                # GRBL rebooted under us: whatever was in its buffer is gone
                self._in_flight.clear()
                self._in_flight_bytes = 0
                if not self._halted:
                    self._halt("GRBL reset unexpectedly (banner received mid-job)")
                    events.append(Halted(self.halt_reason or ""))
            events.append(FirmwareInfo(dict(self.firmware)))
        elif line.startswith("[VER:"):
            self.firmware.setdefault("FIRMWARE_NAME", "Grbl")
            version, _, build = line[5:].rstrip("]").partition(":")
            if " " in version:  # FluidNC: `[VER:3.7 FluidNC v3.7.8:]`
                grbl_version, _, rest = version.partition(" ")
                self.firmware["GRBL_VERSION"] = grbl_version
                name, _, fork_version = rest.partition(" ")
                self.firmware.update({"FIRMWARE_NAME": name, "VERSION": fork_version or grbl_version})
            else:
                self.firmware["VERSION"] = version
            if build:
                self.firmware["BUILD_INFO"] = build
            events.append(FirmwareInfo(dict(self.firmware)))
        elif (m := _VER09.match(line)) is not None:
            self.firmware.setdefault("FIRMWARE_NAME", "Grbl")
            self.firmware["VERSION"] = m.group(1)
            if m.group(2):
                self.firmware["BUILD_INFO"] = m.group(2)
            events.append(FirmwareInfo(dict(self.firmware)))
        elif (m := _OPT.match(line)) is not None:
            self.firmware["OPTIONS"] = m.group(1)
            if m.group(2):
                self.firmware["BLOCK_BUFFER"] = m.group(2)
            if m.group(3) and int(m.group(3)) >= 16:  # a smaller figure is not a receive buffer: keep the default
                self.rx_size = int(m.group(3))
                self.firmware["RX_BUFFER"] = m.group(3)
            for code in m.group(1):
                self.capabilities[f"OPT_{code}"] = True
            events.append(FirmwareInfo(dict(self.firmware)))
        elif line.startswith("[FIRMWARE:"):  # grblHAL names itself in `$I`
            self.firmware["FIRMWARE_NAME"] = line[10:].rstrip("]")
            events.append(FirmwareInfo(dict(self.firmware)))
        elif "'$X' to unlock" in line or "'$x' to unlock" in low:  # 1.1: `[MSG:'$H'|'$X' to unlock]`; 0.9: no MSG:
            events.append(Warning(f"GRBL is locked: {line}; run with --unlock (sends $X) or home ($H)"))
        else:
            events.append(Message(line))
        self._pump(now, events)
        return events

    def tick(self, now: float) -> list[Event | Status]:
        """Advance time: status polls and the silence watchdog."""
        events: list[Event | Status] = []
        if not self._started or self._halted:
            return events
        if self._in_flight and now - self._last_rx > self.ack_timeout:
            self._halt(f"GRBL silent for {now - self._last_rx:.0f} s with lines in flight; check the connection")
            self._out += b"!"
            events.append(Halted(self.halt_reason or "", timeout=True))
            return events
        if self.status_interval > 0 and now - self._last_status >= self.status_interval:
            self._last_status = now
            self._out += b"?"
        self._pump(now, events)
        return events

    # -- internals --

    def _halt(self, reason: str) -> None:
        self._halted = True
        self.halt_reason = reason
        self._jobs.clear()
        self._priority.clear()

    def _ack(self, events: list[Event | Status], ok: bool = True) -> str | None:
        if not self._in_flight:
            events.append(Warning("GRBL answered with nothing in flight (ignored)"))
            return None
        size, is_job, command = self._in_flight.popleft()
        self._in_flight_bytes -= size
        self._acked += 1
        if ok and is_job:
            self._jobs_acked += 1
            events.append(Acked(self._acked, self._jobs_acked))
        return command

    def _pump(self, now: float, events: list[Event | Status] | None = None) -> None:
        self._now = now
        if self._halted or not self._started:
            return
        while True:
            if self._priority:
                command, is_job = self._priority[0], False
            elif self._jobs and not self._paused:
                command, is_job = self._jobs[0], True
            else:
                return
            payload = command.encode("ascii") + b"\n"
            if len(payload) > self.rx_size - 1:
                self._halt(f"line longer than GRBL's {self.rx_size}-byte buffer: {command[:40]!r}…")
                if events is not None:
                    events.append(Halted(self.halt_reason or ""))
                return
            if self._in_flight_bytes + len(payload) > self.rx_size - 1:
                return
            (self._jobs if is_job else self._priority).popleft()
            self._out += payload
            self._in_flight.append((len(payload), is_job, command))
            self._in_flight_bytes += len(payload)
            self._sent += 1
            if events is not None:
                events.append(Sent(self._sent, command))
