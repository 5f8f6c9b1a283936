"""COMA-style mesh hierarchy: quadric decimation by a factor per level, D/U matrices, spirals.

Level 0 is the input mesh; level ``k + 1`` keeps ``ceil(V_k / factor)`` of the ORIGINAL vertices
of level ``k`` (positions are not moved, as in COMA), chosen by fast-simplification's quadric
edge collapses. ``D_{k+1}`` is an exact vertex selection; ``U_{k+1}`` gives every vertex of level
``k`` barycentric weights on the closest triangle of level ``k + 1``. Every level carries
SpiralNet++ spirals in the reference (OpenMesh) order. For SMPL-X:
10475 -> 2619 -> 655 -> 164 -> 41.

Public API: :class:`MeshHierarchy`, :func:`build_hierarchy`, :func:`decimate`,
:func:`check_level_mesh`, :func:`save_hierarchy`, :func:`load_hierarchy`,
:func:`load_or_build_hierarchy`. ``python -m posa_model.mesh.hierarchy --standin`` rebuilds the
shipped stand-in asset.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import HierarchyError, InputShapeError
from ..io_utils import atomic_savez, npz_scalar, read_npz_bounded
from .halfedge import HalfedgeMesh
from .spirals import extract_spirals

log = logging.getLogger(__name__)

#: Version of the on-disk ``.npz`` layout written by :func:`save_hierarchy`.
FORMAT_VERSION = 1
#: Bump when :func:`build_hierarchy` would produce different output, to invalidate caches.
BUILD_VERSION = 1
#: Most levels a stored hierarchy may have, and the largest spiral length / dilation it may use.
MAX_LEVELS = 16
MAX_SEQ_LENGTH = 64
MAX_DILATION = 16
#: Largest uncompressed content of a hierarchy (or stand-in body) ``.npz`` that is read.
MAX_FILE_BYTES = 1 << 30

# Stored field -> the numpy kinds it may have ("f" float, "iu" integer).
_FIELD_KINDS = {"vertices": "fiu", "faces": "iu", "spirals": "iu", "down": "iu",
                "up_index": "iu", "up_weight": "fiu"}

_ASSETS = Path(__file__).resolve().parents[1] / "assets"
STANDIN_BODY_PATH = _ASSETS / "standin" / "smplx" / "SMPLX_NEUTRAL.npz"
STANDIN_HIERARCHY_PATH = _ASSETS / "standin_hierarchy.npz"


# =================================================================================== dataclass
@dataclass(frozen=True, eq=False)
class MeshHierarchy:
    """A mesh at ``levels + 1`` resolutions with the operators between them.

    Per level ``k = 0..levels``:
        vertices[k]: (V_k, 3) float32 positions (level k > 0: surviving original vertices).
        faces[k]: (F_k, 3) int64, counter-clockwise as the input.
        spirals[k]: (V_k, seq_length) int64 SpiralNet++ indices into level k.
    Per step ``k = 0..levels-1`` (level k -> level k + 1):
        down[k]: (V_{k+1},) int64, level-k index of each level-(k+1) vertex (``D_{k+1}``).
        up_index[k]: (V_k, 3) int64 level-(k+1) vertices of the triangle each level-k vertex is
            projected on; up_weight[k]: (V_k, 3) float32 barycentric weights, rows sum to 1
            (``U_{k+1}``). A surviving vertex maps to itself with weight 1.

    Arrays are read-only. Use :meth:`D` / :meth:`U` for scipy matrices in the reference
    orientation and :attr:`fingerprint` to tie trained weights to this exact hierarchy.
    """

    vertices: tuple[np.ndarray, ...]
    faces: tuple[np.ndarray, ...]
    down: tuple[np.ndarray, ...]
    up_index: tuple[np.ndarray, ...]
    up_weight: tuple[np.ndarray, ...]
    spirals: tuple[np.ndarray, ...]
    seq_length: int = 9
    dilation: int = 1

    def __post_init__(self) -> None:
        fields = {
            "vertices": (np.float32, self.vertices),
            "faces": (np.int64, self.faces),
            "down": (np.int64, self.down),
            "up_index": (np.int64, self.up_index),
            "up_weight": (np.float32, self.up_weight),
            "spirals": (np.int64, self.spirals),
        }
        for name, (dtype, arrays) in fields.items():
            frozen = []
            for a in arrays:
                a = np.array(a, dtype=dtype, copy=True, order="C")
                a.setflags(write=False)
                frozen.append(a)
            object.__setattr__(self, name, tuple(frozen))
        object.__setattr__(self, "seq_length", int(self.seq_length))
        object.__setattr__(self, "dilation", int(self.dilation))
        validate_hierarchy(self)

    @property
    def levels(self) -> int:
        """Number of decimation steps (``len(vertices) - 1``)."""
        return len(self.vertices) - 1

    @property
    def num_vertices(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.vertices)

    def D(self, k: int) -> sp.csr_matrix:
        """``D_k`` (V_k, V_{k-1}): one 1 per row, selects level-k vertices from level k - 1."""
        self._check_step(k)
        idx = self.down[k - 1]
        n_rows, n_cols = len(idx), len(self.vertices[k - 1])
        data = np.ones(n_rows, dtype=np.float64)
        return sp.csr_matrix((data, (np.arange(n_rows), idx)), shape=(n_rows, n_cols))

    def U(self, k: int) -> sp.csr_matrix:
        """``U_k`` (V_{k-1}, V_k): barycentric interpolation from level k up to level k - 1."""
        self._check_step(k)
        idx, w = self.up_index[k - 1], self.up_weight[k - 1].astype(np.float64)
        rows = np.repeat(np.arange(len(idx)), 3)
        m = sp.csr_matrix((w.ravel(), (rows, idx.ravel())), shape=(len(idx), len(self.vertices[k])))
        m.sum_duplicates()
        m.eliminate_zeros()
        return m

    def _check_step(self, k: int) -> None:
        if not 1 <= k <= self.levels:
            raise IndexError(f"level step must be in 1..{self.levels}, got {k}")

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 hex over what a trained network depends on: faces, D, U, spirals, params.

        Positions are not included. U enters as an operator (canonical sparse matrix, weights
        rounded to 1e-4, zero weights dropped), so last-bit differences between machines and
        the padding of ``up_index`` rows with fewer than 3 weights do not change it.
        """
        h = hashlib.sha256()
        h.update(f"posa_model.MeshHierarchy/v1 seq={self.seq_length} dil={self.dilation}".encode())

        def put(name: str, a: np.ndarray) -> None:
            a = np.ascontiguousarray(a, dtype="<i8")
            h.update(f"|{name}{a.shape}|".encode())
            h.update(a.tobytes())

        for k in range(self.levels + 1):
            put(f"faces{k}", self.faces[k])
            put(f"spirals{k}", self.spirals[k])
        for k in range(self.levels):
            put(f"down{k}", self.down[k])
            # U as an operator: canonical CSR, weights rounded, zero weights dropped
            u = self.U(k + 1)
            u.data = np.rint(u.data * 1e4)
            u.eliminate_zeros()
            u.sort_indices()
            put(f"up_indptr{k}", u.indptr)
            put(f"up_indices{k}", u.indices)
            put(f"up_data{k}", u.data)
        return h.hexdigest()


