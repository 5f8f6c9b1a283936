"""Seats: the places to sit a room offers, with their backrest, table and front edge.

Up-facing surfaces of a seat class (:data:`~.spot.OFFERED_SEAT_CLASSES`) between
:data:`SEAT_HEIGHTS` above the floor, with room for a torso above (free 0.25-0.55 m over
them), grouped into connected regions of one object. A region's *backrest* is the side along
which matter rises 0.15-0.55 m above the seat within 0.18 m behind its edge; the sitter faces
away from it. A region without one faces the nearest table or counter top within
:data:`TABLE_REACH`, else the side with the most free floor. A region holds
``floor(width / SEAT_WIDTH)`` people side by side (a three-seat sofa 3, a chair 1).

Frame: SMPL-X world (+y up, metres). Directions are unit (3,) vectors with y = 0; horizontal
(2,) vectors are (x, z).
"""

from __future__ import annotations

import numpy as np

from ...classes import CLASS_ID
from .context import SpotContext
from .spot import OFFERED_SEAT_CLASSES, TABLE_CLASSES, Spot
from .surfaces import _free, _regions, _top, _vec3, main_regions, region_frame

#: Seat surface height above the floor (m): from a low pouffe to a bar stool.
SEAT_HEIGHTS = (0.28, 0.95)
SEAT_WIDTH = 0.55  # m of seat width per person
BENCH_WIDTH = 0.37  # m per person on a bench (people sit closer on one: a 0.75 m bench seats 2)
SEAT_CENTRE_TO_BACK = 0.15  # m from a backrest to where the buttocks rest
TABLE_REACH = 0.8  # m from a seat's centre to a table edge for "at a table"
#: Of a seat's surface at least this share has room for a torso above it (a chair pushed
#: under a table still has its back half free; a stool under a counter's overhang has none).
MIN_ROOM_ABOVE = 0.25


def seat_spots(ctx: SpotContext) -> list[Spot]:
    """Every seat spot of the scene (module docstring for the rules)."""
    s = ctx.surf
    height_ok = (ctx.above_floor >= SEAT_HEIGHTS[0]) & (ctx.above_floor <= SEAT_HEIGHTS[1])
    keep = np.isin(s.classes, sorted(OFFERED_SEAT_CLASSES)) & height_ok
    spots: list[Spot] = []
    for region, rows in enumerate(main_regions(s, ctx.grid, _regions(s, keep, ctx.grid))):
        room = np.ones(len(rows), bool)  # room for a torso above (not under a table top)
        for dy in (0.3, 0.5):
            room &= _free(ctx.grid, s.points[rows] + [0.0, dy, 0.0], 0.05)
        if room.mean() >= MIN_ROOM_ABOVE and not _on_a_bed(ctx, rows):
            spots += _seat_region(ctx, region, rows)
    return spots


def _on_a_bed(ctx: SpotContext, rows: np.ndarray) -> bool:
    """Whether a region lies on a bed (a pillow, a folded blanket are not seats): under most
    of its points, 10-25 cm down, the nearest object is a bed."""
    points = ctx.surf.points[rows]
    below = np.concatenate([points - [0.0, dy, 0.0] for dy in (0.1, 0.18, 0.25)])
    on_bed = ctx.grid.lookup_semantics(below) == CLASS_ID["bed"]
    return bool(on_bed.reshape(3, -1).any(axis=0).mean() >= 0.5)


def _backrest(ctx: SpotContext, pts, centre, axis, extent) -> float:
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
    solid = ctx.grid.lookup(probes) <= 0.5 * float(ctx.grid.spacing.min())
    solid &= ~np.isin(ctx.grid.lookup_semantics(probes), sorted(TABLE_CLASSES))
    solid = solid.reshape(len(widths), len(heights), len(depths)).any(axis=2)
    return float((solid.sum(axis=1) >= 2).mean())


