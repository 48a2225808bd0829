"""Slicing: STL -> G-code with PrusaSlicer's CLI and a per-machine profile; G-code passes through unchanged.

A machine profile is a PrusaSlicer `.ini` (shipped in `node-client/profiles/`). Besides PrusaSlicer's own
keys it carries comment lines this module reads (PrusaSlicer ignores them):

    # fabrica.materials = PLA, PETG
    # fabrica.material.PETG = filament_type=PETG; temperature=240; bed_temperature=80

The build volume comes from `bed_shape` and `max_print_height`. Before slicing, the part's bounding box
(parsed here from the binary or ASCII STL) and the material are checked against the machine; what does not
fit is refused with an error that names the axis or material. Every result records the slicer's version
and the sha256 of the profile and of the effective configuration, for the print log.
"""
from __future__ import annotations

import functools
import hashlib
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import NodeClientError, NodeConfigError

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
SLICER_BINARY = "prusa-slicer"
GCODE_SUFFIXES = (".gcode", ".gco", ".g", ".nc")


class SlicingError(NodeClientError):
    """The slicer is missing or failed on a part."""


class PartRejectedError(NodeConfigError):
    """The part cannot be made on this machine (too big, unsupported material, unreadable file)."""


# ------------------------------------------------------------------------------------------- STL


@dataclass(frozen=True)
class BoundingBox:
    """Axis-aligned bounds of a part in millimetres."""

    min: tuple[float, float, float]
    max: tuple[float, float, float]

    @property
    def size(self) -> tuple[float, float, float]:
        return (self.max[0] - self.min[0], self.max[1] - self.min[1], self.max[2] - self.min[2])


def _bbox(points: list[tuple[float, float, float]], what: str) -> BoundingBox:
    if not points:
        raise PartRejectedError(f"{what} has no triangles")
    xs, ys, zs = zip(*points)
    return BoundingBox((min(xs), min(ys), min(zs)), (max(xs), max(ys), max(zs)))


def stl_bounding_box(data: bytes, name: str = "STL") -> BoundingBox:
    """Bounding box of a binary or ASCII STL; a clear error for anything else."""
    if len(data) >= 84:
        (count,) = struct.unpack_from("<I", data, 80)
        if 84 + 50 * count == len(data):  # binary (ASCII files that start with "solid" may still be binary)
            points = []
            for i in range(count):
                vals = struct.unpack_from("<9f", data, 84 + 50 * i + 12)
                points.extend((vals[0:3], vals[3:6], vals[6:9]))
            return _bbox(points, name)
    head = data[:1024].lstrip().lower()
    if head.startswith(b"solid"):
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise PartRejectedError(f"{name} is neither a binary STL (size does not match its triangle count) "
                                    "nor ASCII text") from None
        points = []
        for m in re.finditer(r"^\s*vertex\s+(\S+)\s+(\S+)\s+(\S+)", text, re.MULTILINE):
            try:
                points.append((float(m.group(1)), float(m.group(2)), float(m.group(3))))
            except ValueError:
                raise PartRejectedError(f"{name}: bad vertex {m.group(0).strip()!r}") from None
        return _bbox(points, name)
    raise PartRejectedError(f"{name} is not an STL: a binary STL is 84 + 50 x triangles bytes, "
                            "an ASCII STL starts with 'solid'")


_AXIS_RE = re.compile(r"([XYZ])(-?\d+(?:\.\d*)?|-?\.\d+)")


