"""What the node client accepts from its users: baud rates, durations, and G-code lines a firmware can take.

Line lengths are checked twice: before a port is opened, against what no firmware this client drives could take;
once the firmware has said what it is (`$I`/banner, M115), against its own buffer, before the first job line.

Kept free of heavy imports (no pyserial) so the CLI can check its options before opening anything.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import NodeConfigError

# Rates a serial driver can set (POSIX/Linux termios) plus the common firmware rates outside that list
# (250000 and 500000 are Marlin defaults on many boards). A figure outside it is almost always a typo.
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 76800, 115200, 230400, 250000,
              460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000)

# Marlin keeps a received line in a MAX_CMD_SIZE (96) byte buffer that also holds `N<number> ` and `*<checksum>`:
# 80 characters of command leave room for line numbers up to 9,999,999 and the terminating NUL. M115 does not report
# MAX_CMD_SIZE, so a build made with a larger one is declared by the operator (`max_cmd_size`, `--max-cmd-size`).
MARLIN_MAX_COMMAND = 80
MARLIN_CMD_BUFFER = 96
MARLIN_FRAME_ROOM = MARLIN_CMD_BUFFER - MARLIN_MAX_COMMAND  # `N9999999 `, `*255` and the NUL
# Classic GRBL (0.9, 1.1) stores a line without its spaces in LINE_BUFFER_SIZE (80) bytes, one of them the
# terminator; a longer line is refused with error:11 in the middle of a job.
GRBL_MAX_COMMAND = 79
# grblHAL: LINE_BUFFER_SIZE 257, "256 characters plus terminator" (grblHAL core protocol.h, unchanged since 2021 and
# in terjeio/grblHAL before); it keeps every character but leading spaces and control bytes, else error:11.
GRBLHAL_MAX_COMMAND = 256
# FluidNC reads a line into Channel::maxLine (255) bytes, but since v3.9.8 gc_execute_line refuses one longer than
# 127 characters with error:14 (Line too long), and older versions silently cut a line past 254: 127 for all.
FLUIDNC_MAX_COMMAND = 127
# The largest line any firmware this client drives could take (grblHAL's): all that can be refused unopened.
ANY_MAX_COMMAND = GRBLHAL_MAX_COMMAND
# GRBL streaming counts characters: a line and its newline must fit the serial receive buffer at once, and the
# host assumes 128 bytes when `[OPT:…]` does not say (grbl.GrblProtocol.rx_size).
GRBL_RX_BUFFER = 128


def check_baud(baud: object, field: str = "--baud") -> int:
    """Return `baud` when it is a rate a serial port and firmware use; a NodeConfigError naming `field` otherwise."""
    if isinstance(baud, bool) or not isinstance(baud, int) or baud not in BAUD_RATES:
        raise NodeConfigError(f"{field} {baud!r} is not a serial baud rate; use one the firmware is set to, "
                              "usually 115200 or 250000 (any of 300 … 4000000 from the standard list)")
    return baud


def check_seconds(value: float | None, field: str, *, allow_zero: bool = False) -> float | None:
    """Return a duration in seconds when it is finite and positive (or zero where allowed); None passes through."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        rule = "zero or more" if allow_zero else "more than zero"
        raise NodeConfigError(f"{field} {value!r} must be a number of seconds, {rule}")
    return value


@dataclass(frozen=True)
class LineLimit:
    """How many characters of one command a firmware takes, how it counts them, and why."""

    firmware: str  # as messages name it: "Grbl 1.1h.20190825", "grblHAL 1.1f", "any firmware this client drives"
    limit: int
    why: str
    spaces: bool = True  # False: spaces do not count (classic GRBL drops them before storing the line)

    def size(self, command: str) -> int:
        """The command's length as this firmware counts it."""
        return len(command) if self.spaces else len("".join(command.split()))

    def message(self, what: str, number: int, size: int) -> str:
        """The one-line refusal of `what`'s line `number`, `size` characters long."""
        counted = "characters" if self.spaces else "characters not counting spaces"
        return (f"{what} line {number} has {size} {counted}; {self.firmware} takes at most {self.limit} per line "
                f"({self.why}); shorten or split that line")


