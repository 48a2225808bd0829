"""Dormant miners: who is not worth a query this round, and when to probe them again.

Rules (rounds are the validator's own round counter):

- a neuron that serves no axon is not queried (and scores 0 for the round);
- a refused or failed connection puts the miner in back-off at once;
- a timeout is forgiven `timeout_strikes - 1` times in a row; the next consecutive one puts it in back-off;
- a back-off skips `base * 2**(n - 1)` rounds (capped at `max_rounds`) for the n-th back-off of a streak; after it
  the miner is probed again: a failed probe backs off again at once (twice as long), and a single answer (any HTTP answer, even a bad one) ends the streak;
- a new hotkey on the uid or a new axon address ends the streak too (the miner moved or was replaced).

Skipped miners score 0 for the round, so a miner that goes offline decays out of the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ema import DormantRecord, ValidatorState

Outcome = Literal["answered", "timeout", "unreachable"]


@dataclass(frozen=True)
class BackoffPolicy:
    timeout_strikes: int = 3
    base_rounds: int = 2
    max_rounds: int = 64

    def rounds(self, backoffs: int) -> int:
        """Rounds skipped by the `backoffs`-th back-off of a streak (1-based)."""
        return min(self.max_rounds, self.base_rounds * 2 ** max(0, backoffs - 1))


class Dormancy:
    """Decides whom to query and records how each query went, in the validator's persisted state."""

    def __init__(self, state: ValidatorState, policy: BackoffPolicy | None = None) -> None:
        self.state = state
        self.policy = policy or BackoffPolicy()

    def _record(self, uid: int, hotkey: str, axon: str | None) -> DormantRecord:
        rec = self.state.dormant.get(uid)
        if rec is None or rec.hotkey != hotkey or rec.axon != axon:
            rec = self.state.dormant[uid] = DormantRecord(hotkey=hotkey, axon=axon)
        return rec

    def should_query(self, uid: int, hotkey: str, axon: str | None, round_number: int) -> bool:
        """Whether to query the miner this round: it serves an axon and is not inside a back-off."""
        if not axon:
            return False
        rec = self.state.dormant.get(uid)
        if rec is None or rec.hotkey != hotkey or rec.axon != axon:
            return True
        return round_number >= rec.skip_until

    def record(self, uid: int, hotkey: str, axon: str | None, outcome: Outcome, round_number: int) -> None:
        """Record one query's outcome; failures may start (or lengthen) a back-off."""
        if outcome == "answered":
            self.state.dormant.pop(uid, None)
            return
        rec = self._record(uid, hotkey, axon)
        rec.failures += 1
        # A probe after a back-off gets no second chance: the streak goes on with a longer back-off.
        if outcome == "unreachable" or rec.backoffs > 0 or rec.failures >= self.policy.timeout_strikes:
            rec.backoffs += 1
            rec.skip_until = round_number + 1 + self.policy.rounds(rec.backoffs)
            rec.failures = 0

    def is_backing_off(self, uid: int, round_number: int) -> bool:
        rec = self.state.dormant.get(uid)
        return rec is not None and round_number < rec.skip_until


__all__ = ["BackoffPolicy", "Dormancy", "Outcome"]
