"""Up-sampling ``U``: every fine vertex as barycentric weights on its closest coarse triangle.

The closest points come from libigl (``igl.point_mesh_squared_distance``, an AABB tree; exact)
and their weights from ``igl.barycentric_coordinates``. A closest point on an edge or a corner
lies on every face around it; the lowest-index one of those faces is taken, so the result does
not depend on which of them the tree happens to return.
"""

from __future__ import annotations

import igl
import numpy as np

__all__ = ["closest_triangles", "upsampling"]

#: A barycentric weight at most this is zero: the closest point lies on the opposite edge.
_ON_EDGE = 1e-12


def _first_face(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """(V,) int64 lowest index of a face that uses each vertex; -1 for an unused vertex."""
    first = np.full(num_vertices, len(faces), dtype=np.int64)
    np.minimum.at(first, faces.ravel(), np.repeat(np.arange(len(faces)), 3))
    first[first == len(faces)] = -1
    return first


def _first_face_of_edges(faces: np.ndarray, num_vertices: int) -> dict[int, int]:
    """{a * V + b: lowest index of a face with the edge (a, b), a < b}."""
    e = np.sort(np.stack([faces.ravel(), faces[:, [1, 2, 0]].ravel()], 1), axis=1)
    out: dict[int, int] = {}
    for key, f in zip((e[:, 0] * num_vertices + e[:, 1]).tolist(),
                      np.repeat(np.arange(len(faces)), 3).tolist(), strict=True):
        out.setdefault(key, f)  # faces come in order: the first one seen is the lowest
    return out


def _weights_on_degenerate(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(N, 3) barycentric weights of ``points`` (N, 3) on the nearest edge of each degenerate
    (zero-area) triangle ``tri`` (N, 3, 3), where libigl's coordinates are not finite."""
    best = np.full(len(points), np.inf)
    w = np.zeros((len(points), 3))
    for i in range(3):
        j = (i + 1) % 3
        a, ab = tri[:, i], tri[:, j] - tri[:, i]
        length2 = (ab * ab).sum(1)
        t = ((points - a) * ab).sum(1) / np.where(length2 > 0, length2, 1.0)
        t = np.clip(np.where(length2 > 0, t, 0.0), 0.0, 1.0)
        d = ((a + t[:, None] * ab - points) ** 2).sum(1)
        nearer = d < best
        best[nearer] = d[nearer]
        w[nearer] = 0.0
        w[nearer, i] = 1.0 - t[nearer]
        w[nearer, j] = t[nearer]
    return w


def closest_triangles(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact closest triangle of a mesh for each point.

    Args:
        points: (P, 3); vertices: (V, 3); faces: (F, 3) int.

    Returns:
        face index (P,) int64 (a closest point on an edge or corner: the lowest-index face that
        contains it), barycentric weights (P, 3) float64 on that face's vertices (non-negative,
        rows sum to 1), squared distance (P,) float64.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    d2, face, closest = igl.point_mesh_squared_distance(points, vertices, faces)
    face = np.asarray(face, dtype=np.int64)
    tri = vertices[faces[face]]
    w = igl.barycentric_coordinates(np.ascontiguousarray(closest),
                                    *(np.ascontiguousarray(tri[:, i]) for i in range(3)))
    w = np.asarray(w, dtype=np.float64)
    bad = ~np.isfinite(w).all(1)
    if bad.any():  # a degenerate triangle: the closest point on its nearest edge
        w[bad] = _weights_on_degenerate(closest[bad], tri[bad])
    w[w <= _ON_EDGE] = 0.0  # on an edge or a corner: exactly zero there
    w = np.minimum(w, 1.0)
    w /= w.sum(1, keepdims=True)
    # a closest point on an edge or a corner: the lowest-index face around it
    tie = np.flatnonzero((w > 0.0).sum(1) < 3)
    if len(tie):
        n = len(vertices)
        first, first_of_edge = _first_face(faces, n), _first_face_of_edges(faces, n)
        for i in tie.tolist():
            corners = faces[face[i]].tolist()
            support = sorted(v for v, x in zip(corners, w[i], strict=True) if x > 0.0)
            best = (int(first[support[0]]) if len(support) == 1
                    else first_of_edge[support[0] * n + support[1]])
            if best != face[i]:
                weight = dict(zip(corners, w[i].tolist(), strict=True))
                w[i] = [weight.get(v, 0.0) for v in faces[best].tolist()]
                face[i] = best
    return face, w, np.asarray(d2, dtype=np.float64)


def upsampling(
    fine_vertices: np.ndarray,
    coarse_vertices: np.ndarray,
    coarse_faces: np.ndarray,
    survivors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``U``: each fine vertex as barycentric weights on its closest coarse triangle.

    Returns ``up_index`` (V_f, 3) int64 into the coarse level and ``up_weight`` (V_f, 3)
    float32. ``survivors[i]`` (fine index of coarse vertex ``i``) maps to ``i`` with weight 1,
    written on a coarse face that contains it.
    """
    face, w, _ = closest_triangles(fine_vertices, coarse_vertices, coarse_faces)
    up_index = coarse_faces[face].copy()
    up_weight = w.astype(np.float64)
    # survivors: exactly themselves, on their first incident coarse face, rotated to slot 0
    first_face = _first_face(coarse_faces, len(coarse_vertices))
    for ci, fi in enumerate(survivors.tolist()):
        tri = coarse_faces[first_face[ci]] if first_face[ci] >= 0 else np.array([ci, ci, ci])
        shift = int(np.flatnonzero(tri == ci)[0])
        up_index[fi] = np.roll(tri, -shift)
        up_weight[fi] = (1.0, 0.0, 0.0)
    up_weight = up_weight.astype(np.float32)
    up_weight /= up_weight.sum(1, keepdims=True)
    return up_index.astype(np.int64), up_weight
