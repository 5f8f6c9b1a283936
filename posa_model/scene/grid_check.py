"""How well a scene grid shows its meshes: signs against the winding number, parts it loses.

:func:`check_grid` compares a :class:`~.grid.SceneGrid` built by
:func:`~.mesh_sdf.build_scene_grid` with the objects it was built from (SMPL-X world, +y up,
metres), using libigl's fast generalised winding number of the objects' own triangles as the
reference (no sheets extruded, no shells turned: the meshes as the artist made them):

* **Nodes.** At every node the reference is *decisive* when its winding number is below 0.25
  (outside) or above 0.75 (inside); near holes and lone sheets it is neither and the node is not
  compared. Of the decisive nodes off the surface (``|sdf| > 1e-6``), ``missed`` are inside by
  the reference and outside in the grid, ``grown`` outside by the reference, inside in the grid
  and within one spacing of a surface (what thin-part recovery and sheet extrusion do on
  purpose), ``wrong`` the rest of those outside by the reference and inside in the grid.
* **Inside the parts.** Points drawn uniformly in each object's box (seeded, so repeatable) that
  its own triangles' winding number puts inside (> 0.75), at least ``min_depth`` (3 mm) below
  its surface, are looked up in the grid (trilinear):
  ``seen`` is the share that reads <= 0. A part whose inside no node sees (a 2 cm chair back at
  5 cm without thin-part recovery) has ``seen`` near 0; ``lost_box`` is the box around the inside
  points that read more than ``lost_tolerance`` (default 1 cm) outside, to say where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .grid import SceneGrid
from .objects import MeshObject

__all__ = ["GridCheck", "PartCheck", "check_grid"]


@dataclass
class PartCheck:
    """One object: ``samples`` inside points drawn, ``seen`` (0..1) the share reading <= 0 in
    the grid, ``worst`` the largest grid value (metres) at an inside point, ``lost_box`` (2, 3)
    the box of inside points reading more than the tolerance outside (None when none do)."""

    name: str
    samples: int
    seen: float
    worst: float
    lost_box: np.ndarray | None = None


@dataclass
class GridCheck:
    """Counts of decisive nodes (module docstring) and per-object :class:`PartCheck` s."""

    decisive: int
    agree: int
    missed: int
    grown: int
    wrong: int
    ambiguous: int
    parts: list[PartCheck] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        """Share of decisive off-surface nodes whose grid sign is the reference's."""
        return self.agree / max(self.decisive, 1)

    def summary(self) -> str:
        """A few readable lines: node signs, then every object's inside coverage."""
        lines = [f"nodes: {self.agreement:.2%} of {self.decisive:,} agree; {self.missed} missed "
                 f"(inside, read outside), {self.grown} grown within a spacing, {self.wrong} "
                 f"wrongly solid; {self.ambiguous:,} near holes not compared"]
        for part in self.parts:
            where = ("" if part.lost_box is None else
                     f"; lost inside {np.round(part.lost_box, 3).tolist()}")
            lines.append(f"  {part.name}: {part.seen:.1%} of {part.samples} inside points read "
                         f"solid, worst {part.worst * 100:+.1f} cm{where}")
        return "\n".join(lines)


def check_grid(grid: SceneGrid, objects: Sequence[MeshObject], samples: int = 4000,
               seed: int = 0, lost_tolerance: float = 0.01,
               min_depth: float = 0.003) -> GridCheck:
    """Compare ``grid`` with the winding number of ``objects`` (module docstring).

    Args:
        grid: the objects' grid (same frame).
        objects: the :class:`MeshObject` s it was built from.
        samples: points drawn in each object's box (the inside ones are kept).
        seed: seed of the points.
        lost_tolerance: metres an inside point may read outside before it counts as lost.
        min_depth: inside points closer than this (metres) to their object's surface are not
            drawn (there any interpolated grid reads about 0 either way).
    """
    import igl

    vertices = np.concatenate([o.vertices for o in objects])
    offsets = np.cumsum([0] + [len(o.vertices) for o in objects])
    faces = np.concatenate([o.faces + offsets[i] for i, o in enumerate(objects)])
    nodes = np.stack(np.meshgrid(*grid.node_coords(), indexing="ij"), axis=-1).reshape(-1, 3)
    winding = igl.fast_winding_number(vertices, faces, nodes)
    sdf = grid.sdf.reshape(-1)
    off = np.abs(sdf) > 1e-6
    ref_in, ref_out = winding > 0.75, winding < 0.25
    decisive = off & (ref_in | ref_out)
    grid_in = sdf < 0
    spacing = float(grid.spacing.max())
    extra = decisive & ref_out & grid_in
    grown = extra & (-sdf <= spacing * (1 + 1e-6))
    result = GridCheck(
        decisive=int(decisive.sum()), agree=int((decisive & (grid_in == ref_in)).sum()),
        missed=int((decisive & ref_in & ~grid_in).sum()), grown=int(grown.sum()),
        wrong=int((extra & ~grown).sum()), ambiguous=int((off & ~ref_in & ~ref_out).sum()))
    rng = np.random.default_rng(seed)
    for obj in objects:
        result.parts.append(_check_part(grid, obj, rng, samples, lost_tolerance, min_depth))
    return result


def _check_part(grid: SceneGrid, obj: MeshObject, rng: np.random.Generator, samples: int,
                tolerance: float, min_depth: float) -> PartCheck:
    import igl

    lo, hi = obj.bounds()
    points = rng.uniform(lo, hi, size=(samples, 3))
    inside = points[igl.fast_winding_number(obj.vertices, obj.faces, points) > 0.75]
    depth = np.sqrt(igl.point_mesh_squared_distance(inside, obj.vertices, obj.faces)[0])
    inside = inside[depth >= min_depth]
    if len(inside) == 0:
        return PartCheck(obj.name, 0, 1.0, 0.0)
    values = grid.lookup(inside)
    lost = inside[values > tolerance]
    box = np.stack([lost.min(axis=0), lost.max(axis=0)]) if len(lost) else None
    return PartCheck(obj.name, len(inside), float((values <= 0).mean()), float(values.max()),
                     box)
