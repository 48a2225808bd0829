"""Wire schemas of the subnet's design task: 2-D topology optimisation, minimum compliance under a volume fraction.

The domain is a rectangle of `nelx x nely` unit square elements (4-node bilinear, plane stress). Its nodes form
a `(nelx + 1) x (nely + 1)` grid addressed as `[i, j]`: `i` is the column, 0 at the left edge to `nelx` at the
right; `j` is the row, 0 at the top edge to `nely` at the bottom. Displacement and force components are `"x"`
(positive to the right) and `"y"` (positive upward), so a load of value -1 in `"y"` pushes down. This is the
node layout of Andreassen et al. 2011 ("Efficient topology optimization in MATLAB using 88 lines of code"):
node `[i, j]` has number `n = (nely + 1) * i + j` and degrees of freedom `2n` (x) and `2n + 1` (y).

Material is SIMP-interpolated: an element of density `x` has Young's modulus `Emin + x**penal * (E0 - Emin)`.
The objective is the compliance `F . U` of the design, to minimise with the mean density at most `volfrac`.
`rmin` and `filter` say which filter the reference method uses; they do not constrain an answer.

An answer gives the element densities as `nely` rows of `nelx` floats: `densities[r][c]` is the element in row
`r` (0 at the top) and column `c` (0 at the left), i.e. the element between nodes `[c, r]` and `[c + 1, r + 1]`.
These models check only the shape of an answer's JSON; whether it fits a task (its size, bounds, volume) is
decided by the validator (`fabrica.validators.scoring.design.check_design`) on the FE model of `fabrica.protocol.tasks.design_fe`.

Use `parse_task` / `parse_answer` on untrusted input: they raise `DesignSchemaError` (a `FabricaValueError`)
naming every offending field.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, model_validator

from fabrica.protocol.errors import FabricaValueError

from .wire import WireModel, parse_wire

DESIGN_SCHEMA_VERSION = 1
"""Version of both design wire schemas; bumped on any incompatible change."""

DEFAULT_DEADLINE_MS = 30_000
"""Answer deadline of a task that does not set one."""

MAX_ELEMENTS = 40_000
"""Upper bound on `nelx * nely` (keeps one finite-element solve well under a second)."""

MAX_SIDE = 1_000
"""Upper bound on `nelx` and on `nely`."""

MAX_LOAD = 1e12
"""Upper bound on the magnitude of one load value."""

Side = Annotated[int, Strict(), Field(ge=1, le=MAX_SIDE)]
Coordinate = Annotated[int, Strict(), Field(ge=0, le=MAX_SIDE)]
Node = tuple[Coordinate, Coordinate]
"""A grid node `[i, j]`: column `i` in `0..nelx` (left to right), row `j` in `0..nely` (top to bottom)."""
Direction = Literal["x", "y"]
FilterKind = Literal["sensitivity", "density"]


class DesignSchemaError(FabricaValueError):
    """A design task or answer does not match its wire schema; the message names each offending field."""




class PointLoad(WireModel):
    """A point force of `value` in `direction` at grid node `node` (y is positive upward)."""

    node: Node
    direction: Direction
    value: Annotated[float, Field(ge=-MAX_LOAD, le=MAX_LOAD, allow_inf_nan=False)]


class Support(WireModel):
    """A fixed (zero) displacement component `direction` at grid node `node`."""

    node: Node
    direction: Direction


def dof_index(nely: int, node: Node, direction: Direction) -> int:
    """The global degree of freedom of `direction` at `node` in a mesh `nely` elements tall."""
    i, j = node
    return 2 * ((nely + 1) * i + j) + (1 if direction == "y" else 0)


class DesignTask(WireModel):
    """A minimum-compliance topology-optimisation task on a rectangle of unit square elements."""

    schema_version: Literal[1] = DESIGN_SCHEMA_VERSION
    kind: Literal["design"] = "design"
    task_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    nelx: Side
    nely: Side
    volfrac: Annotated[float, Field(gt=0, lt=1)]
    penal: Annotated[float, Field(ge=1, le=10)] = 3.0
    rmin: Annotated[float, Field(gt=0, le=100)] = 1.5
    filter: FilterKind = "sensitivity"
    E0: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 1.0
    Emin: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 1e-9
    """Stiffness of a void element; positive, so every design has a unique displacement."""
    nu: Annotated[float, Field(gt=-1, lt=0.5)] = 0.3
    loads: tuple[PointLoad, ...] = Field(min_length=1, max_length=10_000)
    supports: tuple[Support, ...] = Field(min_length=3, max_length=10_000)
    objective: Literal["compliance"] = "compliance"
    deadline_ms: Annotated[int, Strict(), Field(ge=1, le=3_600_000)] = DEFAULT_DEADLINE_MS

    @model_validator(mode="after")
    def _consistent(self) -> DesignTask:
        if self.nelx * self.nely > MAX_ELEMENTS:
            raise ValueError(f"nelx * nely = {self.nelx * self.nely} elements exceed the limit of {MAX_ELEMENTS}")
        if self.Emin >= self.E0:
            raise ValueError(f"Emin = {self.Emin} must be smaller than E0 = {self.E0}")
        fixed: dict[int, int] = {}
        for s, sup in enumerate(self.supports):
            self._check_node(f"supports[{s}].node", sup.node)
            dof = dof_index(self.nely, sup.node, sup.direction)
            if dof in fixed:
                raise ValueError(f"supports[{s}] fixes {sup.direction} at {list(sup.node)} again (first at supports[{fixed[dof]}])")
            fixed[dof] = s
        loaded: dict[int, int] = {}
        for k, load in enumerate(self.loads):
            self._check_node(f"loads[{k}].node", load.node)
            dof = dof_index(self.nely, load.node, load.direction)
            if dof in loaded:
                raise ValueError(f"loads[{k}] loads {load.direction} at {list(load.node)} again (first at loads[{loaded[dof]}]); give one value per component")
            if dof in fixed:
                raise ValueError(f"loads[{k}] acts on {load.direction} at {list(load.node)}, which supports[{fixed[dof]}] fixes")
            loaded[dof] = k
        if all(load.value == 0 for load in self.loads):
            raise ValueError("loads: every load value is 0; give at least one non-zero load")
        if not self._prevents_rigid_motion():
            raise ValueError(
                "supports do not prevent rigid motion (a translation or a rotation of the whole domain); "
                "fix at least one x, one y and a third component that stops the rotation"
            )
        return self

    def _check_node(self, where: str, node: Node) -> None:
        i, j = node
        if i > self.nelx or j > self.nely:
            raise ValueError(f"{where} = {list(node)} is outside the grid: i in 0..{self.nelx}, j in 0..{self.nely}")

    def _prevents_rigid_motion(self) -> bool:
        """Whether the fixed components stop both translations and the rotation (rank 3 of the rigid modes)."""
        xs = [sup.node for sup in self.supports if sup.direction == "x"]
        ys = [sup.node for sup in self.supports if sup.direction == "y"]
        if not xs or not ys:
            return False
        # A rotation about a point is stopped unless every x support lies on one horizontal line (same j) and
        # every y support on one vertical line (same i): then the rotation about their crossing moves none.
        return len({j for _, j in xs}) > 1 or len({i for i, _ in ys}) > 1

    @property
    def num_elements(self) -> int:
        return self.nelx * self.nely

    @property
    def num_dofs(self) -> int:
        return 2 * (self.nelx + 1) * (self.nely + 1)


Density = Annotated[float, Field(allow_inf_nan=True)]
"""Any float on the wire, NaN and infinities included: `check_design` reports the ones out of [0, 1]."""


class DesignAnswer(WireModel):
    """A miner's answer to a `DesignTask`: the element densities as `nely` rows of `nelx` floats (row 0 on top)."""

    schema_version: Literal[1] = DESIGN_SCHEMA_VERSION
    densities: tuple[tuple[Density, ...], ...] = Field(min_length=1, max_length=MAX_SIDE)

    @model_validator(mode="after")
    def _bounded(self) -> DesignAnswer:
        for r, row in enumerate(self.densities):
            if len(row) > MAX_SIDE:
                raise ValueError(f"densities[{r}] has {len(row)} entries, more than the limit of {MAX_SIDE}")
        return self


