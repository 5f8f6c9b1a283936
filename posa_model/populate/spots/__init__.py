"""What a room offers people: seats, beds, wall stretches and free floor, found in its geometry.

A :class:`Spot` is one place for one person: where (a point on the supporting surface), which
way they face, what supports them (class, object) and the geometry the pose must adapt to (seat
height above the floor, a backrest behind, a table in front, the bed's head end). They are found
in the scene's grids (:class:`~posa_model.scene.SceneGrid`: what is solid, what class), so they
agree with what placement will see, and named after the scene's objects when the objects are
given (the nearest object's name).

One module per purpose, each with its rules:

* :mod:`.spot`: the :class:`Spot` record and the classes that seat, bed and table people.
* :mod:`.surfaces`: the up-facing surfaces of the grids, their owner objects, connected regions
  and their axes, and which regions are places to sit or lie.
* :mod:`.context`: what every kind of finding shares about one scene (:class:`SpotContext`).
* :mod:`.seats`: **seats**, with their backrest, table and front edge.
* :mod:`.beds`: **beds** (and long sofas) and their lanes.
* :mod:`.walls`: **walls** to lean on and free **floor**, inside the room.

Frame: SMPL-X world (+y up, metres). Directions are unit (3,) vectors with y = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...scene.grid import SceneGrid
from .beds import LANE_WIDTH, LIE_LENGTH, LIE_MIN_SIDE, LIE_MIN_SPAN, bed_spots
from .context import EXACT_PATCH, EXACT_WINDOW, SpotContext
from .seats import (
    BENCH_WIDTH,
    MIN_ROOM_ABOVE,
    SEAT_CENTRE_TO_BACK,
    SEAT_HEIGHTS,
    SEAT_WIDTH,
    TABLE_REACH,
    seat_spots,
)
from .spot import (
    LIE_CLASSES,
    OFFERED_SEAT_CLASSES,
    SEAT_CLASSES,
    TABLE_CLASSES,
    Spot,
    SpotKind,
)
from .surfaces import MIN_AREA, MIN_SIDE, NEIGHBOUR_GAP, STEP
from .walls import FLOOR_CLEARANCE, HIP, LEAN_CLEARANCE, SPACING, floor_spots, wall_spots

__all__ = [  # the rules' constants too, importable from here as before the split
    "BENCH_WIDTH", "EXACT_PATCH", "EXACT_WINDOW", "FLOOR_CLEARANCE", "HIP", "LANE_WIDTH",
    "LEAN_CLEARANCE", "LIE_CLASSES", "LIE_LENGTH", "LIE_MIN_SIDE", "LIE_MIN_SPAN", "MIN_AREA",
    "MIN_ROOM_ABOVE", "MIN_SIDE", "NEIGHBOUR_GAP", "OFFERED_SEAT_CLASSES", "SEAT_CENTRE_TO_BACK",
    "SEAT_CLASSES", "SEAT_HEIGHTS", "SEAT_WIDTH", "SPACING", "STEP", "TABLE_CLASSES",
    "TABLE_REACH", "Spot", "SpotKind", "describe_spots", "find_spots"]


def find_spots(grid: SceneGrid, objects: Sequence = (), kinds: Sequence[str] = (
        "seat", "bed", "wall", "floor"), on: Sequence[str] = ()) -> list[Spot]:
    """Every spot of the given ``kinds`` in the scene (the rules: :mod:`.seats`, :mod:`.beds`,
    :mod:`.walls`).

    Args:
        grid: the scene's grids (SMPL-X world, +y up, metres).
        objects: the scene's :class:`~posa_model.scene.MeshObject` s, to name each spot's
            object; may be empty (spots are then named by class).
        kinds: which kinds of spot to look for.
        on: object name patterns (``fnmatch``, case-insensitive, e.g. ``"Chair.*"``): only
            seat and bed spots on matching objects are returned (wall and floor spots are
            dropped); empty = every spot.

    Returns the spots ordered by kind, then region and slot (deterministic).
    """
    ctx = SpotContext(grid, objects)
    out: list[Spot] = []
    for kind in kinds:
        out += {"seat": seat_spots, "bed": bed_spots, "wall": wall_spots,
                "floor": floor_spots}[kind](ctx)
    parents = {o.name: tuple(getattr(o, "parents", ())) for o in objects}
    for spot in out:
        spot.parents = parents.get(spot.object, ())
    if on:
        patterns = [p.strip().lower() for p in on if p.strip()]
        out = [s for s in out if any(s.matches(p) for p in patterns)]
    return out


def describe_spots(spots: Sequence[Spot]) -> str:
    """A short summary: '4 seats (Chair.001, ...), 2 beds, 6 wall, 20 floor'."""
    parts = []
    for kind, label in (("seat", "seats"), ("bed", "bed places"), ("wall", "wall places"),
                        ("floor", "floor places")):
        mine = [s for s in spots if s.kind == kind]
        if not mine:
            continue
        names = sorted({s.object for s in mine if s.object})
        shown = f" ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})" if names else ""
        parts.append(f"{len(mine)} {label}{shown}")
    return ", ".join(parts) or "none"
