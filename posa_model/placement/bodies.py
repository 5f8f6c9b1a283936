"""Body-body signed distances: each body's own SDF grid in its centred frame, packed together.

A placed body is a rigid transform (yaw about +y, then a translation ``t``) of its centred
vertices, so whether a point is inside another body is a lookup of the point, moved into that
body's frame by the inverse transform, in that body's grid. The grids are computed once per
distinct body shape with libigl's ``signed_distance`` on a ``resolution`` lattice (2 cm by
default) around the body, signed by the fast winding number: a posed body mesh intersects itself
(hands resting on thighs, a lying body's arm in its side), where pseudonormal signs go wrong on
about 1 % of the nodes while the winding number stays >= 1 inside. The grids are packed into
one flat tensor so that points of many bodies are looked up in one batched, differentiable pass
(trilinear, like :class:`posa_model.scene.grid.TorchSceneGrid`).
"""

from __future__ import annotations

import hashlib

import igl
import numpy as np
import torch

from ..errors import InputShapeError
from ..scene.grid import SceneGrid, trilinear_lookup

__all__ = ["BodyGrids", "SceneShell", "rotate", "to_local", "to_world"]

_PAD_NODES = 3  # nodes of free space around the body on every side


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


def _body_sdf(vertices: np.ndarray, faces: np.ndarray, resolution: float):
    """Signed distance of a closed mesh on a lattice around it: (values (nx, ny, nz) float32,
    lo (3,) the first node, n (3,) node counts)."""
    pad = _PAD_NODES * resolution
    lo = vertices.min(axis=0) - pad
    n = np.ceil((vertices.max(axis=0) + pad - lo) / resolution).astype(np.int64) + 1
    axes = [lo[a] + resolution * np.arange(n[a]) for a in range(3)]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    dist = igl.signed_distance(nodes, vertices.astype(np.float64), faces.astype(np.int64),
                               sign_type=igl.SIGNED_DISTANCE_TYPE_FAST_WINDING_NUMBER)[0]
    return np.asarray(dist, np.float32).reshape(tuple(n)), lo, n


