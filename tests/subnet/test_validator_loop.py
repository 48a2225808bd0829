"""The validator loop over real HTTP on loopback: signed concurrent queries, scoring, EMA state, weights, back-off.

Miners are stand-ins served by uvicorn on loopback (`validator_harness.MinerFarm`), each verifying the btauth
headers with its own dev keypair. The chain is `validator_harness.FakeChain`, an in-test `SubnetChain` that
records set_weights calls (a mock: the real local stand-in is written concurrently; the end-to-end test uses it).
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from fabrica.protocol.subnet.api import Capabilities
from fabrica.validators.dormancy import BackoffPolicy
from fabrica.validators.ema import ValidatorState, state_path
from fabrica.validators.loop import RoundReport, Validator, ValidatorConfig
from fabrica.validators.scoring.bands import FLOOR
from fabrica.validators.tasks import generate_design_task, generate_schedule_task

from validator_harness import FakeChain, MinerFarm, closed_port, dev_keypair, neuron

NETUID = 7
VALIDATOR = dev_keypair("Alice")


def small_tasks(secret: bytes, round_number: int, kind: str, deadline_ms: int):
    """The generator's tasks, kept small so the stand-in miners answer well inside short test deadlines."""
    if kind == "schedule":
        return generate_schedule_task(secret, round_number, deadline_ms)
    return generate_design_task(secret, round_number, deadline_ms, max_elements=900)


def config(tmp_path: Path, **kw) -> ValidatorConfig:
    defaults = dict(
        netuid=NETUID, state_dir=tmp_path, secret=b"loop-test-secret", grace_s=0.3, round_interval_s=0.0,
        deadlines_ms={"schedule": 1500, "design": 1500}, alpha=0.5, retry_initial_s=0.5, retry_max_s=4.0,
        backoff=BackoffPolicy(timeout_strikes=2, base_rounds=2, max_rounds=8),
    )
    defaults.update(kw)
    return ValidatorConfig(**defaults)


def validator(chain: FakeChain, tmp_path: Path, sleeps: list[float] | None = None, **kw) -> Validator:
    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return Validator(chain, VALIDATOR, config(tmp_path, **kw), sleep=fake_sleep, task_factory=small_tasks)


def run(v: Validator, rounds: int) -> list[RoundReport]:
    reports: list[RoundReport] = []
    done = asyncio.run(v.run(rounds, reports.append))
    assert done == rounds == len(reports)
    return reports


@pytest.fixture(scope="module")
def farm():
    with MinerFarm(["good", "copy", "slow", "garbage", "infeasible"], slow_s=2.5) as f:
        yield f


def test_a_round_scores_good_copied_slow_garbage_infeasible_and_absent_miners(farm: MinerFarm, tmp_path: Path) -> None:
    neurons = [neuron(0, VALIDATOR.ss58_address, None, permit=True, stake=1000.0)]
    neurons += [neuron(1 + i, m.hotkey, m.axon) for i, m in enumerate(farm.miners)]
    refused_uid, silent_uid = len(neurons), len(neurons) + 1
    neurons += [neuron(refused_uid, dev_keypair("Gone").ss58_address, f"127.0.0.1:{closed_port()}"),
                neuron(silent_uid, dev_keypair("Silent").ss58_address, None)]
    chain = FakeChain(VALIDATOR.ss58_address, neurons, netuid=NETUID)
    v = validator(chain, tmp_path)
    (report,) = run(v, 1)
    uid = {m.behaviour: 1 + i for i, m in enumerate(farm.miners)}

    for task in report.tasks:
        s = task.scored
        assert s[uid["good"]].status == "credited" and s[uid["good"]].score >= FLOOR, task.kind
        assert s[uid["copy"]].status == "copy" and s[uid["copy"]].copy_of == uid["good"] and s[uid["copy"]].score == 0
        assert s[uid["slow"]].status == "timeout" and s[uid["slow"]].score == 0
        assert s[uid["garbage"]].status == "malformed" and s[uid["garbage"]].score == 0
        assert s[uid["infeasible"]].status == "infeasible" and s[uid["infeasible"]].score == 0
        assert s[refused_uid].status == "unreachable" and silent_uid not in s and 0 not in s
    design = next(t for t in report.tasks if t.kind == "design")
    assert design.scored[uid["good"]].score == 1.0  # a longer optimisation than the baseline's
    assert report.scores[uid["good"]] > FLOOR and report.scores[silent_uid] == 0.0 and 0 not in report.scores

    # Every miner got requests signed by the validator's hotkey for itself, and rejected none.
    for m in farm.miners:
        assert m.seen[-2:] == [VALIDATOR.ss58_address] * 2 and m.rejected == 0

    # The refused miner backs off at once; weights were set on the first round without the validator's uid.
    assert v.state.dormant[refused_uid].skip_until > 1
    assert len(chain.weights) == 1
    block, uids, weights = chain.weights[0]
    assert 0 not in uids and uid["good"] in uids and sum(weights) == pytest.approx(1.0)
    assert max(zip(weights, uids, strict=True))[1] == uid["good"]
    line = report.line()
    assert "round 0" in line and "copies 1" in line and "weights set" in line
    # Six miners serve; the refused one is unreachable and the slow one timed out: four answered.
    assert (report.queried, report.answered, report.unreachable, report.timed_out) == (6, 4, 1, 1)
    assert "answered 4/6, 1 unreachable, 1 timed out" in line, line
    assert report.to_json()["tasks"][0]["miners"][str(uid["copy"])]["copy_of"] == uid["good"]

    saved = ValidatorState.load(state_path(tmp_path, NETUID), NETUID)
    assert saved.next_round == 1 and saved.ema(uid["good"]) == pytest.approx(0.5 * report.scores[uid["good"]])
    assert saved.last_weights_block == block


