"""Exact signed-distance and semantic grids of box scenes (the synthetic rooms).

The grid type and its files live in :mod:`posa_model.scene.grid` (:class:`SceneGrid`,
:func:`save_scene_grid`, :func:`load_scene_grid`); this module computes them.

Files per scene (``OUT/sdf/``):

* ``<scene>.json``: ``{"dim": d, "badding_val": v, "min": [x, y, z], "max": [x, y, z],
  "bbox": [[x, y, z], [x, y, z]], "voxel_size": s}``. The grid is a cube: node ``(i, j, k)`` sits
  at ``min + (i, j, k) * (max - min) / (d - 1)`` (the ``align_corners=True`` convention of the
  reference's trilinear lookup with ``grid_sample``; ``min``/``max`` are the outermost nodes).
  ``bbox`` is the tight bounds of the scene's boxes; ``badding_val`` is the largest distance in the
  grid (the value a lookup far outside should clamp to; the reference pads with the border).
* ``<scene>_sdf.npy``: (d, d, d) float32, indexed ``[x, y, z]``, signed (negative inside).
* ``<scene>_semantics.npy``: (d, d, d) uint8, the class of the nearest box (no blending).

The grid is computed exactly at every node (analytic box distances), block by block: each
8x8x8 block evaluates only the boxes that can be nearest somewhere in it (bounds from the
1-Lipschitz property of the distance), so the cost grows with the number of nearby boxes.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputShapeError
from ..scene.grid import SceneGrid
from .primitives import Boxes, aabb_distance, box_signed_distance

__all__ = ["compute_sdf_grid"]

_COARSE = 16  # nodes per side of a coarse block
_FINE = 4  # nodes per side of a fine block


def compute_sdf_grid(boxes: Boxes, resolution: float = 0.05, padding: float = 0.2,
                     max_dim: int = 512) -> SceneGrid:
    """The exact signed distance and nearest class of ``boxes`` on a cubic grid.

    The cube covers the boxes' bounds plus ``padding`` on every side, with node spacing at most
    ``resolution`` metres (``dim = ceil(extent / resolution) + 1``).
    """
    if not resolution > 0:
        raise InputShapeError(f"resolution: expected metres > 0, found {resolution}")
    if len(boxes) == 0:
        raise InputShapeError("boxes: expected at least one box")
    lo, hi = boxes.aabbs()
    bbox = np.stack([lo.min(axis=0), hi.max(axis=0)])
    centre = bbox.mean(axis=0)
    extent = float((bbox[1] - bbox[0]).max()) + 2 * padding
    dim = math.ceil(extent / resolution - 1e-9) + 1
    if dim > max_dim:
        raise InputShapeError(
            f"sdf resolution {resolution} m gives a {dim}^3 grid for a {extent:.2f} m scene; "
            f"the limit is {max_dim}^3 (use a coarser resolution)"
        )
    half = (dim - 1) * resolution / 2
    grid_min, grid_max = centre - half, centre + half
    nf = math.ceil(dim / _FINE)  # fine blocks per side; the grid is padded, then cropped
    values = np.empty((nf**3, _FINE**3), np.float32)  # per fine block, its nodes
    owner = np.empty((nf**3, _FINE**3), np.int64)
    box_lo, box_hi = lo, hi

    # Level 1: coarse blocks against every box.
    n_coarse = math.ceil(dim / _COARSE)
    origins = _block_origins(n_coarse, _COARSE)
    c_lo = grid_min + origins * resolution
    c_hi = c_lo + (_COARSE - 1) * resolution
    cand = _candidates(c_lo, c_hi, boxes, box_lo, box_hi)  # (NC, P)

    # Level 2: the fine blocks of each coarse block against the coarse block's candidates.
    sub = _block_origins(_COARSE // _FINE, _FINE)  # (S, 3) offsets of fine blocks in a coarse one
    fine_origins, fine_masks = [], []
    counts = cand.sum(axis=1)
    for k in np.unique(counts):
        rows = np.flatnonzero(counts == k)
        parts = np.nonzero(cand[rows])[1].reshape(len(rows), k)
        f_orig = origins[rows][:, None, :] + sub[None]  # (n, S, 3)
        f_lo = grid_min + f_orig * resolution
        f_hi = f_lo + (_FINE - 1) * resolution
        mask = _candidates(f_lo, f_hi, boxes, box_lo, box_hi, parts)  # (n, S, k)
        full = np.zeros((len(rows), len(sub), len(boxes)), bool)
        np.put_along_axis(full, np.broadcast_to(parts[:, None, :], mask.shape), mask, axis=2)
        keep = (f_orig < dim).all(axis=2)
        fine_origins.append(f_orig[keep])
        fine_masks.append(full[keep])
    f_orig = np.concatenate(fine_origins)
    f_mask = np.concatenate(fine_masks)

    # Nodes: each fine block against its own candidates, grouped by how many it has.
    counts = f_mask.sum(axis=1)
    for k in np.unique(counts):
        rows = np.flatnonzero(counts == k)
        parts = np.nonzero(f_mask[rows])[1].reshape(len(rows), k)
        origin = grid_min + f_orig[rows] * resolution  # (B, 3) first node of each block
        val, who = _lattice_sdf(origin, resolution, boxes, parts)
        block = f_orig[rows] // _FINE
        block_id = (block[:, 0] * nf + block[:, 1]) * nf + block[:, 2]
        values[block_id] = val
        owner[block_id] = who
    shape = (nf, nf, nf, _FINE, _FINE, _FINE)
    sdf = values.reshape(shape).transpose(0, 3, 1, 4, 2, 5).reshape((nf * _FINE,) * 3)
    sdf = np.ascontiguousarray(sdf[:dim, :dim, :dim])
    part = owner.reshape(shape).transpose(0, 3, 1, 4, 2, 5).reshape((nf * _FINE,) * 3)
    part = part[:dim, :dim, :dim]
    semantics = boxes.class_ids[part].astype(np.uint8)
    return SceneGrid(sdf, semantics, grid_min, grid_max, bbox)


def _block_origins(n: int, step: int) -> np.ndarray:
    """(n^3, 3) int64 origins ``step * (i, j, k)`` of an n x n x n arrangement of blocks."""
    g = np.arange(n) * step
    return np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)


def _candidates(b_lo, b_hi, boxes: Boxes, box_lo, box_hi, parts=None) -> np.ndarray:
    """Which boxes can be the nearest at some point of each block.

    ``b_lo``/``b_hi`` (..., 3): block bounds. With ``parts`` (n, k) (and blocks (n, S, 3)) only
    those boxes are tested, else all P. The distance is 1-Lipschitz, so inside a block of
    half-diagonal r centred at c it lies in [sd(c) - r, sd(c) + r]; a box also is never nearer
    than the gap between its bounds and the block's. A box is a candidate unless its lower
    bound exceeds the smallest upper bound.
    """
    centres = (b_lo + b_hi) / 2
    radius = np.linalg.norm(b_hi - b_lo, axis=-1) / 2
    if parts is None:
        sd = box_signed_distance(centres.reshape(-1, 3), boxes).reshape(*centres.shape[:-1], -1)
        blo, bhi = box_lo[None], box_hi[None]
        gap = aabb_distance(b_lo[:, None], b_hi[:, None], blo, bhi)
    else:
        sd = _gathered_box_sdf(centres, boxes, parts)  # (n, S, k)
        gap = aabb_distance(b_lo[:, :, None], b_hi[:, :, None], box_lo[parts][:, None],
                            box_hi[parts][:, None])
    upper = sd.min(axis=-1) + radius
    lower = np.maximum(np.where(gap > 0, gap, -np.inf), sd - radius[..., None])
    return lower <= upper[..., None]


def _lattice_sdf(origin: np.ndarray, step: float, boxes: Boxes, parts: np.ndarray):
    """Nearest box of the 4x4x4 nodes ``origin + step * (i, j, k)`` of B blocks.

    ``parts`` (B, k): the candidate boxes of each block. Returns the signed distance (B, 64)
    float32 and the box index (B, 64) int64, nodes in [x, y, z] order (x slowest). A box turns
    about y only, so its local x and z depend on the node's (x, z) and its local y on y alone:
    the distance is assembled from (B, 4, 4) and (B, 4) pieces.
    """
    import torch

    n = _FINE
    off = torch.arange(n, dtype=torch.float64) * step
    o = torch.from_numpy(origin)
    xs, ys, zs = (o[:, a, None] + off for a in range(3))  # (B, n) each
    index = torch.from_numpy(parts)
    centre = torch.from_numpy(np.array(boxes.centers))[index]  # (B, k, 3)
    half = torch.from_numpy(np.array(boxes.half_sizes))[index]
    yaw = torch.from_numpy(np.array(boxes.yaws))[index]
    cos, sin = yaw.cos(), yaw.sin()
    best = torch.full((len(parts), n, n, n), torch.inf, dtype=torch.float32)
    who = torch.zeros((len(parts), n, n, n), dtype=torch.int64)
    for j in range(parts.shape[1]):
        c, h = centre[:, j], half[:, j]
        dx = (xs - c[:, :1])[:, :, None]  # (B, n, 1)
        dz = (zs - c[:, 2:])[:, None, :]  # (B, 1, n)
        cj, sj = cos[:, j, None, None], sin[:, j, None, None]
        qx = ((cj * dx - sj * dz).abs() - h[:, 0, None, None]).float()  # (B, n_x, n_z)
        qz = ((sj * dx + cj * dz).abs() - h[:, 2, None, None]).float()
        qy = ((ys - c[:, 1:2]).abs() - h[:, 1:2]).float()  # (B, n_y)
        flat = qx.clamp_min(0).square() + qz.clamp_min(0).square()
        outside = (flat[:, :, None, :] + qy.clamp_min(0).square()[:, None, :, None]).sqrt()
        inside = torch.maximum(torch.maximum(qx, qz)[:, :, None, :], qy[:, None, :, None])
        d = outside + inside.clamp_max(0)
        closer = d < best
        best = torch.where(closer, d, best)
        who = torch.where(closer, index[:, j, None, None, None], who)
    return best.reshape(len(parts), -1).numpy(), who.reshape(len(parts), -1).numpy()


def _gathered_box_sdf(points: np.ndarray, boxes: Boxes, parts: np.ndarray) -> np.ndarray:
    """(B, n, 3) points x (B, k) box ids -> (B, n, k) signed distances to those boxes.

    Computed with torch on the CPU (about twice numpy's speed here); dtype follows ``points``.
    """
    import torch

    pts = torch.from_numpy(np.ascontiguousarray(points))
    dt = pts.dtype
    index = torch.from_numpy(np.ascontiguousarray(parts))
    c = torch.tensor(boxes.centers, dtype=dt)[index]  # (B, k, 3)
    h = torch.tensor(boxes.half_sizes, dtype=dt)[index]
    yaw = torch.tensor(boxes.yaws, dtype=dt)[index]
    cos, sin = yaw.cos()[:, None], yaw.sin()[:, None]  # (B, 1, k)
    d = pts[:, :, None, :] - c[:, None]  # (B, n, k, 3)
    x = cos * d[..., 0] - sin * d[..., 2]
    z = sin * d[..., 0] + cos * d[..., 2]
    q = torch.stack([x.abs(), d[..., 1].abs(), z.abs()], dim=-1) - h[:, None]
    return (q.clamp_min(0).norm(dim=-1) + q.amax(dim=-1).clamp_max(0)).numpy()