class BodyGrids:
    """SDF grids of bodies in their centred frames, one per distinct shape, packed for lookup.

    local: per body (V, 3) vertices in its centred frame (metres); faces (F, 3) int shared by
    all. ``grid_of[b]`` is body b's grid index. Points outside a grid read its border value plus
    their distance to the grid's box (free space).
    """

    def __init__(self, local: list[np.ndarray], faces: np.ndarray, resolution: float,
                 device: torch.device, dtype: torch.dtype = torch.float32):
        faces = np.asarray(faces, dtype=np.int64)
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise InputShapeError(f"faces: expected (F, 3) vertex indices, found {faces.shape}")
        keys: dict[str, int] = {}
        self.grid_of = []
        values, los, sizes = [], [], []
        for verts in local:
            verts = np.ascontiguousarray(verts, dtype=np.float32)
            if faces.max(initial=-1) >= len(verts):
                raise InputShapeError(f"faces: index {int(faces.max())} but the body has "
                                      f"{len(verts)} vertices")
            key = hashlib.sha1(verts.tobytes()).hexdigest()
            if key not in keys:
                grid, lo, n = _body_sdf(verts, faces, resolution)
                keys[key] = len(values)
                values.append(grid.reshape(-1))
                los.append(lo)
                sizes.append(n)
            self.grid_of.append(keys[key])
        self.device, self.dtype = device, dtype
        self.values = torch.tensor(np.concatenate(values), device=device, dtype=dtype)
        counts = [len(v) for v in values]
        self.offset = torch.tensor(np.cumsum([0] + counts[:-1]), device=device)
        self.size = torch.tensor(np.stack(sizes), device=device)
        self.lo = torch.tensor(np.stack(los), device=device, dtype=dtype)
        self.hi = self.lo + (self.size - 1).to(dtype) * resolution
        self.scale = torch.full_like(self.lo, 1.0 / resolution)
        self.strides = torch.stack([self.size[:, 1] * self.size[:, 2], self.size[:, 2],
                                    torch.ones_like(self.size[:, 0])], dim=1)
        self.grid_of_t = torch.tensor(self.grid_of, device=device)
        self.box_lo = [np.asarray(lo) for lo in los]
        self.box_hi = [np.asarray(lo) + (n - 1) * resolution for lo, n in zip(los, sizes,
                                                                              strict=True)]

    @property
    def count(self) -> int:
        return len(self.offset)

    def sdf(self, points: torch.Tensor, body: torch.Tensor) -> torch.Tensor:
        """(..., 3) points in body ``body``'s centred frame, (...) body indices -> (...)
        signed distance to that body (metres, negative inside; differentiable in points)."""
        g = self.grid_of_t[body]
        p = points.to(self.device, self.dtype)
        return trilinear_lookup(self.values, self.offset[g], self.strides[g], self.lo[g],
                                self.hi[g], self.scale[g], self.size[g], p)

    @torch.no_grad()
    def penetration(self, points: torch.Tensor, body: int) -> float:
        """Deepest point (m) of (n, 3) ``points`` (in body ``body``'s centred frame) inside that
        body; 0 when none is. Points outside the grid's box (farther than its padding from the
        body) are skipped: they cannot be inside."""
        g = self.grid_of[body]
        lo, hi = self.lo[g], self.hi[g]
        points = points[((points >= lo) & (points <= hi)).all(-1)]
        if not len(points):
            return 0.0
        ids = torch.full(points.shape[:1], body, device=self.device)
        return max(0.0, float(-self.sdf(points, ids).min()))

    def world_box(self, body: int, yaw: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World AABB (lo (3,), hi (3,)) of body ``body``'s grid box placed by (yaw, t)."""
        g = self.grid_of[body]
        lo, hi = self.box_lo[g], self.box_hi[g]
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                            for z in (lo[2], hi[2])])
        c, s = np.cos(yaw), np.sin(yaw)
        world = np.stack([c * corners[:, 0] + s * corners[:, 2], corners[:, 1],
                          -s * corners[:, 0] + c * corners[:, 2]], axis=1) + t
        return world.min(axis=0), world.max(axis=0)

    def rasterize(self, grid: SceneGrid, values: np.ndarray, body: int, yaw: float,
                  t: np.ndarray) -> None:
        """min() the signed distance of placed body ``body`` into ``values`` (the scene grid's
        nodes, (nx, ny, nz) float32, in place), on the nodes of its world box."""
        lo, hi = self.world_box(body, yaw, t)
        coords = grid.node_coords()
        ranges = []
        for a in range(3):
            idx = np.flatnonzero((coords[a] >= lo[a] - grid.spacing[a])
                                 & (coords[a] <= hi[a] + grid.spacing[a]))
            if not len(idx):
                return
            ranges.append(idx)
        nodes = np.stack(np.meshgrid(*[coords[a][ranges[a]] for a in range(3)], indexing="ij"),
                         axis=-1)
        world = torch.tensor(nodes.reshape(-1, 3), device=self.device, dtype=self.dtype)
        yaw_t = torch.tensor(yaw, device=self.device, dtype=self.dtype)
        t_t = torch.tensor(np.asarray(t), device=self.device, dtype=self.dtype)
        local = to_local(world[None], yaw_t[None], t_t[None])[0]
        with torch.no_grad():
            dist = self.sdf(local, torch.full(local.shape[:1], body, device=self.device))
        block = np.ix_(*ranges)
        values[block] = np.minimum(values[block], dist.cpu().numpy().reshape(nodes.shape[:3]))


class SceneShell:
    """The scene's matter near its surfaces, to catch a body that swallows a thin object.

    A penetration test on the body's vertices misses an object that lies wholly inside the body
    (a 4 cm seat inside the buttocks: no vertex is in the seat). This looks the other way: the
    scene grid's nodes just inside objects (``-depth < sdf <= 0``) that fall inside the placed
    body, in the body's own SDF grid.
    """

    def __init__(self, grid: SceneGrid, depth: float = 0.1):
        self.grid = grid
        self.inside = (grid.sdf <= 0) & (grid.sdf > -depth)
        self.coords = grid.node_coords()

    @torch.no_grad()
    def enclosed(self, grids: BodyGrids, body: int, yaw: float, t: np.ndarray) -> float:
        """How deep (m) scene matter reaches inside body ``body`` placed at (yaw, t); 0 when no
        shell node is inside it."""
        lo, hi = grids.world_box(body, yaw, t)
        g = self.grid
        start = np.maximum(np.floor((lo - g.grid_min) / g.spacing).astype(int), 0)
        stop = np.minimum(np.ceil((hi - g.grid_min) / g.spacing).astype(int) + 1, g.shape)
        if (stop <= start).any():
            return 0.0
        block = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
        i, j, k = np.nonzero(self.inside[block])
        if not len(i):
            return 0.0
        nodes = np.stack([self.coords[0][i + start[0]], self.coords[1][j + start[1]],
                          self.coords[2][k + start[2]]], axis=1)
        world = torch.tensor(nodes, device=grids.device, dtype=grids.dtype)
        local = to_local(world, torch.tensor(yaw, device=grids.device, dtype=grids.dtype),
                         torch.tensor(np.asarray(t), device=grids.device, dtype=grids.dtype))
        return grids.penetration(local, body)
