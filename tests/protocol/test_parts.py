"""Part files are checked before a job is stored or paid for: each broken file is named with its problem."""
from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fabrica.protocol.demo import box_stl
from fabrica.protocol.parts import PartFileError, check_part

REPO = Path(__file__).resolve().parents[2]
ASCII_TRIANGLE = """solid t
  facet normal 0 0 1
    outer loop
      vertex 0 0 0
      vertex 10 0 0
      vertex 0 10 5
    endloop
  endfacet
endsolid t
"""
MODEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <resources><object id="1" type="model"><mesh>
  <vertices><vertex x="0" y="0" z="0"/><vertex x="10" y="0" z="0"/><vertex x="0" y="10" z="0"/>
   <vertex x="0" y="0" z="10"/></vertices>
  <triangles><triangle v1="0" v2="2" v3="1"/><triangle v1="0" v2="1" v3="3"/><triangle v1="0" v2="3" v3="2"/>
   <triangle v1="1" v2="2" v3="3"/></triangles>
 </mesh></object></resources>
 <build><item objectid="1"/></build>
</model>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
 <Relationship Target="/3D/3dmodel.model" Id="rel0"
  Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>
</Relationships>"""


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def threemf(tmp_path: Path, name: str, members: dict[str, str]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for member, text in members.items():
            z.writestr(member, text)
    return path


def test_the_sample_part_is_a_valid_stl_and_what_its_script_writes(tmp_path: Path) -> None:
    info = check_part(REPO / "examples/bracket.stl")
    assert (info.format, info.triangles, info.size_mm) == ("STL", 20, (40.0, 20.0, 30.0))
    out = tmp_path / "bracket.stl"
    subprocess.run([sys.executable, str(REPO / "scripts/make_sample_part.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == (REPO / "examples/bracket.stl").read_bytes()


def test_good_parts_of_every_format(tmp_path: Path) -> None:
    assert check_part(write(tmp_path, "box.stl", box_stl(30, 20, 10))).size_mm == (30, 20, 10)
    assert check_part(write(tmp_path, "tri.STL", ASCII_TRIANGLE)).triangles == 1
    # A binary STL whose header starts with "solid" (many exporters write one) is still binary.
    solid_header = b"solid exported by CAD".ljust(80, b" ") + box_stl(1, 2, 3)[80:]
    assert check_part(write(tmp_path, "solid.stl", solid_header)).triangles == 12
    package = threemf(tmp_path, "part.3mf", {"_rels/.rels": RELS, "3D/3dmodel.model": MODEL_XML})
    assert check_part(package).triangles == 4
    step = "ISO-10303-21;\nHEADER;\nENDSEC;\nDATA;\n#1=CARTESIAN_POINT('',(0.,0.,0.));\nENDSEC;\nEND-ISO-10303-21;\n"
    assert check_part(write(tmp_path, "part.step", step)).format == "STEP"
    gcode = check_part(write(tmp_path, "part.gcode", "; sliced\nG28\nG1 X10 Y10 F3000\n"))
    assert (gcode.format, gcode.role) == ("G-code", "gcode")


@pytest.mark.parametrize(("name", "data", "says"), [
    ("empty.stl", b"", "empty (0 bytes)"),
    ("garbage.stl", bytes(range(256)) * 3, "is not an STL: as binary its header says"),
    ("short.stl", b"\x01\x02garbage", "shorter than a binary STL's 84-byte header"),
    ("notes.stl", "these are my notes\nnot a part\n", "is not an STL"),
    ("truncated.stl", box_stl(1, 1, 1)[:-10], "which take 684 bytes, but the file has 674"),
    ("none.stl", b"\0" * 80 + struct.pack("<I", 0), "has no triangles"),
    ("flat.stl", box_stl(10, 10, 0), "no extent along Z"),
    ("nan.stl", box_stl(1, 1, 1)[:96] + struct.pack("<f", float("nan")) + box_stl(1, 1, 1)[100:], "finite"),
    ("words.stl", "solid x\n  hello world\nendsolid x\n", "line 2: unexpected 'hello'"),
    ("cut.stl", ASCII_TRIANGLE.replace("endsolid t\n", ""), "cut short (no 'endsolid')"),
    ("badvertex.stl", ASCII_TRIANGLE.replace("vertex 0 0 0", "vertex 0 zero 0"), "line 4: a vertex needs three"),
    ("quad.stl", ASCII_TRIANGLE.replace("    endloop", "      vertex 1 1 1\n    endloop"), "has 4 vertices"),
    ("nofacets.stl", "solid x\nendsolid x\n", "has no facets"),
    ("notes.txt", "my part, as text\n", "unsupported part format '.txt'"),
    ("part", b"\x00\x01", "unsupported part format '(no suffix)'"),
    ("zip.3mf", b"PK not really a zip", "a 3MF is a zip package"),
    ("part.step", "solid x\n", "must start with 'ISO-10303-21;'"),
    ("cut.step", "ISO-10303-21;\nHEADER;\nENDSEC;\nDATA;\n#1=X();\n", "cut short"),
    ("text.gcode", "hello\n", "has no moves"),
    ("binary.gcode", b"G1 X1\x00\x01", "binary data"),
])
def test_broken_parts_are_named_with_their_problem(tmp_path: Path, name: str, data: bytes | str, says: str) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(PartFileError, match=None) as exc:
        check_part(path)
    message = str(exc.value)
    assert says in message and str(path) in message and "\n" not in message


def test_broken_3mf_packages(tmp_path: Path) -> None:
    no_model = threemf(tmp_path, "nomodel.3mf", {"[Content_Types].xml": "<Types/>"})
    with pytest.raises(PartFileError, match="has no 3D model part"):
        check_part(no_model)
    bad_xml = threemf(tmp_path, "badxml.3mf", {"3D/3dmodel.model": "<model><mesh>"})
    with pytest.raises(PartFileError, match="not well-formed XML"):
        check_part(bad_xml)
    empty_mesh = threemf(tmp_path, "empty.3mf", {"3D/3dmodel.model": "<model><resources/></model>"})
    with pytest.raises(PartFileError, match="no mesh triangles"):
        check_part(empty_mesh)


def test_missing_paths_and_folders(tmp_path: Path) -> None:
    with pytest.raises(PartFileError, match="file not found"):
        check_part(tmp_path / "nope.stl")
    (tmp_path / "folder.stl").mkdir()
    with pytest.raises(PartFileError, match="not a regular file"):
        check_part(tmp_path / "folder.stl")
