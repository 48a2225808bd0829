"""Design scoring primitives: the check of an answer's density field, its compliance by our own FE solve
(the discretisation of `fabrica.protocol.tasks.design_fe`), and the validator's baseline design.

All functions are pure and deterministic: the same task and densities always give the same result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.design import DesignAnswer, DesignTask
from fabrica.protocol.tasks.design_fe import (
    element_dofs,
    element_stiffness,
    filter_matrix,
    fixed_dofs,
    load_vector,
)

MAX_VIOLATIONS = 100
"""At most this many violations are spelled out; one last line counts the rest."""

VOLUME_TOLERANCE = 1e-3
"""Relative slack on the volume limit: a mean density up to `volfrac * (1 + VOLUME_TOLERANCE)` is accepted."""


@dataclass(frozen=True)
class DesignCheck:
    """The verdict on one answer: feasible or not, its compliance when feasible, its volume, and every violation."""

    feasible: bool
    compliance: float | None
    volume: float | None
    """The mean density, when the field has the task's shape (even if other checks fail)."""
    violations: list[str] = field(default_factory=list)


def _as_field(task: DesignTask, densities: DesignAnswer | np.ndarray | list) -> np.ndarray:
    raw = densities.densities if isinstance(densities, DesignAnswer) else densities
    try:
        x = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FabricaValueError(f"densities: not a rectangular array of numbers ({exc})") from None
    if x.shape != (task.nely, task.nelx):
        raise FabricaValueError(f"densities: shape {x.shape} but the task needs (nely, nelx) = ({task.nely}, {task.nelx})")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise FabricaValueError("densities: every value must be a finite number in [0, 1]")
    return x


def compliance(task: DesignTask, densities: DesignAnswer | np.ndarray | list) -> float:
    """The compliance F . U of `densities` (nely rows x nelx columns, in [0, 1]) by our own FE solve."""
    x = _as_field(task, densities)
    ke = element_stiffness(task.nu)
    edof = element_dofs(task.nelx, task.nely)
    stiffness = task.Emin + x.ravel(order="F") ** task.penal * (task.E0 - task.Emin)
    rows = np.repeat(edof, 8, axis=1).ravel()
    cols = np.tile(edof, (1, 8)).ravel()
    vals = (stiffness[:, None] * ke.ravel()[None, :]).ravel()
    n = task.num_dofs
    k = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsc()
    f = load_vector(task)
    free = np.setdiff1d(np.arange(n), fixed_dofs(task))
    kff = k[free][:, free]
    kff = ((kff + kff.T) / 2.0).tocsc()
    u = np.zeros(n)
    u[free] = spsolve(kff, f[free], permc_spec="MMD_AT_PLUS_A")  # a symmetric ordering suits the SPD matrix
    return float(f @ u)


def check_design(task: DesignTask, answer: DesignAnswer) -> DesignCheck:
    """Check `answer`'s density field against `task` (shape, finite values in [0, 1], volume) and compute its compliance."""
    violations: list[str] = []
    rows = answer.densities
    if len(rows) != task.nely:
        violations.append(f"densities: {len(rows)} rows but the task has nely = {task.nely}")
    for r, row in enumerate(rows):
        if len(row) != task.nelx:
            violations.append(f"densities[{r}]: {len(row)} entries but the task has nelx = {task.nelx}")
    if violations:
        return DesignCheck(feasible=False, compliance=None, volume=None, violations=_capped(violations))

    x = np.asarray(rows, dtype=float)
    bad = np.argwhere(~np.isfinite(x) | (x < 0) | (x > 1))
    spelled = MAX_VIOLATIONS - 1  # leaves room for the count line
    for r, c in bad[:spelled]:
        value = x[r, c]
        why = "is not finite" if not math.isfinite(value) else "is below 0" if value < 0 else "is above 1"
        violations.append(f"densities[{r}][{c}] = {value!r} {why}; densities must be in [0, 1]")
    if len(bad) > spelled:
        violations.append(f"... and {len(bad) - spelled} more densities out of [0, 1]")
    volume = float(np.mean(x)) if not len(bad) else None
    if volume is not None and volume > task.volfrac * (1 + VOLUME_TOLERANCE):
        violations.append(
            f"volume: mean density {volume:.6g} exceeds volfrac = {task.volfrac:g} "
            f"(relative tolerance {VOLUME_TOLERANCE:g})"
        )
    if violations:
        return DesignCheck(feasible=False, compliance=None, volume=volume, violations=_capped(violations))
    return DesignCheck(feasible=True, compliance=compliance(task, x), volume=volume)


