"""The finite-element discretisation that defines a design task's compliance, shared by miners and validators.

The model is that of Andreassen et al. 2011 ("Efficient topology optimization in MATLAB using 88 lines of
code"): unit square 4-node bilinear elements in plane stress, SIMP interpolation
`E = Emin + x**penal * (E0 - Emin)`, node `[i, j]` numbered `n = (nely + 1) * i + j` with degrees of freedom
`2n` (x) and `2n + 1` (y), y pointing up. The element stiffness matrix is integrated with 2x2 Gauss points
(exact for this element), which reproduces the paper's closed form; the cone filter is the paper's.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .design import DesignTask, dof_index


@lru_cache(maxsize=16)
def _element_stiffness(nu: float) -> np.ndarray:
    # Local nodes counter-clockwise from the lower left: (0,0), (1,0), (1,1), (0,1); dofs (u, v) per node.
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    d = np.array([[1.0, nu, 0.0], [nu, 1.0, 0.0], [0.0, 0.0, (1.0 - nu) / 2.0]]) / (1.0 - nu**2)
    ke = np.zeros((8, 8))
    g = 0.5 / math.sqrt(3.0)
    for px in (0.5 - g, 0.5 + g):
        for py in (0.5 - g, 0.5 + g):
            # Bilinear shape functions N_a = (1 - |x - x_a|)(1 - |y - y_a|) on the unit square; their gradients.
            sx = np.where(corners[:, 0] > 0, 1.0, -1.0)
            sy = np.where(corners[:, 1] > 0, 1.0, -1.0)
            wx = np.where(corners[:, 0] > 0, px, 1.0 - px)
            wy = np.where(corners[:, 1] > 0, py, 1.0 - py)
            dndx, dndy = sx * wy, sy * wx
            b = np.zeros((3, 8))
            b[0, 0::2] = dndx
            b[1, 1::2] = dndy
            b[2, 0::2] = dndy
            b[2, 1::2] = dndx
            ke += 0.25 * b.T @ d @ b  # each Gauss point has weight 1/4 on the unit square
    ke = (ke + ke.T) / 2.0
    ke.flags.writeable = False
    return ke


def element_stiffness(nu: float) -> np.ndarray:
    """The 8x8 stiffness matrix of a unit square plane-stress element with E = 1 (read-only)."""
    return _element_stiffness(float(nu))


def element_dofs(nelx: int, nely: int) -> np.ndarray:
    """The (nelx * nely, 8) global dofs of each element, elements column-major (element `e = r + c * nely`)."""
    c, r = np.meshgrid(np.arange(nelx), np.arange(nely), indexing="ij")
    n1 = ((nely + 1) * c + r).ravel()  # upper left node
    n2 = ((nely + 1) * (c + 1) + r).ravel()  # upper right node
    return np.stack(
        [2 * n1 + 2, 2 * n1 + 3, 2 * n2 + 2, 2 * n2 + 3, 2 * n2, 2 * n2 + 1, 2 * n1, 2 * n1 + 1], axis=1
    ).astype(np.int64)


def load_vector(task: DesignTask) -> np.ndarray:
    """The global force vector of `task`."""
    f = np.zeros(task.num_dofs)
    for load in task.loads:
        f[dof_index(task.nely, load.node, load.direction)] += load.value
    return f


def fixed_dofs(task: DesignTask) -> np.ndarray:
    """The sorted global dofs that `task`'s supports fix."""
    return np.array(sorted({dof_index(task.nely, s.node, s.direction) for s in task.supports}), dtype=np.int64)


def filter_matrix(nelx: int, nely: int, rmin: float) -> tuple[sp.csr_matrix, np.ndarray]:
    """The cone filter weights H (max(0, rmin - distance) between element centres, column-major) and their row sums."""
    reach = max(int(math.ceil(rmin)) - 1, 0)
    c, r = np.meshgrid(np.arange(nelx), np.arange(nely), indexing="ij")
    c, r = c.ravel(), r.ravel()
    e1 = r + c * nely
    rows, cols, vals = [], [], []
    for dc in range(-reach, reach + 1):
        for dr in range(-reach, reach + 1):
            w = rmin - math.hypot(dc, dr)
            if w <= 0:
                continue
            c2, r2 = c + dc, r + dr
            ok = (c2 >= 0) & (c2 < nelx) & (r2 >= 0) & (r2 < nely)
            rows.append(e1[ok])
            cols.append((r2 + c2 * nely)[ok])
            vals.append(np.full(int(ok.sum()), w))
    n = nelx * nely
    h = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return h, np.asarray(h.sum(axis=1)).ravel()
