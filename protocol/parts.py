"""Part files a job can carry (STL, 3MF, STEP, G-code), checked before anything is stored or paid for.

A node fetches a job's files only after the customer's payment is in escrow; a part it cannot read is
refused then, with the customer's money locked until the claim deadline passes. So `fabrica job post`
checks each file here first and names what is wrong with it. Only the standard library is used: this
runs on every post and must stay cheap to import.
"""
from __future__ import annotations

import math
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from .errors import FabricaValueError

STL_SUFFIXES = (".stl",)
THREEMF_SUFFIXES = (".3mf",)
STEP_SUFFIXES = (".step", ".stp")
GCODE_SUFFIXES = (".gcode", ".gco", ".g", ".nc")
FORMATS = "STL (.stl), 3MF (.3mf), STEP (.step, .stp) or G-code (.gcode, .gco, .g, .nc)"

_BINARY_HEADER = 84  # 80-byte header + uint32 triangle count
_TRIANGLE = 50  # normal, three vertices (12 float32) + uint16 attribute
_ASCII_WORDS = {"solid", "facet", "outer", "vertex", "endloop", "endfacet", "endsolid"}
_MOVE = re.compile(rb"^\s*(?:N\d+\s+)?G0*[0-3](?!\d)", re.IGNORECASE | re.MULTILINE)


class PartFileError(FabricaValueError):
    """A part file is empty, unreadable or not the format its name says."""


@dataclass(frozen=True)
class PartInfo:
    """What a part file turned out to be: its format, role in a job spec, and size when it is a mesh."""

    format: str
    role: str = "model"
    triangles: int | None = None
    size_mm: tuple[float, float, float] | None = None


def check_part(path: Path) -> PartInfo:
    """Read `path` and check it is a well-formed part file of the format its suffix names."""
    if not path.exists():
        raise PartFileError(f"{path}: file not found")
    if not path.is_file():
        raise PartFileError(f"{path}: not a regular file; pass a part file ({FORMATS})")
    suffix = path.suffix.lower()
    if suffix not in STL_SUFFIXES + THREEMF_SUFFIXES + STEP_SUFFIXES + GCODE_SUFFIXES:
        raise PartFileError(f"{path}: unsupported part format {suffix or '(no suffix)'!r}; use {FORMATS}")
    if path.stat().st_size == 0:
        raise PartFileError(f"{path}: the file is empty (0 bytes); export the part again")
    if suffix in THREEMF_SUFFIXES:
        return check_3mf(path)
    data = path.read_bytes()
    if suffix in STL_SUFFIXES:
        return check_stl(data, str(path))
    if suffix in STEP_SUFFIXES:
        return check_step(data, str(path))
    return check_gcode(data, str(path))


def check_stl(data: bytes, name: str = "STL") -> PartInfo:
    """A binary or ASCII STL with at least one triangle, finite vertices and a bounding box of non-zero size."""
    if not data:
        raise PartFileError(f"{name}: the file is empty (0 bytes); export the part again")
    if len(data) >= _BINARY_HEADER:
        (count,) = struct.unpack_from("<I", data, 80)
        if _BINARY_HEADER + _TRIANGLE * count == len(data):
            # Checked before the ASCII form: many binary exporters start their header with "solid" too.
            return _binary_stl(data, count, name)
    if data[:1024].lstrip()[:5].lower() == b"solid":
        return _ascii_stl(data, name)
    if len(data) < _BINARY_HEADER:
        raise PartFileError(f"{name} is not an STL: {len(data)} bytes is shorter than a binary STL's 84-byte header, "
                            "and an ASCII STL starts with 'solid'")
    (count,) = struct.unpack_from("<I", data, 80)
    raise PartFileError(
        f"{name} is not an STL: as binary its header says {count:,} triangles, which take "
        f"{_BINARY_HEADER + _TRIANGLE * count:,} bytes, but the file has {len(data):,}; an ASCII STL starts with "
        "'solid'. Export the part again as STL"
    )


def _binary_stl(data: bytes, count: int, name: str) -> PartInfo:
    if count == 0:
        raise PartFileError(f"{name}: the binary STL has no triangles; export the part again")
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    for n, record in enumerate(struct.iter_unpack("<12fH", memoryview(data)[_BINARY_HEADER:])):
        for k in range(3, 12):
            v = record[k]
            if not math.isfinite(v):
                raise PartFileError(f"{name}: triangle {n + 1} has a vertex coordinate {v}; every coordinate "
                                    "must be a finite number")
            axis = k % 3
            if v < lo[axis]:
                lo[axis] = v
            if v > hi[axis]:
                hi[axis] = v
    return PartInfo("STL", triangles=count, size_mm=_size(lo, hi, name))


