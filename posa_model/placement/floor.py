"""The floor's height under every point of a scene: a height field from the scene grid.

People stand, kneel and put their feet on the floor. A foot above a chair's stretcher is nearer
to the chair than to the floor, so the scene's SDF cannot say how far the floor is; this height
field can: per xz column of the grid, the height of the highest up-facing surface of class
``floor`` (the zero crossing of the SDF from inside to outside, linearly interpolated), and
under furniture (no floor surface in the column) the height of the nearest floor column.
Bilinear lookup (torch, differentiable in x and z) gives ``height(x, z)``; the distance of a
point above the floor is ``y - height(x, z)``.

Frame: SMPL-X world (+y up, metres).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ..classes import CLASS_ID
from ..errors import PosaError
from ..scene.grid import SceneGrid

__all__ = ["FloorMap", "up_surfaces"]

_SLOPE = 0.98
_LEVEL = 0.1


def up_surfaces(grid: SceneGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every up-facing surface in every xz column of the grid's nodes: (i (S,), k (S,) the
    column's node indices, height (S,) metres, class (S,) int64).

    Going up a column, a surface lies below the first node whose SDF exceeds the level ``L``
    (half a node spacing) after one that does not. Its height is read from that node alone:
    the node's height minus its SDF. Above an up-facing surface the SDF is the exact distance
    straight down to it, so this is exact for any object however thin, and whatever the grid
    holds inside the object (a 2 cm seat with no node inside it, a slab whose faces fall on the
    nodes, parts marked solid to be seen). It counts only where the nearest surface is the one
    below, not the side of something beside it (a chair leg standing on the floor): the node
    above reads one spacing more (to :data:`_SLOPE`), or the neighbours beside it read the same
    (to :data:`_LEVEL` of a spacing; the node above may measure to a table top over a seat).
    The class is the semantic grid's at the node below the crossing (the nearest object's).
    """
    level = 0.5 * float(grid.spacing[1])
    step = float(grid.spacing[1])
    sdf = grid.sdf
    low = sdf <= level
    i, j, k = np.nonzero(low[:, :-2, :] & ~low[:, 1:-1, :])
    first = sdf[i, j + 1, k].astype(np.float64)
    second = sdf[i, j + 2, k].astype(np.float64)
    rising = second - first >= _SLOPE * step
    # or level around: the SDF hardly changes sideways (the node two above may already measure
    # to a table top over the seat)
    padded = np.pad(sdf, ((1, 1), (0, 0), (1, 1)), mode="edge")
    sideways = np.max(np.abs(np.stack([padded[i, j + 1, k + 1], padded[i + 2, j + 1, k + 1],
                                       padded[i + 1, j + 1, k], padded[i + 1, j + 1, k + 2]])
                             - first), axis=0)
    straight = (rising | (sideways <= _LEVEL * step)) & (first <= level + step + 1e-6)
    i, j, k, first = i[straight], j[straight], k[straight], first[straight]
    height = grid.node_coords()[1][j + 1] - first
    return i, k, height, grid.semantics[i, j, k].astype(np.int64)


class FloorMap:
    """Floor heights on the grid's xz nodes: ``heights`` (nx, nz) float64 metres, ``found``
    (nx, nz) bool (a floor surface in that column, not filled in from a neighbour)."""

    def __init__(self, grid: SceneGrid):
        i, k, height, cls = up_surfaces(grid)
        on = cls == CLASS_ID["floor"]
        if not on.any():
            raise PosaError("the scene has no floor (no up-facing surface of class 'floor', "
                            "id 2): nothing to stand on. Name the floor object 'Floor', give it "
                            "the class in a --classes JSON or the file's extras, or set its "
                            "POSA Class in Blender")
        top = np.full((grid.shape[0], grid.shape[2]), -np.inf)
        np.maximum.at(top, (i[on], k[on]), height[on])  # the highest floor of each column
        found = np.isfinite(top)
        _, nearest = ndimage.distance_transform_edt(~found, return_indices=True)
        self.heights = top[nearest[0], nearest[1]]
        self.found = found
        self.x0, self.z0 = float(grid.grid_min[0]), float(grid.grid_min[2])
        self.dx, self.dz = float(grid.spacing[0]), float(grid.spacing[2])
        self._torch: dict = {}

    def height(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) points -> (...) floor height (m) under them, bilinear in x and z (clamped
        at the grid's border), differentiable; the points' dtype and device."""
        key = (points.device, points.dtype)
        if key not in self._torch:
            self._torch[key] = torch.as_tensor(self.heights, device=points.device,
                                               dtype=points.dtype)
        table = self._torch[key]
        nx, nz = table.shape
        u = ((points[..., 0] - self.x0) / self.dx).clamp(0, nx - 1)
        w = ((points[..., 2] - self.z0) / self.dz).clamp(0, nz - 1)
        i0 = u.detach().floor().long().clamp(max=nx - 2)
        k0 = w.detach().floor().long().clamp(max=nz - 2)
        fu, fw = u - i0, w - k0
        h00, h10 = table[i0, k0], table[i0 + 1, k0]
        h01, h11 = table[i0, k0 + 1], table[i0 + 1, k0 + 1]
        return (h00 * (1 - fu) * (1 - fw) + h10 * fu * (1 - fw) + h01 * (1 - fu) * fw
                + h11 * fu * fw)

    def height_np(self, points: np.ndarray) -> np.ndarray:
        """:meth:`height` for numpy (..., 3) points; float64."""
        return self.height(torch.as_tensor(np.asarray(points, np.float64))).numpy()

    def above(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) points -> (...) height above the floor under them (m; negative below)."""
        return points[..., 1] - self.height(points)
