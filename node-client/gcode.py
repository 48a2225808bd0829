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


def numbered(text: str) -> list[tuple[int, str]]:
    """The commands of G-code `text` with their line numbers (from 1), comments and blank lines dropped."""
    return [(number, cmd) for number, raw in enumerate(text.splitlines(), start=1) if (cmd := clean(raw))]


def load(path: str | Path) -> list[str]:
    """Read a G-code file and return its commands (comments and blank lines dropped); one at least."""
    return [command for _, command in load_numbered(path)]


def load_numbered(path: str | Path) -> list[tuple[int, str]]:
    """Like `load`, with each command's line number in the file (for messages that point at a line)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii", errors="strict")
    except FileNotFoundError:
        raise NodeConfigError(f"G-code file {str(p)!r} does not exist; pass the path of a .gcode file") from None
    except IsADirectoryError:
        raise NodeConfigError(f"G-code file {str(p)!r} is a folder; pass the path of a .gcode file") from None
    except UnicodeDecodeError as exc:
        raise NodeConfigError(
            f"G-code file {str(p)!r} is not ASCII (byte {exc.start}); firmware accepts ASCII only"
        ) from None
    except OSError as exc:
        raise NodeConfigError(f"G-code file {str(p)!r} cannot be read: {exc.strerror or exc}") from None
    out = numbered(text)
    if not out:
        # An empty job would "succeed" without the machine doing anything: almost always the wrong file.
        what = "is empty (0 bytes)" if not text else "holds only comments and blank lines"
        raise NodeConfigError(f"G-code file {str(p)!r} {what}; there is nothing to print: pass a sliced .gcode file")
    return out
