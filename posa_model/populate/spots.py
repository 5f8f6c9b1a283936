"""What a room offers people: seats, beds, wall stretches and free floor, found in its geometry.

A :class:`Spot` is one place for one person: where (a point on the supporting surface), which
way they face, what supports them (class, object) and the geometry the pose must adapt to (seat
height above the floor, a backrest behind, a table in front, the bed's head end). They are found
in the scene's grids (:class:`~posa_model.scene.SceneGrid`: what is solid, what class), so they
agree with what placement will see, and named after the scene's objects when the objects are
given (the nearest object's name).

* **Seats**: up-facing surfaces of a seat class (:data:`SEAT_CLASSES`) between
  :data:`SEAT_HEIGHTS` above the floor, with room for a torso above (free 0.25-0.55 m over
  them), grouped into connected regions of one object. A region's *backrest* is the side along
  which matter rises 0.15-0.55 m above the seat within 0.18 m behind its edge; the sitter faces
  away from it. A region without one faces the nearest table or counter top within
  :data:`TABLE_REACH`, else the side with the most free floor. A region holds
  ``floor(width / SEAT_WIDTH)`` people side by side (a three-seat sofa 3, a chair 1).
* **Beds** (and long sofas, to lie on): regions of the bed class (sofa, seating) at least
  :data:`LIE_LENGTH` long; the head end is the end with the higher matter (headboard, pillows);
  ``floor(width / LANE_WIDTH)`` lanes side by side (a double bed 2).
* **Walls**: points at :data:`LEAN_CLEARANCE` in front of a wall at hip height, with free floor
  below and free space up to 1.9 m, at least :data:`SPACING` apart; facing away from the wall.
* **Floor**: floor surface points with nothing within :data:`FLOOR_CLEARANCE` from ankle to head
  height, at least :data:`SPACING` apart.

Frame: SMPL-X world (+y up, metres). Directions are unit (3,) vectors with y = 0.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..classes import CLASS_ID, MPCAT40_NAMES
from ..placement.floor import FloorMap, up_surfaces
from ..scene.grid import SceneGrid
from ..scene.objects import piece_members, pieces, surface_heights

__all__ = ["LIE_CLASSES", "SEAT_CLASSES", "TABLE_CLASSES", "Spot", "SpotKind", "describe_spots",
           "find_spots"]

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
#: Exact surface heights: the half-size (m) of the patch measured under a sitter's buttocks,
#: and how far (m) from the grids' estimate a face may be to count.
EXACT_PATCH = 0.08
EXACT_WINDOW = 0.06
#: Seat surface height above the floor (m): from a low pouffe to a bar stool.
SEAT_HEIGHTS = (0.28, 0.95)
SEAT_WIDTH = 0.55  # m of seat width per person
BENCH_WIDTH = 0.37  # m per person on a bench (people sit closer on one: a 0.75 m bench seats 2)
SEAT_CENTRE_TO_BACK = 0.15  # m from a backrest to where the buttocks rest
LANE_WIDTH = 0.75  # m of bed width per lying person
LIE_LENGTH = 1.45  # m: the shortest surface a person lies on (legs may hang over a sofa's arm)
#: The free top of a bed or sofa (between pillows, headboard and arms) spans at least this (m).
LIE_MIN_SIDE, LIE_MIN_SPAN = 0.45, 1.0
TABLE_REACH = 0.8  # m from a seat's centre to a table edge for "at a table"
LEAN_CLEARANCE = 0.3  # m: the wall point is this far in front of the wall
FLOOR_CLEARANCE = 0.35  # m of free space around a stander
SPACING = 0.75  # m between wall or floor spots
_MIN_REGION_POINTS = 3
#: Of a seat's surface at least this share has room for a torso above it (a chair pushed
#: under a table still has its back half free; a stool under a counter's overhang has none).
MIN_ROOM_ABOVE = 0.25
#: A seat or bed region is at least this large (m^2, and m across in both directions).
MIN_AREA, MIN_SIDE = 0.05, 0.2
#: Of neighbouring regions (gap <= NEIGHBOUR_GAP) at heights more than STEP apart, only the
#: largest is a place to sit or lie: the others are armrests, backrest tops, headboards, ledges.
NEIGHBOUR_GAP, STEP = 0.3, 0.08


@dataclass(eq=False)
class Spot:
    """One place for one person (see the module docstring).

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


