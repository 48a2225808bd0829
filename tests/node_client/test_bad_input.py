"""Bad input to `fabrica node print|probe|replay|run|jobs` (issue 11 §5): one clear line, a non-zero exit, no
traceback, and nothing changed — no port opened, no transaction sent, no file written.

Real parts only: the session's anvil devnet, OctoPrint's virtual Marlin and our GRBL simulator behind
pseudo-terminals, PrusaSlicer. The property-based tests at the end feed malformed values to every option of
every command and check exactly that contract.
"""
from __future__ import annotations

import json
import os
import string
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers.grbl_sim import GrblSimulator
from peers.launch import virtual_printer
from test_jobloop import PRINTER, post, write_config
from test_slicer import cube_stl
from typer.testing import CliRunner

from fabrica.node_client import gcode
from fabrica.node_client.cli import app
from fabrica.node_client.config import load_node_config
from fabrica.node_client.jobloop import JobLoop
from fabrica.node_client.drivers import Driver, create_protocol
from fabrica.node_client.errors import NodeConfigError
from fabrica.node_client.grbl import GrblProtocol
from fabrica.node_client.limits import BAUD_RATES, check_lines, identified_limits
from fabrica.node_client.marlin import MarlinProtocol
from fabrica.node_client.runner import PrintRunner
from fabrica.node_client.serial_transport import SerialTransport
from fabrica.node_client.state import NodeState
from fabrica.node_client.transcript import load as load_transcript
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.types import JobStatus

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPT = Path(__file__).resolve().parent / "transcripts" / "grbl" / "grbl-1.1h-job-ok.txt"


def invoke(args: list[str], timeout: float = 60.0) -> Any:
    """`fabrica node ARGS` in-process; a command still running after `timeout` seconds fails the test (a hang)."""
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.setdefault("r", CliRunner().invoke(app, args)), daemon=True)
    worker.start()
    worker.join(timeout)
    assert "r" in box, f"fabrica node {' '.join(args)} was still running after {timeout:.0f} s"
    return box["r"]


def refused(result: Any) -> str:
    """The contract for a bad input: exit != 0, no traceback, one `error:` line (or click's short usage panel)."""
    out = result.output
    assert result.exit_code != 0, f"exit 0 for a bad input:\n{out}"
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines, "no message at all"
    if lines[0].startswith(("Usage:", "╭─ Error")):  # click refused the value itself: a short panel naming it
        assert len(lines) <= 8 and ("Invalid value" in out or "Error" in out), out
    elif lines[0].startswith("{"):  # --json: one object saying what failed
        assert len(lines) == 1 and json.loads(lines[0])["ok"] is False, out
    else:
        assert len(lines) == 1 and lines[0].startswith("error:"), f"not one error line:\n{out}"
    return lines[-1]


def files_under(*folders: Path) -> list[str]:
    """Every file with its size: a refused command must create or change none."""
    return sorted(f"{p}:{p.stat().st_size}" for folder in folders for p in folder.rglob("*") if p.is_file())


def big_gcode(path: Path, lines: int = 3000) -> Path:
    path.write_text("G28\n" + "".join(f"G1 X{i % 50}.5 Y{i % 7} F800\n" for i in range(lines)))
    return path


# ------------------------------------------------------------------------------- funds: node run


def test_node_run_with_a_mistyped_port_registers_claims_and_writes_nothing(chain, tmp_path) -> None:
    """The reviewer's `/dev/ttyUSB9`: before, a node was registered, a job claimed and collateral locked."""
    shop = chain["shop"]
    job_id = post(chain, cube_stl(8, 8, 2))
    work = tmp_path / "shop"
    work.mkdir()
    config = write_config(work, chain, str(tmp_path / "ttyUSB9"), machine={"connect_timeout": 3})
    block, nodes, stake = shop.w3.eth.block_number, len(shop.nodes()), shop.stake_of(shop.address)
    files = files_under(work)
    started = time.monotonic()
    result = invoke(["run", "--config", str(config)])
    assert time.monotonic() - started < 30  # no hang
    message = refused(result)
    assert result.exit_code == 2
    assert message.startswith("error: no machine answers, so nothing was registered or claimed: vp-1 on ")
    assert "ttyUSB9' at 250000 baud: no such device" in message and "fabrica node probe" in message
    assert shop.w3.eth.block_number == block  # not one transaction
    assert len(shop.nodes()) == nodes and shop.stake_of(shop.address) == stake
    assert shop.job(job_id).status == JobStatus.OPEN
    assert files_under(work) == files  # no state file, no key file