def _ascii_stl(data: bytes, name: str) -> PartInfo:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise PartFileError(f"{name}: starts like an ASCII STL ('solid') but byte {exc.start} is not ASCII, and its "
                            "size does not match a binary STL's triangle count") from None
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    vertices = facets = 0
    ended = False
    for lineno, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        word = words[0].lower()
        if word not in _ASCII_WORDS:
            raise PartFileError(f"{name} line {lineno}: unexpected {words[0][:40]!r} in an ASCII STL "
                                "(expected solid, facet, outer loop, vertex, endloop, endfacet or endsolid)")
        if word == "vertex":
            try:
                point = [float(v) for v in words[1:4]]
            except ValueError:
                point = []
            if len(point) != 3 or len(words) != 4 or not all(math.isfinite(v) for v in point):
                raise PartFileError(f"{name} line {lineno}: a vertex needs three finite numbers, got {line.strip()[:60]!r}")
            vertices += 1
            for axis, v in enumerate(point):
                lo[axis] = min(lo[axis], v)
                hi[axis] = max(hi[axis], v)
        elif word == "endfacet":
            facets += 1
            if vertices != 3 * facets:
                raise PartFileError(f"{name} line {lineno}: facet {facets} has {vertices - 3 * (facets - 1)} vertices; "
                                    "a facet is one triangle (3 vertices)")
        elif word == "endsolid":
            ended = True
    if facets == 0:
        raise PartFileError(f"{name}: the ASCII STL has no facets; export the part again")
    if not ended:
        raise PartFileError(f"{name}: the ASCII STL is cut short (no 'endsolid'); the file may be truncated")
    return PartInfo("STL", triangles=facets, size_mm=_size(lo, hi, name))


def _size(lo: list[float], hi: list[float], name: str) -> tuple[float, float, float]:
    size = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
    flat = [axis for axis, s in zip("XYZ", size) if not s > 0]
    if flat:
        raise PartFileError(f"{name}: the part has no extent along {', '.join(flat)} (bounding box "
                            f"{size[0]:g} x {size[1]:g} x {size[2]:g} mm); a part must be a solid with a non-zero size")
    return size


def check_3mf(path: Path) -> PartInfo:
    """A 3MF package: a zip whose 3D model part holds at least one mesh with triangles."""
    name = str(path)
    try:
        with zipfile.ZipFile(path) as package:
            model = _3mf_model_name(package)
            if model is None:
                raise PartFileError(f"{name}: the 3MF package has no 3D model part (3D/3dmodel.model); "
                                    "export the part again as 3MF")
            with package.open(model) as handle:
                return _3mf_mesh(handle, f"{name}:{model}")
    except zipfile.BadZipFile:
        raise PartFileError(f"{name} is not a 3MF file: a 3MF is a zip package, this is not a zip") from None
    except (KeyError, RuntimeError, OSError, EOFError) as exc:  # missing member, encrypted, damaged entry
        raise PartFileError(f"{name}: the 3MF package cannot be read ({exc})") from None


def _3mf_model_name(package: zipfile.ZipFile) -> str | None:
    names = set(package.namelist())
    if "_rels/.rels" in names:
        try:
            rels = ElementTree.fromstring(package.read("_rels/.rels"))
        except ElementTree.ParseError:
            rels = None
        for rel in rels.iter() if rels is not None else ():
            if rel.get("Type", "").endswith("/3dmodel") and rel.get("Target"):
                target = rel.get("Target", "").lstrip("/")
                if target in names:
                    return target
    fallback = [n for n in sorted(names) if n.lower().startswith("3d/") and n.lower().endswith(".model")]
    return fallback[0] if fallback else None


def _3mf_mesh(handle, name: str) -> PartInfo:
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    triangles = 0
    try:
        for _, element in ElementTree.iterparse(handle):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "vertex":
                try:
                    point = [float(element.get(a, "nan")) for a in "xyz"]
                except ValueError:
                    point = [math.nan]
                if not all(math.isfinite(v) for v in point):
                    raise PartFileError(f"{name}: a vertex needs finite x, y and z attributes")
                for axis, v in enumerate(point):
                    lo[axis] = min(lo[axis], v)
                    hi[axis] = max(hi[axis], v)
            elif tag == "triangle":
                triangles += 1
            element.clear()  # keep memory flat on large meshes
    except ElementTree.ParseError as exc:
        raise PartFileError(f"{name}: the 3D model is not well-formed XML ({exc})") from None
    if triangles == 0:
        raise PartFileError(f"{name}: the 3D model has no mesh triangles; export the part again")
    return PartInfo("3MF", triangles=triangles, size_mm=_size(lo, hi, name))


def check_step(data: bytes, name: str = "STEP") -> PartInfo:
    """An ISO 10303-21 (STEP) exchange file: its header, a DATA section and its end marker."""
    text = data.decode("latin-1")  # STEP is 7-bit text; latin-1 never fails, so the markers decide
    if not text.lstrip().startswith("ISO-10303-21;"):
        raise PartFileError(f"{name} is not a STEP file: it must start with 'ISO-10303-21;'")
    if "DATA;" not in text:
        raise PartFileError(f"{name}: the STEP file has no DATA section; export the part again")
    if "END-ISO-10303-21;" not in text[-4096:]:
        raise PartFileError(f"{name}: the STEP file is cut short (no 'END-ISO-10303-21;'); the file may be truncated")
    return PartInfo("STEP")


def check_gcode(data: bytes, name: str = "G-code") -> PartInfo:
    """G-code text with at least one move (G0-G3); binary files are refused."""
    if b"\0" in data:
        raise PartFileError(f"{name} is not G-code: it holds binary data (NUL bytes); G-code is plain text")
    if not _MOVE.search(data):
        raise PartFileError(f"{name}: the G-code has no moves (G0, G1, G2 or G3 lines); slice the part again")
    return PartInfo("G-code", role="gcode")
