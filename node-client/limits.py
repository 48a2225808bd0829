"""What the node client accepts from its users before it touches a machine: baud rates, G-code line lengths.

Kept free of heavy imports (no pyserial) so the CLI can check its options before opening anything.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import NodeConfigError

# Rates a serial driver can set (POSIX/Linux termios) plus the common firmware rates outside that list
# (250000 and 500000 are Marlin defaults on many boards). A figure outside it is almost always a typo.
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 76800, 115200, 230400, 250000,
              460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000)

# Marlin keeps a received line in a MAX_CMD_SIZE (96) byte buffer that also holds `N<number> ` and `*<checksum>`:
# 80 characters of command leave room for line numbers up to 9,999,999 and the terminating NUL.
MARLIN_MAX_COMMAND = 80
MARLIN_CMD_BUFFER = 96
# GRBL stores a line without its spaces in LINE_BUFFER_SIZE (80) bytes, one of them the terminator; a longer line
# is refused with error:11 in the middle of a job.
GRBL_MAX_COMMAND = 79


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


def command_size(firmware: str, command: str) -> tuple[int, int, str]:
    """(size, limit, what is counted) of one command for the firmware family `firmware`."""
    if firmware == "grbl":
        return len("".join(command.split())), GRBL_MAX_COMMAND, "characters not counting spaces"
    return len(command), MARLIN_MAX_COMMAND, "characters"


def check_lines(commands: Sequence[tuple[int, str]], firmware: str, what: str) -> None:
    """Refuse a (file line number, command) the firmware would choke on: too long, or holding control bytes."""
    for number, command in commands:
        bad = next((c for c in command if ord(c) < 32 and c != "\t" or ord(c) == 127), None)
        if bad is not None:
            raise NodeConfigError(f"{what} line {number} holds the control byte 0x{ord(bad):02x}; G-code is "
                                  "printable ASCII (a stray Ctrl-X resets GRBL): remove it")
        if firmware == "grbl" and (rt := next((c for c in command if c in "?!~"), None)) is not None:
            raise NodeConfigError(f"{what} line {number} holds {rt!r}, a GRBL real-time command that acts at once "
                                  "wherever it appears (status, feed hold, cycle start): remove it")
        size, limit, counted = command_size(firmware, command)
        if size > limit:
            buffer = (f"Marlin's {MARLIN_CMD_BUFFER}-byte command buffer also holds the line number and checksum"
                      if firmware != "grbl" else "GRBL's 80-byte line buffer, else error:11")
            raise NodeConfigError(
                f"{what} line {number} has {size} {counted}; {firmware} takes at most {limit} per line "
                f"({buffer}); shorten or split that line")