def test_a_machine_that_stops_answering_is_out_of_matching_until_it_answers_again(chain, tmp_path) -> None:
    """Unplugged after start-up: its claimed job waits (no attempt spent, not abandoned), nothing new is claimed
    for it; plugged back in, it is found again and the job is printed and delivered once."""
    customer, shop = chain["customer"], chain["shop"]
    link = tmp_path / "ttyVP"  # the device path in node.toml; removing it is pulling the USB cable
    said: list[str] = []
    with virtual_printer(tmp_path, baud=250000, **PRINTER) as peer:
        link.symlink_to(peer.port)
        cfg = load_node_config(write_config(tmp_path, chain, str(link)))
        loop = JobLoop(cfg, threaded=False, say=said.append, recheck_interval=0)
        assert [m.cfg.name for m in loop.check_machines()] == ["vp-1"]
        loop.register()
        loop.reconcile()
        link.unlink()
        job_id = post(chain, cube_stl(8, 8, 2))
        loop.tick()  # claims with the machine it knew, slices, then finds it gone
        job = loop.state.job(job_id)
        assert (job.phase, job.attempts, loop.state.print_logs(job_id)) == ("sliced", 0, []), said
        assert any("vp-1 does not answer" in s for s in said) and loop.usable() == []
        other = post(chain, cube_stl(6, 6, 2))
        loop.tick()  # still gone: checked again, nothing claimed, the waiting job not started
        assert customer.job(other).status == JobStatus.OPEN
        assert loop.state.job(job_id).attempts == 0
        customer.cancel_job(other)
        link.symlink_to(peer.port)
        loop.tick()  # answers again: back in matching, the waiting job resumes
        executed = peer.settled()
    loop.close()
    assert any("vp-1: answers again" in s for s in said), said
    assert loop.delivered == [job_id], said
    assert shop.job(job_id).status == JobStatus.DELIVERED
    log = json.loads(chain["store"].get(shop.job(job_id).proof_cid))
    assert [(a["attempt"], a["ok"]) for a in log["attempts"]] == [(1, True)]
    sliced = (tmp_path / "jobs" / str(job_id) / "job.gcode").read_text()
    moves = [c for c in map(gcode.clean, sliced.splitlines()) if c.startswith("G1")]
    assert [c for c in executed if c.startswith("G1")] == moves  # every move once, in order


def _loop_on(chain: dict, tmp_path: Path, port: str, said: list[str]) -> JobLoop:
    """A job loop with one GRBL-family machine on `port`, checked, registered and reconciled."""
    cfg = load_node_config(write_config(tmp_path, chain, port, machine={"firmware": "grbl", "baud": 115200,
                                                                         "boot_wait": 0.2}))
    loop = JobLoop(cfg, threaded=False, say=said.append)
    loop.check_machines()
    loop.register()
    loop.reconcile()
    return loop


LONG_GCODE = ("G21\nG90\n" + "G1 X1." + "0" * 106 + " Y2 F800" + "\nG1 X0 Y0\n").encode()  # line 3: 120 characters


def test_node_run_refuses_gcode_lines_grbl_cannot_take_before_claiming_or_printing(chain, tmp_path) -> None:
    """The job loop checks G-code against the identified firmware: a public design with a line GRBL 1.1 cannot take
    is not claimed; one sealed to the node (readable only once claimed) is handed back before any line is printed,
    and the machine stays in service."""
    sim = GrblSimulator()
    said: list[str] = []
    try:
        loop = _loop_on(chain, tmp_path, sim.port, said)
        public = post(chain, LONG_GCODE, name="part.gcode")
        loop.tick()
        assert chain["shop"].job(public).status == JobStatus.OPEN  # nothing claimed, no collateral locked
        rule = ("line 3 has 117 characters not counting spaces; Grbl 1.1h.20190825 takes at most 79 per line "
                "(GRBL's 80-byte line buffer, else error:11)")
        assert rule in loop.state.skipped()[public]
        assert any(line.startswith(f"job {public}: not for this node: design 'part.gcode' {rule}") for line in said)
        node_id = loop.machines["vp-1"].node_id
        sealed = post(chain, LONG_GCODE, name="part.gcode", sealed_to=loop.keys.public_key, target_node=node_id)
        loop.tick()
        job = loop.state.job(sealed)
        assert job.phase == "handed_back" and f"cannot make it: design 'part.gcode' {rule}" in job.error, said
        assert job.attempts == 0 and loop.state.print_logs(sealed) == []
        assert chain["shop"].job(sealed).status == JobStatus.OPEN  # the customer can have it made elsewhere
        assert loop.machines["vp-1"].in_service and chain["shop"].node(node_id).active
        assert sim.executed == []  # not one line of either job reached the machine
        loop.tick()
        assert loop.state.job(sealed).phase == "handed_back"  # never claimed again
        loop.close()
    finally:
        sim.close()


def test_node_run_prints_a_line_grblhal_takes(chain, tmp_path) -> None:
    """The same 120-character line is within grblHAL's 256: claimed, printed whole and delivered."""
    sim = GrblSimulator(flavour="grblhal")
    said: list[str] = []
    try:
        loop = _loop_on(chain, tmp_path, sim.port, said)
        job_id = post(chain, LONG_GCODE, name="part.gcode")
        loop.tick()
        assert loop.delivered == [job_id], said
        assert sim.executed == [c for _, c in gcode.numbered(LONG_GCODE.decode())]
        assert chain["shop"].job(job_id).status == JobStatus.DELIVERED
        loop.close()
    finally:
        sim.close()