def _seat_region(ctx: SpotContext, region: int, rows: np.ndarray) -> list[Spot]:
    """The seat spots of one region (rows of ``ctx.surf``): the side with a backrest or the
    open side it faces, then as many sitters side by side as its width holds."""
    pts, centre, major, minor, a, b = region_frame(ctx.surf, rows)
    owner = int(np.bincount(np.maximum(ctx.surf.owner[rows], 0)).argmax()) \
        if (ctx.surf.owner[rows] >= 0).any() else -1
    cls = int(np.bincount(ctx.surf.classes[rows]).argmax())
    half_major = (a.max() - a.min()) / 2.0 + ctx.grid.spacing[0] / 2
    half_minor = (b.max() - b.min()) / 2.0 + ctx.grid.spacing[2] / 2
    sides = [(major, np.array([half_major, half_minor]) * 2),
             (-major, np.array([half_major, half_minor]) * 2),
             (minor, np.array([half_minor, half_major]) * 2),
             (-minor, np.array([half_minor, half_major]) * 2)]
    centre_off = np.array([(a.max() + a.min()) / 2, (b.max() + b.min()) / 2])
    mid = centre + major * centre_off[0] + minor * centre_off[1]
    scores = [_backrest(ctx, pts, mid, axis, ext) for axis, ext in sides]
    best = int(np.argmax(scores))
    back = None
    if scores[best] >= 0.4:
        facing2 = -sides[best][0]
        depth, width = sides[best][1][0], sides[best][1][1]
        back = depth / 2.0
    else:
        facing2, depth, width = _open_side(ctx, mid, major, minor, half_major, half_minor)
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
            back = _backrest_front(ctx, xz, facing2, seat_y, owner)
            if back is None:
                back = depth / 2.0
            into = min(back - SEAT_CENTRE_TO_BACK, depth / 2 - 0.1)
            xz = xz - facing2 * max(into, 0.0)
            back -= max(into, 0.0)
        near = np.argmin(np.linalg.norm(pts[:, [0, 2]] - xz, axis=1))
        y = _top(pts[np.linalg.norm(pts[:, [0, 2]] - xz, axis=1)
                     <= max(0.12, np.linalg.norm(pts[near, [0, 2]] - xz)), 1])
        y = ctx.exact_height(owner, xz, y)
        position = np.array([xz[0], y, xz[1]])
        floor_y = ctx.exact_floor(xz, float(ctx.floor.height_np(position)))
        ahead = (pts[:, [0, 2]] - xz) @ facing2
        side = np.abs((pts[:, [0, 2]] - xz) @ lateral) <= width / count / 2
        front = float(ahead[side].max() if side.any() else ahead.max()) \
            + ctx.grid.spacing[0] / 2
        spots.append(Spot(
            "seat", position, facing, cls, ctx.name(owner), y - floor_y, floor_y,
            np.array([width / count, depth]), None if back is None else float(back),
            _table(ctx, position, facing), region, slot, front))
    return spots


def _backrest_front(ctx: SpotContext, xz: np.ndarray, facing2: np.ndarray, seat_y: float,
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
        if 0 <= owner < len(ctx.objects):
            import igl

            obj = ctx.objects[owner]
            d = np.sqrt(igl.point_mesh_squared_distance(
                line, np.asarray(obj.vertices, np.float64),
                np.asarray(obj.faces, np.int64))[0])
            hit = np.flatnonzero(d <= 0.005)
        else:
            hit = np.flatnonzero(ctx.grid.lookup(line) <= 0.5 * ctx.grid.spacing.min())
        if len(hit):
            best = steps[hit[0]] if best is None else min(best, steps[hit[0]])
    return None if best is None else float(best)


def _open_side(ctx: SpotContext, mid, major, minor, half_major, half_minor):
    """A backless seat: face the nearest table top within reach, else the freest side."""
    table = _nearest_table(ctx, np.array([mid[0], 0.0, mid[1]]))
    if table is not None:
        d = table[[0, 2]] - mid
        axes = [major, -major, minor, -minor]
        axis = max(axes, key=lambda v: float(v @ d))
    else:
        best, axis = -1.0, minor
        for v in (minor, -minor, major, -major):
            probe = mid + v * 0.7
            p = np.array([[probe[0], ctx.floor.height_np(
                np.array([probe[0], 0.0, probe[1]])) + h, probe[1]] for h in (0.3, 0.8)])
            free = float(ctx.grid.lookup(p).min())
            if free > best + 1e-6:
                best, axis = free, v
    along_major = abs(axis @ major) > 0.5
    depth = 2 * (half_major if along_major else half_minor)
    width = 2 * (half_minor if along_major else half_major)
    return axis, depth, width


def _nearest_table(ctx: SpotContext, position: np.ndarray) -> np.ndarray | None:
    """(3,) the table-top point horizontally nearest to ``position``, None when none is within
    :data:`TABLE_REACH`."""
    s = ctx.surf
    tops = np.isin(s.classes, sorted(TABLE_CLASSES)) & (ctx.above_floor > 0.5)
    if not tops.any():
        return None
    d = np.linalg.norm(s.points[tops][:, [0, 2]] - position[[0, 2]], axis=1)
    k = int(np.argmin(d))
    return s.points[tops][k] if d[k] <= TABLE_REACH else None


def _table(ctx: SpotContext, position: np.ndarray,
           facing: np.ndarray) -> tuple[float, float] | None:
    """(top y, distance to its near edge along ``facing``) of a table top in front."""
    s = ctx.surf
    tops = np.isin(s.classes, sorted(TABLE_CLASSES)) & (ctx.above_floor > 0.5) & (
        ctx.above_floor < 1.2)
    if not tops.any():
        return None
    rel = s.points[tops] - position
    ahead = rel[:, [0, 2]] @ facing[[0, 2]]
    side = np.abs(rel[:, 0] * facing[2] - rel[:, 2] * facing[0])
    near = (ahead > 0.05) & (ahead < TABLE_REACH) & (side < 0.3)
    if not near.any():
        return None
    return float(np.median(s.points[tops][near, 1])), float(ahead[near].min())

