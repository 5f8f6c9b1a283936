"""Wall stretches to lean on and free floor to stand or kneel on, inside the room.

* **Walls**: points at :data:`LEAN_CLEARANCE` in front of a wall at hip height, with free floor
  below and free space up to 1.9 m, at least :data:`SPACING` apart; facing away from the wall.
* **Floor**: floor surface points with nothing within :data:`FLOOR_CLEARANCE` from ankle to head
  height, at least :data:`SPACING` apart.

Both only inside the room's walls (:func:`_inside`). Frame: SMPL-X world (+y up, metres).
Directions are unit (3,) vectors with y = 0.
"""

from __future__ import annotations

import numpy as np

from ...classes import CLASS_ID
from ...scene.grid import SceneGrid
from .context import SpotContext
from .spot import Spot
from .surfaces import _free, _vec3

LEAN_CLEARANCE = 0.3  # m: the wall point is this far in front of the wall
FLOOR_CLEARANCE = 0.35  # m of free space around a stander
SPACING = 0.75  # m between wall or floor spots
#: Height (m) above the floor at which :func:`_inside` looks for the room's walls.
HIP = 1.0


def wall_spots(ctx: SpotContext) -> list[Spot]:
    """Every wall spot of the scene (module docstring for the rules)."""
    g = ctx.grid
    wall = CLASS_ID["wall"]
    coords = g.node_coords()
    xs, zs = np.meshgrid(coords[0], coords[2], indexing="ij")
    flat = np.stack([xs.ravel(), np.zeros(xs.size), zs.ravel()], axis=1)
    floor_y = ctx.floor.height_np(flat)
    hip = flat + np.stack([np.zeros(len(flat)), floor_y + 1.0, np.zeros(len(flat))], 1)
    d = g.lookup(hip)
    cls = g.lookup_semantics(hip)
    keep = (np.abs(d - LEAN_CLEARANCE) <= 0.75 * g.spacing[0]) & (cls == wall) & \
        ctx.floor.found.ravel()
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
    inside = _inside(ctx.grid, cand[thinned] - [0.0, 1.0, 0.0])
    for k in (k for k, ok in zip(thinned, inside, strict=True) if ok):
        position = cand[k] - [0.0, 1.0, 0.0]
        spots.append(Spot("wall", position, grad[k], wall, "", 0.0, float(position[1])))
    return spots


def floor_spots(ctx: SpotContext) -> list[Spot]:
    """Every floor spot of the scene (module docstring for the rules)."""
    s = ctx.surf
    keep = (s.classes == CLASS_ID["floor"]) & (np.abs(ctx.above_floor) < 0.05)
    rows = np.flatnonzero(keep)
    if not len(rows):
        return []
    ok = np.ones(len(rows), bool)
    for dy in (0.15, 0.6, 1.1, 1.6):  # the floor itself is dy away
        ok &= _free(ctx.grid, s.points[rows] + [0.0, dy, 0.0],
                    min(FLOOR_CLEARANCE, dy - 0.01))
    rows = rows[ok]
    spots = []
    centre = s.points[rows].mean(axis=0) if len(rows) else np.zeros(3)
    thinned = _thin(s.points[rows][:, [0, 2]], SPACING)
    inside = _inside(ctx.grid, s.points[rows[thinned]])
    for k in (k for k, ok in zip(thinned, inside, strict=True) if ok):
        p = s.points[rows[k]]
        facing = _vec3((centre - p)[[0, 2]]) if np.linalg.norm((centre - p)[[0, 2]]) > 0.1 \
            else np.array([0.0, 0.0, 1.0])
        spots.append(Spot("floor", p.copy(), facing, CLASS_ID["floor"], "", 0.0,
                          float(p[1])))
    return spots


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