def validate_hierarchy(h: MeshHierarchy, source: str = "MeshHierarchy") -> None:
    """Raise HierarchyError (naming ``source`` and the field) if ``h`` is inconsistent."""
    n_levels = len(h.vertices)
    if n_levels < 1:
        raise HierarchyError(f"{source}: needs at least one level, found none")
    for name, arrays, expected in (
        ("faces", h.faces, n_levels),
        ("spirals", h.spirals, n_levels),
        ("down", h.down, n_levels - 1),
        ("up_index", h.up_index, n_levels - 1),
        ("up_weight", h.up_weight, n_levels - 1),
    ):
        if len(arrays) != expected:
            raise HierarchyError(
                f"{source}: field {name!r}: expected {expected} arrays for "
                f"{n_levels} levels, found {len(arrays)}"
            )
    if h.seq_length < 1 or h.dilation < 1:
        raise HierarchyError(
            f"{source}: seq_length and dilation must be >= 1, found {h.seq_length}, {h.dilation}"
        )

    def fail(field: str, k: int, what: str) -> None:
        raise HierarchyError(f"{source}: field '{field}_{k}': {what}")

    counts = []
    for k in range(n_levels):
        v, f, s = h.vertices[k], h.faces[k], h.spirals[k]
        if v.ndim != 2 or v.shape[1] != 3:
            fail("vertices", k, f"expected shape (V, 3), found {v.shape}")
        if not np.isfinite(v).all():
            fail("vertices", k, "contains NaN or infinite values")
        n = len(v)
        counts.append(n)
        if f.ndim != 2 or f.shape[1] != 3:
            fail("faces", k, f"expected shape (F, 3), found {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= n):
            fail("faces", k, f"indices must lie in [0, {n}), found [{f.min()}, {f.max()}]")
        if f.size:
            bad = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                fail("faces", k, f"{int(bad.sum())} degenerate faces repeat a vertex, e.g. "
                     f"face {i} {f[i].tolist()}")
        if s.shape != (n, h.seq_length):
            fail("spirals", k, f"expected shape ({n}, {h.seq_length}), found {s.shape}")
        if s.size and (s.min() < 0 or s.max() >= n):
            fail("spirals", k, f"indices must lie in [0, {n}), found [{s.min()}, {s.max()}]")
        if n and not np.array_equal(s[:, 0], np.arange(n)):
            fail("spirals", k, "column 0 must be the vertex itself (0..V-1)")
    for k in range(n_levels - 1):
        d, ui, uw = h.down[k], h.up_index[k], h.up_weight[k]
        fine, coarse = counts[k], counts[k + 1]
        if d.shape != (coarse,):
            fail("down", k, f"expected shape ({coarse},), found {d.shape}")
        if d.size and (d.min() < 0 or d.max() >= fine):
            fail("down", k, f"indices must lie in [0, {fine}), found [{d.min()}, {d.max()}]")
        if len(np.unique(d)) != len(d):
            fail("down", k, "selects some level vertex twice")
        if ui.shape != (fine, 3):
            fail("up_index", k, f"expected shape ({fine}, 3), found {ui.shape}")
        if ui.size and (ui.min() < 0 or ui.max() >= coarse):
            found = f"[{ui.min()}, {ui.max()}]"
            fail("up_index", k, f"indices must lie in [0, {coarse}), found {found}")
        if uw.shape != (fine, 3):
            fail("up_weight", k, f"expected shape ({fine}, 3), found {uw.shape}")
        if not np.isfinite(uw).all() or (uw.size and uw.min() < -1e-4):
            fail("up_weight", k, "weights must be finite and non-negative")
        sums = uw.astype(np.float64).sum(1)
        if sums.size and np.abs(sums - 1).max() > 1e-4:
            row = int(np.argmax(np.abs(sums - 1)))
            fail("up_weight", k, f"rows must sum to 1, row {row} sums to {sums[row]:.6g}")


# =================================================================================== checks
def _halfedge_pairs(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed halfedges (from, to) per face corner and, for each, its twin or -1."""
    src = faces.ravel()
    dst = faces[:, [1, 2, 0]].ravel()
    n = int(max(faces.max(), 0)) + 1 if faces.size else 1
    key = src.astype(np.int64) * n + dst
    rkey = dst.astype(np.int64) * n + src
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], rkey)
    pos = np.minimum(pos, len(key) - 1)
    twin = np.where(key[order][pos] == rkey, order[pos], -1) if len(key) else pos
    return src, dst, twin


def check_level_mesh(num_vertices: int, faces: np.ndarray, level: int | str) -> None:
    """Raise HierarchyError unless the mesh is a connected, oriented, manifold triangle mesh.

    Checks, in order: no face repeats a vertex; no duplicated face; every edge has one or two
    faces (edge-manifold); edges with two faces are walked in opposite directions (consistent
    orientation); the faces around every vertex form one fan (vertex-manifold); every vertex is
    used; all faces form one connected piece. Open boundaries are allowed.
    """
    faces = np.asarray(faces, dtype=np.int64)
    where = f"level {level}"
    if len(faces) == 0:
        raise HierarchyError(f"{where}: mesh has no faces")
    bad = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HierarchyError(
            f"{where}: {int(bad.sum())} degenerate faces repeat a vertex, e.g. face {i} "
            f"{faces[i].tolist()}"
        )
    uniq, counts = np.unique(np.sort(faces, axis=1), axis=0, return_counts=True)
    if (counts > 1).any():
        raise HierarchyError(
            f"{where}: {int((counts > 1).sum())} faces are duplicated, e.g. vertices "
            f"{uniq[counts > 1][0].tolist()}"
        )
    edges = np.sort(np.stack([faces.ravel(), faces[:, [1, 2, 0]].ravel()], 1), axis=1)
    uedges, ecount = np.unique(edges, axis=0, return_counts=True)
    if (ecount > 2).any():
        e = uedges[ecount > 2][0].tolist()
        raise HierarchyError(
            f"{where}: non-manifold mesh: {int((ecount > 2).sum())} edges have more than two "
            f"faces, e.g. edge {e}"
        )
    src, dst, twin = _halfedge_pairs(faces)
    directed = np.stack([src, dst], 1)
    _, dcount = np.unique(directed, axis=0, return_counts=True)
    if (dcount > 1).any():
        e = np.unique(directed, axis=0)[dcount > 1][0].tolist()
        raise HierarchyError(
            f"{where}: inconsistent face orientation: {int((dcount > 1).sum())} edges are "
            f"walked twice in the same direction, e.g. {e}"
        )
    used = np.zeros(num_vertices, dtype=bool)
    used[faces.ravel()] = True
    if not used.all():
        raise HierarchyError(
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
        raise HierarchyError(
            f"{where}: non-manifold mesh: {len(bad_v)} vertices join separate fans of faces, "
            f"e.g. vertex {int(bad_v[0])}"
        )
    fgraph = sp.coo_matrix((np.ones(len(h)), (f_h, f_t)), shape=(len(faces), len(faces)))
    n_parts, flabels = connected_components(fgraph, directed=False)
    if n_parts != 1:
        sizes = np.bincount(flabels)
        raise HierarchyError(
            f"{where}: mesh is not connected: {n_parts} separate pieces with "
            f"{sorted(sizes.tolist(), reverse=True)[:5]} faces"
        )


# =================================================================================== decimation
@dataclass(frozen=True)
class Decimation:
    """One decimation step: the kept original vertices and the coarse faces."""

    survivors: np.ndarray  # (V_c,) int64, sorted indices into the fine mesh
    faces: np.ndarray  # (F_c, 3) int64 into the coarse vertex list
    collapses: np.ndarray  # (V_f - V_c, 2) int64 [kept, removed], in the order applied
    skipped: int  # collapses of fast-simplification's record that were not applied


class _CollapseMesh:
    """Minimal dynamic triangle mesh for replaying edge collapses that keep original vertices.

    A collapse of edge (a, b) removes one endpoint and keeps the other at its ORIGINAL position
    (COMA's convention). It is allowed only if the link condition holds (the surface stays a
    manifold) and no surviving face flips or turns into a sliver; of the two endpoints, the one
    with the lower quadric error is kept (ties: the one fast-simplification kept).
    """

    #: A face may turn by at most ~78 degrees (fast-simplification's own limit); relaxed to 90
    #: degrees by :func:`decimate` when no collapse passes.
    MIN_NORMAL_COS = 0.2
    #: Faces whose corner at the moved vertex is this close to 0 or 180 degrees are slivers.
    MAX_CORNER_COS = 0.999

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        num_vertices = len(vertices)
        self.pos = [tuple(p) for p in vertices.tolist()]
        self.faces = faces.tolist()
        self.alive = [True] * len(self.faces)
        self.vfaces: list[set[int]] = [set() for _ in range(num_vertices)]
        self.nbrs: list[set[int]] = [set() for _ in range(num_vertices)]
        for fi, (a, b, c) in enumerate(self.faces):
            for x, y, z in ((a, b, c), (b, c, a), (c, a, b)):
                self.vfaces[x].add(fi)
                self.nbrs[x].update((y, z))
        self.dead = [False] * num_vertices
        self.min_normal_cos = self.MIN_NORMAL_COS
        # plane quadrics (Garland-Heckbert), one 4x4 per vertex
        tri = vertices[faces]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        plane = np.c_[n, -(n * tri[:, 0]).sum(1)]
        kp = plane[:, :, None] * plane[:, None, :]
        self.face_normal = [tuple(x) for x in n.tolist()]  # unit normal as in the input
        self.quadric = np.zeros((num_vertices, 4, 4))
        for j in range(3):
            np.add.at(self.quadric, faces[:, j], kp)

    def _on_boundary(self, v: int) -> bool:
        fv = self.vfaces[v]
        return any(len(fv & self.vfaces[w]) == 1 for w in self.nbrs[v])

    def _link_ok(self, a: int, b: int) -> bool:
        """Edge exists and collapsing it keeps the mesh a manifold (link condition)."""
        if self.dead[a] or self.dead[b] or b not in self.nbrs[a]:
            return False
        shared = self.vfaces[a] & self.vfaces[b]
        common = self.nbrs[a] & self.nbrs[b]
        if len(common) != len(shared) or not shared:
            return False
        if len(shared) == 2 and self._on_boundary(a) and self._on_boundary(b):
            return False  # an inner edge between two boundary vertices: would pinch
        return len(self.vfaces[a] | self.vfaces[b]) > len(shared) + 2  # not a tetrahedron

    def _shape_ok(self, keep: int, gone: int) -> bool:
        """No face of ``gone`` flips or becomes a sliver when ``gone`` moves onto ``keep``.

        A face must stay within ~78 degrees of both its current and its input orientation.
        """
        min_cos, max_corner = self.min_normal_cos, self.MAX_CORNER_COS
        nx, ny, nz = self.pos[keep]
        ox, oy, oz = self.pos[gone]
        for fi in self.vfaces[gone] - self.vfaces[keep]:
            f = self.faces[fi]
            j = f.index(gone)
            px, py, pz = self.pos[f[(j + 1) % 3]]
            qx, qy, qz = self.pos[f[(j + 2) % 3]]
            # new normal: (p - new) x (q - new)
            ax, ay, az, bx, by, bz = px - nx, py - ny, pz - nz, qx - nx, qy - ny, qz - nz
            cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
            c2 = cx * cx + cy * cy + cz * cz
            if c2 == 0.0:
                return False
            # sliver: the corner at the moved vertex is almost 0 or 180 degrees
            ab = ax * bx + ay * by + az * bz
            if ab * ab > max_corner * max_corner * (ax * ax + ay * ay + az * az) * (
                bx * bx + by * by + bz * bz
            ):
                return False
            # current normal: (p - old) x (q - old); input normal: stored
            ux, uy, uz, vx, vy, vz = px - ox, py - oy, pz - oz, qx - ox, qy - oy, qz - oz
            ex, ey, ez = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
            e2 = ex * ex + ey * ey + ez * ez
            dot = cx * ex + cy * ey + cz * ez
            if dot <= 0.0 or dot * dot < min_cos * min_cos * c2 * e2:
                return False
            rx, ry, rz = self.face_normal[fi]
            dot = cx * rx + cy * ry + cz * rz
            if dot <= 0.0 or dot * dot < min_cos * min_cos * c2 * (rx * rx + ry * ry + rz * rz):
                return False
        return True

    def choose(self, i0: int, i1: int) -> tuple[int, int] | None:
        """(keep, gone) for collapsing edge (i0, i1), or None if it must not be collapsed."""
        if not self._link_ok(i0, i1):
            return None
        q = self.quadric[i0] + self.quadric[i1]
        best: tuple[float, int, int] | None = None
        for keep, gone in ((i0, i1), (i1, i0)):
            if self._shape_ok(keep, gone):
                h = np.array([*self.pos[keep], 1.0])
                error = float(h @ q @ h)
                if best is None or error < best[0]:
                    best = (error, keep, gone)
        return None if best is None else (best[1], best[2])

    def collapse(self, keep: int, gone: int) -> None:
        shared = self.vfaces[keep] & self.vfaces[gone]
        for fi in self.vfaces[gone]:
            f = self.faces[fi]
            if fi in shared:
                self.alive[fi] = False
                for x in f:
                    if x != gone:
                        self.vfaces[x].discard(fi)
            else:
                f[f.index(gone)] = keep
                self.vfaces[keep].add(fi)
        for w in self.nbrs[gone]:
            self.nbrs[w].discard(gone)
            if w != keep:
                self.nbrs[w].add(keep)
                self.nbrs[keep].add(w)
        self.quadric[keep] += self.quadric[gone]
        self.vfaces[gone] = set()
        self.nbrs[gone] = set()
        self.dead[gone] = True


def decimate(
    vertices: np.ndarray, faces: np.ndarray, target_vertices: int, level: int | str = "?"
) -> Decimation:
    """Quadric decimation to exactly ``target_vertices`` vertices, keeping original vertices.

    fast-simplification supplies the quadric-error collapse order (``return_collapses``: edge
    pairs in the order it collapsed them). Its decimator moves vertices to optimal positions and
    does not check the link condition, so replaying its pairs with original positions can pinch
    the surface (non-manifold edges, orphaned vertices) or fold faces. The record is therefore
    replayed here on the original connectivity and positions (:class:`_CollapseMesh`): a pair
    is applied only when the edge still exists, the link condition holds and no face flips;
    the endpoint with the lower quadric error is kept. This continues until exactly
    ``V - target_vertices`` vertices are removed (asking fast-simplification for a longer
    record if needed). Faces keep their input order; the faces of each collapsed edge are
    dropped. The result is cross-checked with ``fast_simplification.replay_simplification``
    on the applied (kept, removed) pairs.

    Raises:
        HierarchyError: not enough valid collapses, or the replay disagrees.
    """
    import fast_simplification

    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    n_vertices = len(vertices)
    n = n_vertices - int(target_vertices)
    if not 0 < target_vertices <= n_vertices:
        raise HierarchyError(
            f"level {level}: cannot decimate {n_vertices} vertices to {target_vertices}"
        )
    mesh = _CollapseMesh(vertices, faces)
    applied: list[tuple[int, int]] = []
    skipped = 0
    while len(applied) < n:
        # One round: a fresh record for the current (partly decimated) mesh, replayed with checks.
        # Within a round the record does not depend on the face target (the target only decides
        # where to stop), so when a round makes no progress a longer record is asked for.
        alive_v = np.flatnonzero(~np.asarray(mesh.dead))
        local = np.full(n_vertices, -1, dtype=np.int64)
        local[alive_v] = np.arange(len(alive_v))
        cur_faces = local[np.asarray(mesh.faces, dtype=np.int64)[np.asarray(mesh.alive)]]
        target_faces = max(0, len(cur_faces) - 2 * (n - len(applied)) - 16)
        used, progress = 0, False
        while True:
            _, _, record = fast_simplification.simplify(
                vertices[alive_v],
                cur_faces.astype(np.int32),
                target_count=target_faces,
                return_collapses=True,
            )
            record = alive_v[np.asarray(record, dtype=np.int64).reshape(-1, 2)]
            for i0, i1 in record[used:].tolist():
                used += 1
                pair = mesh.choose(i0, i1)
                if pair is None:
                    skipped += 1
                    continue
                mesh.collapse(*pair)
                applied.append(pair)
                progress = True
                if len(applied) == n:
                    break
            if progress or len(applied) == n:
                break
            if target_faces > 0:
                target_faces = max(0, target_faces - max(64, len(cur_faces) // 8))
            elif mesh.min_normal_cos > 0.0:
                # stalled: allow faces to turn by up to 90 degrees (still no flips)
                mesh.min_normal_cos = 0.0
                used = 0
            else:
                raise HierarchyError(
                    f"level {level}: quadric decimation found only {len(applied)} valid edge "
                    f"collapses (no pinching, no flipped faces), {n} are needed to go from "
                    f"{n_vertices} to {target_vertices} vertices"
                )

    removed = np.asarray(mesh.dead)
    survivors = np.flatnonzero(~removed)
    new_index = np.full(n_vertices, -1, dtype=np.int64)
    new_index[survivors] = np.arange(len(survivors))
    alive = np.asarray(mesh.alive)
    coarse_faces = new_index[np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)[alive]]
    collapses = np.asarray(applied, dtype=np.int64).reshape(-1, 2)

    # cross-check with fast-simplification's own replay of the applied collapses
    parent = np.arange(n_vertices)
    parent[collapses[:, 1]] = collapses[:, 0]
    root = parent.copy()
    while not np.array_equal(root[root], root):
        root = root[root]
    _, replay_faces, mapping = fast_simplification.replay_simplification(
        vertices, faces.astype(np.int32), collapses.astype(np.int32)
    )
    ours = np.unique(np.sort(coarse_faces, axis=1), axis=0)
    theirs = np.unique(np.sort(np.asarray(replay_faces, dtype=np.int64), axis=1), axis=0)
    if (
        (coarse_faces < 0).any()
        or not np.array_equal(np.asarray(mapping, dtype=np.int64), new_index[root])
        or not np.array_equal(ours, theirs)
    ):
        raise HierarchyError(
            f"level {level}: decimation to {target_vertices} vertices disagrees with "
            "fast_simplification's replay of the same collapses"
        )
    return Decimation(survivors, coarse_faces, collapses, skipped)


# =================================================================================== upsampling
def _closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Barycentric weights (N, 3) of the closest point of each triangle to each point, and the
    squared distances (N,). Rows of all inputs correspond; float64."""

    def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", x, y)

    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = dot(ab, ap), dot(ac, ap)
    bp = p - b
    d3, d4 = dot(ab, bp), dot(ac, bp)
    cp = p - c
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ab = d1 / (d1 - d3)
        t_ac = d2 / (d2 - d6)
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        denom = va + vb + vc
        v_in, w_in = vb / denom, vc / denom
    zeros, ones = np.zeros_like(d1), np.ones_like(d1)
    conditions = [
        (d1 <= 0) & (d2 <= 0),
        (d3 >= 0) & (d4 <= d3),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0),
        (d6 >= 0) & (d5 <= d6),
        (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0),
    ]
    w = np.empty((len(p), 3))
    with np.errstate(invalid="ignore"):  # unused branches may hold inf - inf
        w[:, 0] = np.select(
            conditions, [ones, zeros, 1 - t_ab, zeros, 1 - t_ac, zeros], 1 - v_in - w_in
        )
        w[:, 1] = np.select(conditions, [zeros, ones, t_ab, zeros, zeros, 1 - t_bc], v_in)
        w[:, 2] = np.select(conditions, [zeros, zeros, zeros, ones, t_ac, t_bc], w_in)
    bad = ~np.isfinite(w).all(1)
    if bad.any():  # degenerate triangle: fall back to its nearest corner
        corners = np.stack([a[bad], b[bad], c[bad]], 1)
        k = np.argmin(((corners - p[bad, None]) ** 2).sum(-1), axis=1)
        w[bad] = np.eye(3)[k]
    w = np.clip(w, 0.0, 1.0)
    w /= w.sum(1, keepdims=True)
    closest = w[:, :1] * a + w[:, 1:2] * b + w[:, 2:] * c
    return w, ((closest - p) ** 2).sum(1)


def closest_triangles(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact closest triangle of a mesh for each point.

    Triangles are tried by centroid distance, 16 first, then 64, 256, ... per point, until the
    answer is provably exact: any triangle not tried is at least (distance of the last centroid
    tried - largest centroid-to-corner radius) away.

    Args:
        points: (P, 3); vertices: (V, 3); faces: (F, 3) int.

    Returns:
        face index (P,) int64 (ties: lowest index), barycentric weights (P, 3) float64 on that
        face's vertices (non-negative, rows sum to 1), squared distance (P,) float64.
    """
    points = np.asarray(points, dtype=np.float64)
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    tri = vertices[faces]
    centroid = tri.mean(1)
    r_max = float(np.sqrt(((tri - centroid[:, None]) ** 2).sum(-1).max()))
    tree = cKDTree(centroid)
    best_face = np.zeros(len(points), dtype=np.int64)
    best_w = np.zeros((len(points), 3))
    best_d = np.zeros(len(points))
    pending = np.arange(len(points))
    k = 16
    while len(pending):
        k = min(k, len(faces))
        cdist, cidx = tree.query(points[pending], k=k)
        cdist, cidx = cdist.reshape(-1, k), cidx.reshape(-1, k)
        t = tri[cidx.ravel()]
        w, d = _closest_on_triangles(np.repeat(points[pending], k, 0), t[:, 0], t[:, 1], t[:, 2])
        d = d.reshape(-1, k)
        j = np.lexsort((cidx, d), axis=1)[:, 0]
        rows = np.arange(len(pending))
        best_face[pending] = cidx[rows, j]
        best_w[pending] = w.reshape(-1, k, 3)[rows, j]
        best_d[pending] = d[rows, j]
        if k == len(faces):
            break
        pending = pending[np.sqrt(d[rows, j]) > cdist[:, -1] - r_max]
        k *= 4
    return best_face, best_w, best_d


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
    first_face = np.full(len(coarse_vertices), -1, dtype=np.int64)
    flat = coarse_faces.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(len(coarse_vertices)))
    has = starts < len(flat)
    has[has] = flat[order][starts[has]] == np.arange(len(coarse_vertices))[has]
    first_face[has] = order[starts[has]] // 3
    for ci, fi in enumerate(survivors.tolist()):
        tri = coarse_faces[first_face[ci]] if first_face[ci] >= 0 else np.array([ci, ci, ci])
        shift = int(np.flatnonzero(tri == ci)[0])
        up_index[fi] = np.roll(tri, -shift)
        up_weight[fi] = (1.0, 0.0, 0.0)
    up_weight = up_weight.astype(np.float32)
    up_weight /= up_weight.sum(1, keepdims=True)
    return up_index.astype(np.int64), up_weight


# =================================================================================== build
def _check_input(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InputShapeError(f"vertices: expected shape (V, 3), found {vertices.shape}")
    if not np.issubdtype(vertices.dtype, np.floating) or not np.isfinite(vertices).all():
        raise InputShapeError(f"vertices: expected finite floats, found {vertices.dtype}")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise InputShapeError(
            f"faces: expected an integer array of shape (F, 3), found {faces.dtype} {faces.shape}"
        )
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise InputShapeError(
            f"faces: indices must lie in [0, {len(vertices)}), found [{faces.min()}, {faces.max()}]"
        )
    return vertices.astype(np.float64), faces.astype(np.int64)


def build_hierarchy(
    vertices: np.ndarray,
    faces: np.ndarray,
    factor: int = 4,
    levels: int = 4,
    seq_length: int = 9,
    dilation: int = 1,
) -> MeshHierarchy:
    """Build a COMA-style hierarchy with SpiralNet++ spirals on every level.

    Args:
        vertices: (V, 3) float positions of level 0 (metres for a body).
        faces: (F, 3) int, a connected, consistently oriented, manifold triangle mesh.
        factor: vertex reduction per level: ``V_{k+1} = ceil(V_k / factor)``.
        levels: number of decimation steps.
        seq_length, dilation: spiral parameters (reference: 9, 1).

    Raises:
        HierarchyError: a level is not manifold / oriented / connected, or decimation cannot
            reach the vertex count; the message names the level.
    """
    v0, f0 = _check_input(vertices, faces)
    if int(factor) < 2 or int(levels) < 0:
        raise InputShapeError(f"factor must be >= 2 and levels >= 0, found {factor}, {levels}")
    check_level_mesh(len(v0), f0, 0)
    verts, facs, down, up_i, up_w = [v0], [f0], [], [], []
    for k in range(int(levels)):
        target = math.ceil(len(verts[k]) / int(factor))
        dec = decimate(verts[k], facs[k], target, level=k + 1)
        check_level_mesh(target, dec.faces, k + 1)
        coarse = verts[k][dec.survivors]
        ui, uw = upsampling(verts[k], coarse, dec.faces, dec.survivors)
        verts.append(coarse)
        facs.append(dec.faces)
        down.append(dec.survivors)
        up_i.append(ui)
        up_w.append(uw)
    spirals = []
    for k, (v, f) in enumerate(zip(verts, facs, strict=True)):
        hm = HalfedgeMesh(len(v), f)
        if hm.rejected_faces:
            i, why = hm.rejected_faces[0]
            raise HierarchyError(f"level {k}: face {i} is refused by the halfedge builder ({why})")
        spirals.append(
            extract_spirals(v, f, seq_length, dilation, vertex_vertex=hm.all_vertex_vertex_orders())
        )
    return MeshHierarchy(
        vertices=tuple(verts),
        faces=tuple(facs),
        down=tuple(down),
        up_index=tuple(up_i),
        up_weight=tuple(up_w),
        spirals=tuple(spirals),
        seq_length=seq_length,
        dilation=dilation,
    )


# =================================================================================== disk
def _arrays_of(h: MeshHierarchy) -> dict[str, np.ndarray]:
    def small(a: np.ndarray) -> np.ndarray:
        return a.astype(np.int32) if a.size == 0 or a.max() < 2**31 - 1 else a

    out: dict[str, np.ndarray] = {
        "format_version": np.int64(FORMAT_VERSION),
        "levels": np.int64(h.levels),
        "seq_length": np.int64(h.seq_length),
        "dilation": np.int64(h.dilation),
        "fingerprint": np.str_(h.fingerprint),
    }
    for k in range(h.levels + 1):
        out[f"vertices_{k}"] = h.vertices[k]
        out[f"faces_{k}"] = small(h.faces[k])
        out[f"spirals_{k}"] = small(h.spirals[k])
    for k in range(h.levels):
        out[f"down_{k}"] = small(h.down[k])
        out[f"up_index_{k}"] = small(h.up_index[k])
        out[f"up_weight_{k}"] = h.up_weight[k]
    return out


def save_hierarchy(
    h: MeshHierarchy, path: str | os.PathLike, source_key: str | None = None
) -> Path:
    """Write ``h`` to a compressed ``.npz`` atomically (no pickles); returns the path.

    ``source_key`` (optional, e.g. :func:`input_key` of the mesh it was built from) is stored
    as field ``source_key`` so that a stale file can be detected; :func:`load_hierarchy`
    ignores it, :func:`stored_source_key` reads it.
    """
    arrays = _arrays_of(h)
    if source_key is not None:
        arrays["source_key"] = np.str_(source_key)
    return atomic_savez(path, compressed=True, **arrays)


def _require_hierarchy_file(path: Path) -> None:
    if not os.path.lexists(path):
        raise HierarchyError(f"{path}: hierarchy file not found")


def stored_source_key(path: str | os.PathLike) -> str | None:
    """The ``source_key`` saved with a hierarchy file, or None if it has none."""
    path = Path(path)
    _require_hierarchy_file(path)
    data = read_npz_bounded(path, "hierarchy", keys=("source_key",), kinds="US",
                            error=HierarchyError)
    if "source_key" not in data:
        return None
    return npz_scalar(data, "source_key", str(path), "US", HierarchyError)


def _int_field(data: dict[str, np.ndarray], path: Path, key: str, lo: int, hi: int) -> int:
    value = npz_scalar(data, key, str(path), "iu", HierarchyError)
    if not lo <= value <= hi:
        raise HierarchyError(f"{path}: field {key!r} must be in {lo}..{hi}, found {value}")
    return int(value)


def load_hierarchy(path: str | os.PathLike) -> MeshHierarchy:
    """Read a file written by :func:`save_hierarchy`, validating it and its fingerprint.

    Bounded: the file must be a regular file, its arrays are read through
    :func:`posa_model.io_utils.read_npz_bounded` (at most :data:`MAX_FILE_BYTES`), the header
    fields must be integer scalars in range and each array of the kind its field needs.

    Raises:
        HierarchyError: naming the file and the field, for every malformed input.
    """
    path = Path(path)
    _require_hierarchy_file(path)
    data = read_npz_bounded(path, "hierarchy", max_bytes=MAX_FILE_BYTES, error=HierarchyError)
    version = npz_scalar(data, "format_version", str(path), "iu", HierarchyError)
    if version != FORMAT_VERSION:
        raise HierarchyError(
            f"{path}: field 'format_version': expected {FORMAT_VERSION}, found {version}"
        )
    levels = _int_field(data, path, "levels", 0, MAX_LEVELS)
    seq_length = _int_field(data, path, "seq_length", 1, MAX_SEQ_LENGTH)
    dilation = _int_field(data, path, "dilation", 1, MAX_DILATION)
    stored = npz_scalar(data, "fingerprint", str(path), "US", HierarchyError)

    def get(name: str, k: int) -> np.ndarray:
        key = f"{name}_{k}"
        if key not in data:
            raise HierarchyError(f"{path}: field {key!r} is missing")
        a = data[key]
        if a.dtype.kind not in _FIELD_KINDS[name]:
            raise HierarchyError(f"{path}: field {key!r} must hold "
                                 f"{'numbers' if 'f' in _FIELD_KINDS[name] else 'integers'}, "
                                 f"found dtype {a.dtype}")
        return a

    try:
        h = MeshHierarchy(
            vertices=tuple(get("vertices", k) for k in range(levels + 1)),
            faces=tuple(get("faces", k) for k in range(levels + 1)),
            down=tuple(get("down", k) for k in range(levels)),
            up_index=tuple(get("up_index", k) for k in range(levels)),
            up_weight=tuple(get("up_weight", k) for k in range(levels)),
            spirals=tuple(get("spirals", k) for k in range(levels + 1)),
            seq_length=seq_length,
            dilation=dilation,
        )
    except HierarchyError as exc:
        raise HierarchyError(f"{path}: {exc}") from exc
    if stored != h.fingerprint:
        raise HierarchyError(
            f"{path}: field 'fingerprint': stored {stored[:16]}..., recomputed "
            f"{h.fingerprint[:16]}... (the file was modified or is corrupt)"
        )
    return h


def default_cache_dir() -> Path:
    """``$POSA_CACHE_DIR/hierarchies`` or ``~/.cache/posa_model/hierarchies``."""
    root = os.environ.get("POSA_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "posa_model"
    return base / "hierarchies"


def input_key(vertices: np.ndarray, faces: np.ndarray, **params: int) -> str:
    """sha256 hex of a build's input: faces, positions rounded to 1e-6, parameters."""
    v, f = _check_input(vertices, faces)
    h = hashlib.sha256()
    h.update(f"posa_model.build_hierarchy/v{BUILD_VERSION}".encode())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(repr(f.shape).encode() + np.ascontiguousarray(f, dtype="<i8").tobytes())
    h.update(repr(v.shape).encode() + (np.rint(v * 1e6) + 0.0).astype("<f8").tobytes())
    return h.hexdigest()


def load_or_build_hierarchy(
    vertices: np.ndarray,
    faces: np.ndarray,
    cache_dir: str | os.PathLike | None = None,
    **params: int,
) -> MeshHierarchy:
    """:func:`build_hierarchy` with an on-disk cache keyed by :func:`input_key`.

    ``cache_dir`` (default :func:`default_cache_dir`) holds ``hierarchy_<key>.npz``, written
    atomically. A cached file that fails validation is rebuilt and replaced.
    """
    full = {"factor": 4, "levels": 4, "seq_length": 9, "dilation": 1}
    unknown = set(params) - set(full)
    if unknown:
        raise TypeError(f"load_or_build_hierarchy: unknown parameters {sorted(unknown)}")
    full.update({k: int(v) for k, v in params.items()})
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"hierarchy_{input_key(vertices, faces, **full)[:32]}.npz"
    if path.is_file():
        try:
            h = load_hierarchy(path)
            if (
                h.levels == full["levels"]
                and h.seq_length == full["seq_length"]
                and h.dilation == full["dilation"]
                and np.array_equal(h.faces[0], np.asarray(faces))
            ):
                return h
            log.warning("hierarchy cache %s does not match its key; rebuilding", path)
        except HierarchyError as exc:
            log.warning("hierarchy cache unusable, rebuilding: %s", exc)
    h = build_hierarchy(vertices, faces, **full)
    save_hierarchy(h, path)
    return h


# =================================================================================== stand-in
STANDIN_PARAMS = {"factor": 4, "levels": 4, "seq_length": 9, "dilation": 1}


def _read_body(body_path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.lexists(body_path):
        raise HierarchyError(f"{body_path}: stand-in body file not found")
    z = read_npz_bounded(body_path, "stand-in body", keys=("v_template", "f"), kinds="fiu",
                         max_bytes=MAX_FILE_BYTES, error=HierarchyError)
    missing = [k for k in ("v_template", "f") if k not in z]
    if missing:
        raise HierarchyError(f"{body_path}: fields {missing} are missing")
    if z["f"].dtype.kind not in "iu":
        raise HierarchyError(f"{body_path}: field 'f' must hold integers, found {z['f'].dtype}")
    return z["v_template"], z["f"].astype(np.int64)


def body_source_key(body_path: str | os.PathLike = STANDIN_BODY_PATH) -> str:
    """:func:`input_key` of a body file's template mesh with the stand-in parameters."""
    v, f = _read_body(Path(body_path))
    return input_key(v, f, **STANDIN_PARAMS)


def build_standin(
    body_path: str | os.PathLike = STANDIN_BODY_PATH,
    out_path: str | os.PathLike = STANDIN_HIERARCHY_PATH,
    expected_counts: Sequence[int] | None = (10475, 2619, 655, 164, 41),
) -> MeshHierarchy:
    """Rebuild the shipped stand-in hierarchy from the stand-in SMPL-X body file.

    The file records the body's :func:`body_source_key`, so tests can tell when the body
    changed and the asset must be rebuilt.
    """
    body_path = Path(body_path)
    v, f = _read_body(body_path)
    h = build_hierarchy(v, f, **STANDIN_PARAMS)
    if expected_counts is not None and h.num_vertices != tuple(expected_counts):
        raise HierarchyError(
            f"{body_path}: hierarchy vertex counts {h.num_vertices}, expected "
            f"{tuple(expected_counts)}"
        )
    save_hierarchy(h, out_path, source_key=input_key(v, f, **STANDIN_PARAMS))
    return h


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.mesh.hierarchy", description="Build mesh hierarchies."
    )
    parser.add_argument(
        "--standin", action="store_true", help=f"rebuild {STANDIN_HIERARCHY_PATH.name}"
    )
    parser.add_argument("--body", default=str(STANDIN_BODY_PATH), help="body .npz (v_template, f)")
    parser.add_argument("--out", default=str(STANDIN_HIERARCHY_PATH), help="output .npz")
    args = parser.parse_args(argv)
    if not args.standin:
        parser.error("nothing to do: pass --standin")
    start = time.perf_counter()
    h = build_standin(args.body, args.out)
    seconds = time.perf_counter() - start
    size = Path(args.out).stat().st_size
    print(
        f"wrote {args.out}: vertices {h.num_vertices}, fingerprint {h.fingerprint[:16]}, "
        f"{size / 1e6:.2f} MB, built in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
