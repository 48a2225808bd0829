"""G-code text helpers: comment stripping, Marlin line framing (N<n> … *<xor checksum>), file loading."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import NodeConfigError

_FRAMED = re.compile(r"^N-?\d+\s+(.*?)\*\d+$")


def checksum(data: bytes) -> int:
    """XOR of every byte of `data` (the Marlin/RepRap line checksum)."""
    cs = 0
    for b in data:
        cs ^= b
    return cs


def frame(number: int, command: str) -> bytes:
    """Encode `command` as the numbered, checksummed line `N<number> <command>*<cs>\\n`."""
    body = f"N{number} {command}".encode("ascii")
    return body + b"*" + str(checksum(body)).encode("ascii") + b"\n"


def clean(line: str) -> str:
    """Strip `;` comments, surrounding whitespace and any existing N…*cs framing; '' for nothing to send."""
    line = line.split(";", 1)[0].strip()
    m = _FRAMED.match(line)
    if m:
        line = m.group(1).strip()
    return line


def load(path: str | Path) -> list[str]:
    """Read a G-code file and return its commands (comments and blank lines dropped)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii", errors="strict")
    except FileNotFoundError:
        raise NodeConfigError(f"G-code file {str(p)!r} does not exist; pass the path of a .gcode file") from None
    except UnicodeDecodeError as exc:
        raise NodeConfigError(
            f"G-code file {str(p)!r} is not ASCII (byte {exc.start}); firmware accepts ASCII only"
        ) from None
    out = []
    for raw in text.splitlines():
        cmd = clean(raw)
        if cmd:
            out.append(cmd)
    return out
