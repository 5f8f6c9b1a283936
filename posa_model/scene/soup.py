"""One triangle soup from a scene's objects, made fit for signed distances.

:func:`solidify_sheets` joins :class:`~.objects.MeshObject` s (SMPL-X world, +y up, metres) into
one :class:`TriangleSoup` whose generalised winding number (libigl) says inside or outside even
for artist meshes; :func:`buried_faces` finds the faces inside the union (the ones distances are
not measured to). Used by :func:`~.mesh_sdf.build_scene_grid`.

**Welding and pieces.** Vertices closer than 1 micrometre are one vertex when finding *pieces*
(sets of faces connected through shared vertices), so pieces are found across split vertices
(UV seams, flat shading). Vertices are welded within one object, or within all objects that share
a ``part_of`` (the floor, walls and ceiling split from one room mesh stay one piece). Faces that
collapse in the weld and second copies of a face are dropped (double-sided exports repeat every
face reversed, and the two copies' winding numbers cancel).

**Thin open sheets.** A winding number cannot tell the two sides of a lone sheet (it is about
+-0.5 on either side), and floors and walls are often single planes. So every piece that has a
boundary (an edge of only one face), is thinner than :data:`THIN_SHEET` (1 cm) along its smallest
principal axis and is *one layer* is made solid: its faces are turned to one side (the *front*)
and it is extruded to the back, closing a prism. A sheet lying wholly inside other parts (a
leftover plane inside the Kenney bar stool's seat) is no surface and is dropped instead: its
prism would poke out of the seat. One layer: the piece's own winding number stays
below 0.75 in magnitude half its thickness off its largest faces; a thin closed box (a 8 mm
chair back, a panel whose faces meet at T-junctions so that edges look open) encloses its inside
(winding number about 1 there) and keeps its own shape and sign.

The front of a horizontal sheet (normal within about 25 degrees of vertical) is up when the
sheet lies at or below the middle height of the scene (a floor, a table top) and down above it
(a ceiling). The front of any other sheet faces the centre of the scene (a wall plane is
extruded outwards, a picture into its wall), or, when the sheet passes through the centre, the
side its face normals point to. Face normals are not trusted first because flipped planes are
invisible in renders and common in artist scenes.

**Room shells.** A room is often modelled as one big box seen from inside (Blender's default
cube scaled up, normals out, or turned in), whose winding number would make the whole room solid
(or, turned in, cancel the winding number of every object in it). A piece that encloses the
bounds of the whole scene and whose winding number is above 0.5 in magnitude at the centres of
(nearly) all the other pieces is a *room shell*: it is turned to face in (-1 inside, 0 outside)
and 1 is added to every winding number, so the room's inside counts only the objects in it and
everything beyond its walls is solid (like the unknown space behind the walls of a scan). A room
modelled with thick walls has a winding number near 0 inside and is left as it is; so is a sofa
frame around its cushions.

**Buried faces.** Artist furniture is built from overlapping parts: legs through seats, a
mattress inside its frame, a cover lying on a mattress face to face. Faces inside the union of
the parts are no surface of the scene; measured to, they would make the inside of a bed read
"2 cm from a surface" where it is 20 cm deep, and put a seat's surface at the height of a buried
face. :func:`buried_faces` finds a face buried when the winding number is above 0.5 on both of
its sides, 0.1 mm off its centre and off points near each of its corners.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .objects import MeshObject

__all__ = ["SHEET_THICKNESS", "THIN_SHEET", "TriangleSoup", "solidify_sheets", "split_long_faces",
           "buried_faces"]

#: Open pieces thinner than this (metres, along their smallest principal axis) are sheets.
THIN_SHEET = 0.01
#: The least distance a sheet is extruded to its back (metres); see build_scene_grid.
SHEET_THICKNESS = 0.05

_WELD = 1e-6  # metres: vertices closer than this are one vertex when finding pieces
_HORIZONTAL = 0.9  # |normal . up| above this: a horizontal sheet
_MAX_EDGE = 1.0  # metres: longer triangles are split before the AABB tree is built
_PROBE = 1e-4  # metres: how far off a face the buried-face test looks
_ONE_LAYER = 0.75  # |own winding number| below this half a thickness off a sheet: one layer


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

    def __post_init__(self) -> None:
        self._bvh = None

    def winding_number(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) points -> (N,) generalised winding number (fast, Barnes-Hut); > 0.5 inside.

        The Barnes-Hut tree is built on the first call and kept (libigl's
        ``FastWindingNumberBVH``; older libigl builds without it rebuild the tree every call,
        with the same values).
        """
        import igl

        query = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
        if len(query) == 0:
            return np.zeros(0)
        if not hasattr(igl, "FastWindingNumberBVH"):
            return igl.fast_winding_number(self.vertices, self.faces, query) + len(self.shells)
        if self._bvh is None:
            self._bvh = igl.FastWindingNumberBVH()
            self._bvh.init(self.vertices, self.faces)
        return self._bvh.winding_number(query) + len(self.shells)


