"""Persisted validator state (EMA keyed by uid and hotkey), dormancy back-off, and weight normalisation and timing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabrica.protocol.subnet.port import SubnetMetagraph
from fabrica.validators.dormancy import BackoffPolicy, Dormancy
from fabrica.validators.ema import DormantRecord, ValidatorState, state_path
from fabrica.validators.weights import normalise, weights_due, weights_interval

from validator_harness import neuron


def test_ema_survives_a_restart_and_is_written_atomically(tmp_path: Path) -> None:
    path = state_path(tmp_path, 3)
    state = ValidatorState.load(path, 3)
    assert state.next_round == 0 and state.scores == {}
    state.update(0, "hk0", 1.0, 0, alpha=0.5)
    state.update(0, "hk0", 0.0, 1, alpha=0.5)
    state.update(2, "hk2", 0.4, 1, alpha=0.5)
    state.next_round, state.last_weights_block = 2, 120
    state.save(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    again = ValidatorState.load(path, 3)
    assert again.ema(0, "hk0") == pytest.approx(0.25) and again.ema(2) == pytest.approx(0.2)
    assert again.next_round == 2 and again.last_weights_block == 120 and again.scores[0].rounds == 2
    with pytest.raises(Exception, match="netuid 3"):
        ValidatorState.load(path, 4)


def test_an_unreadable_state_file_is_moved_aside_not_lost(tmp_path: Path) -> None:
    path = state_path(tmp_path, 1)
    path.write_text('{"version": 1, "netuid": 1, "next_rou')
    state = ValidatorState.load(path, 1)
    assert state.scores == {} and not path.exists()
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_text().startswith('{"version"')


def test_a_new_hotkey_on_a_uid_starts_from_zero() -> None:
    state = ValidatorState(netuid=1)
    for uid in range(3):
        state.update(uid, f"hk{uid}", 1.0, 0, alpha=1.0)
    state.dormant[1] = DormantRecord(hotkey="hk1", axon="1.2.3.4:5")
    assert state.sync_hotkeys(["hk0", "newcomer"]) == [1, 2]  # uid 1 re-registered, uid 2 gone
    assert state.ema(0) == 1.0 and state.ema(1) == 0.0 and 1 not in state.dormant and 2 not in state.scores
    state.update(1, "newcomer", 0.5, 1, alpha=0.5)
    assert state.ema(1, "newcomer") == pytest.approx(0.25)
    # update() itself never mixes hotkeys either.
    state.update(0, "someone-else", 0.0, 2, alpha=0.5)
    assert state.ema(0) == 0.0 and state.scores[0].rounds == 1


def test_dormant_miners_back_off_and_are_probed_again() -> None:
    state = ValidatorState(netuid=1)
    d = Dormancy(state, BackoffPolicy(timeout_strikes=3, base_rounds=2, max_rounds=8))
    assert not d.should_query(0, "hk", None, 0)  # no axon: never queried
    # Refused connection: back off at once for 2 rounds, then probe; a failed probe doubles the back-off.
    d.record(1, "hk1", "1.1.1.1:1", "unreachable", 0)
    assert [d.should_query(1, "hk1", "1.1.1.1:1", r) for r in (1, 2, 3)] == [False, False, True]
    d.record(1, "hk1", "1.1.1.1:1", "timeout", 3)
    assert [d.should_query(1, "hk1", "1.1.1.1:1", r) for r in (4, 7, 8)] == [False, False, True]
    # A new axon (the miner moved) ends the back-off; so does an answer.
    assert d.should_query(1, "hk1", "1.1.1.1:2", 4)
    d.record(1, "hk1", "1.1.1.1:1", "answered", 8)
    assert d.should_query(1, "hk1", "1.1.1.1:1", 9) and 1 not in state.dormant
    # Timeouts: forgiven twice in a row, the third backs off.
    for r in range(3):
        assert d.should_query(2, "hk2", "2.2.2.2:2", r)
        d.record(2, "hk2", "2.2.2.2:2", "timeout", r)
    assert not d.should_query(2, "hk2", "2.2.2.2:2", 3) and d.should_query(2, "hk2", "2.2.2.2:2", 5)
    assert BackoffPolicy(base_rounds=2, max_rounds=8).rounds(10) == 8
    json.dumps(state.to_json())  # dormancy is part of the persisted state


def test_weights_are_normalised_without_the_validator_and_zero_scores() -> None:
    uids, weights = normalise({0: 0.5, 1: 0.0, 2: 0.25, 3: 0.25}, exclude={3})
    assert uids == [0, 2] and weights == pytest.approx([2 / 3, 1 / 3]) and sum(weights) == pytest.approx(1.0)
    assert normalise({0: 0.0, 1: 0.0}) == ([], [])


def test_weights_are_due_once_per_tempo_and_never_inside_the_rate_limit() -> None:
    def mg(block: int, tempo: int, limit: int, last_update: int = 0) -> SubnetMetagraph:
        return SubnetMetagraph(netuid=1, block=block, tempo=tempo, weights_rate_limit=limit,
                               neurons=(neuron(0, "me", None, permit=True, last_update=last_update),))

    assert weights_interval(mg(0, 360, 100)) == 360 and weights_interval(mg(0, 10, 100)) == 100
    assert weights_due(50, mg(50, 360, 100), "me", None)
    assert not weights_due(400, mg(400, 360, 100), "me", 100)
    assert weights_due(460, mg(460, 360, 100), "me", 100)
    assert not weights_due(150, mg(150, 10, 100), "me", 100)  # the rate limit wins over a short tempo
    # The chain's own record counts too (another process, or state lost).
    assert not weights_due(460, mg(460, 360, 100, last_update=300), "me", 100)
    # A remembered block from another chain (ahead of this one) is ignored.
    assert weights_due(20, mg(20, 360, 100), "me", 5000)
