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

**Distances.** Exact at every node: the distance to the nearest triangle of any object. Outside
all objects this is the exact distance to their union; inside overlapping objects it is the
distance to the nearest triangle, which can be a triangle buried in the other object, so the depth
there is underestimated (the sign is right).

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
   need no sign.
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

**Thin open sheets.** A winding number cannot tell the two sides of a lone sheet (it is about
+-0.5 on either side), and floors and walls are often single planes. So every connected piece of
an object (vertices welded within 1 micrometre) that has a boundary and is thinner than
``THIN_SHEET`` (1 cm) along its smallest principal axis is made solid before anything else: its
faces are turned to one side (the *front*) and it is extruded to the back by
``sheet_thickness``, closing a prism. The default thickness is ``max(5 cm, 2 x resolution)``,
so the slab holds at least one node below its surface (a 5 cm slab on a 5 cm grid can fall
between two nodes that both lie on its faces, and a lookup would then read 0 inside it).

The front of a horizontal sheet (normal within about 25 degrees of vertical) is up when the
sheet lies at or below the middle height of the scene (a floor, a table top) and down above it
(a ceiling). The front of any other sheet faces the centre of the scene (a wall plane is
extruded outwards, a picture into its wall), or, when the sheet passes through the centre, the
side its face normals point to. Face normals are not trusted first because flipped planes are
invisible in renders and common in artist scenes.

**Duplicated faces and room shells.** Welding also drops faces that collapse and second copies
of a face (double-sided exports repeat every face reversed, and the two copies' winding numbers
cancel). A room is often modelled as one big box seen from inside (Blender's default cube scaled
up, normals out, or turned in), whose winding number would make the whole room solid (or, turned
in, cancel the winding number of every object in it). A piece that encloses the bounds of the
whole scene and whose winding number is above 0.5 in magnitude at the centres of (nearly) all
the other pieces is a *room shell*: it is turned to face in (-1 inside, 0 outside) and 1 is
added to every winding number, so the room's inside counts only the objects in it and
everything beyond its walls is solid (like the unknown space behind the walls of a scan). A room
modelled with thick walls has a winding number near 0 inside and is left as it is; so is a sofa
frame around its cushions.

Open surfaces that are neither thin nor closed (a curved curtain, an open-backed shell) keep the
winding-number sign, which is only meaningful for surfaces that enclose something.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import InputShapeError
from .grid import SceneGrid
from .objects import MeshObject

__all__ = ["SHEET_THICKNESS", "THIN_SHEET", "build_scene_grid", "grid_layout", "solidify_sheets"]

#: Open pieces thinner than this (metres, along their smallest principal axis) are sheets.
THIN_SHEET = 0.01
#: The least distance a sheet is extruded to its back (metres); see build_scene_grid.
SHEET_THICKNESS = 0.05

_BLOCK = 4  # links never leave a block of _BLOCK^3 nodes (bounds the reach of a sign)
_CHUNK_NODES = 1 << 20  # nodes per distance query (bounds memory; one progress step each)
_WINDING_CHUNK = 1 << 19  # winding-number queries per call (each call rebuilds igl's tree)
_WELD = 1e-6  # metres: vertices closer than this are one vertex when finding pieces
_HORIZONTAL = 0.9  # |normal . up| above this: a horizontal sheet
_MAX_EDGE = 1.0  # metres: longer triangles are split before the AABB tree is built


