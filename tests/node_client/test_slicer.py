"""Slicing with the real PrusaSlicer CLI (scripts/slicer-setup.sh installs it), STL parsing and machine checks."""
from __future__ import annotations

import hashlib
import struct

import pytest

from fabrica.node_client import gcode
from fabrica.node_client.slicer import (
    PROFILES_DIR,
    MachineProfile,
    PartRejectedError,
    prepare,
    stl_bounding_box,
)


def cube_stl(w: float, d: float, h: float, ascii_: bool = False, origin=(0.0, 0.0, 0.0)) -> bytes:
    """An axis-aligned box as a binary or ASCII STL (12 outward-facing triangles)."""
    ox, oy, oz = origin
    v = [(ox + x, oy + y, oz + z) for x, y, z in
         [(0, 0, 0), (w, 0, 0), (w, d, 0), (0, d, 0), (0, 0, h), (w, 0, h), (w, d, h), (0, d, h)]]
    faces = [((0, 0, -1), (0, 2, 1)), ((0, 0, -1), (0, 3, 2)), ((0, 0, 1), (4, 5, 6)), ((0, 0, 1), (4, 6, 7)),
             ((0, -1, 0), (0, 1, 5)), ((0, -1, 0), (0, 5, 4)), ((0, 1, 0), (3, 7, 6)), ((0, 1, 0), (3, 6, 2)),
             ((-1, 0, 0), (0, 4, 7)), ((-1, 0, 0), (0, 7, 3)), ((1, 0, 0), (1, 2, 6)), ((1, 0, 0), (1, 6, 5))]
    if ascii_:
        out = ["solid cube"]
        for n, tri in faces:
            out.append(f"  facet normal {n[0]} {n[1]} {n[2]}\n    outer loop")
            out += [f"      vertex {v[i][0]:e} {v[i][1]:e} {v[i][2]:e}" for i in tri]
            out.append("    endloop\n  endfacet")
        out.append("endsolid cube\n")
        return "\n".join(out).encode()
    body = b"".join(struct.pack("<3f", *n) + b"".join(struct.pack("<3f", *v[i]) for i in tri) + b"\0\0"
                    for n, tri in faces)
    return b"solid but binary".ljust(80, b"\0") + struct.pack("<I", len(faces)) + body


@pytest.fixture(scope="module")
def mk4() -> MachineProfile:
    return MachineProfile.load("generic-fdm-250")


def test_stl_bounding_box_binary_and_ascii() -> None:
    for ascii_ in (False, True):
        box = stl_bounding_box(cube_stl(20, 10, 5, ascii_, origin=(-3, 2, 1)))
        assert box.min == pytest.approx((-3, 2, 1)) and box.size == pytest.approx((20, 10, 5))
    with pytest.raises(PartRejectedError, match="not an STL"):
        stl_bounding_box(b"PK\x03\x04 a zip file, not a mesh" * 4)


def test_shipped_profiles_parse() -> None:
    names = sorted(p.stem for p in PROFILES_DIR.glob("*.ini"))
    assert names == ["generic-fdm-250", "small-fdm-120"]
    p = MachineProfile.load("generic-fdm-250")
    assert p.build_volume_mm == (250, 210, 220) and p.materials == ("PLA", "PETG")
    assert p.sha256 == hashlib.sha256((PROFILES_DIR / "generic-fdm-250.ini").read_bytes()).hexdigest()
    assert MachineProfile.load("small-fdm-120").materials == ("PLA",)


def test_slices_a_cube_with_material_temperatures(mk4: MachineProfile) -> None:
    stl = cube_stl(10, 10, 4)
    result = prepare(stl, "cube.stl", mk4, "PETG")
    assert result.sliced and result.slicer.startswith("PrusaSlicer-2.")
    assert result.profile_sha256 == mk4.sha256 and result.config_sha256 != mk4.sha256
    assert result.source_sha256 == hashlib.sha256(stl).hexdigest()
    text = result.gcode.decode()
    assert "M109 S240" in text and "M190 S80" in text  # PETG overrides from the profile
    commands = [c for c in text.splitlines() if gcode.clean(c)]
    assert len(commands) > 100
    # The part sits inside the bed: every absolute move within the build volume.
    assert prepare(result.gcode, "cube.gcode", mk4, "PETG").bounding_box_mm is not None
    log = result.as_log()
    assert "gcode" not in log and log["bounding_box_mm"] == pytest.approx((10, 10, 4))


def test_same_input_same_config_hash(mk4: MachineProfile) -> None:
    a = prepare(cube_stl(5, 5, 2, ascii_=True), "c.stl", mk4, "PLA")
    b = prepare(cube_stl(5, 5, 2), "c.stl", mk4, "PLA")
    assert a.config_sha256 == b.config_sha256 and a.slicer == b.slicer


def test_rejects_part_too_big(mk4: MachineProfile) -> None:
    with pytest.raises(PartRejectedError, match=r"260.00 mm along X .* at most 250 mm"):
        prepare(cube_stl(260, 10, 10), "wide.stl", mk4, "PLA")
    with pytest.raises(PartRejectedError, match="along Z"):
        prepare(cube_stl(100, 100, 150), "tall.stl", MachineProfile.load("small-fdm-120"), "PLA")


def test_rejects_unsupported_material(mk4: MachineProfile) -> None:
    with pytest.raises(PartRejectedError, match=r"material ABS is not supported .* PLA, PETG"):
        prepare(cube_stl(5, 5, 5), "c.stl", mk4, "ABS")


def test_gcode_passes_through_unchanged(mk4: MachineProfile) -> None:
    src = b"; hand-written\r\nG28\nG1 X10 Y10 Z0.3 F3000 ; go\nG1 X20 E1.5\nM84\n"
    result = prepare(src, "part.gcode", mk4, "PLA")
    assert result.gcode is src and not result.sliced and result.slicer is None
    assert result.gcode_sha256 == result.source_sha256
    with pytest.raises(PartRejectedError, match="moves X to 300.00 mm"):
        prepare(b"G90\nG1 X300 Y10\n", "far.gcode", mk4, "PLA")