@dataclass
class _Pieces:
    """The welded soup and its pieces: ``face_piece`` (F,), ``vertex_piece`` (V,) piece ids,
    ``open_piece`` (P,) bool: the piece has a boundary edge."""

    vertices: np.ndarray
    faces: np.ndarray
    face_object: np.ndarray
    vertex_piece: np.ndarray
    face_piece: np.ndarray
    open_piece: np.ndarray


def solidify_sheets(objects: Sequence[MeshObject], centre: np.ndarray,
                    thickness: float = SHEET_THICKNESS) -> TriangleSoup:
    """All objects as one soup, room shells turned in and thin open sheets made into prisms.

    ``centre`` (3,) is the scene's centre, which decides each sheet's front side (module
    docstring); the prism is the sheet's faces turned to the front, the same faces moved
    ``thickness`` metres to the back and reversed, and quads along the boundary. The soup has no
    faces when every triangle collapsed in the weld (callers refuse that).
    """
    centre = np.asarray(centre, dtype=np.float64)
    pieces = _weld_pieces(objects)
    vertices, faces, face_object = pieces.vertices, pieces.faces, pieces.face_object
    faces, shells = _turn_room_shells(vertices, faces, pieces.vertex_piece, face_object, objects)
    if len(faces) == 0:
        return TriangleSoup(vertices, faces, face_object, [], shells)
    mean, axis, thick = _principal_axes(vertices, pieces.vertex_piece, len(pieces.open_piece))
    sheet = pieces.open_piece & (thick < THIN_SHEET)
    sheet &= _one_layer(vertices, faces, pieces.face_piece, sheet, axis, thick)
    inside = _inside_others(vertices, faces, pieces.face_piece, sheet, len(shells))
    if inside.any():  # sheets inside other parts are no surface: dropped, never extruded
        keep = ~inside[pieces.face_piece]
        faces, face_object = faces[keep], face_object[keep]
        pieces.face_piece = pieces.face_piece[keep]
        sheet &= ~inside
    if not sheet.any():
        return TriangleSoup(vertices, faces, face_object, [], shells)
    front = _sheet_fronts(vertices, faces, pieces.face_piece, mean, axis, centre)
    return _extrude(vertices, faces, face_object, pieces, sheet, front, thickness, objects,
                    shells)


def _weld_pieces(objects: Sequence[MeshObject]) -> _Pieces:
    """Weld vertices per weld group, drop collapsed and repeated faces, find the pieces."""
    groups: dict[str, int] = {}
    group = [groups.setdefault(o.part_of or f"\0{i}", len(groups)) for i, o in enumerate(objects)]
    vertex_group = np.concatenate([np.full(len(o.vertices), group[i])
                                   for i, o in enumerate(objects)])
    offsets = np.cumsum([0] + [len(o.vertices) for o in objects])
    raw_v = np.concatenate([o.vertices for o in objects])
    faces = np.concatenate([o.faces + offsets[i] for i, o in enumerate(objects)])
    face_object = np.concatenate([np.full(len(o.faces), i) for i, o in enumerate(objects)])

    key = np.column_stack([vertex_group, np.round(raw_v / _WELD).astype(np.int64)])
    first, inverse, _ = _unique_rows(key)
    vertices = raw_v[first]
    faces = inverse[faces]
    nv = len(vertices)
    proper = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (
        faces[:, 2] != faces[:, 0])
    faces, face_object = faces[proper], face_object[proper]
    if len(faces):
        once, _, _ = _unique_rows(np.sort(faces, axis=1))
        once.sort()
        faces, face_object = faces[once], face_object[once]

    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = sp.csr_array((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])),
                         shape=(nv, nv))
    n_pieces, vertex_piece = connected_components(graph, directed=False)
    face_piece = vertex_piece[faces[:, 0]]
    open_piece = np.zeros(n_pieces, bool)
    if len(faces):
        _, edge_id, edge_count = _unique_rows(np.sort(edges, axis=1))
        boundary = edge_count[edge_id] == 1  # per directed face edge
        open_piece[np.tile(face_piece, 3)[boundary]] = True
    return _Pieces(vertices, faces, face_object, vertex_piece, face_piece, open_piece)


