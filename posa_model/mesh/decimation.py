"""Quadric decimation that keeps original vertices (COMA's convention), with exact counts.

:func:`decimate` takes a mesh to exactly ``target_vertices`` of its own vertices, choosing the
edge collapses by fast-simplification's quadric errors and replaying them with manifold and
fold checks (:class:`_CollapseMesh`). :func:`posa_model.mesh.build.build_hierarchy` calls it once
per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HierarchyError

__all__ = ["Decimation", "decimate"]


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
