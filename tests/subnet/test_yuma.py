"""Yuma Consensus epoch: the subtensor pallet's own test vectors (to 1e-3), input checks, and properties.

The vectors come from pallets/subtensor/src/tests/epoch.rs (see yuma_vectors.py).  The replay below
emulates what the chain keeps between epochs: bonds and dividends are stored as u16
(``floor(x * 65535)``), and the permits handed out by one epoch are the ones the next epoch uses.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yuma_vectors import (
    TEST_ACTIVE_STAKE,
    TEST_BONDS_ASSERTED_BONDS,
    TEST_BONDS_STAKES,
    TEST_BONDS_TRACE_DIVIDENDS,
    TEST_BONDS_TRACE_EMISSION,
    TEST_BONDS_TRACE_INCENTIVE,
    TEST_BONDS_WEIGHT_SCRIPT,
    U16,
    YUMA3_CASES,
)

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.subnet.yuma import YumaInputError, YumaParams, YumaResult, yuma_epoch

TOL = 1e-3
CHAIN_KAPPA = (U16 // 2) / U16  # Kappa 32_767 as the chain reads it


def to_u16(x) -> np.ndarray:
    """What the chain stores for a proportion: floor(x * 65535) (the epsilon guards float noise at integers)."""
    return np.floor(np.asarray(x, dtype=np.float64) * U16 + 1e-9)


def stored(x) -> np.ndarray:
    """A proportion after a round trip through u16 storage."""
    return to_u16(x) / U16


# ---------------------------------------------------------------------------------------------------
# test_bonds (classic bonds)
# ---------------------------------------------------------------------------------------------------


def replay_test_bonds() -> list[YumaResult]:
    n = len(TEST_BONDS_STAKES)
    stake = np.array(TEST_BONDS_STAKES, dtype=float)
    params = YumaParams(
        kappa=CHAIN_KAPPA, bonds_moving_average=0.9, bonds_penalty=1.0, yuma3=False, max_allowed_validators=n
    )
    weights = np.zeros((n, n))
    # The first epoch runs before anyone has a permit or weights; it hands out the permits.
    first = yuma_epoch(weights, stake, None, params, validator_permit=np.zeros(n, dtype=bool))
    permit, bonds = first.validator_permit, stored(first.bonds)
    results = []
    for script in TEST_BONDS_WEIGHT_SCRIPT:
        for uid, row in script.items():
            weights[uid, :] = 0.0  # set_weights replaces the whole row
            for target, w in row.items():
                weights[uid, target] = w
        result = yuma_epoch(weights, stake, bonds, params, validator_permit=permit)
        permit, bonds = result.validator_permit, stored(result.bonds)
        results.append(result)
    return results


def test_bonds_first_epoch_permits_only_staked_uids() -> None:
    n = len(TEST_BONDS_STAKES)
    params = YumaParams(yuma3=False, max_allowed_validators=n)
    first = yuma_epoch(np.zeros((n, n)), TEST_BONDS_STAKES, None, params, validator_permit=np.zeros(n, dtype=bool))
    assert first.validator_permit.tolist() == [True] * 4 + [False] * 4


def test_bonds_matches_asserted_u16_bonds() -> None:
    """The exact u16 bonds test_bonds asserts, per epoch; we match them to 1e-3 (in fact within 1 u16 step)."""
    results = replay_test_bonds()
    for epoch, (col, expected) in TEST_BONDS_ASSERTED_BONDS.items():
        got = results[epoch].bonds[:4, col]
        assert np.abs(got - np.array(expected) / U16).max() <= TOL, (epoch, to_u16(got), expected)
        # Fixed-point truncation on chain vs float64 here: never more than one u16 step apart.
        assert np.abs(to_u16(got) - np.array(expected)).max() <= 1, (epoch, to_u16(got), expected)


def test_bonds_matches_trace_incentive_dividends_emission() -> None:
    """The per-epoch traces in test_bonds' comments: incentive, dividends and emission shares."""
    results = replay_test_bonds()
    for epoch, result in enumerate(results):
        np.testing.assert_allclose(result.incentive, TEST_BONDS_TRACE_INCENTIVE[epoch], rtol=0, atol=TOL)
        np.testing.assert_allclose(result.dividends, TEST_BONDS_TRACE_DIVIDENDS[epoch], rtol=0, atol=TOL)
        np.testing.assert_allclose(
            result.server_emission + result.validator_emission, TEST_BONDS_TRACE_EMISSION[epoch], rtol=0, atol=TOL
        )
        np.testing.assert_allclose(result.emission, TEST_BONDS_TRACE_EMISSION[epoch], rtol=0, atol=TOL)


