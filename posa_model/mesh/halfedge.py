"""Halfedge connectivity built face by face exactly as OpenMesh's ``PolyConnectivity`` builds it.

SpiralNet++ spirals start every ring where OpenMesh's vertex-vertex circulator (``mesh.vv(v)``)
starts, so a network trained on reference spirals only works with the same circulator order.
That order is a by-product of how ``add_face`` links halfedges and which outgoing halfedge each
vertex ends up storing. This module re-implements that construction in plain Python (no
OpenMesh dependency) so that :meth:`HalfedgeMesh.vertex_vertex_order` reproduces ``vv`` exactly,
for closed meshes, open meshes and meshes whose faces arrive in an order that forces OpenMesh to
re-link boundary patches. ``tests/test_spirals.py`` checks it against fixtures made with the real
``openmesh`` package (``tools/make_spiral_fixtures.py``).

Conventions (OpenMesh's):

* an edge ``k`` created for ``a -> b`` owns halfedges ``2k`` (``a -> b``) and ``2k + 1``
  (``b -> a``); the opposite of ``h`` is ``h ^ 1``;
* a halfedge with no face is a boundary halfedge; a vertex is a boundary vertex when it has no
  outgoing halfedge or its stored outgoing halfedge is a boundary halfedge;
* circulators turn clockwise: ``cw_rotated(h) = next(opposite(h))``.

Faces that OpenMesh refuses ("complex vertex", "complex edge", "patch re-linking failed") are
refused here too and listed in :attr:`HalfedgeMesh.rejected_faces`; the mesh stays as OpenMesh
would leave it. Degenerate faces (a vertex twice) are refused up front with an
:class:`~posa_model.errors.InputShapeError`: they corrupt the halfedge loops. Every walk around a
vertex or a boundary is bounded by the number of halfedges; a loop that does not close raises
:class:`~posa_model.errors.HierarchyError` instead of spinning forever.
"""

from __future__ import annotations

import numpy as np

from ..errors import HierarchyError, InputShapeError

INVALID = -1

#: Why a face was refused, in OpenMesh's words.
COMPLEX_VERTEX = "complex vertex"
COMPLEX_EDGE = "complex edge"
PATCH_RELINK_FAILED = "patch re-linking failed"


