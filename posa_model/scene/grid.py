"""A scene as a signed-distance grid plus a semantic grid, and the reference's ``sdf/`` format.

Frame: SMPL-X world (+y up, metres), the frame placement works in. Node ``(i, j, k)`` sits at
``grid_min + (i, j, k) * spacing`` with ``spacing = (grid_max - grid_min) / (shape - 1)`` per
axis (``align_corners=True``, as the reference's ``grid_sample`` lookup); ``grid_min`` and
``grid_max`` are the outermost nodes.

* ``sdf`` (nx, ny, nz) float32, indexed ``[x, y, z]``, negative inside objects.
* ``semantics`` (nx, ny, nz) uint8, the MPCAT40 class of the nearest object (never blended).

Files (the reference format, one scene per name in a folder):

* ``<scene>.json``: ``{"dim", "badding_val", "min", "max", "bbox", "voxel_size"}`` (the
  reference's misspelt ``badding_val`` kept for compatibility). Reference grids are cubes
  ``(dim, dim, dim)``; a non-cubic grid adds ``"shape": [nx, ny, nz]`` (``dim`` is then the
  largest side) and only our reader understands it.
* ``<scene>_sdf.npy`` float32 and ``<scene>_semantics.npy`` uint8.

``up="z"`` reads a grid stored in a z-up frame (PROX's scenes) and turns it into the y-up frame
exactly: the rotation ``(x, y, z) -> (x, z, -y)`` of :func:`posa_model.frames.blender_to_smplx`
is an axis permutation plus a flip, so the nodes map onto nodes and nothing is resampled.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..classes import NUM_CLASSES
from ..errors import InputShapeError, PosaError
from ..io_utils import atomic_write

__all__ = ["SceneGrid", "TorchSceneGrid", "load_scene_grid", "save_scene_grid",
           "trilinear_lookup"]

UpAxis = Literal["y", "z"]


@dataclass
class SceneGrid:
    """SDF and semantic grids of one scene (numpy, SMPL-X world frame: +y up, metres).

    ``sdf`` (nx, ny, nz) float32, ``semantics`` (nx, ny, nz) uint8, ``grid_min``/``grid_max``
    (3,) float64 the outermost nodes, ``bbox`` (2, 3) float64 the scene's tight bounds.
    """

    sdf: np.ndarray
    semantics: np.ndarray
    grid_min: np.ndarray
    grid_max: np.ndarray
    bbox: np.ndarray

    def __post_init__(self) -> None:
        self.sdf = np.ascontiguousarray(self.sdf, dtype=np.float32)
        self.semantics = np.ascontiguousarray(self.semantics, dtype=np.uint8)
        self.grid_min = np.asarray(self.grid_min, dtype=np.float64).reshape(3)
        self.grid_max = np.asarray(self.grid_max, dtype=np.float64).reshape(3)
        self.bbox = np.asarray(self.bbox, dtype=np.float64).reshape(2, 3)
        if self.sdf.ndim != 3 or min(self.sdf.shape) < 2:
            raise InputShapeError(f"sdf: expected (nx, ny, nz) with every side >= 2, found "
                                  f"{self.sdf.shape}")
        if self.semantics.shape != self.sdf.shape:
            raise InputShapeError(f"semantics: expected shape {self.sdf.shape} like the sdf, "
                                  f"found {self.semantics.shape}")
        if not (self.grid_max > self.grid_min).all():
            raise InputShapeError(f"grid bounds: max {self.grid_max} must exceed min "
                                  f"{self.grid_min} on every axis")
        if not np.isfinite(self.sdf).all():
            raise InputShapeError("sdf: contains NaN or infinite values")
        if int(self.semantics.max(initial=0)) >= NUM_CLASSES:
            raise InputShapeError(f"semantics: class ids must be in 0..{NUM_CLASSES - 1}, found "
                                  f"{int(self.semantics.max())}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.sdf.shape)  # type: ignore[return-value]

    @property
    def dim(self) -> int:
        """The largest side (the reference's ``dim`` for a cube)."""
        return max(self.shape)

    @property
    def spacing(self) -> np.ndarray:
        """(3,) node spacing in metres per axis."""
        return (self.grid_max - self.grid_min) / (np.asarray(self.shape) - 1)

    def node_coords(self) -> list[np.ndarray]:
        """Per axis a, the (n_a,) coordinates of the nodes along it."""
        return [np.linspace(self.grid_min[a], self.grid_max[a], self.shape[a]) for a in range(3)]

    def classes_present(self) -> set[int]:
        """The class ids some surface of the scene carries (0 excluded)."""
        return {int(c) for c in np.unique(self.semantics)} - {0}

    def lookup(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) points -> (...) float64 signed distance (see :meth:`TorchSceneGrid.sdf`)."""
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
        return self.to_torch(dtype=torch.float64).sdf(pts).numpy()

    def lookup_semantics(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) points -> (...) int64 class of the nearest node."""
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
        return self.to_torch(dtype=torch.float64).semantics_at(pts).numpy()

    def to_torch(self, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> TorchSceneGrid:
        return TorchSceneGrid(self, device, dtype)

    def header(self) -> dict:
        out = {
            "dim": self.dim,
            "badding_val": float(self.sdf.max()),
            "min": [float(v) for v in self.grid_min],
            "max": [float(v) for v in self.grid_max],
            "bbox": [[float(v) for v in self.bbox[0]], [float(v) for v in self.bbox[1]]],
            "voxel_size": float(self.spacing.min()),
        }
        if len(set(self.shape)) > 1:
            out["shape"] = list(self.shape)
        return out


class TorchSceneGrid:
    """A :class:`SceneGrid` on a torch device, with differentiable trilinear SDF lookup.

    Points outside the grid read the border value plus their distance to the grid's box, so the
    outside is free space whose distance keeps growing (and whose gradient points back in).
    """

    def __init__(self, grid: SceneGrid, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32):
        self.grid = grid
        self.device = torch.device(device)
        self.dtype = dtype
        self.values = torch.tensor(grid.sdf, device=self.device, dtype=dtype).reshape(-1)
        self.labels = torch.tensor(grid.semantics.astype(np.int64), device=self.device)
        self.labels = self.labels.reshape(-1)
        self.lo = torch.tensor(grid.grid_min, device=self.device, dtype=dtype)
        self.hi = torch.tensor(grid.grid_max, device=self.device, dtype=dtype)
        self.size = torch.tensor(grid.shape, device=self.device, dtype=torch.long)
        self.strides = torch.tensor([grid.shape[1] * grid.shape[2], grid.shape[2], 1],
                                    device=self.device, dtype=torch.long)
        self.scale = (self.size - 1).to(dtype) / (self.hi - self.lo)

    def sdf(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) points (world frame, metres) -> (...) trilinear signed distance.

        Differentiable with respect to ``points`` (autograd); dtype and device of the grid.
        """
        p = points.to(self.device, self.dtype)
        return trilinear_lookup(self.values, 0, self.strides, self.lo, self.hi, self.scale,
                                self.size, p)

    def semantics_at(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) points -> (...) int64 class id of the nearest node (no blending)."""
        p = points.to(self.device, self.dtype)
        u = ((p - self.lo) * self.scale).round().long()
        u = torch.minimum(u.clamp(min=0), self.size - 1)
        return self.labels[(u * self.strides).sum(-1)]


def trilinear_lookup(values: torch.Tensor, offset, strides: torch.Tensor, lo: torch.Tensor,
                     hi: torch.Tensor, scale: torch.Tensor, size: torch.Tensor,
                     points: torch.Tensor) -> torch.Tensor:
    """Trilinear interpolation in flattened [x, y, z] grids, differentiable in ``points``.

    ``values`` (N,) the nodes of one or more grids back to back; per point (or broadcast):
    ``offset`` the grid's first node in ``values``, ``strides`` (..., 3) long, ``lo``/``hi``
    (..., 3) the outermost nodes, ``scale`` (..., 3) nodes per metre, ``size`` (..., 3) long
    nodes per axis. ``points`` (..., 3). Points outside a grid read its border plus their
    distance to the grid's box (the SDF convention of :class:`TorchSceneGrid`).
    """
    inside = torch.minimum(torch.maximum(points, lo), hi)
    outside = (points - inside).norm(dim=-1)
    u = (inside - lo) * scale  # continuous node coordinates
    i0 = torch.minimum(u.detach().floor().long().clamp(min=0), size - 2)
    f = u - i0.to(values.dtype)
    base = offset + (i0 * strides).sum(-1)
    out = torch.zeros(points.shape[:-1], device=values.device, dtype=values.dtype)
    for dx in (0, 1):
        wx = f[..., 0] if dx else 1 - f[..., 0]
        for dy in (0, 1):
            wy = f[..., 1] if dy else 1 - f[..., 1]
            for dz in (0, 1):
                wz = f[..., 2] if dz else 1 - f[..., 2]
                index = base + dx * strides[..., 0] + dy * strides[..., 1] + dz
                out = out + wx * wy * wz * values[index]
    return out + outside


def save_scene_grid(folder: str | os.PathLike, scene_name: str, grid: SceneGrid) -> Path:
    """Write ``<scene>.json``, ``<scene>_sdf.npy`` and ``<scene>_semantics.npy`` atomically."""
    folder = Path(folder)
    atomic_write(folder / f"{scene_name}_sdf.npy", lambda f: np.save(f, grid.sdf))
    atomic_write(folder / f"{scene_name}_semantics.npy", lambda f: np.save(f, grid.semantics))
    text = json.dumps(grid.header(), indent=1).encode()
    return atomic_write(folder / f"{scene_name}.json", lambda f: f.write(text))


def load_scene_grid(folder: str | os.PathLike, scene_name: str, up: UpAxis = "y") -> SceneGrid:
    """Read a grid in the reference format (ours or the reference's), checking every field.

    ``up``: the up axis of the stored grid; ``"z"`` (PROX) is turned into +y up exactly.
    A missing ``_semantics.npy`` gives class 0 everywhere (the scene then has no classes).
    """
    folder = Path(folder)
    path = folder / f"{scene_name}.json"
    sdf_path = folder / f"{scene_name}_sdf.npy"
    sem_path = folder / f"{scene_name}_semantics.npy"
    if not path.is_file():
        raise PosaError(f"{path}: scene header not found")
    try:
        header = json.loads(path.read_text())
        sdf = np.load(sdf_path, allow_pickle=False)
        semantics = np.load(sem_path, allow_pickle=False) if sem_path.exists() else None
    except (OSError, ValueError) as exc:
        raise PosaError(f"{folder}/{scene_name}: cannot read the scene grid "
                        f"({type(exc).__name__}: {exc})") from exc
    for key in ("dim", "min", "max"):
        if key not in header:
            raise InputShapeError(f"{path}: field {key!r} is missing")
    dim = int(header["dim"])
    shape = tuple(int(n) for n in header.get("shape", (dim, dim, dim)))
    if sdf.size != int(np.prod(shape)):
        raise InputShapeError(f"{sdf_path}: expected {shape} = {int(np.prod(shape))} values "
                              f"from {path.name}, found shape {sdf.shape}")
    if not np.issubdtype(sdf.dtype, np.floating):
        raise InputShapeError(f"{sdf_path}: expected floating-point distances, found {sdf.dtype}")
    sdf = sdf.reshape(shape)
    if semantics is None:
        semantics = np.zeros(shape, np.uint8)
    elif semantics.size != sdf.size or not np.issubdtype(semantics.dtype, np.integer):
        raise InputShapeError(f"{sem_path}: expected {shape} integer class ids, found "
                              f"{semantics.shape} {semantics.dtype}")
    semantics = semantics.reshape(shape)
    if semantics.min(initial=0) < 0 or semantics.max(initial=0) >= NUM_CLASSES:
        raise InputShapeError(f"{sem_path}: class ids must be in 0..{NUM_CLASSES - 1}, found "
                              f"{semantics.min()}..{semantics.max()}")
    lo = np.asarray(header["min"], np.float64).reshape(-1)
    hi = np.asarray(header["max"], np.float64).reshape(-1)
    if lo.shape != (3,) or hi.shape != (3,):
        raise InputShapeError(f"{path}: 'min' and 'max' must be 3 numbers each")
    bbox = np.asarray(header.get("bbox", [lo, hi]), np.float64).reshape(2, 3)
    if up == "z":
        sdf, semantics = _z_up_to_y_up(sdf), _z_up_to_y_up(semantics)
        lo, hi = np.array([lo[0], lo[2], -hi[1]]), np.array([hi[0], hi[2], -lo[1]])
        bbox = np.array([[bbox[0, 0], bbox[0, 2], -bbox[1, 1]],
                         [bbox[1, 0], bbox[1, 2], -bbox[0, 1]]])
    elif up != "y":
        raise InputShapeError(f"up: expected 'y' or 'z', found {up!r}")
    try:
        return SceneGrid(sdf, semantics, lo, hi, bbox)
    except InputShapeError as exc:
        raise InputShapeError(f"{folder}/{scene_name}: {exc}") from exc


def _z_up_to_y_up(array: np.ndarray) -> np.ndarray:
    """Re-index an [x, y, z] grid of a z-up frame into the y-up frame ``(x, z, -y)``."""
    return np.ascontiguousarray(np.flip(array.transpose(0, 2, 1), axis=2))
