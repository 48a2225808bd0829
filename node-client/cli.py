"""`fabrica node print|probe`: stream a G-code file to a machine, or ask a machine who it is (thin CLI)."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from . import gcode
from .drivers import Driver, create_protocol, firmware_names
from fabrica.protocol.errors import FabricaError

from .errors import NodeClientError, NodeConfigError
from .runner import PrintRunner
from .runner import Progress as JobProgress
from .serial_transport import SerialTransport, Transport
from .transcript import RecordingTransport

app = typer.Typer(help="Drive a machine over serial: stream G-code, probe firmware.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

PortOpt = Annotated[str, typer.Option("--port", help="serial device, e.g. /dev/ttyUSB0 or /dev/ttyACM0")]
BaudOpt = Annotated[int, typer.Option("--baud", help="baud rate (Marlin: 115200 or 250000; GRBL: 115200)")]
FirmwareOpt = Annotated[str, typer.Option("--firmware", help="firmware family: marlin or grbl")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as one JSON object")]
BootOpt = Annotated[float, typer.Option("--boot-wait", help="seconds to wait for the firmware to boot after opening")]


RecordOpt = Annotated[Path | None, typer.Option(
    "--record", help="write a transcript of the whole serial session to this file (replay: fabrica node replay)")]


def _check(port: str, baud: int, firmware: str, boot_wait: float, record: Path | None = None) -> None:
    """Refuse bad serial options before anything is opened (a port, a transcript file)."""
    from .limits import check_baud, check_seconds

    if firmware not in firmware_names():
        raise NodeConfigError(f"--firmware {firmware!r} is not known; choose one of {', '.join(firmware_names())}")
    check_baud(baud)
    check_seconds(boot_wait, "--boot-wait", allow_zero=True)
    if not port.strip():
        raise NodeConfigError("--port is empty; pass the serial device, e.g. /dev/ttyUSB0 or /dev/ttyACM0")
    if record is not None and (record.is_dir() or not record.parent.is_dir()):
        where = "is a folder" if record.is_dir() else f"is in a folder that does not exist ({record.parent})"
        raise NodeConfigError(f"--record {str(record)!r} {where}; name a new file in an existing folder")


def _open(port: str, baud: int, firmware: str, boot_wait: float, record: Path | None = None,
          **options: Any) -> Driver:
    _check(port, baud, firmware, boot_wait, record)
    protocol = create_protocol(firmware, **options)
    transport: Transport = SerialTransport(port, baud)
    if record is not None:
        try:
            out = record.open("w", encoding="ascii")
        except OSError as exc:
            transport.close()
            raise NodeConfigError(f"cannot write the transcript {str(record)!r}: {exc}") from None
        transport = RecordingTransport(transport, out, family=firmware, meta={
            "port": port, "baud": str(baud), "recorded": datetime.now(UTC).isoformat(timespec="seconds")})
    return Driver(transport, protocol, boot_wait=boot_wait)


def _say_error(message: object) -> None:
    """One `error: …` line on stderr; the message is text, not markup (`[[machines]]` must survive)."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(str(message))}")


