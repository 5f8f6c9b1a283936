"""Signed-distance and semantic grids from triangle meshes (artist meshes, not only closed ones).

:func:`build_scene_grid` turns :class:`~.objects.MeshObject` s (SMPL-X world, +y up, metres)
into a :class:`~.grid.SceneGrid`: at every node the signed distance to the union of the objects
(negative inside) and the class of the object that owns the nearest triangle (never blended).

**Library.** libigl (``import igl``): an AABB tree gives the exact unsigned distance and the
nearest triangle of every node, and the fast generalised winding number (Barnes-Hut, Jacobson
et al. 2013 / Barill et al. 2018) gives the sign for triangle soups that are not watertight:
a node is inside when its winding number exceeds 0.5. trimesh's proximity queries are 10-100x
slower and it has no winding number; Open3D's raycasting scene has only ray-parity signs, which
break on open meshes.

**The soup.** The objects are first joined into one triangle soup by
:func:`~.soup.solidify_sheets` (:mod:`.soup`: vertices welded, duplicated faces dropped, room
shells turned to face in, thin open sheets extruded into prisms).

**Distances.** Exact at every node: the distance to the nearest *surface* face of any object, so
outside all objects the exact distance to their union, and inside the depth below the union's
surface. Faces buried inside other parts (a leg's top inside a seat, a cover lying face to face
on a mattress; :func:`~.soup.buried_faces`) are no surface: every face that is the nearest face
of some node is tested, the nodes whose nearest face is buried are measured again without the
buried faces, and so on for up to four rounds (faces buried in layers, such as a subdivided leg
inside a seat, can leave a few nodes measured to a buried face; a face only partly buried is
kept whole: depths near such faces can be underestimated; the sign is right). The class of a
node is that of the object owning its nearest surface face.

**Signs without a winding number at every node.** The winding number is the costly query, so it
is evaluated at few nodes and the sign is spread along links that provably cross no surface:

1. Let ``d(p)`` be the unsigned distance of node ``p``. The open ball of radius ``d(p)`` around
   ``p`` contains no surface point.
2. Two neighbouring nodes ``p``, ``q`` (one spacing ``h`` apart along an axis) are *linked* when
   ``d(p) + d(q) > h``: then every point of the segment ``pq`` lies in one of the two balls, so
   the segment crosses no triangle. (If a surface point ``s`` were on it, ``|p - s| >= d(p)`` and
   ``|q - s| >= d(q)`` would give ``h = |p - q| >= d(p) + d(q)``.)
3. The winding number is constant along a path that crosses no surface of a *closed* mesh (it
   is an integer there and continuous off the surface), so every node of a connected set of
   links has the same sign. Links are only made inside blocks of ``4 x 4 x 4`` nodes (15 cm
   across at 5 cm resolution); in each linked set one node, the one farthest from any surface,
   gets the exact winding number and gives its sign to the set. Nodes on a surface (``d = 0``)
   need no sign. (Distances are to surface faces only; a link may cross a buried face, but the
   winding number is above 0.5 on both sides of it, so the sign does not change there.)
4. For a mesh with holes the winding number is not an integer: it varies smoothly and is 0.5 on
   a "membrane" spanning each hole. A linked set can then reach through a hole, and its nodes take
   the sign of its farthest node. Because links stay inside a block, this can only happen within
   one block (at most 0.26 m at 5 cm) of a hole's membrane, where the sign is a convention
   anyway; everywhere else the sign is that of the node's own winding number. Measured against
   the exact winding number at every node (a 1 m box without its top, a sphere with a 0.3 m
   hole, at 5 cm and 2 cm): the signs differ only within two nodes of the membrane. ``band``
   forces an exact winding number at every node within that distance of a surface.

On the synthetic rooms at 5 cm, 5-6 % of the nodes need a winding number
(``bench/bench_scene_sdf.py``), against 24 % for the scheme of a coarse sub-grid whose nodes
lend their sign to every finer node within their distance ball.

**Thin parts.** A solid thinner than the node spacing (a 2.6 cm table top or a 1.3 cm chair
base at 5 cm) can lie between two nodes that are both outside it, and the grid then shows no
inside at all: a hand pushed through the table reads free space. With ``thin_parts`` (the
default) every pair of neighbouring nodes ``p``, ``q`` that are both outside (or on a surface),
close enough for a surface to lie between them (``d(p) + d(q) <= h``), whose nearest surface
points lie between them (each at least half its distance along the pair's axis) and whose gap's
midpoint is clearly inside (winding number > 0.75, and at least 10 micrometres from any
surface: a pair lying in a face, as on a floor or seat top that falls on a node plane, has its
midpoint in the face, where the winding number can read anything from 0 to 1) crosses a thin
part. One node of the pair is then given the value
``-(h - d(kept node))``, so the interpolated surface on the kept node's side stays where it is
and the part reads solid from there to the moved node: along the vertical the lower node moves
(a table top or seat keeps its top surface and grows downwards), across it the node farther
from the centre of the part's object (a chair back keeps its front and grows backwards, legs
grow outwards). Likewise an inside node just below a level top (its surface within 15 degrees
straight below the outside node above) whose distance is to a face below it (the underside of a
top thinner than two spacings: ``d(p) + d(q) < h``) is given ``-(h - d(q))``, so the top reads at
its height instead of up to a spacing lower. Thin parts thus read up to one spacing thicker
than they are, on their far side (below, for level parts); moved nodes keep their class. The
measured effect on real furniture is in ``tests/test_scene_furniture.py``.

Open surfaces that are neither thin nor closed (a curved curtain, an open-backed shell) keep the
winding-number sign, which is only meaningful for surfaces that enclose something.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import InputShapeError
from .grid import SceneGrid
from .objects import MeshObject, check_scene_extent
from .soup import (
    SHEET_THICKNESS,
    THIN_SHEET,
    TriangleSoup,
    buried_faces,
    solidify_sheets,
    split_long_faces,
)

__all__ = ["SHEET_THICKNESS", "THIN_SHEET", "TriangleSoup", "build_scene_grid", "grid_layout",
           "solidify_sheets"]

_BLOCK = 4  # links never leave a block of _BLOCK^3 nodes (bounds the reach of a sign)
_CHUNK_NODES = 1 << 20  # nodes per distance query (bounds memory; one progress step each)
_WINDING_CHUNK = 1 << 19  # winding-number queries per call
_THIN_INSIDE = 0.75  # winding number a thin part's gap midpoint must exceed
_ON_SURFACE = 1e-7  # metres: nodes this close to a surface count as on it (rounding)
#: metres: a thin part's gap midpoint must be this deep; a pair of nodes lying in a face (a
#: floor or seat top on a node plane) has its midpoint in the face, where the winding number
#: reads anything from 0 to 1
_THIN_DEPTH = 1e-5
_split_long_faces = split_long_faces  # the name tests and benchmarks used before soup.py


def grid_layout(bbox: np.ndarray, resolution: float, padding: float,
                cubic: bool) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Node layout covering ``bbox`` (2, 3) plus ``padding`` with spacing exactly ``resolution``.

    Per axis ``n = ceil((extent + 2 padding) / resolution) + 1`` nodes (at least 2), centred on
    the box; ``cubic`` uses the largest ``n`` on every axis (the reference's cube). Returns
    ``(grid_min (3,), shape)``.
    """
    bbox = np.asarray(bbox, dtype=np.float64).reshape(2, 3)
    extent = bbox[1] - bbox[0] + 2 * padding
    n = np.maximum(np.ceil(extent / resolution - 1e-9).astype(np.int64) + 1, 2)
    if cubic:
        n[:] = n.max()
    grid_min = bbox.mean(axis=0) - (n - 1) * resolution / 2
    return grid_min, (int(n[0]), int(n[1]), int(n[2]))


