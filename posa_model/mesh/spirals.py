"""SpiralNet++ spiral sequences in the reference order (OpenMesh circulators, KD-tree fallback).

A spiral of vertex ``v0`` lists ``v0``, its 1-ring in OpenMesh ``vv`` order, then the following
rings, each walked starting just after where the previous ring sits around each of its
vertices; it is cut to ``seq_length * dilation`` entries and strided by ``dilation``. When the
rings run out before that length, the spiral is replaced by the ``seq_length * dilation``
nearest vertices of ``v0`` (Euclidean, sorted by distance, ties by index). This is the algorithm
the reference POSA weights were trained with; see ``docs`` and ``tests/test_spirals.py``, which
compares against fixtures made with the real ``openmesh`` and ``sklearn`` packages.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputShapeError
from .halfedge import HalfedgeMesh


def _next_ring(vv: list[list[int]], last_ring: list[int], other: set[int]) -> list[int]:
    """The ring after ``last_ring``; ``other`` holds every vertex of the spiral so far."""
    last = set(last_ring)
    res: list[int] = []
    seen: set[int] = set()

    def take(idx: int) -> None:
        if idx not in last and idx not in other and idx not in seen:
            res.append(idx)
            seen.add(idx)

    for vh1 in last_ring:
        ring = vv[vh1]
        after_last_ring = False
        for vh2 in ring:
            if after_last_ring:
                take(vh2)
            if vh2 in last:
                after_last_ring = True
        for vh2 in ring:
            if vh2 in last:
                break
            take(vh2)
    return res


def _ring_spiral(vv: list[list[int]], v0: int, length: int) -> list[int] | None:
    """The ring-walk spiral of ``v0`` with at least ``length`` entries, or None if rings run out."""
    spiral = [v0]
    in_spiral = {v0}
    last_ring = list(vv[v0])
    next_ring = _next_ring(vv, last_ring, in_spiral)
    spiral.extend(last_ring)
    in_spiral.update(last_ring)
    while len(spiral) + len(next_ring) < length:
        if not next_ring:
            break
        last_ring = next_ring
        next_ring = _next_ring(vv, last_ring, in_spiral)
        spiral.extend(last_ring)
        in_spiral.update(last_ring)
    if not next_ring:
        return None
    spiral.extend(next_ring)
    return spiral


def nearest_vertices(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest points of each query vertex, sorted by distance then by index.

    Args:
        points: (V, 3) positions (compared in float64, as sklearn's KDTree does).
        queries: (Q,) vertex indices into ``points``.
        k: neighbours per query, at most V.

    Returns:
        (Q, k) int64; row ``i`` starts with ``queries[i]`` unless another vertex shares its
        position and has a smaller index.
    """
    points = np.asarray(points, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.int64)
    if k > len(points):
        raise InputShapeError(
            f"spiral fallback: needs {k} nearest vertices but the mesh has only {len(points)}"
        )
    out = np.empty((len(queries), k), dtype=np.int64)
    if len(queries) == 0:
        return out
    tree = cKDTree(points)
    dist, _ = tree.query(points[queries], k=k)
    dist = np.asarray(dist).reshape(len(queries), k)
    for row, (q, radius) in enumerate(zip(queries.tolist(), dist[:, -1].tolist(), strict=True)):
        # every point tied with the k-th one, then an exact, sklearn-like ordering
        cand = np.asarray(tree.query_ball_point(points[q], radius * (1 + 1e-9) + 1e-12))
        diff = points[cand] - points[q]
        d2 = (diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1]) + diff[:, 2] * diff[:, 2]
        order = np.lexsort((cand, d2))
        out[row] = cand[order[:k]]
    return out


def extract_spirals(
    vertices: np.ndarray,
    faces: np.ndarray,
    seq_length: int = 9,
    dilation: int = 1,
    vertex_vertex: list[list[int]] | None = None,
) -> np.ndarray:
    """Spiral indices of every vertex of a triangle mesh, in the reference (OpenMesh) order.

    Args:
        vertices: (V, 3) float positions; used only for the nearest-vertex fallback.
        faces: (F, 3) int vertex indices, in the order the mesh file lists them (the order
            matters: it decides OpenMesh's circulator starts).
        seq_length: entries per spiral (reference: 9).
        dilation: stride along the spiral (reference: 1).
        vertex_vertex: precomputed OpenMesh ``vv`` lists, if the caller already has them.

    Returns:
        (V, seq_length) int64; row ``v`` starts with ``v``.
    """
    vertices = np.asarray(vertices)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InputShapeError(f"vertices: expected shape (V, 3), found {vertices.shape}")
    if not np.isfinite(vertices).all():
        raise InputShapeError("vertices: contains NaN or infinite values")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise InputShapeError(
            f"faces: expected an integer array of shape (F, 3), found {faces.dtype} {faces.shape}"
        )
    if len(faces):
        degenerate = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2])
        degenerate |= faces[:, 0] == faces[:, 2]
        if degenerate.any():
            raise InputShapeError(
                f"faces: {int(degenerate.sum())} faces repeat a vertex, e.g. face "
                f"{int(np.flatnonzero(degenerate)[0])}"
            )
    if int(seq_length) < 1 or int(dilation) < 1:
        raise InputShapeError(
            f"seq_length and dilation must be >= 1, found {seq_length} and {dilation}"
        )
    length = int(seq_length) * int(dilation)
    num_vertices = len(vertices)
    if vertex_vertex is None:
        vertex_vertex = HalfedgeMesh(num_vertices, faces).all_vertex_vertex_orders()
    elif len(vertex_vertex) != num_vertices:
        raise InputShapeError(
            f"vertex_vertex: expected {num_vertices} lists, found {len(vertex_vertex)}"
        )

    spirals = np.empty((num_vertices, length), dtype=np.int64)
    fallback: list[int] = []
    for v0 in range(num_vertices):
        spiral = _ring_spiral(vertex_vertex, v0, length)
        if spiral is None:
            fallback.append(v0)
        else:
            spirals[v0] = spiral[:length]
    if fallback:
        spirals[fallback] = nearest_vertices(vertices, np.asarray(fallback), length)
    return np.ascontiguousarray(spirals[:, ::dilation][:, :seq_length])