def _fail(exc: NodeClientError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": str(exc), "kind": type(exc).__name__}))
    else:
        _say_error(exc)
    raise typer.Exit(2)


def _temps(p: JobProgress) -> str:
    parts = []
    for name, (actual, target) in sorted(p.temperatures.items()):
        parts.append(f"{name} {actual:.0f}" + (f"/{target:.0f}" if target else "") + "°C")
    return " ".join(parts)


@app.command("print")
def print_(
    file: Annotated[Path, typer.Argument(help="G-code file to stream", exists=False)],
    port: PortOpt,
    baud: BaudOpt = 115200,
    firmware: FirmwareOpt = "marlin",
    as_json: JsonOpt = False,
    boot_wait: BootOpt = 2.0,
    ack_timeout: Annotated[float, typer.Option(help="seconds without an answer before recovery")] = 10.0,
    timeout: Annotated[float | None, typer.Option(help="give up after this many seconds")] = None,
    unlock: Annotated[bool, typer.Option(help="GRBL: clear an alarm lock ($X) before streaming")] = False,
    record: RecordOpt = None,
    max_cmd_size: Annotated[int | None, typer.Option(
        "--max-cmd-size", help="Marlin: the MAX_CMD_SIZE the firmware was built with, when not the stock 96")] = None,
) -> None:
    """Stream FILE to the machine; exit 0 only when the firmware acknowledged every line."""
    from .limits import check_lines, check_max_cmd_size, check_seconds, identified_limits, unopened_limits

    what = f"G-code file {str(file)!r}"
    try:
        _check(port, baud, firmware, boot_wait, record)
        check_seconds(ack_timeout, "--ack-timeout")
        check_seconds(timeout, "--timeout")
        check_max_cmd_size(max_cmd_size, firmware)
        numbered = gcode.load_numbered(file)
        # Before the port opens, only what no firmware could take: the machine's own limit needs its identity.
        check_lines(numbered, firmware, what, unopened_limits(firmware, max_cmd_size))
        commands = [command for _, command in numbered]
        options: dict[str, Any] = {"ack_timeout": ack_timeout}
        if max_cmd_size:
            options["max_cmd_size"] = max_cmd_size
        driver = _open(port, baud, firmware, boot_wait, record, **options)
    except NodeClientError as exc:
        _fail(exc, as_json)
        return
    outcome: dict[str, Any] = {}
    try:
        identity = driver.connect()
        # Before the first job line: a line too long for this firmware would stop the job midway (GRBL error:11)
        # or hang it (Marlin drops it unanswered).
        check_lines(numbered, firmware, what, identified_limits(firmware, identity["firmware"], max_cmd_size))
        if unlock:
            driver.unlock()
        bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[temps]}"), TimeRemainingColumn(), console=err, disable=as_json,
            transient=False,
        )
        with bar:
            task = bar.add_task(file.name, total=len(commands), temps="")

            def report(p: JobProgress) -> None:
                bar.update(task, completed=p.acked, temps=_temps(p))

            runner = PrintRunner(driver, on_progress=report)

            def stream() -> None:
                try:
                    outcome["r"] = runner.run(commands, timeout)
                except Exception as exc:  # reported by the main thread as one line, never a traceback
                    outcome["error"] = exc

            worker = threading.Thread(target=stream, daemon=True)
            worker.start()
            interrupts = 0
            while worker.is_alive():
                try:
                    worker.join(0.1)
                except KeyboardInterrupt:
                    interrupts += 1
                    if interrupts == 1:
                        err.print("[yellow]cancelling: lines in flight finish; Ctrl-C again for emergency stop[/yellow]")
                        runner.cancel()
                    else:
                        runner.emergency_stop()
    except NodeClientError as exc:
        driver.close()
        _fail(exc, as_json)
        return
    driver.close()
    if "r" not in outcome:
        problem = outcome.get("error")
        _fail(problem if isinstance(problem, NodeClientError)
              else NodeClientError(f"the print stopped: {type(problem).__name__}: {problem}"), as_json)
        return
    result = outcome["r"]
    data = {**result.as_dict(), "file": str(file), "port": port, "baud": baud, "firmware": firmware,
            "identity": identity["firmware"]}
    if as_json:
        typer.echo(json.dumps(data))
    elif result.ok:
        err.print(f"[green]done:[/green] {result.acked}/{result.total} lines acknowledged in {result.elapsed:.1f} s "
                  f"({result.resends} resent)")
    else:
        from rich.markup import escape

        err.print(f"[red]{result.state}:[/red] {result.acked}/{result.total} lines acknowledged; "
                  f"{escape(result.reason or '')}")
    raise typer.Exit(0 if result.ok else 1)