def check_max_cmd_size(value: int | None, family: str, field: str = "--max-cmd-size") -> int | None:
    """Return a Marlin MAX_CMD_SIZE the operator declared (None passes); a NodeConfigError naming `field` otherwise."""
    if value is None:
        return None
    if family != "marlin":
        raise NodeConfigError(f"{field} is Marlin's MAX_CMD_SIZE; {family} firmware reports what it takes: leave it out")
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 4096:
        raise NodeConfigError(f"{field} {value!r} must be the MAX_CMD_SIZE the firmware was built with, 32 … 4096 "
                              f"bytes (stock Marlin: {MARLIN_CMD_BUFFER})")
    return value


def _marlin_limit(name: str, max_cmd_size: int | None) -> LineLimit:
    if max_cmd_size:
        why = f"the {max_cmd_size}-byte MAX_CMD_SIZE declared for it also holds the line number and checksum"
    else:
        why = (f"its {MARLIN_CMD_BUFFER}-byte command buffer also holds the line number and checksum; M115 does not "
               "report MAX_CMD_SIZE, so declare a larger build's: --max-cmd-size or node.toml max_cmd_size")
    return LineLimit(name, (max_cmd_size or MARLIN_CMD_BUFFER) - MARLIN_FRAME_ROOM, why)


def unopened_limits(family: str, max_cmd_size: int | None = None) -> list[LineLimit]:
    """What can be refused before a port is opened: lines no firmware of `family` could take."""
    if family == "marlin" and max_cmd_size:  # the operator said what this machine's build takes
        return [_marlin_limit(f"Marlin with MAX_CMD_SIZE {max_cmd_size}", max_cmd_size)]
    return [LineLimit("any firmware this client drives", ANY_MAX_COMMAND,
                      f"grblHAL's {ANY_MAX_COMMAND}-character line buffer is the largest")]


def identified_limits(family: str, firmware: Mapping[str, str], max_cmd_size: int | None = None) -> list[LineLimit]:
    """What the firmware that answered (its `$I`/banner or M115 report) takes; every limit must hold."""
    name = (firmware.get("FIRMWARE_NAME") or ("Grbl" if family == "grbl" else "Marlin")).split(" (", 1)[0].strip()
    version = firmware.get("VERSION", "") if family == "grbl" else ""
    label = f"{name} {version}".strip()
    if family != "grbl":  # Marlin and firmware speaking its protocol: assume Marlin's buffer unless told
        return [_marlin_limit(label, max_cmd_size)]
    if name.lower() == "grblhal":
        limit = LineLimit(label, GRBLHAL_MAX_COMMAND, f"grblHAL's {GRBLHAL_MAX_COMMAND + 1}-byte line buffer, else "
                          "error:11")
    elif name.lower() == "fluidnc":
        limit = LineLimit(label, FLUIDNC_MAX_COMMAND, "FluidNC's G-code parser refuses longer lines with error:14")
    else:
        limit = LineLimit(label, GRBL_MAX_COMMAND, "GRBL's 80-byte line buffer, else error:11", spaces=False)
    rx = int(firmware.get("RX_BUFFER") or GRBL_RX_BUFFER)
    window = LineLimit(label, rx - 2, f"a line and its newline must fit its {rx}-byte serial receive buffer")
    if not limit.spaces:  # classic GRBL: both hold, as they count differently
        return [limit, window]
    return [min(limit, window, key=lambda lim: lim.limit)]  # the tighter one is the whole rule


def check_lines(commands: Sequence[tuple[int, str]], family: str, what: str,
                limits: Sequence[LineLimit] | None = None) -> None:
    """Refuse a (file line number, command) the firmware would choke on: too long, or holding control bytes.

    `limits` default to what can be said before the port is opened (`unopened_limits`); once the firmware has
    answered, pass `identified_limits` for its own.
    """
    if limits is None:
        limits = unopened_limits(family)
    for number, command in commands:
        bad = next((c for c in command if ord(c) < 32 and c != "\t" or ord(c) == 127), None)
        if bad is not None:
            raise NodeConfigError(f"{what} line {number} holds the control byte 0x{ord(bad):02x}; G-code is "
                                  "printable ASCII (a stray Ctrl-X resets GRBL): remove it")
        if family == "grbl" and (rt := next((c for c in command if c in "?!~"), None)) is not None:
            raise NodeConfigError(f"{what} line {number} holds {rt!r}, a GRBL real-time command that acts at once "
                                  "wherever it appears (status, feed hold, cycle start): remove it")
        for limit in limits:
            size = limit.size(command)
            if size > limit.limit:
                raise NodeConfigError(limit.message(what, number, size))