def build_scene_grid(objects: Sequence[MeshObject], resolution: float = 0.05,
                     padding: float = 0.3, cubic: bool = False, band: float | None = None,
                     max_nodes: int = 64_000_000, progress: bool = False,
                     sheet_thickness: float | None = None,
                     thin_parts: bool = True) -> SceneGrid:
    """Signed-distance and semantic grids of triangle-mesh objects.

    Args:
        objects: the scene's :class:`MeshObject` s (SMPL-X world, +y up, metres).
        resolution: node spacing in metres (the same on every axis).
        padding: free space in metres added around the objects' bounds on every side.
        cubic: a cube of ``dim^3`` nodes, the reference's layout (its ``<scene>.json`` then has
            no ``shape`` field and the reference code can read it); else ``(nx, ny, nz)``.
        band: nodes within this many metres of a surface get their own exact winding number;
            ``None`` or 0: only the nodes the sign propagation needs (module docstring).
        max_nodes: refuse grids with more nodes than this (the error names a resolution that
            fits).
        progress: show tqdm progress bars.
        sheet_thickness: metres thin open sheets are extruded by (:func:`solidify_sheets`);
            ``None``: ``max(SHEET_THICKNESS, 2 * resolution)``.
        thin_parts: make solids thinner than the spacing read solid (module docstring).

    Returns:
        :class:`SceneGrid`: ``sdf`` (nx, ny, nz) float32 metres (negative inside), ``semantics``
        (nx, ny, nz) uint8 (class of the object owning the nearest surface face), ``bbox`` the
        tight bounds of the objects as given (before sheets are extruded).

    Raises:
        InputShapeError: no objects, a bad parameter, a scene wider than
            :data:`~.objects.MAX_SCENE_EXTENT` (naming the object farthest out), objects whose
            every triangle is degenerate, or a grid over ``max_nodes``.
    """
    from tqdm import tqdm

    objects = list(objects)
    sheet_thickness = _check_arguments(objects, resolution, padding, band, sheet_thickness)
    check_scene_extent(objects)
    bounds = np.stack([o.bounds() for o in objects])
    bbox = np.stack([bounds[:, 0].min(axis=0), bounds[:, 1].max(axis=0)])
    grid_min, shape = grid_layout(bbox, resolution, padding, cubic)
    total = math.prod(shape)
    if total > max_nodes:
        fit = _fitting_resolution(bbox, resolution, padding, cubic, max_nodes)
        raise InputShapeError(
            f"resolution: {resolution} m gives a {shape[0]} x {shape[1]} x {shape[2]} grid = "
            f"{total:,} nodes, over max_nodes = {max_nodes:,}; a resolution of {fit} m or "
            f"coarser fits (or raise max_nodes)")

    soup = solidify_sheets(objects, bbox.mean(axis=0), sheet_thickness)
    if len(soup.faces) == 0:
        names = ", ".join(repr(o.name) for o in objects[:5]) + (", ..." if len(objects) > 5
                                                                 else "")
        raise InputShapeError(
            f"objects {names}: expected triangles with area, found none: every triangle has "
            f"corners closer than 1 micrometre (nothing to measure distances to)")
    soup = split_long_faces(soup)
    classes = np.array([o.class_id for o in objects], dtype=np.uint8)[soup.face_object]
    dist, nearest, label, rep_nodes = _distances(soup, grid_min, shape, resolution, progress,
                                                 tqdm)
    tree = _unbury(soup, dist, nearest, grid_min, resolution)
    semantics = classes[nearest].reshape(shape)
    del nearest
    flat = dist.reshape(-1)
    need = rep_nodes[flat[rep_nodes] > 0]
    if band:
        near = np.flatnonzero((flat > 0) & (flat <= band))
        need = np.union1d(need, near)
    inside = np.zeros(total, bool)
    with tqdm(total=len(need), desc="scene sdf: winding numbers", unit="node",
              unit_scale=True, disable=not progress) as bar:
        for c0 in range(0, len(need), _WINDING_CHUNK):
            nodes = need[c0:c0 + _WINDING_CHUNK]
            inside[nodes] = soup.winding_number(_node_points(nodes, shape, grid_min,
                                                             resolution)) > 0.5
            bar.update(len(nodes))
    node_inside = inside[rep_nodes][label]  # the sign of each linked set, from its representative
    if band:
        node_inside[need] = inside[need]
    sdf = np.where(node_inside.reshape(shape), -dist, dist)
    if thin_parts:
        centres = bounds.mean(axis=1)[soup.face_object]  # (F, 3) centre of each face's object
        _recover_thin_parts(sdf, grid_min, resolution, tree, centres, soup)
    return SceneGrid(sdf, semantics, grid_min, grid_min + (np.asarray(shape) - 1) * resolution,
                     bbox)


