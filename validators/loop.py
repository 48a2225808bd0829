"""The validator's long-running loop: generate, query, score, remember, set weights; survive chain errors.

One round:

1. read the metagraph through the one long-lived chain port; drop the state of uids that changed hotkey;
2. take the next round number (persisted before any task leaves, so a round's seed is never reused) and derive
   the round's tasks from the secret seed (`tasks.py`);
3. send each task to every serving miner at once, signed (`query.py`), computing the baselines meanwhile;
   neurons without an axon, in back-off (`dormancy.py`), or whose published capabilities exclude the task
   are not sent it;
4. score the answers (`round.py`), fold each uid's round score into its EMA (0 for every neuron that did not
   answer usefully, so silence decays), persist the state atomically (`ema.py`);
5. when a tempo has passed since the last weights (and the chain's rate limit allows), set the normalised EMAs
   as weights, leaving out the validator's own uid (`weights.py`).

A chain error (or any other failure of a round) is logged and the round retried after a back-off that doubles
up to `retry_max_s`; the chain port's adapter reconnects underneath.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from fabrica.protocol.errors import FabricaError
from fabrica.protocol.subnet.api import TASK_PATHS, Capabilities
from fabrica.protocol.subnet.port import SubnetChain, SubnetMetagraph, SubnetNeuron
from fabrica.protocol.tasks.design import DesignTask
from fabrica.protocol.tasks.schedule import ScheduleTask

from .dormancy import BackoffPolicy, Dormancy
from .ema import DEFAULT_ALPHA, ValidatorState, state_path
from .query import Response, Target, new_client, query_miners
from .round import Submission, TaskResult, baseline_value, combine, score_task
from .tasks import DESIGN_DEADLINE_MS, KINDS, SCHEDULE_DEADLINE_MS, TaskKind, generate_task
from .weights import normalise, weights_due

log = logging.getLogger("fabrica.validators.loop")

TaskFactory = Callable[[bytes, int, TaskKind, int], ScheduleTask | DesignTask]


@dataclass
class ValidatorConfig:
    """How the validator runs; the defaults suit a public subnet."""

    netuid: int
    state_dir: Path
    secret: bytes
    kinds: tuple[TaskKind, ...] = KINDS
    deadlines_ms: dict[str, int] = field(
        default_factory=lambda: {"schedule": SCHEDULE_DEADLINE_MS, "design": DESIGN_DEADLINE_MS}
    )
    grace_s: float = 2.0
    alpha: float = DEFAULT_ALPHA
    round_interval_s: float = 60.0
    """Least time between the starts of two rounds."""
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    retry_initial_s: float = 2.0
    retry_max_s: float = 120.0
    max_failed_attempts: int = 5
    """With a round count (`run(rounds=K)`), give up after this many failed attempts in a row; forever retries."""


@dataclass
class RoundReport:
    """What one round did, for the log line and for `--json`."""

    round: int
    block: int
    tasks: list[TaskResult]
    scores: dict[int, float]
    ema: dict[int, float]
    queried: int
    serving: int
    answered: int = 0
    """Miners that sent any HTTP answer this round (queried minus unreachable and timed out)."""
    unreachable: int = 0
    timed_out: int = 0
    weights_set: bool = False
    weights_uids: int = 0
    weights_error: str | None = None
    reset_uids: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_json(self) -> dict:
        return {
            "round": self.round,
            "block": self.block,
            "elapsed_s": round(self.elapsed_s, 3),
            "queried": self.queried,
            "serving": self.serving,
            "answered": self.answered,
            "unreachable": self.unreachable,
            "timed_out": self.timed_out,
            "tasks": [
                {
                    "kind": t.kind, "task_id": t.task_id, "size": t.size, "baseline": t.baseline, "best": t.best,
                    "miners": {
                        str(uid): {"status": s.status, "score": round(s.score, 6), "value": s.value,
                                   **({"copy_of": s.copy_of} if s.copy_of is not None else {}),
                                   **({"detail": s.detail} if s.detail else {})}
                        for uid, s in sorted(t.scored.items())
                    },
                }
                for t in self.tasks
            ],
            "scores": {str(uid): round(v, 6) for uid, v in sorted(self.scores.items())},
            "ema": {str(uid): round(v, 6) for uid, v in sorted(self.ema.items())},
            "weights": {"set": self.weights_set, "uids": self.weights_uids, "error": self.weights_error},
            "reset_uids": self.reset_uids,
        }

    def line(self) -> str:
        # Count miners that answered, not requests sent: a dead address is not a queried miner.
        reach = f"answered {self.answered}/{self.serving}"
        for count, what in ((self.unreachable, "unreachable"), (self.timed_out, "timed out"),
                            (self.serving - self.queried, "in back-off")):
            if count:
                reach += f", {count} {what}"
        parts = [f"round {self.round}  block {self.block}  {reach}"]
        for t in self.tasks:
            base = "none" if t.baseline is None else f"{t.baseline:.6g}"
            best = "none" if t.best is None else f"{t.best:.6g}"
            late = t.count("timeout") + t.count("late")
            parts.append(
                f"{t.kind} {t.size}: baseline {base} best {best} credited {t.count('credited')} "
                f"copies {t.count('copy')} infeasible {t.count('infeasible') + t.count('malformed')} late {late}"
            )
        top = sorted(self.scores.items(), key=lambda kv: -kv[1])[:3]
        if top:
            parts.append("top " + ", ".join(f"uid {u} {v:.3f}" for u, v in top))
        if self.weights_set:
            parts.append(f"weights set ({self.weights_uids} uids)")
        elif self.weights_error:
            parts.append(f"weights FAILED: {self.weights_error}")
        parts.append(f"{self.elapsed_s:.1f} s")
        return "  |  ".join(parts)


def _capabilities(neuron: SubnetNeuron) -> Capabilities | None:
    if not neuron.commitment:
        return None
    try:
        return Capabilities.model_validate_json(neuron.commitment)
    except ValueError:
        return None


def _accepts(caps: Capabilities | None, kind: str, task: ScheduleTask | DesignTask) -> bool:
    """Whether a miner's published capabilities take `task` (no or unreadable capabilities: send everything)."""
    if caps is None:
        return True
    if kind not in caps.kinds:
        return False
    if isinstance(task, ScheduleTask) and caps.max_operations and task.num_operations > caps.max_operations:
        return False
    return not (isinstance(task, DesignTask) and caps.max_elements and task.num_elements > caps.max_elements)