@dataclass
class _Surfaces:
    """Up-facing surface points on a lattice: (S, 3) points, (S,) classes, (S,) lattice (i, k)
    column ids, (S,) owner object index (-1 unknown)."""

    points: np.ndarray
    classes: np.ndarray
    cols: np.ndarray
    owner: np.ndarray


def _surfaces(grid: SceneGrid) -> _Surfaces:
    """Every up-facing surface of every xz column of the grid's nodes (:func:`up_surfaces`)."""
    i, k, y, cls = up_surfaces(grid)
    coords = grid.node_coords()
    points = np.stack([coords[0][i], y, coords[2][k]], axis=1)
    return _Surfaces(points, cls, np.stack([i, k], axis=1), np.full(len(i), -1, np.int64))


def _owners(points: np.ndarray, objects: Sequence) -> np.ndarray:
    """(S,) index of the object nearest to each point (-1 when no objects)."""
    if not len(objects) or not len(points):
        return np.full(len(points), -1, np.int64)
    import igl

    best = np.full(len(points), np.inf)
    owner = np.full(len(points), -1, np.int64)
    for index, obj in enumerate(objects):
        lo, hi = obj.bounds()
        near = np.all((points >= lo - 0.1) & (points <= hi + 0.1), axis=1)
        if not near.any():
            continue
        d2 = igl.point_mesh_squared_distance(points[near], np.asarray(obj.vertices, np.float64),
                                             np.asarray(obj.faces, np.int64))[0]
        rows = np.flatnonzero(near)
        better = d2 < best[rows]
        best[rows[better]] = d2[better]
        owner[rows[better]] = index
    return owner


def _regions(surf: _Surfaces, keep: np.ndarray, grid: SceneGrid,
             max_step: float = 0.06) -> list[np.ndarray]:
    """Connected regions (rows of ``surf``) of the kept points: lattice neighbours (8-connected)
    of one owner (or one class when owners are unknown) within ``max_step`` in height."""
    rows = np.flatnonzero(keep)
    if not len(rows):
        return []
    key = np.where(surf.owner[rows] >= 0, surf.owner[rows], 10_000 + surf.classes[rows])
    lookup: dict[tuple[int, int], list[int]] = {}
    for r in rows:
        lookup.setdefault((int(surf.cols[r, 0]), int(surf.cols[r, 1])), []).append(int(r))
    keyof = dict(zip(rows.tolist(), key.tolist(), strict=True))
    seen: set[int] = set()
    out = []
    for start in rows.tolist():
        if start in seen:
            continue
        seen.add(start)
        stack, members = [start], []
        while stack:
            r = stack.pop()
            members.append(r)
            ci, ck = surf.cols[r]
            for di in (-1, 0, 1):
                for dk in (-1, 0, 1):
                    for q in lookup.get((int(ci + di), int(ck + dk)), ()):
                        if q not in seen and keyof[q] == keyof[start] and abs(
                                surf.points[q, 1] - surf.points[r, 1]) <= max_step:
                            seen.add(q)
                            stack.append(q)
        if len(members) >= _MIN_REGION_POINTS:
            out.append(np.asarray(sorted(members)))
    return out


def _top(heights: np.ndarray) -> float:
    """A surface's height from its points: the 80th percentile, since the points at its edges
    read low (the SDF there measures to the edge, not straight down) and none read high."""
    return float(np.quantile(np.asarray(heights, np.float64), 0.8))