def mbb_beam(
    nelx: int = 60,
    nely: int = 20,
    volfrac: float = 0.5,
    penal: float = 3.0,
    rmin: float = 2.4,
    filter: FilterKind = "sensitivity",
    task_id: str = "mbb",
    deadline_ms: int = DEFAULT_DEADLINE_MS,
) -> DesignTask:
    """The half MBB beam of the 88-line code: -1 in y at the top-left node, left edge x-fixed, bottom-right y-fixed."""
    return DesignTask(
        task_id=task_id,
        nelx=nelx,
        nely=nely,
        volfrac=volfrac,
        penal=penal,
        rmin=rmin,
        filter=filter,
        loads=(PointLoad(node=(0, 0), direction="y", value=-1.0),),
        supports=(
            *(Support(node=(0, j), direction="x") for j in range(nely + 1)),
            Support(node=(nelx, nely), direction="y"),
        ),
        deadline_ms=deadline_ms,
    )


def parse_task(data: str | bytes | Mapping[str, Any]) -> DesignTask:
    """Validate a design task from JSON text or a mapping; raises `DesignSchemaError` naming the fields."""
    return parse_wire(DesignTask, "design task", data, DesignSchemaError)


def parse_answer(data: str | bytes | Mapping[str, Any]) -> DesignAnswer:
    """Validate a design answer from JSON text or a mapping; raises `DesignSchemaError` naming the fields."""
    return parse_wire(DesignAnswer, "design answer", data, DesignSchemaError)


__all__ = [
    "DEFAULT_DEADLINE_MS",
    "DESIGN_SCHEMA_VERSION",
    "MAX_ELEMENTS",
    "MAX_SIDE",
    "DesignAnswer",
    "DesignSchemaError",
    "DesignTask",
    "PointLoad",
    "Support",
    "dof_index",
    "mbb_beam",
    "parse_answer",
    "parse_task",
]
