"""A procedural scene: boxes with classes, the objects they make up, and distance queries.

Frame: SMPL-X world (+y up, metres). The floor's top is the plane y = 0 and the room's inside is
``x in [0, width]``, ``z in [0, depth]``. Distances are analytic (:mod:`.primitives`); the same
boxes export as a triangle mesh (:mod:`.export`), so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..classes import MPCAT40_NAMES
from ..errors import InputShapeError
from .primitives import Boxes, aabb_distance, box_signed_distance

__all__ = ["Scene", "SceneObject", "SceneDistance", "Spot"]


@dataclass(frozen=True)
class SceneObject:
    """One named object (``chair.0``, ``wall.2``): its class and the rows of its boxes."""

    name: str
    kind: str
    class_id: int
    parts: tuple[int, ...]


@dataclass(frozen=True)
class Spot:
    """A place where an archetype can happen, in world coordinates.

    ``kind`` names the interaction (``"seat"``, ``"lie"``, ``"reach"``, ``"wall"``, ``"floor"``).
    ``position`` (3,): a point on the surface (seat centre on the seat top, middle of a table
    edge, a point on a wall's face, a floor point). ``yaw``: the direction a body there faces
    (radians about +y; a body with this yaw faces ``(sin, 0, cos)``). ``height``: the surface
    height (seat/top/mattress, 0 for the floor). ``object``: index into ``Scene.objects``.
    ``mode`` refines the kind (seat: ``back`` = slide back against a backrest, ``rear`` = the
    same then 1-5 cm forward (toilets), ``edge`` = sit at the front edge with the calves near
    the front face, ``centre`` = sit over the spot; lie: ``front`` = keep close to the backrest,
    overhang the front). ``extent``
    (2,): half size of the usable area across and along the facing direction. ``target``: the
    table a chair faces (its object index), else -1.
    """

    kind: str
    position: np.ndarray
    yaw: float
    height: float
    object: int
    mode: str = ""
    extent: tuple[float, float] = (0.0, 0.0)
    target: int = -1  # a second object the body uses (the table in front of a chair), or -1

    @property
    def forward(self) -> np.ndarray:
        return np.array([np.sin(self.yaw), 0.0, np.cos(self.yaw)])


@dataclass
class SceneDistance:
    """Per point: ``signed`` (N,) distance to the scene (negative inside), ``part`` (N,) index
    of the nearest box, ``class_id`` (N,) its MPCAT40 class."""

    signed: np.ndarray
    part: np.ndarray
    class_id: np.ndarray


@dataclass
class Scene:
    """A room: ``name`` (no ``_``: recording names are ``<scene>_<archetype>_<k>``),
    ``room_type``, ``size`` (width x, height y, depth z), the boxes, the objects, the spots and
    each box's role within its object (``seat``, ``back``, ``leg``, ``mattress``...; optional)."""

    name: str
    room_type: str
    size: tuple[float, float, float]
    boxes: Boxes
    objects: list[SceneObject]
    spots: list[Spot] = field(default_factory=list)
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if "_" in self.name or not self.name:
            raise InputShapeError(f"scene name must be non-empty without '_', found {self.name!r}")
        if not self.roles:
            self.roles = ("",) * len(self.boxes)
        if len(self.roles) != len(self.boxes):
            raise InputShapeError(f"roles: expected {len(self.boxes)}, found {len(self.roles)}")
        self.role_array = np.asarray(self.roles, dtype=str)
        self._lo, self._hi = self.boxes.aabbs()

    @property
    def part_lo(self) -> np.ndarray:
        """(P, 3) lower corners of the boxes' world bounds."""
        return self._lo

    @property
    def part_hi(self) -> np.ndarray:
        return self._hi

    # ----------------------------------------------------------------------------------------
    def object_index(self, name: str) -> int:
        for i, obj in enumerate(self.objects):
            if obj.name == name:
                return i
        raise KeyError(name)

    def objects_of_kind(self, kind: str) -> list[int]:
        return [i for i, obj in enumerate(self.objects) if obj.kind == kind]

    def object_boxes(self, indices) -> Boxes:
        """The boxes of the objects ``indices`` (an int or a list)."""
        if isinstance(indices, (int, np.integer)):
            indices = [int(indices)]
        rows = [p for i in indices for p in self.objects[i].parts]
        return self.boxes.subset(np.asarray(rows, dtype=np.int64))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """World AABB (lo (3,), hi (3,)) of every box."""
        return self._lo.min(axis=0), self._hi.max(axis=0)

    def object_names(self) -> dict[str, dict]:
        """{object name: {"class_id", "class", "kind", "parts"}} for ``<scene>_objects.json``."""
        return {
            obj.name: {"class_id": obj.class_id, "class": MPCAT40_NAMES[obj.class_id],
                       "kind": obj.kind, "parts": len(obj.parts)}
            for obj in self.objects
        }

    # ----------------------------------------------------------------------------------------
    def candidate_parts(self, points: np.ndarray, seed: int = 8) -> np.ndarray:
        """Indices of the boxes that can be nearest to some of ``points`` (exact culling).

        Boxes are ranked by the gap between their bounds and the points' bounds; the ``seed``
        closest are evaluated, giving an upper bound ``U`` on every point's distance; every box
        whose gap is below ``U`` is kept (a box with a larger gap can never be the nearest).
        """
        lo, hi = points.min(axis=0), points.max(axis=0)
        gap = aabb_distance(lo[None], hi[None], self._lo, self._hi)
        order = np.argsort(gap, kind="stable")
        first = order[: min(seed, len(order))]
        upper = box_signed_distance(points, self.boxes.subset(first)).min(axis=1).max()
        keep = np.flatnonzero(gap <= upper)
        return np.union1d(keep, first)

    def distance(self, points: np.ndarray, parts: np.ndarray | None = None) -> SceneDistance:
        """Signed distance, nearest box and class for (N, 3) points (exact; culled internally).

        ``parts`` restricts the query to those boxes (then the distance is to their union).
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise InputShapeError(f"points: expected shape (N, 3), found {points.shape}")
        if parts is None:
            parts = self.candidate_parts(points)
        parts = np.asarray(parts, dtype=np.int64)
        sd = box_signed_distance(points, self.boxes.subset(parts))
        best = sd.argmin(axis=1)
        part = parts[best]
        return SceneDistance(sd[np.arange(len(points)), best], part, self.boxes.class_ids[part])

    def brute_force_distance(self, points: np.ndarray) -> SceneDistance:
        """:meth:`distance` against every box, no culling (the plain reference)."""
        return self.distance(points, parts=np.arange(len(self.boxes)))