class HalfedgeMesh:
    """Triangle-mesh connectivity identical to ``openmesh.TriMesh(vertices, faces)``.

    Vertices ``0..num_vertices-1`` are added first, then ``faces`` in array order, each through a
    port of ``PolyConnectivity::add_face``. Only connectivity is stored; positions are not needed.

    Attributes:
        num_vertices: number of vertices (isolated ones included).
        to_vertex: per halfedge, the vertex it points to.
        next_halfedge / prev_halfedge: per halfedge, the next / previous halfedge in its loop.
        halfedge_face: per halfedge, its face or -1 on the boundary.
        vertex_halfedge: per vertex, its stored outgoing halfedge or -1 when isolated.
        face_halfedge: per accepted face, the halfedge OpenMesh stores for it.
        accepted_faces: indices (into the input) of the faces that were added.
        rejected_faces: ``(input face index, reason)`` for every refused face.
        relinked_patches: how many times ``add_face`` had to move a boundary patch.
    """

    def __init__(self, num_vertices: int, faces: np.ndarray) -> None:
        faces = np.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or (
                faces.size and not np.issubdtype(faces.dtype, np.integer)):
            raise InputShapeError(
                f"faces: expected integers of shape (F, 3), found {faces.dtype} {faces.shape}")
        if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
            raise InputShapeError(
                f"faces: indices must lie in [0, {num_vertices}), found range "
                f"[{faces.min()}, {faces.max()}]"
            )
        degenerate = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (
            faces[:, 0] == faces[:, 2])
        if degenerate.any():
            i = int(np.flatnonzero(degenerate)[0])
            raise InputShapeError(
                f"faces: {int(degenerate.sum())} degenerate faces repeat a vertex, e.g. face {i} "
                f"{faces[i].tolist()}"
            )
        self.num_vertices = int(num_vertices)
        self.to_vertex: list[int] = []
        self.next_halfedge: list[int] = []
        self.prev_halfedge: list[int] = []
        self.halfedge_face: list[int] = []
        self.vertex_halfedge: list[int] = [INVALID] * self.num_vertices
        self.face_halfedge: list[int] = []
        self.accepted_faces: list[int] = []
        self.rejected_faces: list[tuple[int, str]] = []
        self.relinked_patches = 0
        for index, (a, b, c) in enumerate(faces.tolist()):
            reason = self._add_face(a, b, c)
            if reason is None:
                self.accepted_faces.append(index)
            else:
                self.rejected_faces.append((index, reason))

    # ----------------------------------------------------------------------------- queries
    def is_boundary_vertex(self, v: int) -> bool:
        h = self.vertex_halfedge[v]
        return h == INVALID or self.halfedge_face[h] == INVALID

    def outgoing_halfedges(self, v: int) -> list[int]:
        """Outgoing halfedges of ``v``, clockwise from its stored one (OpenMesh ``voh``)."""
        start = self.vertex_halfedge[v]
        if start == INVALID:
            return []
        out = [start]
        nxt = self.next_halfedge
        h = nxt[start ^ 1]
        limit = len(self.to_vertex)
        while h != start:
            if h == INVALID or len(out) > limit:
                raise self._broken(f"the loop of halfedges around vertex {v} does not close")
            out.append(h)
            h = nxt[h ^ 1]
        return out

    def _broken(self, what: str) -> HierarchyError:
        face = len(self.accepted_faces) + len(self.rejected_faces)
        return HierarchyError(f"halfedge connectivity is broken while adding face {face}: {what}")

    def vertex_vertex_order(self, v: int) -> list[int]:
        """Neighbours of ``v`` in OpenMesh's ``mesh.vv(v)`` order."""
        to = self.to_vertex
        return [to[h] for h in self.outgoing_halfedges(v)]

    def all_vertex_vertex_orders(self) -> list[list[int]]:
        """``vertex_vertex_order(v)`` for every vertex, as a list of lists."""
        return [self.vertex_vertex_order(v) for v in range(self.num_vertices)]

    def find_halfedge(self, start: int, end: int) -> int:
        """The halfedge ``start -> end`` or -1 (OpenMesh ``find_halfedge``)."""
        h0 = self.vertex_halfedge[start]
        if h0 == INVALID:
            return INVALID
        to, nxt = self.to_vertex, self.next_halfedge
        h = h0
        for _ in range(len(to) + 1):
            if to[h] == end:
                return h
            h = nxt[h ^ 1]
            if h == h0 or h == INVALID:
                return INVALID
        raise self._broken(f"the loop of halfedges around vertex {start} does not close")

    # ----------------------------------------------------------------------------- building
    def _new_edge(self, a: int, b: int) -> int:
        h = len(self.to_vertex)
        self.to_vertex += [b, a]
        self.next_halfedge += [INVALID, INVALID]
        self.prev_halfedge += [INVALID, INVALID]
        self.halfedge_face += [INVALID, INVALID]
        return h

    def _set_next(self, h: int, nh: int) -> None:
        self.next_halfedge[h] = nh
        self.prev_halfedge[nh] = h

    def _adjust_outgoing_halfedge(self, v: int) -> None:
        face = self.halfedge_face
        for h in self.outgoing_halfedges(v):
            if face[h] == INVALID:
                self.vertex_halfedge[v] = h
                return

    def _add_face(self, a: int, b: int, c: int) -> str | None:
        """Port of ``PolyConnectivity::add_face`` for a triangle; returns a refusal reason."""
        vs = (a, b, c)
        face, nxt, prev = self.halfedge_face, self.next_halfedge, self.prev_halfedge
        vhe = self.vertex_halfedge
        he = [INVALID, INVALID, INVALID]
        is_new = [False, False, False]
        for i in range(3):
            if not self.is_boundary_vertex(vs[i]):
                return COMPLEX_VERTEX
            h = self.find_halfedge(vs[i], vs[(i + 1) % 3])
            he[i] = h
            is_new[i] = h == INVALID
            if not is_new[i] and face[h] != INVALID:
                return COMPLEX_EDGE

        cache: list[tuple[int, int]] = []
        # Two consecutive existing edges that are not yet consecutive on the boundary: move the
        # patch between them to another gap around the shared vertex.
        for i in range(3):
            ii = (i + 1) % 3
            if is_new[i] or is_new[ii]:
                continue
            inner_prev, inner_next = he[i], he[ii]
            if nxt[inner_prev] == inner_next:
                continue
            boundary_prev = inner_next ^ 1
            for _ in range(len(nxt) + 1):
                boundary_prev = nxt[boundary_prev] ^ 1
                if boundary_prev < 0 or face[boundary_prev] == INVALID:
                    break
            else:
                raise self._broken(f"no boundary halfedge around vertex {vs[ii]}")
            if boundary_prev < 0:
                raise self._broken(f"an open halfedge loop around vertex {vs[ii]}")
            boundary_next = nxt[boundary_prev]
            if boundary_prev == inner_prev:
                return PATCH_RELINK_FAILED
            patch_start = nxt[inner_prev]
            patch_end = prev[inner_next]
            cache.append((boundary_prev, patch_start))
            cache.append((patch_end, boundary_next))
            cache.append((inner_prev, inner_next))

        self.relinked_patches += len(cache) // 3
        for i in range(3):
            if is_new[i]:
                he[i] = self._new_edge(vs[i], vs[(i + 1) % 3])

        fh = len(self.face_halfedge)
        self.face_halfedge.append(he[2])
        needs_adjust = [False, False, False]
        for i in range(3):
            ii = (i + 1) % 3
            vh = vs[ii]
            inner_prev, inner_next = he[i], he[ii]
            case = (1 if is_new[i] else 0) | (2 if is_new[ii] else 0)
            if case:
                outer_prev = inner_next ^ 1
                outer_next = inner_prev ^ 1
                if case == 1:  # previous edge new, next edge old
                    cache.append((prev[inner_next], outer_next))
                    vhe[vh] = outer_next
                elif case == 2:  # next edge new, previous edge old
                    boundary_next = nxt[inner_prev]
                    cache.append((outer_prev, boundary_next))
                    vhe[vh] = boundary_next
                elif vhe[vh] == INVALID:  # both new, vertex was isolated
                    vhe[vh] = outer_next
                    cache.append((outer_prev, outer_next))
                else:  # both new, vertex already on a boundary
                    boundary_next = vhe[vh]
                    cache.append((prev[boundary_next], outer_next))
                    cache.append((outer_prev, boundary_next))
                cache.append((inner_prev, inner_next))
            else:
                needs_adjust[ii] = vhe[vh] == inner_next
            face[he[i]] = fh

        for h, nh in cache:
            self._set_next(h, nh)
        for i in range(3):
            if needs_adjust[i]:
                self._adjust_outgoing_halfedge(vs[i])
        return None


def vertex_vertex_orders(num_vertices: int, faces: np.ndarray) -> list[list[int]]:
    """OpenMesh ``vv`` order of every vertex of ``TriMesh(vertices, faces)``.

    Args:
        num_vertices: V, the number of vertices (isolated vertices get an empty list).
        faces: (F, 3) integer vertex indices, added in array order.

    Returns:
        A list of V lists of neighbour indices.
    """
    return HalfedgeMesh(num_vertices, faces).all_vertex_vertex_orders()
