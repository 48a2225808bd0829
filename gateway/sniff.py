"""What a file is, from its bytes (never its name): binary or ASCII STL, 3MF, G-code or JSON."""
from __future__ import annotations

import io
import json
import re
import struct
import zipfile

KINDS = ("stl", "3mf", "gcode", "json")
MEDIA = {"stl": "model/stl", "3mf": "model/3mf", "gcode": "text/x-gcode", "json": "application/json",
         "unknown": "application/octet-stream"}
_GCODE_LINE = re.compile(rb"^\s*(N\d+\s+)?[GMT]\d+(\.\d+)?\b", re.I)


def _binary_stl(data: bytes) -> bool:
    if len(data) < 84:
        return False
    (count,) = struct.unpack_from("<I", data, 80)
    return count > 0 and len(data) == 84 + 50 * count


def _ascii_stl(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return head.startswith(b"solid") and b"facet normal" in data[:4096].lower() and b"endsolid" in data[-1024:].lower()


def _3mf(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = {n.lower() for n in z.namelist()}
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[content_types].xml" in names and any(n.startswith("3d/") and n.endswith(".model") for n in names)


def _gcode(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        try:
            sample[:-4].decode("utf-8")  # a multi-byte character cut by the sample's end
        except UnicodeDecodeError:
            return False
    lines = [ln for ln in sample.splitlines() if ln.strip() and not ln.lstrip().startswith((b";", b"("))]
    if not lines:
        return False
    commands = sum(1 for ln in lines if _GCODE_LINE.match(ln))
    return commands >= max(1, int(0.8 * len(lines)))


def _json(data: bytes) -> bool:
    if data.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def sniff(data: bytes) -> str:
    """The kind of `data`: stl, 3mf, gcode, json, or unknown."""
    if _binary_stl(data) or _ascii_stl(data):
        return "stl"
    if _3mf(data):
        return "3mf"
    if _json(data):
        return "json"
    if _gcode(data):
        return "gcode"
    return "unknown"
