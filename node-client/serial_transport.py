"""Serial transport: pyserial port, one reader thread that splits lines, a locked writer."""
from __future__ import annotations

import errno
import queue
import threading
from typing import Protocol

import serial

from .errors import TransportError


class Transport(Protocol):
    """Bytes to and from a machine: what the drivers need of a serial port."""

    def write(self, data: bytes) -> None:
        """Write bytes to the machine (thread-safe)."""

    def read_line(self, timeout: float) -> str | None:
        """Next received line without its newline, or None when nothing came within `timeout`."""

    def close(self) -> None:
        """Release the port."""


# What an open failure means for the operator, by errno (pyserial's own text repeats the path and the errno).
_OPEN_ERRORS = {
    errno.ENOENT: "no such device; check the path (ls /dev/ttyUSB* /dev/ttyACM*) and that the machine is plugged in",
    errno.EACCES: "permission denied; add this user to the dialout group (then log in again)",
    errno.EBUSY: "the port is busy; another program (OctoPrint, a terminal) holds it",
    errno.ENOTTY: "not a serial device; pass the machine's tty, e.g. /dev/ttyUSB0 or /dev/ttyACM0",
    errno.EISDIR: "a folder, not a serial device; pass the machine's tty, e.g. /dev/ttyUSB0",
}


def _why(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    cause = exc.__context__  # pyserial wraps termios.error (errno, text) without an errno of its own
    if code is None and cause is not None and cause.args and isinstance(cause.args[0], int):
        code = cause.args[0]
    if code in _OPEN_ERRORS:
        return _OPEN_ERRORS[code]
    return (f"{exc}. Check the device path (ls /dev/ttyUSB* /dev/ttyACM*), permissions (dialout group) and that "
            "no other program (OctoPrint, a terminal) holds the port")


class SerialTransport:
    """A serial device (`/dev/ttyUSB0`, a pty slave, …) with a reader thread feeding a line queue."""

    def __init__(self, port: str, baud: int = 115200, *, write_timeout: float = 10.0) -> None:
        """Open `port` at `baud` (8N1) and start reading; raises TransportError with the reason."""
        self.port, self.baud = port, baud
        try:
            self._serial = serial.Serial(port, baud, timeout=0.05, write_timeout=write_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial port {port!r} at {baud} baud: {_why(exc)}") from None
        self.bytes_written = 0
        self._lines: queue.Queue[str | BaseException] = queue.Queue()
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name=f"serial-reader {port}", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        buf = bytearray()
        while not self._closed.is_set():
            try:
                chunk = self._serial.read(max(1, self._serial.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._closed.is_set():
                    self._lines.put(TransportError(f"serial port {self.port!r} failed while reading: {exc}"))
                return
            if not chunk:
                continue
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                raw = bytes(buf[:nl]).rstrip(b"\r")
                del buf[: nl + 1]
                # latin-1 maps each byte to one character, so line noise survives intact for logs and transcripts
                self._lines.put(raw.decode("latin-1"))

    def write(self, data: bytes) -> None:
        """Write `data` now; raises TransportError when the port is gone or blocked."""
        if not data:
            return
        with self._write_lock:
            try:
                self._serial.write(data)
                self.bytes_written += len(data)
            except (serial.SerialException, OSError) as exc:
                raise TransportError(f"serial port {self.port!r} failed while writing: {exc}") from None

    def read_line(self, timeout: float) -> str | None:
        """Next received line, or None after `timeout` seconds; re-raises a reader failure."""
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the reader and close the port (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._reader.join(timeout=1.0)
        try:
            self._serial.close()
        except (serial.SerialException, OSError):
            pass

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
