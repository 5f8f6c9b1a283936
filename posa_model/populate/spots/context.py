"""What every kind of spot finding shares about one scene: its grids, objects and furniture
pieces, the floor, the up-facing surfaces with their owners, and exact heights read from the
objects' meshes.

Frame: SMPL-X world (+y up, metres).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...classes import CLASS_ID
from ...placement.floor import FloorMap
from ...scene.grid import SceneGrid
from ...scene.objects import piece_members, pieces, surface_heights
from .spot import LIE_CLASSES, SEAT_CLASSES
from .surfaces import _owners, _surfaces

#: Exact surface heights: the half-size (m) of the patch measured under a sitter's buttocks,
#: and how far (m) from the grids' estimate a face may be to count.
EXACT_PATCH = 0.08
EXACT_WINDOW = 0.06


class SpotContext:
    """One scene as spot finding sees it (see :func:`~posa_model.populate.spots.find_spots`).

    grid: the scene's grids; objects: its :class:`~posa_model.scene.MeshObject` s (may be
    empty); pieces: the objects grouped into pieces of furniture; floor: the floor's height
    map; surf: every up-facing surface point, with the owner object of those of a seat or lie
    class; above_floor: (S,) each surface point's height above the floor (m).
    """

    def __init__(self, grid: SceneGrid, objects: Sequence):
        self.grid, self.objects = grid, list(objects)
        self.pieces = pieces(self.objects)
        self.floor = FloorMap(grid)
        self.surf = _surfaces(grid)
        named = np.isin(self.surf.classes, sorted(SEAT_CLASSES | LIE_CLASSES))
        self.surf.owner[named] = _owners(self.surf.points[named], self.objects)
        self.above_floor = self.surf.points[:, 1] - self.floor.height_np(self.surf.points)

    def name(self, owner: int) -> str:
        """The name of object ``owner`` ("" when unknown)."""
        return self.objects[owner].name if 0 <= owner < len(self.objects) else ""

    def exact_height(self, owner: int, xz: np.ndarray, estimate: float,
                     radius: float = EXACT_PATCH) -> float:
        """The surface height (y) under a person at ``xz`` on the object ``owner``: the median
        of the exact heights of its piece's faces over a patch of ``radius`` around ``xz``
        (within :data:`EXACT_WINDOW` of the grids' ``estimate``, which it refines); the
        estimate when the object is unknown or most of the patch has no face under it."""
        if not 0 <= owner < len(self.objects):
            return estimate
        members = piece_members(self.objects, self.objects[owner].name, self.pieces)
        offsets = np.linspace(-radius, radius, 5)
        patch = np.asarray(xz, np.float64) + np.stack(np.meshgrid(offsets, offsets), -1
                                                      ).reshape(-1, 2)
        heights = surface_heights(members, patch, below=estimate + EXACT_WINDOW)
        heights = heights[np.abs(heights - estimate) <= EXACT_WINDOW]
        return float(np.median(heights)) if len(heights) >= len(patch) // 2 else estimate

    def exact_floor(self, xz: np.ndarray, estimate: float) -> float:
        """The floor's height (y) at ``xz``: exact on the scene's floor objects, else (or when
        none is under it within :data:`EXACT_WINDOW`) the grids' ``estimate``."""
        floors = [o for o in self.objects if o.class_id == CLASS_ID["floor"]]
        if not floors:
            return estimate
        y = surface_heights(floors, np.asarray(xz, np.float64)[None], below=estimate
                            + EXACT_WINDOW)[0]
        return float(y) if np.isfinite(y) and abs(y - estimate) <= EXACT_WINDOW else estimate
