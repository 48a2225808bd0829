"""`fabrica node print|probe` through typer's CliRunner against pty peers."""
from __future__ import annotations

import json

from peers.grbl_sim import GrblSimulator
from peers.launch import virtual_printer
from typer.testing import CliRunner

from fabrica.node_client.cli import app

runner = CliRunner()



def test_print_and_probe_marlin(tmp_path):
    gfile = tmp_path / "part.gcode"
    body = ["; sliced by test", "G28 ; home", "M104 S200"] + [f"G1 X0.{i % 9 + 1}{i:04d} Y0.1 F6000" for i in range(400)]
    gfile.write_text("\n".join(body) + "\n")
    with virtual_printer(tmp_path, baud=250000, simulated_errors=["100:resend", "110:missing_lineno"]) as peer:
        res = runner.invoke(app, ["probe", "--port", peer.port, "--baud", "250000", "--boot-wait", "0.3", "--json"])
        assert res.exit_code == 0, res.output
        ident = json.loads(res.output)
        assert ident["firmware"]["FIRMWARE_NAME"] == "Virtual Marlin 1.0" and ident["capabilities"]["AUTOREPORT_TEMP"]
        res = runner.invoke(app, ["probe", "--port", peer.port, "--baud", "250000", "--boot-wait", "0.3"])
        assert "FIRMWARE_NAME: Virtual Marlin 1.0" in res.output and "EMERGENCY_PARSER=1" in res.output
        res = runner.invoke(app, ["print", str(gfile), "--port", peer.port, "--baud", "250000", "--boot-wait", "0.3", "--json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.output.strip().splitlines()[-1])
        assert out["ok"] and out["acked"] == out["total"] == 402 and out["resends"] >= 2
        assert [c for c in peer.settled() if c.startswith("G1")] == [c.split(";")[0].strip() for c in body if c.startswith("G1")]


def test_print_fails_with_exit_1_on_fatal_error(tmp_path):
    gfile = tmp_path / "bad.gcode"
    gfile.write_text("G28\n!!DEBUG:trigger_fatal_error_marlin\n" + "G1 X0.1 F6000\n" * 50)
    with virtual_printer(tmp_path, simulated_errors=[]) as peer:
        res = runner.invoke(app, ["print", str(gfile), "--port", peer.port, "--baud", "250000", "--boot-wait", "0.3"])
    assert res.exit_code == 1 and "Thermal Runaway" in res.output


def test_print_grbl_with_unlock(tmp_path):
    gfile = tmp_path / "cut.nc"
    gfile.write_text("".join(f"G1 X{i}.5 Y{i % 7} F800\n" for i in range(300)))
    sim = GrblSimulator(locked=True)
    try:
        res = runner.invoke(app, ["print", str(gfile), "--port", sim.port, "--firmware", "grbl", "--unlock",
                                  "--boot-wait", "0.3", "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output.strip().splitlines()[-1])["acked"] == 300 and len(sim.executed) == 300
        res = runner.invoke(app, ["probe", "--port", sim.port, "--firmware", "grbl", "--boot-wait", "0.1", "--json"])
        assert json.loads(res.output)["firmware"]["FIRMWARE_NAME"] == "Grbl"
    finally:
        sim.close()


def test_actionable_errors(tmp_path):
    res = runner.invoke(app, ["print", str(tmp_path / "missing.gcode"), "--port", "/dev/null-nope"])
    assert res.exit_code == 2 and "does not exist" in res.output
    gfile = tmp_path / "a.gcode"
    gfile.write_text("G28\n")
    res = runner.invoke(app, ["print", str(gfile), "--port", "/dev/ttyNOPE0", "--json"])
    assert res.exit_code == 2 and "cannot open serial port" in json.loads(res.output)["error"]
    res = runner.invoke(app, ["probe", "--port", "/dev/ttyNOPE0", "--firmware", "smoothie"])
    assert res.exit_code == 2 and "smoothie" in res.output