@dataclass
class TriangleSoup:
    """All objects as one mesh: ``vertices`` (V, 3) float64, ``faces`` (F, 3) int64,
    ``face_object`` (F,) int64 index into the object list, ``sheets`` the names of the objects
    that had a sheet extruded, ``shells`` those holding a room shell (turned to face in; the
    soup's winding number is ``igl``'s plus ``len(shells)``, see the module docstring)."""

    vertices: np.ndarray
    faces: np.ndarray
    face_object: np.ndarray
    sheets: list[str]
    shells: list[str]

    def winding_number(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) points -> (N,) generalised winding number (fast, Barnes-Hut); > 0.5 inside."""
        import igl

        query = np.ascontiguousarray(points, dtype=np.float64)
        return igl.fast_winding_number(self.vertices, self.faces, query) + len(self.shells)


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
                     sheet_thickness: float | None = None) -> SceneGrid:
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

    Returns:
        :class:`SceneGrid`: ``sdf`` (nx, ny, nz) float32 metres (negative inside), ``semantics``
        (nx, ny, nz) uint8 (class of the object owning the nearest triangle), ``bbox`` the tight
        bounds of the objects as given (before sheets are extruded).

    Raises:
        InputShapeError: no objects, a bad parameter, or a grid over ``max_nodes``.
    """
    import igl
    from tqdm import tqdm

    objects = list(objects)
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

    soup = _split_long_faces(solidify_sheets(objects, bbox.mean(axis=0), sheet_thickness))
    classes = np.array([o.class_id for o in objects], dtype=np.uint8)[soup.face_object]
    tree = igl.AABB()
    tree.init(soup.vertices, soup.faces)

    nx, ny, nz = shape
    layers = max(_BLOCK, (_CHUNK_NODES // (ny * nz)) // _BLOCK * _BLOCK)
    dist = np.empty(shape, np.float32)
    semantics = np.empty(shape, np.uint8)
    label = np.empty(total, np.int64)  # linked set of each node (global ids)
    reps: list[np.ndarray] = []  # per linked set, its node farthest from a surface (flat index)
    axes = [grid_min[a] + np.arange(shape[a]) * resolution for a in range(3)]
    n_sets = 0
    with tqdm(total=total, desc="scene sdf: distances", unit="node", unit_scale=True,
              disable=not progress) as bar:
        for x0 in range(0, nx, layers):
            x1 = min(nx, x0 + layers)
            points = np.stack(np.meshgrid(axes[0][x0:x1], axes[1], axes[2], indexing="ij"),
                              axis=-1).reshape(-1, 3)
            sq, face, _ = tree.squared_distance(soup.vertices, soup.faces, points)
            d = np.sqrt(np.maximum(sq, 0.0)).reshape(x1 - x0, ny, nz)
            dist[x0:x1] = d
            semantics[x0:x1] = classes[face].reshape(d.shape)
            sets, rep = _linked_sets(d, resolution)
            start = x0 * ny * nz
            label[start:start + d.size] = sets + n_sets
            reps.append(rep + start)
            n_sets += len(rep)
            bar.update(d.size)

    rep_nodes = np.concatenate(reps)
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
            idx = np.stack(np.unravel_index(nodes, shape), axis=-1)
            query = grid_min + idx * resolution
            inside[nodes] = soup.winding_number(query) > 0.5
            bar.update(len(nodes))
    set_inside = inside[rep_nodes]  # the sign of each linked set, from its representative
    node_inside = set_inside[label]
    if band:
        node_inside[need] = inside[need]
    sdf = np.where(node_inside.reshape(shape), -dist, dist)
    return SceneGrid(sdf, semantics, grid_min, grid_min + (np.asarray(shape) - 1) * resolution,
                     bbox)


def _fitting_resolution(bbox, resolution, padding, cubic, max_nodes) -> float:
    """The finest resolution (rounded up to a millimetre) whose grid has <= max_nodes nodes."""
    res = math.ceil(1000 * resolution) / 1000
    while math.prod(grid_layout(bbox, res, padding, cubic)[1]) > max_nodes:
        res = round(res + 0.001, 3)
    return res


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


def solidify_sheets(objects: Sequence[MeshObject], centre: np.ndarray,
                    thickness: float = SHEET_THICKNESS) -> TriangleSoup:
    """All objects as one soup, with every thin open piece extruded into a closed prism.

    A piece is a connected set of faces of one object after welding vertices closer than 1 um.
    It is a sheet when it has a boundary edge (an edge of only one face) and its vertices span
    less than :data:`THIN_SHEET` along their smallest principal axis. ``centre`` (3,) is the
    scene's centre, which decides each sheet's front side (module docstring); the prism is the
    sheet's faces turned to the front, the same faces moved ``thickness`` metres to the back and
    reversed, and quads along the boundary.
    """
    centre = np.asarray(centre, dtype=np.float64)
    vertex_obj = np.concatenate([np.full(len(o.vertices), i) for i, o in enumerate(objects)])
    offsets = np.cumsum([0] + [len(o.vertices) for o in objects])
    raw_v = np.concatenate([o.vertices for o in objects])
    faces = np.concatenate([o.faces + offsets[i] for i, o in enumerate(objects)])
    face_object = np.concatenate([np.full(len(o.faces), i) for i, o in enumerate(objects)])

    # Weld per object so pieces are found across split vertices (UV seams, flat shading).
    key = np.column_stack([vertex_obj, np.round(raw_v / _WELD).astype(np.int64)])
    first, inverse, _ = _unique_rows(key)
    vertices = raw_v[first]
    faces = inverse[faces]
    nv = len(vertices)
    # Drop faces that collapsed in the weld and second copies of a face (double-sided exports
    # duplicate every face reversed, which would cancel its winding number).
    proper = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (
        faces[:, 2] != faces[:, 0])
    faces, face_object = faces[proper], face_object[proper]
    once, _, _ = _unique_rows(np.sort(faces, axis=1))
    once.sort()
    faces, face_object = faces[once], face_object[once]

    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = sp.csr_array((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])),
                         shape=(nv, nv))
    n_pieces, vertex_piece = connected_components(graph, directed=False)
    face_piece = vertex_piece[faces[:, 0]]

    _, edge_id, edge_count = _unique_rows(np.sort(edges, axis=1))
    boundary = edge_count[edge_id] == 1  # per directed face edge
    open_piece = np.zeros(n_pieces, bool)
    open_piece[np.tile(face_piece, 3)[boundary]] = True
    faces, shells = _turn_room_shells(vertices, faces, vertex_piece, face_object, objects)

    # Smallest principal axis and extent of every piece (vertex PCA, batched).
    counts = np.bincount(vertex_piece, minlength=n_pieces).astype(np.float64)
    mean = np.stack([np.bincount(vertex_piece, vertices[:, a], n_pieces) for a in range(3)],
                    axis=1) / counts[:, None]
    rel = vertices - mean[vertex_piece]
    cov = np.stack([np.bincount(vertex_piece, rel[:, i] * rel[:, j], n_pieces)
                    for i in range(3) for j in range(3)], axis=1).reshape(-1, 3, 3)
    _, vecs = np.linalg.eigh(cov)
    axis = vecs[:, :, 0]  # (P, 3) eigenvector of the smallest eigenvalue
    along = np.einsum("ij,ij->i", rel, axis[vertex_piece])
    top_along, low_along = np.zeros(n_pieces), np.zeros(n_pieces)
    np.maximum.at(top_along, vertex_piece, along)
    np.minimum.at(low_along, vertex_piece, along)
    sheet = open_piece & (top_along - low_along < THIN_SHEET)
    if not sheet.any():
        return TriangleSoup(vertices, faces, face_object, [], shells)

    # Front side of every sheet.
    up = np.array([0.0, 1.0, 0.0])
    normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                       vertices[faces[:, 2]] - vertices[faces[:, 0]])  # 2 x area-weighted
    facing = np.bincount(face_piece, np.einsum("ij,ij->i", normals, axis[face_piece]), n_pieces)
    toward_centre = np.einsum("ij,ij->i", centre - mean, axis)
    front = np.where(np.abs(toward_centre) > 1e-3, np.sign(toward_centre),
                     np.where(facing < 0, -1.0, 1.0))[:, None] * axis
    horizontal = np.abs(axis @ up) > _HORIZONTAL
    below = mean[:, 1] <= centre[1] + 1e-9
    front[horizontal] = np.where(below[horizontal], 1.0, -1.0)[:, None] * up

    # Extrude: turn sheet faces to the front, add the back copy and the boundary walls.
    in_sheet = sheet[face_piece]
    flip = in_sheet & (np.einsum("ij,ij->i", normals, front[face_piece]) < 0)
    faces = faces.copy()
    faces[flip] = faces[flip][:, [0, 2, 1]]
    sheet_vertex = np.flatnonzero(sheet[vertex_piece])
    back_index = np.full(nv, -1, np.int64)
    back_index[sheet_vertex] = nv + np.arange(len(sheet_vertex))
    back = vertices[sheet_vertex] - thickness * front[vertex_piece[sheet_vertex]]
    top = faces[in_sheet]
    bottom = back_index[top[:, [0, 2, 1]]]
    # Boundary edges of the turned faces, directed as they run in their face (pieces share no
    # edges, so the sheet faces alone decide which edges are boundary).
    directed = np.concatenate([top[:, [0, 1]], top[:, [1, 2]], top[:, [2, 0]]])
    _, edge_id, edge_count = _unique_rows(np.sort(directed, axis=1))
    rim = edge_count[edge_id] == 1
    u, v = directed[rim, 0], directed[rim, 1]
    ub, vb = back_index[u], back_index[v]
    walls = np.concatenate([np.stack([u, ub, vb], axis=1), np.stack([u, vb, v], axis=1)])
    rim_object = np.tile(face_object[in_sheet], 3)[rim]
    new_faces = np.concatenate([faces, bottom, walls])
    new_object = np.concatenate([face_object, face_object[in_sheet], rim_object, rim_object])
    names = sorted({objects[i].name for i in np.unique(face_object[in_sheet])})
    return TriangleSoup(np.concatenate([vertices, back]), new_faces, new_object, names, shells)


