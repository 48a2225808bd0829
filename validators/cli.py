"""`fabrica validator …`: run the validator, generate its tasks, and score answers as it does.

`run` is the long-running validator (`loop.py`); `gen-task` writes the task a given (seed, round) produces, so
miners can practise on the validator's own distribution; `score` and `design` score one answer file.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from fabrica.protocol.errors import FabricaError

# The task models (pydantic), the scorers (NumPy, SciPy) and the validator loop (bittensor, httpx) are imported
# by the commands that use them, so `fabrica --help` and each command load only their own.
app = typer.Typer(
    help="Subnet validator: generate tasks, query miners, score answers, set weights.", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Subnet validator commands."""


@app.command()
def score(
    task: Annotated[Path, typer.Option(help="task file: JSSP .txt, FJSP .fjs or JSON")],
    answer: Annotated[Path, typer.Option(help="answer JSON: {operations: [...], makespan}")],
    json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Check an answer exactly and score it against the validator's baseline, as the sole answer of its round.

    A schedule task prints `feasible`, `makespan` and the score; a design task (JSON with "kind": "design")
    is scored as `fabrica validator design` does and prints `feasible`, `compliance` and the score.
    """
    if _is_design_task(task):
        design(task, answer, json_out)
        return
    from fabrica.protocol.tasks.loaders import load_task
    from fabrica.protocol.tasks.schedule import parse_answer

    from .scoring.bands import banded_score
    from .scoring.schedule import baseline_schedule, check_schedule, makespan_lower_bound

    try:
        t = load_task(task)
        a = parse_answer(_read(answer, "--answer"))
        check = check_schedule(t, a)
        baseline = check_schedule(t, baseline_schedule(t)).makespan
        result = {
            "feasible": check.feasible,
            "makespan": check.makespan,
            "baseline_makespan": baseline,
            "lower_bound": makespan_lower_bound(t),
            "score": banded_score(check.makespan, baseline, check.makespan) if check.feasible else 0.0,
            "violations": check.violations,
        }
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result))
        return
    verdict = "feasible" if result["feasible"] else "INFEASIBLE"
    print(f"{verdict}  makespan {result['makespan']}  baseline {baseline}  lower bound {result['lower_bound']}  "
          f"score {result['score']:.3f}")
    for v in check.violations:
        print(f"  - {v}")


def _is_design_task(path: Path) -> bool:
    """Whether `path` holds a JSON design task (anything unreadable is left to the schedule path's errors)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == "design"


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FabricaError(f"cannot read {option} {path}: {exc.strerror}") from None


@app.command()
def design(
    task: Annotated[Path, typer.Option(help="design task JSON")],
    answer: Annotated[Path, typer.Option(help="answer JSON: {densities: [[...], ...]} (nely rows of nelx)")],
    json_out: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Check a design answer, compute its compliance by the validator's own FE solve, and score it against the baseline.

    The baseline is the validator's own coarse optimiser (a few SIMP/OC iterations), as in a round.
    """
    from fabrica.protocol.tasks import design as design_wire

    from .scoring.bands import banded_score
    from .scoring.design import baseline_compliance, check_design

    try:
        t = design_wire.parse_task(_read(task, "--task"))
        a = design_wire.parse_answer(_read(answer, "--answer"))
        check = check_design(t, a)
        baseline = baseline_compliance(t)
        result = {
            "feasible": check.feasible,
            "compliance": check.compliance,
            "volume": check.volume,
            "baseline_compliance": baseline,
            "score": banded_score(check.compliance, baseline, check.compliance) if check.compliance is not None else 0.0,
            "violations": check.violations,
        }
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(result))
        return
    verdict = "feasible" if result["feasible"] else "INFEASIBLE"
    shown = f"{check.compliance:.6g}" if check.compliance is not None else "none"
    print(f"{verdict}  compliance {shown}  baseline {baseline:.6g}  score {result['score']:.3f}")
    for v in check.violations:
        print(f"  - {v}")


@app.command("gen-task")
def gen_task(
    kind: Annotated[str, typer.Option(help="task kind: schedule or design")],
    seed: Annotated[str, typer.Option(help="secret seed (any text; a validator keeps its own private)")],
    round_number: Annotated[int, typer.Option("--round", help="round number (>= 0)")],
    out: Annotated[Path | None, typer.Option(help="write the task JSON here instead of stdout")] = None,
    deadline_ms: Annotated[int | None, typer.Option("--deadline-ms", help="answer deadline (default: the kind's)")] = None,
) -> None:
    """Write the task that (seed, round) generates, exactly as a validator with that seed would send it."""
    from .tasks import KINDS, generate_task, secret_from_seed

    try:
        if kind not in KINDS:
            raise FabricaError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
        if round_number < 0:
            raise FabricaError(f"--round: must be >= 0, got {round_number}")
        if deadline_ms is not None and not 1 <= deadline_ms <= 3_600_000:  # the wire schema's bounds
            raise FabricaError(f"--deadline-ms: must be in 1..3600000, got {deadline_ms}")
        task = generate_task(secret_from_seed(seed), round_number, kind, deadline_ms)  # type: ignore[arg-type]
        text = task.model_dump_json()
        if out is None:
            print(text)
        else:
            try:
                out.write_text(text + "\n")
            except OSError as exc:
                raise FabricaError(f"cannot write --out {out}: {exc.strerror}") from None
            size = f"{task.num_jobs} jobs x {task.num_machines} machines" if kind == "schedule" else f"{task.nelx} x {task.nely}"
            print(f"wrote {kind} task {task.task_id} ({size}) to {out}", file=sys.stderr)
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def _secret(state_dir: Path) -> bytes:
    """The validator's private task seed: FABRICA_VALIDATOR_SECRET, else `<state-dir>/secret.key` (made once, 0600)."""
    env = os.environ.get("FABRICA_VALIDATOR_SECRET")
    if env:
        return env.encode()
    path = state_dir / "secret.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise FabricaError(f"cannot read the task seed {path}: {exc}") from None
    secret = secrets.token_bytes(32)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret.hex() + "\n")
    except OSError as exc:
        raise FabricaError(f"cannot create the task seed {path}: {exc.strerror or exc} (check --state-dir)") from None
    return secret


def _signer(wallet: str | None, hotkey: str | None, dev: str | None, wallet_path: str | None = None) -> object:
    """The validator's wallet: a dev wallet (hotkey //Name, for the local stand-in) or a bittensor wallet."""
    from fabrica.protocol.subnet.chain import resolve_wallet
    from fabrica.protocol.subnet.localnet.devkeys import known_dev_name

    if dev:
        if wallet or hotkey:
            raise FabricaError("give either --dev or --wallet/--hotkey, not both")
        return resolve_wallet(f"dev:{known_dev_name(dev)}")
    if not wallet:
        raise FabricaError("pass --wallet NAME [--hotkey NAME] or --dev NAME (e.g. --dev alice)")
    return resolve_wallet(f"{wallet}/{hotkey}" if hotkey else wallet, wallet_path=wallet_path)


@app.command()
def run(
    network: Annotated[str, typer.Option(help="subnet chain: finney, test, local, a ws:// URL, or the local stand-in")],
    netuid: Annotated[int, typer.Option(help="subnet id")],
    wallet: Annotated[str | None, typer.Option(help="bittensor wallet (coldkey) name")] = None,
    hotkey: Annotated[str | None, typer.Option(help="hotkey name in the wallet")] = None,
    dev: Annotated[str | None, typer.Option(help="use a dev key instead of a wallet: alice, bob, … (//Alice)")] = None,
    wallet_path: Annotated[str | None, typer.Option("--wallet-path", help="bittensor wallets directory")] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="scores, dormancy and the task seed live here")] = Path(
        ".fabrica/validator"
    ),
    rounds: Annotated[int, typer.Option(help="rounds to run; 0 = forever")] = 0,
    interval: Annotated[float, typer.Option(help="least seconds between the starts of two rounds")] = 60.0,
    grace: Annotated[float, typer.Option(help="seconds allowed past a task's deadline for the network")] = 2.0,
    kinds: Annotated[str, typer.Option(help="task kinds per round, comma-separated")] = "schedule,design",
    deadline: Annotated[list[str] | None, typer.Option(
        "--deadline", help="answer deadline per kind, KIND=MS (repeatable), e.g. schedule=5000")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object per round")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log at INFO level")] = False,
) -> None:
    """Run the validator: each round, query every serving miner with fresh private tasks, score, set weights."""
    import math

    from .loop import ValidatorConfig
    from .tasks import KINDS

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if rounds < 0:
            raise FabricaError(f"--rounds: must be >= 0, got {rounds}")
        if not 0 <= netuid <= 65535:
            raise FabricaError(f"--netuid: must be in 0..65535, got {netuid}")
        for option, value in (("--interval", interval), ("--grace", grace)):
            if not (math.isfinite(value) and value >= 0):
                raise FabricaError(f"{option}: must be a number of seconds >= 0, got {value}")
        blocker = next((p for p in (state_dir, *state_dir.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise FabricaError(f"--state-dir {state_dir}: {blocker} is a file; pass a directory for the validator's state")
        chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
        bad = [k for k in chosen if k not in KINDS]
        if not chosen or bad:
            raise FabricaError(f"--kinds: give one or more of {', '.join(KINDS)} (got {kinds!r})")
        deadlines = dict(ValidatorConfig(netuid=netuid, state_dir=state_dir, secret=b"").deadlines_ms)
        for item in deadline or []:
            kind, _, ms = item.partition("=")
            if kind not in KINDS or not ms.isdigit() or not 1 <= int(ms) <= 3_600_000:
                raise FabricaError(f"--deadline: give KIND=MS with KIND one of {', '.join(KINDS)} and MS in "
                                   f"1..3600000 (got {item!r})")
            deadlines[kind] = int(ms)
        signer = _signer(wallet, hotkey, dev, wallet_path)

        def make_config() -> ValidatorConfig:  # after the chain checks: bad input creates no seed file
            return ValidatorConfig(
                netuid=netuid, state_dir=state_dir, secret=_secret(state_dir), kinds=chosen,  # type: ignore[arg-type]
                round_interval_s=interval, grace_s=grace, deadlines_ms=deadlines,
            )

        failed = asyncio.run(_run(network, signer, netuid, make_config, rounds, json_out))
        if failed:
            raise FabricaError(f"weights were not set in {len(failed)} of {rounds} round(s) (last: {failed[-1]}); "
                               "the scores did not reach the chain")
    except FabricaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        raise typer.Exit(130) from None


START_ATTEMPTS = 3
"""With --rounds K, tries to read the metagraph at start-up before giving up (without: retry forever)."""


async def _run(network: str, wallet: object, netuid: int, make_config, rounds: int, json_out: bool) -> list[str]:
    """Check the hotkey can validate, then run; the weights errors of the rounds that failed to set them."""
    from fabrica.protocol.subnet.chain import open_chain

    from .loop import Validator

    chain = open_chain(network, wallet)  # one long-lived port; its adapter reconnects underneath
    try:
        await _check_can_validate(chain, network, netuid, rounds)
        validator = Validator(chain, wallet, make_config())
        failed: list[str] = []

        def show(report) -> None:
            if report.weights_error:
                failed.append(report.weights_error)
            print(json.dumps(report.to_json()) if json_out else report.line(), flush=True)

        await validator.run(rounds, show)
        return failed
    finally:
        await chain.close()


async def _check_can_validate(chain, network: str, netuid: int, rounds: int) -> None:
    """Refuse to start for a hotkey that is not registered or has no validator permit (its weights would fail)."""
    from fabrica.protocol.subnet.port import SubnetConnectionError

    delay = 2.0
    attempt = 0
    while True:
        attempt += 1
        try:
            graph = await chain.metagraph(netuid)
            break
        except SubnetConnectionError as exc:
            if rounds and attempt >= START_ATTEMPTS:
                raise FabricaError(f"{exc} (gave up after {attempt} tries; check --network)") from None
            # Without --rounds the validator is a service: wait for the chain, saying what it waits for.
            print(f"waiting for the subnet chain: {exc}; retrying in {delay:g} s", file=sys.stderr, flush=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
    me = graph.by_hotkey(chain.hotkey)
    if me is None:
        raise FabricaError(f"hotkey {chain.hotkey} is not registered on subnet {netuid} ({network}): register and "
                           f"stake first (`fabrica subnet register --network {network} --netuid {netuid} …`, "
                           "then `fabrica subnet stake`)")
    if not me.validator_permit:
        raise FabricaError(f"hotkey {chain.hotkey} (uid {me.uid}) has no validator permit on subnet {netuid}: permits "
                           f"go to the largest stakes at each epoch (every {graph.tempo} blocks); stake more "
                           "(`fabrica subnet stake`) and start again after the next epoch")
