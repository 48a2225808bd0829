"""Bittensor's Yuma Consensus epoch, written in NumPy from the subtensor pallet's description of it.

One call of :func:`yuma_epoch` is one subnet epoch: it turns the validators' weight matrix, the stake
vector and the bonds carried over from the previous epoch into consensus, incentive (miners' share),
dividends (validators' share), the new bonds and the emission split.  It follows
``pallets/subtensor/src/epoch/run_epoch.rs`` (``epoch_mechanism`` / ``epoch_dense_mechanism``) step by
step; the chain works in I32F32/I64F64 fixed point, this module in float64, which agrees with the
chain's own test vectors to well within 1e-3 (see ``tests/subnet/test_yuma.py``).

Conventions, matching what the chain keeps in storage between epochs:

* ``weights[i, j]`` is validator ``i``'s weight on uid ``j``; any non-negative scale (rows are
  normalised inside, as the chain normalises its u16 rows).
* classic bonds (``yuma3=False``) come back column max-upscaled (each column's largest bond is 1),
  which is how the chain stores them; any column scale may be passed in, since they are
  column-normalised before use.
* Yuma3 bonds (``yuma3=True``) are absolute proportions in ``[0, 1]`` and are passed in and come
  back as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fabrica.protocol.errors import FabricaValueError

__all__ = ["YumaInputError", "YumaParams", "YumaResult", "yuma_epoch"]

U16_MAX = 65535


class YumaInputError(FabricaValueError):
    """An input to the Yuma epoch has the wrong shape, a negative or non-finite value, or a bad parameter."""


@dataclass(frozen=True)
class YumaParams:
    """Subnet hyperparameters that shape one Yuma epoch; defaults are the chain's initial values.

    Fractions that the chain stores as integers are given here as floats: ``kappa`` is
    ``Kappa / 65535`` (chain default 32767, i.e. 0.49999), ``bonds_moving_average`` is
    ``BondsMovingAverage / 1_000_000`` (default 900_000), ``bonds_penalty`` is
    ``BondsPenalty / 65535`` (default 65535, i.e. 1), ``alpha_low``/``alpha_high`` are
    ``AlphaValues / 65535`` (defaults 45875, 58982).  Note: the pallet's own ``Yuma3On`` default is
    ``false``; subnets opt in.  This module defaults to Yuma3 because that is what Fabrica runs.
    """

    kappa: float = 0.5  # consensus majority: the stake share that must support a weight for it to count
    bonds_moving_average: float = 0.9  # EMA keeps this share of old bonds; alpha = 1 - this
    bonds_penalty: float = 1.0  # 0: bonds follow raw weights, 1: bonds follow consensus-clipped weights
    liquid_alpha: bool = False  # Yuma3 only: per-cell EMA rate from a sigmoid of how far ahead of consensus
    alpha_low: float = 0.7
    alpha_high: float = 0.9
    alpha_sigmoid_steepness: float = 1000.0  # chain AlphaSigmoidSteepness (i16); used as steepness / 100
    yuma3: bool = True  # Yuma3 bonds (absolute EMA of weights) vs classic (stake-share EMA)
    max_allowed_validators: int = 128  # how many top-stake uids get a validator permit for next epoch
    min_stake: float = 0.0  # StakeThreshold: stake below this (in the caller's stake units) counts as zero

    def __post_init__(self) -> None:
        for name in ("kappa", "bonds_moving_average", "bonds_penalty", "alpha_low", "alpha_high"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and 0.0 <= value <= 1.0):
                raise YumaInputError(f"YumaParams.{name} must be a finite number in [0, 1], got {value!r}")
        if self.alpha_low > self.alpha_high:
            raise YumaInputError(
                f"YumaParams.alpha_low ({self.alpha_low}) must not exceed alpha_high ({self.alpha_high})"
            )
        if not np.isfinite(self.alpha_sigmoid_steepness):
            raise YumaInputError("YumaParams.alpha_sigmoid_steepness must be finite")
        if int(self.max_allowed_validators) != self.max_allowed_validators or self.max_allowed_validators < 0:
            raise YumaInputError(
                f"YumaParams.max_allowed_validators must be a non-negative integer, got {self.max_allowed_validators!r}"
            )
        if not (np.isfinite(self.min_stake) and self.min_stake >= 0):
            raise YumaInputError(f"YumaParams.min_stake must be finite and >= 0, got {self.min_stake!r}")


@dataclass(frozen=True)
class YumaResult:
    """Everything one epoch produces; all arrays float64 (bool for the masks), indexed by uid.

    ``incentive``, ``dividends`` and ``emission`` are normalised (each sums to 1, or is all zero);
    ``server_emission``/``validator_emission`` are shares of the ``emission`` amount passed in and
    together sum to it.  ``bonds`` is what the chain would store for the next epoch (see the module
    docstring for the two conventions).
    """

    stake: np.ndarray  # normalised stake after the min_stake filter
    active_stake: np.ndarray  # stake of active, permitted validators, normalised: the voting power
    weights: np.ndarray  # masked, row-normalised weights actually used
    consensus: np.ndarray  # stake-weighted kappa-median of each column
    clipped_weights: np.ndarray  # weights clipped at consensus
    ranks: np.ndarray  # clipped_weights^T @ active_stake, not normalised
    trust: np.ndarray  # ranks / pre-clip ranks: share of a miner's support that survived clipping
    incentive: np.ndarray  # normalised ranks: each miner's share of server emission
    validator_trust: np.ndarray  # row sums of clipped weights
    bonds: np.ndarray  # n x n bonds to carry into the next epoch
    ema_bonds: np.ndarray  # n x n EMA bonds before the storage convention and permit handling
    dividends: np.ndarray  # each validator's share of validator emission
    emission: np.ndarray  # normalised incentive + dividends (the chain's Emission storage, as a share)
    server_emission: np.ndarray
    validator_emission: np.ndarray
    validator_permit: np.ndarray  # permits for the next epoch: top max_allowed_validators nonzero stakes
    extra: dict = field(default_factory=dict)  # liquid alphas and other intermediates, for debugging


# --------------------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------------------


def _as_float_array(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise YumaInputError(f"{name} must be numeric: {exc}") from exc
    if arr.shape != shape:
        raise YumaInputError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise YumaInputError(f"{name} must not contain NaN or infinity")
    if np.any(arr < 0):
        raise YumaInputError(f"{name} must be non-negative")
    return arr.copy()


def _as_bool_mask(name: str, value: object, n: int, default: bool) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise YumaInputError(f"{name} must have shape ({n},), got {arr.shape}")
    if arr.dtype != bool:
        if not np.all(np.isin(arr, (0, 1))):
            raise YumaInputError(f"{name} must be a boolean mask")
        arr = arr.astype(bool)
    return arr.copy()


def _as_blocks(name: str, value: object, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise YumaInputError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.all(np.isfinite(arr.astype(float))) and np.all(arr == np.floor(arr))):
            raise YumaInputError(f"{name} must hold whole block numbers")
        arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise YumaInputError(f"{name} must be non-negative block numbers")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Building blocks (each mirrors one helper of the pallet's epoch/math.rs in behaviour, not in code)
# --------------------------------------------------------------------------------------------------


def _normalize(x: np.ndarray) -> np.ndarray:
    """Scale to sum 1; an all-zero vector stays zero (the chain never divides by a zero sum)."""
    total = x.sum()
    return x / total if total > 0 else x.copy()


def _row_normalize(m: np.ndarray) -> np.ndarray:
    sums = m.sum(axis=1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


def _col_normalize(m: np.ndarray) -> np.ndarray:
    sums = m.sum(axis=0, keepdims=True)
    return np.divide(m, sums, out=m.copy(), where=sums > 0)


def _col_max_upscale(m: np.ndarray) -> np.ndarray:
    maxes = m.max(axis=0, keepdims=True) if m.size else m
    return np.divide(m, maxes, out=m.copy(), where=maxes > 0)


def _weighted_median_cols(stake: np.ndarray, weights: np.ndarray, kappa: float) -> np.ndarray:
    """Per column, the largest weight w such that validators weighting at least w hold >= kappa of stake.

    This is what the chain's mid-pivot weighted-median search returns: with validators sorted by
    their weight on a column (descending) and their stake accumulated in that order, consensus is the
    weight at which the running stake first reaches kappa.  Only rows with positive stake vote, and
    their stake is renormalised, so zero-stake validators cannot move consensus.
    """
    n_cols = weights.shape[1]
    voters = stake > 0
    if not voters.any():
        return np.zeros(n_cols)
    s = stake[voters] / stake[voters].sum()
    w = weights[voters]
    order = np.argsort(-w, axis=0, kind="stable")
    w_sorted = np.take_along_axis(w, order, axis=0)
    cum = np.cumsum(s[order], axis=0)
    # A small slack so that float summation noise does not break an exact tie with kappa.
    reached = cum >= kappa - 1e-12
    first = np.argmax(reached, axis=0)  # some row always reaches it: the total is 1 >= kappa
    return w_sorted[first, np.arange(n_cols)]


def _is_topk_nonzero(values: np.ndarray, k: int) -> np.ndarray:
    """Permit mask: nonzero entries among the k largest (ties broken towards lower uids, as the chain's stable sort does)."""
    result = values != 0
    n = values.size
    if n < k:
        return result
    # Stable ascending sort; the first n - k indices lose their permit.
    order = np.argsort(values, kind="stable")
    result[order[: n - k]] = False
    return result


def _liquid_alphas(
    weights: np.ndarray, bonds: np.ndarray, consensus: np.ndarray, params: YumaParams
) -> np.ndarray:
    """Per-cell EMA rate for Yuma3 liquid alpha.

    A validator moving ahead of consensus (weight above consensus while buying, or bond above weight
    while selling) gets a faster rate, near alpha_high; one following consensus gets alpha_low.
    """
    diff_buy = np.clip(weights - consensus[None, :], 0.0, 1.0)
    diff_sell = np.clip(bonds - weights, 0.0, 1.0)
    diff = np.where(weights >= bonds, diff_buy, diff_sell)
    # The chain clamps the exponent to [-20, 20] before exp.
    exponent = np.clip(-(params.alpha_sigmoid_steepness / 100.0) * (diff - 0.5), -20.0, 20.0)
    sigmoid = 1.0 / (1.0 + np.exp(exponent))
    alpha = params.alpha_low + sigmoid * (params.alpha_high - params.alpha_low)
    return np.clip(alpha, params.alpha_low, params.alpha_high)


# --------------------------------------------------------------------------------------------------
# The epoch
# --------------------------------------------------------------------------------------------------


def yuma_epoch(
    weights: np.ndarray,
    stake: np.ndarray,
    bonds: np.ndarray | None,
    params: YumaParams,
    *,
    validator_permit: np.ndarray | None = None,
    active: np.ndarray | None = None,
    block_at_registration: np.ndarray | None = None,
    last_update: np.ndarray | None = None,
    last_tempo_block: int | None = None,
    owner_uid: int | None = None,
    emission: float = 1.0,
) -> YumaResult:
    """Run one Yuma Consensus epoch over ``n`` uids and return its outputs.

    Args:
        weights: ``n x n``, row ``i`` = validator ``i``'s (unnormalised, non-negative) weights.
        stake: length ``n``, non-negative stake per uid (any unit; it is normalised).
        bonds: ``n x n`` bonds from the previous epoch's ``YumaResult.bonds``, or ``None`` for none.
        params: subnet hyperparameters.
        validator_permit: which uids held a validator permit this epoch (default: all).  Rows
            without a permit are ignored; on chain this is the previous epoch's
            ``YumaResult.validator_permit``.
        active: which uids set weights recently enough (default: all); inactive stake does not vote.
        block_at_registration, last_update: per-uid block numbers.  Given both, weight ``i -> j`` is
            dropped when ``last_update[i] <= block_at_registration[j]`` (it was set before ``j``'s
            current holder registered).
        last_tempo_block: first block of the current tempo.  Given it and ``block_at_registration``,
            bonds held in uids registered at or after it are cleared (the chain does this so a new
            holder of a uid does not inherit its predecessor's bonds).
        owner_uid: the subnet owner's uid, which always holds a permit, keeps its self-weight and is
            exempt from ``min_stake``.
        emission: amount to split between miners (incentive) and validators (dividends).

    Raises:
        YumaInputError: wrong shapes, negative or non-finite values, or inconsistent options.
    """
    if not isinstance(params, YumaParams):
        raise YumaInputError(f"params must be a YumaParams, got {type(params).__name__}")
    w_in = np.asarray(weights) if weights is not None else None
    if w_in is None or w_in.ndim != 2 or w_in.shape[0] != w_in.shape[1]:
        raise YumaInputError(f"weights must be a square n x n matrix, got shape {getattr(w_in, 'shape', None)}")
    n = w_in.shape[0]
    if n == 0:
        raise YumaInputError("weights must cover at least one uid")
    W = _as_float_array("weights", w_in, (n, n))
    raw_stake = _as_float_array("stake", stake, (n,))
    B_in = np.zeros((n, n)) if bonds is None else _as_float_array("bonds", bonds, (n, n))
    if params.yuma3 and np.any(B_in > 1.0 + 1e-9):
        raise YumaInputError("Yuma3 bonds are proportions and must lie in [0, 1]")
    permit = _as_bool_mask("validator_permit", validator_permit, n, True)
    is_active = _as_bool_mask("active", active, n, True)
    reg = None if block_at_registration is None else _as_blocks("block_at_registration", block_at_registration, n)
    upd = None if last_update is None else _as_blocks("last_update", last_update, n)
    if upd is not None and reg is None:
        raise YumaInputError("last_update needs block_at_registration (weights are outdated relative to it)")
    if last_tempo_block is not None and reg is None:
        raise YumaInputError("last_tempo_block needs block_at_registration")
    if owner_uid is not None and not (isinstance(owner_uid, int | np.integer) and 0 <= owner_uid < n):
        raise YumaInputError(f"owner_uid must be a uid in [0, {n}), got {owner_uid!r}")
    if not (np.isfinite(emission) and emission >= 0):
        raise YumaInputError(f"emission must be finite and >= 0, got {emission!r}")

    # ---- Stake: drop stakes under the threshold (never the owner's), then normalise. ----
    filtered = np.where(raw_stake < params.min_stake, 0.0, raw_stake)
    if owner_uid is not None:
        filtered[owner_uid] = raw_stake[owner_uid]
    S = _normalize(filtered)

    # ---- Permits: this epoch's permits decide who votes; new ones are handed out by stake. ----
    if owner_uid is not None:
        permit[owner_uid] = True
    new_permit = _is_topk_nonzero(S, int(params.max_allowed_validators))
    if owner_uid is not None:
        new_permit[owner_uid] = True

    # Only active, permitted validators vote, with their stake renormalised among themselves.
    active_stake = _normalize(np.where(is_active & permit, S, 0.0))

    # ---- Weights: ignore unpermitted rows, self-weights (except the owner's), outdated weights. ----
    W[~permit, :] = 0.0
    diag = np.arange(n)
    self_weight_owner = W[owner_uid, owner_uid] if owner_uid is not None else 0.0
    W[diag, diag] = 0.0
    if owner_uid is not None:
        W[owner_uid, owner_uid] = self_weight_owner
    if reg is not None and upd is not None:
        outdated = upd[:, None] <= reg[None, :]
        W[outdated] = 0.0
    W = _row_normalize(W)

    # ---- Consensus and clipping. ----
    consensus = _weighted_median_cols(active_stake, W, params.kappa)
    clipped = np.minimum(W, consensus[None, :])
    validator_trust = clipped.sum(axis=1)

    # ---- Ranks, trust, incentive. ----
    preranks = W.T @ active_stake
    ranks = clipped.T @ active_stake
    trust = np.divide(ranks, preranks, out=np.zeros(n), where=preranks > 0)
    incentive = _normalize(ranks)

    # ---- Bonds and dividends. ----
    # bonds_penalty interpolates between raw weights (0) and consensus-clipped weights (1).
    penalty = params.bonds_penalty
    weights_for_bonds = W + penalty * (clipped - W)

    B = B_in.copy()
    if last_tempo_block is not None and reg is not None:
        # A uid (re)registered during this tempo starts with nobody holding bonds in it.
        B[:, reg >= last_tempo_block] = 0.0

    extra: dict = {}
    if params.yuma3:
        # Yuma3: bonds are an EMA of each validator's own (penalised) weights, in absolute terms.
        if params.liquid_alpha and np.any(consensus != 0):
            alphas = _liquid_alphas(weights_for_bonds, B, consensus, params)
            extra["alphas"] = alphas
            ema = np.minimum((1.0 - alphas) * B + np.maximum(alphas * weights_for_bonds, 0.0), 1.0)
        else:
            alpha = 1.0 - params.bonds_moving_average
            ema = alpha * weights_for_bonds + (1.0 - alpha) * B
        ema_norm = _col_normalize(ema)
        # A validator earns its share of each miner's incentive, scaled by its own stake.
        total_bonds_per_validator = ema_norm @ incentive
        dividends = _normalize(total_bonds_per_validator * active_stake)
        stored = ema
    else:
        # Classic: bonds are an EMA of each validator's share of the stake-weighted support per miner.
        B = _col_normalize(B)
        delta = _col_normalize(weights_for_bonds * active_stake[:, None])
        alpha = 1.0 - params.bonds_moving_average
        ema = _col_normalize(alpha * delta + (1.0 - alpha) * B)
        dividends = _normalize(ema @ incentive)
        stored = _col_max_upscale(ema)

    # The chain stores a row of new bonds only for uids that keep a permit, clears the row of a uid
    # that lost its permit, and leaves other rows as they were.
    bonds_out = B_in.copy()
    bonds_out[new_permit] = stored[new_permit]
    bonds_out[permit & ~new_permit] = 0.0

    # ---- Emission: incentive to miners, dividends to validators, normalised over both. ----
    combined = incentive + dividends
    emission_sum = combined.sum()
    if emission_sum > 0:
        server_share = incentive / emission_sum
        validator_share = dividends / emission_sum
        combined_share = combined / emission_sum
    else:
        # Nothing earned (no weights, all outdated, only self-weights): emission follows stake, so it
        # is not burned; active stake if any is active, otherwise all stake.
        fallback = active_stake if active_stake.sum() > 0 else S
        server_share = incentive.copy()
        validator_share = fallback.copy()
        combined_share = fallback.copy()

    return YumaResult(
        stake=S,
        active_stake=active_stake,
        weights=W,
        consensus=consensus,
        clipped_weights=clipped,
        ranks=ranks,
        trust=trust,
        incentive=incentive,
        validator_trust=validator_trust,
        bonds=bonds_out,
        ema_bonds=ema,
        dividends=dividends,
        emission=combined_share,
        server_emission=server_share * emission,
        validator_emission=validator_share * emission,
        validator_permit=new_permit,
        extra=extra,
    )
