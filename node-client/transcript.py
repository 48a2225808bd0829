"""Serial transcripts: a readable record of a session with a machine (host lines, real-time bytes, firmware lines).

A shop records a session with `fabrica node print --record FILE` (or `probe --record`); a developer replays it
against the client with `fabrica node replay FILE` (see replay.py). One entry per line::

    # fabrica serial transcript 1
    # family: grbl                  metadata: `# key: value` (a key may repeat, e.g. `source`)
    0.012 < Grbl 1.1h ['$' for help]     a line the firmware sent (CR/LF stripped)
    0.020 > $I                           a line the host sent (newline added on the wire)
    0.530 ! ?                            a real-time byte the host sent (GRBL: ? ! ~ Ctrl-X, overrides)

The leading seconds are optional. Bytes outside printable ASCII are written as Python escapes (`\\x18`, `\\\\`),
so a transcript survives editors and e-mail byte for byte.
"""
from __future__ import annotations

import codecs
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from .errors import NodeClientError
from .serial_transport import Transport

HEADER = "# fabrica serial transcript 1"
Kind = Literal["host", "realtime", "firmware"]
_MARK = {">": "host", "!": "realtime", "<": "firmware"}
_MARK_OF = {v: k for k, v in _MARK.items()}
_ENTRY = re.compile(r"^(?:(\d+(?:\.\d*)?)\s+)?([<>!])(?: (.*))?$")
_META = re.compile(r"^#\s*([A-Za-z][\w-]*)\s*:\s*(.*?)\s*$")
# GRBL acts on these bytes wherever they appear in the stream; they never belong to a line
GRBL_REALTIME = frozenset(b"?!~\x18") | frozenset(range(0x80, 0x100))


class TranscriptError(NodeClientError):
    """A transcript file is malformed (the message names the file and line)."""


@dataclass(frozen=True)
class Entry:
    """One transcript entry; `text` holds the raw bytes as latin-1 characters (one character a byte)."""

    kind: Kind
    text: str
    lineno: int = 0
    t: float | None = None

    @property
    def data(self) -> bytes:
        """The entry's bytes as they were on the wire (without the line ending)."""
        return self.text.encode("latin-1")


@dataclass
class Transcript:
    """A parsed transcript: metadata (`# key: value`, every value of a repeated key) and entries in order."""

    entries: list[Entry]
    meta: dict[str, list[str]] = field(default_factory=dict)
    name: str = "<transcript>"

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of metadata `key`, or `default`."""
        values = self.meta.get(key)
        return values[0] if values else default

    def host_lines(self) -> list[str]:
        """Every line the host sent, in order."""
        return [e.text for e in self.entries if e.kind == "host"]

    def firmware_lines(self) -> list[str]:
        """Every line the firmware sent, in order."""
        return [e.text for e in self.entries if e.kind == "firmware"]


def escape(data: bytes) -> str:
    """Bytes as printable ASCII: printable characters stay, the rest (and backslash) become Python escapes."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def unescape(text: str) -> bytes:
    """Inverse of `escape` (also accepts `\\r`, `\\n`, `\\t`); raises ValueError on a bad escape."""
    return codecs.escape_decode(text.encode("ascii"))[0]


