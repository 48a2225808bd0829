"""OctoPrint's virtual Marlin printer behind a pseudo-terminal, paced at the baud rate (run with .venv-peers).

Usage: python vp_bridge.py --baud 115200 --log received.txt [--settings '{"okFormatString": "ok N{lastN} P15 B{buffer}"}']
Prints the pty slave path on its first stdout line; the node client opens it like /dev/ttyUSB0. Each line the
printer *executes* (accepted with the right number and checksum) is appended to --log. Exits when stdin closes.
The virtual printer parses one line per write(), so host bytes are fed to it line by line; both directions are
delayed by 10 bits a byte (8N1) at --baud.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import tty


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--log", required=True)
    ap.add_argument("--settings", default="{}")
    args = ap.parse_args()

    from octoprint.plugins.virtual_printer import VirtualPrinterPlugin, virtual

    settings = VirtualPrinterPlugin.get_settings_defaults(None)
    overrides = json.loads(args.settings)
    unknown = set(overrides) - set(settings)
    if unknown:
        sys.exit(f"unknown virtual printer settings: {sorted(unknown)}")
    settings.update(overrides)
    workdir = tempfile.mkdtemp(prefix="fabrica-vp-")
    os.makedirs(os.path.join(workdir, "sd"), exist_ok=True)

    class Settings:
        """The few settings calls VirtualPrinter makes, over a plain dict."""

        def get(self, path, merged=False):
            return settings if not path else settings.get(path[0])

        def get_int(self, path):
            return int(settings[path[0]])

        def get_float(self, path):
            return float(settings[path[0]])

        def get_boolean(self, path):
            return bool(settings[path[0]])

        def global_get_basefolder(self, name):
            return os.path.join(workdir, "sd")

    class Plugins:
        def get_hooks(self, name):
            return {}

    virtual.plugin_manager = lambda: Plugins()
    log = open(args.log, "a", buffering=1, encoding="ascii")  # noqa: SIM115
    real_regex = virtual.VirtualPrinter.command_regex

    class Recorder:
        """Stands in for command_regex: the printer calls match() once per accepted command line."""

        def match(self, data):
            log.write(data.strip() + "\n")
            return real_regex.match(data)

    virtual.VirtualPrinter.command_regex = Recorder()  # looked up as VirtualPrinter.command_regex
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no line discipline, before the host opens it
    vp = virtual.VirtualPrinter(Settings(), None, workdir, read_timeout=0.5, write_timeout=30.0, faked_baudrate=args.baud)
    byte_time = 10.0 / args.baud
    stop = threading.Event()

    def host_to_printer() -> None:
        buf = b""
        wire_free = time.monotonic()
        while not stop.is_set():
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            now = time.monotonic()
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line += b"\n"
                wire_free = max(now, wire_free) + len(line) * byte_time
                delay = wire_free - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                while line and not stop.is_set():
                    written = vp.write(line)
                    line = line[written:]

    def printer_to_host() -> None:
        wire_free = time.monotonic()
        while not stop.is_set():
            try:
                data = vp.readline()
            except Exception:  # noqa: BLE001 - drop_connection etc.: the line goes quiet
                time.sleep(0.1)
                continue
            if not data:
                continue
            if not data.endswith(b"\n"):
                data += b"\n"
            wire_free = max(time.monotonic(), wire_free) + len(data) * byte_time
            delay = wire_free - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                os.write(master, data)
            except OSError:
                return

    for target in (host_to_printer, printer_to_host):
        threading.Thread(target=target, daemon=True).start()
    print(os.ttyname(slave), flush=True)
    sys.stdin.read()  # parent closes stdin (or dies) -> we exit
    stop.set()
    vp.close()
    os._exit(0)


if __name__ == "__main__":
    main()
