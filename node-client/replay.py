"""Replay a recorded GRBL transcript as the firmware: the client under test talks to the recording.

The replay answers the host with exactly the firmware lines that were recorded, in recorded order, and checks
that the host sends the recorded lines, in order, once each, without overrunning GRBL's receive buffer. Timing
is the host's own: a recorded `ok` goes out once the line it acknowledges has arrived (GRBL answers every line
with one `ok`/`error:N`, in order), and every other recorded line goes out once the host has sent what was
sent before it, capped at the line whose answer comes next (so a host that streams less eagerly than the
recorded one is never deadlocked). A recorded real-time byte other than `?` (`!`, `~`, Ctrl-X, overrides) holds
back what followed it until the host sends it too. A `?` from the host is answered at once with the latest
recorded status report (status polls depend on timing, so recorded polls are not matched).

`GrblReplay` is the pure engine (bytes in, bytes out); `PtyReplay` serves it on a pseudo-terminal at a baud rate,
so the client opens a device path exactly as it opens `/dev/ttyUSB0`.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import threading
import time
import tty
from dataclasses import dataclass

from .transcript import GRBL_REALTIME, Transcript

_OPT_RX = re.compile(r"^\[OPT:[^,\]]*,\d+,(\d+)")
_ACK = re.compile(r"^(ok|error:.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class _Out:
    """A recorded firmware line and what must have arrived from the host before it goes out."""

    text: str
    lines_needed: int
    realtime_needed: int
    is_ack: bool
    lineno: int


class GrblReplay:
    """Firmware side of a recorded GRBL session: `feed(host bytes) -> firmware bytes`; see the module docstring.

    `problems` lists every way the host departed from the recording (wrong or extra line, RX overflow);
    `complete` is True once every recorded firmware line went out.
    """

    def __init__(self, transcript: Transcript, rx_size: int | None = None) -> None:
        """Prepare the replay; `rx_size` defaults to the recorded `[OPT:…]` buffer size, else 128."""
        self.transcript = transcript
        self.expected = transcript.host_lines()
        self._realtime_expected = [e.text for e in transcript.entries if e.kind == "realtime" and e.text != "?"]
        self._outs: list[_Out] = []
        lines_seen = acks = realtime_seen = needed = 0
        for e in transcript.entries:
            if e.kind == "host":
                lines_seen += 1
            elif e.kind == "realtime":
                realtime_seen += e.text != "?"
            else:
                is_ack = _ACK.match(e.text.strip()) is not None
                if is_ack:
                    acks += 1
                    if acks > lines_seen:
                        raise ValueError(f"{transcript.name}:{e.lineno}: answer {e.text!r} before the host sent "
                                         f"line {acks} (every ok/error answers one line, in order)")
                    want = acks
                else:
                    want = min(lines_seen, acks + 1)
                needed = max(needed, want)
                self._outs.append(_Out(e.text, needed, realtime_seen, is_ack, e.lineno))
        recorded_rx = next((int(m.group(1)) for t in transcript.firmware_lines() if (m := _OPT_RX.match(t))), None)
        self.rx_size = rx_size or recorded_rx or 128
        self.received: list[str] = []  # host lines, in arrival order
        self.realtime: list[str] = []  # real-time bytes, in arrival order (incl. `?`)
        self.problems: list[str] = []
        self.max_rx_used = 0
        self._next = 0
        self._partial = bytearray()
        self._unacked: list[int] = []  # byte sizes of received lines not yet answered
        self._rx_used = 0
        self._realtime_matched = 0
        self._status = next((t for t in transcript.firmware_lines() if t.startswith("<")), None)
        self._diverged = False

    @property
    def complete(self) -> bool:
        """Every recorded firmware line has been sent."""
        return self._next >= len(self._outs)

    def boot(self) -> bytes:
        """What the firmware prints before the host sends anything (banner, lock message)."""
        return self._release()

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the host; return the firmware's answer bytes (CR LF line endings, as GRBL sends)."""
        out = bytearray()
        for b in data:
            if b in GRBL_REALTIME:
                out += self._on_realtime(chr(b))
                continue
            self._partial.append(b)
            self._rx_used += 1
            self.max_rx_used = max(self.max_rx_used, self._rx_used)
            if self._rx_used > self.rx_size:
                self._problem(f"RX buffer overflow: {self._rx_used} unanswered bytes > GRBL's {self.rx_size}")
            if b == 0x0A:
                self._on_line(bytes(self._partial))
                self._partial.clear()
            out += self._release()
        return bytes(out)

    # -- internals --

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _on_realtime(self, char: str) -> bytes:
        self.realtime.append(char)
        if char == "?":
            return (self._status + "\r\n").encode("latin-1") if self._status else b""
        if (self._realtime_matched < len(self._realtime_expected)
                and self._realtime_expected[self._realtime_matched] == char):
            self._realtime_matched += 1
        return self._release()

    def _on_line(self, raw: bytes) -> None:
        line = raw.rstrip(b"\r\n").decode("latin-1")
        self._unacked.append(len(raw))
        self.received.append(line)
        n = len(self.received)
        if n > len(self.expected):
            self._problem(f"host sent line {n} {line!r}, but the recording has only {len(self.expected)} lines")
            self._diverged = True
        elif line != self.expected[n - 1]:
            self._problem(f"host line {n} is {line!r}; the recording has {self.expected[n - 1]!r}")
            self._diverged = True

    def _release(self) -> bytes:
        out = bytearray()
        while not self._diverged and self._next < len(self._outs):
            o = self._outs[self._next]
            if len(self.received) < o.lines_needed or self._realtime_matched < o.realtime_needed:
                break
            self._next += 1
            if o.is_ack and self._unacked:
                self._rx_used -= self._unacked.pop(0)
            if o.text.startswith("<"):
                self._status = o.text
            out += o.text.encode("latin-1") + b"\r\n"
        return bytes(out)