def test_weights_once_per_tempo_state_across_restart_hotkey_reset_and_chain_errors(
    farm: MinerFarm, tmp_path: Path
) -> None:
    good = next(m for m in farm.miners if m.behaviour == "good")
    caps = Capabilities(kinds=("schedule",)).model_dump_json()
    neurons = [neuron(0, VALIDATOR.ss58_address, None, permit=True),
               neuron(1, good.hotkey, good.axon, commitment=caps),
               neuron(2, dev_keypair("Other").ss58_address, None)]
    # 5 blocks per round, tempo 10, rate limit 13: weights at most every 13 blocks, i.e. every third round.
    chain = FakeChain(VALIDATOR.ss58_address, neurons, netuid=NETUID, tempo=10, rate_limit=13, blocks_per_round=5)
    sleeps: list[float] = []
    v = validator(chain, tmp_path, sleeps, kinds=("schedule", "design"))
    chain.fail_next = 2  # the chain is down for the first two attempts: the loop backs off and retries
    reports = run(v, 4)
    assert sleeps[:2] == [0.5, 1.0]
    assert [r.round for r in reports] == [0, 1, 2, 3]
    assert [r.weights_set for r in reports] == [True, False, False, True]
    blocks = [b for b, _, _ in chain.weights]
    assert all(b2 - b1 >= 13 for b1, b2 in zip(blocks, blocks[1:], strict=False))
    # Its capabilities say schedule only: it is not sent the design task, so at best half marks per round.
    assert all(1 not in next(t for t in r.tasks if t.kind == "design").scored for r in reports)
    assert reports[-1].scores[1] <= 0.5
    ema_before = v.state.ema(1)
    assert ema_before > 0

    # Restart: a new validator on the same state directory continues the rounds, keeps the EMA, and does not
    # set weights inside the rate limit even though it just started.
    v2 = validator(chain, tmp_path)
    assert v2.state.ema(1, good.hotkey) == pytest.approx(ema_before)
    (r4,) = run(v2, 1)
    assert r4.round == 4 and not r4.weights_set and len(chain.weights) == 2

    # uid 1 is re-registered by another hotkey (with no axon yet): its score starts again from zero.
    chain.neurons[1] = replace(chain.neurons[1], hotkey=dev_keypair("Newcomer").ss58_address, axon=None)
    (r5,) = run(v2, 1)
    assert r5.reset_uids == [1] and v2.state.ema(1) == 0.0


def test_a_timing_out_miner_is_skipped_for_a_while_and_probed_again(farm: MinerFarm, tmp_path: Path) -> None:
    slow = next(m for m in farm.miners if m.behaviour == "slow")
    neurons = [neuron(0, VALIDATOR.ss58_address, None, permit=True), neuron(1, slow.hotkey, slow.axon)]
    chain = FakeChain(VALIDATOR.ss58_address, neurons, netuid=NETUID, tempo=1000, rate_limit=1000)
    v = validator(chain, tmp_path, kinds=("schedule",), deadlines_ms={"schedule": 300, "design": 300}, grace_s=0.1)
    # Strikes: timeouts in rounds 0 and 1 (the second backs off 2 rounds), skipped in 2 and 3, probed in 4.
    reports = run(v, 5)
    queried = [r.queried for r in reports]
    assert queried == [1, 1, 0, 0, 1]
    assert all(r.scores[1] == 0.0 for r in reports)
    assert v.state.dormant[1].skip_until == 4 + 1 + 4  # the failed probe doubles the back-off


def test_a_round_count_gives_up_after_failed_attempts_in_a_row(tmp_path: Path) -> None:
    """With --rounds K a chain that stays down ends the run (a FabricaError naming the cause) instead of
    retrying forever; the back-off between attempts still doubles."""
    from fabrica.protocol.errors import FabricaError

    chain = FakeChain(VALIDATOR.ss58_address, [neuron(0, VALIDATOR.ss58_address, None, permit=True)], netuid=NETUID)
    chain.fail_next = 100
    sleeps: list[float] = []
    v = validator(chain, tmp_path, sleeps, max_failed_attempts=4)
    with pytest.raises(FabricaError, match="4 attempts at a round failed in a row.*unreachable"):
        asyncio.run(v.run(1))
    assert sleeps == [0.5, 1.0, 2.0]
    assert v.state.next_round == 0  # no round number was spent