def parse(text: str, name: str = "<transcript>") -> Transcript:
    """Parse transcript text; raises TranscriptError naming the line that is wrong."""
    entries: list[Entry] = []
    meta: dict[str, list[str]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if (m := _META.match(line)) is not None:
                meta.setdefault(m.group(1).lower(), []).append(m.group(2))
            continue
        m = _ENTRY.match(line)
        if m is None:
            raise TranscriptError(
                f"{name}:{lineno}: not a transcript entry: {line[:60]!r}; an entry is `[seconds] < line`, "
                "`[seconds] > line` or `[seconds] ! byte`")
        stamp, mark, body = m.group(1), m.group(2), m.group(3) or ""
        try:
            data = unescape(body)
        except (ValueError, UnicodeEncodeError) as exc:
            raise TranscriptError(f"{name}:{lineno}: bad escape in {body[:60]!r}: {exc}") from None
        kind: Kind = _MARK[mark]  # type: ignore[assignment]
        if kind == "realtime" and len(data) != 1:
            raise TranscriptError(f"{name}:{lineno}: a real-time entry is exactly one byte, got {body!r}")
        if b"\n" in data:
            raise TranscriptError(f"{name}:{lineno}: an entry is one line; split {body[:60]!r} at its \\n")
        entries.append(Entry(kind, data.decode("latin-1"), lineno, float(stamp) if stamp else None))
    return Transcript(entries, meta, name)


def load(path: str | Path) -> Transcript:
    """Read and parse a transcript file; raises TranscriptError when it is missing or malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot read transcript {str(p)!r}: {exc}") from None
    return parse(text, str(p))


def format_entry(entry: Entry) -> str:
    """One entry as a transcript line."""
    stamp = f"{entry.t:.3f} " if entry.t is not None else ""
    return f"{stamp}{_MARK_OF[entry.kind]} {escape(entry.data)}"


def dump(transcript: Transcript) -> str:
    """Transcript text that `parse` reads back to the same entries and metadata."""
    lines = [HEADER]
    for key, values in transcript.meta.items():
        lines.extend(f"# {key}: {v}" for v in values)
    lines.extend(format_entry(e) for e in transcript.entries)
    return "\n".join(lines) + "\n"


class RecordingTransport:
    """A Transport that writes every byte both ways into a transcript file as the session runs.

    Host bytes are split into lines at `\\n`; for GRBL the real-time bytes are taken out wherever they occur,
    as GRBL itself does. Each entry is flushed as written, so a crash keeps everything up to it.
    """

    def __init__(self, inner: Transport, out: IO[str], *, family: str, meta: dict[str, str] | None = None,
                 clock=time.monotonic) -> None:
        """Record `inner`'s traffic into the open text stream `out` (header and metadata first)."""
        self.inner, self.out, self.family, self.clock = inner, out, family, clock
        self._start = clock()
        self._lock = threading.Lock()
        self._partial = bytearray()
        self._realtime = GRBL_REALTIME if family == "grbl" else frozenset()
        header = [HEADER, f"# family: {family}", *(f"# {k}: {v}" for k, v in (meta or {}).items())]
        self.out.write("\n".join(header) + "\n")
        self.out.flush()

    def _emit(self, entries: Iterable[tuple[Kind, bytes]]) -> None:
        t = round(self.clock() - self._start, 3)
        for kind, data in entries:
            self.out.write(format_entry(Entry(kind, data.decode("latin-1"), t=t)) + "\n")
        self.out.flush()

    def write(self, data: bytes) -> None:
        """Record, then write `data` to the machine."""
        with self._lock:
            entries: list[tuple[Kind, bytes]] = []
            for b in data:
                if b in self._realtime:
                    entries.append(("realtime", bytes([b])))
                elif b == 0x0A:
                    entries.append(("host", bytes(self._partial).rstrip(b"\r")))
                    self._partial.clear()
                else:
                    self._partial.append(b)
            if entries:
                self._emit(entries)
        self.inner.write(data)

    def read_line(self, timeout: float) -> str | None:
        """Read a line from the machine and record it."""
        line = self.inner.read_line(timeout)
        if line is not None:
            with self._lock:
                self._emit([("firmware", line.encode("latin-1", errors="replace"))])
        return line

    def close(self) -> None:
        """Close the machine's transport and the transcript file."""
        self.inner.close()
        with self._lock:
            if self._partial:
                self.out.write(f"# unterminated host bytes at close: {escape(bytes(self._partial))}\n")
            self.out.close()

    @property
    def bytes_written(self) -> int:
        """Bytes written to the machine so far."""
        return getattr(self.inner, "bytes_written", 0)