@app.command("probe")
def probe(
    port: PortOpt,
    baud: BaudOpt = 115200,
    firmware: FirmwareOpt = "marlin",
    as_json: JsonOpt = False,
    boot_wait: BootOpt = 2.0,
    record: RecordOpt = None,
) -> None:
    """Print the firmware's identity (M115 / $I) and capabilities."""
    try:
        driver = _open(port, baud, firmware, boot_wait, record)
        try:
            identity = driver.connect()
        finally:
            driver.close()
    except NodeClientError as exc:
        _fail(exc, as_json)
        return
    identity = {"port": port, "baud": baud, "firmware_family": firmware, **identity}
    if as_json:
        typer.echo(json.dumps(identity))
        return
    for key, value in identity["firmware"].items():
        typer.echo(f"{key}: {value}")
    if identity["capabilities"]:
        typer.echo("capabilities: " + ", ".join(f"{k}={'1' if v else '0'}" for k, v in identity["capabilities"].items()))


@app.command("replay")
def replay_(
    transcript: Annotated[Path, typer.Argument(help="a GRBL transcript (fabrica node print --record, or hand-made)")],
    baud: BaudOpt = 115200,
    as_json: JsonOpt = False,
    idle_exit: Annotated[float, typer.Option(help="exit this many seconds after the replay is complete")] = 2.0,
) -> None:
    """Play a recorded GRBL session as the firmware on a pseudo-terminal; the first output line is its path."""
    import time

    from .limits import check_baud, check_seconds
    from .replay import GrblReplay, PtyReplay
    from .transcript import load

    try:
        check_baud(baud)
        check_seconds(idle_exit, "--idle-exit", allow_zero=True)
        recorded = load(transcript)
        if not recorded.entries:  # an empty replay would "pass" whatever the client does
            raise NodeConfigError(f"{transcript} holds no session (no `<`, `>` or `!` entries); record one with "
                                  "`fabrica node print --record FILE` or `fabrica node probe --record FILE`")
        if (recorded.get("family") or "grbl") != "grbl":
            raise NodeConfigError(f"{transcript} records a {recorded.get('family')!r} session; replay speaks GRBL")
        engine = GrblReplay(recorded)
    except (NodeClientError, ValueError) as exc:
        _say_error(exc)
        raise typer.Exit(2) from None
    server = PtyReplay(engine, baud=baud)
    print(server.port, flush=True)
    done_at = None
    try:
        while True:
            time.sleep(0.05)
            if engine.problems:
                time.sleep(0.2)  # let the rest of what the host sent arrive, for a complete report
                break
            if engine.complete:
                done_at = done_at or time.monotonic()
                if time.monotonic() - done_at > idle_exit:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    summary = {"complete": engine.complete, "problems": engine.problems, "host_lines": len(engine.received),
               "recorded_host_lines": len(engine.expected), "max_rx_used": engine.max_rx_used,
               "rx_size": engine.rx_size}
    if as_json:
        print(json.dumps(summary))
    else:
        for p in engine.problems:
            err.print(f"[red]diverged:[/red] {p}")
        err.print(f"replayed: complete={engine.complete} host lines {len(engine.received)}/{len(engine.expected)} "
                  f"max RX {engine.max_rx_used}/{engine.rx_size}")
    raise typer.Exit(0 if engine.complete and not engine.problems else 1)


