"""Print-time estimates: PrusaSlicer's own figure on a real slice, the kinematic bound, and which one wins."""
from __future__ import annotations

import math

import pytest
from test_slicer import cube_stl

from fabrica.node_client.estimate import (
    estimate,
    format_duration,
    kinematic_estimate,
    parse_duration,
    required_window,
    slicer_estimate,
)
from fabrica.node_client.slicer import MachineProfile, prepare


def test_durations_read_and_written_as_prusaslicer_does() -> None:
    assert parse_duration("1d 2h 3m 4s") == 93_784
    assert parse_duration("1m 32s") == 92 and parse_duration("45s") == 45
    assert parse_duration("soon") is None and parse_duration("3m and a bit") is None
    assert format_duration(93_784) == "1d 2h 3m 4s" and format_duration(60) == "1m" and format_duration(0) == "0s"


def test_a_real_prusaslicer_slice_carries_its_estimate_and_the_moves_bound_it_from_below() -> None:
    result = prepare(cube_stl(20, 20, 5), "cube.stl", MachineProfile.load("generic-fdm-250"), "PLA")
    text = result.gcode.decode()
    slicer = slicer_estimate(text)
    assert slicer is not None and slicer > 0
    est = estimate(text)
    # The moves at their feed rates, without acceleration, cannot take longer than the slicer's full model.
    assert 0.5 * slicer < est.kinematic_s <= slicer
    assert est.seconds == slicer and est.source == "slicer"
    bigger = estimate(prepare(cube_stl(40, 40, 10), "cube.stl", MachineProfile.load("generic-fdm-250"),
                              "PLA").gcode.decode())
    assert bigger.seconds > 3 * est.seconds  # eight times the volume takes much longer


def test_a_comment_that_understates_the_moves_does_not_win() -> None:
    moves = "G21\nG90\nG1 X0 Y0 F600\n" + "G1 X100 Y0\nG1 X0 Y0\n" * 30  # 6000 mm at 10 mm/s = 600 s
    lying = "; estimated printing time (normal mode) = 1m\n" + moves
    est = estimate(lying)
    assert est.slicer_s == 60 and math.isclose(est.kinematic_s, 600) and est.seconds == est.kinematic_s
    assert est.source == "kinematic"
    honest = "; estimated printing time (normal mode) = 2h\n; estimated printing time (silent mode) = 3h\n" + moves
    assert estimate(honest).seconds == 7200  # normal mode is the one used
    assert slicer_estimate(";TIME:4000\n" + moves) == 4000  # Cura's header


@pytest.mark.parametrize(("gcode", "seconds"), [
    ("G91\nG1 X10 F600\nG1 X10\nG1 X-20\n", 4.0),  # relative moves: 40 mm at 10 mm/s
    ("G20\nG1 X1 F60\n", 1.0),  # inches: 1 inch at 60 inches/min
    ("G1 X0 Y0 F600\nG4 P1500\nG4 S2\n", 3.5),  # dwells in ms and s
    ("G1 X10 Y0 F600\nG2 X-10 Y0 I-10 J0\n", 1.0 + math.pi * 10 / 10),  # a half circle of radius 10
    ("M83\nG1 E5 F300\nG1 E5\n", 2.0),  # extrusion in place: 10 mm of filament at 5 mm/s
    ("N10 G1 X60 F3600*99\n", 1.0),  # framed lines: the N word is not the command
])
def test_kinematic_estimate_follows_modes_units_dwells_and_arcs(gcode: str, seconds: float) -> None:
    assert math.isclose(kinematic_estimate(gcode), seconds, rel_tol=1e-6)


def test_required_window_scales_with_quantity_and_margin() -> None:
    assert required_window(600, 3, 1.25, 1800) == 600 * 3 * 1.25 + 1800
