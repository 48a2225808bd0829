"""A SIMP + Optimality Criteria topology optimizer for the subnet's design task (minimum compliance).

The method is that of Andreassen et al. 2011 ("Efficient topology optimization in MATLAB using 88 lines of
code"), written here in vectorised numpy/scipy: start from the uniform field at `volfrac`; each iteration solves
the FE problem, takes the compliance sensitivities, filters them (the task's `filter`: "sensitivity" filters the
sensitivities, "density" filters the densities and chains the sensitivities through the filter), and updates
the densities by the OC rule with move limit 0.2, bisecting the Lagrange multiplier of the volume constraint.
It stops when no density changes by more than `tol` (0.01), at `max_iter`, or at the time limit.

The FE model (element stiffness, dof numbering, loads, supports) is the validator's
(`fabrica.protocol.tasks.design_fe`, which the validator scores with); the assembly and solve here are the optimizer's own. The compliance
returned is that of the returned physical densities, recomputed after the last update.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.tasks.design import DesignAnswer, DesignTask
from fabrica.miners.solvers.design_defaults import DEFAULT_MAX_ITER  # shown by the CLI without NumPy
from fabrica.protocol.tasks.design_fe import element_dofs, element_stiffness, filter_matrix, fixed_dofs, load_vector

MOVE = 0.2
"""The OC move limit: a density changes by at most this much per iteration."""

DEFAULT_TOL = 0.01
"""Convergence: stop when the largest density change of an iteration is at most this."""


@dataclass(frozen=True)
class TopologyResult:
    """What `solve_design` found: the physical densities (nely x nelx), their compliance and the run's history."""

    densities: np.ndarray
    compliance: float
    volume: float
    iterations: int
    converged: bool
    change: float
    """The largest density change of the last iteration."""
    history: list[float] = field(default_factory=list)
    """The compliance at each iteration, before its update (the value the 88-line code prints)."""

    def answer(self) -> DesignAnswer:
        """The densities as a wire answer."""
        return DesignAnswer(densities=tuple(tuple(float(v) for v in row) for row in self.densities))


class _Model:
    """The FE model of one task, assembled straight into symmetric band storage for a banded Cholesky solve.

    A rectangular grid numbered along its shorter side has a stiffness bandwidth of about twice that side, so
    LAPACK's banded Cholesky (O(n * band^2), no fill-in search, no sorting) beats a general sparse LU here.
    """

    def __init__(self, task: DesignTask) -> None:
        self.task = task
        self.ke = element_stiffness(task.nu)
        edof = element_dofs(task.nelx, task.nely)
        self.edof = edof
        n = task.num_dofs
        self.free = np.setdiff1d(np.arange(n), fixed_dofs(task))
        self.f = load_vector(task)
        # Renumber free dofs node by node along the shorter side of the grid (the narrow band).
        node = np.arange(n) // 2
        col, row = node // (task.nely + 1), node % (task.nely + 1)
        along_rows = task.nelx < task.nely
        major, minor = (row, col) if along_rows else (col, row)
        width = (task.nelx + 1) if along_rows else (task.nely + 1)
        order_key = (major * width + minor) * 2 + np.arange(n) % 2
        free_order = self.free[np.argsort(order_key[self.free], kind="stable")]
        index = np.full(n, -1, dtype=np.int64)
        index[free_order] = np.arange(free_order.size)
        self.free_order = free_order
        rows = np.repeat(edof, 8, axis=1).ravel()
        cols = np.tile(edof, (1, 8)).ravel()
        r, c = index[rows], index[cols]
        # Lower band storage ab[r - c, c] for r >= c; each element entry lands on one band slot.
        self.keep = (r >= 0) & (c >= 0) & (r >= c)
        r, c = r[self.keep], c[self.keep]
        self.nfree = free_order.size
        self.band = int((r - c).max()) if r.size else 0
        self.slot = (r - c) * self.nfree + c
        self.size = (self.band + 1) * self.nfree

    def solve(self, young: np.ndarray) -> np.ndarray:
        """The displacements for element moduli `young` (column-major element order)."""
        vals = (young[:, None] * self.ke.ravel()[None, :]).ravel()[self.keep]
        ab = np.bincount(self.slot, weights=vals, minlength=self.size).reshape(self.band + 1, self.nfree)
        u = np.zeros(self.task.num_dofs)
        factor = cholesky_banded(ab, lower=True, check_finite=False)
        u[self.free_order] = cho_solve_banded((factor, True), self.f[self.free_order], check_finite=False)
        return u

    def element_energy(self, u: np.ndarray) -> np.ndarray:
        """u_e^T k_e u_e per element, for unit modulus."""
        ue = u[self.edof]
        return np.einsum("ij,jk,ik->i", ue, self.ke, ue)


def solve_design(
    task: DesignTask,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    time_limit_s: float | None = None,
) -> TopologyResult:
    """Optimise `task` by SIMP + OC with the task's filter; the volume meets `volfrac` to the bisection's 1e-3."""
    if max_iter < 1:
        raise FabricaValueError(f"max_iter must be at least 1, got {max_iter}")
    if not 0 < tol < 1:
        raise FabricaValueError(f"tol must be in (0, 1), got {tol}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise FabricaValueError(f"time_limit_s must be positive, got {time_limit_s}")
    started = time.monotonic()
    nelx, nely, volfrac, penal = task.nelx, task.nely, task.volfrac, task.penal
    e0, emin = task.E0, task.Emin
    density_filter = task.filter == "density"
    model = _Model(task)
    h, hs = filter_matrix(nelx, nely, task.rmin)
    n = nelx * nely
    x = np.full(n, volfrac)
    x_phys = x.copy()
    dv = np.ones(n)
    if density_filter:
        dv = h @ (dv / hs)
    history: list[float] = []
    change = 1.0
    iterations = 0
    while change > tol and iterations < max_iter:
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            break
        iterations += 1
        u = model.solve(emin + x_phys**penal * (e0 - emin))
        ce = model.element_energy(u)
        history.append(float(((emin + x_phys**penal * (e0 - emin)) * ce).sum()))
        dc = -penal * (e0 - emin) * x_phys ** (penal - 1) * ce
        if density_filter:
            dc = h @ (dc / hs)
        else:
            dc = (h @ (x * dc)) / hs / np.maximum(1e-3, x)
        ratio = np.sqrt(np.maximum(-dc / dv, 0.0))
        lo, hi = 0.0, 1e9
        while (hi - lo) / (lo + hi) > 1e-3:
            mid = 0.5 * (lo + hi)
            x_new = np.clip(x * ratio / math.sqrt(mid), np.maximum(0.0, x - MOVE), np.minimum(1.0, x + MOVE))
            x_phys = (h @ x_new) / hs if density_filter else x_new
            if x_phys.sum() > volfrac * n:
                lo = mid
            else:
                hi = mid
        change = float(np.abs(x_new - x).max())
        x = x_new
    x_phys = np.clip(x_phys, 0.0, 1.0)  # the density filter's weighted means can round just past 1
    final = model.solve(emin + x_phys**penal * (e0 - emin))
    c = float(model.f @ final)
    densities = x_phys.reshape((nely, nelx), order="F").copy()
    return TopologyResult(
        densities=densities,
        compliance=c,
        volume=float(densities.mean()),
        iterations=iterations,
        converged=change <= tol,
        change=change,
        history=history,
    )


__all__ = ["DEFAULT_MAX_ITER", "DEFAULT_TOL", "MOVE", "TopologyResult", "solve_design"]