class PtyReplay:
    """Serve a GrblReplay on a pseudo-terminal paced at `baud`; `port` is the device path to open.

    Like a GRBL board that resets when the port opens (DTR), the boot lines go out `boot_delay` seconds after
    the client opens the device.
    """

    def __init__(self, replay: GrblReplay, baud: int = 115200, boot_delay: float = 0.1) -> None:
        """Create the pty and start serving in a background thread."""
        self.replay, self.baud, self.boot_delay = replay, baud, boot_delay
        self.byte_time = 10.0 / baud
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        os.close(slave)  # until the client opens the slave, reading the master fails with EIO: that is our DTR
        fcntl.fcntl(self.master, fcntl.F_SETFL, fcntl.fcntl(self.master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"replay {self.port}", daemon=True)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                n = os.write(self.master, view[:64])
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                return
            time.sleep(n * self.byte_time)  # the wire carries 10 bits a byte
            view = view[n:]

    def _serve(self) -> None:
        first = b""
        while not self._stop.is_set():
            try:
                first = os.read(self.master, 256)
            except BlockingIOError:
                break  # the client has the device open and sent nothing yet
            except OSError as exc:
                if exc.errno != errno.EIO:
                    return
                time.sleep(0.005)  # nobody has the device open yet
                continue
            break
        if self._stop.is_set():
            return
        self.opened.set()
        time.sleep(self.boot_delay)
        self._write(self.replay.boot())
        if first:
            with self._lock:
                out = self.replay.feed(first)
            self._write(out)
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 256)
            except BlockingIOError:
                continue
            except OSError:
                return  # the client closed the port
            with self._lock:
                out = self.replay.feed(data)
            time.sleep(len(data) * self.byte_time)
            self._write(out)

    def close(self) -> None:
        """Stop serving and release the pty."""
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            os.close(self.master)
        except OSError:
            pass

    def __enter__(self) -> PtyReplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