def gcode_bounding_box(text: str) -> BoundingBox | None:
    """Extent of the absolute G0/G1 moves of a G-code file (None when it has none)."""
    absolute = True
    pos = {"X": 0.0, "Y": 0.0, "Z": 0.0}
    points: list[tuple[float, float, float]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip().upper()
        if not line:
            continue
        word = line.split()[0]
        if word == "G90":
            absolute = True
        elif word == "G91":
            absolute = False
        elif word in ("G0", "G1", "G00", "G01"):
            for axis, value in _AXIS_RE.findall(line):
                pos[axis] = float(value) if absolute else pos[axis] + float(value)
            points.append((pos["X"], pos["Y"], pos["Z"]))
        elif word == "G28":
            pos = {"X": 0.0, "Y": 0.0, "Z": 0.0}
    return _bbox(points, "G-code") if points else None


# -------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class MachineProfile:
    """A machine's slicer profile and what it can make."""

    name: str
    path: Path
    sha256: str
    build_volume_mm: tuple[float, float, float]
    materials: tuple[str, ...]
    material_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    nozzle_mm: float = 0.4

    @classmethod
    def load(cls, path_or_name: str | Path) -> MachineProfile:
        """A profile by path, or by name from the shipped profiles (`generic-fdm-250`)."""
        path = Path(path_or_name)
        if not path.suffix and not path.exists():
            path = PROFILES_DIR / f"{path_or_name}.ini"
        try:
            raw = path.read_bytes()
        except OSError:
            shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.ini")))
            raise NodeConfigError(f"slicer profile {str(path_or_name)!r} not found (shipped: {shipped})") from None
        keys: dict[str, str] = {}
        materials: tuple[str, ...] = ()
        overrides: dict[str, dict[str, str]] = {}
        for line in raw.decode("utf-8").splitlines():
            s = line.strip()
            meta = re.match(r"#\s*fabrica\.(materials|material\.(\w+))\s*=\s*(.*)$", s)
            if meta:
                if meta.group(1) == "materials":
                    materials = tuple(m.strip().upper() for m in meta.group(3).split(",") if m.strip())
                else:
                    pairs = (p.split("=", 1) for p in meta.group(3).split(";") if "=" in p)
                    overrides[meta.group(2).upper()] = {k.strip(): v.strip() for k, v in pairs}
            elif s and not s.startswith("#") and "=" in s:
                k, v = s.split("=", 1)
                keys[k.strip()] = v.strip()
        try:
            corners = [tuple(float(c) for c in pt.split("x")) for pt in keys["bed_shape"].split(",")]
            height = float(keys["max_print_height"])
        except (KeyError, ValueError):
            raise NodeConfigError(f"slicer profile {path}: needs bed_shape (e.g. 0x0,250x0,250x210,0x210) "
                                  "and max_print_height") from None
        width = max(c[0] for c in corners) - min(c[0] for c in corners)
        depth = max(c[1] for c in corners) - min(c[1] for c in corners)
        if min(width, depth, height) <= 0 or any(len(c) != 2 for c in corners):
            raise NodeConfigError(f"slicer profile {path}: the build volume {width:g} x {depth:g} x {height:g} mm "
                                  "must be positive on every axis (bed_shape corners as XxY, max_print_height > 0)")
        if not materials:
            raise NodeConfigError(f"slicer profile {path}: add a '# fabrica.materials = PLA, ...' line")
        return cls(path.stem, path, hashlib.sha256(raw).hexdigest(), (width, depth, height), materials,
                   overrides, float(keys.get("nozzle_diameter", "0.4").split(",")[0]))

    def check_fits(self, size: tuple[float, float, float], what: str = "part") -> None:
        """Refuse a part whose bounding box is larger than the build volume on any axis."""
        for axis, part, limit in zip("XYZ", size, self.build_volume_mm):
            if part > limit + 1e-6:
                raise PartRejectedError(
                    f"{what} is {part:.2f} mm along {axis} but machine profile {self.name!r} builds at most "
                    f"{limit:.0f} mm ({'x'.join(f'{v:.0f}' for v in self.build_volume_mm)} mm)"
                )

    def check_material(self, material: str) -> None:
        """Refuse a material this machine is not set up for."""
        if material.upper() not in self.materials:
            raise PartRejectedError(f"material {material} is not supported by machine profile {self.name!r} "
                                    f"(supported: {', '.join(self.materials)})")


# --------------------------------------------------------------------------------------- slicing


@functools.lru_cache(maxsize=4)
def slicer_version(binary: str = SLICER_BINARY) -> str:
    """`PrusaSlicer-2.5.0+…` as the installed binary reports it."""
    exe = shutil.which(binary)
    if exe is None:
        raise SlicingError(f"{binary} is not installed: run scripts/slicer-setup.sh (apt-get install prusa-slicer)")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    for line in (out.stdout + out.stderr).splitlines():
        m = re.search(r"(PrusaSlicer-\S+)", line)
        if m:
            return m.group(1)
    raise SlicingError(f"{exe} --help did not report a PrusaSlicer version")


@dataclass
class SliceResult:
    """The G-code for a part and how it was made (recorded in the print log)."""

    gcode: bytes
    source_name: str
    source_sha256: str
    gcode_sha256: str
    sliced: bool  # False: the input was G-code and passed through unchanged
    profile: str
    profile_sha256: str
    config_sha256: str
    material: str
    slicer: str | None
    bounding_box_mm: tuple[float, float, float] | None
    duration_s: float = 0.0

    def as_log(self) -> dict[str, Any]:
        """The print-log fields (no G-code bytes)."""
        d = asdict(self)
        d.pop("gcode")
        return d


def is_gcode(name: str) -> bool:
    """A G-code file, by its name's suffix."""
    return Path(name).suffix.lower() in GCODE_SUFFIXES


def prepare(data: bytes, name: str, profile: MachineProfile, material: str, *,
            binary: str = SLICER_BINARY, timeout: float = 600.0) -> SliceResult:
    """Check the part against the machine, then slice an STL or pass G-code through byte for byte."""
    import time

    profile.check_material(material)
    src_sha = hashlib.sha256(data).hexdigest()
    if is_gcode(name):
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise PartRejectedError(f"{name}: G-code must be ASCII (byte {exc.start} is not)") from None
        box = gcode_bounding_box(text)
        if box is not None:
            for axis, lo, hi, limit in zip("XYZ", box.min, box.max, profile.build_volume_mm):
                if lo < -1e-6 or hi > limit + 1e-6:
                    raise PartRejectedError(
                        f"{name} moves {axis} to {lo if lo < 0 else hi:.2f} mm, outside machine profile "
                        f"{profile.name!r}'s 0..{limit:.0f} mm")
        return SliceResult(data, name, src_sha, src_sha, False, profile.name, profile.sha256, profile.sha256,
                           material.upper(), None, box.size if box else None)
    box = stl_bounding_box(data, name)
    profile.check_fits(box.size, name)
    overlay = "".join(f"{k} = {v}\n" for k, v in profile.material_overrides.get(material.upper(), {}).items())
    config_sha = hashlib.sha256(profile.path.read_bytes() + b"\n" + overlay.encode()).hexdigest()
    version = slicer_version(binary)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fabrica-slice-") as tmp:
        t = Path(tmp)
        (t / "part.stl").write_bytes(data)
        (t / "material.ini").write_text(overlay)
        cmd = [shutil.which(binary) or binary, "--export-gcode", "--load", str(profile.path),
               "--load", str(t / "material.ini"), "--center", ",".join(
                   f"{v / 2:g}" for v in profile.build_volume_mm[:2]),
               "--output", str(t / "out.gcode"), str(t / "part.stl")]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SlicingError(f"{version} did not finish slicing {name} within {timeout:.0f} s") from None
        out = t / "out.gcode"
        if proc.returncode != 0 or not out.exists():
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "[trace]" not in ln]
            raise SlicingError(f"{version} failed on {name} (exit {proc.returncode}): "
                               + " | ".join(lines[-5:]))
        gcode = out.read_bytes()
    return SliceResult(gcode, name, src_sha, hashlib.sha256(gcode).hexdigest(), True, profile.name, profile.sha256,
                       config_sha, material.upper(), version, box.size, round(time.monotonic() - started, 3))