def _check_arguments(objects, resolution, padding, band, sheet_thickness) -> float:
    """Refuse bad arguments with their names; returns the sheet thickness to use."""
    if not objects:
        raise InputShapeError("objects: expected at least one MeshObject, found none")
    for i, obj in enumerate(objects):
        if not isinstance(obj, MeshObject):
            raise InputShapeError(f"objects[{i}]: expected a MeshObject, found "
                                  f"{type(obj).__name__}")
    if not (math.isfinite(resolution) and resolution > 0):
        raise InputShapeError(f"resolution: expected metres > 0, found {resolution}")
    if sheet_thickness is None:
        sheet_thickness = max(SHEET_THICKNESS, 2 * resolution)
    if not (math.isfinite(sheet_thickness) and sheet_thickness > 0):
        raise InputShapeError(f"sheet_thickness: expected metres > 0, found {sheet_thickness}")
    if not (math.isfinite(padding) and padding >= 0):
        raise InputShapeError(f"padding: expected metres >= 0, found {padding}")
    if band is not None and not (math.isfinite(band) and band >= 0):
        raise InputShapeError(f"band: expected metres >= 0 or None, found {band}")
    return sheet_thickness


class _Surface:
    """libigl's AABB tree over the faces ``rows`` of a soup: ``query(points (N, 3))`` ->
    ``(distance (N,), face (N,) int64 index into the soup's faces, closest point (N, 3))``."""

    def __init__(self, soup: TriangleSoup, rows: np.ndarray | None = None):
        import igl

        self.rows = np.arange(len(soup.faces)) if rows is None else rows
        self.vertices = soup.vertices
        self.faces = np.ascontiguousarray(soup.faces[self.rows])
        self.tree = igl.AABB()
        self.tree.init(self.vertices, self.faces)

    def query(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sq, face, closest = self.tree.squared_distance(self.vertices, self.faces,
                                                       np.ascontiguousarray(points))
        return np.sqrt(np.maximum(sq, 0.0)), self.rows[np.asarray(face, np.int64)], closest


def _node_points(nodes: np.ndarray, shape, grid_min: np.ndarray, spacing: float) -> np.ndarray:
    """(N,) flat node indices -> (N, 3) positions (metres)."""
    return grid_min + np.stack(np.unravel_index(nodes, shape), axis=-1) * spacing


def _distances(soup: TriangleSoup, grid_min, shape, resolution, progress, tqdm):
    """Unsigned distance to every face, nearest face and linked set of every node, in slabs of
    x-layers.

    Returns ``dist`` (nx, ny, nz) float32 metres, ``nearest`` (N,) int32 face of every node,
    ``label`` (N,) int64 the linked set of each node and ``reps`` (S,) int64 the node of each set
    farthest from a surface (flat indices). Links use the distance to every face, buried or not,
    so they cross no face at all.
    """
    tree = _Surface(soup)
    nx, ny, nz = shape
    total = nx * ny * nz
    layers = max(_BLOCK, (_CHUNK_NODES // (ny * nz)) // _BLOCK * _BLOCK)
    dist = np.empty(shape, np.float32)
    nearest = np.empty(total, np.int32)
    label = np.empty(total, np.int64)
    reps: list[np.ndarray] = []
    axes = [grid_min[a] + np.arange(shape[a]) * resolution for a in range(3)]
    n_sets = 0
    with tqdm(total=total, desc="scene sdf: distances", unit="node", unit_scale=True,
              disable=not progress) as bar:
        for x0 in range(0, nx, layers):
            x1 = min(nx, x0 + layers)
            points = np.stack(np.meshgrid(axes[0][x0:x1], axes[1], axes[2], indexing="ij"),
                              axis=-1).reshape(-1, 3)
            d, face, _ = tree.query(points)
            d = d.reshape(x1 - x0, ny, nz)
            dist[x0:x1] = d
            start = x0 * ny * nz
            nearest[start:start + d.size] = face
            sets, rep = _linked_sets(d, resolution)
            label[start:start + d.size] = sets + n_sets
            reps.append(rep + start)
            n_sets += len(rep)
            bar.update(d.size)
    return dist, nearest, label, np.concatenate(reps)


def _unbury(soup: TriangleSoup, dist: np.ndarray, nearest: np.ndarray, grid_min: np.ndarray,
            spacing: float, rounds: int = 4) -> _Surface:
    """Measure again the nodes whose nearest face is buried (module docstring); in place.

    ``dist`` (nx, ny, nz) float32 and ``nearest`` (N,) int32 from :func:`_distances`. Returns
    the AABB tree of the faces left (every face not found buried).
    """
    shape = dist.shape
    flat = dist.reshape(-1)
    tested = np.zeros(len(soup.faces), bool)
    buried = np.zeros(len(soup.faces), bool)
    tree = None
    for _ in range(rounds):
        used = np.zeros(len(soup.faces), bool)
        used[nearest] = True
        new = np.flatnonzero(used & ~tested)
        if len(new) == 0:
            break
        tested[new] = True
        buried[new] = buried_faces(soup, new)
        redo = np.flatnonzero(buried[nearest])
        if len(redo) == 0:
            break
        tree = _Surface(soup, np.flatnonzero(~buried))
        for c0 in range(0, len(redo), _CHUNK_NODES):
            nodes = redo[c0:c0 + _CHUNK_NODES]
            d, face, _ = tree.query(_node_points(nodes, shape, grid_min, spacing))
            flat[nodes] = d
            nearest[nodes] = face
    return tree if tree is not None else _Surface(soup, np.flatnonzero(~buried))


def _recover_thin_parts(sdf: np.ndarray, grid_min: np.ndarray, spacing: float, tree: _Surface,
                        centres: np.ndarray, soup: TriangleSoup) -> int:
    """Give thin parts between two outside nodes an inside, and put level tops at their height
    (module docstring, "Thin parts"); in place.

    ``sdf`` (nx, ny, nz) float32 signed distances; ``centres`` (F, 3) the centre of the object
    of every face of the soup. Returns how many nodes were changed.
    """
    flat = sdf.reshape(-1)
    changed = 0
    moved_nodes, moved_values = [], []
    for axis in range(3):
        a, b = _neighbours(sdf, axis)
        pair = (a >= -_ON_SURFACE) & (b >= -_ON_SURFACE) & (a + b <= spacing * (1 + 1e-6))
        p, q = _pair_nodes(pair, axis, sdf.shape)
        for c0 in range(0, len(p), _CHUNK_NODES):
            nodes, values = _thin_pairs(p[c0:c0 + _CHUNK_NODES], q[c0:c0 + _CHUNK_NODES], axis,
                                        flat, sdf.shape, grid_min, spacing, tree, centres, soup)
            moved_nodes.append(nodes)
            moved_values.append(values)
    changed += _lower(flat, moved_nodes, moved_values)
    a, b = _neighbours(sdf, 1)
    pair = (a < -_ON_SURFACE) & (b >= -_ON_SURFACE) & (b - a < spacing * (1 - 1e-3))
    p, q = _pair_nodes(pair, 1, sdf.shape)
    tops_nodes, tops_values = [], []
    for c0 in range(0, len(p), _CHUNK_NODES):
        nodes, values = _level_tops(p[c0:c0 + _CHUNK_NODES], q[c0:c0 + _CHUNK_NODES], sdf.shape,
                                    grid_min, spacing, tree)
        tops_nodes.append(nodes)
        tops_values.append(values)
    return changed + _lower(flat, tops_nodes, tops_values)


def _neighbours(sdf: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Views of every node with a next neighbour along ``axis`` and of that neighbour."""
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis], hi[axis] = slice(0, -1), slice(1, None)
    return sdf[tuple(lo)], sdf[tuple(hi)]


def _pair_nodes(pair: np.ndarray, axis: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``p`` of the pairs' lower nodes and ``q = p + e_axis``."""
    low_idx = np.stack(np.nonzero(pair), axis=-1)
    step = np.zeros(3, np.int64)
    step[axis] = 1
    return (np.ravel_multi_index(low_idx.T, shape),
            np.ravel_multi_index((low_idx + step).T, shape))


def _lower(flat: np.ndarray, nodes: list[np.ndarray], values: list[np.ndarray]) -> int:
    """Set each node to the largest of the values asked for it (the least inflation), where
    that is lower than its value; returns how many nodes changed."""
    nodes_all = np.concatenate(nodes) if nodes else np.zeros(0, np.int64)
    if len(nodes_all) == 0:
        return 0
    unique, inverse = np.unique(nodes_all, return_inverse=True)
    best = np.full(len(unique), -np.inf)
    np.maximum.at(best, inverse, np.concatenate(values))
    lower = best < flat[unique]
    flat[unique[lower]] = best[lower]
    return int(lower.sum())


def _level_tops(p, q, shape, grid_min, spacing, tree):
    """For vertical pairs of an inside node ``p`` below an outside node ``q`` whose surfaces are
    nearer than the spacing allows (``d(p) + d(q) < h``), where ``q``'s surface lies (within 15
    degrees) straight below it and ``p``'s straight below ``p`` (the underside of a thin top,
    not the side of a thick part near its edge): ``p`` gets ``-(h - d(q))``, so the
    interpolated top is at ``q``'s surface."""
    xq = _node_points(q, shape, grid_min, spacing)
    xp = xq.copy()
    xp[:, 1] -= spacing
    dq, _, cq = tree.query(xq)
    dp, _, cp = tree.query(xp)
    cos = np.cos(np.radians(15.0))
    level = xq[:, 1] - cq[:, 1] >= cos * dq - _ON_SURFACE  # a level top below q
    under = xp[:, 1] - cp[:, 1] >= cos * dp - _ON_SURFACE  # p measures to a face below it
    keep = level & under
    return p[keep], -(spacing - dq[keep])


def _thin_pairs(p, q, axis, flat, shape, grid_min, spacing, tree, centres, soup):
    """For candidate pairs ``p``, ``q = p + e_axis`` (flat indices, both outside): the nodes to
    move inside and their new values (module docstring, "Thin parts")."""
    xp = _node_points(p, shape, grid_min, spacing)
    xq = xp.copy()
    xq[:, axis] += spacing
    dp, fp, cp = tree.query(xp)
    dq, _, cq = tree.query(xq)
    ahead = (cp[:, axis] - xp[:, axis]) >= 0.5 * dp - _ON_SURFACE
    behind = (xq[:, axis] - cq[:, axis]) >= 0.5 * dq - _ON_SURFACE
    keep = np.flatnonzero(ahead & behind)
    if len(keep) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    mid = xp[keep].copy()
    mid[:, axis] += dp[keep] + (spacing - dp[keep] - dq[keep]) / 2
    depth, _, _ = tree.query(mid)  # a midpoint in a surface: the pair lies in a face
    thin = keep[(soup.winding_number(mid) > _THIN_INSIDE) & (depth > _THIN_DEPTH)]
    if axis == 1:
        move_q = np.zeros(len(thin), bool)  # the lower node moves: tops keep their height
    else:
        centre = centres[fp[thin], axis]
        move_q = np.abs(xq[thin, axis] - centre) > np.abs(xp[thin, axis] - centre)
    nodes = np.where(move_q, q[thin], p[thin])
    values = -(spacing - np.where(move_q, dp[thin], dq[thin]))
    return nodes, values


def _fitting_resolution(bbox, resolution, padding, cubic, max_nodes) -> float:
    """The finest resolution (in whole millimetres, at least ``resolution``) whose grid has
    <= max_nodes nodes; a bisection over millimetres (node counts fall as the spacing grows)."""
    def fits(mm: int) -> bool:
        return math.prod(grid_layout(bbox, mm / 1000, padding, cubic)[1]) <= max_nodes

    lo = max(1, math.ceil(1000 * resolution - 1e-9))
    if fits(lo):
        return lo / 1000
    hi = lo
    while not fits(hi):  # doubling: at most ~40 steps for any finite box
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi / 1000


def _linked_sets(d: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Linked sets of a block-aligned slab of nodes (module docstring, steps 2-3).

    ``d`` (cx, ny, nz) unsigned distances of consecutive x-layers whose first layer is a
    multiple of ``_BLOCK``. Returns ``label`` (cx*ny*nz,) int64 set id per node (0..S-1, flat
    [x, y, z] order) and ``rep`` (S,) int64 the flat index of each set's node farthest from a
    surface.
    """
    n = d.size
    index = np.arange(n).reshape(d.shape)
    limit = spacing * (1 + 1e-9) + 1e-12
    rows, cols = [], []
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        linked = d[tuple(lo)] + d[tuple(hi)] > limit
        same_block = (np.arange(d.shape[axis] - 1) + 1) % _BLOCK != 0
        view = [1, 1, 1]
        view[axis] = -1
        linked &= same_block.reshape(view)
        rows.append(index[tuple(lo)][linked])
        cols.append(index[tuple(hi)][linked])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.csr_array((np.ones(len(r), np.int8), (r, c)), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    label = label.astype(np.int64)
    flat = d.reshape(-1)
    far = np.zeros(count)
    np.maximum.at(far, label, flat)
    candidates = np.flatnonzero(flat == far[label])
    _, first = np.unique(label[candidates], return_index=True)
    return label, candidates[first]