def uniform_densities(task: DesignTask) -> np.ndarray:
    """The trivial feasible design: every element at density `volfrac` (nely rows x nelx columns)."""
    return np.full((task.nely, task.nelx), task.volfrac)


BASELINE_ITERATIONS = 12
"""SIMP + OC iterations of the validator's design baseline: coarse, so the baseline costs well under a second."""

BASELINE_MOVE = 0.2
"""The OC move limit of the baseline optimiser."""


def baseline_densities(task: DesignTask, iterations: int = BASELINE_ITERATIONS) -> np.ndarray:
    """The validator's design baseline: `iterations` SIMP + OC steps (sensitivity filter) from the uniform field.

    A deliberately cheap optimiser (a 60 x 20 task takes a few tens of milliseconds at the default), deterministic,
    and always feasible: the volume bisection keeps the side of the multiplier whose field meets `volfrac`. With
    `iterations = 0` it is the uniform field. A miner that cannot beat it earns nothing.
    """
    if iterations < 0:
        raise FabricaValueError(f"iterations must be >= 0, got {iterations}")
    nelx, nely, volfrac, penal = task.nelx, task.nely, task.volfrac, task.penal
    n = nelx * nely
    x = np.full(n, volfrac)
    if iterations == 0:
        return x.reshape((nely, nelx), order="F")
    ke = element_stiffness(task.nu)
    edof = element_dofs(nelx, nely)
    ndof = task.num_dofs
    free = np.setdiff1d(np.arange(ndof), fixed_dofs(task))
    index = np.full(ndof, -1, dtype=np.int64)
    index[free] = np.arange(free.size)
    r = index[np.repeat(edof, 8, axis=1).ravel()]
    c = index[np.tile(edof, (1, 8)).ravel()]
    keep = (r >= 0) & (c >= 0)
    r, c = r[keep], c[keep]
    f = load_vector(task)[free]
    h, hs = filter_matrix(nelx, nely, max(task.rmin, 1.5))
    e0, emin = task.E0, task.Emin
    for _ in range(iterations):
        young = emin + x**penal * (e0 - emin)
        vals = (young[:, None] * ke.ravel()[None, :]).ravel()[keep]
        k = sp.csc_matrix((vals, (r, c)), shape=(free.size, free.size))
        u = np.zeros(ndof)
        u[free] = spsolve(k, f, permc_spec="MMD_AT_PLUS_A")
        ue = u[edof]
        ce = np.einsum("ij,jk,ik->i", ue, ke, ue)
        dc = -penal * (e0 - emin) * x ** (penal - 1) * ce
        dc = (h @ (x * dc)) / hs / np.maximum(1e-3, x)
        ratio = np.sqrt(np.maximum(-dc, 0.0))
        lo_box, hi_box = np.maximum(0.0, x - BASELINE_MOVE), np.minimum(1.0, x + BASELINE_MOVE)
        lo, hi = 0.0, 1e9
        best = x  # the current field meets the volume; replaced by each feasible trial
        while (hi - lo) / (lo + hi) > 1e-4:
            mid = 0.5 * (lo + hi)
            trial = np.clip(x * ratio / math.sqrt(mid), lo_box, hi_box)
            if trial.sum() > volfrac * n:
                lo = mid
            else:
                hi, best = mid, trial
        x = best
    return x.reshape((nely, nelx), order="F")


def baseline_compliance(task: DesignTask, iterations: int = BASELINE_ITERATIONS) -> float:
    """The compliance of `baseline_densities(task)`, computed by `compliance` like every answer's."""
    return compliance(task, baseline_densities(task, iterations))


def _capped(violations: list[str]) -> list[str]:
    if len(violations) > MAX_VIOLATIONS:
        extra = len(violations) - MAX_VIOLATIONS
        return [*violations[:MAX_VIOLATIONS], f"... and {extra} more violations"]
    return violations


__all__ = [
    "BASELINE_ITERATIONS",
    "MAX_VIOLATIONS",
    "VOLUME_TOLERANCE",
    "baseline_compliance",
    "baseline_densities",
    "filter_matrix",
    "DesignCheck",
    "check_design",
    "compliance",
    "element_dofs",
    "element_stiffness",
    "fixed_dofs",
    "load_vector",
    "uniform_densities",
]
