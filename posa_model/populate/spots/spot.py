"""The :class:`Spot` record (one place for one person) and the classes that support people.

Frame: SMPL-X world (+y up, metres). Directions are unit (3,) vectors with y = 0.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np

from ...classes import CLASS_ID, MPCAT40_NAMES

SpotKind = str  # "seat" | "bed" | "wall" | "floor"
#: Classes people sit on; interchangeable for sitting (the semantic term ranks, never forbids).
SEAT_CLASSES = frozenset(CLASS_ID[n] for n in (
    "chair", "sofa", "stool", "seating", "toilet", "cushion", "bed"))
#: Classes whose surfaces are offered as seats (a bed is offered to lie on).
OFFERED_SEAT_CLASSES = SEAT_CLASSES - {CLASS_ID["bed"]}
#: Classes people lie on.
LIE_CLASSES = frozenset(CLASS_ID[n] for n in ("bed", "sofa", "seating", "cushion"))
#: Classes a sitter's hands rest on: the seat "at a table".
TABLE_CLASSES = frozenset(CLASS_ID[n] for n in ("table", "counter", "chest_of_drawers",
                                                 "cabinet"))


@dataclass(eq=False)
class Spot:
    """One place for one person (see :mod:`posa_model.populate.spots`).

    kind: "seat", "bed", "wall" or "floor". position (3,): where the person goes: seat: the
    point of the seat surface under the buttocks (y = the surface); bed: the middle of the
    lane on the mattress (y = its surface); wall and floor: a point on the floor.
    facing (3,): seat and wall: the direction the person looks; bed: from the feet to the head.
    class_id: the supporting surface's class; object: the supporting object's name ("" when
    unknown); height: the surface above the floor (m); floor: the floor's height (y) there.
    extent (2,): the region's size (m) across and along ``facing``. back: seat: the horizontal
    distance (m) from ``position`` back to the backrest's front, None without one; bed: the
    distance from ``position`` to the head end. table: seat: (top height y, distance (m) from
    ``position`` to the table's near edge along ``facing``) or None. region: the index of the
    seat/bed region (spots of one sofa share it); slot: the spot's place in its region, counted
    along ``facing`` x up (bed lanes) or the seat's width; lanes: how many spots share the
    region. front: seat: the distance (m) from ``position`` to the seat's front edge along
    ``facing``.
    """

    kind: SpotKind
    position: np.ndarray
    facing: np.ndarray
    class_id: int
    object: str = ""
    height: float = 0.0
    floor: float = 0.0
    extent: np.ndarray = field(default_factory=lambda: np.zeros(2))
    back: float | None = None
    table: tuple[float, float] | None = None
    region: int = -1
    slot: int = 0
    front: float = 0.0
    lanes: int = 1
    inward: np.ndarray = field(default_factory=lambda: np.zeros(3))
    parents: tuple[str, ...] = ()

    def matches(self, pattern: str) -> bool:
        """Whether the spot's object, or one above it in the file's hierarchy, matches the glob
        ``pattern`` (case-insensitive)."""
        p = pattern.lower()
        return any(fnmatch.fnmatchcase(n.lower(), p) for n in (self.object, *self.parents) if n)

    @property
    def yaw(self) -> float:
        """Heading (rad) of :attr:`facing` about +y, from +z (a rest body faces +z)."""
        return float(np.arctan2(self.facing[0], self.facing[2]))

    @property
    def class_name(self) -> str:
        return MPCAT40_NAMES[self.class_id]

    def describe(self) -> str:
        what = f"{self.kind} on {self.object or self.class_name}"
        if self.kind in ("seat", "bed"):
            what += f" ({self.height:.2f} m high"
            what += ", at a table)" if self.table else ")"
        return what
