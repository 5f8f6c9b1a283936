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

Loading is bounded: the three files must be regular files (a FIFO is refused, not waited on),
the header is read by :func:`posa_model.io_utils.read_json_bounded` (finite numbers only) and
its fields are type-checked (``dim`` / ``shape`` ints of at most :data:`MAX_GRID_SIDE` per side
and :data:`MAX_GRID_NODES` in all, ``min`` / ``max`` / ``bbox`` finite), the arrays are read
only after their ``.npy`` headers match (kind, size); errors name the file and the field.

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
from ..io_utils import atomic_write, read_json_bounded, read_npy_bounded

__all__ = ["SceneGrid", "TorchSceneGrid", "load_scene_grid", "save_scene_grid",
           "trilinear_lookup"]

UpAxis = Literal["y", "z"]

#: Most nodes a grid file may declare (1 GiB of float32 distances), and the longest side.
MAX_GRID_NODES = 1 << 28
MAX_GRID_SIDE = 4096
#: Largest ``<scene>.json`` header read.
MAX_HEADER_BYTES = 1 << 20


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
        for name, shape in (("grid_min", (3,)), ("grid_max", (3,)), ("bbox", (2, 3))):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.size != int(np.prod(shape)) or not np.isfinite(value).all():
                raise InputShapeError(f"{name}: expected {shape} finite numbers, found "
                                      f"{value.tolist() if value.size <= 6 else value.shape}")
            setattr(self, name, value.reshape(shape))
        if self.sdf.ndim != 3 or min(self.sdf.shape) < 2:
            raise InputShapeError(f"sdf: expected (nx, ny, nz) with every side >= 2, found "
                                  f"{self.sdf.shape}")
        if self.semantics.shape != self.sdf.shape:
            raise InputShapeError(f"semantics: expected shape {self.sdf.shape} like the sdf, "
                                  f"found {self.semantics.shape}")
        if not (self.grid_max > self.grid_min).all():
            raise InputShapeError(f"grid bounds: max {self.grid_max} must exceed min "
                                  f"{self.grid_min} on every axis")
        with np.errstate(over="ignore", divide="ignore"):
            scale = (np.asarray(self.sdf.shape) - 1) / (self.grid_max - self.grid_min)
        if not (np.isfinite(self.spacing).all() and np.isfinite(scale).all()):
            raise InputShapeError(f"grid bounds: min {self.grid_min} and max {self.grid_max} give "
                                  f"a node spacing of {self.spacing}, not a usable finite size")
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
        """(..., 3) finite points -> (...) float64 signed distance (see
        :meth:`TorchSceneGrid.sdf`)."""
        return self._float64().sdf(_lookup_points(points)).numpy()

    def lookup_semantics(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) finite points -> (...) int64 class of the nearest node."""
        return self._float64().semantics_at(_lookup_points(points)).numpy()

    def _float64(self) -> TorchSceneGrid:
        """The grid on the CPU in float64 for the numpy lookups, made once (the arrays are
        taken as they are then: a SceneGrid is not changed after it is made)."""
        cached = self.__dict__.get("_cpu64")
        if cached is None or cached.grid is not self:
            cached = self.to_torch(dtype=torch.float64)
            self.__dict__["_cpu64"] = cached
        return cached

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


def _lookup_points(points: np.ndarray) -> torch.Tensor:
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputShapeError(f"points: expected an (..., 3) float array ({exc})") from exc
    if pts.ndim < 1 or pts.shape[-1] != 3:
        raise InputShapeError(f"points: expected shape (..., 3), found {pts.shape}")
    if not np.isfinite(pts).all():
        raise InputShapeError("points: contain NaN or infinite coordinates")
    return torch.as_tensor(pts)


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


def _header_int(header: dict, key: str, path: Path, lo: int, hi: int) -> int:
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputShapeError(f"{path}: field {key!r} must be an int in {lo}..{hi}, found "
                              f"{str(value)[:60]}")
    return value


def _header_numbers(header: dict, key: str, path: Path, shape: tuple[int, ...]) -> np.ndarray:
    value = header[key]

    def numbers(v: object, depth: int) -> bool:
        if depth == len(shape):
            return isinstance(v, int | float) and not isinstance(v, bool)
        return (isinstance(v, list) and len(v) == shape[depth]
                and all(numbers(x, depth + 1) for x in v))

    if not numbers(value, 0):
        what = " x ".join(str(n) for n in shape)
        raise InputShapeError(f"{path}: field {key!r} must be {what} numbers, found "
                              f"{str(value)[:80]}")
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all():  # e.g. 1e308 * ... overflows; read_json refuses NaN/Inf
        raise InputShapeError(f"{path}: field {key!r} must be finite, found {array.tolist()}")
    return array


def _read_header(path: Path) -> tuple[dict, tuple[int, int, int]]:
    """The checked header of ``path`` and the grid shape it declares."""
    header = read_json_bounded(path, "scene header", max_bytes=MAX_HEADER_BYTES,
                               error=InputShapeError)
    if not isinstance(header, dict):
        raise InputShapeError(f"{path}: expected a JSON object, found {type(header).__name__}")
    for key in ("dim", "min", "max"):
        if key not in header:
            raise InputShapeError(f"{path}: field {key!r} is missing")
    dim = _header_int(header, "dim", path, 2, MAX_GRID_SIDE)
    if "shape" in header:
        raw = header["shape"]
        if not (isinstance(raw, list) and len(raw) == 3):
            raise InputShapeError(f"{path}: field 'shape' must be 3 ints, found {str(raw)[:80]}")
        shape = tuple(_header_int({"shape": n}, "shape", path, 2, MAX_GRID_SIDE) for n in raw)
    else:
        shape = (dim, dim, dim)
    nodes = shape[0] * shape[1] * shape[2]
    if nodes > MAX_GRID_NODES:
        raise InputShapeError(f"{path}: a {shape} grid has {nodes} nodes, more than the limit "
                              f"of {MAX_GRID_NODES}")
    for key in ("badding_val", "voxel_size"):
        if key in header and (isinstance(header[key], bool)
                              or not isinstance(header[key], int | float)):
            raise InputShapeError(f"{path}: field {key!r} must be a number, found "
                                  f"{str(header[key])[:60]}")
    return header, shape  # type: ignore[return-value]


def load_scene_grid(folder: str | os.PathLike, scene_name: str, up: UpAxis = "y") -> SceneGrid:
    """Read a grid in the reference format (ours or the reference's), checking every field.

    ``up``: the up axis of the stored grid; ``"z"`` (PROX) is turned into +y up exactly.
    A missing ``_semantics.npy`` gives class 0 everywhere (the scene then has no classes).

    Raises:
        PosaError: (InputShapeError) naming the file and the field: a missing header, a file
            that is not a regular file (FIFO, folder), a malformed or out-of-range header,
            arrays of the wrong kind or size, non-finite distances, class ids outside 0..41.
    """
    if up not in ("y", "z"):
        raise InputShapeError(f"up: expected 'y' or 'z', found {up!r}")
    folder = Path(folder)
    path = folder / f"{scene_name}.json"
    sdf_path = folder / f"{scene_name}_sdf.npy"
    sem_path = folder / f"{scene_name}_semantics.npy"
    if not os.path.lexists(path):
        raise PosaError(f"{path}: scene header not found")
    header, shape = _read_header(path)
    nodes = int(np.prod(shape))
    sdf = read_npy_bounded(sdf_path, "field 'sdf'", kinds="f", max_bytes=nodes * 16,
                           error=InputShapeError)
    if sdf.size != nodes:
        raise InputShapeError(f"{sdf_path}: expected {shape} = {nodes} values "
                              f"from {path.name}, found shape {sdf.shape}")
    if not np.isfinite(sdf).all():
        raise InputShapeError(f"{sdf_path}: field 'sdf' has "
                              f"{int((~np.isfinite(sdf)).sum())} NaN or infinite distances")
    sdf = sdf.reshape(shape)
    if os.path.lexists(sem_path):
        semantics = read_npy_bounded(sem_path, "field 'semantics'", kinds="iu",
                                     max_bytes=nodes * 8, error=InputShapeError)
        if semantics.size != nodes:
            raise InputShapeError(f"{sem_path}: expected {shape} integer class ids, found "
                                  f"{semantics.shape} {semantics.dtype}")
        semantics = semantics.reshape(shape)
        if semantics.min(initial=0) < 0 or semantics.max(initial=0) >= NUM_CLASSES:
            raise InputShapeError(f"{sem_path}: class ids must be in 0..{NUM_CLASSES - 1}, "
                                  f"found {semantics.min()}..{semantics.max()}")
    else:
        semantics = np.zeros(shape, np.uint8)
    lo = _header_numbers(header, "min", path, (3,)) if _is_vector(header["min"]) else None
    hi = _header_numbers(header, "max", path, (3,)) if _is_vector(header["max"]) else None
    if lo is None or hi is None:
        raise InputShapeError(f"{path}: 'min' and 'max' must be 3 numbers each")
    bbox = (_header_numbers(header, "bbox", path, (2, 3)) if "bbox" in header
            else np.stack([lo, hi]))
    if up == "z":
        sdf, semantics = _z_up_to_y_up(sdf), _z_up_to_y_up(semantics)
        lo, hi = np.array([lo[0], lo[2], -hi[1]]), np.array([hi[0], hi[2], -lo[1]])
        bbox = np.array([[bbox[0, 0], bbox[0, 2], -bbox[1, 1]],
                         [bbox[1, 0], bbox[1, 2], -bbox[0, 1]]])
    try:
        return SceneGrid(sdf, semantics, lo, hi, bbox)
    except InputShapeError as exc:
        raise InputShapeError(f"{folder}/{scene_name}: {exc}") from exc


def _is_vector(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3


def _z_up_to_y_up(array: np.ndarray) -> np.ndarray:
    """Re-index an [x, y, z] grid of a z-up frame into the y-up frame ``(x, z, -y)``."""
    return np.ascontiguousarray(np.flip(array.transpose(0, 2, 1), axis=2))
