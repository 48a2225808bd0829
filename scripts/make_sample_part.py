"""Write examples/bracket.stl: a small L-shaped angle bracket as a watertight binary STL.

    .venv/bin/python scripts/make_sample_part.py [OUT]

The part is the README's sample for `fabrica job post --file`: an L profile (40 mm base, 30 mm upright,
4 mm thick) extruded 20 mm. The output is deterministic, so the file in the repository is exactly what
this script writes.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

# The L profile in the XZ plane (x, z), in mm; counter-clockwise in (x, z), which is clockwise seen from -Y.
PROFILE = [(0.0, 0.0), (40.0, 0.0), (40.0, 4.0), (4.0, 4.0), (4.0, 30.0), (0.0, 30.0)]
# A fan from the corner at the origin triangulates the L: every diagonal from it lies inside the profile.
FAN = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 5)]
DEPTH = 20.0

Vec = tuple[float, float, float]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _normal(a: Vec, b: Vec, c: Vec) -> Vec:
    u, v = _sub(b, a), _sub(c, a)
    n = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    length = sum(x * x for x in n) ** 0.5
    return (n[0] / length, n[1] / length, n[2] / length)


def triangles() -> list[tuple[Vec, Vec, Vec]]:
    """The bracket's triangles, each wound counter-clockwise seen from outside (right-hand rule)."""
    front = [(x, 0.0, z) for x, z in PROFILE]
    back = [(x, DEPTH, z) for x, z in PROFILE]
    tris: list[tuple[Vec, Vec, Vec]] = []
    for i, j, k in FAN:
        tris.append((front[i], front[j], front[k]))  # faces -Y
        tris.append((back[i], back[k], back[j]))  # faces +Y
    for i in range(len(PROFILE)):
        j = (i + 1) % len(PROFILE)
        tris.append((front[i], back[j], front[j]))
        tris.append((front[i], back[i], back[j]))
    return tris


def bracket_stl() -> bytes:
    """The bracket as binary STL bytes."""
    tris = triangles()
    header = b"fabrica sample part: L bracket 40x20x30 mm".ljust(80, b" ")
    body = b"".join(struct.pack("<12fH", *_normal(*t), *t[0], *t[1], *t[2], 0) for t in tris)
    return header + struct.pack("<I", len(tris)) + body


def main() -> None:
    """Write the sample part to OUT (default examples/bracket.stl)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "examples/bracket.stl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bracket_stl())
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
