"""Topology of triangle meshes: the twin of every directed edge, and the one manifold check.

:func:`edge_twins` pairs each directed edge with its reverse; :func:`check_manifold` refuses a
mesh that is not one connected, consistently oriented, manifold surface (optionally closed). The
hierarchy builder checks every level with it, and the stand-in body generator
(``tools/standin``) checks its closed body mesh with it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import HierarchyError

__all__ = ["check_manifold", "corner_edges", "edge_twins"]


def corner_edges(faces: np.ndarray) -> np.ndarray:
    """(3 F, 2) int64 directed edges ``(from, to)`` in face-corner order: row ``3 f + j`` runs
    from corner ``j`` of face ``f`` to corner ``j + 1``."""
    faces = np.asarray(faces, dtype=np.int64)
    return np.stack([faces.ravel(), faces[:, [1, 2, 0]].ravel()], 1)


def edge_twins(edges: np.ndarray) -> np.ndarray:
    """(E,) int64: for each directed edge ``(a, b)`` of ``edges`` (E, 2), the row of an edge
    ``(b, a)``, or -1 where there is none (a boundary edge). Where several rows hold ``(b, a)``,
    the lowest one."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) == 0:
        return np.zeros(0, dtype=np.int64)
    n = int(max(edges.max(), 0)) + 1
    key = edges[:, 0] * n + edges[:, 1]
    reverse = edges[:, 1] * n + edges[:, 0]
    order = np.argsort(key, kind="stable")
    pos = np.minimum(np.searchsorted(key[order], reverse), len(key) - 1)
    return np.where(key[order][pos] == reverse, order[pos], -1)


def check_manifold(num_vertices: int, faces: np.ndarray, where: str, *, closed: bool = False,
                   error: type[Exception] = HierarchyError) -> None:
    """Raise ``error`` (its message starts with ``where``) unless ``faces`` (F, 3) over
    ``num_vertices`` vertices are one connected, consistently oriented, manifold triangle mesh.

    Checks, in order: face indices in range; no face repeats a vertex; no duplicated face; every
    edge has one or two faces (edge-manifold); edges with two faces are walked in opposite
    directions (consistent orientation); with ``closed``, every edge has two faces (no
    boundary); every vertex is used; the faces around every vertex form one fan
    (vertex-manifold); all faces form one connected piece. Without ``closed`` open boundaries
    are allowed. Geometry (areas, the direction of the normals) is not looked at.
    """
    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0:
        raise error(f"{where}: mesh has no faces")
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise error(f"{where}: face indices must lie in [0, {num_vertices}), found "
                    f"[{faces.min()}, {faces.max()}]")
    bad = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise error(
            f"{where}: {int(bad.sum())} degenerate faces repeat a vertex, e.g. face {i} "
            f"{faces[i].tolist()}"
        )
    uniq, counts = np.unique(np.sort(faces, axis=1), axis=0, return_counts=True)
    if (counts > 1).any():
        raise error(
            f"{where}: {int((counts > 1).sum())} faces are duplicated, e.g. vertices "
            f"{uniq[counts > 1][0].tolist()}"
        )
    directed = corner_edges(faces)
    uedges, ecount = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    if (ecount > 2).any():
        e = uedges[ecount > 2][0].tolist()
        raise error(
            f"{where}: non-manifold mesh: {int((ecount > 2).sum())} edges have more than two "
            f"faces, e.g. edge {e}"
        )
    twin = edge_twins(directed)
    _, dcount = np.unique(directed, axis=0, return_counts=True)
    if (dcount > 1).any():
        e = np.unique(directed, axis=0)[dcount > 1][0].tolist()
        raise error(
            f"{where}: inconsistent face orientation: {int((dcount > 1).sum())} edges are "
            f"walked twice in the same direction, e.g. {e}"
        )
    if closed and (twin < 0).any():
        raise error(f"{where}: {int((twin < 0).sum())} boundary half-edges (the mesh is not "
                    "closed)")
    used = np.zeros(num_vertices, dtype=bool)
    used[faces.ravel()] = True
    if not used.all():
        raise error(
            f"{where}: {int((~used).sum())} vertices belong to no face, e.g. vertex "
            f"{int(np.flatnonzero(~used)[0])}"
        )
    # vertex-manifold: corners of a vertex linked across shared edges must form one group
    n_corners = 3 * len(faces)
    h = np.flatnonzero(twin >= 0)
    t = twin[h]
    f_h, j_h = h // 3, h % 3
    f_t, j_t = t // 3, t % 3
    a = np.r_[h, 3 * f_h + (j_h + 1) % 3]  # corner of src in f_h, corner of dst in f_h
    b = np.r_[3 * f_t + (j_t + 1) % 3, t]  # same vertices in the twin's face
    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_corners, n_corners))
    n_groups, labels = connected_components(graph, directed=False)
    if n_groups != num_vertices:
        groups_per_vertex = np.zeros(num_vertices, dtype=np.int64)
        pairs = np.unique(np.stack([faces.ravel(), labels], 1), axis=0)
        np.add.at(groups_per_vertex, pairs[:, 0], 1)
        bad_v = np.flatnonzero(groups_per_vertex > 1)
        raise error(
            f"{where}: non-manifold mesh: {len(bad_v)} vertices join separate fans of faces, "
            f"e.g. vertex {int(bad_v[0])}"
        )
    fgraph = sp.coo_matrix((np.ones(len(h)), (f_h, f_t)), shape=(len(faces), len(faces)))
    n_parts, flabels = connected_components(fgraph, directed=False)
    if n_parts != 1:
        sizes = np.bincount(flabels)
        raise error(
            f"{where}: mesh is not connected: {n_parts} separate pieces with "
            f"{sorted(sizes.tolist(), reverse=True)[:5]} faces"
        )
