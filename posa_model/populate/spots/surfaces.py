"""Up-facing surfaces of a scene's grids: the points, their owner objects, connected regions,
a region's axes and height, and which regions are places to sit or lie.

Seat and bed regions are connected regions of one object (lattice neighbours within a height
step). Of those, a region is a place only when it is at least :data:`MIN_AREA` large and
:data:`MIN_SIDE` across in both directions, and the largest of its neighbours (gap <=
:data:`NEIGHBOUR_GAP`) at heights more than :data:`STEP` apart: the others are armrests,
backrest tops, headboards, ledges.

Frame: SMPL-X world (+y up, metres); horizontal (2,) vectors are (x, z).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...placement.floor import up_surfaces
from ...scene.grid import SceneGrid

_MIN_REGION_POINTS = 3
#: A seat or bed region is at least this large (m^2, and m across in both directions).
MIN_AREA, MIN_SIDE = 0.05, 0.2
#: Of neighbouring regions (gap <= NEIGHBOUR_GAP) at heights more than STEP apart, only the
#: largest is a place to sit or lie: the others are armrests, backrest tops, headboards, ledges.
NEIGHBOUR_GAP, STEP = 0.3, 0.08


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


def main_regions(surf: _Surfaces, grid: SceneGrid,
                 regions: list[np.ndarray]) -> list[np.ndarray]:
    """The regions large enough to sit or lie on that are the largest of their
    neighbourhood at another height (module constants :data:`MIN_AREA`, :data:`STEP`)."""
    cell = float(grid.spacing[0] * grid.spacing[2])
    info = []
    for rows in regions:
        pts = surf.points[rows]
        _, major, minor = _axes(pts[:, [0, 2]])
        sides = (np.ptp(pts[:, [0, 2]] @ major), np.ptp(pts[:, [0, 2]] @ minor))
        info.append((len(rows) * cell, min(sides) + grid.spacing[0],
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


def region_frame(surf: _Surfaces, rows: np.ndarray):
    """A region's (n, 3) points, centre (2,), major and minor axes (2,) (:func:`_axes`) and
    the points' (n,) coordinates along each axis from the centre (m)."""
    pts = surf.points[rows]
    centre, major, minor = _axes(pts[:, [0, 2]])
    rel = pts[:, [0, 2]] - centre
    a, b = rel @ major, rel @ minor
    return pts, centre, major, minor, a, b


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
    """The unit (3,) horizontal vector (y = 0) along (2,) ``xz``."""
    v = np.array([xz[0], 0.0, xz[1]], dtype=np.float64)
    return v / max(np.linalg.norm(v), 1e-12)


def _free(grid: SceneGrid, points: np.ndarray, clearance: float) -> np.ndarray:
    """(n,) whether each point has nothing solid within ``clearance``."""
    return grid.lookup(points) >= clearance