def test_bonds_trace_details() -> None:
    """Spot checks from the traces: consensus vanishes without a majority, and trust = clipped / raw rank."""
    results = replay_test_bonds()
    # Epoch 3: only validator 3 (stake 0.4 < kappa) still weights servers, so there is no consensus;
    # emission then follows active stake.
    assert np.all(results[3].consensus == 0)
    np.testing.assert_allclose(results[3].validator_emission, [0.1, 0.2, 0.3, 0.4, 0, 0, 0, 0], atol=1e-12)
    # Epoch 4: consensus on server 4 is validator 3's weight 0.400008545, server trust 0.6087041323.
    assert results[4].consensus[7] == pytest.approx(0.400008545, abs=1e-6)
    assert results[4].trust[7] == pytest.approx(0.6087041323, abs=1e-6)
    np.testing.assert_allclose(results[4].validator_trust[2:4], [0.400008545] * 2, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# test_yuma_3_* (Yuma3 bonds, liquid alpha on except where noted)
# ---------------------------------------------------------------------------------------------------


def yuma3_params(liquid_alpha: bool) -> YumaParams:
    # setup_yuma_3_scenario(); alpha values go through set_alpha_values_32, i.e. u16 storage.
    return YumaParams(
        kappa=CHAIN_KAPPA,
        bonds_moving_average=0.975,
        bonds_penalty=0.0,
        liquid_alpha=liquid_alpha,
        alpha_low=float(stored(0.1)),
        alpha_high=float(stored(0.3)),
        alpha_sigmoid_steepness=1000.0,
        yuma3=True,
        max_allowed_validators=3,
    )


def replay_yuma3(case: dict) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Run a test_yuma_3_* scenario; return epoch -> (stored bonds, stored dividends) for the checked epochs."""
    n = case["n"]
    stake = np.array(case["stakes"], dtype=float)
    params = yuma3_params(case["liquid_alpha"])
    weights = np.zeros((n, n))
    first = yuma_epoch(weights, stake, None, params, validator_permit=np.zeros(n, dtype=bool))
    permit, bonds = first.validator_permit, stored(first.bonds)
    assert permit.tolist() == [True] * 3 + [False] * (n - 3)
    out = {}
    for epoch, rows in enumerate(case["script"]):
        if rows is not None:
            for uid, row in enumerate(rows):
                weights[uid, :] = 0.0
                weights[uid, case["indices"]] = row
        if epoch in case["bond_resets"]:
            # do_reset_bonds: drop every bond held in that uid (state change outside the epoch).
            bonds[:, case["bond_resets"][epoch]] = 0.0
        result = yuma_epoch(weights, stake, bonds, params, validator_permit=permit)
        permit, bonds = result.validator_permit, stored(result.bonds)
        if epoch in case["target_dividends"]:
            out[epoch] = (bonds.copy(), stored(result.dividends))
    return out


@pytest.mark.parametrize("name", sorted(YUMA3_CASES))
def test_yuma3_vectors(name: str) -> None:
    case = YUMA3_CASES[name]
    checked = replay_yuma3(case)
    assert set(checked) == set(case["target_dividends"])
    for epoch, (bonds, dividends) in checked.items():
        np.testing.assert_allclose(
            dividends, case["target_dividends"][epoch], rtol=0, atol=TOL, err_msg=f"{name} dividends, epoch {epoch}"
        )
        np.testing.assert_allclose(
            bonds[:3][:, case["bond_cols"]],
            case["target_bonds"][epoch],
            rtol=0,
            atol=TOL,
            err_msg=f"{name} bonds, epoch {epoch}",
        )


def test_liquid_alpha_equal_values_against_itself() -> None:
    """Liquid alpha with alpha_low == alpha_high == 0.1 equals a fixed alpha of 1 - 0.9 (as in epoch.rs)."""
    rng = np.random.default_rng(7)
    n = 6
    weights = rng.random((n, n)) * (rng.random((n, n)) > 0.3)
    stake = rng.random(n)
    bonds = rng.random((n, n)) * 0.5
    a = float(stored(0.1))
    on = yuma_epoch(
        weights, stake, bonds, YumaParams(liquid_alpha=True, alpha_low=a, alpha_high=a, bonds_moving_average=1 - a)
    )
    off = yuma_epoch(weights, stake, bonds, YumaParams(liquid_alpha=False, bonds_moving_average=1 - a))
    np.testing.assert_allclose(on.bonds, off.bonds, atol=1e-12)
    np.testing.assert_allclose(on.dividends, off.dividends, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# test_active_stake (extra classic case: the activity mask)
# ---------------------------------------------------------------------------------------------------


def test_active_stake_vectors() -> None:
    case = TEST_ACTIVE_STAKE
    n = len(case["stakes"])
    params = YumaParams(kappa=CHAIN_KAPPA, bonds_moving_average=0.9, bonds_penalty=1.0, yuma3=False, max_allowed_validators=n)
    weights = np.zeros((n, n))
    first = yuma_epoch(weights, case["stakes"], None, params, validator_permit=np.zeros(n, dtype=bool))
    permit, bonds = first.validator_permit, stored(first.bonds)
    for uid, row in case["weights"].items():
        for target, w in row.items():
            weights[uid, target] = w
    for epoch, expect in enumerate(case["epochs"]):
        result = yuma_epoch(
            weights,
            case["stakes"],
            bonds,
            params,
            validator_permit=permit,
            active=expect["active"],
            block_at_registration=[0] * n,
            last_update=expect["last_update"],
            emission=1_000_000_000,
        )
        permit, bonds = result.validator_permit, stored(result.bonds)
        for uid, d in expect["dividends_u16"].items():
            assert abs(result.dividends[uid] - d / U16) <= TOL, (epoch, uid)
        for uid, e in expect["emission_rao"].items():
            total = result.server_emission[uid] + result.validator_emission[uid]
            assert abs(total - e) / 1e9 <= TOL, (epoch, uid, total, e)
        for uid, b in expect["bonds_u16"].items():
            np.testing.assert_allclose(bonds[uid, 2:4], [b / U16] * 2, rtol=0, atol=TOL)


# ---------------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------------


def test_outdated_weights_are_masked() -> None:
    """A weight set before its target's current holder registered is dropped (last_update <= registration)."""
    w = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
    s = np.array([1.0, 0, 0])
    fresh = yuma_epoch(w, s, None, YumaParams(), block_at_registration=[0, 0, 0], last_update=[10, 0, 0])
    np.testing.assert_allclose(fresh.incentive, [0, 0.5, 0.5])
    stale = yuma_epoch(w, s, None, YumaParams(), block_at_registration=[0, 0, 10], last_update=[10, 0, 0])
    np.testing.assert_allclose(stale.incentive, [0, 1, 0])


def test_recently_registered_uid_drops_old_bonds() -> None:
    w = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
    bonds = np.array([[0, 0.5, 0.5], [0, 0, 0], [0, 0, 0]])
    r = yuma_epoch(w, [1.0, 0, 0], bonds, YumaParams(), block_at_registration=[0, 0, 100], last_tempo_block=100)
    alpha = 1 - YumaParams().bonds_moving_average
    assert r.bonds[0, 1] == pytest.approx(alpha * 0.5 + (1 - alpha) * 0.5)
    assert r.bonds[0, 2] == pytest.approx(alpha * 0.5)  # the old 0.5 bond did not survive re-registration


def test_self_weight_and_unpermitted_rows_ignored() -> None:
    w = np.array([[5, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=float)
    r = yuma_epoch(w, [1.0, 1.0, 0], None, YumaParams(), validator_permit=[True, False, True])
    np.testing.assert_allclose(r.weights[0], [0, 1, 0])  # self-weight removed, row renormalised
    np.testing.assert_allclose(r.weights[1], [0, 0, 0])  # no permit: ignored
    np.testing.assert_allclose(r.active_stake, [1, 0, 0])
    owner = yuma_epoch(w, [1.0, 1.0, 0], None, YumaParams(), owner_uid=0)
    assert owner.weights[0, 0] == pytest.approx(5 / 6)  # the subnet owner keeps its self-weight


def test_no_weights_pays_validators_by_stake() -> None:
    r = yuma_epoch(np.zeros((3, 3)), [1.0, 3.0, 0.0], None, YumaParams(), emission=100.0)
    np.testing.assert_allclose(r.validator_emission, [25.0, 75.0, 0.0])
    np.testing.assert_allclose(r.server_emission, 0.0)


# ---------------------------------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": np.ones((2, 3))}, "square"),
        ({"weights": np.ones(3)}, "square"),
        ({"stake": np.ones(2)}, r"stake must have shape \(3,\)"),
        ({"weights": -np.eye(3)}, "weights must be non-negative"),
        ({"stake": [1.0, np.nan, 1.0]}, "NaN"),
        ({"bonds": np.full((3, 3), -1.0)}, "bonds must be non-negative"),
        ({"bonds": np.full((3, 3), 2.0)}, "proportions"),
        ({"bonds": np.ones((2, 2))}, "bonds must have shape"),
        ({"validator_permit": [True, False]}, "validator_permit"),
        ({"active": [1, 2, 0]}, "boolean"),
        ({"last_update": [1, 2, 3]}, "needs block_at_registration"),
        ({"block_at_registration": [0, -1, 0], "last_update": [1, 1, 1]}, "non-negative block"),
        ({"owner_uid": 5}, "owner_uid"),
        ({"emission": -1.0}, "emission"),
        ({"params": "yuma"}, "YumaParams"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    args = {"weights": np.ones((3, 3)), "stake": np.ones(3), "bonds": None, "params": YumaParams()}
    extra = {k: v for k, v in kwargs.items() if k not in args}
    args.update({k: v for k, v in kwargs.items() if k in args})
    with pytest.raises(YumaInputError, match=match) as info:
        yuma_epoch(args["weights"], args["stake"], args["bonds"], args["params"], **extra)
    assert isinstance(info.value, FabricaValueError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [{"kappa": 1.5}, {"bonds_moving_average": -0.1}, {"alpha_low": 0.9, "alpha_high": 0.5}, {"bonds_penalty": float("nan")}, {"max_allowed_validators": -1}],
)
def test_bad_params_raise(kwargs: dict) -> None:
    with pytest.raises(YumaInputError):
        YumaParams(**kwargs)


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------


@st.composite
def epochs(draw):
    n = draw(st.integers(2, 7))
    frac = st.floats(0, 1, allow_nan=False, allow_infinity=False)
    weights = np.array(draw(st.lists(frac, min_size=n * n, max_size=n * n))).reshape(n, n)
    weights[weights < 0.3] = 0.0  # sparse-ish weights, with real zeros
    stake = np.array(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    stake[stake < 20] = 0.0
    bonds = np.array(draw(st.lists(frac, min_size=n * n, max_size=n * n))).reshape(n, n)
    params = YumaParams(
        kappa=draw(st.sampled_from([0.5, CHAIN_KAPPA, 0.3, 0.7])),
        bonds_moving_average=draw(st.floats(0.0, 0.99)),
        bonds_penalty=draw(frac),
        liquid_alpha=draw(st.booleans()),
        alpha_low=0.1,
        alpha_high=0.4,
        yuma3=draw(st.booleans()),
    )
    return weights, stake, bonds, params


@settings(max_examples=150, deadline=None)
@given(epochs())
def test_shares_sum_to_one(epoch) -> None:
    weights, stake, bonds, params = epoch
    r = yuma_epoch(weights, stake, bonds, params, emission=10.0)
    if r.consensus.sum() > 0 and r.ranks.sum() > 0:
        assert r.incentive.sum() == pytest.approx(1.0)
        assert r.dividends.sum() == pytest.approx(1.0)  # whoever supported an incentivised miner holds bonds in it
    else:
        assert r.incentive.sum() == 0.0
    if stake.sum() > 0:
        assert (r.server_emission + r.validator_emission).sum() == pytest.approx(10.0)
    assert np.all(r.consensus >= 0) and np.all(r.consensus <= 1 + 1e-12)
    assert np.all(r.bonds >= 0) and np.all(r.dividends >= 0) and np.all(r.incentive >= 0)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.booleans(), st.data())
def test_agreeing_validators_give_full_incentive(k: int, m: int, yuma3: bool, data) -> None:
    """When every staked validator sets the same nonzero weights, incentive sums to 1 and follows them."""
    n = k + m  # uids 0..k-1 validate (with stake), k..n-1 are miners (no stake)
    row = np.zeros(n)
    row[k:] = data.draw(st.lists(st.floats(0.01, 1), min_size=m, max_size=m))
    stake = np.zeros(n)
    stake[:k] = data.draw(st.lists(st.floats(0.1, 10), min_size=k, max_size=k))
    weights = np.zeros((n, n))
    weights[:k] = row
    r = yuma_epoch(weights, stake, None, YumaParams(yuma3=yuma3))
    assert r.incentive.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(r.incentive, row / row.sum(), atol=1e-12)
    # Everyone agreed, so dividends follow stake.
    np.testing.assert_allclose(r.dividends, stake / stake.sum(), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(epochs(), st.randoms(use_true_random=False))
def test_permuting_uids_permutes_outputs(epoch, rnd) -> None:
    weights, stake, bonds, params = epoch
    n = len(stake)
    perm = list(range(n))
    rnd.shuffle(perm)
    p = np.array(perm)
    a = yuma_epoch(weights, stake, bonds, params)
    b = yuma_epoch(weights[p][:, p], stake[p], bonds[p][:, p], params)
    for name in ("consensus", "incentive", "dividends", "trust", "validator_trust", "ranks", "emission",
                 "server_emission", "validator_emission"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name)[p], atol=1e-9, err_msg=name)
    np.testing.assert_allclose(b.bonds, a.bonds[p][:, p], atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(epochs(), st.data())
def test_zero_stake_validator_has_no_influence(epoch, data) -> None:
    weights, stake, bonds, params = epoch
    n = len(stake)
    v = data.draw(st.integers(0, n - 1))
    stake = stake.copy()
    stake[v] = 0.0
    other = weights.copy()
    other[v] = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    a = yuma_epoch(weights, stake, bonds, params)
    b = yuma_epoch(other, stake, bonds, params)
    np.testing.assert_array_equal(a.consensus, b.consensus)
    np.testing.assert_allclose(a.incentive, b.incentive, atol=1e-12)
    # With a permit, its weights still shape its own bonds and so dilute others' bond shares (as on
    # chain); without one (the chain never hands a permit to zero stake) it has no effect at all.
    permit = stake > 0
    c = yuma_epoch(weights, stake, bonds, params, validator_permit=permit)
    d = yuma_epoch(other, stake, bonds, params, validator_permit=permit)
    for name in ("consensus", "incentive", "dividends", "bonds", "validator_emission", "server_emission"):
        np.testing.assert_allclose(getattr(c, name), getattr(d, name), atol=1e-12, err_msg=name)
    if params.yuma3:
        # Yuma3 scales dividends by active stake; classic pays on bonds held, even without stake now.
        assert a.dividends[v] == 0.0
