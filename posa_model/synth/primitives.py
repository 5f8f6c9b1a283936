"""Oriented boxes: analytic signed distances, ray sweeps and bounds, all vectorised in numpy.

Every procedural scene is a union of boxes that may turn about the vertical axis only (SMPL-X
world: +y up, metres). A box is its centre ``c`` (3,), half extents ``h`` (3,) along its own
axes, and a yaw ``psi`` (radians) about +y. Its local frame maps to the world as
``p_world = R_y(psi) @ p_local + c`` with ``R_y(psi) = [[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]]``,
so local +z (the "front" of a piece of furniture) points along ``(sin psi, 0, cos psi)``.

The signed distance of the union is the minimum over its boxes (negative inside). Outside every
box this is the exact Euclidean distance to the union; inside, its sign is exact and its size is
the depth inside the deepest box. The class of a point is the class of the box that attains the
minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputShapeError

__all__ = ["Boxes", "box_signed_distance", "aabb_distance", "sweep_distance"]


@dataclass(frozen=True, eq=False)
class Boxes:
    """P boxes: ``centers`` (P, 3), ``half_sizes`` (P, 3) > 0, ``yaws`` (P,) radians,
    ``class_ids`` (P,) int MPCAT40 ids and ``object_ids`` (P,) int (which scene object owns the
    box). Arrays are float64/int64 and read-only."""

    centers: np.ndarray
    half_sizes: np.ndarray
    yaws: np.ndarray
    class_ids: np.ndarray
    object_ids: np.ndarray

    def __post_init__(self) -> None:
        centers = np.asarray(self.centers, dtype=np.float64).reshape(-1, 3)
        n = len(centers)
        fields = {
            "centers": (centers, (n, 3)),
            "half_sizes": (np.asarray(self.half_sizes, dtype=np.float64), (n, 3)),
            "yaws": (np.asarray(self.yaws, dtype=np.float64), (n,)),
            "class_ids": (np.asarray(self.class_ids, dtype=np.int64), (n,)),
            "object_ids": (np.asarray(self.object_ids, dtype=np.int64), (n,)),
        }
        for name, (value, shape) in fields.items():
            if value.shape != shape:
                raise InputShapeError(f"Boxes.{name}: expected shape {shape}, found {value.shape}")
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise InputShapeError(f"Boxes.{name}: expected finite values")
            value = value.copy()
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        if n and (self.half_sizes <= 0).any():
            raise InputShapeError("Boxes.half_sizes: expected positive half extents")

    def __len__(self) -> int:
        return len(self.centers)

    def subset(self, index) -> Boxes:
        """The boxes at ``index`` (an int array or a boolean mask)."""
        return Boxes(self.centers[index], self.half_sizes[index], self.yaws[index],
                     self.class_ids[index], self.object_ids[index])

    @staticmethod
    def concatenate(parts: list[Boxes]) -> Boxes:
        return Boxes(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                       ("centers", "half_sizes", "yaws", "class_ids", "object_ids")))

    def rotations(self) -> np.ndarray:
        """(P, 3, 3) local-to-world rotations ``R_y(yaw)``."""
        c, s = np.cos(self.yaws), np.sin(self.yaws)
        r = np.zeros((len(self), 3, 3))
        r[:, 0, 0], r[:, 0, 2], r[:, 1, 1], r[:, 2, 0], r[:, 2, 2] = c, s, 1.0, -s, c
        return r

    def aabbs(self) -> tuple[np.ndarray, np.ndarray]:
        """World axis-aligned bounds (lo (P, 3), hi (P, 3)) of the boxes."""
        c, s = np.abs(np.cos(self.yaws)), np.abs(np.sin(self.yaws))
        hx, hy, hz = self.half_sizes.T
        ext = np.stack([c * hx + s * hz, hy, s * hx + c * hz], axis=1)
        return self.centers - ext, self.centers + ext

    def corners(self) -> np.ndarray:
        """(P, 8, 3) world corners (for meshes and drawings)."""
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
        local = signs[None] * self.half_sizes[:, None, :]
        return np.einsum("pij,pkj->pki", self.rotations(), local) + self.centers[:, None, :]


def _local(points: np.ndarray, boxes: Boxes) -> np.ndarray:
    """(N, 3) world points -> (N, P, 3) coordinates in each box's frame (relative to its centre)."""
    d = points[:, None, :] - boxes.centers[None, :, :]
    c, s = np.cos(boxes.yaws), np.sin(boxes.yaws)
    # R^T d for R = R_y(yaw): x' = c dx - s dz, z' = s dx + c dz.
    x = c * d[..., 0] - s * d[..., 2]
    z = s * d[..., 0] + c * d[..., 2]
    return np.stack([x, d[..., 1], z], axis=-1)