def _principal_axes(vertices: np.ndarray, vertex_piece: np.ndarray, n_pieces: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per piece: ``mean`` (P, 3), ``axis`` (P, 3) its smallest principal axis (vertex PCA,
    batched) and ``thick`` (P,) its extent along that axis in metres."""
    counts = np.bincount(vertex_piece, minlength=n_pieces).astype(np.float64)
    mean = np.stack([np.bincount(vertex_piece, vertices[:, a], n_pieces) for a in range(3)],
                    axis=1) / np.maximum(counts, 1)[:, None]
    rel = vertices - mean[vertex_piece]
    cov = np.stack([np.bincount(vertex_piece, rel[:, i] * rel[:, j], n_pieces)
                    for i in range(3) for j in range(3)], axis=1).reshape(-1, 3, 3)
    _, vecs = np.linalg.eigh(cov)
    axis = vecs[:, :, 0]
    along = np.einsum("ij,ij->i", rel, axis[vertex_piece])
    top, low = np.zeros(n_pieces), np.zeros(n_pieces)
    np.maximum.at(top, vertex_piece, along)
    np.minimum.at(low, vertex_piece, along)
    return mean, axis, top - low


def _one_layer(vertices, faces, face_piece, candidate, axis, thick, probes: int = 8
               ) -> np.ndarray:
    """(P,) bool: False for candidate sheets that enclose a volume (module docstring).

    Probes the piece's own exact winding number at the centres of its ``probes`` largest faces,
    moved by half the piece's thickness (at least 0.1 mm) both ways along its smallest axis.
    """
    import igl

    keep = np.ones(len(candidate), bool)
    tri = vertices[faces]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    centres = tri.mean(axis=1)
    for piece in np.flatnonzero(candidate):
        rows = np.flatnonzero(face_piece == piece)
        big = rows[np.argsort(-area[rows], kind="stable")[:probes]]
        step = max(thick[piece] / 2, _PROBE) * axis[piece]
        query = np.concatenate([centres[big] + step, centres[big] - step])
        winding = igl.winding_number(vertices, faces[rows], query)
        keep[piece] = np.abs(winding).max() < _ONE_LAYER
    return keep


def _inside_others(vertices, faces, face_piece, sheet, offset: int) -> np.ndarray:
    """(P,) bool: sheets whose every face centre lies inside the other pieces (their winding
    number, plus ``offset`` for turned room shells, above 0.75), such as a leftover plane
    inside a seat cushion."""
    import igl

    out = np.zeros(len(sheet), bool)
    if not sheet.any():
        return out
    in_sheet = sheet[face_piece]
    if in_sheet.all():
        return out
    centres = vertices[faces[in_sheet]].mean(axis=1)
    winding = igl.fast_winding_number(vertices, faces[~in_sheet], centres) + offset
    outside = np.zeros(len(sheet), bool)
    outside[face_piece[in_sheet][winding <= 0.75]] = True
    return sheet & ~outside


def _sheet_fronts(vertices, faces, face_piece, mean, axis, centre) -> np.ndarray:
    """(P, 3) unit front direction of every piece (used for sheets only; module docstring)."""
    n_pieces = len(mean)
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
    return front


def _extrude(vertices, faces, face_object, pieces: _Pieces, sheet, front, thickness, objects,
             shells) -> TriangleSoup:
    """Turn sheet faces to the front, add the back copy and the boundary walls."""
    nv = len(vertices)
    face_piece, vertex_piece = pieces.face_piece, pieces.vertex_piece
    normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                       vertices[faces[:, 2]] - vertices[faces[:, 0]])
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
    the faces (shells facing in) and the names of the objects holding a shell (their ``part_of``
    when they were split from one mesh).
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
            owner = objects[int(face_object[rows][0])]
            shells.append(owner.part_of or owner.name)
    return faces, shells


def buried_faces(soup: TriangleSoup, rows: np.ndarray) -> np.ndarray:
    """(K,) bool: which faces ``rows`` (K,) int64 of ``soup`` are buried (module docstring).

    A face is buried when the soup's winding number exceeds 0.5 on both of its sides, 0.1 mm off
    its centre and off the points a fifth of the way from each corner to the centre; faces
    without area count as surface (they carry no sign). Deterministic; two winding numbers per
    face, up to eight for faces buried at their centre.
    """
    rows = np.asarray(rows, np.int64)
    tri = soup.vertices[soup.faces[rows]]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    buried = length > 1e-18
    normal = normal / np.where(buried, length, 1.0)[:, None]
    centre = tri.mean(axis=1)
    for points in [centre] + [0.8 * tri[:, k] + 0.2 * centre for k in range(3)]:
        left = np.flatnonzero(buried)
        if len(left) == 0:
            break
        step = _PROBE * normal[left]
        winding = soup.winding_number(np.concatenate([points[left] + step, points[left] - step]))
        both = (winding[: len(left)] > 0.5) & (winding[len(left):] > 0.5)
        buried[left[~both]] = False
    return buried


def split_long_faces(soup: TriangleSoup, max_edge: float = _MAX_EDGE) -> TriangleSoup:
    """Split triangles with an edge over ``max_edge`` metres, 4 ways at their edge midpoints.

    The surface, hence every distance and winding number, is unchanged (the new vertices are not
    shared between neighbours, which neither query minds); but a few huge triangles (a floor
    plane of two triangles among 100k small ones) inflate the boxes of an AABB tree and made
    distance queries 2-3x slower in ``bench/bench_scene_sdf.py``, and a big face partly under
    furniture could not be found buried in parts. numpy only: no trimesh needed (Blender's
    runtime has none).
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
