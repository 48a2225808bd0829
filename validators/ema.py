"""The validator's persisted state: each miner's score EMA keyed by (uid, hotkey), dormancy, round and weight clock.

The state is one JSON file per subnet (`<state-dir>/netuid-<N>.json`), written atomically (a temporary file in
the same folder, flushed and fsynced, then `os.replace`), so a crash leaves either the old or the new state,
never a torn one. A file that cannot be read is moved aside (`*.corrupt-<time>`), never deleted, and the
validator starts afresh.

A uid's entry belongs to the hotkey that held the uid when it was scored: when the metagraph shows another
hotkey on that uid (the miner was deregistered and the slot re-registered), the entry is dropped, so a newcomer
never inherits its predecessor's score, and its dormancy record goes with it.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fabrica.protocol.errors import FabricaValueError

log = logging.getLogger("fabrica.validators.state")

STATE_VERSION = 1
DEFAULT_ALPHA = 0.1
"""Weight of the newest round in the moving average: about ten rounds of memory."""


@dataclass
class MinerScore:
    """The moving average of one (uid, hotkey)'s round scores."""

    hotkey: str
    ema: float = 0.0
    rounds: int = 0
    last_score: float = 0.0
    last_round: int = -1


@dataclass
class DormantRecord:
    """Unanswered queries of one (uid, hotkey) at one axon, and until which round it is skipped."""

    hotkey: str
    axon: str | None
    failures: int = 0
    """Consecutive failed queries (timeouts or refused connections)."""
    backoffs: int = 0
    """Back-offs in the current streak: each one doubles the next."""
    skip_until: int = 0
    """The first round in which the miner is queried again."""


@dataclass
class ValidatorState:
    """Everything the validator must remember across restarts for one subnet."""

    netuid: int
    next_round: int = 0
    last_weights_block: int | None = None
    scores: dict[int, MinerScore] = field(default_factory=dict)
    dormant: dict[int, DormantRecord] = field(default_factory=dict)

    # -- scores ---------------------------------------------------------------------------------------------

    def sync_hotkeys(self, hotkeys: Sequence[str]) -> list[int]:
        """Drop every entry whose uid is gone or now held by another hotkey; returns the uids reset."""
        reset = sorted(
            uid for uid in set(self.scores) | set(self.dormant)
            if uid >= len(hotkeys)
            or (uid in self.scores and self.scores[uid].hotkey != hotkeys[uid])
            or (uid in self.dormant and self.dormant[uid].hotkey != hotkeys[uid])
        )
        for uid in reset:
            self.scores.pop(uid, None)
            self.dormant.pop(uid, None)
        return reset

    def update(self, uid: int, hotkey: str, score: float, round_number: int, alpha: float = DEFAULT_ALPHA) -> float:
        """Fold one round's `score` (in [0, 1]) into (uid, hotkey)'s EMA; a new or changed hotkey starts at 0."""
        if not 0 < alpha <= 1:
            raise FabricaValueError(f"alpha: must be in (0, 1], got {alpha}")
        if not 0 <= score <= 1:
            raise FabricaValueError(f"score: must be in [0, 1], got {score}")
        entry = self.scores.get(uid)
        if entry is None or entry.hotkey != hotkey:
            entry = self.scores[uid] = MinerScore(hotkey=hotkey)
        entry.ema = (1 - alpha) * entry.ema + alpha * score
        entry.rounds += 1
        entry.last_score = score
        entry.last_round = round_number
        return entry.ema

    def ema(self, uid: int, hotkey: str | None = None) -> float:
        """The EMA of `uid` (0 when unknown, or when `hotkey` is given and differs)."""
        entry = self.scores.get(uid)
        if entry is None or (hotkey is not None and entry.hotkey != hotkey):
            return 0.0
        return entry.ema

    # -- persistence ----------------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "version": STATE_VERSION,
            "netuid": self.netuid,
            "next_round": self.next_round,
            "last_weights_block": self.last_weights_block,
            "scores": {str(uid): asdict(s) for uid, s in sorted(self.scores.items())},
            "dormant": {str(uid): asdict(d) for uid, d in sorted(self.dormant.items())},
        }

    @classmethod
    def from_json(cls, data: dict) -> ValidatorState:
        if data.get("version") != STATE_VERSION:
            raise FabricaValueError(f"state version {data.get('version')!r} is not {STATE_VERSION}")
        return cls(
            netuid=int(data["netuid"]),
            next_round=int(data["next_round"]),
            last_weights_block=None if data.get("last_weights_block") is None else int(data["last_weights_block"]),
            scores={int(uid): MinerScore(**s) for uid, s in data.get("scores", {}).items()},
            dormant={int(uid): DormantRecord(**d) for uid, d in data.get("dormant", {}).items()},
        )

    def save(self, path: Path) -> None:
        """Write the state atomically: temp file in the same folder, fsync, rename over `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_json(), indent=1, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    @classmethod
    def load(cls, path: Path, netuid: int) -> ValidatorState:
        """The state at `path`, or a fresh one when there is none; an unreadable file is moved aside."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(netuid=netuid)
        try:
            state = cls.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            os.replace(path, aside)
            log.error("state file %s is unreadable (%s); moved it to %s and starting afresh", path, exc, aside)
            return cls(netuid=netuid)
        if state.netuid != netuid:
            raise FabricaValueError(f"state file {path} belongs to netuid {state.netuid}, not {netuid}")
        return state


def state_path(state_dir: Path, netuid: int) -> Path:
    """Where the state of subnet `netuid` lives under `state_dir`."""
    return state_dir / f"netuid-{netuid}.json"


__all__ = ["DEFAULT_ALPHA", "DormantRecord", "MinerScore", "STATE_VERSION", "ValidatorState", "state_path"]