def box_signed_distance(points: np.ndarray, boxes: Boxes) -> np.ndarray:
    """Signed distance (N, P) from (N, 3) world points to each of P boxes (negative inside).

    Exact Euclidean distance outside, minus the depth to the nearest face inside.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputShapeError(f"points: expected shape (N, 3), found {points.shape}")
    if len(boxes) == 0:
        return np.full((len(points), 0), np.inf)
    d = points[:, None, :] - boxes.centers[None]  # (N, P, 3)
    c, s = np.cos(boxes.yaws), np.sin(boxes.yaws)
    h = boxes.half_sizes
    qx = np.abs(c * d[..., 0] - s * d[..., 2]) - h[:, 0]
    qy = np.abs(d[..., 1]) - h[:, 1]
    qz = np.abs(s * d[..., 0] + c * d[..., 2]) - h[:, 2]
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2
                      + np.maximum(qz, 0.0) ** 2)
    return outside + np.minimum(np.maximum(np.maximum(qx, qy), qz), 0.0)


def aabb_distance(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray):
    """Euclidean gap between axis-aligned boxes (broadcasting over leading dims); 0 if they meet.

    A lower bound on the distance between any point of box a and any point of box b.
    """
    gap = np.maximum(np.maximum(lo_b - hi_a, lo_a - hi_b), 0.0)
    return np.sqrt(np.square(gap).sum(axis=-1))


def sweep_distance(points: np.ndarray, boxes: Boxes, direction, eps: float = 1e-5) -> float:
    """How far the rigid point set can move along ``direction`` before a point enters a box.

    Each point casts a ray along the unit ``direction``; the result is the smallest entry
    distance over all points and boxes (``inf`` when nothing is hit). A point already inside a
    box (deeper than ``eps``) blocks at 0; points within ``eps`` of a face count as outside, so a
    body resting on a surface can slide along it.
    """
    points = np.asarray(points, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    if len(boxes) == 0 or len(points) == 0:
        return float("inf")
    # Cull boxes the swept bounds of the points cannot reach: along d they must lie ahead, and
    # across d (the two axes orthogonal to it) their projections must overlap the points'.
    lo, hi = boxes.aabbs()
    box_corners = np.stack([np.where(np.array([x, y, z], bool), hi, lo) for x in (0, 1)
                            for y in (0, 1) for z in (0, 1)], axis=1)  # (P, 8, 3)
    side = np.cross(d, [0.0, 1.0, 0.0] if abs(d[1]) < 0.9 else [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    axes = np.stack([d, side, np.cross(d, side)])
    proj_p = points @ axes.T  # (N, 3)
    proj_b = box_corners @ axes.T  # (P, 8, 3)
    keep = proj_b[:, :, 0].max(axis=1) > proj_p[:, 0].min()
    for a in (1, 2):
        keep &= (proj_b[:, :, a].max(axis=1) > proj_p[:, a].min()) & (
            proj_b[:, :, a].min(axis=1) < proj_p[:, a].max())
    if not keep.any():
        return float("inf")
    best = np.inf
    for b in np.flatnonzero(keep):  # per box, only the points whose ray can meet its bounds
        sel = np.ones(len(points), bool)
        for a in (1, 2):
            sel &= (proj_p[:, a] > proj_b[b, :, a].min()) & (proj_p[:, a] < proj_b[b, :, a].max())
        sel &= proj_p[:, 0] < proj_b[b, :, 0].max()
        if sel.any():
            best = min(best, _ray_box_entry(points[sel], boxes.subset([b]), d, eps))
    return float(best)


def _ray_box_entry(points: np.ndarray, boxes: Boxes, d: np.ndarray, eps: float) -> float:
    """Smallest entry distance of rays from ``points`` along ``d`` into ``boxes`` (slabs)."""
    p = _local(points, boxes)  # (N, P, 3)
    c, s = np.cos(boxes.yaws), np.sin(boxes.yaws)
    dl = np.stack([c * d[0] - s * d[2], np.full_like(c, d[1]), s * d[0] + c * d[2]], axis=-1)
    h = boxes.half_sizes  # entry distances to the true faces ...
    h_in = boxes.half_sizes - eps  # ... but points within eps of a face count as outside
    t_enter = np.full(p.shape[:2], -np.inf)
    t_exit = np.full(p.shape[:2], np.inf)
    for axis in range(3):
        da = dl[None, :, axis]
        pa = p[..., axis]
        ha = h[None, :, axis]
        inside = np.abs(pa) < h_in[None, :, axis]
        parallel = np.abs(da) < 1e-12
        safe = np.where(parallel, 1.0, da)
        t1 = (-ha - pa) / safe
        t2 = (ha - pa) / safe
        lo = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
        hi = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
        t_enter = np.maximum(t_enter, lo)
        t_exit = np.minimum(t_exit, hi)
    hit = (t_enter < t_exit) & (t_exit > eps)
    if not hit.any():
        return float("inf")
    return float(np.maximum(t_enter[hit], 0.0).min())