def _turn_room_shells(vertices, faces, vertex_piece, face_object, objects):
    """Find room shells (module docstring) and turn them to face in.

    A shell is a piece that encloses the bounds of every vertex of the scene and whose winding
    number is above 0.5 in magnitude at the centres of at least 90 % of the other pieces (the
    objects are in it, not beside it: a sofa frame enclosing its cushions is no shell). Returns
    the faces (shells facing in) and the names of the objects holding a shell.
    """
    import igl

    face_piece = vertex_piece[faces[:, 0]]
    pieces = np.unique(face_piece)
    if len(pieces) < 2:
        return faces, []
    used = np.unique(faces)
    n = int(vertex_piece.max()) + 1
    lo, hi = np.full((n, 3), np.inf), np.full((n, 3), -np.inf)
    np.minimum.at(lo, vertex_piece[used], vertices[used])
    np.maximum.at(hi, vertex_piece[used], vertices[used])
    scene_lo, scene_hi = vertices[used].min(axis=0), vertices[used].max(axis=0)
    encloses = (lo <= scene_lo + 0.01).all(axis=1) & (hi >= scene_hi - 0.01).all(axis=1)
    counts = np.bincount(vertex_piece[used], minlength=n)
    centres = np.stack([np.bincount(vertex_piece[used], vertices[used, a], n) for a in range(3)],
                       axis=1) / np.maximum(counts, 1)[:, None]
    shells = []
    for piece in np.flatnonzero(encloses):
        rows = face_piece == piece
        others = centres[pieces[pieces != piece]]
        winding = igl.fast_winding_number(vertices, faces[rows], others)
        inside = np.abs(winding) > 0.5
        if inside.mean() >= 0.9:
            if np.median(winding[inside]) > 0:
                faces = faces.copy()
                faces[rows] = faces[rows][:, ::-1]
            shells.append(objects[int(face_object[rows][0])].name)
    return faces, shells


