"""Bodies as obstacles: rigid moves of centred bodies, body-body penetration on the meshes, the
placed bodies rasterised into the scene's grid, and scene matter swallowed by a body.

Every check is made on the body meshes themselves with libigl's fast generalised winding number
(a posed body intersects itself, hands on thighs, an arm in a lying body's side, where
pseudonormal signs fail; the winding number stays >= 0.5 inside): a point is inside a body when
its winding number exceeds 0.5, and its depth is its distance to that body's surface. Every
person is a different body (shape and pose), so nothing is precomputed per body: a check costs
one winding-number query of the points near the body (box-culled).

Frame: SMPL-X world (+y up, metres).
"""

from __future__ import annotations

import igl
import numpy as np
import torch

from ..classes import CLASS_ID
from ..errors import InputShapeError
from ..scene.grid import SceneGrid

__all__ = ["BodyMesh", "SceneShell", "box", "penetration_depth", "rasterize", "rotate", "to_local",
           "to_world"]


def rotate(points: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """(..., V, 3) points rotated by (...) yaws about +y (``p @ R_y(yaw).T``)."""
    c, s = torch.cos(yaw)[..., None], torch.sin(yaw)[..., None]
    x, y, z = points.unbind(-1)
    return torch.stack([c * x + s * z, y.expand_as(c * x), -s * x + c * z], dim=-1)


def to_world(local: torch.Tensor, yaw: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(..., V, 3) centred-frame points -> world, for (...) yaws and (..., 3) translations."""
    return rotate(local, yaw) + t[..., None, :]


def to_local(world: torch.Tensor, yaw: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`to_world`."""
    return rotate(world - t[..., None, :], -yaw)


def box(vertices: np.ndarray, pad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(lo (3,), hi (3,)) of (V, 3) points, padded by ``pad`` metres."""
    return vertices.min(axis=0) - pad, vertices.max(axis=0) + pad


def penetration_depth(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> float:
    """Deepest of (n, 3) ``points`` inside the closed mesh (``vertices`` (V, 3), ``faces``
    (F, 3)), metres; 0 when none is inside. Points outside the mesh's box are skipped."""
    lo, hi = box(vertices)
    near = np.all((points >= lo) & (points <= hi), axis=1)
    if not near.any():
        return 0.0
    q = np.ascontiguousarray(points[near], dtype=np.float64)
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    inside = igl.fast_winding_number(v, faces, q) > 0.5
    if not inside.any():
        return 0.0
    d2 = igl.point_mesh_squared_distance(q[inside], v, faces)[0]
    return float(np.sqrt(d2.max()))


class BodyMesh:
    """A placed body's world mesh ((V, 3) float64 ``vertices``, (F, 3) int64 ``faces``) with its
    box and libigl's query structures (the winding-number BVH and the AABB tree), built on first
    use and kept: :func:`penetration_depth` rebuilds both on every call, about 14 ms for a body,
    while the checks of one placement ask the same placed bodies again and again."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        self.faces = np.ascontiguousarray(faces, dtype=np.int64)
        self.lo, self.hi = box(self.vertices)
        self._winding = None
        self._aabb = None

    def _inside(self, points: np.ndarray) -> np.ndarray:
        """(m, 3) float64: those of (n, 3) ``points`` inside the mesh (winding number > 0.5)."""
        near = np.all((points >= self.lo) & (points <= self.hi), axis=1)
        q = np.ascontiguousarray(points[near], dtype=np.float64)
        if not len(q):
            return q
        if self._winding is None:
            if hasattr(igl, "FastWindingNumberBVH"):  # libigl >= 2.6.3
                self._winding = igl.FastWindingNumberBVH()
                self._winding.init(self.vertices, self.faces)
            else:
                self._winding = False
        if self._winding is False:
            wn = igl.fast_winding_number(self.vertices, self.faces, q)
        else:
            wn = self._winding.winding_number(q)
        return np.ascontiguousarray(q[wn > 0.5])

    def _squared_distances(self, points: np.ndarray) -> np.ndarray:
        """(n,) squared distances (m^2) of (n, 3) float64 ``points`` to the surface."""
        if self._aabb is None:
            self._aabb = igl.AABB()
            self._aabb.init(self.vertices, self.faces)
        return self._aabb.squared_distance(self.vertices, self.faces, points)[0]

    def depth_of(self, points: np.ndarray) -> float:
        """Deepest of (n, 3) ``points`` inside this mesh, metres; 0 when none is inside (as
        :func:`penetration_depth`)."""
        inside = self._inside(points)
        if not len(inside):
            return 0.0
        return float(np.sqrt(self._squared_distances(inside).max()))

    def deepest_point(self, points: np.ndarray) -> np.ndarray | None:
        """(3,) the deepest of (n, 3) ``points`` inside this mesh; None when none is."""
        inside = self._inside(points)
        if not len(inside):
            return None
        return inside[int(np.argmax(self._squared_distances(inside)))]


def rasterize(grid: SceneGrid, values: np.ndarray, vertices: np.ndarray,
              faces: np.ndarray) -> None:
    """min() the signed distance (negative inside) of a placed body mesh (``vertices`` (V, 3)
    world, ``faces`` (F, 3): a coarse level is enough) into ``values`` (the scene grid's nodes,
    (nx, ny, nz) float32, in place), on the nodes of its box padded by two nodes."""
    lo, hi = box(vertices, 2 * float(grid.spacing.max()))
    coords = grid.node_coords()
    ranges = []
    for a in range(3):
        idx = np.flatnonzero((coords[a] >= lo[a]) & (coords[a] <= hi[a]))
        if not len(idx):
            return
        ranges.append(idx)
    nodes = np.stack(np.meshgrid(*[coords[a][ranges[a]] for a in range(3)], indexing="ij"),
                     axis=-1)
    flat = np.ascontiguousarray(nodes.reshape(-1, 3), dtype=np.float64)
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    dist = np.sqrt(igl.point_mesh_squared_distance(flat, v, faces)[0])
    inside = igl.fast_winding_number(v, faces, flat) > 0.5
    signed = np.where(inside, -dist, dist).astype(np.float32).reshape(nodes.shape[:3])
    block = np.ix_(*ranges)
    values[block] = np.minimum(values[block], signed)


#: Metres: "no body here" in a rasterised-bodies grid.
FAR = 10.0


class ObstacleField:
    """The signed distance to the bodies placed so far on a scene grid's nodes (negative
    inside), each body rasterised once (:func:`rasterize`, at the placement's refine level):
    a caller that places people in several passes (populate's retries, one pass per gender)
    keeps one and hands it to every pass instead of re-rasterising everyone each time.

    ``values`` (nx, ny, nz) float32, :data:`FAR` where no body is near."""

    def __init__(self, grid: SceneGrid, sampler, refine_level: int):
        from ..mesh.levels import level_indices

        self.grid = grid
        self.shape = tuple(grid.shape)
        self.coarse = level_indices(sampler.hierarchy, refine_level)
        self.faces = np.asarray(sampler.hierarchy.faces[refine_level], np.int64)
        self.num_vertices = int(sampler.num_vertices)
        self.values = np.full(self.shape, FAR, np.float32)
        self.count = 0

    def add(self, vertices: np.ndarray) -> None:
        """Rasterise one more placed body ((V, 3) world vertices of the full mesh)."""
        v = np.asarray(vertices, np.float64)
        if v.shape != (self.num_vertices, 3):
            raise InputShapeError(f"ObstacleField.add: expected ({self.num_vertices}, 3) "
                                  f"vertices, found {v.shape}")
        rasterize(self.grid, self.values, v[self.coarse], self.faces)
        self.count += 1


class SceneShell:
    """The scene's matter near its surfaces, to catch a body that swallows a thin object.

    A penetration test on the body's vertices misses an object that lies wholly inside the body
    (a 4 cm seat inside the buttocks: no vertex is in the seat). This looks the other way: the
    scene grid's nodes just inside objects (``-depth < sdf <= 0``) that fall inside the placed
    body mesh.
    """

    def __init__(self, grid: SceneGrid, depth: float = 0.1):
        self.grid = grid
        inside = (grid.sdf <= 0) & (grid.sdf > -depth)
        # floors and walls are not thin objects a body could swallow (thin planes are made
        # solid slabs), and their nodes are most of the shell
        inside &= ~np.isin(grid.semantics, [CLASS_ID["floor"], CLASS_ID["wall"],
                                            CLASS_ID["ceiling"]])
        i, j, k = np.nonzero(inside)
        coords = grid.node_coords()
        self.nodes = np.stack([coords[0][i], coords[1][j], coords[2][k]], axis=1)

    def enclosed(self, body: BodyMesh) -> float:
        """How deep (m) scene matter reaches inside the placed ``body``; 0 when no shell node is
        inside it."""
        if not len(self.nodes):
            return 0.0
        return body.depth_of(self.nodes)

    def enclosed_class(self, body: BodyMesh) -> int:
        """The class of the deepest scene matter inside the placed ``body`` (0 when none)."""
        deepest = body.deepest_point(self.nodes) if len(self.nodes) else None
        if deepest is None:
            return 0
        return int(self.grid.lookup_semantics(deepest[None])[0])