@app.command("run")
def run(
    config: Annotated[Path, typer.Option("--config", help="the node.toml described above (README.md: node.toml; "
                                         "examples/node.toml)")] = Path("node.toml"),
    rpc_url: Annotated[str | None, typer.Option("--rpc-url", help="overrides \\[fabrica] rpc_url")] = None,
    account: Annotated[str | None, typer.Option("--account", help="overrides \\[fabrica] account")] = None,
    max_jobs: Annotated[int | None, typer.Option("--max-jobs", min=1,
                                                 help="exit after delivering this many jobs (1 or more)")] = None,
    gateway: Annotated[str | None, typer.Option(
        "--gateway", help="push signed print telemetry and logs to this gateway URL (overrides "
                          "FABRICA_GATEWAY_URL and \\[node] gateway_url)")] = None,
) -> None:
    r"""Run the shop's job loop: check machines, register them, claim jobs they can make, slice, print, deliver.

    node.toml has three parts: \[fabrica] (rpc_url, home, account: dev role, index or keystore path), \[node]
    (state_db, encryption_key_file, poll_interval, max_attempts, deactivate_on_abandon, max_collateral in FAB,
    max_collateral_share with fab_prices, min_time_left, time_margin, min_slack_s, unestimated_min_window, gateway_url) and one \[\[machines]] table per machine (name, port, baud, firmware marlin|grbl, profile,
    process, materials, node_id, boot_wait, connect_timeout, print_timeout, max_cmd_size for a Marlin
    built with another MAX_CMD_SIZE). Every machine is probed first;
    nothing is registered or claimed for one whose firmware does not answer. The full format with a working
    example is in README.md (section node.toml) and examples/node.toml.
    """
    from .config import load_node_config
    from .jobloop import JobLoop

    loop = None
    try:
        cfg = load_node_config(config, rpc_url=rpc_url, account=account)
        loop = JobLoop(cfg, say=lambda m: err.print(m, markup=False, highlight=False), gateway_url=gateway)
    except FabricaError as exc:
        _say_error(exc)
        raise typer.Exit(2) from None
    except Exception as exc:  # an edge: one line, never a traceback
        _say_error(f"cannot start the job loop: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["delivered"] = loop.run(max_jobs=max_jobs)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=body, name="job-loop", daemon=True)
    worker.start()
    interrupts = 0
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                err.print("[yellow]stopping: no new claims; running prints finish (Ctrl-C again cancels them; "
                          "they are printed again on the next start)[/yellow]")
                loop.stop()
            else:
                loop.stop(cancel_prints=True)
    loop.close()
    if "error" in outcome:
        exc = outcome["error"]
        _say_error(exc if isinstance(exc, FabricaError) else f"{exc.__class__.__name__}: {exc}")
        raise typer.Exit(2 if isinstance(exc, FabricaError) else 1)
    err.print(f"delivered {len(outcome.get('delivered', []))} job(s)")


@app.command("jobs")
def jobs(
    config: Annotated[Path, typer.Option("--config", help="the job loop's node.toml (locates its state)")] = Path(
        "node.toml"),
    job: Annotated[int | None, typer.Option("--job", help="one job, with its print logs and telemetry")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """The jobs this node claimed, their phases, and (with --job) every print attempt's log and telemetry."""
    from dataclasses import asdict

    from .config import load_node_config
    from .state import NodeState

    try:
        cfg = load_node_config(config)
        # a look must not create the state file it looks for
        state = NodeState(cfg.state_db) if cfg.state_db.is_file() else None
    except FabricaError as exc:
        _say_error(exc)
        raise typer.Exit(2) from None
    if state is None:
        if job is not None:
            _say_error(f"job {job} is not in this node's state: {cfg.state_db} does not exist yet "
                       "(`fabrica node run` creates it)")
            raise typer.Exit(1)
        print("[]" if json_out else f"no jobs yet: {cfg.state_db} does not exist (`fabrica node run` creates it)")
        return
    try:
        if job is not None:
            found = state.job(job) if 0 < job < 2**63 else None  # SQLite integers are 64-bit
            if found is None:
                _say_error(f"job {job} is not in this node's state ({cfg.state_db}); list them with "
                           "`fabrica node jobs`")
                raise typer.Exit(1)
            out: Any = {**asdict(found), "history": state.history(job), "print_logs": state.print_logs(job)}
        else:
            out = [asdict(j) for j in state.jobs()]
    finally:
        state.close()
    if json_out:
        print(json.dumps(out, default=str))
    elif job is not None:
        print(f"job {out['job_id']}  {out['phase']}  machine {out['machine']}  attempts {out['attempts']}  "
              f"proof {out['proof_cid'] or '-'}")
        for log in out["print_logs"]:
            last = log["telemetry"][-1] if log["telemetry"] else {}
            print(f"  attempt {log['attempt']}: ok={log['ok']} state={log['state']} samples={len(log['telemetry'])} "
                  f"last temps={last.get('temperatures', {})}")
    else:
        for j in out:
            print(f"job {j['job_id']:>5}  {j['phase']:<10}  machine {j['machine']}  attempts {j['attempts']}")