def _split_long_faces(soup: TriangleSoup, max_edge: float = _MAX_EDGE) -> TriangleSoup:
    """Split triangles with an edge over ``max_edge`` metres, 4 ways at their edge midpoints.

    The surface, hence every distance and winding number, is unchanged (the new vertices are not
    shared between neighbours, which neither query minds); but a few huge triangles (a floor
    plane of two triangles among 100k small ones) inflate the boxes of an AABB tree and made
    distance queries 2-3x slower in ``bench/bench_scene_sdf.py``. numpy only: no trimesh needed
    (Blender's runtime has none).
    """
    vertices, faces, owner = soup.vertices, soup.faces, soup.face_object
    kept_faces, kept_owner, new_vertices = [], [], [vertices]
    count = len(vertices)
    for _ in range(64):  # each round halves the long edges
        tri = np.concatenate(new_vertices)[faces] if len(new_vertices) > 1 else vertices[faces]
        longest = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)
        long = longest > max_edge
        kept_faces.append(faces[~long])
        kept_owner.append(owner[~long])
        if not long.any():
            break
        a, b, c = faces[long].T
        mids = (tri[long] + np.roll(tri[long], -1, axis=1)) / 2  # ab, bc, ca
        n = int(long.sum())
        new_vertices.append(mids.reshape(-1, 3))
        ab, bc, ca = (count + 3 * np.arange(n) + k for k in range(3))
        count += 3 * n
        faces = np.concatenate([np.stack(f, axis=1) for f in
                                ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
        owner = np.tile(owner[long], 4)
    if len(new_vertices) == 1:
        return soup
    return TriangleSoup(np.concatenate(new_vertices), np.concatenate(kept_faces),
                        np.concatenate(kept_owner), soup.sheets, soup.shells)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique rows of an (n, k) int64 array, by lexsort (``np.unique(axis=0)`` is much slower).

    Returns ``first`` (u,) the index of one occurrence of each unique row, ``inverse`` (n,) the
    unique row of every row and ``count`` (u,) how often each occurs.
    """
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(len(rows), bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(len(rows), np.int64)
    inverse[order] = group
    return order[new], inverse, np.bincount(group)