class Validator:
    """Runs rounds against one chain port; `signer` (wallet or keypair) signs the miner queries."""

    def __init__(
        self,
        chain: SubnetChain,
        signer: object,
        config: ValidatorConfig,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        task_factory: TaskFactory | None = None,
    ) -> None:
        self.chain = chain
        self.signer = signer
        self.config = config
        self.path = state_path(config.state_dir, config.netuid)
        self.state = ValidatorState.load(self.path, config.netuid)
        self.dormancy = Dormancy(self.state, config.backoff)
        self._client = client
        self._own_client = client is None
        self._sleep = sleep
        self._task_factory = task_factory or (lambda secret, r, kind, deadline: generate_task(secret, r, kind, deadline))

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_client()
        return self._client

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def save(self) -> None:
        self.state.save(self.path)

    async def run_round(self) -> RoundReport:
        """One full round (see the module docstring); raises on chain read errors, before any state changes."""
        started = time.monotonic()
        cfg = self.config
        metagraph: SubnetMetagraph = await self.chain.metagraph(cfg.netuid)
        block = metagraph.block
        me = self.chain.hotkey
        reset = self.state.sync_hotkeys(metagraph.hotkeys)
        if reset:
            log.info("uids %s changed hotkey or left: their scores start again from 0", reset)
        round_number = self.state.next_round
        self.state.next_round += 1
        self.save()  # the round number is spent before any task leaves

        tasks = {kind: self._task_factory(cfg.secret, round_number, kind, cfg.deadlines_ms[kind]) for kind in cfg.kinds}
        miners = [n for n in metagraph.neurons if n.hotkey != me]
        serving = [n for n in miners if n.axon]
        to_query = [n for n in serving if self.dormancy.should_query(n.uid, n.hotkey, n.axon, round_number)]
        skipped = len(serving) - len(to_query)
        if skipped:
            log.info("round %d: %d dormant miners in back-off are skipped", round_number, skipped)

        async def run_kind(kind: str) -> tuple[str, list[Response], float | None, float]:
            task = tasks[kind]
            targets = [Target(n.uid, n.hotkey, n.axon) for n in to_query if _accepts(_capabilities(n), kind, task)]
            body = task.model_dump_json().encode()
            sent = time.monotonic()
            baseline_job = asyncio.create_task(asyncio.to_thread(baseline_value, task))
            responses = await query_miners(
                self.client, self.signer, targets, TASK_PATHS[kind], body, task.deadline_ms / 1000, cfg.grace_s
            )
            return kind, responses, await baseline_job, sent

        outcomes = await asyncio.gather(*(run_kind(kind) for kind in cfg.kinds))

        # Dormancy: a miner answered if any task got an HTTP answer; else its worst failure counts.
        per_uid: dict[int, list[Response]] = {}
        for _, responses, _, _ in outcomes:
            for r in responses:
                per_uid.setdefault(r.uid, []).append(r)
        tally = {"answered": 0, "unreachable": 0, "timeout": 0}
        for n in to_query:
            seen = [r.outcome for r in per_uid.get(n.uid, [])]
            if not seen:
                continue
            outcome = "answered" if "answered" in seen else "unreachable" if "unreachable" in seen else "timeout"
            tally[outcome] += 1
            self.dormancy.record(n.uid, n.hotkey, n.axon, outcome, round_number)

        def score_all() -> list[TaskResult]:
            results = []
            for kind, responses, baseline, _ in outcomes:
                subs = [Submission(r.uid, r.hotkey, r.status, r.body, r.elapsed_s) for r in responses]
                results.append(score_task(tasks[kind], baseline, subs))
            return results

        results = await asyncio.to_thread(score_all)
        uids = [n.uid for n in miners]
        scores = combine(results, uids)
        for n in miners:
            self.state.update(n.uid, n.hotkey, scores[n.uid], round_number, cfg.alpha)
        ema = {n.uid: self.state.ema(n.uid, n.hotkey) for n in miners}
        self.save()

        report = RoundReport(
            round=round_number, block=block, tasks=results, scores=scores, ema=ema,
            queried=len(to_query), serving=len(serving), answered=tally["answered"],
            unreachable=tally["unreachable"], timed_out=tally["timeout"], reset_uids=reset,
        )
        await self._maybe_set_weights(metagraph, report)
        report.elapsed_s = time.monotonic() - started
        return report

    async def _maybe_set_weights(self, metagraph: SubnetMetagraph, report: RoundReport) -> None:
        me = self.chain.hotkey
        try:
            block = await self.chain.block()  # the round took a while: decide on the chain's block now
        except (FabricaError, OSError) as exc:
            report.weights_error = f"cannot read the block: {exc}"
            log.warning("weights skipped this round: %s", report.weights_error)
            return
        now = replace(metagraph, block=max(block, metagraph.block))
        if not weights_due(now.block, now, me, self.state.last_weights_block):
            return
        own = metagraph.by_hotkey(me)
        exclude = {own.uid} if own is not None else set()
        uids, weights = normalise(report.ema, exclude)
        if not uids:
            log.info("weights due at block %d but every score is 0: nothing to set", now.block)
            return
        try:
            await self.chain.set_weights(self.config.netuid, uids, weights)
        except (FabricaError, OSError) as exc:
            report.weights_error = str(exc)
            log.warning("set_weights failed at block %d: %s (will retry next round)", now.block, exc)
            return
        try:
            self.state.last_weights_block = max(now.block, await self.chain.block())
        except (FabricaError, OSError):
            self.state.last_weights_block = now.block
        self.save()
        report.weights_set, report.weights_uids = True, len(uids)
        log.info("weights set at block %d over %d uids", self.state.last_weights_block, len(uids))

    async def run(self, rounds: int = 0, on_report: Callable[[RoundReport], None] | None = None) -> int:
        """Run `rounds` successful rounds (0: forever), retrying failed ones with back-off; returns rounds run.

        With a round count, `max_failed_attempts` failures in a row raise a FabricaError naming the last one,
        so `--rounds K` ends instead of waiting forever for a chain that does not come back.
        """
        done = 0
        failures = 0
        delay = self.config.retry_initial_s
        try:
            while rounds == 0 or done < rounds:
                started = time.monotonic()
                try:
                    report = await self.run_round()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a failed round must not end the validator
                    failures += 1
                    if rounds and failures >= self.config.max_failed_attempts:
                        raise FabricaError(
                            f"{failures} attempts at a round failed in a row, the last with {type(exc).__name__}: "
                            f"{exc}; check --network and that the subnet chain runs"
                        ) from None
                    log.error("round failed: %s: %s; retrying in %.1f s", type(exc).__name__, exc, delay,
                              exc_info=not isinstance(exc, FabricaError | OSError))
                    await self._sleep(delay)
                    delay = min(delay * 2, self.config.retry_max_s)
                    continue
                delay = self.config.retry_initial_s
                failures = 0
                done += 1
                if on_report is not None:
                    on_report(report)
                if rounds and done >= rounds:
                    break
                wait = self.config.round_interval_s - (time.monotonic() - started)
                if wait > 0:
                    await self._sleep(wait)
        finally:
            await self.close()
        return done


__all__ = ["RoundReport", "Validator", "ValidatorConfig"]
