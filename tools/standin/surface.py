"""The stand-in's closed surface mesh: marching cubes of the left half, exact-count decimation,
relaxation on the implicit surface, mirroring; :func:`check_closed_mesh`.

See the package docstring (steps 2 and 3) for the construction.
"""

from __future__ import annotations

import numpy as np

from posa_model.mesh.topology import check_manifold, edge_twins

from .design import (
    NUM_FACES,
    NUM_VERTICES,
    StandinBuildError,
    _combine,
    _mirror,
    _Prim,
    _prim_bounds,
    _prim_sdf,
    _project,
    _sdf_normals,
    body_sdf,
)

# --------------------------------------------------------------------------------------------
# implicit surface -> dense mesh of the left half

_GRID_STEP = 0.0025  # marching-cubes voxel, metres
_BLOCK = 8  # voxels per block side; blocks far from the surface are not evaluated per voxel
_HALF_BOUNDS = (np.array([0.0, -1.31, -0.17]), np.array([0.92, 0.47, 0.21]))  # x = 0 exactly


def _volume(prims: list[_Prim], step: float) -> tuple[np.ndarray, np.ndarray]:
    """The SDF sampled on the grid of the left half (x >= 0), exact only near the surface.

    Returns the (nx, ny, nz) float32 volume and the grid origin (whose x is exactly 0).
    """
    lo, hi = _HALF_BOUNDS
    nblocks = np.ceil((hi - lo) / (step * _BLOCK)).astype(int)
    axes = [lo[i] + step * (_BLOCK * np.arange(nblocks[i]) + (_BLOCK - 1) / 2) for i in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    d_centre = body_sdf(centres, prims)
    half_diag = step * (_BLOCK - 1) / 2 * np.sqrt(3.0)
    near = np.flatnonzero(np.abs(d_centre) < 1.5 * half_diag + 2 * step)
    local = step * np.stack(np.meshgrid(*[np.arange(_BLOCK)] * 3, indexing="ij"), -1)
    corner = lo + step * _BLOCK * np.stack(np.unravel_index(near, nblocks), -1)
    pts = corner[:, None, :] + local.reshape(1, -1, 3)
    d = np.full(pts.shape[:2], 1.0)
    block_lo, block_hi = corner, corner + step * (_BLOCK - 1)
    for p in prims:  # the culling of body_sdf, per block instead of per point
        plo, phi = _prim_bounds(p)
        margin = 2.0 * p.k + 0.02
        hit = np.flatnonzero(np.all((block_hi >= plo - margin) & (block_lo <= phi + margin), 1))
        if hit.size:
            d[hit] = _combine(d[hit], _prim_sdf(p, pts[hit]), p)
    vol = np.repeat(d_centre.astype(np.float32), _BLOCK**3).reshape(-1, _BLOCK**3)
    vol[near] = d
    vol = vol.reshape(*nblocks, _BLOCK, _BLOCK, _BLOCK).transpose(0, 3, 1, 4, 2, 5)
    return np.ascontiguousarray(vol.reshape(*(nblocks * _BLOCK))), lo


def _dense_half_mesh(prims: list[_Prim], step: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of the body's left half: an open mesh whose boundary lies on x = 0.

    Vertices are moved onto the exact zero set by one Newton step along the sampled gradient.
    Returns (V, 3) float64 vertices and (F, 3) int64 faces, oriented outwards.
    """
    from skimage.measure import marching_cubes

    vol, origin = _volume(prims, step)
    vol[vol == 0.0] = 1e-9  # no vertex exactly on a grid point
    verts, faces, normals, _ = marching_cubes(vol, 0.0, spacing=(step,) * 3,
                                              allow_degenerate=False)
    verts = verts.astype(np.float64) + origin
    faces = faces.astype(np.int64)
    normals = normals.astype(np.float64)
    seam = verts[:, 0] == 0.0
    # skimage's normals follow the sampled gradient up to sign: make them point outwards
    probe = verts[:1000]
    if np.mean(body_sdf(probe + 1e-4 * normals[:1000], prims) > body_sdf(probe, prims)) < 0.5:
        normals = -normals
    tri = verts[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if (face_n * normals[faces].sum(1)).sum() < 0:
        faces = faces[:, ::-1].copy()
    verts -= body_sdf(verts, prims)[:, None] * normals
    verts[seam, 0] = 0.0
    return verts, faces


# --------------------------------------------------------------------------------------------
# mesh helpers and checks


def _directed_edges(faces: np.ndarray) -> np.ndarray:
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def _lonely_edges(faces: np.ndarray) -> np.ndarray:
    """The directed edges (E, 2) whose reverse edge is in no face: the mesh boundary."""
    directed = _directed_edges(faces)
    return directed[edge_twins(directed) < 0]


def _boundary_vertices(n_verts: int, faces: np.ndarray) -> np.ndarray:
    mask = np.zeros(n_verts, dtype=bool)
    mask[_lonely_edges(faces).ravel()] = True
    return mask


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = (verts[faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = verts[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(verts)
    for i in range(3):
        np.add.at(vn, faces[:, i], face_n)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-20)


def check_closed_mesh(verts: np.ndarray, faces: np.ndarray, what: str = "mesh",
                      min_area: float = 1e-10) -> None:
    """Raise :class:`StandinBuildError` unless ``faces`` (F, 3) over ``verts`` (V, 3) form one
    closed, consistently and outward oriented genus-0 2-manifold: the topology is
    :func:`posa_model.mesh.topology.check_manifold` with ``closed=True``; then no face of area
    <= ``min_area`` (square metres), Euler characteristic 2 and a positive signed volume."""
    faces = np.asarray(faces, dtype=np.int64)
    check_manifold(len(verts), faces, what, closed=True, error=StandinBuildError)
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if area.min() <= min_area:
        raise StandinBuildError(f"{what}: {int((area <= min_area).sum())} degenerate faces "
                                f"(area <= {min_area} m2)")
    euler = len(verts) - 3 * len(faces) // 2 + len(faces)
    if euler != 2:
        raise StandinBuildError(f"{what}: Euler characteristic {euler}, expected 2 (genus 0)")
    if _signed_volume(verts, faces) <= 0:
        raise StandinBuildError(f"{what}: the faces point inwards (negative signed volume)")


# --------------------------------------------------------------------------------------------
# decimation of the half so that the mirrored whole has exactly NUM_VERTICES vertices

#: fast_simplification's error thresholds (1e-9 (iteration + 3) ** 7) are tuned for larger
#: coordinates; in metres almost every edge qualifies after a few sweeps and the decimation
#: is nearly uniform, starving the hands. Scaled by 40 (units of 2.5 cm) it follows the quadric
#: error: hands, face and feet keep more vertices than the smooth trunk and limbs.
_QEM_UNIT = 40.0


def _decimate_half(verts: np.ndarray, faces: np.ndarray, n_whole: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Decimate the left half until the mirrored whole has exactly ``n_whole`` vertices.

    The whole has ``2 V - S`` vertices (``S`` on the seam x = 0). First the seam polyline is
    thinned to an odd number of its own vertices (:func:`_seam_collapses`), then the interior is
    decimated by quadrics with the seam locked, each collapse removing two whole vertices.
    ``fast_simplification`` stops near, not at, a target and a few of its collapses break the
    manifold (it checks normal flips, not the link condition), but with ``return_collapses`` it
    reports every collapse in order: :func:`_manifold_collapses` keeps the valid ones until the
    count is exact and ``replay_simplification`` applies exactly those (a few rounds at most).
    """
    import fast_simplification

    verts, faces = _apply_collapses(verts, faces, _seam_collapses(verts, faces))
    seam = _boundary_vertices(len(verts), faces)
    seam_points = verts[seam]
    whole = 2 * len(verts) - int(seam.sum())
    points, faces = verts * _QEM_UNIT, faces.astype(np.int32)
    for _ in range(8):
        if whole == n_whole:
            points = np.asarray(points, dtype=np.float64) / _QEM_UNIT
            points[seam] = seam_points  # locked during decimation: exactly as before
            return points, faces.astype(np.int64)
        _, _, collapses = fast_simplification.simplify(
            points, faces, target_count=max(2 * (n_whole // 2 - 1500), 1000),
            return_collapses=True, preserve_border=True)
        keep = _manifold_collapses(len(points), faces, seam, collapses, whole - n_whole)
        if len(keep) == 0:
            break
        points, faces, mapping = fast_simplification.replay_simplification(points, faces, keep)
        faces = np.asarray(faces, dtype=np.int32)
        if len(points) + len(keep) != len(seam):
            raise StandinBuildError(
                f"decimation replay: {len(keep)} collapses of {len(seam)} vertices left "
                f"{len(points)}, expected {len(seam) - len(keep)}")
        new_seam = np.zeros(len(points), dtype=bool)
        new_seam[mapping[seam]] = True
        seam, seam_points = new_seam, seam_points[np.argsort(mapping[seam], kind="stable")]
        whole = 2 * len(points) - int(seam.sum())
    raise StandinBuildError(f"decimation: stuck at {whole} vertices, expected {n_whole}")


def _neighbour_sets(n_verts: int, faces: np.ndarray) -> list[set[int]]:
    nbrs: list[set[int]] = [set() for _ in range(n_verts)]
    for u, w in _directed_edges(faces).tolist():
        nbrs[u].add(w)
        nbrs[w].add(u)
    return nbrs


def _try_collapse(nbrs: list[set[int]], on_seam: list[bool], a: int, b: int, budget: int) -> int:
    """Collapse ``b`` into ``a`` in the neighbour sets if that is a valid edge collapse removing
    at most ``budget`` whole-body vertices; returns how many it removed (0: not applied).

    Valid: ``a`` and ``b`` are adjacent and both interior, sharing exactly two neighbours (the
    link condition), or both on the seam along a boundary edge, sharing one interior neighbour;
    every shared neighbour keeps enough neighbours to stay a manifold vertex. An interior
    collapse removes two vertices of the mirrored whole, a seam collapse one.
    """
    na, nb = nbrs[a], nbrs[b]
    if b not in na or on_seam[a] != on_seam[b]:
        return 0
    common = na & nb
    if on_seam[a]:
        if len(common) != 1 or any(on_seam[c] or len(nbrs[c]) <= 3 for c in common):
            return 0
        cost = 1
    else:
        if len(common) != 2 or any(len(nbrs[c]) <= (2 if on_seam[c] else 3) for c in common):
            return 0
        cost = 2
    if cost > budget:
        return 0
    for c in nb:
        nbrs[c].discard(b)
        if c != a:
            nbrs[c].add(a)
            na.add(c)
    na.discard(b)
    nbrs[b] = set()
    return cost


def _manifold_collapses(n_verts: int, faces: np.ndarray, seam: np.ndarray,
                        collapses: np.ndarray, remove: int) -> np.ndarray:
    """The valid edge collapses among ``collapses`` (rows ``[keep, gone]``), applied in order,
    until the mirrored whole has lost exactly ``remove`` vertices; invalid ones are skipped."""
    nbrs = _neighbour_sets(n_verts, faces)
    on_seam = seam.tolist()
    kept = []
    for a, b in collapses.tolist():
        cost = _try_collapse(nbrs, on_seam, a, b, remove)
        if cost:
            kept.append((a, b))
            remove -= cost
            if remove == 0:
                break
    return np.array(kept, dtype=np.int32).reshape(-1, 2)


def _seam_loop(faces: np.ndarray) -> np.ndarray:
    """The boundary vertices in loop order; the half mesh must have exactly one boundary loop."""
    lonely = _lonely_edges(faces)
    nxt = dict(zip(lonely[:, 0].tolist(), lonely[:, 1].tolist(), strict=True))
    start = min(nxt)
    loop = [start]
    while nxt[loop[-1]] != start and len(loop) <= len(nxt):
        loop.append(nxt[loop[-1]])
    if len(loop) != len(nxt):
        raise StandinBuildError(
            f"half mesh: expected one seam loop on x = 0, found {len(nxt)} boundary vertices "
            f"of which one loop holds {len(loop)}")
    return np.array(loop)


def _seam_keep(pts: np.ndarray, tol: float, max_len: np.ndarray) -> np.ndarray:
    """Douglas-Peucker on a closed polyline (M, 2): a mask of the vertices to keep so that the
    dropped ones lie within ``tol`` of the kept chords and no chord is longer than ``max_len``
    (per vertex) where the polyline allows."""
    m = len(pts)
    keep = np.zeros(m, dtype=bool)
    first, second = int(np.argmax(pts[:, 1])), int(np.argmin(pts[:, 1]))
    keep[[first, second]] = True
    stack = [(first, second), (second, first)]
    while stack:
        i, j = stack.pop()
        idx = np.arange(i + 1, i + 1 + (j - i - 1) % m) % m
        if idx.size == 0:
            continue
        a, ab = pts[i], pts[j] - pts[i]
        t = np.clip(((pts[idx] - a) @ ab) / max(ab @ ab, 1e-30), 0.0, 1.0)
        dist = np.linalg.norm(pts[idx] - a - t[:, None] * ab, axis=1)
        k = int(np.argmax(dist))
        if dist[k] > tol or np.linalg.norm(ab) > min(max_len[i], max_len[j]):
            mid = int(idx[k if dist[k] > tol else idx.size // 2])
            keep[mid] = True
            stack += [(i, mid), (mid, j)]
    return keep


def _seam_collapses(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Valid collapses (rows ``[keep, gone]``) that thin the seam loop of the dense half mesh to
    an odd number of its own vertices, finer on the face profile than on the trunk."""
    loop = _seam_loop(faces)
    pts = verts[loop][:, 1:]
    on_face = (pts[:, 0] > 0.20) & (pts[:, 1] > 0.0)
    max_len = np.where(on_face, 0.006, np.where(pts[:, 0] > 0.2, 0.010, 0.014))
    keep = _seam_keep(pts, 3e-4, max_len).tolist()
    nbrs = _neighbour_sets(len(verts), faces)
    on_seam = _boundary_vertices(len(verts), faces).tolist()
    start = keep.index(True)
    rows, anchor, n_seam = [], int(loop[start]), len(loop)
    for i in np.roll(np.arange(len(loop)), -start)[1:].tolist():
        b = int(loop[i])
        if not keep[i] and _try_collapse(nbrs, on_seam, anchor, b, 1):
            rows.append((anchor, b))
            n_seam -= 1
        else:
            anchor = b  # kept by design, or its collapse would break the manifold
    if n_seam % 2 == 0:  # an odd seam makes the whole's 2 V - S odd like NUM_VERTICES
        for a, b in zip(loop.tolist(), np.roll(loop, -1).tolist(), strict=True):
            if nbrs[a] and nbrs[b] and _try_collapse(nbrs, on_seam, a, b, 1):
                rows.append((a, b))
                break
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _apply_collapses(verts: np.ndarray, faces: np.ndarray, collapses: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Merge each ``gone`` vertex into its ``keep`` vertex (kept vertices do not move), drop the
    faces that degenerate and renumber; each collapse must remove one vertex and one face."""
    target = np.arange(len(verts))
    for a, b in collapses.tolist():
        target[b] = a
    while True:  # resolve chains b -> a -> ...
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    f = target[faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    used = np.unique(f)
    if len(verts) - len(used) != len(collapses) or len(faces) - len(f) != len(collapses):
        raise StandinBuildError(
            f"seam thinning: {len(collapses)} seam collapses removed {len(verts) - len(used)} "
            f"vertices and {len(faces) - len(f)} faces, expected {len(collapses)} of each")
    renumber = np.full(len(verts), -1)
    renumber[used] = np.arange(len(used))
    return verts[used], renumber[f]


def _mirror_whole(verts: np.ndarray, faces: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole body from its left half: the right half is the mirror image, welded on the seam
    (the vertices with x == 0). Returns vertices, faces and, per vertex, its mirror's index."""
    seam = verts[:, 0] == 0.0
    n = len(verts)
    off = np.flatnonzero(~seam)
    index = np.arange(n)
    index[off] = n + np.arange(len(off))
    whole_v = np.concatenate([verts, _mirror(verts[off])])
    whole_f = np.concatenate([faces, index[faces][:, ::-1]])
    mirror_of = np.arange(len(whole_v))
    mirror_of[off] = index[off]
    mirror_of[index[off]] = off
    return whole_v, whole_f, mirror_of


# --------------------------------------------------------------------------------------------
# relaxation: Delaunay flips and tangential smoothing on the implicit surface


def _angles(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(u, w), axis=1), (u * w).sum(1))


def _flip_edges(verts: np.ndarray, faces: np.ndarray, seam: np.ndarray,
                max_dihedral_deg: float = 25.0, passes: int = 3) -> np.ndarray:
    """Delaunay edge flips between nearly coplanar faces of the half; returns the new faces.

    Each pass finds, vectorised, the interior edges whose opposite angles sum to more than pi,
    then flips them greedily (worst first) while no face is touched twice, the new edge is new
    and does not join two seam vertices (its mirror would duplicate it in the whole).
    """
    faces = faces.copy()
    nv = len(verts)
    cos_max = np.cos(np.deg2rad(max_dihedral_deg))
    for _ in range(passes):
        nf = len(faces)
        directed = _directed_edges(faces)
        opposite = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])
        owner = np.tile(np.arange(nf), 3)
        twin = edge_twins(directed)
        half = np.flatnonzero((directed[:, 0] < directed[:, 1]) & (twin >= 0))
        a, b = directed[half, 0], directed[half, 1]
        c, d = opposite[half], opposite[twin[half]]
        f1, f2 = owner[half], owner[twin[half]]
        pa, pb, pc, pd = verts[a], verts[b], verts[c], verts[d]
        n1, n2 = np.cross(pb - pa, pc - pa), np.cross(pa - pb, pd - pb)
        m1, m2 = np.cross(pd - pa, pc - pa), np.cross(pb - pd, pc - pd)
        nsum = n1 + n2
        badness = _angles(pa - pc, pb - pc) + _angles(pa - pd, pb - pd) - np.pi
        ok = ((badness > 1e-9) & (c != d) & ~(seam[c] & seam[d])
              & ((n1 * n2).sum(1) >= cos_max * np.linalg.norm(n1, axis=1)
                 * np.linalg.norm(n2, axis=1))
              & ((m1 * nsum).sum(1) > 0) & ((m2 * nsum).sum(1) > 0))
        cand = np.flatnonzero(ok)
        cand = cand[np.argsort(-badness[cand], kind="stable")]
        edges = set((np.minimum(directed[:, 0], directed[:, 1]) * nv
                     + np.maximum(directed[:, 0], directed[:, 1])).tolist())
        touched = np.zeros(nf, dtype=bool)
        flipped = 0
        for i in cand.tolist():
            g1, g2 = f1[i], f2[i]
            ci, di = int(c[i]), int(d[i])
            new_key = min(ci, di) * nv + max(ci, di)
            if touched[g1] or touched[g2] or new_key in edges:
                continue
            ai, bi = int(a[i]), int(b[i])
            faces[g1] = (ai, di, ci)
            faces[g2] = (di, bi, ci)
            edges.discard(min(ai, bi) * nv + max(ai, bi))
            edges.add(new_key)
            touched[g1] = touched[g2] = True
            flipped += 1
        if flipped == 0:
            break
    return faces


def _relax_half(verts: np.ndarray, faces: np.ndarray, prims: list[_Prim], rounds: int = 6,
                step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Even out the decimated half without changing its vertex count or topology: Delaunay flips
    alternate with tangential Laplacian smoothing (neighbour centroids taken on the mirrored
    whole), each followed by a projection onto the surface. Seam vertices stay where they are."""
    from scipy.sparse import coo_matrix

    seam = verts[:, 0] == 0.0
    n = len(verts)
    verts = _project(verts, prims)
    verts[seam, 0] = 0.0
    for _ in range(rounds):
        faces = _flip_edges(verts, faces, seam)
        whole_v, whole_f, _ = _mirror_whole(verts, faces)
        e = _directed_edges(whole_f)
        adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), (len(whole_v),) * 2).tocsr()
        centroid = ((adj @ whole_v) / np.asarray(adj.sum(1)))[:n]
        normal = _sdf_normals(verts, prims)
        delta = centroid - verts
        delta -= (delta * normal).sum(1, keepdims=True) * normal
        delta[seam] = 0.0
        moved = _project(verts + step * delta, prims)
        verts[~seam] = moved[~seam]
    return verts, _flip_edges(verts, faces, seam)


def _surface_mesh(prims: list[_Prim]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed stand-in mesh: (NUM_VERTICES, 3) vertices, (NUM_FACES, 3) faces, mirror map."""
    dense_v, dense_f = _dense_half_mesh(prims, _GRID_STEP)
    half_v, half_f = _decimate_half(dense_v, dense_f, NUM_VERTICES)
    half_v, half_f = _relax_half(half_v, half_f, prims)
    verts, faces, mirror_of = _mirror_whole(half_v, half_f)
    check_closed_mesh(verts, faces, "stand-in mesh")
    if len(verts) != NUM_VERTICES or len(faces) != NUM_FACES:
        raise StandinBuildError(
            f"stand-in mesh: expected {NUM_VERTICES} vertices and {NUM_FACES} faces, found "
            f"{len(verts)} and {len(faces)}")
    return verts, faces, mirror_of