def _axes(xz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre (2,), unit major axis (2,) and minor axis (2,) of (n, 2) points (PCA; the major
    axis points to +x, or +z when it is along z, so that results are deterministic)."""
    centre = xz.mean(axis=0)
    if len(xz) < 2:
        return centre, np.array([1.0, 0.0]), np.array([0.0, 1.0])
    cov = np.cov((xz - centre).T)
    _, vecs = np.linalg.eigh(cov)
    major = vecs[:, 1]
    if major[0] < -1e-9 or (abs(major[0]) <= 1e-9 and major[1] < 0):
        major = -major
    return centre, major, np.array([-major[1], major[0]])


def _vec3(xz: np.ndarray) -> np.ndarray:
    v = np.array([xz[0], 0.0, xz[1]], dtype=np.float64)
    return v / max(np.linalg.norm(v), 1e-12)


def _free(grid: SceneGrid, points: np.ndarray, clearance: float) -> np.ndarray:
    """(n,) whether each point has nothing solid within ``clearance``."""
    return grid.lookup(points) >= clearance


#: Height (m) above the floor at which :func:`_inside` looks for the room's walls.
HIP = 1.0


def _inside(grid: SceneGrid, points: np.ndarray) -> np.ndarray:
    """(n,) whether each point on the floor is inside the room: looking level at hip height
    (:data:`HIP`) along x and along z, something solid is met at least one way on each axis
    before the grid ends (a corner of two walls has an inside too). False outside the walls
    (beyond a door, past the room's shell: only one way meets the room); all True in a scene
    without walls (a floor alone has no inside)."""
    if CLASS_ID["wall"] not in grid.classes_present() or not len(points):
        return np.ones(len(points), bool)
    step = float(grid.spacing.min())
    lo, hi = np.asarray(grid.grid_min, np.float64), np.asarray(grid.grid_max, np.float64)
    reach = int(np.ceil(float(np.max(hi - lo)) / step)) + 1
    hits = {}
    for axis, sign in ((0, 1.0), (0, -1.0), (2, 1.0), (2, -1.0)):
        hit = np.zeros(len(points), bool)
        for n in range(1, reach):  # bounded by the grid's size
            q = np.asarray(points, np.float64) + [0.0, HIP, 0.0]
            q[:, axis] += sign * n * step
            within = (q[:, axis] >= lo[axis]) & (q[:, axis] <= hi[axis])
            if not within.any():
                break
            hit |= within & (grid.lookup(q) <= 0.0)
            if hit.all():
                break
        hits[axis, sign] = hit
    return (hits[0, 1.0] | hits[0, -1.0]) & (hits[2, 1.0] | hits[2, -1.0])


class _Finder:
    """Spot finding over one scene (see :func:`find_spots`)."""

    def __init__(self, grid: SceneGrid, objects: Sequence):
        self.grid, self.objects = grid, list(objects)
        self.pieces = pieces(self.objects)
        self.floor = FloorMap(grid)
        self.surf = _surfaces(grid)
        named = np.isin(self.surf.classes, sorted(SEAT_CLASSES | LIE_CLASSES))
        self.surf.owner[named] = _owners(self.surf.points[named], self.objects)
        self.above_floor = self.surf.points[:, 1] - self.floor.height_np(self.surf.points)

    def name(self, owner: int) -> str:
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

    def region_frame(self, rows: np.ndarray):
        pts = self.surf.points[rows]
        centre, major, minor = _axes(pts[:, [0, 2]])
        rel = pts[:, [0, 2]] - centre
        a, b = rel @ major, rel @ minor
        return pts, centre, major, minor, a, b

    # ---------------------------------------------------------------------------------------

    def seats(self) -> list[Spot]:
        s = self.surf
        height_ok = (self.above_floor >= SEAT_HEIGHTS[0]) & (self.above_floor <= SEAT_HEIGHTS[1])
        keep = np.isin(s.classes, sorted(OFFERED_SEAT_CLASSES)) & height_ok
        spots: list[Spot] = []
        for region, rows in enumerate(self.main_regions(_regions(s, keep, self.grid))):
            room = np.ones(len(rows), bool)  # room for a torso above (not under a table top)
            for dy in (0.3, 0.5):
                room &= _free(self.grid, s.points[rows] + [0.0, dy, 0.0], 0.05)
            if room.mean() >= MIN_ROOM_ABOVE and not self._on_a_bed(rows):
                spots += self._seat_region(region, rows)
        return spots

    def _on_a_bed(self, rows: np.ndarray) -> bool:
        """Whether a region lies on a bed (a pillow, a folded blanket are not seats): under most
        of its points, 10-25 cm down, the nearest object is a bed."""
        points = self.surf.points[rows]
        below = np.concatenate([points - [0.0, dy, 0.0] for dy in (0.1, 0.18, 0.25)])
        on_bed = self.grid.lookup_semantics(below) == CLASS_ID["bed"]
        return bool(on_bed.reshape(3, -1).any(axis=0).mean() >= 0.5)

    def main_regions(self, regions: list[np.ndarray]) -> list[np.ndarray]:
        """The regions large enough to sit or lie on that are the largest of their
        neighbourhood at another height (module constants :data:`MIN_AREA`, :data:`STEP`)."""
        cell = float(self.grid.spacing[0] * self.grid.spacing[2])
        info = []
        for rows in regions:
            pts = self.surf.points[rows]
            _, major, minor = _axes(pts[:, [0, 2]])
            sides = (np.ptp(pts[:, [0, 2]] @ major), np.ptp(pts[:, [0, 2]] @ minor))
            info.append((len(rows) * cell, min(sides) + self.grid.spacing[0],
                         float(np.median(pts[:, 1])), pts[:, [0, 2]]))
        from scipy.spatial import cKDTree

        trees = [cKDTree(xz) for *_, xz in info]
        keep = []
        for r, (area, side, height, xz) in enumerate(info):
            if area < MIN_AREA or side < MIN_SIDE:
                continue
            beaten = False
            for q, (area_q, _, height_q, _) in enumerate(info):
                if q == r or area_q <= area or abs(height_q - height) <= STEP:
                    continue
                if trees[q].query(xz, distance_upper_bound=NEIGHBOUR_GAP)[0].min() < np.inf:
                    beaten = True
                    break
            if not beaten:
                keep.append(regions[r])
        return keep

    def _backrest(self, pts, centre, axis, extent) -> float:
        """How much of the region's edge on the side ``axis`` (2,) points to has a backrest:
        the share of places along the edge where, at two of the heights 0.2, 0.35 and 0.5 m
        above the seat, something solid (not a table: a chair pushed to a table has none on
        that side) stands within 6 cm inside to 14 cm outside the edge. Solid means within half
        a node spacing of a surface, which is what the grid tells of a thin slatted back."""
        seat = float(np.median(pts[:, 1]))
        across = np.array([-axis[1], axis[0]])
        half = extent / 2.0
        widths, depths, heights = np.linspace(-0.6, 0.6, 7), (-0.06, -0.02, 0.02, 0.08, 0.14), \
            (0.2, 0.35, 0.5)
        probes = np.array([[*(centre + axis * (half[0] + d) + across * w * half[1]), seat + dy]
                           for w in widths for dy in heights for d in depths])
        probes = probes[:, [0, 2, 1]]
        solid = self.grid.lookup(probes) <= 0.5 * float(self.grid.spacing.min())
        solid &= ~np.isin(self.grid.lookup_semantics(probes), sorted(TABLE_CLASSES))
        solid = solid.reshape(len(widths), len(heights), len(depths)).any(axis=2)
        return float((solid.sum(axis=1) >= 2).mean())

    def _seat_region(self, region: int, rows: np.ndarray) -> list[Spot]:
        pts, centre, major, minor, a, b = self.region_frame(rows)
        owner = int(np.bincount(np.maximum(self.surf.owner[rows], 0)).argmax()) \
            if (self.surf.owner[rows] >= 0).any() else -1
        cls = int(np.bincount(self.surf.classes[rows]).argmax())
        half_major = (a.max() - a.min()) / 2.0 + self.grid.spacing[0] / 2
        half_minor = (b.max() - b.min()) / 2.0 + self.grid.spacing[2] / 2
        sides = [(major, np.array([half_major, half_minor]) * 2),
                 (-major, np.array([half_major, half_minor]) * 2),
                 (minor, np.array([half_minor, half_major]) * 2),
                 (-minor, np.array([half_minor, half_major]) * 2)]
        centre_off = np.array([(a.max() + a.min()) / 2, (b.max() + b.min()) / 2])
        mid = centre + major * centre_off[0] + minor * centre_off[1]
        scores = [self._backrest(pts, mid, axis, ext) for axis, ext in sides]
        best = int(np.argmax(scores))
        back = None
        if scores[best] >= 0.4:
            facing2 = -sides[best][0]
            depth, width = sides[best][1][0], sides[best][1][1]
            back = depth / 2.0
        else:
            facing2, depth, width = self._open_side(mid, major, minor, half_major, half_minor)
        facing = _vec3(facing2)
        lateral = np.array([facing2[1], -facing2[0]])
        per_person = BENCH_WIDTH if cls == CLASS_ID["seating"] else SEAT_WIDTH
        count = max(1, int(width // per_person)) if cls != CLASS_ID["stool"] else 1
        spots = []
        seat_y = _top(pts[:, 1])
        for slot in range(count):
            offset = (slot + 0.5) / count - 0.5
            xz = mid + lateral * offset * width
            if back is not None:  # the buttocks sit near the backrest, not at the seat's front
                back = self._backrest_front(xz, facing2, seat_y, owner)
                if back is None:
                    back = depth / 2.0
                into = min(back - SEAT_CENTRE_TO_BACK, depth / 2 - 0.1)
                xz = xz - facing2 * max(into, 0.0)
                back -= max(into, 0.0)
            near = np.argmin(np.linalg.norm(pts[:, [0, 2]] - xz, axis=1))
            y = _top(pts[np.linalg.norm(pts[:, [0, 2]] - xz, axis=1)
                         <= max(0.12, np.linalg.norm(pts[near, [0, 2]] - xz)), 1])
            y = self.exact_height(owner, xz, y)
            position = np.array([xz[0], y, xz[1]])
            floor_y = self.exact_floor(xz, float(self.floor.height_np(position)))
            ahead = (pts[:, [0, 2]] - xz) @ facing2
            side = np.abs((pts[:, [0, 2]] - xz) @ lateral) <= width / count / 2
            front = float(ahead[side].max() if side.any() else ahead.max()) \
                + self.grid.spacing[0] / 2
            spots.append(Spot(
                "seat", position, facing, cls, self.name(owner), y - floor_y, floor_y,
                np.array([width / count, depth]), None if back is None else float(back),
                self._table(position, facing), region, slot, front))
        return spots

    def _backrest_front(self, xz: np.ndarray, facing2: np.ndarray, seat_y: float,
                        owner: int) -> float | None:
        """Horizontal distance (m) from ``xz`` back (against ``facing2``) to the backrest's front
        at lower-back height (0.12-0.3 m above the seat); None when nothing is within 0.8 m.
        Exact against the owner object's mesh when it is known, else from the grid (within half
        a node spacing, which is what the grid can tell of a thin backrest)."""
        steps = np.arange(0.0, 0.8, 0.01)
        best = None
        for dy in (0.12, 0.2, 0.3):
            line = np.stack([xz[0] - facing2[0] * steps, np.full(len(steps), seat_y + dy),
                             xz[1] - facing2[1] * steps], axis=1)
            if 0 <= owner < len(self.objects):
                import igl

                obj = self.objects[owner]
                d = np.sqrt(igl.point_mesh_squared_distance(
                    line, np.asarray(obj.vertices, np.float64),
                    np.asarray(obj.faces, np.int64))[0])
                hit = np.flatnonzero(d <= 0.005)
            else:
                hit = np.flatnonzero(self.grid.lookup(line) <= 0.5 * self.grid.spacing.min())
            if len(hit):
                best = steps[hit[0]] if best is None else min(best, steps[hit[0]])
        return None if best is None else float(best)

    def _open_side(self, mid, major, minor, half_major, half_minor):
        """A backless seat: face the nearest table top within reach, else the freest side."""
        table = self._nearest_table(np.array([mid[0], 0.0, mid[1]]))
        if table is not None:
            d = table[[0, 2]] - mid
            axes = [major, -major, minor, -minor]
            axis = max(axes, key=lambda v: float(v @ d))
        else:
            best, axis = -1.0, minor
            for v in (minor, -minor, major, -major):
                probe = mid + v * 0.7
                p = np.array([[probe[0], self.floor.height_np(
                    np.array([probe[0], 0.0, probe[1]])) + h, probe[1]] for h in (0.3, 0.8)])
                free = float(self.grid.lookup(p).min())
                if free > best + 1e-6:
                    best, axis = free, v
        along_major = abs(axis @ major) > 0.5
        depth = 2 * (half_major if along_major else half_minor)
        width = 2 * (half_minor if along_major else half_major)
        return axis, depth, width

    def _nearest_table(self, position: np.ndarray) -> np.ndarray | None:
        s = self.surf
        tops = np.isin(s.classes, sorted(TABLE_CLASSES)) & (self.above_floor > 0.5)
        if not tops.any():
            return None
        d = np.linalg.norm(s.points[tops][:, [0, 2]] - position[[0, 2]], axis=1)
        k = int(np.argmin(d))
        return s.points[tops][k] if d[k] <= TABLE_REACH else None

    def _table(self, position: np.ndarray, facing: np.ndarray) -> tuple[float, float] | None:
        """(top y, distance to its near edge along ``facing``) of a table top in front."""
        s = self.surf
        tops = np.isin(s.classes, sorted(TABLE_CLASSES)) & (self.above_floor > 0.5) & (
            self.above_floor < 1.2)
        if not tops.any():
            return None
        rel = s.points[tops] - position
        ahead = rel[:, [0, 2]] @ facing[[0, 2]]
        side = np.abs(rel[:, 0] * facing[2] - rel[:, 2] * facing[0])
        near = (ahead > 0.05) & (ahead < TABLE_REACH) & (side < 0.3)
        if not near.any():
            return None
        return float(np.median(s.points[tops][near, 1])), float(ahead[near].min())

    # ---------------------------------------------------------------------------------------

    def beds(self) -> list[Spot]:
        s = self.surf
        keep = np.isin(s.classes, sorted(LIE_CLASSES)) & (self.above_floor >= 0.15) & (
            self.above_floor <= 0.95)
        if keep.any():
            rows = np.flatnonzero(keep)
            keep[rows[~_free(self.grid, s.points[rows] + [0.0, 0.35, 0.0], 0.05)]] = False
        spots: list[Spot] = []
        for region, rows in enumerate(self.main_regions(_regions(s, keep, self.grid,
                                                                 max_step=0.12))):
            pts = self.surf.points[rows]
            _, own_major, own_minor = _axes(pts[:, [0, 2]])
            sides = sorted((np.ptp(pts[:, [0, 2]] @ own_major), np.ptp(pts[:, [0, 2]] @ own_minor)))
            if sides[0] < LIE_MIN_SIDE or sides[1] < LIE_MIN_SPAN:  # a ledge, not a mattress
                continue
            owner_rows = self.surf.owner[rows]
            owner = int(np.bincount(np.maximum(owner_rows, 0)).argmax()) \
                if (owner_rows >= 0).any() else -1
            cls = int(np.bincount(self.surf.classes[rows]).argmax())
            # the lying frame: the whole piece's footprint (pillows and a headboard make the
            # free mattress top shorter than the bed, a blanket need not span it), else the
            # region's
            base = self._piece(owner)[:, [0, 2]] if owner >= 0 else pts[:, [0, 2]]
            centre, major, minor = _axes(base)
            a, b = (base - centre) @ major, (base - centre) @ minor
            length, width = float(np.ptp(a)), float(np.ptp(b))
            if owner < 0:
                length += self.grid.spacing[0]
                width += self.grid.spacing[2]
            if length < LIE_LENGTH or width < 0.5:
                continue
            mid = centre + major * (a.max() + a.min()) / 2 + minor * (b.max() + b.min()) / 2
            ends = [self._end_height(mid, major, length / 2), self._end_height(mid, -major,
                                                                                length / 2)]
            head2 = major if ends[0] >= ends[1] else -major
            lanes = max(1, int(width // LANE_WIDTH))
            for slot in range(lanes):
                xz = mid + minor * ((slot + 0.5) / lanes - 0.5) * width
                d = np.linalg.norm(pts[:, [0, 2]] - xz, axis=1)
                y = _top(pts[d <= max(0.3, d.min() + 1e-9), 1])
                y = self.exact_height(owner, xz, y, radius=0.2)
                position = np.array([xz[0], y, xz[1]])
                floor_y = self.exact_floor(xz, float(self.floor.height_np(position)))
                offset = ((slot + 0.5) / lanes - 0.5)
                inward = -np.sign(offset) * _vec3(minor) if abs(offset) > 1e-9 else np.zeros(3)
                spots.append(Spot("bed", position, _vec3(head2), cls, self.name(owner),
                                  y - floor_y, floor_y, np.array([width / lanes, length]),
                                  float(length / 2), None, region, slot, 0.0, lanes, inward))
        return spots

    def _piece(self, owner: int) -> np.ndarray:
        """(n, 3) vertices of the piece of furniture object ``owner`` belongs to
        (:func:`posa_model.scene.objects.piece_members`)."""
        members = piece_members(self.objects, self.objects[owner].name, self.pieces)
        return np.concatenate([np.asarray(o.vertices) for o in members])

    def _end_height(self, mid, axis, half) -> float:
        """The highest solid point (y) within 0.3 m inside one end of a region."""
        best = -np.inf
        for d in np.linspace(half - 0.3, half + 0.1, 5):
            xz = mid + axis * d
            column = np.array([[xz[0], y, xz[1]] for y in np.arange(0.2, 1.5, 0.05)])
            solid = self.grid.lookup(column) <= 0.0
            if solid.any():
                best = max(best, float(column[solid, 1].max()))
        return best

    # ---------------------------------------------------------------------------------------

    def walls(self) -> list[Spot]:
        g = self.grid
        wall = CLASS_ID["wall"]
        coords = g.node_coords()
        xs, zs = np.meshgrid(coords[0], coords[2], indexing="ij")
        flat = np.stack([xs.ravel(), np.zeros(xs.size), zs.ravel()], axis=1)
        floor_y = self.floor.height_np(flat)
        hip = flat + np.stack([np.zeros(len(flat)), floor_y + 1.0, np.zeros(len(flat))], 1)
        d = g.lookup(hip)
        cls = g.lookup_semantics(hip)
        keep = (np.abs(d - LEAN_CLEARANCE) <= 0.75 * g.spacing[0]) & (cls == wall) & \
            self.floor.found.ravel()
        if not keep.any():
            return []
        cand = hip[keep]
        ok = np.ones(len(cand), bool)
        for dy in (-0.85, -0.5, 0.0, 0.5, 0.8):  # free from ankle to head height (the floor
            # below is as near as the height above it)
            ok &= g.lookup(cand + [0.0, dy, 0.0]) >= min(LEAN_CLEARANCE, 0.99 + dy) - 0.05
        cand = cand[ok]
        if not len(cand):
            return []
        eps = 0.02
        grad = np.stack([(g.lookup(cand + e) - g.lookup(cand - e)) / (2 * eps)
                         for e in np.eye(3) * eps], axis=1)
        grad[:, 1] = 0.0
        norm = np.linalg.norm(grad, axis=1)
        good = norm > 0.5
        cand, grad = cand[good], grad[good] / norm[good, None]
        spots = []
        thinned = _thin(cand[:, [0, 2]], SPACING)
        inside = _inside(self.grid, cand[thinned] - [0.0, 1.0, 0.0])
        for k in (k for k, ok in zip(thinned, inside, strict=True) if ok):
            position = cand[k] - [0.0, 1.0, 0.0]
            spots.append(Spot("wall", position, grad[k], wall, "", 0.0, float(position[1])))
        return spots

    def floors(self) -> list[Spot]:
        s = self.surf
        keep = (s.classes == CLASS_ID["floor"]) & (np.abs(self.above_floor) < 0.05)
        rows = np.flatnonzero(keep)
        if not len(rows):
            return []
        ok = np.ones(len(rows), bool)
        for dy in (0.15, 0.6, 1.1, 1.6):  # the floor itself is dy away
            ok &= _free(self.grid, s.points[rows] + [0.0, dy, 0.0],
                        min(FLOOR_CLEARANCE, dy - 0.01))
        rows = rows[ok]
        spots = []
        centre = s.points[rows].mean(axis=0) if len(rows) else np.zeros(3)
        thinned = _thin(s.points[rows][:, [0, 2]], SPACING)
        inside = _inside(self.grid, s.points[rows[thinned]])
        for k in (k for k, ok in zip(thinned, inside, strict=True) if ok):
            p = s.points[rows[k]]
            facing = _vec3((centre - p)[[0, 2]]) if np.linalg.norm((centre - p)[[0, 2]]) > 0.1 \
                else np.array([0.0, 0.0, 1.0])
            spots.append(Spot("floor", p.copy(), facing, CLASS_ID["floor"], "", 0.0,
                              float(p[1])))
        return spots


def _thin(xz: np.ndarray, spacing: float) -> list[int]:
    """Indices of a subset of (n, 2) points at least ``spacing`` apart, greedy in a fixed order
    (by x, then z), so that the result is deterministic."""
    from scipy.spatial import cKDTree

    order = np.lexsort((xz[:, 1], xz[:, 0]))
    tree = cKDTree(xz)
    taken = np.zeros(len(xz), bool)
    blocked = np.zeros(len(xz), bool)
    for k in order:
        if blocked[k]:
            continue
        taken[k] = True
        blocked[tree.query_ball_point(xz[k], spacing)] = True
    return [int(k) for k in np.flatnonzero(taken)]


def find_spots(grid: SceneGrid, objects: Sequence = (), kinds: Sequence[str] = (
        "seat", "bed", "wall", "floor"), on: Sequence[str] = ()) -> list[Spot]:
    """Every spot of the given ``kinds`` in the scene (module docstring for the rules).

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
    finder = _Finder(grid, objects)
    out: list[Spot] = []
    for kind in kinds:
        out += {"seat": finder.seats, "bed": finder.beds, "wall": finder.walls,
                "floor": finder.floors}[kind]()
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