def test_node_run_with_no_machines_names_the_machines_table(tmp_path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[fabrica]\naccount = "shop"\n\n[node]\npoll_interval = 1\n')
    message = refused(invoke(["run", "--config", str(config)]))
    assert "add at least one [[machines]] table" in message and "README.md" in message
    assert "examples/node.toml" in message


def test_node_run_help_describes_the_format_and_points_at_the_docs() -> None:
    result = invoke(["run", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for part in ("[fabrica]", "[node]", "[[machines]]", "firmware marlin|grbl", "README.md", "examples/node.toml"):
        assert part in text, part
    assert "fabrica.node_client.config" not in text  # no longer a pointer at a docstring


def test_the_example_node_toml_is_the_readme_example_and_is_valid() -> None:
    example = REPO / "examples" / "node.toml"
    readme = (REPO / "README.md").read_text()
    section = readme.split("### node.toml", 1)[1].split("\n## ", 1)[0]
    assert section.split("```toml\n", 1)[1].split("```", 1)[0] == example.read_text()
    cfg = load_node_config(example)
    assert cfg.settings.account == "shop" and cfg.settings.home.resolve() == (REPO / ".fabrica").resolve()
    (machine,) = cfg.machines
    assert (machine.firmware, machine.baud, machine.process) == ("marlin", 250000, "FDM")
    assert machine.material_names(machine.load_profile(cfg.base_dir)) == ("PLA", "PETG")
    for key in ("rpc_url", "poll_interval", "max_collateral", "port", "profile", "materials"):
        assert f"`{key}`" in section, key  # every key the example uses is in the table


MACHINE = '[[machines]]\nname = "m"\nport = "/dev/ttyACM0"\n'
BAD_FIELDS = [
    (MACHINE + 'baud = "fast"\n', "machines.0.baud: Input should be a valid integer (got 'fast')"),
    (MACHINE + "baud = true\n", "machines.0.baud: Input should be a valid integer"),
    (MACHINE + "baud = 0\n", "machines.0.baud: baud 0 is not a serial baud rate"),
    (MACHINE + "boot_wait = -1\n", "machines.0.boot_wait: Input should be greater than or equal to 0"),
    (MACHINE + "print_timeout = 0\n", "machines.0.print_timeout: Input should be greater than 0"),
    (MACHINE + "node_id = 0\n", "machines.0.node_id"),
    (MACHINE + 'process = "WELD"\n', "machines.0.process: unknown ProcessKind 'WELD'"),
    (MACHINE + 'materials = ["UNOBTAINIUM"]\n', "machines.0.materials: unknown material(s) UNOBTAINIUM"),
    (MACHINE + 'materials = ["ABS"]\n', "machines.m.materials: ABS has no settings in profile 'generic-fdm-250'"),
    (MACHINE + 'materials = "PLA"\n', "machines.0.materials: Input should be a valid list"),
    (MACHINE + 'firmware = "klipper"\n', "machines.0.firmware: firmware must be one of grbl, marlin"),
    (MACHINE + 'profile = "nope"\n', "machines.0.profile: slicer profile 'nope' not found"),
    (MACHINE + 'profile = "upside-down.ini"\n', "machines.0.profile: slicer profile"),
    (MACHINE + 'colour = "red"\n', "machines.0.colour: unknown key; known: name, port, baud"),
    ('[[machines]]\nname = "m"\n', "machines.0.port: is required"),
    ('[[machines]]\nname = "a b"\nport = "/dev/x"\n', "machines.0.name: String should match pattern"),
    (MACHINE + MACHINE, "machine names must be unique"),
    ('machines = "m"\n', "machines must be written as [[machines]] tables"),
    ('[machines]\nname = "m"\n', "machines must be written as [[machines]] tables"),
    ("[node]\npoll_interval = 0\n" + MACHINE, "node.poll_interval: Input should be greater than 0"),
    ("[node]\nmax_attempts = 0\n" + MACHINE, "node.max_attempts"),
    ('[node]\nmax_collateral = "-5"\n' + MACHINE, "node.max_collateral: Input should be greater than or equal to 0"),
    ('[node]\nmax_collateral = "lots"\n' + MACHINE, "node.max_collateral: Input should be a valid decimal"),
    ("[node]\nretries = 3\n" + MACHINE, "node.retries: unknown key; known: state_db"),
    ("[node]\ntime_margin = 0.9\n" + MACHINE, "node.time_margin: Input should be greater than or equal to 1"),
    ("[node]\nmin_slack_s = -1\n" + MACHINE, "node.min_slack_s: Input should be greater than or equal to 0"),
    ('[node]\nunestimated_min_window = "long"\n' + MACHINE, "node.unestimated_min_window: Input should be a valid integer"),
    ('[node]\nmax_collateral_share = "0"\n' + MACHINE, "node.max_collateral_share: Input should be greater than 0"),
    ('[node]\nfab_prices = { fUSD = "-1" }\n' + MACHINE, "node.fab_prices.fUSD: Input should be greater than 0"),
    ("[fabrica]\nrpc_url = 5\n" + MACHINE, "fabrica.rpc_url: Input should be a valid string (got 5)"),
    ('[fabrica]\nrpcurl = "http://x"\n' + MACHINE, "fabrica.rpcurl: unknown key; known: rpc_url"),
    ("fabrica = 3\n" + MACHINE, "fabrica must be a [fabrica] table"),
    ('[printer]\nport = "/dev/x"\n' + MACHINE, "unknown section(s) printer; known: [fabrica], [node], [[machines]]"),
    ("[[machines]\n", "is not valid TOML"),
    (MACHINE + "max_cmd_size = 8\n", "machines.0.max_cmd_size: max_cmd_size 8 must be the MAX_CMD_SIZE the firmware"),
    (MACHINE + "max_cmd_size = true\n", "machines.0.max_cmd_size: Input should be a valid integer"),
    (MACHINE + 'firmware = "grbl"\nmax_cmd_size = 128\n',
     "machines.0.max_cmd_size: max_cmd_size is Marlin's MAX_CMD_SIZE; grbl firmware reports what it takes"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FIELDS, ids=[e.split(":")[0][:40] for _, e in BAD_FIELDS])
def test_every_bad_node_toml_field_is_one_line_naming_the_field(tmp_path, text: str, expected: str) -> None:
    profile = (REPO / "node-client" / "profiles" / "generic-fdm-250.ini").read_text()
    (tmp_path / "upside-down.ini").write_text(profile.replace("max_print_height = 220", "max_print_height = -10"))
    config = tmp_path / "node.toml"
    config.write_text(text)
    files = files_under(tmp_path)
    for command in ("run", "jobs"):
        message = refused(invoke([command, "--config", str(config)]))
        assert expected in message, message
        assert files_under(tmp_path) == files


def test_node_jobs_looks_without_creating_the_state(tmp_path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nstate_db = "state.sqlite"\n\n' + MACHINE)
    files = files_under(tmp_path)
    result = invoke(["jobs", "--config", str(config)])
    assert result.exit_code == 0 and "no jobs yet" in result.output
    message = refused(invoke(["jobs", "--config", str(config), "--job", "3"]))
    assert "job 3 is not in this node's state" in message
    assert files_under(tmp_path) == files and not (tmp_path / "state.sqlite").exists()
    (tmp_path / "state.sqlite").write_text("not a database")
    message = refused(invoke(["jobs", "--config", str(config)]))
    assert "is not a node state database" in message


# ---------------------------------------------------------------------------------- node print


def test_print_refuses_baud_zero_and_empty_gcode_without_opening_the_port(tmp_path) -> None:
    sim = GrblSimulator()
    try:
        good = big_gcode(tmp_path / "part.nc", 5)
        empty = tmp_path / "empty.gcode"
        empty.write_bytes(b"")
        comments = tmp_path / "comments.gcode"
        comments.write_text("; sliced by nothing\n\n   ; still nothing\n")
        base = ["--port", sim.port, "--firmware", "grbl", "--boot-wait", "0.1"]
        message = refused(invoke(["print", str(good), *base, "--baud", "0"]))
        assert "--baud 0 is not a serial baud rate" in message and "115200" in message
        message = refused(invoke(["print", str(empty), *base]))
        assert "is empty (0 bytes); there is nothing to print" in message
        message = refused(invoke(["print", str(comments), *base]))
        assert "holds only comments and blank lines" in message
        assert sim.opens == 0 and sim.executed == []
        ok = invoke(["print", str(good), *base, "--json"])  # the same machine, given good input, prints
        assert ok.exit_code == 0, ok.output
        assert sim.opens == 1 and len(sim.executed) == 6
    finally:
        sim.close()


def test_print_of_an_overlong_line_is_refused_before_streaming(tmp_path) -> None:
    """Marlin's 96-byte command buffer: a 300-character line used to hang the print, even with --ack-timeout.
    No firmware takes 300 characters, so that is refused unopened; 100 characters is refused once M115 says the
    machine is Marlin, before any job line; declared with --max-cmd-size, the same line prints."""
    never = tmp_path / "long.gcode"
    never.write_text("G28\nM117 " + "A" * 295 + "\nG1 X1\n")
    marlin = tmp_path / "m117.gcode"
    marlin.write_text("G28\nM117 " + "A" * 95 + "\nG1 X1\n")
    with virtual_printer(tmp_path, baud=250000) as peer:
        base = ["--port", peer.port, "--baud", "250000", "--ack-timeout", "3", "--boot-wait", "0.3"]
        started = time.monotonic()
        message = refused(invoke(["print", str(never), *base]))
        assert time.monotonic() - started < 5
        assert peer.executed() == []  # the port was never opened
        assert ("line 2 has 300 characters; any firmware this client drives takes at most 256 per line "
                "(grblHAL's 256-character line buffer is the largest); shorten or split that line") in message
        started = time.monotonic()
        message = refused(invoke(["print", str(marlin), *base]))
        assert time.monotonic() - started < 10  # no hang: refused before streaming
        identified = peer.settled()
        assert "M115" in identified and not any(line.startswith(("G28", "M117")) for line in identified)
        assert f"G-code file {str(marlin)!r} line 2 has 100 characters; " in message
        assert "Marlin" in message and "takes at most 80 per line (its 96-byte command buffer" in message
        assert "--max-cmd-size" in message and message.endswith("shorten or split that line")
        ok = invoke(["print", str(marlin), *base, "--max-cmd-size", "128", "--json"])
        assert ok.exit_code == 0, ok.output
        assert "M117 " + "A" * 95 in peer.settled()


LONG_MOVE = "G1 X1." + "0" * 106 + " Y2 F800"  # 120 characters, 117 without spaces


def test_a_120_character_line_streams_on_grblhal_and_is_refused_on_grbl_1_1_before_streaming(tmp_path) -> None:
    """The limit is the identified firmware's: grblHAL's 256-character line buffer takes the line, classic GRBL's
    80 bytes cannot (the simulator answers error:11 to it, as GRBL 1.1 does), so there it is refused after `$I`
    and before the first job line, naming the line, the limit and the firmware."""
    gfile = tmp_path / "long.nc"
    gfile.write_text("G21\nG90\n" + LONG_MOVE + "\nG1 X0 Y0\n")
    hal = GrblSimulator(flavour="grblhal")
    try:
        result = invoke(["print", str(gfile), "--port", hal.port, "--firmware", "grbl", "--boot-wait", "0.2",
                         "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["identity"]["FIRMWARE_NAME"] == "grblHAL"
        assert hal.executed == ["G21", "G90", LONG_MOVE, "G1 X0 Y0"]
    finally:
        hal.close()
    grbl = GrblSimulator()
    try:
        message = refused(invoke(["print", str(gfile), "--port", grbl.port, "--firmware", "grbl", "--boot-wait", "0.2"]))
        assert grbl.opens == 1 and grbl.executed == []  # identified, then nothing of the job was sent
        assert message == (f"error: G-code file {str(gfile)!r} line 3 has 117 characters not counting spaces; "
                           "Grbl 1.1h.20190825 takes at most 79 per line (GRBL's 80-byte line buffer, else error:11); "
                           "shorten or split that line")
        # Why: streamed anyway, GRBL 1.1 refuses the line in the middle of the job
        driver = Driver(SerialTransport(grbl.port, 115200), create_protocol("grbl"), boot_wait=0.2)
        try:
            driver.connect()
            outcome = PrintRunner(driver).run(gcode.load(gfile), 30)
        finally:
            driver.close()
        assert not outcome.ok and "error:11" in (outcome.reason or "") and grbl.executed == ["G21", "G90"]
    finally:
        grbl.close()


@pytest.mark.parametrize("transcript, firmware, limit", [
    ("grbl-0.9j-unsupported-command.txt", "Grbl 0.9j.20160726", 79),
    ("grbl-1.1h-job-ok.txt", "Grbl 1.1h.20190825", 79),
    ("grblhal-1.1f-probe-job.txt", "grblHAL 1.1f.20250313", 256),  # LINE_BUFFER_SIZE 257, RX 1024 from [OPT:]
    ("fluidnc-3.x-unlock-gc-job.txt", "FluidNC v3.4.8", 126),  # parser 127; the assumed 128-byte RX binds first
])
def test_each_recorded_firmware_gets_its_own_line_limit(transcript: str, firmware: str, limit: int) -> None:
    """Identity from real sessions (banner, `$I`): the limit that applies once that firmware has answered."""
    session = load_transcript(TRANSCRIPT.parent / transcript)
    protocol = GrblProtocol()
    protocol.start(0.0)
    for line in session.firmware_lines():
        protocol.receive(line, 0.1)
    limits = identified_limits("grbl", protocol.firmware)
    just_fits, one_more = "G1X" + "1" * (limit - 3), "G1X" + "1" * (limit - 2)
    check_lines([(1, just_fits)], "grbl", "job", limits)
    with pytest.raises(NodeConfigError) as refusal:
        check_lines([(1, just_fits), (2, one_more)], "grbl", "job", limits)
    assert str(refusal.value).startswith(f"job line 2 has {limit + 1} characters")
    assert f"; {firmware} takes at most {limit} per line (" in str(refusal.value)
    check_lines([(1, "G1X" + "1" * 250)], "grbl", "job")  # unopened, only what no firmware takes is refused


def test_marlin_protocol_never_waits_forever() -> None:
    """Without the CLI's check: a line too long for the buffer halts with the reason; endless `wait` halts."""
    p = MarlinProtocol(ack_timeout=3)
    p.start(0.0)
    p.receive("ok", 0.1)
    p.receive("FIRMWARE_NAME:Marlin 2.1", 0.2)
    p.receive("ok", 0.2)
    p.take_output()
    p.enqueue("M117 " + "A" * 295)
    p.tick(0.3)
    assert p.halted and "Marlin's command buffer takes 95" in p.halt_reason and p.take_output() == b""

    p = MarlinProtocol(ack_timeout=3, max_recoveries=3)
    p.start(0.0)
    p.receive("ok", 0.1)
    p.receive("FIRMWARE_NAME:Marlin 2.1", 0.2)
    p.receive("ok", 0.2)
    p.enqueue("G1 X1")
    p.tick(0.3)
    for second in range(1, 10):  # a firmware that only ever says `wait` and never takes the line
        p.receive("wait", float(second))
        if p.halted:
            break
    assert p.halted and "after 3 probes" in p.halt_reason and second == 4


def test_print_ends_in_one_line_when_the_marlin_port_disappears_mid_print(tmp_path) -> None:
    gfile = big_gcode(tmp_path / "part.gcode")
    with virtual_printer(tmp_path, baud=250000) as peer:
        box: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: box.setdefault("r", invoke(
            ["print", str(gfile), "--port", peer.port, "--baud", "250000", "--boot-wait", "0.3", "--json"])))
        worker.start()
        deadline = time.monotonic() + 60
        while len(peer.executed()) < 30:
            assert time.monotonic() < deadline and worker.is_alive(), "the print never started"
            time.sleep(0.05)
        peer.proc.kill()  # the printer's end of the pseudo-terminal goes away, as an unplugged cable
        worker.join(60)
    result = box["r"]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    out = json.loads(line)
    assert out["ok"] is False and out["state"] == "failed" and 0 < out["acked"] < out["total"] == 3001
    assert f"serial port {peer.port!r} failed" in out["reason"]


def test_print_ends_in_one_line_when_the_grbl_port_disappears_mid_print(tmp_path) -> None:
    gfile = big_gcode(tmp_path / "part.nc")
    sim = GrblSimulator(line_time=0.002)
    threading.Timer(1.0, sim.close).start()
    result = invoke(["print", str(gfile), "--port", sim.port, "--firmware", "grbl", "--boot-wait", "0.2"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("failed: ") and "lines acknowledged; serial port" in last and "failed while" in last
    assert "KeyError" not in result.output


# ------------------------------------------------------------- property tests: every option

TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ._-/:", max_size=12)
NOT_A_NUMBER = TEXT.filter(lambda s: not _is_float(s))
NOT_AN_INT = TEXT.filter(lambda s: not s.strip().lstrip("+-").isdigit())
BAD_SECONDS = st.one_of(st.floats(max_value=-1e-6, allow_nan=False).map(repr), st.sampled_from(["nan", "inf", "-inf"]),
                        NOT_A_NUMBER)
BAD_POSITIVE_SECONDS = st.one_of(BAD_SECONDS, st.just("0"))
BAD_BAUD = st.one_of(st.integers(max_value=299), st.integers(min_value=4_000_001, max_value=10**15),
                     st.integers(300, 4_000_000).filter(lambda b: b not in BAUD_RATES), NOT_AN_INT).map(str)
BAD_FIRMWARE = TEXT.filter(lambda s: s not in ("marlin", "grbl"))
# out of range, not a number, or any size with the GRBL family the print tests use (GRBL reports its own limit)
BAD_MAX_CMD_SIZE = st.one_of(st.integers(max_value=31), st.integers(min_value=4097, max_value=10**15),
                             st.integers(32, 4096), NOT_AN_INT).map(str)
PROPERTY = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad files: the folder `work` must look the same after every refused command."""
    root = tmp_path_factory.mktemp("bad-inputs")
    files = {
        "good": big_gcode(root / "part.nc", 3), "missing": root / "missing.gcode", "folder": root / "a-folder",
        "empty": root / "empty.gcode", "comments": root / "comments.gcode", "binary": root / "binary.gcode",
        "long": root / "long.gcode", "control": root / "control.gcode", "realtime": root / "realtime.gcode",
        "garbage": root / "garbage.txt", "no-folder": root / "no" / "such" / "folder" / "x.txt", "work": root,
    }
    files["folder"].mkdir()
    files["empty"].write_bytes(b"")
    files["comments"].write_text("; nothing\n\n")
    files["binary"].write_bytes(b"G28\n\xff\xfe\x00\n")
    files["long"].write_text("G28\nG1 X" + "1" * 300 + "\n")  # no firmware takes it: refused unopened
    files["control"].write_text("G28\nG1 X1\x18\n")
    files["realtime"].write_text("G28\nG1 X1 ! \n")
    files["garbage"].write_text("hello world\n")
    return files


@pytest.fixture(scope="module")
def grbl() -> Any:
    """A GRBL machine that answers: a malformed value that got through would open it (`opens`) and run lines."""
    sim = GrblSimulator()
    yield sim
    sim.close()


def bad_path(inputs: dict[str, Path], *names: str) -> st.SearchStrategy[str]:
    return st.sampled_from([str(inputs[n]) for n in names])


def bad_values(option: str, inputs: dict[str, Path]) -> st.SearchStrategy[list[str]]:
    """Arguments that give `option` a malformed value."""
    if option in ("--json", "--unlock"):  # flags take no value
        return st.sampled_from(["yes", "1", "no"]).map(lambda v: [f"{option}={v}"])
    value = {
        "FILE": bad_path(inputs, "missing", "folder", "empty", "comments", "binary", "long", "control", "realtime"),
        "TRANSCRIPT": bad_path(inputs, "missing", "folder", "empty", "binary", "garbage", "comments"),
        "--port": st.one_of(st.sampled_from(["", " ", "/dev/null", str(inputs["folder"]), str(inputs["missing"]),
                                             str(inputs["garbage"])]), TEXT.map(lambda s: f"/dev/ttyNOPE{s}")),
        "--baud": BAD_BAUD,
        "--firmware": BAD_FIRMWARE,
        "--boot-wait": BAD_SECONDS,
        "--idle-exit": BAD_SECONDS,
        "--ack-timeout": BAD_POSITIVE_SECONDS,
        "--timeout": BAD_POSITIVE_SECONDS,
        "--record": bad_path(inputs, "folder", "no-folder"),
        "--max-cmd-size": BAD_MAX_CMD_SIZE,
    }[option]
    if option in ("FILE", "TRANSCRIPT"):
        return value.map(lambda v: [v])
    return value.map(lambda v: [f"{option}={v}"])


def command_line(command: str, good: dict[str, str], option: str, bad: list[str]) -> list[str]:
    """`command` with every good value except `option`, which gets `bad`."""
    args = [command]
    for name, value in good.items():
        if name == option:
            continue
        args += [value] if name.isupper() else [name, value]
    return args + bad


PRINT_OPTIONS = ["FILE", "--port", "--baud", "--firmware", "--json", "--boot-wait", "--ack-timeout", "--timeout",
                 "--unlock", "--record", "--max-cmd-size"]
PROBE_OPTIONS = ["--port", "--baud", "--firmware", "--json", "--boot-wait", "--record"]
REPLAY_OPTIONS = ["TRANSCRIPT", "--baud", "--json", "--idle-exit"]


@pytest.mark.parametrize("option", PRINT_OPTIONS)
@PROPERTY
@given(data=st.data())
def test_print_refuses_every_malformed_option(option: str, data: st.DataObject, inputs, grbl) -> None:
    good = {"FILE": str(inputs["good"]), "--port": grbl.port, "--firmware": "grbl", "--boot-wait": "0.1"}
    bad = data.draw(bad_values(option, inputs), label=option)
    before = files_under(inputs["work"])
    refused(invoke(command_line("print", good, option, bad), timeout=30))
    assert grbl.opens == 0 and grbl.executed == []  # the machine was never touched
    assert files_under(inputs["work"]) == before


@pytest.mark.parametrize("option", PROBE_OPTIONS)
@PROPERTY
@given(data=st.data())
def test_probe_refuses_every_malformed_option(option: str, data: st.DataObject, inputs, grbl) -> None:
    good = {"--port": grbl.port, "--firmware": "grbl", "--boot-wait": "0.1"}
    bad = data.draw(bad_values(option, inputs), label=option)
    before = files_under(inputs["work"])
    refused(invoke(command_line("probe", good, option, bad), timeout=30))
    assert grbl.opens == 0
    assert files_under(inputs["work"]) == before


@pytest.mark.parametrize("option", REPLAY_OPTIONS)
@PROPERTY
@given(data=st.data())
def test_replay_refuses_every_malformed_option(option: str, data: st.DataObject, inputs) -> None:
    # A replay that started would serve a pseudo-terminal until a client came: `invoke` fails it as a hang.
    good = {"TRANSCRIPT": str(TRANSCRIPT), "--idle-exit": "0"}
    bad = data.draw(bad_values(option, inputs), label=option)
    before = files_under(inputs["work"])
    refused(invoke(command_line("replay", good, option, bad), timeout=15))
    assert files_under(inputs["work"]) == before


# node run / node jobs: a config that would work, then each option made malformed.

def _accounts() -> st.SearchStrategy[str]:
    def not_an_account(s: str) -> bool:
        return s not in DEV_ROLES and not (s.isdecimal() and s.isascii() and int(s) < 10)

    return st.one_of(st.sampled_from(["nobody", "-1", "10", "15", "/no/such/keystore.json", "/tmp", ""]),
                     TEXT.filter(not_an_account), st.integers(min_value=10).map(str))


def _bad_configs(root: Path, good: str) -> list[str]:
    """Config files each broken in one way (the field tests above cover every field one by one)."""
    variants = {
        "missing": None, "folder": None,
        "toml": good.replace("[[machines]]", "[[machines]"),
        "baud": good.replace("baud = 115200", "baud = 0"),
        "port": good.replace(f'port = "{_port_line(good)}"\n', ""),
        "firmware": good.replace('firmware = "grbl"', 'firmware = "smoothie"'),
        "unknown": good + "colour = \"red\"\n",
        "none": good.split("[[machines]]")[0],
    }
    paths = []
    for name, text in variants.items():
        p = root / f"{name}.toml"
        if name == "folder":
            p.mkdir(exist_ok=True)
        elif text is not None:
            p.write_text(text)
        paths.append(str(p))
    return paths


def _port_line(text: str) -> str:
    return text.split('port = "', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def shop_setup(devnet, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A working node.toml whose one machine (a GRBL simulator) answers, and an open job it could take."""
    from fabrica.protocol.client import Fabrica
    from fabrica.protocol.storage import LocalContentStore

    net, home = devnet
    root = tmp_path_factory.mktemp("bad-run")
    sim = GrblSimulator()
    base = Fabrica.connect(net.rpc_url, deployments_dir=home / "deployments")
    snap = base.w3.provider.make_request("evm_snapshot", [])["result"]  # the job posted here is not left behind
    chain = {"net": net, "home": home, "store": LocalContentStore(home / "content"),
             "customer": base.with_account(dev_account(DEV_ROLES["customer"]))}
    job_id = post(chain, cube_stl(8, 8, 2))
    config = write_config(root, chain, sim.port, machine={"firmware": "grbl", "baud": 115200})
    state = NodeState(root / "state.sqlite")  # `node jobs` then reads a real state file
    state.record_claim(999, 1, "vp-1", claim_tx="0xabc")
    state.close()
    bad_dir = root / "bad"
    bad_dir.mkdir()
    yield {"root": root, "config": config, "sim": sim, "base": base, "job": job_id,
           "bad_configs": _bad_configs(bad_dir, config.read_text())}
    sim.close()
    assert base.w3.provider.make_request("evm_revert", [snap]).get("result") is True


def _chain_state(base: Any, job_id: int) -> tuple:
    """Blocks (any transaction mines one), nodes, the shop's stake and the open job."""
    shop = dev_account(DEV_ROLES["shop"]).address
    return (base.w3.eth.block_number, len(base.nodes()), base.stake_of(shop), base.job(job_id).status)


RUN_OPTIONS = ["--config", "--rpc-url", "--account", "--max-jobs"]
JOBS_OPTIONS = ["--config", "--job", "--json"]


def _run_bad_values(option: str, setup: dict) -> st.SearchStrategy[list[str]]:
    if option == "--json":
        return st.sampled_from(["yes", "1"]).map(lambda v: [f"--json={v}"])
    value = {
        "--config": st.sampled_from(setup["bad_configs"]),
        "--rpc-url": st.one_of(st.sampled_from(["notaurl", "", "ftp://127.0.0.1:8545", "http://127.0.0.1:1",
                                                "http://[::1"]), TEXT),
        "--account": _accounts(),
        "--max-jobs": st.one_of(st.integers(max_value=0).map(str), NOT_AN_INT),
        "--job": st.one_of(NOT_AN_INT, st.sampled_from(["1.5", "0x10"]), st.integers(max_value=0).map(str),
                           st.integers(min_value=2**63).map(str)),
    }[option]
    return value.map(lambda v: [f"{option}={v}"])


@pytest.mark.parametrize("option", RUN_OPTIONS)
@PROPERTY
@given(data=st.data())
def test_run_refuses_every_malformed_option(option: str, data: st.DataObject, shop_setup) -> None:
    good = {"--config": str(shop_setup["config"]), "--max-jobs": "1"}
    bad = data.draw(_run_bad_values(option, shop_setup), label=option)
    before = (_chain_state(shop_setup["base"], shop_setup["job"]), files_under(shop_setup["root"]))
    refused(invoke(command_line("run", good, option, bad), timeout=30))
    assert shop_setup["sim"].opens == 0  # the machine was not even probed
    assert (_chain_state(shop_setup["base"], shop_setup["job"]), files_under(shop_setup["root"])) == before


@pytest.mark.parametrize("option", JOBS_OPTIONS)
@PROPERTY
@given(data=st.data())
def test_jobs_refuses_every_malformed_option(option: str, data: st.DataObject, shop_setup) -> None:
    good = {"--config": str(shop_setup["config"])}
    bad = data.draw(_run_bad_values(option, shop_setup), label=option)
    before = files_under(shop_setup["root"])
    refused(invoke(command_line("jobs", good, option, bad), timeout=30))
    assert files_under(shop_setup["root"]) == before
    assert os.path.exists(shop_setup["root"] / "state.sqlite")
