"""A small GRBL 1.1 simulator behind a pseudo-terminal, written from GRBL's documented serial interface.

128-byte serial RX buffer (overflow is recorded, never hidden), `ok` / `error:N` per line, real-time bytes
(`?` status, `!` feed hold, `~` cycle start, Ctrl-X soft reset) acted on as they arrive, `$I`, `$X`, alarms,
the line buffer (error:11 past 79 characters not counting spaces), pacing at the baud rate (10 bits a byte).
`flavour="grblhal"` answers as grblHAL does instead: its banner and `$I` (VER, OPT with a 1024-byte RX buffer,
FIRMWARE, as in the transcript grblhal-1.1f-probe-job.txt) and its 256-character line buffer (core protocol.h,
LINE_BUFFER_SIZE 257; only leading spaces are dropped). Runs as threads in the test process; `port` is the pty
slave path.
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

WORD = re.compile(r"^([A-Z])(-?\d*\.?\d+)$")
FLAVOURS = {
    # banner, `$I` lines before its ok ({rx} is the RX buffer size), line buffer in characters, spaces counted
    "grbl": ("Grbl 1.1h ['$' for help]", ("[VER:1.1h.20190825:]", "[OPT:V,15,{rx}]"), 79, False),
    "grblhal": ("GrblHAL 1.1f ['$' or '$HELP' for help]",
                ("[VER:1.1f.20250313:]", "[OPT:VNMZHS+,100,{rx},5,8]", "[NEWOPT:ENUMS,RT+,HOME,ES,REBOOT]",
                 "[FIRMWARE:grblHAL]"), 256, True),
}


class GrblSimulator:
    """Simulated GRBL: `executed` lists the G-code lines it ran, in order."""

    def __init__(self, baud: int = 115200, rx_size: int | None = None, line_time: float = 0.0005, locked: bool = False,
                 flavour: str = "grbl"):
        self.banner, self.info, self.line_buffer, self.spaces_count = FLAVOURS[flavour]
        rx_size = rx_size or (1024 if flavour == "grblhal" else 128)
        self.baud, self.rx_size, self.line_time = baud, rx_size, line_time
        self.byte_time = 10.0 / baud
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        os.close(slave)  # reading the master fails (EIO) until a client opens the device: that is our DTR line
        # Non-blocking, so a read racing the client's open cannot sit waiting for the first byte past the boot
        fcntl.fcntl(self.master, fcntl.F_SETFL, fcntl.fcntl(self.master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.opens = 0
        self.rx = bytearray()
        self.executed: list[str] = []
        self.received_realtime: list[bytes] = []
        self.overflow = False
        self.max_rx = 0
        self.state = "Alarm" if locked else "Idle"
        self.hold = False
        self.pos = [0.0, 0.0, 0.0]
        self._cv = threading.Condition()
        self._out_lock = threading.Lock()
        self._wire_free = time.monotonic()
        self._stop = threading.Event()
        self._fail_on: dict[str, str] = {}
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._wire_in, self._executor)]
        for t in self._threads:
            t.start()

    # -- test controls --

    def fail_on(self, command: str, response: str) -> None:
        """Answer `response` (e.g. `error:20` or `ALARM:1`) instead of running `command`."""
        self._fail_on[command] = response

    def close(self) -> None:
        """Stop the simulator and close the pty."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        for fd in (self.master,):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- wire --

    def _send(self, line: str) -> None:
        data = (line + "\r\n").encode("ascii")
        with self._out_lock:
            self._wire_free = max(time.monotonic(), self._wire_free) + len(data) * self.byte_time
            delay = self._wire_free - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            view = memoryview(data)
            while view and not self._stop.is_set():
                try:
                    view = view[os.write(self.master, view):]
                except BlockingIOError:  # the client is not reading: wait, as the UART would
                    time.sleep(0.001)
                except OSError:
                    return

    def _boot(self) -> None:
        """Like an Arduino, GRBL resets when the port is opened (DTR) and prints its banner once it is up."""
        self.opens += 1
        with self._cv:
            self.rx.clear()
            self.hold = False
        time.sleep(0.1)
        self._send(self.banner)
        if self.state == "Alarm":
            self._send("[MSG:'$H'|'$X' to unlock]")

    def _wire_in(self) -> None:
        arrival = time.monotonic()
        open_ = False
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r and not open_:
                # select says "readable" while nobody holds the device (the read then fails with EIO)
                open_ = True
                self._boot()
                continue
            if not r:
                continue
            try:
                chunk = os.read(self.master, 1024)
            except BlockingIOError:
                if not open_:  # the client opened the device between select and read
                    open_ = True
                    self._boot()
                continue
            except OSError as exc:
                if exc.errno != errno.EIO or self._stop.is_set():
                    return
                open_ = False  # the client closed the device; the next open resets us again
                time.sleep(0.005)
                continue
            if not open_:
                open_ = True
                self._boot()
            # Each byte lands one byte time after the previous one, starting no earlier than the read: the
            # schedule is kept from the chunk's start, so a sleep that overshoots costs no wire time
            arrival = max(time.monotonic(), arrival)
            for b in chunk:
                arrival += self.byte_time
                delay = arrival - time.monotonic()
                if delay > 0.0005:
                    time.sleep(delay)
                self._byte(bytes([b]))

    def _byte(self, b: bytes) -> None:
        if b in (b"?", b"!", b"~", b"\x18"):
            self.received_realtime.append(b)
            if b == b"?":
                self._send(self._status())
            elif b == b"!":
                with self._cv:
                    self.hold = True
            elif b == b"~":
                with self._cv:
                    self.hold = False
                    self._cv.notify_all()
            else:
                with self._cv:
                    moving = bool(self.rx) or self.state == "Run"
                    self.rx.clear()
                    self.hold = False
                    self.state = "Alarm" if moving else "Idle"
                    self._cv.notify_all()
                self._send(self.banner)
                if moving:
                    self._send("ALARM:3")
                    self._send("[MSG:'$H'|'$X' to unlock]")
            return
        with self._cv:
            if len(self.rx) >= self.rx_size:
                self.overflow = True  # a real GRBL would drop or corrupt this byte
                return
            self.rx += b
            self.max_rx = max(self.max_rx, len(self.rx))
            self._cv.notify_all()

    def _status(self) -> str:
        state = "Hold:0" if self.hold else ("Run" if self.rx else self.state)
        x, y, z = self.pos
        return f"<{state}|MPos:{x:.3f},{y:.3f},{z:.3f}|Bf:15,{self.rx_size - len(self.rx)}|FS:0,0>"

    # -- execution --

    def _executor(self) -> None:
        while not self._stop.is_set():
            with self._cv:
                while not self._stop.is_set() and (self.hold or b"\n" not in self.rx):
                    self._cv.wait(0.1)
                if self._stop.is_set():
                    return
                raw, _, rest = bytes(self.rx).partition(b"\n")
                self.rx = bytearray(rest)
            if self.line_time:
                time.sleep(self.line_time)
            self._send(self._execute(raw.decode("ascii", errors="replace").strip()))

    def _execute(self, line: str) -> str:
        if line in self._fail_on:
            response = self._fail_on.pop(line)
            if response.startswith("ALARM"):
                self.state = "Alarm"
                self._send(response)
                return "ok"
            return response
        if len(line if self.spaces_count else "".join(line.split())) > self.line_buffer:
            return "error:11"  # the line overflowed the line buffer and was not run
        if line == "$I":
            for info in self.info:
                self._send(info.format(rx=self.rx_size))
            return "ok"
        if line == "$X":
            if self.state == "Alarm":
                self.state = "Idle"
                self._send("[MSG:Caution: Unlocked]")
            return "ok"
        if line.startswith("$"):
            return "error:3"
        if not line:
            return "ok"
        if self.state == "Alarm":
            return "error:9"
        words = re.findall(r"[A-Z][^A-Z]*", line.upper().replace(" ", ""))
        for w in words:
            if not WORD.match(w):
                return "error:2" if w[0].isalpha() else "error:1"
        if not words or words[0][0] not in "GMFST":
            return "error:1" if not words else "error:20"
        if words[0] in ("G0", "G1"):
            for w in words[1:]:
                axis = "XYZ".find(w[0])
                if axis >= 0:
                    self.pos[axis] = float(w[1:])
        elif words[0][0] == "G" and words[0] not in ("G4", "G20", "G21", "G90", "G91", "G92", "G28", "G2", "G3"):
            return "error:20"
        self.executed.append(line)
        return "ok"
